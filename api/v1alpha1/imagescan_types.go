package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageType is the kind of SWR repository HSS reads an image from.
// +kubebuilder:validation:Enum=private_image;shared_image;instance_image
type ImageType string

const (
	PrivateImage  ImageType = "private_image"
	SharedImage   ImageType = "shared_image"
	InstanceImage ImageType = "instance_image"
)

// VulnerabilityDetail is how much of what HSS found in each image's
// vulnerabilities the controller reads.
// +kubebuilder:validation:Enum=None;Summary;Details
type VulnerabilityDetail string

const (
	// VulnerabilitiesNone reads nothing beyond the count the image list
	// carries: no extra call.
	VulnerabilitiesNone VulnerabilityDetail = "None"
	// VulnerabilitiesSummary counts each image's vulnerabilities by
	// severity: ceil(count/200) calls for an image with any (three for a
	// list over 2,000), and a catalogue call per distinct vulnerability,
	// shared by every image and round of the identity.
	VulnerabilitiesSummary VulnerabilityDetail = "Summary"
	// VulnerabilitiesDetails also keeps each vulnerability with its CVEs
	// and CVSS score, in the image's OpenReports Report where the cluster
	// serves openreports.io, else in its ImageReport.
	VulnerabilitiesDetails VulnerabilityDetail = "Details"
)

// RescanAnnotation asks for a new scan round when its value changes:
//
//	kubectl annotate imagescan NAME scan.hss.dev/requested-at="$(date +%s)" --overwrite
//
// The handled value is recorded in status.lastHandledRescanAt. A request
// made less than MinRescanInterval after the last round was requested waits
// until then (status.nextScanTime says when), as an interval would: each
// round spends HSS's quota, which the platform's credentials share.
const RescanAnnotation = "scan.hss.dev/requested-at"

// MinRescanInterval is the least time between two rounds an ImageScan
// starts by itself or on request: the floor of spec.interval.
const MinRescanInterval = 5 * time.Minute

// DefaultRoundTimeout is spec.timeout when unset.
const DefaultRoundTimeout = 6 * time.Hour

