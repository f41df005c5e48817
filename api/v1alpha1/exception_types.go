package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds of an exception, so that one stays small and its matching cheap.
const (
	MaxExceptionVulnerabilities = 100
	MaxExceptionImages          = 50
	// MaxExceptionScans bounds status.imageScans of an exception and
	// status.exceptions of an ImageScan; the first MaxExceptionExamples of
	// the latter name examples of their images.
	MaxExceptionScans    = 100
	MaxExceptionExamples = 20
)

// VulnerabilityExceptionSpec accepts a risk: the named vulnerabilities, in
// the namespace's images the patterns match, until expiresAt.
// +kubebuilder:validation:XValidation:rule="!self.writeBack || size(self.reason) <= 512",message="a reason written back to HSS as its remark may hold at most 512 characters"
type VulnerabilityExceptionSpec struct {
	// Vulnerabilities are HSS vulnerability IDs (vul_id) or CVE IDs, as
	// reports show them (a result's policy, or one of its cves).
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Vulnerabilities []string `json:"vulnerabilities"`

	// Images limits the exception to the images one of these patterns
	// matches; empty, it covers every image of the namespace's ImageScans.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Images []ImagePattern `json:"images,omitempty"`

	// Reason says why the risk is accepted; it is shown with every result
	// the exception accepts.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.matches('\\\\S')",message="reason must say why the risk is accepted"
	Reason string `json:"reason"`

	// Owner is who answers for the decision, e.g. a team or a person.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Owner string `json:"owner,omitempty"`

	// ExpiresAt is when the exception ends and its results are open again.
	// It may be at most the platform's maximum (the manager's
	// --max-exception-duration) after the exception last changed.
	// +required
	ExpiresAt metav1.Time `json:"expiresAt"`

	// WriteBack also marks the accepted vulnerabilities ignored in HSS
	// (HandleImageVulnerability), with the reason as remark, and unmarks
	// them when the exception ends. Only ImageScans that use the namespace's
	// own credentials write back: an ignore in HSS changes what every user
	// of the project sees.
	// +optional
	WriteBack bool `json:"writeBack,omitempty"`
}

// ImagePattern matches images by organisation, repository and tag; each is
// a pattern where * stands for any characters and ? for one, and an unset
// one matches anything.
// +kubebuilder:validation:XValidation:rule="has(self.organization) || has(self.repository) || has(self.tag)",message="an image pattern needs at least one of organization, repository or tag"
type ImagePattern struct {
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Organization string `json:"organization,omitempty"`
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Repository string `json:"repository,omitempty"`
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Tag string `json:"tag,omitempty"`
}

// VulnerabilityExceptionStatus says what the exception accepts now.
type VulnerabilityExceptionStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready is True while the exception accepts results; False
	// with Expired once it has ended, or Refused while its expiry is beyond
	// the platform's maximum.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// EffectiveSince is when this generation of the exception was first
	// seen: the platform's maximum counts from it.
	// +optional
	EffectiveSince *metav1.Time `json:"effectiveSince,omitempty"`

	// Results counts the results the exception accepts, over the
	// ImageScans of its namespace, and Images the images they are in.
	// +optional
	Results int32 `json:"results"`
	// +optional
	Images int32 `json:"images"`

	// ImageScans are the ImageScans whose results it accepts, and how many
	// (at most MaxExceptionScans of them).
	// +optional
	// +listType=atomic
	ImageScans []ExceptionUse `json:"imageScans,omitempty"`
}

// ExceptionUse counts the results an exception accepts in one place: an
// ImageScan's images, or one image.
type ExceptionUse struct {
	// Name of the exception, or of the ImageScan.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Results accepted, and the images they are in.
	Results int32 `json:"results"`
	// +optional
	Images int32 `json:"images,omitempty"`
	// Examples name a few of those images, first in order, as
	// organisation/repository:tag: the images' Reports name the exception
	// in each result it accepts.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:MaxLength=1024
	Examples []string `json:"examples,omitempty"`
}

// Condition reasons and events of exceptions.
const (
	ReasonActive  = "Active"
	ReasonExpired = "Expired"
	// ReasonExpiryBeyondMaximum: expiresAt is further than the platform
	// allows; the exception accepts nothing until it is brought forward.
	ReasonExpiryBeyondMaximum = "ExpiryBeyondMaximum"
	// EventExceptionExpired is on an exception, and on each ImageScan whose
	// results it accepted, when it ends.
	EventExceptionExpired = "ExceptionExpired"
	// EventNewVulnerabilities: a round found open vulnerabilities its
	// images did not have in the round before.
	EventNewVulnerabilities = "NewVulnerabilities"
)

// Properties of an OpenReports result the controller writes beside the
// vulnerability's own.
const (
	// PropertyException names the exception that accepted the result
	// (result: skip), PropertyReason says why.
	PropertyException = "exception"
	PropertyReason    = "exceptionReason"
	// PropertyFirstSeenRound is the round of the ImageScan the result was
	// first found in, PropertyFirstSeen when that round started (RFC 3339).
	PropertyFirstSeenRound = "firstSeenRound"
	PropertyFirstSeen      = "firstSeen"
	// PropertyIgnoredInHSS: the vulnerability was marked ignored in HSS
	// for this image.
	PropertyIgnoredInHSS = "ignoredInHSS"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=vulnex,categories=hss
// +kubebuilder:printcolumn:name="Results",type=integer,JSONPath=`.status.results`
// +kubebuilder:printcolumn:name="Images",type=integer,JSONPath=`.status.images`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.spec.expiresAt`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.spec.owner`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.spec.reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// VulnerabilityException accepts a risk in its namespace: the results it
// matches stay in the reports, marked accepted, and are counted apart from
// the open ones, until it expires or is deleted.
type VulnerabilityException struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VulnerabilityExceptionSpec   `json:"spec"`
	Status VulnerabilityExceptionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// VulnerabilityExceptionList is a list of VulnerabilityExceptions.
type VulnerabilityExceptionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VulnerabilityException `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VulnerabilityException{}, &VulnerabilityExceptionList{})
}
