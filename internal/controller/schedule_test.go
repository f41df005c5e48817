package controller_test

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// accepted waits until HSS accepted the given round.
func (h *harness) accepted(name string, n int64) *scanv1.ImageScan {
	h.t.Helper()
	return h.eventually(name, func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(round(obj)).To(Equal(n))
		g.Expect(obj.Status.LastScanRequest.AcceptedAt).NotTo(BeNil())
	})
}

// readyInRound finishes the given round's scans and waits for Ready=True.
func (h *harness) readyInRound(name string, n int64) *scanv1.ImageScan {
	h.t.Helper()
	h.accepted(name, n)
	h.finishScans()
	return h.eventually(name, func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(round(obj)).To(Equal(n))
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
}

func TestNewRoundOnSpecChangeRescanAnnotationAndInterval(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs[:2]})
	h.readyInRound("app", 1)
	h.g.Expect(h.batchScans()).To(Equal(1))

	// A spec change starts round 2 over the new list.
	h.update("app", func(o *scanv1.ImageScan) { o.Spec.Images = refs })
	obj := h.readyInRound("app", 2)
	h.g.Expect(obj.Status.LastScanRequest.Trigger).To(Equal(scanv1.TriggerSpecChanged))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(3)))
	h.g.Expect(h.batchScans()).To(Equal(2))

	// The rescan annotation starts round 3 and is recorded as handled, once
	// the last round is MinRescanInterval old.
	h.clock.Step(scanv1.MinRescanInterval)
	h.update("app", func(o *scanv1.ImageScan) {
		o.Annotations = map[string]string{scanv1.RescanAnnotation: "1700000000"}
	})
	obj = h.readyInRound("app", 3)
	h.g.Expect(obj.Status.LastScanRequest.Trigger).To(Equal(scanv1.TriggerRequested))
	h.g.Expect(obj.Status.LastHandledRescanAt).To(Equal("1700000000"))
	h.g.Expect(h.batchScans()).To(Equal(3))
	h.g.Expect(h.fileStats()).To(Equal(2+1), "statistics only for images new to the ImageScan: the others' image IDs did not change")

	// With an interval, the controller's clock passing it starts round 4.
	h.update("app", func(o *scanv1.ImageScan) { o.Spec.Interval = &metav1.Duration{Duration: time.Hour} })
	h.readyInRound("app", 4) // the spec change itself
	h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.NextScanTime).NotTo(BeNil())
	})
	h.clock.Step(time.Hour)
	obj = h.readyInRound("app", 5)
	h.g.Expect(obj.Status.LastScanRequest.Trigger).To(Equal(scanv1.TriggerInterval))
	h.g.Expect(h.batchScans()).To(Equal(5))
}

// Annotating in a loop spends no more of HSS's quota than an interval of
// MinRescanInterval would: the requests made meanwhile wait, status says
// until when, and one round answers the last of them.
func TestRescanRequestsWaitForTheIntervalFloor(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	first := h.readyInRound("app", 1)
	for i := range 11 {
		h.update("app", func(o *scanv1.ImageScan) {
			o.Annotations = map[string]string{scanv1.RescanAnnotation: fmt.Sprint(i)}
		})
	}
	waiting := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.NextScanTime).NotTo(BeNil())
	})
	h.g.Expect(waiting.Status.NextScanTime.Time).To(BeTemporally("==", first.Status.LastScanRequest.RequestedAt.Add(scanv1.MinRescanInterval)))
	h.g.Expect(round(waiting)).To(Equal(int64(1)))
	h.g.Expect(waiting.Status.LastHandledRescanAt).To(BeEmpty())
	h.g.Expect(h.batchScans()).To(Equal(1))

	h.clock.Step(scanv1.MinRescanInterval)
	obj := h.readyInRound("app", 2)
	h.g.Expect(obj.Status.LastScanRequest.Trigger).To(Equal(scanv1.TriggerRequested))
	h.g.Expect(obj.Status.LastHandledRescanAt).To(Equal("10"))
	h.g.Expect(obj.Status.NextScanTime).To(BeNil(), "no interval and no request left")
	h.g.Expect(h.batchScans()).To(Equal(2))
}

func TestSuspendStopsNewRounds(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("app", 1)

	h.update("app", func(o *scanv1.ImageScan) {
		o.Spec.Suspend = true
		o.Annotations = map[string]string{scanv1.RescanAnnotation: "now"}
	})
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.ObservedGeneration).To(Equal(obj.Generation))
	})
	h.g.Expect(round(obj)).To(Equal(int64(1)))
	h.g.Expect(obj.Status.LastHandledRescanAt).To(BeEmpty())
	h.g.Expect(h.batchScans()).To(Equal(1))

	// Resuming answers the pending change and request with one round.
	h.update("app", func(o *scanv1.ImageScan) { o.Spec.Suspend = false })
	obj = h.readyInRound("app", 2)
	h.g.Expect(obj.Status.LastHandledRescanAt).To(Equal("now"))
	h.g.Expect(h.batchScans()).To(Equal(2))
}

