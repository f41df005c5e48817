package hss

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// scannedWith scans an image with n vulnerabilities.
func scannedWith(t *testing.T, e *env, n int32) Image {
	img := private("team", "legacy", "1.0", 1<<30, epoch)
	img.Vulnerabilities = n
	return scanned(t, e, img)
}

// wantCounts counts the simulator's list of img by repair necessity.
func wantCounts(e *env, img Image) VulnerabilityCounts {
	sim, _ := e.sim.Lookup(simulator.TypePrivate, img.Namespace, img.Name, img.Tag)
	var want VulnerabilityCounts
	for _, v := range e.sim.Vulnerabilities(sim) {
		*counter(&want, *v.RepairNecessity)++
	}
	return want
}

// An image listing 40,000 vulnerabilities is counted exactly with three
// calls, none of which reads more than a page.
func TestCountingAVeryLongListCostsThreeCalls(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	img := scannedWith(t, e, 40000)
	before := e.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK)

	counts, err := e.client(t).Vulnerabilities(context.Background(), img, nil)

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts).To(Equal(wantCounts(e, img)))
	g.Expect(counts.Total()).To(Equal(int64(40000)))
	g.Expect(e.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK) - before).To(Equal(3))
}

// Entries come most urgent first, and paging stops as soon as keep has
// what it wants; the counts still cover the whole list.
func TestEntriesComeMostUrgentFirstUntilKeepIsFull(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	img := scannedWith(t, e, 40000)
	want := wantCounts(e, img)
	g.Expect(want.Immediate).To(BeNumerically(">", 300), "the first necessity spans pages")
	before := e.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK)

	var kept []Vulnerability
	counts, err := e.client(t).Vulnerabilities(context.Background(), img, func(v Vulnerability, _ bool) bool {
		kept = append(kept, v)
		return len(kept) < 300
	})

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts).To(Equal(want))
	g.Expect(kept).To(HaveLen(300))
	for _, v := range kept {
		g.Expect(v.RepairNecessity).To(Equal(RepairImmediate))
	}
	calls := e.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK) - before
	g.Expect(calls).To(Equal(1+2+1), "the unfiltered first page, two pages of the urgent ones, a count of the next; the last is the rest of the total")
}

// A list that fits on one page is read once, and handed over most urgent
// first.
func TestAShortListIsReadOnce(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	img := scannedWith(t, e, 150)
	before := e.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK)

	var kept []Vulnerability
	counts, err := e.client(t).Vulnerabilities(context.Background(), img, func(v Vulnerability, _ bool) bool {
		kept = append(kept, v)
		return true
	})

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts).To(Equal(wantCounts(e, img)))
	g.Expect(kept).To(HaveLen(150))
	for i := 1; i < len(kept); i++ {
		g.Expect(rank(kept[i-1].RepairNecessity)).To(BeNumerically("<=", rank(kept[i].RepairNecessity)))
	}
	g.Expect(e.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK) - before).To(Equal(1))
}

// A list of up to MaxWholeList entries is handed over whole, and says so;
// a longer one says that it is not, from its first entry.
func TestKeepIsToldWhetherItGetsTheWholeList(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	for _, n := range []int32{150, 1500, 2500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := NewWithT(t)
			img := scannedWith(t, e, n)
			handed, whole := 0, map[bool]int{}
			counts, err := e.client(t).Vulnerabilities(context.Background(), img, func(_ Vulnerability, w bool) bool {
				handed++
				whole[w]++
				return true
			})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(counts).To(Equal(wantCounts(e, img)))
			if n <= MaxWholeList {
				g.Expect(whole).To(Equal(map[bool]int{true: int(n)}))
				return
			}
			g.Expect(whole).To(Equal(map[bool]int{false: handed}))
		})
	}
}
