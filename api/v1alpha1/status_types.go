package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MaxImages bounds spec.images: the explicit list of one ImageScan.
const MaxImages = 1000

// MaxStatusImagesBytes bounds status.images by its encoded size, so the
// object stays far below etcd's limit (1.5 MiB) whatever the lengths of the
// image names; a large spec leaves less room (see the controller). Every
// image has its own ImageReport, and status.summary counts them all.
const MaxStatusImagesBytes = 256 << 10

// MaxReadAttempts bounds the failed reads of what one image's scan gave,
// each kind on its own count: its file statistics (statisticsAttempts)
// and its vulnerabilities (detailAttempts). After that many failures the
// image is reported without it, so one unreadable answer cannot hold a
// round.
const MaxReadAttempts = 3

// ImageScanStatus is the observed state of an ImageScan.
type ImageScanStatus struct {
	// ObservedGeneration is the generation the status was last computed for.
	// -1 until the controller first sees the object.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready is always present; Reconciling and Stalled only while
	// true.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastScanRequest records the current or last scan round: its intent is
	// written before batch-scan is called and its outcome after.
	// +optional
	LastScanRequest *ScanRequest `json:"lastScanRequest,omitempty"`

	// LastHandledRescanAt is the last value of the scan.hss.dev/requested-at
	// annotation that started a round.
	// +optional
	LastHandledRescanAt string `json:"lastHandledRescanAt,omitempty"`

	// LastCompletionTime is when the last round finished.
	// +optional
	LastCompletionTime *metav1.Time `json:"lastCompletionTime,omitempty"`

	// Backend is the family of HSS calls that served the last pass:
	// batch-scan, or tasks (their successors).
	// +optional
	Backend string `json:"backend,omitempty"`

	// NextScanTime is when the interval starts the next round.
	// +optional
	NextScanTime *metav1.Time `json:"nextScanTime,omitempty"`

	// Summary counts every image of the current or last round.
	// +optional
	Summary ScanSummary `json:"summary,omitempty"`

	// Images lists the round's images, those that need attention first
	// (failed, not found, statistics unavailable, malicious files), as many
	// as MaxStatusImagesBytes holds. Each image's full result is its
	// ImageReport.
	// +optional
	// +listType=atomic
	Images []ImageStatus `json:"images,omitempty"`

	// Exceptions are the VulnerabilityExceptions that accept results of
	// this ImageScan's images, with how many (at most MaxExceptionScans).
	// +optional
	// +listType=atomic
	Exceptions []ExceptionUse `json:"exceptions,omitempty"`
}

// ScanTrigger says why a round started.
type ScanTrigger string

const (
	TriggerCreated     ScanTrigger = "Created"
	TriggerSpecChanged ScanTrigger = "SpecChanged"
	TriggerInterval    ScanTrigger = "Interval"
	TriggerRequested   ScanTrigger = "Requested"
	// TriggerReportsDeleted: reports of a selector's round were deleted
	// from outside, and only a new listing can say which images they were.
	TriggerReportsDeleted ScanTrigger = "ReportsDeleted"
)

// ScanRequest is one scan round's record.
type ScanRequest struct {
	// Round numbers the rounds of this object, from 1.
	Round int64 `json:"round"`

	// Trigger says why the round started.
	Trigger ScanTrigger `json:"trigger"`

	// Generation is the spec generation the round scans.
	Generation int64 `json:"generation"`

	// RequestedAt is when the intent was recorded, before calling HSS.
	RequestedAt metav1.Time `json:"requestedAt"`

	// HSSRequestedAt is RequestedAt on HSS's clock, as the Date headers of
	// its answers tell it: every scan of the round ends after it, whatever
	// the difference between the two clocks.
	// +optional
	HSSRequestedAt *metav1.Time `json:"hssRequestedAt,omitempty"`

	// Members counts the images the round started with: a round whose
	// reports were deleted from outside never completes over fewer.
	// +optional
	Members int32 `json:"members,omitempty"`

	// Attempts counts batch-scan calls made for this round.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

	// UnconfirmedSince is when the last batch-scan call was made, while its
	// outcome is unknown: it timed out, the connection broke, HSS answered
	// with a 500 or a gateway error, or the manager stopped. HSS may have received
	// it, so no new call is made before the manager's evidence window has
	// passed without HSS showing the round.
	// +optional
	UnconfirmedSince *metav1.Time `json:"unconfirmedSince,omitempty"`

	// AcceptedAt is when HSS accepted the round (or when a later check found
	// it had reached HSS). Unset while the outcome is unknown.
	// +optional
	AcceptedAt *metav1.Time `json:"acceptedAt,omitempty"`

	// CompletedAt is when every image of the round reached a terminal state
	// and its statistics were collected.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// ScanSummary counts the images of a round.
type ScanSummary struct {
	// Matched counts the images the round covers.
	// +optional
	Matched int32 `json:"matched,omitempty"`
	// Succeeded counts images scanned successfully with statistics collected.
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// Failed counts images whose scan failed.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// Pending counts images still queued or scanning, or awaiting statistics.
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// NotFound counts listed images HSS does not know.
	// +optional
	NotFound int32 `json:"notFound,omitempty"`
	// StatisticsUnavailable counts images scanned successfully whose file
	// statistics could not be fetched.
	// +optional
	StatisticsUnavailable int32 `json:"statisticsUnavailable,omitempty"`
	// Findings sums what the round's scans found, over every image.
	Findings `json:",inline"`
	// TotalFiles sums the file counts of succeeded images.
	// +optional
	TotalFiles int64 `json:"totalFiles,omitempty"`
	// TotalFileSize sums the file sizes of succeeded images, in bytes.
	// +optional
	TotalFileSize int64 `json:"totalFileSize,omitempty"`
	// TotalSize is TotalFileSize for people, e.g. 1.5GiB.
	// +optional
	TotalSize string `json:"totalSize,omitempty"`
}

// ImageResult is an image's result in the current round.
// +kubebuilder:validation:Enum=Pending;Succeeded;Failed;NotFound;StatisticsUnavailable
type ImageResult string

const (
	// ResultPending: the image's scan or its statistics are still to come.
	ResultPending ImageResult = "Pending"
	// ResultSucceeded: scanned, with file statistics.
	ResultSucceeded ImageResult = "Succeeded"
	// ResultFailed: HSS's scan ended failed, download_failed or
	// image_oversized, or never started.
	ResultFailed ImageResult = "Failed"
	// ResultNotFound: HSS does not list the image.
	ResultNotFound ImageResult = "NotFound"
	// ResultStatisticsUnavailable: scanned, but the file statistics could
	// not be read in MaxReadAttempts tries.
	ResultStatisticsUnavailable ImageResult = "StatisticsUnavailable"
)

// ImageStatus is one image's line in the ImageScan's status.
type ImageStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Tag       string `json:"tag"`
	// +optional
	InstanceID string `json:"instanceID,omitempty"`
	// Report is the name of the image's ImageReport.
	Report string `json:"report"`
	// Result is the image's result in the current round.
	Result ImageResult `json:"result"`
	// ScanStatus is HSS's scan state of the image's latest result.
	// +optional
	ScanStatus string `json:"scanStatus,omitempty"`
	// FilesCount is the image's total number of files.
	// +optional
	FilesCount *int64 `json:"filesCount,omitempty"`
	// FilesSize is the image's total file size in bytes.
	// +optional
	FilesSize *int64 `json:"filesSize,omitempty"`
	// MaliciousFiles counts the malicious files the scan found.
	// +optional
	MaliciousFiles int64 `json:"maliciousFiles,omitempty"`
	// Message says why the image needs attention.
	// +optional
	Message string `json:"message,omitempty"`
}

