package simulator

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func TestSynchronizeRevealsUnsyncedImagesOfItsType(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	hidden := img("payments", "api", "2.0", 100, epoch)
	hidden.Unsynced = true
	e.sim.AddImages(img("payments", "api", "1.0", 100, epoch), hidden)
	hidden, _ = e.sim.Lookup(TypePrivate, "payments", "api", "2.0")

	listed := func() int32 {
		resp, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
		g.Expect(err).NotTo(HaveOccurred())
		return *resp.TotalNum
	}
	sync := func(typ string) {
		_, err := e.sdk(t).RunImageSynchronize(&model.RunImageSynchronizeRequest{
			Region: ptr(testRegion), Body: &model.RunImageSynchronizeRequestInfo{ImageType: typ}})
		g.Expect(err).NotTo(HaveOccurred())
	}

	g.Expect(listed()).To(BeEquivalentTo(1))
	g.Expect(e.scanNamed(t, hidden.ref())).To(Succeed())
	g.Expect(e.sim.BatchScans()[0].Ignored).To(Equal(1))
	_, err := e.fileStats(t, hidden)
	expectAPIError(g, err, http.StatusNotFound, "HSS.1004")

	sync(TypeShared)
	g.Expect(listed()).To(BeEquivalentTo(1))
	sync(TypePrivate)
	g.Expect(listed()).To(BeEquivalentTo(2))
	g.Expect(e.scanNamed(t, hidden.ref())).To(Succeed())
	g.Expect(e.sim.BatchScans()[1].Started).To(ConsistOf(hidden.ref()))
	g.Expect(e.sim.Count(OpSynchronize, OutcomeOK)).To(Equal(2))
}

func TestSynchronizeNeedsAnImageType(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	resp, body := e.raw(t, http.MethodPost, path("synchronize"), `{}`, nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
	g.Expect(body).To(ContainSubstring("HSS.1001"))
}
