package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ScanStatus is an image's scan state as HSS reports it. The last four are
// terminal.
// +kubebuilder:validation:Enum=unscan;waiting_for_scan;scanning;success;failed;download_failed;image_oversized
type ScanStatus string

const (
	ScanStatusUnscan         ScanStatus = "unscan"
	ScanStatusWaiting        ScanStatus = "waiting_for_scan"
	ScanStatusScanning       ScanStatus = "scanning"
	ScanStatusSuccess        ScanStatus = "success"
	ScanStatusFailed         ScanStatus = "failed"
	ScanStatusDownloadFailed ScanStatus = "download_failed"
	ScanStatusOversized      ScanStatus = "image_oversized"
)

// ImageSelector holds the filter criteria of a full scan (batch-scan with
// operate_all). Every criterion given must match; an empty selector matches
// every image of the image type.
// +kubebuilder:validation:XValidation:rule="!has(self.updatedAfter) || !has(self.updatedBefore) || timestamp(self.updatedAfter) < timestamp(self.updatedBefore)",message="selector.updatedAfter must be before selector.updatedBefore"
// +kubebuilder:validation:XValidation:rule="!has(self.lastScannedAfter) || !has(self.lastScannedBefore) || timestamp(self.lastScannedAfter) < timestamp(self.lastScannedBefore)",message="selector.lastScannedAfter must be before selector.lastScannedBefore"
type ImageSelector struct {
	// Namespace is the SWR organisation.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Namespace string `json:"namespace,omitempty"`

	// ImageName is the image (repository) name.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	ImageName string `json:"imageName,omitempty"`

	// Tag is the image version.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Tag string `json:"tag,omitempty"`

	// ScanStatus matches images in this scan state (e.g. unscan).
	// +optional
	// +kubebuilder:validation:Enum=unscan;success;scanning;failed;download_failed;image_oversized
	ScanStatus string `json:"scanStatus,omitempty"`

	// LatestVersionOnly matches only the latest version of each image.
	// +optional
	LatestVersionOnly bool `json:"latestVersionOnly,omitempty"`

	// ImageSize is passed to HSS as the image_size criterion, in bytes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ImageSize *int64 `json:"imageSize,omitempty"`

	// UpdatedAfter matches images last updated at or after this time (RFC 3339).
	// +optional
	UpdatedAfter *metav1.Time `json:"updatedAfter,omitempty"`

	// UpdatedBefore matches images last updated at or before this time (RFC 3339).
	// +optional
	UpdatedBefore *metav1.Time `json:"updatedBefore,omitempty"`

	// LastScannedAfter matches images whose last scan ended at or after this
	// time (RFC 3339).
	// +optional
	LastScannedAfter *metav1.Time `json:"lastScannedAfter,omitempty"`

	// LastScannedBefore matches images whose last scan ended at or before this
	// time (RFC 3339).
	// +optional
	LastScannedBefore *metav1.Time `json:"lastScannedBefore,omitempty"`
}
