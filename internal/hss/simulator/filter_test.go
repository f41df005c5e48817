package simulator

import (
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

// filterFixture is a small inventory where a and c have been scanned
// (a succeeded, c failed) and b is the newest tag of payments/api.
func filterFixture(t *testing.T) (*env, time.Time) {
	t.Helper()
	e := newEnv(t, nil)
	a := img("payments", "api", "1.0", 100, epoch.Add(-3*time.Hour))
	b := img("payments", "api", "1.1", 200, epoch.Add(-2*time.Hour))
	c := img("web", "frontend", "2.0", 300, epoch.Add(-time.Hour))
	c.ForcedOutcome = StatusFailed
	inst := func(tag, id string) Image {
		return Image{Type: TypeInstance, Namespace: "payments", Name: "api", Tag: tag, Size: 100,
			UpdatedAt: epoch, InstanceID: id, InstanceURL: "https://" + id + ".example.com"}
	}
	shared := Image{Type: TypeShared, Namespace: "partner", Name: "sdk", Tag: "3", Size: 10, UpdatedAt: epoch}
	e.sim.AddImages(a, b, c, inst("1.0", "inst-1"), inst("2.0", "inst-2"), shared)
	if err := e.scanNamed(t, a.ref(), c.ref()); err != nil {
		t.Fatalf("scan fixture: %v", err)
	}
	e.clk.Step(queueDelay + scanTime)
	e.sim.ResetCounts()
	return e, e.clk.Now()
}

func TestListFiltersAndOperateAllSelectTheSameImages(t *testing.T) {
	ms := func(t time.Time) *int64 { return ptr(t.UnixMilli()) }
	scanned := epoch.Add(queueDelay + scanTime)
	cases := []struct {
		name    string
		req     model.ListSwrImageRepositoryRequest
		want    []string
		noBatch bool // batch-scan has no instance_id filter
	}{
		{"namespace", model.ListSwrImageRepositoryRequest{Namespace: ptr("payments")}, []string{"payments/api:1.0", "payments/api:1.1"}, false},
		{"image name", model.ListSwrImageRepositoryRequest{ImageName: ptr("frontend")}, []string{"web/frontend:2.0"}, false},
		{"image version", model.ListSwrImageRepositoryRequest{ImageVersion: ptr("1.1")}, []string{"payments/api:1.1"}, false},
		{"scan status success", model.ListSwrImageRepositoryRequest{ScanStatus: ptr("success")}, []string{"payments/api:1.0"}, false},
		{"scan status failed", model.ListSwrImageRepositoryRequest{ScanStatus: ptr("failed")}, []string{"web/frontend:2.0"}, false},
		{"scan status unscan", model.ListSwrImageRepositoryRequest{ScanStatus: ptr("unscan")}, []string{"payments/api:1.1"}, false},
		{"latest version", model.ListSwrImageRepositoryRequest{LatestVersion: ptr(true)}, []string{"payments/api:1.1", "web/frontend:2.0"}, false},
		{"latest version off", model.ListSwrImageRepositoryRequest{LatestVersion: ptr(false)}, []string{"payments/api:1.0", "payments/api:1.1", "web/frontend:2.0"}, false},
		{"image size is a maximum", model.ListSwrImageRepositoryRequest{ImageSize: ptr(int64(200))}, []string{"payments/api:1.0", "payments/api:1.1"}, false},
		{"update time range is inclusive", model.ListSwrImageRepositoryRequest{
			StartLatestUpdateTime: ms(epoch.Add(-2 * time.Hour)), EndLatestUpdateTime: ms(epoch.Add(-time.Hour))},
			[]string{"payments/api:1.1", "web/frontend:2.0"}, false},
		{"update time lower bound", model.ListSwrImageRepositoryRequest{StartLatestUpdateTime: ms(epoch.Add(-time.Hour))}, []string{"web/frontend:2.0"}, false},
		{"scan time range is inclusive", model.ListSwrImageRepositoryRequest{
			StartLatestScanTime: ms(scanned), EndLatestScanTime: ms(scanned)},
			[]string{"payments/api:1.0", "web/frontend:2.0"}, false},
		{"scan time excludes never scanned", model.ListSwrImageRepositoryRequest{EndLatestScanTime: ms(scanned.Add(time.Hour))},
			[]string{"payments/api:1.0", "web/frontend:2.0"}, false},
		{"scan time after every scan", model.ListSwrImageRepositoryRequest{StartLatestScanTime: ms(scanned.Add(time.Millisecond))}, nil, false},
		{"namespace and latest version", model.ListSwrImageRepositoryRequest{Namespace: ptr("payments"), LatestVersion: ptr(true)}, []string{"payments/api:1.1"}, false},
		{"image type shared", model.ListSwrImageRepositoryRequest{ImageType: TypeShared}, []string{"partner/sdk:3"}, false},
		{"instance id", model.ListSwrImageRepositoryRequest{ImageType: TypeInstance, InstanceId: ptr("inst-2")}, []string{"payments/api:2.0"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e, _ := filterFixture(t)
			req := tc.req
			if req.ImageType == "" {
				req.ImageType = TypePrivate
			}
			req.Limit = ptr(int32(200))
			resp, err := e.list(t, req)
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			for _, info := range *resp.DataList {
				got = append(got, *info.Namespace+"/"+*info.ImageName+":"+*info.ImageVersion)
			}
			g.Expect(got).To(Equal(tc.want))
			g.Expect(*resp.TotalNum).To(BeEquivalentTo(len(tc.want)))
			if tc.noBatch {
				return
			}

			g.Expect(e.scan(t, operateAll(req))).To(Succeed())
			recs := e.sim.BatchScans()
			g.Expect(recs).To(HaveLen(1))
			var matched []string
			for _, r := range recs[0].Matched {
				matched = append(matched, r.Namespace+"/"+r.Name+":"+r.Tag)
			}
			g.Expect(matched).To(Equal(tc.want))
		})
	}
}

// operateAll is the batch-scan body with the same criteria as a list query.
func operateAll(q model.ListSwrImageRepositoryRequest) model.BatchScanPrivateImageRequestInfo {
	return model.BatchScanPrivateImageRequestInfo{
		OperateAll: ptr(true), ImageType: q.ImageType,
		Namespace: q.Namespace, ImageName: q.ImageName, ImageVersion: q.ImageVersion,
		ScanStatus: q.ScanStatus, LatestVersion: q.LatestVersion, ImageSize: q.ImageSize,
		StartLatestUpdateTime: q.StartLatestUpdateTime, EndLatestUpdateTime: q.EndLatestUpdateTime,
		StartLatestScanTime: q.StartLatestScanTime, EndLatestScanTime: q.EndLatestScanTime,
	}
}

// The list keeps its order between pages; a tag pushed or deleted after a
// page was answered changes which tag is latest on the next.
func TestLatestVersionFollowsPushesAndDeletesBetweenLists(t *testing.T) {
	g := NewWithT(t)
	e, _ := filterFixture(t)
	latest := func() []string {
		resp, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate, Namespace: ptr("payments"),
			LatestVersion: ptr(true), Limit: ptr(int32(200))})
		g.Expect(err).NotTo(HaveOccurred())
		var got []string
		for _, info := range *resp.DataList {
			got = append(got, *info.ImageVersion)
		}
		return got
	}
	g.Expect(latest()).To(Equal([]string{"1.1"}))

	e.sim.AddImages(img("payments", "api", "1.2", 100, epoch))
	g.Expect(latest()).To(Equal([]string{"1.2"}), "a newer push is the latest")

	g.Expect(e.sim.RemoveImage(TypePrivate, "payments", "api", "1.2")).To(BeTrue())
	g.Expect(latest()).To(Equal([]string{"1.1"}), "its deletion gives the mark back")
}
