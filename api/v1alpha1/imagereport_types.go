package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels the controller puts on every ImageReport, so that reports can be
// listed by ImageScan, organisation, repository and tag:
//
//	kubectl get imagereports -l scan.hss.dev/imagescan=web
//
// A value that is not a valid label value (too long, or with characters a
// label may not hold) is shortened and suffixed with a hash; spec holds the
// exact values, and spec.imageScanName is also a field selector.
const (
	LabelImageScan    = "scan.hss.dev/imagescan"
	LabelOrganization = "scan.hss.dev/organization"
	LabelRepository   = "scan.hss.dev/repository"
	LabelTag          = "scan.hss.dev/tag"
)

// ImageReportSpec names the image a report is about. The controller writes
// it once, when the image joins a round of its ImageScan.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="an ImageReport's spec is immutable; the controller creates a new report for another image"
type ImageReportSpec struct {
	// ImageScanName is the ImageScan, in the same namespace, whose rounds
	// this image is a member of. It controls the report.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ImageScanName string `json:"imageScanName"`

	// ImageType is the SWR repository kind the image is read from.
	// +required
	ImageType ImageType `json:"imageType"`

	// Image names the image in SWR.
	// +required
	Image ImageReference `json:"image"`

	// Reference is the image for people: organisation/name:tag, prefixed
	// with the instance for an enterprise instance's image.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Reference string `json:"reference"`
}

