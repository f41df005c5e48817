package hss

import (
	"context"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

func TestEveryCallCountsItsOperationOutcomeAndLatency(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(e *env)
		call      func(ctx context.Context, c Client) error
		op        string
		outcome   string
		throttled bool
	}{
		{name: "listed", call: listPrivate, op: OpListImages, outcome: "ok"},
		{name: "scan requested", call: scanOne, op: OpBatchScan, outcome: "ok"},
		{name: "synchronized",
			call: func(ctx context.Context, c Client) error { return c.Synchronize(ctx, simulator.TypePrivate) },
			op:   OpSynchronize, outcome: "ok"},
		{name: "list failed on the service side",
			setup: func(e *env) { e.sim.FailNext(simulator.OpListImages, 1, http.StatusInternalServerError) },
			call:  listPrivate, op: OpListImages, outcome: string(ClassTransient)},
		{name: "scan throttled",
			setup: func(e *env) { e.sim.FailNext(simulator.OpBatchScan, 1, http.StatusTooManyRequests) },
			call:  scanOne, op: OpBatchScan, outcome: string(ClassThrottled), throttled: true},
		{name: "statistics of an unknown image",
			call: func(ctx context.Context, c Client) error {
				_, err := c.FileStatistics(ctx, Image{ImageType: simulator.TypePrivate, ImageID: "sha256:0000"})
				return err
			},
			op: OpFileStatistics, outcome: string(ClassNotFound)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
			if tc.setup != nil {
				tc.setup(e)
			}
			requests := map[string]string{"operation": tc.op, "outcome": tc.outcome}
			operation := map[string]string{"operation": tc.op}
			requestsBefore := metricValue(t, "hss_requests_total", requests)
			durationsBefore := metricValue(t, "hss_request_duration_seconds", operation)
			throttledBefore := metricValue(t, "hss_throttled_total", operation)

			err := tc.call(context.Background(), e.client(t))

			if tc.outcome == "ok" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(ClassOf(err)).To(BeEquivalentTo(tc.outcome))
			}
			g.Expect(metricValue(t, "hss_requests_total", requests)).To(Equal(requestsBefore + 1))
			g.Expect(metricValue(t, "hss_request_duration_seconds", operation)).To(Equal(durationsBefore + 1))
			wantThrottled := throttledBefore
			if tc.throttled {
				wantThrottled++
			}
			g.Expect(metricValue(t, "hss_throttled_total", operation)).To(Equal(wantThrottled))
		})
	}
}

func TestPagedListCountsOneRequestPerPage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	imgs := simulator.Generate(450, 7)
	for i := range imgs {
		imgs[i].Type, imgs[i].InstanceID, imgs[i].InstanceURL = simulator.TypePrivate, "", ""
	}
	e.sim.AddImages(imgs...)
	ok := map[string]string{"operation": OpListImages, "outcome": "ok"}
	before := metricValue(t, "hss_requests_total", ok)

	listed, err := e.client(t).ListImages(context.Background(), Filter{ImageType: simulator.TypePrivate})

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(listed).To(HaveLen(450))
	g.Expect(metricValue(t, "hss_requests_total", ok)).To(Equal(before + 3))
}
