package simulator

import "time"

// Image types accepted by the image API (image_type).
const (
	TypePrivate  = "private_image"
	TypeShared   = "shared_image"
	TypeInstance = "instance_image"
)

func validType(t string) bool {
	return t == TypePrivate || t == TypeShared || t == TypeInstance
}

// Status is an image's scan_status. The last four values are terminal.
type Status string

const (
	StatusUnscan         Status = "unscan"
	StatusWaiting        Status = "waiting_for_scan"
	StatusScanning       Status = "scanning"
	StatusSuccess        Status = "success"
	StatusFailed         Status = "failed"
	StatusDownloadFailed Status = "download_failed"
	StatusOversized      Status = "image_oversized"
)

// Terminal reports whether a scan in this status has finished.
func (s Status) Terminal() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusDownloadFailed, StatusOversized:
		return true
	}
	return false
}

// Image is one tag in the simulated SWR inventory. The JSON form is the
// inventory file schema read by LoadInventory.
type Image struct {
	// ID is the list API's "id"; assigned in insertion order when zero.
	ID        int64  `json:"id,omitempty"`
	Type      string `json:"image_type"`
	Namespace string `json:"namespace"`
	Name      string `json:"image_name"`
	Tag       string `json:"image_version"`
	// ImageID is the sha256:<64 hex> digest, reported as both image_id and
	// image_digest; derived from type/namespace/name/tag when empty.
	ImageID   string    `json:"image_id,omitempty"`
	Size      int64     `json:"image_size"`
	UpdatedAt time.Time `json:"latest_update_time"`
	// InstanceID and InstanceURL describe the enterprise (instance_image) registry.
	InstanceID  string `json:"instance_id,omitempty"`
	InstanceURL string `json:"instance_url,omitempty"`
	// FilesNum and FilesSize are what files-statistics answers after a
	// successful scan. Real images hold up to tens of GiB of files, so both
	// are 64-bit here, beyond what the SDK's int32 model can decode. Derived
	// when zero.
	FilesNum  int64 `json:"files_num,omitempty"`
	FilesSize int64 `json:"files_size,omitempty"`
	// Vulnerabilities, UnsafeSettings and MaliciousFiles are what a
	// successful scan finds: the list answer's vul_num, unsafe_setting_num
	// and malicious_file_num while the image's status is success.
	Vulnerabilities int32 `json:"vul_num,omitempty"`
	UnsafeSettings  int32 `json:"unsafe_setting_num,omitempty"`
	MaliciousFiles  int32 `json:"malicious_file_num,omitempty"`
	// MalformedStats makes files-statistics answer 200 with total_files_size
	// as a string ("3.6 GB"), an answer no client can decode as the reference
	// types it, to test how a client copes.
	MalformedStats bool `json:"malformed_stats,omitempty"`
	// OversizedStats, when positive, pads the files-statistics answer with
	// a field of that many bytes: a host (or a proxy) answering far more
	// than any call needs, to test that a client bounds what it reads.
	OversizedStats int `json:"oversized_stats,omitempty"`
	// ForcedOutcome, when set, is the terminal status of every scan of this
	// image, overriding Config.FailureRate.
	ForcedOutcome Status `json:"forced_outcome,omitempty"`
	// ScanDuration, when set, is how long a scan of this image runs instead
	// of Config.ScanDuration: large images scan for longer.
	ScanDuration time.Duration `json:"-"`
	// FailureText, when set, is the scan_failed_desc of this image's failed
	// scans in place of the stock text: HSS passes on what its scanner
	// said, which may run to megabytes and hold control characters.
	FailureText string `json:"-"`
	// TimesInMicros answers this image's times in epoch microseconds where
	// the documents give milliseconds, as HSS has done.
	TimesInMicros bool `json:"-"`
	// StampSkew shifts the scan time HSS lists for this image's finished
	// scans: the scan ran on a node whose clock was that far off (decades
	// ahead, say), and HSS shows the time the node stamped.
	StampSkew time.Duration `json:"-"`
	// Unsynced images stay invisible to the API until a synchronize call for
	// their type, as HSS only lists images it has synchronised from SWR.
	Unsynced bool `json:"unsynced,omitempty"`

	// Scan is the derived scan state in snapshots; ignored on input.
	Scan ScanState `json:"-"`
}

// ScanState is an image's scan progress at the time of a snapshot.
type ScanState struct {
	Status     Status
	FailedDesc string
	// LastScanAt is when the latest finished scan completed; zero if never.
	LastScanAt time.Time
	// Scans counts batch-scan requests that started a scan of this image.
	Scans int
}

// ImageRef names one image the way batch-scan's image_info_list does.
type ImageRef struct {
	Namespace  string
	Name       string
	Tag        string
	InstanceID string
}

func (img Image) ref() ImageRef {
	return ImageRef{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag, InstanceID: img.InstanceID}
}

// key identifies an image uniquely within the inventory.
type key struct{ typ, ns, name, tag string }

func (img Image) key() key { return key{img.Type, img.Namespace, img.Name, img.Tag} }
