package controller

import (
	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// selectorFilter translates the spec's selector into the API's criteria.
func selectorFilter(spec scanv1.ImageScanSpec) hss.Filter {
	f := hss.Filter{ImageType: string(spec.ImageType)}
	if s := spec.Selector; s != nil {
		f.Namespace, f.ImageName, f.Tag = s.Namespace, s.ImageName, s.Tag
		f.ScanStatus, f.LatestVersionOnly, f.ImageSize = s.ScanStatus, s.LatestVersionOnly, s.ImageSize
		f.UpdatedAfter, f.UpdatedBefore = timeOf(s.UpdatedAfter), timeOf(s.UpdatedBefore)
		f.ScannedAfter, f.ScannedBefore = timeOf(s.LastScannedAfter), timeOf(s.LastScannedBefore)
	}
	return f
}

// batchScanRequest is the round's batch-scan call.
func batchScanRequest(spec scanv1.ImageScanSpec) hss.BatchScanRequest {
	if spec.Selector != nil {
		return hss.BatchScanRequest{ImageType: string(spec.ImageType), All: true, Filter: selectorFilter(spec)}
	}
	req := hss.BatchScanRequest{ImageType: string(spec.ImageType)}
	for _, ref := range spec.Images {
		req.Images = append(req.Images, hss.ImageRef{
			Namespace: ref.Namespace, Name: ref.Name, Tag: ref.Tag,
			InstanceID: ref.InstanceID, InstanceURL: ref.InstanceURL,
		})
	}
	return req
}

// followFilters are the list calls that show the round's images by
// identity. A member was chosen when the round started; a scan changes its
// scan status and time, and a newer tag can supersede it, so following
// keeps only the criteria that name an image (organisation, repository and
// tag), never those that chose it. An explicit list costs one call per
// repository it names, not a walk of every image.
func followFilters(spec scanv1.ImageScanSpec) []hss.Filter {
	if s := spec.Selector; s != nil {
		return []hss.Filter{{ImageType: string(spec.ImageType), Namespace: s.Namespace, ImageName: s.ImageName, Tag: s.Tag}}
	}
	seen := map[rounds.Key]bool{}
	var filters []hss.Filter
	for _, ref := range spec.Images {
		repo := rounds.Key{Namespace: ref.Namespace, Name: ref.Name, InstanceID: ref.InstanceID}
		if seen[repo] {
			continue
		}
		seen[repo] = true
		filters = append(filters, hss.Filter{
			ImageType: string(spec.ImageType), Namespace: ref.Namespace, ImageName: ref.Name, InstanceID: ref.InstanceID,
		})
	}
	return filters
}

// matchFilters are the list calls that find a new round's members.
func matchFilters(spec scanv1.ImageScanSpec) []hss.Filter {
	if spec.Selector != nil {
		return []hss.Filter{selectorFilter(spec)}
	}
	return followFilters(spec)
}