// A round costs three status writes: the intent before batch-scan, the
// outcome with the first report, and the completion. Polls that see
// nothing new write nothing.
func TestARoundWritesStatusThreeTimes(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	writes := h.recordWrites()
	h.images("team", "app", 20, nil)
	h.scan("s", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("s", 1)
	// Let it poll while HSS scans.
	polls := h.sim.Count(h.listOp(), simulator.OutcomeOK)
	h.g.Eventually(func() int { return h.sim.Count(h.listOp(), simulator.OutcomeOK) }, 10*time.Second).
		Should(BeNumerically(">=", polls+3))
	h.readyInRound("s", 1)

	var seen []*scanv1.ImageScan
	h.g.Eventually(func(g Gomega) {
		seen = writes()
		g.Expect(seen).NotTo(BeEmpty())
		g.Expect(seen[len(seen)-1].Status.LastCompletionTime).NotTo(BeNil())
	}, 10*time.Second).Should(Succeed())
	h.g.Expect(seen).To(HaveLen(3))
	h.g.Expect(seen[0].Status.LastScanRequest.AcceptedAt).To(BeNil(), "the intent")
	h.g.Expect(seen[1].Status.LastScanRequest.AcceptedAt).NotTo(BeNil(), "the outcome")
	h.g.Expect(seen[1].Status.LastScanRequest.CompletedAt).To(BeNil())
}

// A scan HSS never ends does not hold the ImageScan: at spec.timeout the
// round ends with that image failed, saying so, and the schedule goes on.
func TestARoundEndsAtItsDeadlineAndTheScheduleGoesOn(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, func(i int, img *simulator.Image) {
		if i == 1 {
			img.ScanDuration = 10000 * time.Hour
		}
	})
	h.scan("app", scanv1.ImageScanSpec{Images: refs,
		Interval: &metav1.Duration{Duration: 2 * time.Hour}, Timeout: &metav1.Duration{Duration: time.Hour}})
	h.accepted("app", 1)
	h.finishScans()
	h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(1)))
	})

	h.clock.Step(61 * time.Minute)
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(round(obj)).To(Equal(int64(1)))
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImagesFailed)
	})
	h.g.Expect(obj.Status.Summary.Failed).To(Equal(int32(1)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(1)))
	rep := h.reports(h.g, "app")["team/app:v1"].Status
	h.g.Expect(rep.ScanStatus).To(Equal("failed"))
	h.g.Expect(rep.Message).To(ContainSubstring("deadline"))

	h.clock.Step(time.Hour) // the interval's next round
	h.accepted("app", 2)
}

// Changing imageType scans the images of the new kind: every report says
// the new kind and holds its own image's result, none the old kind's.
func TestAnImageTypeChangeMovesTheReportsToTheNewKind(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	for _, ref := range refs {
		h.sim.AddImages(simulator.Image{Type: simulator.TypeShared, Namespace: ref.Namespace, Name: ref.Name, Tag: ref.Tag,
			Size: 1 << 20, UpdatedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), FilesNum: 7, FilesSize: 7 << 10})
	}
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("app", 1)
	private := h.reports(h.g, "app")

	h.update("app", func(o *scanv1.ImageScan) { o.Spec.ImageType = scanv1.SharedImage })
	h.readyInRound("app", 2)
	shared := h.reports(h.g, "app")
	h.g.Expect(shared).To(HaveLen(2))
	for ref, rep := range shared {
		h.g.Expect(rep.Spec.ImageType).To(Equal(scanv1.SharedImage), ref)
		h.g.Expect(rep.Status.FilesCount).To(HaveValue(Equal(int64(7))), ref)
		h.g.Expect(rep.Status.ImageID).NotTo(Equal(private[ref].Status.ImageID), ref)
	}
}

// A round that asked HSS to synchronise from SWR lists right after, while
// HSS may still be at it: an image it does not list is said to be possibly
// not synchronised yet, on the report and in the condition.
func TestANotFoundImageAfterASynchronisationSaysTheListMayBeBehind(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	pushed := scanv1.ImageReference{Namespace: "team", Name: "pushed", Tag: "v0"}
	h.scan("app", scanv1.ImageScanSpec{Images: append(refs, pushed), SyncFromSWR: true})
	h.accepted("app", 1)
	h.finishScans()

	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImagesNotFound)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("may not have finished"))
	h.g.Expect(h.reports(h.g, "app")["team/pushed:v0"].Status.Message).To(ContainSubstring("may not have finished"))
}
