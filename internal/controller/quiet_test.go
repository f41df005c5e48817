package controller_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// Polls of a small running round whose members have not ended read no
// report from the API server, which answers a walk by filtering every
// report of the namespace: the feed alone says that none of theirs ended.
// When the scans end, the next poll walks and the round completes.
func TestQuietPollsReadNoReports(t *testing.T) {
	testenv.Require(t)
	pages := &pageReader{Reader: env.Client}
	h := newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) { r.APIReader = pages })
	h.createSecret(validSecret())
	h.images("team", "app", 20, nil)
	h.scan("small", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("small", 1)

	walks := func() int { limits, _ := pages.seen(); return len(limits) }
	polls := func() int { return h.sim.Count(h.listOp(), simulator.OutcomeOK) }
	h.g.Eventually(func(g Gomega) {
		before, asked := walks(), polls()
		g.Consistently(walks, 500*time.Millisecond, 20*time.Millisecond).Should(Equal(before))
		g.Expect(polls()).To(BeNumerically(">", asked), "the round was polled meanwhile")
	}, 30*time.Second).Should(Succeed())

	obj := h.readyInRound("small", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(20)))
	h.g.Expect(h.fileStats()).To(Equal(20))
}
