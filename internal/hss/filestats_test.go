package hss

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// scannedImage adds img to the simulator, scans it to success through the
// client and returns it as the list reports it.
func scannedImage(t *testing.T, e *env, c Client, img simulator.Image) Image {
	t.Helper()
	g := NewWithT(t)
	e.sim.AddImages(img)
	ctx := context.Background()
	g.Expect(c.BatchScan(ctx, BatchScanRequest{ImageType: img.Type,
		Images: []ImageRef{{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag}}})).To(Succeed())
	e.clk.Step(queueDelay + scanTime)
	images, err := c.ListImages(ctx, Filter{ImageType: img.Type, Namespace: img.Namespace, ImageName: img.Name, Tag: img.Tag})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(images).To(HaveLen(1))
	g.Expect(images[0].ScanStatus).To(Equal(StatusSuccess))
	return images[0]
}

func TestFileStatisticsAreExactAtEverySize(t *testing.T) {
	cases := []struct {
		name         string
		files, bytes int64
	}{
		{"1 KiB", 3, 1 << 10},
		{"just under 2 GiB", 40_000, 1<<31 - 1},
		{"3 GiB, above int32", 120_000, 3 << 30},
		{"6 GiB, above uint32", 250_000, 6<<30 + 12345},
		{"15 GiB", 1_100_000, 15 << 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			c := e.client(t)
			img := private("ml", "trainer", "1.0", tc.bytes/2, epoch)
			img.FilesNum, img.FilesSize = tc.files, tc.bytes

			stats, err := c.FileStatistics(context.Background(), scannedImage(t, e, c, img))

			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(stats).To(Equal(FileStats{Files: tc.files, Size: tc.bytes}))
		})
	}
}

func TestAnUndecodableStatisticsAnswerIsItsOwnClassAndQuotesNothing(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	c := e.client(t)
	img := private("ml", "trainer", "bad", 1<<30, epoch)
	img.FilesNum, img.FilesSize, img.MalformedStats = 99, 3_600_000_000, true

	_, err := c.FileStatistics(context.Background(), scannedImage(t, e, c, img))

	g.Expect(ClassOf(err)).To(Equal(ClassUndecodable))
	var he *Error
	g.Expect(errors.As(err, &he)).To(BeTrue())
	g.Expect(he.StatusCode).To(Equal(http.StatusOK))
	g.Expect(he.RequestID).To(MatchRegexp("^[0-9a-f]{32}$"))
	g.Expect(err.Error()).To(Equal(fmt.Sprintf("file statistics of ml/trainer:bad: hss file_statistics: Undecodable (HTTP 200): "+
		"the answer could not be decoded [request %s]", he.RequestID)))
}

func TestListImagesCarriesEachImagesFindings(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	c := e.client(t)
	img := private("ml", "trainer", "1.0", 1<<30, epoch)
	img.Vulnerabilities, img.UnsafeSettings, img.MaliciousFiles = 184, 3, 2

	listed := scannedImage(t, e, c, img)

	g.Expect(listed.Findings).To(Equal(Findings{Vulnerabilities: 184, MaliciousFiles: 2, UnsafeSettings: 3}))
}
