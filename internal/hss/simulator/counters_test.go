package simulator

import (
	"net/http"
	"sync"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func TestCountsByOperationAndOutcome(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.AddImages(img("payments", "api", "1.0", 100, epoch))
	im, _ := e.sim.Lookup(TypePrivate, "payments", "api", "1.0")

	e.raw(t, http.MethodGet, listPath, "", nil)
	e.raw(t, http.MethodGet, listPath, "", map[string]string{"X-Auth-Token": "bad"})
	e.raw(t, http.MethodGet, path("swr-repository"), "", nil)
	e.raw(t, http.MethodPost, path("batch-scan"), `{"image_type":"private_image","operate_all":true}`, nil)
	e.raw(t, http.MethodPost, path("synchronize"), `{"image_type":"private_image"}`, nil)
	e.raw(t, http.MethodGet, path(im.ImageID+"/files-statistics?image_type=private_image"), "", nil)
	e.raw(t, http.MethodGet, path("sha256:00/files-statistics?image_type=private_image"), "", nil)
	e.raw(t, http.MethodGet, "/v3/projects", "", nil)

	g.Expect(e.sim.Counts()).To(Equal(map[Op]map[Outcome]int{
		OpListImages:  {OutcomeOK: 1, OutcomeUnauthorized: 1, OutcomeBadRequest: 1},
		OpBatchScan:   {OutcomeOK: 1},
		OpSynchronize: {OutcomeOK: 1},
		OpFileStats:   {OutcomeBadRequest: 1, OutcomeNotFound: 1},
		OpUnknown:     {OutcomeNotFound: 1},
	}))
	g.Expect(e.sim.BatchScans()).To(HaveLen(1))

	e.sim.ResetCounts()
	g.Expect(e.sim.Counts()).To(BeEmpty())
	g.Expect(e.sim.BatchScans()).To(BeEmpty())
	g.Expect(e.sim.Count(OpListImages, OutcomeOK)).To(Equal(0))
}

func TestConcurrentClientsAreAllCounted(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	imgs := Generate(50, 9)
	e.sim.AddImages(imgs...)
	client := e.sdk(t)
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			im := imgs[w]
			list := []model.BatchScanSwrImageInfo{{Namespace: &im.Namespace, ImageName: &im.Name, ImageVersion: &im.Tag}}
			_, _ = client.BatchScanSwrImage(&model.BatchScanSwrImageRequest{Region: ptr(testRegion),
				Body: &model.BatchScanPrivateImageRequestInfo{ImageType: im.Type, ImageInfoList: &list}})
			_, _ = client.ListSwrImageRepository(&model.ListSwrImageRepositoryRequest{Region: ptr(testRegion), ImageType: TypePrivate})
			e.sim.Images()
		})
	}
	wg.Wait()
	g.Expect(e.sim.Count(OpBatchScan, OutcomeOK)).To(Equal(workers))
	g.Expect(e.sim.Count(OpListImages, OutcomeOK)).To(Equal(workers))
	g.Expect(e.sim.BatchScans()).To(HaveLen(workers))
}
