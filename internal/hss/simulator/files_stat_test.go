package simulator

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func TestFileStatisticsExistOnlyAfterASuccessfulScan(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	ok := img("payments", "api", "1.0", 5000, epoch)
	ok.FilesNum, ok.FilesSize = 321, 4567
	bad := img("payments", "api", "0.9", 5000, epoch)
	bad.ForcedOutcome = StatusDownloadFailed
	e.sim.AddImages(ok, bad)
	ok, _ = e.sim.Lookup(TypePrivate, "payments", "api", "1.0")
	bad, _ = e.sim.Lookup(TypePrivate, "payments", "api", "0.9")

	_, err := e.fileStats(t, ok)
	expectAPIError(g, err, http.StatusBadRequest, "HSS.1005")

	g.Expect(e.scanNamed(t, ok.ref(), bad.ref())).To(Succeed())
	e.clk.Step(queueDelay)
	_, err = e.fileStats(t, ok)
	expectAPIError(g, err, http.StatusBadRequest, "HSS.1005")

	e.clk.Step(scanTime)
	stats, err := e.fileStats(t, ok)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*stats.TotalFilesNum).To(BeEquivalentTo(321))
	g.Expect(*stats.TotalFilesSize).To(BeEquivalentTo(4567))

	_, err = e.fileStats(t, bad)
	expectAPIError(g, err, http.StatusBadRequest, "HSS.1005")
}

func TestFileStatisticsOfAnUnknownImageIsNotFound(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Image)
	}{
		{"unknown digest", func(im *Image) { im.ImageID = "sha256:00" }},
		{"other tag", func(im *Image) { im.Tag = "9.9" }},
		{"other type", func(im *Image) { im.Type = TypeShared }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, nil)
			e.sim.AddImages(img("payments", "api", "1.0", 5000, epoch))
			im, _ := e.sim.Lookup(TypePrivate, "payments", "api", "1.0")
			tc.mutate(&im)
			_, err := e.fileStats(t, im)
			expectAPIError(g, err, http.StatusNotFound, "HSS.1004")
		})
	}
}

func TestFileStatisticsNeedsAnImageType(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	_, err := e.sdk(t).ShowImageFilesStat(&model.ShowImageFilesStatRequest{Region: testRegion, ImageId: "sha256:00"})
	expectAPIError(g, err, http.StatusBadRequest, "HSS.1001")
}
