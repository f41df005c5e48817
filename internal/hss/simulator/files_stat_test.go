package simulator

import (
	"encoding/json"
	"net/http"
	"net/url"
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

// scannedStats adds img, scans it to success and answers its statistics
// as plain HTTP, with img as the simulator holds it.
func scannedStats(t *testing.T, e *env, im Image) (Image, *http.Response, string) {
	t.Helper()
	e.sim.AddImages(im)
	im, _ = e.sim.Lookup(im.Type, im.Namespace, im.Name, im.Tag)
	if err := e.scanNamed(t, im.ref()); err != nil {
		t.Fatal(err)
	}
	e.clk.Step(queueDelay + scanTime)
	q := url.Values{"image_type": {im.Type}, "namespace": {im.Namespace}, "image_name": {im.Name}, "tag_name": {im.Tag}}
	resp, body := e.raw(t, http.MethodGet, path(im.ImageID+"/files-statistics?"+q.Encode()), "", nil)
	return im, resp, body
}

func TestFileStatisticsAnswerSixtyFourBitCounts(t *testing.T) {
	g := NewWithT(t)
	big := img("ml", "trainer", "cuda", 3<<30, epoch)
	big.FilesNum, big.FilesSize = 250_000, 6<<30+12345
	e := newEnv(t, nil)

	big, resp, body := scannedStats(t, e, big)

	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	var answer struct {
		Files int64 `json:"total_files_num"`
		Size  int64 `json:"total_files_size"`
	}
	g.Expect(json.Unmarshal([]byte(body), &answer)).To(Succeed())
	g.Expect(answer.Files).To(Equal(int64(250_000)))
	g.Expect(answer.Size).To(Equal(int64(6<<30 + 12345)))
	// The SDK's generated model cannot hold it: the limit the client works around.
	_, err := e.fileStats(t, big)
	g.Expect(err).To(MatchError(ContainSubstring("ReadInt32")))
}

func TestMalformedStatisticsAnswerTheSizeAsAString(t *testing.T) {
	g := NewWithT(t)
	odd := img("ml", "trainer", "odd", 1<<30, epoch)
	odd.FilesNum, odd.FilesSize, odd.MalformedStats = 10, 3_600_000_000, true

	_, resp, body := scannedStats(t, newEnv(t, nil), odd)

	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(body).To(MatchJSON(`{"total_files_num": 10, "total_files_size": "3.6 GB"}`))
}