// ImageReportStatus is what HSS reported for the image in the last round
// that reached a result for it.
type ImageReportStatus struct {
	// Round is the ImageScan's round this result belongs to. While it is
	// below the ImageScan's status.lastScanRequest.round, the image is still
	// pending in the current round and this is the previous round's result.
	// +optional
	Round int64 `json:"round,omitempty"`

	// EndedRound is round once this result is final: the scan ended and
	// what the spec asks to read of it was read or given up. The controller
	// lists the reports whose endedRound is not the current round to find
	// the images still to follow, without reading every member of a large
	// round (field selector status.endedRound).
	// +optional
	EndedRound int64 `json:"endedRound,omitempty"`

	// ImageID is HSS's image_id: the digest the file statistics were read for.
	// +optional
	ImageID string `json:"imageID,omitempty"`

	// Digest is HSS's image_digest.
	// +optional
	Digest string `json:"digest,omitempty"`

	// ScanStatus is HSS's terminal scan state for the image, or not_found
	// when HSS does not list it.
	// +optional
	ScanStatus string `json:"scanStatus,omitempty"`

	// Message explains a failed scan or missing statistics.
	// +optional
	Message string `json:"message,omitempty"`

	// FailureCode is why the scan failed, as HSS's code (scan_failed_code,
	// from the registry image list of the task calls), e.g. download_failed.
	// +optional
	FailureCode string `json:"failureCode,omitempty"`

	// SeverityLevel is HSS's own rating of the scanned image (Security, Low,
	// Medium, High), where the registry image list gives it.
	// +optional
	SeverityLevel string `json:"severityLevel,omitempty"`

	// LastScanTime is when the scan ended, as precisely as HSS reports it
	// (milliseconds), on HSS's clock.
	// +optional
	LastScanTime *metav1.MicroTime `json:"lastScanTime,omitempty"`

	// FilesCount is the image's total number of files.
	// +optional
	FilesCount *int64 `json:"filesCount,omitempty"`

	// FilesSize is the image's total file size in bytes, exact at any size.
	// +optional
	FilesSize *int64 `json:"filesSize,omitempty"`

	// Size is FilesSize for people, e.g. 3.2GiB.
	// +optional
	Size string `json:"size,omitempty"`

	// StatisticsAttempts counts failed file-statistics calls for this
	// round's scan. At MaxReadAttempts (3) the controller stops trying
	// until the next round.
	// +optional
	StatisticsAttempts int32 `json:"statisticsAttempts,omitempty"`

	// Findings are what the scan found, as HSS lists them.
	// +optional
	Findings *Findings `json:"findings,omitempty"`

	// Detail is the spec.vulnerabilities the findings were read with, once
	// read; while it is empty after a successful scan, they are still to
	// come.
	// +optional
	Detail VulnerabilityDetail `json:"detail,omitempty"`

	// DetailAttempts counts failed reads of the vulnerabilities for this
	// round's scan; at MaxReadAttempts (3) the controller stops
	// trying until the next round, and message says why.
	// +optional
	DetailAttempts int32 `json:"detailAttempts,omitempty"`

	// Vulnerabilities are the scan's vulnerabilities, highest severity
	// first (spec.vulnerabilities Details), as many as
	// MaxReportVulnerabilitiesBytes holds, where the cluster does not serve
	// openreports.io; where it does, openReport names the Report that
	// holds them instead.
	// +optional
	// +listType=atomic
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`

	// VulnerabilitiesOmitted counts the vulnerabilities of at least the
	// ImageScan's minSeverity left out of the list by its bound;
	// findings.severities still counts them, and those below.
	// +optional
	VulnerabilitiesOmitted int32 `json:"vulnerabilitiesOmitted,omitempty"`

	// OpenReport is the image's OpenReports Report, which holds its
	// vulnerability list instead of this report where the cluster serves
	// openreports.io (spec.vulnerabilities Details).
	// +optional
	OpenReport *OpenReportLink `json:"openReport,omitempty"`

	// Triage is how the namespace's VulnerabilityExceptions were applied
	// to the image's list.
	// +optional
	Triage *ReportTriage `json:"triage,omitempty"`
}

// ReportTriage records the exceptions applied to an image's list: when
// they change, the list is marked again, with no new scan.
type ReportTriage struct {
	// Key identifies the exceptions that applied (their names,
	// generations and state) when the list was last marked.
	// +kubebuilder:validation:MaxLength=64
	Key string `json:"key"`
	// Exceptions are those that accept some of the list, with how many.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Exceptions []ExceptionUse `json:"exceptions,omitempty"`
	// WriteBackPending counts the results whose mark in HSS (ignored or
	// not) could not be written yet; they are tried again.
	// +optional
	WriteBackPending int32 `json:"writeBackPending,omitempty"`
}

// OpenReportLink names an image's OpenReports Report and says what it holds.
type OpenReportLink struct {
	// Name of the Report (openreports.io/v1alpha1), in this namespace.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Results counts the Report's results.
	Results int32 `json:"results"`
	// Omitted counts the vulnerabilities of at least the ImageScan's
	// minSeverity left out of the Report: by the report's bound, or, when
	// the API server refused it, the lowest severities dropped until it was
	// taken. findings.severities still counts them, and those below.
	// +optional
	Omitted int32 `json:"omitted,omitempty"`
	// Digest identifies the Report's content: a rescan that finds the same
	// writes no Report.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Digest string `json:"digest,omitempty"`
}

// Labels and annotations of the OpenReports Reports the controller writes,
// beside the labels of their ImageReport.
const (
	// ReportSource is each Report's and result's source.
	ReportSource = "HSS"
	// AnnotationResultsOmitted says how many vulnerabilities a Report
	// leaves out.
	AnnotationResultsOmitted = "scan.hss.dev/results-omitted"
)

// MaxReportVulnerabilitiesBytes bounds an ImageReport's vulnerabilities by
// their encoded size: an image with hundreds of them, each with its texts
// and CVEs, stays far below etcd's limit.
const MaxReportVulnerabilitiesBytes = 256 << 10

// Severity is HSS's rating of a vulnerability.
// +kubebuilder:validation:Enum=Critical;High;Medium;Low
type Severity string

const (
	SeverityCritical Severity = "Critical"
	SeverityHigh     Severity = "High"
	SeverityMedium   Severity = "Medium"
	SeverityLow      Severity = "Low"
)

// Vulnerability is one vulnerability HSS found in an image.
type Vulnerability struct {
	// ID is HSS's vul_id.
	ID string `json:"id"`
	// Severity is the catalogue's severity_level; for a vulnerability the
	// catalogue does not list, HSS's repair_necessity: immediate_repair is
	// High, delay_repair Medium, not_needed_repair Low.
	Severity Severity `json:"severity"`
	// Title is the catalogue's short name of the vulnerability.
	// +optional
	Title string `json:"title,omitempty"`
	// CVSS is the highest CVSS score of its CVEs, e.g. 9.8.
	// +optional
	CVSS string `json:"cvss,omitempty"`
	// Package is the affected software (app_name) and Version its version.
	// +optional
	Package string `json:"package,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// Path is where an application's software lies in the image (app_path).
	// +optional
	Path string `json:"path,omitempty"`
	// Layer is the image layer holding it (position).
	// +optional
	Layer string `json:"layer,omitempty"`
	// +optional
	Description string `json:"description,omitempty"`
	// Solution is HSS's advice, and URL where the fix is.
	// +optional
	Solution string `json:"solution,omitempty"`
	// +optional
	URL string `json:"url,omitempty"`
	// CVEs are the vulnerability's CVE entries.
	// +optional
	// +listType=atomic
	CVEs []CVE `json:"cves,omitempty"`
	// AcceptedBy names the VulnerabilityException that accepts it.
	// +optional
	AcceptedBy string `json:"acceptedBy,omitempty"`
	// FirstSeenRound is the ImageScan's round it was first found in, and
	// FirstSeen when that round started.
	// +optional
	FirstSeenRound int64 `json:"firstSeenRound,omitempty"`
	// +optional
	FirstSeen *metav1.Time `json:"firstSeen,omitempty"`
	// IgnoredInHSS: the exception's write-back marked it ignored in HSS
	// for this image.
	// +optional
	IgnoredInHSS bool `json:"ignoredInHSS,omitempty"`
}

