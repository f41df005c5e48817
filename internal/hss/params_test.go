package hss

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// checkOpt asserts how an optional criterion reaches the API: absent when
// empty, else the value itself.
func checkOpt[T comparable](t *testing.T, field string, got *T, want T, set bool) {
	t.Helper()
	switch {
	case !set && got != nil:
		t.Fatalf("%s: sent %v for an unset criterion", field, *got)
	case set && got == nil:
		t.Fatalf("%s: %v was not sent", field, want)
	case set && *got != want:
		t.Fatalf("%s: sent %v, want %v", field, *got, want)
	}
}

// fuzzTimes turns fuzzed epoch milliseconds into optional criteria; bit i of
// set says whether ms[i] is used.
func fuzzTimes(set uint8, ms ...int64) []*time.Time {
	out := make([]*time.Time, len(ms))
	for i, v := range ms {
		if set&(1<<i) != 0 {
			t := time.UnixMilli(v).In(time.FixedZone("fuzz", int(v%50400)))
			out[i] = &t
		}
	}
	return out
}

func checkTimes(t *testing.T, set uint8, ms []int64, got ...*int64) {
	t.Helper()
	for i := range ms {
		checkOpt(t, fmt.Sprintf("time %d", i), got[i], ms[i], set&(1<<i) != 0)
	}
}

func FuzzBatchScanBodies(f *testing.F) {
	f.Add("private_image", "payments", "api", "1.0", "", "", uint16(250), false, "", false, int64(0), uint8(0),
		int64(0), int64(0), int64(0), int64(0))
	f.Add("instance_image", "corp", "web", "2.0", "inst-a", "https://a.example.com", uint16(100), false, "", false, int64(0), uint8(0),
		int64(0), int64(0), int64(0), int64(0))
	f.Add("private_image", "payments", "api", "1.1", "", "", uint16(0), true, "unscan", true, int64(512<<20), uint8(0x1f),
		int64(1767225600123), int64(1780315200000), int64(1), int64(-1))
	f.Add("shared_image", "", "", "", "", "", uint16(101), true, "", false, int64(-1), uint8(0x0f),
		int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(-999))
	f.Fuzz(func(t *testing.T, imageType, ns, name, tag, instanceID, instanceURL string, count uint16, all bool,
		status string, latest bool, size int64, set uint8, t0, t1, t2, t3 int64) {
		ms := []int64{t0, t1, t2, t3}
		if all {
			times := fuzzTimes(set, ms...)
			filter := Filter{ImageType: imageType, Namespace: ns, ImageName: name, Tag: tag, ScanStatus: status,
				LatestVersionOnly: latest, UpdatedAfter: times[0], UpdatedBefore: times[1], ScannedAfter: times[2], ScannedBefore: times[3]}
			if set&(1<<4) != 0 {
				filter.ImageSize = &size
			}
			bodies := batchScanBodies(BatchScanRequest{ImageType: imageType, All: true, Filter: filter})
			if len(bodies) != 1 {
				t.Fatalf("operate_all gave %d bodies, want 1", len(bodies))
			}
			b := bodies[0]
			if b.ImageType != imageType || b.OperateAll == nil || !*b.OperateAll || b.ImageInfoList != nil {
				t.Fatalf("operate_all body: image_type %q, operate_all %v, image_info_list %v", b.ImageType, b.OperateAll, b.ImageInfoList)
			}
			checkOpt(t, "namespace", b.Namespace, ns, ns != "")
			checkOpt(t, "image_name", b.ImageName, name, name != "")
			checkOpt(t, "image_version", b.ImageVersion, tag, tag != "")
			checkOpt(t, "scan_status", b.ScanStatus, status, status != "")
			checkOpt(t, "latest_version", b.LatestVersion, true, latest)
			checkOpt(t, "image_size", b.ImageSize, size, set&(1<<4) != 0)
			checkTimes(t, set, ms, b.StartLatestUpdateTime, b.EndLatestUpdateTime, b.StartLatestScanTime, b.EndLatestScanTime)
			return
		}

		n := int(count) % 1200
		refs := make([]ImageRef, n)
		for i := range refs {
			refs[i] = ImageRef{Namespace: ns, Name: fmt.Sprintf("%s#%d", name, i), Tag: tag, InstanceID: instanceID, InstanceURL: instanceURL}
		}
		bodies := batchScanBodies(BatchScanRequest{ImageType: imageType, Images: refs})
		if want := (n + MaxBatchScanImages - 1) / MaxBatchScanImages; len(bodies) != want {
			t.Fatalf("%d images gave %d bodies, want %d", n, len(bodies), want)
		}
		sent := 0
		for i, b := range bodies {
			if b.ImageType != imageType || b.OperateAll != nil || b.ImageInfoList == nil {
				t.Fatalf("body %d: image_type %q, operate_all %v", i, b.ImageType, b.OperateAll)
			}
			list := *b.ImageInfoList
			if len(list) == 0 || len(list) > MaxBatchScanImages {
				t.Fatalf("body %d has %d images, want 1..%d", i, len(list), MaxBatchScanImages)
			}
			for _, info := range list {
				ref := refs[sent]
				checkOpt(t, "namespace", info.Namespace, ref.Namespace, ref.Namespace != "")
				checkOpt(t, "image_name", info.ImageName, ref.Name, true)
				checkOpt(t, "image_version", info.ImageVersion, ref.Tag, ref.Tag != "")
				checkOpt(t, "instance_id", info.InstanceId, ref.InstanceID, ref.InstanceID != "")
				checkOpt(t, "instance_url", info.InstanceUrl, ref.InstanceURL, ref.InstanceURL != "")
				sent++
			}
		}
		if sent != n {
			t.Fatalf("sent %d images, want %d", sent, n)
		}
	})
}

