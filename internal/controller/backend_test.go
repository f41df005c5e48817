package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// auto builds the harness's clients on the auto backend, whatever the
// suite's.
func auto(h *harness, r *controller.ImageScanReconciler) {
	h.provider = hss.NewProvider(hss.Options{Timeout: 5 * time.Second, Clock: h.clock, Backend: hss.BackendAuto})
	r.HSS = h.provider
}

func (h *harness) exactStatistics(name string) {
	h.t.Helper()
	for ref, rep := range h.reports(h.g, name) {
		img, _ := h.sim.Lookup(simulator.TypePrivate, rep.Spec.Image.Namespace, rep.Spec.Image.Name, rep.Spec.Image.Tag)
		h.g.Expect(rep.Status.FilesSize).To(HaveValue(Equal(img.FilesSize)), ref)
		h.g.Expect(rep.Status.FilesCount).To(HaveValue(Equal(img.FilesNum)), ref)
	}
}

// HSS retires batch-scan between two rounds: under auto, the second round
// is served by the task calls, with one scan request per round and exact
// statistics, and the ImageScan says so.
func TestAutoMovesToTheTaskCallsWhenHSSRetiresBatchScanBetweenRounds(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, auto)
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, func(i int, img *simulator.Image) { withRealSizes(i, img) })
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	obj := h.readyInRound("app", 1)
	h.g.Expect(obj.Status.Backend).To(Equal(hss.BackendBatchScan))
	h.g.Expect(h.sim.Count(simulator.OpBatchScan, simulator.OutcomeOK)).To(Equal(1))

	h.sim.RetireDeprecated()
	h.clock.Step(scanv1.MinRescanInterval)
	h.update("app", func(o *scanv1.ImageScan) { o.Annotations = map[string]string{scanv1.RescanAnnotation: "after"} })
	obj = h.readyInRound("app", 2)
	h.g.Expect(obj.Status.Backend).To(Equal(hss.BackendTasks))
	h.g.Expect(h.sim.Count(simulator.OpBatchScan, simulator.OutcomeOK)).To(Equal(1), "no batch-scan after its retirement")
	h.g.Expect(h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(Equal(1), "one scan task for round 2")
	h.g.Expect(h.sim.Count(simulator.OpListImages, simulator.OutcomeNotFound)).To(Equal(1),
		"one answer taught the switch: the list that fixes round 2's members")
	h.g.Expect(h.sim.Count(simulator.OpBatchScan, simulator.OutcomeNotFound)).To(BeZero())
	h.exactStatistics("app")
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.eventNotes(g, scanv1.EventBackendChanged)).To(ConsistOf(ContainSubstring("through the tasks calls")))
	}, 10*time.Second).Should(Succeed())

	// A restarted manager does not know yet that HSS retired batch-scan; an
	// ImageScan it reconciles without a call of that family keeps showing
	// the tasks, with no second event. (The request waits for the interval
	// floor, so the pass calls nothing and sets nextScanTime.)
	h.restart()
	h.update("app", func(o *scanv1.ImageScan) { o.Annotations = map[string]string{scanv1.RescanAnnotation: "idle"} })
	obj = h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.NextScanTime).NotTo(BeNil())
	})
	h.g.Expect(obj.Status.Backend).To(Equal(hss.BackendTasks))
	h.g.Expect(h.eventNotes(h.g, scanv1.EventBackendChanged)).To(HaveLen(1))
}

// HSS retires batch-scan while a round it accepted runs: the round is
// followed on the registry image list and completes without a second scan
// request.
func TestAutoCompletesARoundInFlightWhenBatchScanIsRetired(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, auto)
	h.createSecret(validSecret())
	h.images("team", "app", 4, func(i int, img *simulator.Image) { withRealSizes(i%3, img) })
	h.scan("app", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("app", 1)
	h.sim.RetireDeprecated()
	h.finishScans()
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Backend).To(Equal(hss.BackendTasks))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(4)))
	h.g.Expect(h.batchScans()).To(Equal(1), "the round's one request, by batch-scan")
	h.g.Expect(h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(BeZero())
	h.g.Expect(h.sim.Count(simulator.OpRegistryImages, simulator.OutcomeOK)).To(BeNumerically(">", 0))
	h.exactStatistics("app")
}

