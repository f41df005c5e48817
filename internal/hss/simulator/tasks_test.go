package simulator

import (
	"net/http"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func (e *env) scanTask(t *testing.T, body model.CreateManualImageScanTaskReqInfo) error {
	global := "registry"
	_, err := e.sdk(t).CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{Region: ptr(testRegion), GlobalImageType: &global, Body: &body})
	return err
}

func (e *env) tasks(t *testing.T) []model.ImageScanTaskInfo {
	t.Helper()
	limit := int32(200)
	resp, err := e.sdk(t).ListImageScanTask(&model.ListImageScanTaskRequest{Type: "image_scan", Limit: &limit})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return *resp.DataList
}

func infoOf(ns, name, tag string) model.CreateManualImageScanTaskReqInfoImageInfo {
	return model.CreateManualImageScanTaskReqInfoImageInfo{Namespace: ptr(ns), ImageName: ptr(name), ImageVersion: ptr(tag), RegistryType: ptr("SwrPrivate")}
}

// A task's progress follows its images' scans: the share ended, then 100
// with the failures listed and their codes.
func TestATaskShowsItsImagesProgressAndFailures(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	bad := img("team", "app", "2", 1<<20, epoch)
	bad.ForcedOutcome = StatusDownloadFailed
	slow := img("team", "app", "3", 1<<20, epoch)
	slow.ScanDuration = time.Hour
	e.sim.AddImages(img("team", "app", "1", 1<<20, epoch), bad, slow)
	g.Expect(e.scanTask(t, model.CreateManualImageScanTaskReqInfo{ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{
		infoOf("team", "app", "1"), infoOf("team", "app", "2"), infoOf("team", "app", "3"), infoOf("team", "app", "missing"),
	}})).To(Succeed())
	g.Expect(e.sim.ScanTasks()[0].Ignored).To(Equal(1), "an image HSS does not know")

	task := e.tasks(t)[0]
	g.Expect(*task.TotalNum).To(Equal(int32(3)))
	g.Expect(*task.TaskStatus).To(BeZero())
	e.clk.Step(queueDelay + scanTime)
	task = e.tasks(t)[0]
	g.Expect(*task.TaskStatus).To(Equal(int32(66)), "two of three ended")
	g.Expect(*task.SuccessNum).To(Equal(int32(1)))
	g.Expect(*task.FailedImages).To(ConsistOf(HaveField("FailedReason", HaveValue(Equal("download_failed")))))
	e.clk.Step(time.Hour)
	task = e.tasks(t)[0]
	g.Expect(*task.TaskStatus).To(Equal(int32(100)))
	g.Expect(task.EndTime).NotTo(BeNil())
}

// rate_limit spaces a task's scans: at 2 an hour, the second image is
// queued half an hour after the first, and shows its old state until then.
func TestARateLimitedTaskQueuesItsImagesOneAfterAnother(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.AddImages(img("team", "app", "1", 1<<20, epoch), img("team", "app", "2", 1<<20, epoch))
	g.Expect(e.scanTask(t, model.CreateManualImageScanTaskReqInfo{RateLimit: ptr(int32(2)),
		ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{infoOf("team", "app", "1"), infoOf("team", "app", "2")}})).To(Succeed())
	first, _ := e.sim.Lookup(TypePrivate, "team", "app", "1")
	second, _ := e.sim.Lookup(TypePrivate, "team", "app", "2")
	g.Expect(first.Scan.Status).To(Equal(StatusWaiting))
	g.Expect(second.Scan.Status).To(Equal(StatusUnscan))
	e.clk.Step(31 * time.Minute)
	second, _ = e.sim.Lookup(TypePrivate, "team", "app", "2")
	g.Expect(second.Scan.Status).To(Equal(StatusScanning))
}

func TestTheTaskCallsCheckTheirParameters(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.AddImages(img("team", "app", "1", 1<<20, epoch))
	for _, tc := range []struct {
		name, method, path, body string
		headers                  map[string]string
		code                     int
	}{
		{"a scan task naming nothing", http.MethodPost, "image-scan/tasks", `{"is_all":false}`, nil, http.StatusBadRequest},
		{"is_all without an image type", http.MethodPost, "image-scan/tasks", `{"is_all":true,"query_info":{}}`, nil, http.StatusBadRequest},
		{"a rate limit above 1000", http.MethodPost, "image-scan/tasks", `{"is_all":true,"rate_limit":5000,"query_info":{"image_type":"private_image"}}`, nil, http.StatusBadRequest},
		{"a scan task without a region header", http.MethodPost, "image-scan/tasks", `{"is_all":true,"query_info":{"image_type":"private_image"}}`, map[string]string{"region": ""}, http.StatusBadRequest},
		{"tasks of no type", http.MethodGet, "tasks?limit=10", "", nil, http.StatusBadRequest},
		{"tasks of an unknown status", http.MethodGet, "tasks?type=image_scan&task_status=done", "", nil, http.StatusBadRequest},
		{"tasks, without a region header", http.MethodGet, "tasks?type=image_scan", "", map[string]string{"region": ""}, http.StatusOK},
		{"registry images with a limit of 1", http.MethodGet, "registries/images?limit=1", "", map[string]string{"region": ""}, http.StatusOK},
		{"registry images with a limit of 0", http.MethodGet, "registries/images?limit=0", "", nil, http.StatusBadRequest},
		{"a sync task naming no registry", http.MethodPost, "image-sync/tasks", `{"sync_all_registries":false}`, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.raw(t, tc.method, path(tc.path), tc.body, tc.headers)
			NewWithT(t).Expect(resp.StatusCode).To(Equal(tc.code), body)
		})
	}
}

// Retired, the deprecated calls answer as HSS's gateway does for an API it
// no longer publishes; their successors go on.
func TestRetiredDeprecatedCallsAnswerThatTheAPIDoesNotExist(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.RetireDeprecated = true })
	e.sim.AddImages(img("team", "app", "1", 1<<20, epoch))
	_, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
	expectAPIError(g, err, http.StatusNotFound, "APIGW.0101")
	expectAPIError(g, e.scanNamed(t, ImageRef{Namespace: "team", Name: "app", Tag: "1"}), http.StatusNotFound, "APIGW.0101")
	g.Expect(e.scanTask(t, model.CreateManualImageScanTaskReqInfo{ImageInfo: &[]model.CreateManualImageScanTaskReqInfoImageInfo{infoOf("team", "app", "1")}})).To(Succeed())
	limit := int32(10)
	resp, err := e.sdk(t).ListRegistryImages(&model.ListRegistryImagesRequest{Limit: &limit})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*resp.DataList).To(HaveLen(1))
	g.Expect(*(*resp.DataList)[0].ScanStatus).To(Equal("waiting_for_scan"))
}
