package simulator

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func TestBatchScanByListRecordsWhatItNamed(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	a := img("payments", "api", "1.0", 100, epoch)
	b := img("payments", "api", "1.1", 100, epoch)
	e.sim.AddImages(a, b)
	missing := ImageRef{Namespace: "payments", Name: "api", Tag: "0.0"}

	g.Expect(e.scanNamed(t, a.ref(), missing, a.ref())).To(Succeed())

	recs := e.sim.BatchScans()
	g.Expect(recs).To(HaveLen(1))
	g.Expect(recs[0].At).To(Equal(epoch))
	g.Expect(recs[0].Request.ImageType).To(Equal(TypePrivate))
	g.Expect(*recs[0].Request.ImageInfoList).To(HaveLen(3))
	g.Expect(recs[0].Matched).To(Equal([]ImageRef{a.ref()}))
	g.Expect(recs[0].Started).To(Equal([]ImageRef{a.ref()}))
	g.Expect(recs[0].Ignored).To(Equal(1))
	got, _ := e.sim.Lookup(TypePrivate, "payments", "api", "1.1")
	g.Expect(got.Scan.Status).To(Equal(StatusUnscan))
}

func TestBatchScanOfInstanceImagesMatchesTheInstance(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.AddImages(Image{Type: TypeInstance, Namespace: "ns", Name: "app", Tag: "1", InstanceID: "inst-1", UpdatedAt: epoch})
	list := []model.BatchScanSwrImageInfo{
		{Namespace: ptr("ns"), ImageName: ptr("app"), ImageVersion: ptr("1"), InstanceId: ptr("inst-2")},
		{Namespace: ptr("ns"), ImageName: ptr("app"), ImageVersion: ptr("1"), InstanceId: ptr("inst-1")},
	}
	g.Expect(e.scan(t, model.BatchScanPrivateImageRequestInfo{ImageType: TypeInstance, ImageInfoList: &list})).To(Succeed())
	rec := e.sim.BatchScans()[0]
	g.Expect(rec.Ignored).To(Equal(1))
	g.Expect(rec.Started).To(HaveLen(1))
}

func TestBatchScanRejectsBadBodies(t *testing.T) {
	cases := []struct{ name, body string }{
		{"neither list nor operate_all", `{"image_type":"private_image"}`},
		{"empty list and operate_all false", `{"image_type":"private_image","image_info_list":[],"operate_all":false}`},
		{"missing image type", `{"operate_all":true}`},
		{"unknown image type", `{"image_type":"cicd","operate_all":true}`},
		{"not json", `image_type=private_image`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, nil)
			resp, body := e.raw(t, http.MethodPost, path("batch-scan"), tc.body, nil)
			g.Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			g.Expect(body).To(ContainSubstring("HSS.1001"))
			g.Expect(e.sim.BatchScans()).To(BeEmpty())
		})
	}
}

func TestBatchScanAnswersAnEmptyBody(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	resp, body := e.raw(t, http.MethodPost, path("batch-scan"), `{"image_type":"private_image","operate_all":true}`, nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(body).To(BeEmpty())
}