// Findings count what HSS found in scanned images. Zero is a finding too
// (the scan found none), so the counts are always written.
type Findings struct {
	// Vulnerabilities counts known vulnerabilities (HSS's vul_num).
	// +optional
	Vulnerabilities int64 `json:"vulnerabilities"`
	// MaliciousFiles counts malicious files (malicious_file_num).
	// +optional
	MaliciousFiles int64 `json:"maliciousFiles"`
	// UnsafeSettings counts unsafe settings (unsafe_setting_num).
	// +optional
	UnsafeSettings int64 `json:"unsafeSettings"`
	// Severities counts the vulnerabilities by severity, where they were
	// read (spec.vulnerabilities Summary or Details).
	// +optional
	Severities *Severities `json:"severities,omitempty"`
	// Open counts the vulnerabilities no VulnerabilityException accepts,
	// by severity: severities less accepted. Alerts and messages speak of
	// these.
	// +optional
	Open *Severities `json:"open,omitempty"`
	// Accepted counts the listed vulnerabilities an exception accepts.
	// +optional
	Accepted *Severities `json:"accepted,omitempty"`
	// New counts the open vulnerabilities first found in this round, that
	// the image's result of the round before did not have. An ImageScan's
	// first round sets the baseline and finds none new.
	// +optional
	New *Severities `json:"new,omitempty"`
}

// Severities count vulnerabilities by HSS's severity. An image's list of
// up to 2,000 entries is read whole and each entry rated as HSS's
// vulnerability catalogue rates it (severity_level, with Critical); a
// longer list is counted by repair necessity in three calls, its Critical
// entries among High, and basis says so.
type Severities struct {
	// Critical: the catalogue's Critical.
	// +optional
	Critical int64 `json:"critical"`
	// High: the catalogue's High, or immediate_repair.
	High int64 `json:"high"`
	// Medium: the catalogue's Medium, or delay_repair.
	Medium int64 `json:"medium"`
	// Low: the catalogue's Low, or not_needed_repair.
	Low int64 `json:"low"`
	// Basis is what the counts follow: Catalogue, or RepairNecessity for
	// a list too long to rate entry by entry. A sum over images is
	// RepairNecessity when any of its images' is.
	// +optional
	Basis SeverityBasis `json:"basis,omitempty"`
}

// SeverityBasis is what a count of severities follows.
// +kubebuilder:validation:Enum=Catalogue;RepairNecessity
type SeverityBasis string

const (
	BasisCatalogue       SeverityBasis = "Catalogue"
	BasisRepairNecessity SeverityBasis = "RepairNecessity"
)

// Count adds one vulnerability of a severity; an unknown one is Low.
func (s *Severities) Count(sev Severity) {
	switch sev {
	case SeverityCritical:
		s.Critical++
	case SeverityHigh:
		s.High++
	case SeverityMedium:
		s.Medium++
	default:
		s.Low++
	}
}

// Total is the sum of the counts.
func (s Severities) Total() int64 { return s.Critical + s.High + s.Medium + s.Low }

// Add sums two counts of severities.
func (s *Severities) Add(o Severities) {
	s.Critical += o.Critical
	s.High += o.High
	s.Medium += o.Medium
	s.Low += o.Low
	if s.Basis == "" || o.Basis == BasisRepairNecessity {
		s.Basis = o.Basis
	}
}

// ScanStatusNotFound marks an image HSS does not list.
const ScanStatusNotFound = "not_found"
