package controller

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// FuzzSelectorFilter: whatever a user writes in a selector reaches the API
// criteria unchanged, and following a round drops exactly the criteria a
// scan changes.
func FuzzSelectorFilter(f *testing.F) {
	f.Add("my-org", "web", "v1", "unscan", true, int64(1<<30), int64(1735689600000), int64(1767225600000), int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, ns, name, tag, status string, latest bool, size, ua, ub, sa, sb int64) {
		at := func(ms int64) *metav1.Time {
			if ms < 0 {
				return nil
			}
			return &metav1.Time{Time: time.UnixMilli(ms)}
		}
		spec := scanv1.ImageScanSpec{ImageType: scanv1.SharedImage, Selector: &scanv1.ImageSelector{
			Namespace: ns, ImageName: name, Tag: tag, ScanStatus: status, LatestVersionOnly: latest, ImageSize: &size,
			UpdatedAfter: at(ua), UpdatedBefore: at(ub), LastScannedAfter: at(sa), LastScannedBefore: at(sb),
		}}
		got := selectorFilter(spec)
		if got.ImageType != "shared_image" || got.Namespace != ns || got.ImageName != name || got.Tag != tag ||
			got.ScanStatus != status || got.LatestVersionOnly != latest || *got.ImageSize != size {
			t.Fatalf("criteria changed: %+v", got)
		}
		for _, c := range []struct {
			ms  int64
			got *time.Time
		}{{ua, got.UpdatedAfter}, {ub, got.UpdatedBefore}, {sa, got.ScannedAfter}, {sb, got.ScannedBefore}} {
			if (c.ms < 0) != (c.got == nil) || (c.got != nil && c.got.UnixMilli() != c.ms) {
				t.Fatalf("time %d became %v", c.ms, c.got)
			}
		}
		// Following names images by identity only: the criteria that chose
		// the members may stop matching them while they scan.
		follow := followFilters(spec)
		identity := hss.Filter{ImageType: got.ImageType, Namespace: ns, ImageName: name, Tag: tag}
		if len(follow) != 1 || !reflect.DeepEqual(follow[0], identity) {
			t.Fatalf("follow filter is not the image's identity: %+v", follow)
		}
		if req := batchScanRequest(spec); !req.All || !reflect.DeepEqual(req.Filter, got) || len(req.Images) != 0 {
			t.Fatalf("batch-scan request: %+v", req)
		}
	})
}

// FuzzExplicitListFilters: an explicit list is followed with one list call
// per repository, and every image of the list is sent to batch-scan.
func FuzzExplicitListFilters(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 0, 3}, "org", "inst")
	f.Fuzz(func(t *testing.T, picks []byte, ns, instance string) {
		spec := scanv1.ImageScanSpec{ImageType: scanv1.InstanceImage}
		repos := map[rounds.Key]bool{}
		for i, p := range picks {
			ref := scanv1.ImageReference{Namespace: ns, Name: string(rune('a' + p%5)), Tag: string(rune('0' + i%10)), InstanceID: instance}
			spec.Images = append(spec.Images, ref)
			repos[rounds.Key{Namespace: ns, Name: ref.Name, InstanceID: instance}] = true
		}
		follow := followFilters(spec)
		if len(follow) != len(repos) {
			t.Fatalf("%d list calls for %d repositories", len(follow), len(repos))
		}
		for _, f := range follow {
			if !repos[rounds.Key{Namespace: f.Namespace, Name: f.ImageName, InstanceID: f.InstanceID}] || f.ImageType != "instance_image" {
				t.Fatalf("unexpected list call %+v", f)
			}
		}
		req := batchScanRequest(spec)
		if req.All || len(req.Images) != len(spec.Images) {
			t.Fatalf("batch-scan request: %+v", req)
		}
		for i, ref := range req.Images {
			if rounds.KeyOfRef(spec.Images[i]) != rounds.KeyOfRequest(ref) {
				t.Fatalf("image %d changed: %+v", i, ref)
			}
		}
	})
}
