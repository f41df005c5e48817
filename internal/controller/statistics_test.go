package controller_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// realSizes gives the images of a repository 1 KiB, 3 GiB and 6 GiB of files:
// below, above int32 and above uint32.
var realSizes = []int64{1 << 10, 3 << 30, 6<<30 + 7}

func withRealSizes(i int, img *simulator.Image) {
	img.FilesSize, img.FilesNum = realSizes[i], 10+int64(i)*100_000
}

func TestStatisticsAreExactAboveFourGiB(t *testing.T) {
	cases := []struct {
		name string
		spec func(refs []scanv1.ImageReference) scanv1.ImageScanSpec
	}{
		{"explicit list", func(refs []scanv1.ImageReference) scanv1.ImageScanSpec { return scanv1.ImageScanSpec{Images: refs} }},
		{"selector", func([]scanv1.ImageReference) scanv1.ImageScanSpec {
			return scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "ml"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, simulator.Config{})
			h.createSecret(validSecret())
			refs := h.images("ml", "trainer", 3, withRealSizes)
			h.scan("big", tc.spec(refs))

			obj := h.readyInRound("big", 1)

			sizes := map[string]int64{}
			for _, e := range obj.Status.Images {
				h.g.Expect(e.FilesSize).NotTo(BeNil(), e.Tag)
				sizes[e.Tag] = *e.FilesSize
			}
			for _, rep := range h.reports(h.g, "big") {
				h.g.Expect(rep.Status.FilesSize).To(HaveValue(Equal(sizes[rep.Spec.Image.Tag])))
			}
			h.g.Expect(sizes).To(Equal(map[string]int64{"v0": 1 << 10, "v1": 3 << 30, "v2": 6<<30 + 7}))
			h.g.Expect(obj.Status.Summary.TotalFileSize).To(Equal(int64(1<<10 + 3<<30 + 6<<30 + 7)))
			h.g.Expect(obj.Status.Summary.TotalFiles).To(Equal(int64(10 + 100_010 + 200_010)))
			h.g.Expect(obj.Status.Summary.TotalSize).To(Equal("9.0GiB"))
			h.g.Expect(h.fileStats()).To(Equal(3))
		})
	}
}

func TestUndecodableStatisticsCompleteTheRoundAndNameTheImage(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("ml", "trainer", 3, func(i int, img *simulator.Image) {
		withRealSizes(i, img)
		img.MalformedStats = i == 1
	})
	h.scan("odd", scanv1.ImageScanSpec{Images: refs})
	h.accepted("odd", 1)
	h.finishScans()

	obj := h.eventually("odd", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonStatsUnavailable)
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonStatsUnavailable)
	})

	h.g.Expect(obj.Status.LastScanRequest.CompletedAt).NotTo(BeNil(), "the round completed")
	ready := condition(obj, scanv1.ConditionReady).Message
	h.g.Expect(ready).To(ContainSubstring("ml/trainer:v1"))
	h.g.Expect(ready).To(ContainSubstring("Undecodable (HTTP 200)"))
	h.g.Expect(ready).NotTo(ContainSubstring("GB"), "the answer's body is not quoted")
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	h.g.Expect(obj.Status.Summary.StatisticsUnavailable).To(Equal(int32(1)))
	h.g.Expect(obj.Status.Summary.Pending).To(BeZero())
	reports := h.reports(h.g, "odd")
	bad := reports["ml/trainer:v1"]
	h.g.Expect(bad.Status.StatisticsAttempts).To(Equal(int32(scanv1.MaxReadAttempts)))
	h.g.Expect(bad.Status.FilesSize).To(BeNil())
	h.g.Expect(obj.Status.Images[0].Result).To(Equal(scanv1.ResultStatisticsUnavailable), "the image that needs attention comes first")
	h.g.Expect(*reports["ml/trainer:v0"].Status.FilesSize).To(Equal(realSizes[0]), "the other images' results stand")
	h.g.Expect(*reports["ml/trainer:v2"].Status.FilesSize).To(Equal(realSizes[2]))

	// Two good answers and three tries of the bad one, then nothing more.
	want := 2 + scanv1.MaxReadAttempts
	h.g.Expect(h.fileStats()).To(Equal(want))
	h.g.Consistently(h.fileStats, time.Second, 50*time.Millisecond).Should(Equal(want))
}

// With spec.vulnerabilities None, the findings are the list's counts and
// cost no call of their own.
func TestFindingsAreRecordedPerImageAndSummedWithNoExtraCalls(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	findings := []scanv1.Findings{
		{Vulnerabilities: 0, UnsafeSettings: 1},
		{Vulnerabilities: 184, UnsafeSettings: 3, MaliciousFiles: 2},
		{Vulnerabilities: 7},
	}
	refs := h.images("ml", "trainer", 3, func(i int, img *simulator.Image) {
		f := findings[i]
		img.Vulnerabilities, img.UnsafeSettings, img.MaliciousFiles = int32(f.Vulnerabilities), int32(f.UnsafeSettings), int32(f.MaliciousFiles)
	})
	h.scan("sec", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesNone})

	obj := h.readyInRound("sec", 1)

	for ref, rep := range h.reports(h.g, "sec") {
		h.g.Expect(rep.Status.Findings).To(HaveValue(Equal(findings[rep.Spec.Image.Tag[1]-'0'])), ref)
	}
	h.g.Expect(obj.Status.Summary.Findings).To(Equal(scanv1.Findings{Vulnerabilities: 191, UnsafeSettings: 4, MaliciousFiles: 2}))
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("found 191 vulnerabilities, 2 malicious files, 4 unsafe settings"))
	// The same calls as a scan without findings: one batch-scan, one
	// statistics call per image, and no operation besides the list.
	h.g.Expect(h.batchScans()).To(Equal(1))
	h.g.Expect(h.fileStats()).To(Equal(3))
	h.g.Expect(h.sim.Counts()).To(HaveLen(3), "batch-scan, list and file statistics only: %v", h.sim.Counts())

	h.g.Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(h.ns))).To(Succeed())
		var warning *eventsv1.Event
		for i, e := range events.Items {
			if e.Reason == scanv1.EventMaliciousFilesFound {
				warning = &events.Items[i]
			}
		}
		g.Expect(warning).NotTo(BeNil())
		g.Expect(warning.Type).To(Equal("Warning"))
		g.Expect(warning.Note).To(ContainSubstring("ml/trainer:v1 (2 malicious files)"))
		g.Expect(warning.Note).NotTo(ContainSubstring("ml/trainer:v0"))
	}, 10*time.Second).Should(Succeed())
}
