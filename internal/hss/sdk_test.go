package hss

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

func TestBatchScanSendsExplicitImagesInChunksOfAtMostMaxBatchScanImages(t *testing.T) {
	cases := []struct {
		images int
		chunks []int
	}{
		{images: 0, chunks: nil},
		{images: 1, chunks: []int{1}},
		{images: MaxBatchScanImages, chunks: []int{MaxBatchScanImages}},
		{images: MaxBatchScanImages + 1, chunks: []int{MaxBatchScanImages, 1}},
		{images: 250, chunks: []int{100, 100, 50}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d images", tc.images), func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			var refs []ImageRef
			var want []string
			for i := range tc.images {
				img := private("team", fmt.Sprintf("app-%03d", i), "1.0", 10, epoch)
				e.sim.AddImages(img)
				refs = append(refs, ImageRef{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag})
				want = append(want, refOf(img.Namespace, img.Name, img.Tag))
			}

			g.Expect(e.client(t).BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, Images: refs})).To(Succeed())

			recs := e.sim.BatchScans()
			g.Expect(recs).To(HaveLen(len(tc.chunks)))
			g.Expect(e.sim.Count(simulator.OpBatchScan, simulator.OutcomeOK)).To(Equal(len(tc.chunks)))
			var sent, matched []string
			for i, rec := range recs {
				g.Expect(rec.Request.ImageType).To(Equal(simulator.TypePrivate))
				g.Expect(rec.Request.OperateAll).To(BeNil())
				g.Expect(*rec.Request.ImageInfoList).To(HaveLen(tc.chunks[i]), "chunk %d", i+1)
				g.Expect(rec.Ignored).To(BeZero())
				for _, info := range *rec.Request.ImageInfoList {
					sent = append(sent, refOf(*info.Namespace, *info.ImageName, *info.ImageVersion))
				}
				for _, m := range rec.Matched {
					matched = append(matched, refOf(m.Namespace, m.Name, m.Tag))
				}
			}
			g.Expect(sent).To(Equal(want), "every image sent once, in order")
			g.Expect(matched).To(Equal(want))
			for _, img := range e.sim.Images() {
				g.Expect(img.Scan.Status).To(Equal(simulator.StatusWaiting), "%s/%s:%s", img.Namespace, img.Name, img.Tag)
			}
		})
	}
}

func TestBatchScanSendsInstanceIDAndURLOfEnterpriseImages(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	e.sim.AddImages(simulator.Image{Type: simulator.TypeInstance, Namespace: "corp", Name: "web", Tag: "2.0", Size: 10,
		UpdatedAt: epoch, InstanceID: "inst-a", InstanceURL: "https://inst-a.example.com"})

	g.Expect(e.client(t).BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypeInstance, Images: []ImageRef{{
		Namespace: "corp", Name: "web", Tag: "2.0", InstanceID: "inst-a", InstanceURL: "https://inst-a.example.com",
	}}})).To(Succeed())

	recs := e.sim.BatchScans()
	g.Expect(recs).To(HaveLen(1))
	info := (*recs[0].Request.ImageInfoList)[0]
	g.Expect(info.InstanceId).To(HaveValue(Equal("inst-a")))
	g.Expect(info.InstanceUrl).To(HaveValue(Equal("https://inst-a.example.com")))
	g.Expect(recs[0].Matched).To(ConsistOf(simulator.ImageRef{Namespace: "corp", Name: "web", Tag: "2.0", InstanceID: "inst-a"}))
}

