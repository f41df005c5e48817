package controller_test

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// A round costs three status writes: the intent before batch-scan, the
// outcome with the first report, and the completion. Polls that see
// nothing new write nothing.
func TestARoundWritesStatusThreeTimes(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	h.g.Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(context.Background(), &scanv1.ImageScanList{}, client.InNamespace(h.ns))
	h.g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(w.Stop)
	var mu sync.Mutex
	var writes []*scanv1.ImageScan
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				mu.Lock()
				writes = append(writes, ev.Object.(*scanv1.ImageScan))
				mu.Unlock()
			}
		}
	}()

	h.images("team", "app", 20, nil)
	h.scan("s", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("s", 1)
	// Let it poll while HSS scans.
	polls := h.sim.Count(simulator.OpListImages, simulator.OutcomeOK)
	h.g.Eventually(func() int { return h.sim.Count(simulator.OpListImages, simulator.OutcomeOK) }, 10*time.Second).
		Should(BeNumerically(">=", polls+3))
	h.readyInRound("s", 1)

	h.g.Eventually(func(g Gomega) {
		mu.Lock()
		defer mu.Unlock()
		g.Expect(writes).NotTo(BeEmpty())
		g.Expect(writes[len(writes)-1].Status.LastCompletionTime).NotTo(BeNil())
	}, 10*time.Second).Should(Succeed())
	mu.Lock()
	defer mu.Unlock()
	h.g.Expect(writes).To(HaveLen(3))
	h.g.Expect(writes[0].Status.LastScanRequest.AcceptedAt).To(BeNil(), "the intent")
	h.g.Expect(writes[1].Status.LastScanRequest.AcceptedAt).NotTo(BeNil(), "the outcome")
	h.g.Expect(writes[1].Status.LastScanRequest.CompletedAt).To(BeNil())
}
