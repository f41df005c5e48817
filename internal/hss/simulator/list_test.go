package simulator

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func TestListPagesThroughALargeInventoryInStableOrder(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.AddImages(Generate(1500, 3)...)
	var private int
	for _, im := range e.sim.Images() {
		if im.Type == TypePrivate {
			private++
		}
	}
	g.Expect(private).To(BeNumerically(">", 1000))

	var ids []int64
	for offset := int32(0); ; offset += 200 {
		resp, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate, Offset: ptr(offset), Limit: ptr(int32(200))})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*resp.TotalNum).To(BeEquivalentTo(private))
		if len(*resp.DataList) == 0 {
			break
		}
		g.Expect(len(*resp.DataList)).To(BeNumerically("<=", 200))
		for _, info := range *resp.DataList {
			ids = append(ids, *info.Id)
		}
	}
	g.Expect(ids).To(HaveLen(private))
	for i := 1; i < len(ids); i++ {
		g.Expect(ids[i]).To(BeNumerically(">", ids[i-1]), "ids ascend without repeats")
	}
}

func TestListDefaultsToTenFromOffsetZero(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.AddImages(Generate(100, 3)...)
	resp, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*resp.DataList).To(HaveLen(10))
	g.Expect(*(*resp.DataList)[0].Id).To(BeEquivalentTo(1))
}

func TestListRejectsParametersOutOfRange(t *testing.T) {
	cases := []struct{ name, query string }{
		{"limit below 10", "image_type=private_image&limit=9"},
		{"limit above 200", "image_type=private_image&limit=201"},
		{"limit not a number", "image_type=private_image&limit=ten"},
		{"negative offset", "image_type=private_image&offset=-1"},
		{"offset above 2000000", "image_type=private_image&offset=2000001"},
		{"missing image type", "limit=10"},
		{"unknown image type", "image_type=cicd"},
		{"latest version not a bool", "image_type=private_image&latest_version=yes"},
		{"image size not a number", "image_type=private_image&image_size=big"},
		{"scan time not a number", "image_type=private_image&start_latest_scan_time=today"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, nil)
			resp, body := e.raw(t, http.MethodGet, path("swr-repository?"+tc.query), "", nil)
			g.Expect(resp.StatusCode).To(Equal(http.StatusBadRequest))
			g.Expect(body).To(ContainSubstring(`"error_code":"HSS.1001"`))
		})
	}
}

func TestListAcceptsTheLimitBounds(t *testing.T) {
	for _, limit := range []int32{10, 200} {
		g := NewWithT(t)
		e := newEnv(t, nil)
		e.sim.AddImages(Generate(400, 3)...)
		resp, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate, Limit: ptr(limit), Offset: ptr(int32(2000000))})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*resp.DataList).To(BeEmpty(), "an offset past the end is an empty page")
		g.Expect(*resp.TotalNum).To(BeNumerically(">", 0))
	}
}

func TestListShowsFindingsOnlyOnceAScanSucceeded(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	im := img("ml", "trainer", "1", 1<<30, epoch)
	im.Vulnerabilities, im.UnsafeSettings, im.MaliciousFiles = 184, 3, 1
	e.sim.AddImages(im)
	im, _ = e.sim.Lookup(TypePrivate, "ml", "trainer", "1")
	findings := func() []int32 {
		resp, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
		g.Expect(err).NotTo(HaveOccurred())
		got := (*resp.DataList)[0]
		return []int32{*got.VulNum, *got.UnsafeSettingNum, *got.MaliciousFileNum}
	}

	g.Expect(findings()).To(Equal([]int32{0, 0, 0}), "never scanned")
	g.Expect(e.scanNamed(t, im.ref())).To(Succeed())
	e.clk.Step(queueDelay)
	g.Expect(findings()).To(Equal([]int32{0, 0, 0}), "scanning")
	e.clk.Step(scanTime)
	g.Expect(findings()).To(Equal([]int32{184, 3, 1}))
}
