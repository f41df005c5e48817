package controller_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// Past the status bound a selector's round learns its other members from
// the scans that end, so it must wait until as many have ended as it
// matched: here the three members status does not list scan for longer.
func TestSelectorPastTheStatusBoundWaitsForEveryMember(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	n := scanv1.MaxReportedImages + 3
	slow := map[string]bool{"v997": true, "v998": true, "v999": true} // last in key order
	h.images("team", "app", n, func(_ int, img *simulator.Image) {
		if slow[img.Tag] {
			img.ScanDuration = 10 * time.Minute
		}
	})
	h.scan("wide", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("wide", 1)
	h.finishScans()
	h.eventually("wide", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.ImagesOmitted).To(Equal(int32(3)))
		for _, e := range obj.Status.Images {
			g.Expect(slow[e.Tag]).To(BeFalse())
			g.Expect(e.FilesCount).NotTo(BeNil(), e.Tag)
		}
	})
	h.g.Consistently(func(g Gomega) {
		obj := h.get("wide")
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonScanning)
		g.Expect(obj.Status.Summary.Pending).To(Equal(int32(3)))
	}, 500*time.Millisecond, 50*time.Millisecond).Should(Succeed())

	h.simClock.Step(10 * time.Minute)
	obj := h.eventually("wide", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(n)))
	h.g.Expect(h.fileStats()).To(Equal(n), "one statistics call per member")
	h.g.Expect(h.batchScans()).To(Equal(1))
}
