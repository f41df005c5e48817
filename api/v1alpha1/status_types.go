package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MaxReportedImages bounds status.images so that an ImageScan over thousands
// of images stays far below etcd's object size limit (about 300 bytes an
// entry). Past the bound, status.images keeps failed and pending images first
// and status.summary still counts every image; imagesOmitted says how many
// entries were left out.
const MaxReportedImages = 1000

// MaxStatisticsAttempts bounds the file-statistics calls for one image's
// scan: after that many failures the image is reported without statistics
// (statisticsAttempts says so), so one unreadable answer cannot hold a round.
const MaxStatisticsAttempts = 3

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

	// NextScanTime is when the interval starts the next round.
	// +optional
	NextScanTime *metav1.Time `json:"nextScanTime,omitempty"`

	// Summary counts every matched image of the current or last round.
	// +optional
	Summary ScanSummary `json:"summary,omitempty"`

	// Images holds per-image results, at most MaxReportedImages (1000) of them.
	// +optional
	// +listType=atomic
	Images []ImageResult `json:"images,omitempty"`

	// ImagesOmitted counts the images left out of status.images by its bound.
	// +optional
	ImagesOmitted int32 `json:"imagesOmitted,omitempty"`
}

// ScanTrigger says why a round started.
type ScanTrigger string

const (
	TriggerCreated     ScanTrigger = "Created"
	TriggerSpecChanged ScanTrigger = "SpecChanged"
	TriggerInterval    ScanTrigger = "Interval"
	TriggerRequested   ScanTrigger = "Requested"
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

	// Attempts counts batch-scan calls made for this round.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

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

// ImageResult is one image's scan result.
type ImageResult struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Tag       string `json:"tag"`
	// +optional
	InstanceID string `json:"instanceID,omitempty"`
	// ImageID is the image digest HSS reports.
	// +optional
	ImageID string `json:"imageID,omitempty"`
	// ScanStatus is the image's scan state, or not_found when HSS does not
	// list the image.
	// +optional
	ScanStatus string `json:"scanStatus,omitempty"`
	// Message explains a failed scan (HSS's scan_failed_desc).
	// +optional
	Message string `json:"message,omitempty"`
	// FilesCount is the image's total number of files.
	// +optional
	FilesCount *int64 `json:"filesCount,omitempty"`
	// FilesSize is the image's total file size in bytes.
	// +optional
	FilesSize *int64 `json:"filesSize,omitempty"`
	// LastScanTime is when the image's last scan ended, as precise as HSS
	// reports it (milliseconds), so that a rescan is told from the scan before.
	// +optional
	LastScanTime *metav1.MicroTime `json:"lastScanTime,omitempty"`
	// Round is the scan round whose result this entry holds; while it is
	// below status.lastScanRequest.round the image is still pending.
	// +optional
	Round int64 `json:"round,omitempty"`
	// Findings are what the image's scan found, as HSS lists them.
	// +optional
	Findings *Findings `json:"findings,omitempty"`
	// StatisticsAttempts counts failed file-statistics calls for this scan.
	// At MaxStatisticsAttempts (3) the image is reported without statistics
	// and message says why.
	// +optional
	StatisticsAttempts int32 `json:"statisticsAttempts,omitempty"`
}

// Findings count what HSS found in scanned images.
type Findings struct {
	// Vulnerabilities counts known vulnerabilities (HSS's vul_num).
	// +optional
	Vulnerabilities int64 `json:"vulnerabilities,omitempty"`
	// MaliciousFiles counts malicious files (malicious_file_num).
	// +optional
	MaliciousFiles int64 `json:"maliciousFiles,omitempty"`
	// UnsafeSettings counts unsafe settings (unsafe_setting_num).
	// +optional
	UnsafeSettings int64 `json:"unsafeSettings,omitempty"`
}

// ScanStatusNotFound marks an image HSS does not list.
const ScanStatusNotFound = "not_found"