func TestBatchScanOperateAllSendsEveryFilterWithTimesInEpochMilliseconds(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	plus8 := time.FixedZone("UTC+8", 8*3600)
	updatedAfter := time.Date(2026, 1, 1, 8, 0, 0, 123_900_000, plus8) // 2026-01-01T00:00:00.1239Z
	updatedBefore := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	scannedAfter := time.Date(1970, 1, 1, 0, 0, 0, 1_000_000, time.UTC)
	scannedBefore := time.Date(2026, 6, 1, 11, 59, 59, 999_999_999, time.UTC)
	size := int64(512 << 20)

	g.Expect(e.client(t).BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, All: true, Filter: Filter{
		ImageType: simulator.TypePrivate, Namespace: "payments", ImageName: "api", Tag: "1.1",
		ScanStatus: StatusUnscan, LatestVersionOnly: true, ImageSize: &size,
		UpdatedAfter: &updatedAfter, UpdatedBefore: &updatedBefore,
		ScannedAfter: &scannedAfter, ScannedBefore: &scannedBefore,
	}})).To(Succeed())

	recs := e.sim.BatchScans()
	g.Expect(recs).To(HaveLen(1))
	body := recs[0].Request
	g.Expect(body).To(Equal(model.BatchScanPrivateImageRequestInfo{
		ImageType:             simulator.TypePrivate,
		OperateAll:            ptr(true),
		Namespace:             ptr("payments"),
		ImageName:             ptr("api"),
		ImageVersion:          ptr("1.1"),
		ScanStatus:            ptr("unscan"),
		LatestVersion:         ptr(true),
		ImageSize:             ptr(size),
		StartLatestUpdateTime: ptr(int64(1767225600123)), // sub-millisecond part dropped
		EndLatestUpdateTime:   ptr(int64(1780315200000)),
		StartLatestScanTime:   ptr(int64(1)),
		EndLatestScanTime:     ptr(int64(1780315199999)),
	}))
}

func TestBatchScanOperateAllLeavesUnsetFiltersOut(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)

	g.Expect(e.client(t).BatchScan(context.Background(), BatchScanRequest{
		ImageType: simulator.TypeShared, All: true, Filter: Filter{ImageType: simulator.TypeShared},
	})).To(Succeed())

	recs := e.sim.BatchScans()
	g.Expect(recs).To(HaveLen(1))
	g.Expect(recs[0].Request).To(Equal(model.BatchScanPrivateImageRequestInfo{ImageType: simulator.TypeShared, OperateAll: ptr(true)}))
}

// listFixture has two tags of payments/api, one of payments/worker, one of
// ops/gateway and two enterprise images. payments/api:1.0 was scanned
// successfully at scannedAt; ops/gateway:3.0 is waiting for its scan.
func listFixture(t *testing.T) (e *env, scannedAt time.Time) {
	t.Helper()
	e = newEnv(t, Options{}, nil)
	inst := func(tag, id string) simulator.Image {
		return simulator.Image{Type: simulator.TypeInstance, Namespace: "corp", Name: "web", Tag: tag, Size: 10,
			UpdatedAt: epoch, InstanceID: id, InstanceURL: "https://" + id + ".example.com"}
	}
	e.sim.AddImages(
		private("payments", "api", "1.0", 100, epoch.Add(-48*time.Hour)),
		private("payments", "api", "1.1", 200, epoch.Add(-24*time.Hour)),
		private("payments", "worker", "2.0", 50, epoch.Add(-72*time.Hour)),
		private("ops", "gateway", "3.0", 300, epoch.Add(-time.Hour)),
		inst("1.0", "inst-a"), inst("2.0", "inst-b"),
	)
	c := e.client(t)
	scan := func(ns, name, tag string) {
		t.Helper()
		err := c.BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, Images: []ImageRef{{Namespace: ns, Name: name, Tag: tag}}})
		if err != nil {
			t.Fatalf("scan %s/%s:%s: %v", ns, name, tag, err)
		}
	}
	scan("payments", "api", "1.0")
	e.clk.Step(queueDelay + scanTime)
	scannedAt = e.clk.Now()
	e.clk.Step(time.Minute)
	scan("ops", "gateway", "3.0")
	e.sim.ResetCounts()
	return e, scannedAt
}