func FuzzListRequest(f *testing.F) {
	f.Add("private_image", "payments", "api", "1.0", "success", "", false, int64(0), uint8(0),
		int64(0), int64(0), int64(0), int64(0), int32(0))
	f.Add("instance_image", "corp", "web", "", "", "inst-a", true, int64(100), uint8(0x1f),
		int64(1767225600123), int64(1780315200000), int64(1), int64(-1), int32(2000000))
	f.Add("", "", "", "", "", "", false, int64(-5), uint8(0x0f),
		int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(-999), int32(-200))
	f.Fuzz(func(t *testing.T, imageType, ns, name, tag, status, instanceID string, latest bool, size int64, set uint8,
		t0, t1, t2, t3 int64, offset int32) {
		ms := []int64{t0, t1, t2, t3}
		times := fuzzTimes(set, ms...)
		filter := Filter{ImageType: imageType, Namespace: ns, ImageName: name, Tag: tag, ScanStatus: status, InstanceID: instanceID,
			LatestVersionOnly: latest, UpdatedAfter: times[0], UpdatedBefore: times[1], ScannedAfter: times[2], ScannedBefore: times[3]}
		if set&(1<<4) != 0 {
			filter.ImageSize = &size
		}

		req := listRequest(filter, offset)

		if req.ImageType != imageType {
			t.Fatalf("image_type %q, want %q", req.ImageType, imageType)
		}
		checkOpt(t, "offset", req.Offset, offset, true)
		checkOpt(t, "limit", req.Limit, int32(PageSize), true)
		checkOpt(t, "namespace", req.Namespace, ns, ns != "")
		checkOpt(t, "image_name", req.ImageName, name, name != "")
		checkOpt(t, "image_version", req.ImageVersion, tag, tag != "")
		checkOpt(t, "scan_status", req.ScanStatus, status, status != "")
		checkOpt(t, "instance_id", req.InstanceId, instanceID, instanceID != "")
		checkOpt(t, "latest_version", req.LatestVersion, true, latest)
		checkOpt(t, "image_size", req.ImageSize, size, set&(1<<4) != 0)
		checkTimes(t, set, ms, req.StartLatestUpdateTime, req.EndLatestUpdateTime, req.StartLatestScanTime, req.EndLatestScanTime)

		// The answer's entries translate back, cleaned where they enter.
		entryType := ""
		if set&(1<<5) != 0 {
			entryType = status
		}
		img := imageFromModel(imageType, model.PrivateImageRepositoryInfo{
			Namespace: &ns, ImageName: &name, ImageVersion: &tag, InstanceId: &instanceID, ScanStatus: &status,
			ImageType: &entryType, LatestVersion: &latest, ImageSize: &size, LatestUpdateTime: &t0, LatestScanTime: &t1,
		})
		wantType := imageType
		if entryType != "" {
			wantType = entryType
		}
		// Names as sent; a state cleaned and bounded, a size never negative.
		if img.ImageType != wantType || img.Namespace != ns || img.Name != name || img.Tag != tag || img.InstanceID != instanceID ||
			img.ScanStatus != boundedText(status, maxStatusText) || img.LatestVersion != latest || img.Size != max(0, size) {
			t.Fatalf("entry translated to %+v", img)
		}
		for _, c := range []struct {
			got time.Time
			ms  int64
		}{{img.UpdatedAt, t0}, {img.LastScanAt, t1}} {
			// Past year 9999 as milliseconds, the value is microseconds,
			// or no time where it is not one either.
			var want time.Time
			switch {
			case c.ms <= 0:
			case !time.UnixMilli(c.ms).After(latestTime):
				want = time.UnixMilli(c.ms)
			case !time.UnixMicro(c.ms).After(latestTime):
				want = time.UnixMicro(c.ms)
			}
			if !c.got.Equal(want) || !c.got.IsZero() && c.got.Location() != time.UTC {
				t.Fatalf("%d ms translated to %v, want %v", c.ms, c.got, want)
			}
		}
	})
}
