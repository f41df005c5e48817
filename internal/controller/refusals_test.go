package controller_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// The API server may refuse a write (an admission webhook, a quota, an
// object grown past its limit). These tests stage such refusals on the
// manager's own client and check that a round loses nothing by them.

// refusingStatus refuses status writes that refuse picks, as admission
// would, and passes the rest to the API server.
type refusingStatus struct {
	client.Client
	refuse func(obj client.Object) bool
}

func (c refusingStatus) Status() client.SubResourceWriter {
	return refusingWriter{SubResourceWriter: c.Client.Status(), refuse: c.refuse}
}

type refusingWriter struct {
	client.SubResourceWriter
	refuse func(obj client.Object) bool
}

func (w refusingWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if w.refuse(obj) {
		resource := "imagescans"
		if _, ok := obj.(*scanv1.ImageReport); ok {
			resource = "imagereports"
		}
		gr := scanv1.GroupVersion.WithResource(resource).GroupResource()
		return apierrors.NewForbidden(gr, obj.GetName(), errors.New("denied by the test's admission"))
	}
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// refusing wraps each new manager's client.
func refusing(refuse func(obj client.Object) bool) func(*harness, *controller.ImageScanReconciler) {
	return func(_ *harness, r *controller.ImageScanReconciler) {
		r.Client = refusingStatus{Client: r.Client, refuse: refuse}
	}
}

// intent: the status a manager writes just before it asks HSS to scan.
func intent(obj client.Object) bool {
	s, ok := obj.(*scanv1.ImageScan)
	if !ok || s.Status.LastScanRequest == nil {
		return false
	}
	req := s.Status.LastScanRequest
	return req.UnconfirmedSince != nil && req.AcceptedAt == nil
}

// When the intent's write is refused, no call was made: the round asks
// HSS at the next pass instead of waiting for evidence of a call that was
// never sent (the controller's clock does not move here, so waiting would
// never end).
func TestARefusedIntentWriteCountsAsNoCall(t *testing.T) {
	var intents atomic.Int32
	h := newHarnessWith(t, simulator.Config{}, refusing(func(obj client.Object) bool {
		return intent(obj) && intents.Add(1) == 1
	}))
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})

	obj := h.readyInRound("app", 1)
	h.g.Expect(intents.Load()).To(BeNumerically(">=", 2), "the first intent was refused, a later one written")
	h.g.Expect(obj.Status.LastScanRequest.Attempts).To(Equal(int32(1)), "one call made, none claimed for the refused write")
	h.g.Expect(h.batchScans()).To(Equal(1))
}

// When no status write lands at all, the next start of the same round
// number does not keep the first start's view: an image HSS did not list
// then but lists now is scanned, not left not_found.
func TestAStartWhoseStatusWasRefusedLeavesNoResult(t *testing.T) {
	var blocked atomic.Bool
	blocked.Store(true)
	h := newHarnessWith(t, simulator.Config{}, refusing(func(obj client.Object) bool {
		_, scan := obj.(*scanv1.ImageScan)
		return scan && blocked.Load()
	}))
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	late := scanv1.ImageReference{Namespace: "team", Name: "late", Tag: "v0"}
	h.scan("app", scanv1.ImageScanSpec{Images: append(refs, late)})
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.reports(g, "app")["team/late:v0"].Status.ScanStatus).To(Equal(scanv1.ScanStatusNotFound))
	}, 30*time.Second, 20*time.Millisecond).Should(Succeed())
	h.g.Expect(round(h.get("app"))).To(BeZero(), "no status was written")

	h.images("team", "late", 1, nil) // HSS synchronised it meanwhile
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.reports(g, "app")["team/late:v0"].Status.ScanStatus).To(BeEmpty(), "the next start lists it")
	}, 30*time.Second, 20*time.Millisecond).Should(Succeed())
	blocked.Store(false)
	obj := h.readyInRound("app", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	h.g.Expect(h.reports(h.g, "app")["team/late:v0"].Status.ScanStatus).To(Equal("success"))
	h.g.Expect(h.batchScans()).To(Equal(1))
}

// A report the API server refuses is that image's failure, saying why, and
// the round goes on: the other images' reports are written, and the round
// ends instead of reading HSS again on every retry.
func TestAReportTheAPIServerRefusesIsThatImagesFailure(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, refusing(func(obj client.Object) bool {
		rep, ok := obj.(*scanv1.ImageReport)
		return ok && rep.Spec.Image.Tag == "v1" && rep.Status.ScanStatus == "success"
	}))
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	h.finishScans()

	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImagesFailed)
	})
	h.g.Expect(round(obj)).To(Equal(int64(1)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	h.g.Expect(obj.Status.Summary.Failed).To(Equal(int32(1)))
	rep := h.reports(h.g, "app")["team/app:v1"].Status
	h.g.Expect(rep.ScanStatus).To(Equal("failed"))
	h.g.Expect(rep.Message).To(And(ContainSubstring("could not be saved"), ContainSubstring("denied by the test's admission")))
}

// HSS passes on whatever its scanner said: a failure text of megabytes is
// cut where it enters, so the image's report is written and the round
// ends, where a report past etcd's request limit was refused on every try.
func TestAFailureTextOfMegabytesIsCutWhereItEnters(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, func(i int, img *simulator.Image) {
		if i == 1 {
			img.ForcedOutcome = simulator.StatusFailed
			img.FailureText = "scanner: " + strings.Repeat("frame\x00\n", 300_000)
		}
	})
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	h.finishScans()

	h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImagesFailed)
	})
	rep := h.reports(h.g, "app")["team/app:v1"].Status
	h.g.Expect(rep.ScanStatus).To(Equal("failed"))
	h.g.Expect(rep.Message).To(HavePrefix("scanner: frame"))
	h.g.Expect(len(rep.Message)).To(BeNumerically("<=", 1024+len("...")))
	h.g.Expect(rep.Message).NotTo(ContainSubstring("\n"))
}
