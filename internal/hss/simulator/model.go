package simulator

import (
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// info is the list API's entry for an image. Every field the simulator
// models is always present: latest_scan_time is 0 and scan_failed_desc empty
// for an image that was never scanned or did not fail.
func (v view) info() model.PrivateImageRepositoryInfo {
	var scanned int64
	if !v.Scan.LastScanAt.IsZero() {
		scanned = v.stamp(v.Scan.LastScanAt)
	}
	info := model.PrivateImageRepositoryInfo{
		Id:               ptr(v.ID),
		Namespace:        ptr(v.Namespace),
		ImageName:        ptr(v.Name),
		ImageId:          ptr(v.ImageID),
		ImageDigest:      ptr(v.ImageID),
		ImageVersion:     ptr(v.Tag),
		ImageType:        ptr(v.Type),
		LatestVersion:    ptr(v.latest),
		ScanStatus:       ptr(string(v.Scan.Status)),
		ScanFailedDesc:   ptr(v.Scan.FailedDesc),
		ImageSize:        ptr(v.Size),
		LatestUpdateTime: ptr(v.stamp(v.UpdatedAt)),
		LatestScanTime:   ptr(scanned),
		VulNum:           ptr(int32(0)),
		UnsafeSettingNum: ptr(int32(0)),
		MaliciousFileNum: ptr(int32(0)),
		Scannable:        ptr(true),
	}
	if v.Scan.Status == StatusSuccess {
		info.VulNum, info.UnsafeSettingNum, info.MaliciousFileNum = ptr(v.Vulnerabilities), ptr(v.UnsafeSettings), ptr(v.MaliciousFiles)
	}
	if v.Type == TypeInstance {
		info.InstanceId, info.InstanceUrl = ptr(v.InstanceID), ptr(v.InstanceURL)
	}
	return info
}

// bodyFilter is the selection of a batch-scan with operate_all.
func bodyFilter(req model.BatchScanPrivateImageRequestInfo) Filter {
	return Filter{
		Type:          req.ImageType,
		Namespace:     val(req.Namespace),
		Name:          val(req.ImageName),
		Version:       val(req.ImageVersion),
		ScanStatus:    val(req.ScanStatus),
		LatestVersion: val(req.LatestVersion),
		MaxSize:       req.ImageSize,
		UpdatedFrom:   req.StartLatestUpdateTime,
		UpdatedTo:     req.EndLatestUpdateTime,
		ScannedFrom:   req.StartLatestScanTime,
		ScannedTo:     req.EndLatestScanTime,
	}
}

func ptr[T any](v T) *T { return &v }

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// stamp is a time as this image's answers give it: epoch milliseconds, or
// microseconds for an image with TimesInMicros.
func (v view) stamp(t time.Time) int64 {
	if v.TimesInMicros {
		return t.UnixMicro()
	}
	return t.UnixMilli()
}
