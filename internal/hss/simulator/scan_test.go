package simulator

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestScanMovesThroughStatesToItsOutcome(t *testing.T) {
	for _, outcome := range []Status{StatusSuccess, StatusFailed, StatusDownloadFailed, StatusOversized} {
		t.Run(string(outcome), func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, nil)
			im := img("payments", "api", "1.0", 1000, epoch)
			im.ForcedOutcome = outcome
			e.sim.AddImages(im)
			state := func() ScanState {
				got, ok := e.sim.Lookup(TypePrivate, "payments", "api", "1.0")
				g.Expect(ok).To(BeTrue())
				return got.Scan
			}
			g.Expect(state().Status).To(Equal(StatusUnscan))

			g.Expect(e.scanNamed(t, im.ref())).To(Succeed())
			g.Expect(state().Status).To(Equal(StatusWaiting))
			e.clk.Step(queueDelay)
			g.Expect(state().Status).To(Equal(StatusScanning))
			g.Expect(state().LastScanAt.IsZero()).To(BeTrue())
			e.clk.Step(scanTime)

			done := state()
			g.Expect(done.Status).To(Equal(outcome))
			g.Expect(done.LastScanAt).To(Equal(epoch.Add(queueDelay + scanTime)))
			g.Expect(done.Scans).To(Equal(1))
			if outcome == StatusSuccess {
				g.Expect(done.FailedDesc).To(BeEmpty())
			} else {
				g.Expect(done.FailedDesc).NotTo(BeEmpty())
			}
		})
	}
}

func TestRescanStartsOverAndKeepsTheLastScanTime(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	im := img("payments", "api", "1.0", 1000, epoch)
	e.sim.AddImages(im)
	g.Expect(e.scanNamed(t, im.ref())).To(Succeed())
	e.clk.Step(queueDelay + scanTime)
	firstDone := e.clk.Now()

	g.Expect(e.scanNamed(t, im.ref())).To(Succeed())
	got, _ := e.sim.Lookup(TypePrivate, "payments", "api", "1.0")
	g.Expect(got.Scan.Status).To(Equal(StatusWaiting))
	g.Expect(got.Scan.LastScanAt).To(Equal(firstDone))
	g.Expect(got.Scan.Scans).To(Equal(2))

	e.clk.Step(queueDelay + scanTime)
	got, _ = e.sim.Lookup(TypePrivate, "payments", "api", "1.0")
	g.Expect(got.Scan.Status).To(Equal(StatusSuccess))
	g.Expect(got.Scan.LastScanAt).To(Equal(e.clk.Now()))
}

func TestScanOfAnImageInProgressDoesNotRestartIt(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	im := img("payments", "api", "1.0", 1000, epoch)
	e.sim.AddImages(im)
	g.Expect(e.scanNamed(t, im.ref())).To(Succeed())
	e.clk.Step(queueDelay)
	g.Expect(e.scanNamed(t, im.ref())).To(Succeed())

	recs := e.sim.BatchScans()
	g.Expect(recs).To(HaveLen(2))
	g.Expect(recs[1].Matched).To(ConsistOf(im.ref()))
	g.Expect(recs[1].Started).To(BeEmpty())
	got, _ := e.sim.Lookup(TypePrivate, "payments", "api", "1.0")
	g.Expect(got.Scan.Status).To(Equal(StatusScanning))
	g.Expect(got.Scan.Scans).To(Equal(1))
}

func TestFailureRateDecidesOutcomesReproducibly(t *testing.T) {
	imgs := Generate(300, 7)
	outcomes := func(seed int64, rate float64) map[Status]int {
		n := map[Status]int{}
		for i, im := range imgs {
			im.ID = int64(i + 1)
			n[decideOutcome(im, 1, seed, rate)]++
		}
		return n
	}
	g := NewWithT(t)
	g.Expect(outcomes(1, 0)).To(Equal(map[Status]int{StatusSuccess: 300}))
	g.Expect(outcomes(1, 1)).NotTo(HaveKey(StatusSuccess))
	g.Expect(outcomes(1, 1)).To(HaveLen(3), "all three failure kinds occur")
	half := outcomes(1, 0.5)
	g.Expect(half).To(Equal(outcomes(1, 0.5)))
	g.Expect(half[StatusSuccess]).To(BeNumerically(">", 100))
	g.Expect(half[StatusSuccess]).To(BeNumerically("<", 200))
}

func TestAnImageWithItsOwnScanDurationEndsLater(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	quick := img("payments", "api", "1.0", 1000, epoch)
	slow := img("payments", "api", "2.0", 1000, epoch)
	slow.ScanDuration = 10 * scanTime
	e.sim.AddImages(quick, slow)
	g.Expect(e.scanNamed(t, quick.ref(), slow.ref())).To(Succeed())
	status := func(tag string) Status {
		got, _ := e.sim.Lookup(TypePrivate, "payments", "api", tag)
		return got.Scan.Status
	}
	e.clk.Step(queueDelay + scanTime)
	g.Expect(status("1.0")).To(Equal(StatusSuccess))
	g.Expect(status("2.0")).To(Equal(StatusScanning))
	e.clk.Step(9 * scanTime)
	g.Expect(status("2.0")).To(Equal(StatusSuccess))
}
