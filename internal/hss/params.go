package hss

import (
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// MaxBatchScanImages bounds the explicit images of one batch-scan request.
// The API documents no limit; 100 entries keep the body near 100 KB even with
// every field at its maximum length, and a 1,000-image spec costs 10 calls.
const MaxBatchScanImages = 100

// PageSize is the image list's largest allowed page (limit is 10..200).
const PageSize = 200

// millis converts an optional time to the API's epoch milliseconds.
func millis(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// latestTime is the last instant an API object can hold: a time past year
// 9999 has no RFC 3339 form, and a status carrying one is refused whole.
var latestTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// fromMillis converts the API's epoch milliseconds; 0, absent or negative
// is zero time. An answer in microseconds (HSS has sent some), which read as
// milliseconds lands past year 9999, is read as such; any other time past
// year 9999 is not a time, and is zero too.
func fromMillis(ms *int64) time.Time {
	if ms == nil || *ms <= 0 {
		return time.Time{}
	}
	if t := time.UnixMilli(*ms).UTC(); !t.After(latestTime) {
		return t
	}
	if t := time.UnixMicro(*ms).UTC(); !t.After(latestTime) {
		return t
	}
	return time.Time{}
}

// count is a count from an answer: never negative.
func count[T int32 | int64](n *T) int64 { return max(0, int64(value(n))) }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTrue(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

func value[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// batchScanBodies translates a request into one body per chunk of
// MaxBatchScanImages explicit images, or a single operate_all body.
func batchScanBodies(req BatchScanRequest) []*model.BatchScanPrivateImageRequestInfo {
	if req.All {
		all := true
		body := &model.BatchScanPrivateImageRequestInfo{ImageType: req.ImageType, OperateAll: &all}
		// The body has no instance_id; a selector names no instance.
		criteriaOf(req.Filter).into(body)
		return []*model.BatchScanPrivateImageRequestInfo{body}
	}
	var bodies []*model.BatchScanPrivateImageRequestInfo
	for start := 0; start < len(req.Images); start += MaxBatchScanImages {
		end := min(start+MaxBatchScanImages, len(req.Images))
		list := make([]model.BatchScanSwrImageInfo, 0, end-start)
		for _, ref := range req.Images[start:end] {
			list = append(list, model.BatchScanSwrImageInfo{
				Namespace:    optString(ref.Namespace),
				ImageName:    optString(ref.Name),
				ImageVersion: optString(ref.Tag),
				InstanceId:   optString(ref.InstanceID),
				InstanceUrl:  optString(ref.InstanceURL),
			})
		}
		bodies = append(bodies, &model.BatchScanPrivateImageRequestInfo{ImageType: req.ImageType, ImageInfoList: &list})
	}
	return bodies
}

// listRequest translates a filter into one page's list request.
func listRequest(f Filter, offset int32) *model.ListSwrImageRepositoryRequest {
	limit := int32(PageSize)
	req := &model.ListSwrImageRepositoryRequest{ImageType: f.ImageType, Offset: &offset, Limit: &limit}
	criteriaOf(f).into(req)
	return req
}

// imageFromModel translates one list entry.
func imageFromModel(imageType string, m model.PrivateImageRepositoryInfo) Image {
	// What is written to status is cleaned and bounded here; the names
	// identify the image and are matched as they are.
	img := Image{
		ImageType:      imageType,
		Namespace:      value(m.Namespace),
		Name:           value(m.ImageName),
		Tag:            value(m.ImageVersion),
		ImageID:        boundedText(value(m.ImageId), maxShortText),
		Digest:         boundedText(value(m.ImageDigest), maxShortText),
		InstanceID:     value(m.InstanceId),
		InstanceURL:    value(m.InstanceUrl),
		ScanStatus:     boundedText(value(m.ScanStatus), maxStatusText),
		ScanFailedDesc: boundedText(value(m.ScanFailedDesc), maxLongText),
		Size:           count(m.ImageSize),
		LatestVersion:  value(m.LatestVersion),
		UpdatedAt:      fromMillis(m.LatestUpdateTime),
		LastScanAt:     fromMillis(m.LatestScanTime),
		Findings: Findings{
			Vulnerabilities: count(m.VulNum),
			MaliciousFiles:  count(m.MaliciousFileNum),
			UnsafeSettings:  count(m.UnsafeSettingNum),
		},
	}
	if t := value(m.ImageType); t != "" {
		img.ImageType = t
	}
	return img
}