// CVE is one CVE entry of a vulnerability.
type CVE struct {
	// ID, e.g. CVE-2024-3094.
	ID string `json:"id"`
	// CVSS is the CVSS score, e.g. 9.8.
	// +optional
	CVSS string `json:"cvss,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=irep,categories=hss
// +kubebuilder:selectablefield:JSONPath=`.spec.imageScanName`
// +kubebuilder:selectablefield:JSONPath=`.status.endedRound`
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.reference`
// +kubebuilder:printcolumn:name="Scan",type=string,JSONPath=`.status.scanStatus`
// +kubebuilder:printcolumn:name="Round",type=integer,JSONPath=`.status.round`,priority=1
// +kubebuilder:printcolumn:name="Files",type=integer,JSONPath=`.status.filesCount`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Vulns",type=integer,JSONPath=`.status.findings.vulnerabilities`
// +kubebuilder:printcolumn:name="Critical",type=integer,JSONPath=`.status.findings.open.critical`
// +kubebuilder:printcolumn:name="High",type=integer,JSONPath=`.status.findings.open.high`
// +kubebuilder:printcolumn:name="Medium",type=integer,JSONPath=`.status.findings.severities.medium`
// +kubebuilder:printcolumn:name="Low",type=integer,JSONPath=`.status.findings.severities.low`
// +kubebuilder:printcolumn:name="Malicious",type=integer,JSONPath=`.status.findings.maliciousFiles`
// +kubebuilder:printcolumn:name="Unsafe",type=integer,JSONPath=`.status.findings.unsafeSettings`,priority=1
// +kubebuilder:printcolumn:name="ImageScan",type=string,JSONPath=`.spec.imageScanName`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ImageReport is one image of an ImageScan: its scan result, file
// statistics and findings. The controller creates a report for each image
// when the image joins a round, updates it when the image's scan ends, and
// deletes it when the image leaves the ImageScan; the ImageScan controls
// it, so deleting the ImageScan deletes its reports.
type ImageReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageReportSpec   `json:"spec"`
	Status ImageReportStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageReportList is a list of ImageReports.
type ImageReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageReport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ImageReport{}, &ImageReportList{})
}