// With batch-scan retired from the start, auto serves the first round on
// the tasks. A restart after the task was made but before its outcome was
// saved, while HSS has not yet queued the task's images, finds a task of
// the round's size and waits for its images past the evidence window,
// asking nothing again; the round is accepted once they show.
func TestAutoOnARetiredHSSFindsTheRoundsTaskAfterARestart(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{RetireDeprecated: true, TaskStartDelay: 10 * time.Minute}, auto)
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	h.g.Expect(h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(Equal(1))

	// As a manager that died between the task and its outcome leaves it.
	h.stop()
	obj := h.get("app")
	now := metav1.NewTime(h.clock.Now())
	obj.Status.LastScanRequest.AcceptedAt, obj.Status.LastScanRequest.UnconfirmedSince = nil, &now
	h.g.Expect(env.Client.Status().Update(t.Context(), obj)).To(Succeed())
	h.clock.Step(5 * time.Minute) // past the evidence window; the images still show nothing
	h.start()
	h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionUnknown, scanv1.ReasonProgressing)
		g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("waiting up to 30m0s"))
	})
	h.simClock.Step(11 * time.Minute) // HSS queues the task's images
	h.accepted("app", 1)
	obj = h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(Equal(1), "the task was found, not sent again")
	h.g.Expect(h.sim.Count(simulator.OpListTasks, simulator.OutcomeOK)).To(BeNumerically(">=", 1))
	h.g.Expect(obj.Status.LastScanRequest.Attempts).To(Equal(int32(1)))
}

// Another ImageScan's scan task of the same size is no evidence of this
// round's request: after a 500 HSS did not act on, the round waits for its
// own images no longer than HSS is given to start scans, then asks for
// them, and they are scanned.
func TestAnotherImageScansTaskIsNoEvidenceOfThisRound(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{RetireDeprecated: true}, auto)
	h.createSecret(validSecret())
	victim := h.images("team", "victim", 2, nil)
	h.images("team", "other", 2, nil)
	h.sim.FailNext(simulator.OpScanTask, 1, http.StatusInternalServerError)
	h.scan("victim", scanv1.ImageScanSpec{Images: victim})
	h.eventually("victim", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.LastScanRequest).NotTo(BeNil())
		g.Expect(obj.Status.LastScanRequest.UnconfirmedSince).NotTo(BeNil())
	})
	// The intent is saved before the call: wait for the call itself to take
	// the injected 500, or the other tenant's call below could take it.
	h.g.Eventually(func() int { return h.sim.Count(simulator.OpScanTask, simulator.OutcomeServerError) }, 30*time.Second, 20*time.Millisecond).
		Should(Equal(1))
	// Another tenant of the same project asks for two images of its own.
	h.g.Expect(h.hssClient().BatchScan(context.Background(), hss.BatchScanRequest{ImageType: "private_image",
		Images: []hss.ImageRef{{Namespace: "team", Name: "other", Tag: "v0"}, {Namespace: "team", Name: "other", Tag: "v1"}}})).To(Succeed())

	h.clock.Step(3 * time.Minute) // past the evidence window
	h.eventually("victim", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("waiting up to 30m0s"))
	})
	h.g.Expect(h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(Equal(1), "only the other tenant's task")
	h.clock.Step(30 * time.Minute)
	obj := h.readyInRound("victim", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	h.g.Expect(h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(Equal(2))
	for _, ref := range victim {
		img, ok := h.sim.Lookup(simulator.TypePrivate, ref.Namespace, ref.Name, ref.Tag)
		h.g.Expect(ok).To(BeTrue())
		h.g.Expect(img.Scan.Scans).To(Equal(1), "%s was scanned", ref.Tag)
	}
}

// A selector with latestVersionOnly is asked for on the tasks by naming its
// members, a task per 100. When the second task's outcome is unknown (a 500
// HSS did not act on), the first task's images are evidence of the first
// task only: the second's members are asked for again, and no member twice.
func TestALostTaskOfANamedSelectorRequestIsAskedForAgain(t *testing.T) {
	var sim atomic.Pointer[simulator.Server]
	var tasks atomic.Int32
	h := newHarnessWith(t, simulator.Config{RetireDeprecated: true, OnRequest: func(r simulator.RequestRecord) {
		if r.Op == simulator.OpScanTask && tasks.Add(1) == 1 {
			sim.Load().FailNext(simulator.OpScanTask, 1, http.StatusInternalServerError)
		}
	}}, auto)
	sim.Store(h.sim)
	h.createSecret(validSecret())
	for i := range hss.MaxBatchScanImages + 50 {
		h.images("team", fmt.Sprintf("app%03d", i), 1, nil)
	}
	h.scan("latest", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team", LatestVersionOnly: true}})
	h.eventually("latest", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.LastScanRequest).NotTo(BeNil())
		g.Expect(obj.Status.LastScanRequest.UnconfirmedSince).NotTo(BeNil())
	})
	h.clock.Step(3 * time.Minute) // past the evidence window
	obj := h.readyInRound("latest", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(hss.MaxBatchScanImages + 50)))
	asked := map[simulator.ImageRef]int{}
	for _, rec := range h.sim.ScanTasks() {
		for _, ref := range rec.Matched {
			asked[ref]++
		}
	}
	h.g.Expect(asked).To(HaveLen(hss.MaxBatchScanImages + 50))
	for ref, n := range asked {
		h.g.Expect(n).To(Equal(1), "%v asked for once", ref)
	}
}