// ImageScanSpec is the desired scan: which images, where, and how often.
// +kubebuilder:validation:XValidation:rule="has(self.images) != has(self.selector)",message="set exactly one of spec.images (an explicit list) or spec.selector (filter criteria)"
// +kubebuilder:validation:XValidation:rule="self.imageType != 'instance_image' || !has(self.images) || self.images.all(i, has(i.instanceID))",message="every entry of spec.images needs instanceID when imageType is instance_image"
// +kubebuilder:validation:XValidation:rule="!has(self.credentialsRef) || !has(self.serviceAccountName)",message="set at most one of spec.credentialsRef (a Secret with keys) or spec.serviceAccountName (key-less)"
type ImageScanSpec struct {
	// ImageType selects the SWR repository kind: private_image, shared_image or
	// instance_image (an SWR enterprise instance).
	// +required
	ImageType ImageType `json:"imageType"`

	// Images lists the images to scan. Mutually exclusive with selector.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	Images []ImageReference `json:"images,omitempty"`

	// Selector scans every image HSS lists that matches all given criteria.
	// Mutually exclusive with images.
	// +optional
	Selector *ImageSelector `json:"selector,omitempty"`

	// Region is the Huawei Cloud region, e.g. ap-southeast-1. Defaults to the
	// manager's --hss-region.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9-]+$`
	Region string `json:"region,omitempty"`

	// ProjectID is the IAM project of the region. Defaults to the manager's
	// --hss-project-id, then to the credentials Secret's projectID key.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	ProjectID string `json:"projectID,omitempty"`

	// EnterpriseProjectID scopes the calls to one enterprise project
	// ("0" is the default one, "all_granted_eps" all that are granted).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	EnterpriseProjectID string `json:"enterpriseProjectID,omitempty"`

	// Endpoint overrides the HSS endpoint derived from the region, e.g. a
	// private (VPC) endpoint. The manager uses it only when it is the
	// region's official endpoint or matches the platform's
	// --allowed-endpoints; otherwise the object is Stalled with reason
	// EndpointNotAllowed and nothing is sent. Only scheme://host[:port].
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^https?://[^\s/?#@]+/?$`
	Endpoint string `json:"endpoint,omitempty"`

	// CredentialsRef names a Secret in this namespace holding an access key
	// pair (see the README for its keys). Without it and without
	// serviceAccountName, the platform's credentials are used: the manager's
	// --default-credentials-secret, else its own key-less identity, where the
	// platform allows this namespace to use them.
	// +optional
	CredentialsRef *SecretReference `json:"credentialsRef,omitempty"`

	// ServiceAccountName is a ServiceAccount of this namespace whose identity
	// the scan uses, without keys: the manager requests a short-lived token
	// for it and exchanges it with IAM for temporary credentials. Needs the
	// manager's --workload-identity.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Interval rescans that long after the last round was requested, e.g. 24h.
	// Unset means scan once, and again only when the spec or the rescan
	// annotation changes.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m')",message="interval must be at least 5m, to stay within the HSS API quota"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout ends a round that long after HSS accepted it, whatever its
	// images are doing: one whose scan is still waiting or running is then
	// reported failed, and the schedule goes on. 6h when unset; raise it
	// for rounds that HSS takes longer to scan.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('30m')",message="timeout must be at least 30m: HSS is given that long to start a round's scans"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops new scan rounds. A round already sent to HSS is still
	// followed to its end.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// SyncFromSWR asks HSS to synchronise its image list from SWR before each
	// round; HSS only lists (and scans) images it has synchronised.
	// +optional
	SyncFromSWR bool `json:"syncFromSWR,omitempty"`

	// Vulnerabilities is how much of each image's vulnerabilities to read:
	// None (the count only), Summary (counts by severity) or Details (each
	// vulnerability of at least minSeverity, with its CVEs and score, in
	// the image's Report). Detail costs calls; see the README.
	// +optional
	// +kubebuilder:default=Summary
	Vulnerabilities VulnerabilityDetail `json:"vulnerabilities,omitempty"`

	// MinSeverity is the lowest severity Details lists entry by entry: by
	// default High, the critical and high vulnerabilities, which fail; Low
	// lists every one. The counts cover every severity whatever it says.
	// +optional
	// +kubebuilder:default=High
	MinSeverity Severity `json:"minSeverity,omitempty"`
}

// SecretReference names a Secret in the ImageScan's own namespace.
type SecretReference struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ImageReference names one image in SWR.
type ImageReference struct {
	// Namespace is the SWR organisation.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Namespace string `json:"namespace"`

	// Name is the image (repository) name within the organisation.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// Tag is the image version.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Tag string `json:"tag"`

	// InstanceID is the SWR enterprise instance; required for instance_image.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	InstanceID string `json:"instanceID,omitempty"`

	// InstanceURL is the enterprise instance's download URL.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	InstanceURL string `json:"instanceURL,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=isc,categories=hss
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.imageType`
// +kubebuilder:printcolumn:name="Images",type=integer,JSONPath=`.status.summary.matched`
// +kubebuilder:printcolumn:name="Succeeded",type=integer,JSONPath=`.status.summary.succeeded`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.summary.failed`
// +kubebuilder:printcolumn:name="Files",type=integer,JSONPath=`.status.summary.totalFiles`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.summary.totalSize`
// +kubebuilder:printcolumn:name="Vulns",type=integer,JSONPath=`.status.summary.vulnerabilities`
// +kubebuilder:printcolumn:name="Critical",type=integer,JSONPath=`.status.summary.open.critical`
// +kubebuilder:printcolumn:name="High",type=integer,JSONPath=`.status.summary.open.high`
// +kubebuilder:printcolumn:name="New Critical",type=integer,JSONPath=`.status.summary.new.critical`,priority=1
// +kubebuilder:printcolumn:name="New High",type=integer,JSONPath=`.status.summary.new.high`,priority=1
// +kubebuilder:printcolumn:name="Malicious",type=integer,JSONPath=`.status.summary.maliciousFiles`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ImageScan asks HSS to scan a set of SWR images and reports each image's
// scan result and file statistics.
type ImageScan struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ImageScanSpec `json:"spec"`

	// +kubebuilder:default:={"observedGeneration":-1}
	Status ImageScanStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageScanList is a list of ImageScans.
type ImageScanList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageScan `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ImageScan{}, &ImageScanList{})
}