func TestListImagesAppliesEachFilter(t *testing.T) {
	e, scannedAt := listFixture(t)
	at := func(t time.Time) *time.Time { return &t }
	size := func(n int64) *int64 { return &n }
	priv := simulator.TypePrivate
	cases := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"image type only", Filter{ImageType: priv},
			[]string{"payments/api:1.0", "payments/api:1.1", "payments/worker:2.0", "ops/gateway:3.0"}},
		{"namespace", Filter{ImageType: priv, Namespace: "payments"},
			[]string{"payments/api:1.0", "payments/api:1.1", "payments/worker:2.0"}},
		{"image name", Filter{ImageType: priv, ImageName: "api"}, []string{"payments/api:1.0", "payments/api:1.1"}},
		{"tag", Filter{ImageType: priv, Tag: "1.1"}, []string{"payments/api:1.1"}},
		{"scan status success", Filter{ImageType: priv, ScanStatus: StatusSuccess}, []string{"payments/api:1.0"}},
		{"scan status waiting", Filter{ImageType: priv, ScanStatus: StatusWaiting}, []string{"ops/gateway:3.0"}},
		{"scan status unscan", Filter{ImageType: priv, ScanStatus: StatusUnscan}, []string{"payments/api:1.1", "payments/worker:2.0"}},
		{"instance id", Filter{ImageType: simulator.TypeInstance, InstanceID: "inst-a"}, []string{"corp/web:1.0"}},
		{"latest version only", Filter{ImageType: priv, LatestVersionOnly: true},
			[]string{"payments/api:1.1", "payments/worker:2.0", "ops/gateway:3.0"}},
		{"image size is a maximum", Filter{ImageType: priv, ImageSize: size(100)}, []string{"payments/api:1.0", "payments/worker:2.0"}},
		{"updated after is inclusive", Filter{ImageType: priv, UpdatedAfter: at(epoch.Add(-48 * time.Hour))},
			[]string{"payments/api:1.0", "payments/api:1.1", "ops/gateway:3.0"}},
		{"updated before is inclusive", Filter{ImageType: priv, UpdatedBefore: at(epoch.Add(-48 * time.Hour))},
			[]string{"payments/api:1.0", "payments/worker:2.0"}},
		{"updated within a range", Filter{ImageType: priv,
			UpdatedAfter: at(epoch.Add(-30 * time.Hour)), UpdatedBefore: at(epoch.Add(-2 * time.Hour))}, []string{"payments/api:1.1"}},
		{"scanned after", Filter{ImageType: priv, ScannedAfter: at(scannedAt)}, []string{"payments/api:1.0"}},
		{"scanned before", Filter{ImageType: priv, ScannedBefore: at(scannedAt)}, []string{"payments/api:1.0"}},
		{"scanned after the last scan", Filter{ImageType: priv, ScannedAfter: at(scannedAt.Add(time.Millisecond))}, nil},
		{"criteria combine", Filter{ImageType: priv, Namespace: "payments", ImageName: "api", ScanStatus: StatusUnscan}, []string{"payments/api:1.1"}},
	}
	c := e.client(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			images, err := c.ListImages(context.Background(), tc.filter)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.want == nil {
				g.Expect(images).To(BeEmpty())
				return
			}
			g.Expect(refsOf(images)).To(ConsistOf(tc.want))
		})
	}
}

func TestListImagesTranslatesEveryField(t *testing.T) {
	g := NewWithT(t)
	e, scannedAt := listFixture(t)
	c := e.client(t)

	scanned, err := c.ListImages(context.Background(), Filter{ImageType: simulator.TypePrivate, ScanStatus: StatusSuccess})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(scanned).To(HaveLen(1))
	sim, _ := e.sim.Lookup(simulator.TypePrivate, "payments", "api", "1.0")
	g.Expect(scanned[0]).To(Equal(Image{
		ImageType: simulator.TypePrivate, Namespace: "payments", Name: "api", Tag: "1.0",
		ImageID: sim.ImageID, Digest: sim.ImageID, ScanStatus: StatusSuccess, Size: 100,
		UpdatedAt: epoch.Add(-48 * time.Hour), LastScanAt: scannedAt,
	}))

	enterprise, err := c.ListImages(context.Background(), Filter{ImageType: simulator.TypeInstance, Tag: "2.0"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(enterprise).To(HaveLen(1))
	g.Expect(enterprise[0].InstanceID).To(Equal("inst-b"))
	g.Expect(enterprise[0].InstanceURL).To(Equal("https://inst-b.example.com"))
	g.Expect(enterprise[0].LatestVersion).To(BeTrue())
	g.Expect(enterprise[0].ScanStatus).To(Equal(StatusUnscan))
	g.Expect(enterprise[0].LastScanAt.IsZero()).To(BeTrue(), "never scanned")
}

func TestListImagesFollowsPagesUntilEveryImageIsListed(t *testing.T) {
	cases := []struct {
		images, pages int
	}{
		{images: 0, pages: 1},
		{images: 199, pages: 1},
		{images: PageSize, pages: 1},
		{images: 1200, pages: 6},
		{images: 1234, pages: 7},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d images", tc.images), func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			imgs := simulator.Generate(tc.images, 42)
			for i := range imgs {
				imgs[i].Type, imgs[i].InstanceID, imgs[i].InstanceURL = simulator.TypePrivate, "", ""
			}
			e.sim.AddImages(imgs...)

			listed, err := e.client(t).ListImages(context.Background(), Filter{ImageType: simulator.TypePrivate})

			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(listed).To(HaveLen(tc.images))
			seen := map[string]bool{}
			for _, img := range listed {
				seen[refOf(img.Namespace, img.Name, img.Tag)] = true
			}
			g.Expect(seen).To(HaveLen(tc.images), "no image listed twice")
			for _, img := range imgs {
				g.Expect(seen).To(HaveKey(refOf(img.Namespace, img.Name, img.Tag)))
			}
			g.Expect(e.sim.Count(simulator.OpListImages, simulator.OutcomeOK)).To(Equal(tc.pages))
			g.Expect(e.sim.Counts()).To(HaveLen(1), "nothing but list calls, all answered ok")
		})
	}
}

