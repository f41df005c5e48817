// Package hss is the operator's HSS client: the small interface the
// reconciler depends on, its implementation on the official Huawei Cloud SDK,
// error classes, a rate limiter shared per HSS project, and metrics.
package hss

import (
	"context"
	"time"
)

// Client is what the reconciler needs from HSS. Every error it returns is an
// *Error carrying its Class.
type Client interface {
	// BatchScan asks HSS to scan the images of req. An explicit list longer
	// than MaxBatchScanImages is sent in several requests.
	BatchScan(ctx context.Context, req BatchScanRequest) error
	// ListImages returns every image matching f, following pages.
	ListImages(ctx context.Context, f Filter) ([]Image, error)
	// EachImage hands each image matching f to fn, a page at a time, and
	// stops at fn's first error; it holds one page, however many match.
	// Should the family of calls change while it pages (auto), images
	// already handed over may be handed over again.
	EachImage(ctx context.Context, f Filter, fn func(Image) error) error
	// FileStatistics returns the file count and size of a scanned image.
	FileStatistics(ctx context.Context, img Image) (FileStats, error)
	// Synchronize asks HSS to refresh its image list of imageType from SWR.
	Synchronize(ctx context.Context, imageType string) error
	// Vulnerabilities counts what the image's last scan found by repair
	// necessity, exactly at any length of the list, and hands keep its
	// entries, most urgent first, until keep returns false; a nil keep asks
	// for the counts alone. keep's whole says that every entry will be
	// handed over if keep wants them: a list of at most MaxWholeList
	// entries. It holds one page at a time, whatever the list's length.
	Vulnerabilities(ctx context.Context, img Image, keep func(v Vulnerability, whole bool) bool) (VulnerabilityCounts, error)
	// Catalogue looks a vulnerability up in the project's catalogue: its
	// title, severity (with Critical), CVSS score and CVEs, the same for
	// every image it is found in; app says its entry has a path in the image.
	// False when the catalogue does not list it.
	Catalogue(ctx context.Context, vulID string, app bool) (CatalogueEntry, bool, error)
	// HandleVulnerabilities marks vulnerabilities of an image ignored, or
	// no longer ignored, in HSS, for every user of the project.
	HandleVulnerabilities(ctx context.Context, h Handling) error
	// ServerTime converts a time on the manager's clock to HSS's, as HSS's
	// answers tell it; false before any answer did.
	ServerTime(local time.Time) (time.Time, bool)
	// Backend names the family of calls that serves the client now:
	// BackendBatchScan or BackendTasks; empty while that is not known yet
	// (BackendAuto before HSS answered one of the family's calls).
	Backend() string
	// RequestSeen reports whether HSS shows req as made at or after since
	// (on HSS's clock): a manual scan task of its first task's size. False
	// where the calls leave no such record (batch-scan).
	RequestSeen(ctx context.Context, since time.Time, req BatchScanRequest) (bool, error)
}

// The two families of calls a client can be built on.
const (
	// BackendBatchScan: batch-scan, the SWR image list and synchronize,
	// which HSS has marked deprecated.
	BackendBatchScan = "batch-scan"
	// BackendTasks: their successors, the image scan and synchronise tasks
	// and the registry image list.
	BackendTasks = "tasks"
	// BackendAuto: batch-scan while HSS serves it, the tasks from the first
	// answer that says it no longer does, remembered per endpoint.
	BackendAuto = "auto"
)

// ImageRef names one image for batch-scan.
type ImageRef struct {
	Namespace, Name, Tag    string
	InstanceID, InstanceURL string
}

// Filter holds the criteria shared by batch-scan (operate_all) and the image
// list. Zero values mean "no criterion".
type Filter struct {
	ImageType         string
	Namespace         string
	ImageName         string
	Tag               string
	ScanStatus        string
	InstanceID        string
	LatestVersionOnly bool
	ImageSize         *int64
	UpdatedAfter      *time.Time
	UpdatedBefore     *time.Time
	ScannedAfter      *time.Time
	ScannedBefore     *time.Time
	// MaxImages is not a criterion: when positive, ListImages stops once it
	// has listed more than MaxImages images, so that a caller with a bound
	// holds no more than a page beyond it.
	MaxImages int `json:",omitempty"`
}

// BatchScanRequest scans either Images (explicit) or everything Filter
// matches (operate_all).
type BatchScanRequest struct {
	ImageType string
	Images    []ImageRef
	// All selects operate_all with Filter's criteria; Images must be empty.
	All    bool
	Filter Filter
	// Members are the images Filter matched when the round started, for a
	// family of calls that cannot express every criterion (the scan task's
	// query has no latest_version): it names them instead.
	Members []ImageRef
}

// Image is one entry of the HSS image list.
type Image struct {
	ImageType      string
	Namespace      string
	Name           string
	Tag            string
	ImageID        string
	Digest         string
	InstanceID     string
	InstanceURL    string
	ScanStatus     string
	ScanFailedDesc string
	// ScanFailedCode and SeverityLevel come with the registry image list
	// only: why a scan failed, as a code, and HSS's rating of the image
	// (Security, Low, Medium, High).
	ScanFailedCode string
	SeverityLevel  string
	Size           int64
	LatestVersion  bool
	UpdatedAt      time.Time
	// LastScanAt is zero for an image never scanned.
	LastScanAt time.Time
	// Findings are what the image's last scan found; the list answer carries
	// them, so they cost no extra call.
	Findings Findings
}

// Findings count what a scan found in an image.
type Findings struct {
	Vulnerabilities int64
	MaliciousFiles  int64
	UnsafeSettings  int64
}

// Vulnerability is one entry of an image's vulnerability list, its texts
// bounded and printable.
type Vulnerability struct {
	ID string
	// RepairNecessity is immediate_repair, delay_repair or
	// not_needed_repair.
	RepairNecessity              string
	App, Version, Path, Position string
	Description, Solution, URL   string
}

// VulnerabilityCounts count an image's vulnerabilities by repair
// necessity; an entry of any other necessity counts as NotNeeded.
type VulnerabilityCounts struct {
	Immediate, Delay, NotNeeded int64
}

// Total is every vulnerability counted.
func (c VulnerabilityCounts) Total() int64 { return c.Immediate + c.Delay + c.NotNeeded }

// Repair necessities as HSS reports them.
const (
	RepairImmediate = "immediate_repair"
	RepairDelay     = "delay_repair"
	RepairNotNeeded = "not_needed_repair"
)

// CVE is one CVE entry of a vulnerability.
type CVE struct {
	ID   string
	CVSS float32
}

// FileStats is an image's file statistics.
type FileStats struct {
	Files int64
	Size  int64
}

// Scan states as HSS reports them.
const (
	StatusUnscan         = "unscan"
	StatusWaiting        = "waiting_for_scan"
	StatusScanning       = "scanning"
	StatusSuccess        = "success"
	StatusFailed         = "failed"
	StatusDownloadFailed = "download_failed"
	StatusOversized      = "image_oversized"
)

// Terminal reports whether a scan in this state has ended.
func Terminal(status string) bool {
	switch status {
	case StatusSuccess, StatusFailed, StatusDownloadFailed, StatusOversized:
		return true
	}
	return false
}

// InProgress reports whether HSS has queued or is running a scan.
func InProgress(status string) bool {
	return status == StatusWaiting || status == StatusScanning
}
