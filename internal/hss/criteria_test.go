package hss

import (
	"slices"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// Every criterion reaches each call that can carry it, and the ones a call
// cannot carry are named, never dropped unseen.
func TestCriteriaInto(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	size := int64(15 << 30)
	every := Filter{Namespace: "payments", ImageName: "api", Tag: "1.0", ScanStatus: "success", InstanceID: "inst-a",
		LatestVersionOnly: true, ImageSize: &size, UpdatedAfter: &at, UpdatedBefore: &at, ScannedAfter: &at, ScannedBefore: &at}

	cases := []struct {
		name        string
		dst         any
		unexpressed []string
	}{
		{"ListSwrImageRepository", &model.ListSwrImageRepositoryRequest{}, nil},
		{"ListRegistryImages", &model.ListRegistryImagesRequest{}, nil},
		{"BatchScanPrivateImage's operate_all body", &model.BatchScanPrivateImageRequestInfo{}, []string{"instance_id"}},
		{"CreateManualImageScanTask's query", &model.CreateManualImageScanTaskReqInfoQueryInfo{}, []string{"instance_id", "latest_version"}},
	}
	for _, tc := range cases {
		got := criteriaOf(every).into(tc.dst)
		if !slices.Equal(got, tc.unexpressed) {
			t.Errorf("%s: unexpressed %v, want %v", tc.name, got, tc.unexpressed)
		}
		if got := criteriaOf(Filter{}).into(tc.dst); got != nil {
			t.Errorf("%s: an empty filter leaves %v unexpressed", tc.name, got)
		}
	}

	q := &model.CreateManualImageScanTaskReqInfoQueryInfo{}
	criteriaOf(every).into(q)
	if value(q.Namespace) != "payments" || value(q.ImageVersion) != "1.0" || value(q.ImageSize) != size ||
		value(q.EndLatestScanTime) != at.UnixMilli() {
		t.Errorf("task query: namespace %q, image_version %q, image_size %d, end_latest_scan_time %d",
			value(q.Namespace), value(q.ImageVersion), value(q.ImageSize), value(q.EndLatestScanTime))
	}
}

// A selector whose criteria the task's query cannot carry is asked for by
// its members' names, and one it can, by a single task over the query.
func TestTaskBodiesNameMembersForCriteriaTheQueryLacks(t *testing.T) {
	members := []ImageRef{{Namespace: "payments", Name: "api", Tag: "1.1"}}
	for _, tc := range []struct {
		filter Filter
		named  bool
	}{
		{Filter{Namespace: "payments"}, false},
		{Filter{Namespace: "payments", LatestVersionOnly: true}, true},
		{Filter{Namespace: "payments", InstanceID: "inst-a"}, true},
	} {
		bodies := taskBodies(BatchScanRequest{ImageType: "private_image", All: true, Filter: tc.filter, Members: members})
		if len(bodies) != 1 {
			t.Fatalf("%+v: %d tasks, want 1", tc.filter, len(bodies))
		}
		if named := bodies[0].ImageInfo != nil; named != tc.named || value(bodies[0].IsAll) == tc.named {
			t.Errorf("%+v: named %v, is_all %v; want named %v", tc.filter, named, value(bodies[0].IsAll), tc.named)
		}
	}
}