func TestFileStatisticsAnswersForAnImageWhoseScanSucceeded(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	e.sim.AddImages(private("payments", "api", "1.0", 300<<20, epoch.Add(-time.Hour)))
	c := e.client(t)
	ctx := context.Background()

	g.Expect(c.BatchScan(ctx, BatchScanRequest{ImageType: simulator.TypePrivate,
		Images: []ImageRef{{Namespace: "payments", Name: "api", Tag: "1.0"}}})).To(Succeed())
	e.clk.Step(queueDelay + scanTime)
	images, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(images).To(HaveLen(1))
	g.Expect(images[0].ScanStatus).To(Equal(StatusSuccess))

	stats, err := c.FileStatistics(ctx, images[0])

	g.Expect(err).NotTo(HaveOccurred())
	want, _ := e.sim.Lookup(simulator.TypePrivate, "payments", "api", "1.0")
	g.Expect(stats).To(Equal(FileStats{Files: int64(want.FilesNum), Size: int64(want.FilesSize)}))
	g.Expect(stats.Files).To(BeNumerically(">", 0))
}

func TestFileStatisticsBeforeTheScanEndsIsAnInvalidRequest(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
	c := e.client(t)
	ctx := context.Background()
	g.Expect(c.BatchScan(ctx, BatchScanRequest{ImageType: simulator.TypePrivate,
		Images: []ImageRef{{Namespace: "payments", Name: "api", Tag: "1.0"}}})).To(Succeed())
	images, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(images[0].ScanStatus).To(Equal(StatusWaiting))

	_, err = c.FileStatistics(ctx, images[0])

	g.Expect(err).To(MatchError(ContainSubstring("file statistics of payments/api:1.0")))
	var he *Error
	g.Expect(errors.As(err, &he)).To(BeTrue())
	g.Expect(he.Class).To(Equal(ClassInvalid))
	g.Expect(he.Code).To(Equal("HSS.1005"))
}

func TestSynchronizeRevealsImagesHSSHadNotListedYet(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	hidden := func(img simulator.Image) simulator.Image { img.Unsynced = true; return img }
	shared := simulator.Image{Type: simulator.TypeShared, Namespace: "partner", Name: "sdk", Tag: "3", Size: 1, UpdatedAt: epoch, Unsynced: true}
	e.sim.AddImages(
		private("payments", "api", "1.0", 10, epoch),
		hidden(private("payments", "api", "1.1", 10, epoch)),
		shared,
	)
	c := e.client(t)
	ctx := context.Background()

	before, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(refsOf(before)).To(ConsistOf("payments/api:1.0"))

	g.Expect(c.Synchronize(ctx, simulator.TypePrivate)).To(Succeed())

	after, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(refsOf(after)).To(ConsistOf("payments/api:1.0", "payments/api:1.1"))
	otherType, err := c.ListImages(ctx, Filter{ImageType: simulator.TypeShared})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(otherType).To(BeEmpty(), "only the synchronised type is revealed")
	g.Expect(e.sim.Count(simulator.OpSynchronize, simulator.OutcomeOK)).To(Equal(1))
}

func ptr[T any](v T) *T { return &v }

func TestBatchScanStopsAtTheFirstFailedChunkAndNamesIt(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	var refs []ImageRef
	for i := range 250 {
		img := private("team", fmt.Sprintf("app-%03d", i), "1.0", 10, epoch)
		e.sim.AddImages(img)
		refs = append(refs, ImageRef{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag})
	}
	// The fake clock stands still, so the quota admits one request only.
	e.sim.SetFaults(simulator.Faults{QPS: 1, Burst: 1})

	err := e.client(t).BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, Images: refs})

	g.Expect(err).To(MatchError(HavePrefix("batch-scan chunk 2: ")))
	g.Expect(ClassOf(err)).To(Equal(ClassThrottled))
	g.Expect(e.sim.BatchScans()).To(HaveLen(1))
	g.Expect(e.sim.Counts()[simulator.OpBatchScan]).To(Equal(map[simulator.Outcome]int{
		simulator.OutcomeOK: 1, simulator.OutcomeThrottled: 1}), "chunk 3 is not sent")
}

func TestEveryCallCarriesTheEnterpriseProjectAndRegion(t *testing.T) {
	g := NewWithT(t)
	sim := simulator.New(simulator.Config{ProjectID: testProject, Credentials: map[string]simulator.Credential{testAK: {SK: testSK}}})
	sim.AddImages(private("payments", "api", "1.0", 10, epoch))
	type seen struct{ op, eps, region string }
	var mu sync.Mutex
	var requests []seen
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, seen{r.Method + " " + r.URL.Path, r.URL.Query().Get("enterprise_project_id"), r.Header.Get("region")})
		mu.Unlock()
		sim.ServeHTTP(w, r)
	})
	e := startEnv(t, sim, record, nil, Options{})
	tg := e.target()
	tg.EnterpriseProjectID = "eps-7"
	c := e.clientFor(t, tg)
	ctx := context.Background()

	g.Expect(c.Synchronize(ctx, simulator.TypePrivate)).To(Succeed())
	g.Expect(scanOne(ctx, c)).To(Succeed())
	images, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.FileStatistics(ctx, images[0])
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(requests).To(Equal([]seen{
		{"POST /v5/proj/image/synchronize", "eps-7", testRegion},
		{"POST /v5/proj/image/batch-scan", "eps-7", testRegion},
		{"GET /v5/proj/image/swr-repository", "eps-7", testRegion},
		{"GET /v5/proj/image/" + images[0].ImageID + "/files-statistics", "eps-7", testRegion},
	}))
}

// An answer larger than the cap fails its call as Undecodable, naming the
// call and the bound and quoting nothing of the body, whether or not the
// answer said its length up front.
func TestAnAnswerOverTheCapFailsItsCallWithoutReadingIt(t *testing.T) {
	for _, declared := range []bool{false, true} {
		t.Run(fmt.Sprintf("length declared=%v", declared), func(t *testing.T) {
			g := NewWithT(t)
			clk := clocktesting.NewFakeClock(epoch)
			sim := simulator.New(simulator.Config{ProjectID: testProject, Credentials: map[string]simulator.Credential{testAK: {SK: testSK}},
				QueueDelay: queueDelay, ScanDuration: scanTime, Clock: clk})
			var handler http.Handler = sim // streams its answers, without a length
			if declared {
				handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					rec := httptest.NewRecorder()
					sim.ServeHTTP(rec, r)
					maps.Copy(w.Header(), rec.Header())
					w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
					w.WriteHeader(rec.Code)
					_, _ = w.Write(rec.Body.Bytes())
				})
			}
			e := startEnv(t, sim, handler, clk, Options{MaxAnswerBytes: 64 << 10})
			big := private("payments", "api", "1.0", 300<<20, epoch)
			big.OversizedStats = 1 << 20
			img := scanned(t, e, big) // answers under the cap are read

			_, err := e.client(t).FileStatistics(context.Background(), img)

			var he *Error
			g.Expect(errors.As(err, &he)).To(BeTrue())
			g.Expect(he.Class).To(Equal(ClassUndecodable))
			g.Expect(err.Error()).To(ContainSubstring("hss file_statistics"))
			g.Expect(err.Error()).To(ContainSubstring("exceeded 65536 bytes"))
			g.Expect(err.Error()).NotTo(ContainSubstring("xxxx"))
		})
	}
}
