package hss

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// tasksEnv is the simulator with clients of both families on it.
func tasksEnv(t *testing.T, opts Options, adjust func(*simulator.Config)) (*env, Client) {
	t.Helper()
	opts.Backend = BackendTasks
	e := newEnv(t, opts, adjust)
	return e, e.client(t)
}

// The task family scans what the request names, in chunks, and by query
// where the query can say it; a selector the query cannot say (latest
// versions) is scanned by naming its members.
func TestScanTasksNameOrSelectTheImages(t *testing.T) {
	g := NewWithT(t)
	e, c := tasksEnv(t, Options{}, nil)
	for i := range MaxBatchScanImages + 20 {
		e.sim.AddImages(private("payments", "api", fmt.Sprintf("1.%d", i), 10, epoch.Add(time.Duration(i)*time.Minute)))
	}
	var refs []ImageRef
	for i := range MaxBatchScanImages + 20 {
		refs = append(refs, ImageRef{Namespace: "payments", Name: "api", Tag: fmt.Sprintf("1.%d", i)})
	}
	g.Expect(c.BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, Images: refs})).To(Succeed())
	tasks := e.sim.ScanTasks()
	g.Expect(tasks).To(HaveLen(2), "two chunks")
	g.Expect(tasks[0].Started).To(HaveLen(MaxBatchScanImages))
	g.Expect(tasks[1].Started).To(HaveLen(20))
	g.Expect(*tasks[0].Request.ScanScope).To(Equal(int32(scanScopeAll)))
	g.Expect(*tasks[0].Request.RateLimit).To(BeZero(), "unlimited")

	e.sim.ResetCounts()
	e.clk.Step(queueDelay + scanTime)
	g.Expect(c.BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, All: true,
		Filter: Filter{ImageType: simulator.TypePrivate, Namespace: "payments"}})).To(Succeed())
	tasks = e.sim.ScanTasks()
	g.Expect(tasks).To(HaveLen(1))
	g.Expect(*tasks[0].Request.IsAll).To(BeTrue())
	g.Expect(tasks[0].Started).To(HaveLen(MaxBatchScanImages + 20))

	e.sim.ResetCounts()
	e.clk.Step(queueDelay + scanTime)
	latest := []ImageRef{{Namespace: "payments", Name: "api", Tag: "1.119"}}
	g.Expect(c.BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, All: true,
		Filter: Filter{ImageType: simulator.TypePrivate, Namespace: "payments", LatestVersionOnly: true}, Members: latest})).To(Succeed())
	tasks = e.sim.ScanTasks()
	g.Expect(tasks).To(HaveLen(1))
	g.Expect(*tasks[0].Request.IsAll).To(BeFalse(), "the query has no latest_version: the members are named")
	g.Expect(tasks[0].Started).To(ConsistOf(simulator.ImageRef{Namespace: "payments", Name: "api", Tag: "1.119"}))
}

// The registry image list answers what the SWR image list does, with the
// failure's code and HSS's severity rating besides.
func TestTheRegistryListShowsScansWithTheirCodeAndSeverity(t *testing.T) {
	g := NewWithT(t)
	e, c := tasksEnv(t, Options{}, nil)
	ok := private("payments", "api", "1.0", 10, epoch)
	ok.Vulnerabilities = 50
	bad := private("payments", "api", "2.0", 10, epoch)
	bad.ForcedOutcome = simulator.StatusDownloadFailed
	e.sim.AddImages(ok, bad)
	g.Expect(c.BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate,
		Images: []ImageRef{{Namespace: "payments", Name: "api", Tag: "1.0"}, {Namespace: "payments", Name: "api", Tag: "2.0"}}})).To(Succeed())
	e.clk.Step(queueDelay + scanTime)

	images, err := c.ListImages(context.Background(), Filter{ImageType: simulator.TypePrivate, Namespace: "payments"})
	g.Expect(err).NotTo(HaveOccurred())
	byTag := map[string]Image{}
	for _, img := range images {
		byTag[img.Tag] = img
	}
	g.Expect(byTag["1.0"].ScanStatus).To(Equal(StatusSuccess))
	g.Expect(byTag["1.0"].SeverityLevel).To(BeElementOf("High", "Medium", "Low"))
	g.Expect(byTag["1.0"].Findings.Vulnerabilities).To(Equal(int64(50)))
	g.Expect(byTag["2.0"].ScanStatus).To(Equal(StatusDownloadFailed))
	g.Expect(byTag["2.0"].ScanFailedCode).To(Equal("download_failed"))
	g.Expect(e.sim.Count(simulator.OpRegistryImages, simulator.OutcomeOK)).To(Equal(1))
	g.Expect(e.sim.Count(simulator.OpListImages, simulator.OutcomeOK)).To(BeZero())
}

// A request that got no task ID back is found by when it came and its size.
func TestARequestIsFoundAmongTheTasksByItsTimeAndSize(t *testing.T) {
	g := NewWithT(t)
	e, c := tasksEnv(t, Options{}, nil)
	e.sim.AddImages(private("payments", "api", "1.0", 10, epoch), private("payments", "api", "2.0", 10, epoch))
	two := BatchScanRequest{ImageType: simulator.TypePrivate, Images: []ImageRef{
		{Namespace: "payments", Name: "api", Tag: "1.0"}, {Namespace: "payments", Name: "api", Tag: "2.0"}}}
	one := BatchScanRequest{ImageType: simulator.TypePrivate, Images: two.Images[:1]}
	before := e.clk.Now()
	g.Expect(c.RequestSeen(context.Background(), before, two)).To(BeFalse(), "nothing was asked yet")
	g.Expect(c.BatchScan(context.Background(), two)).To(Succeed())
	g.Expect(c.RequestSeen(context.Background(), before, two)).To(BeTrue())
	g.Expect(c.RequestSeen(context.Background(), before, one)).To(BeFalse(), "a task of another size is another request")
	g.Expect(c.RequestSeen(context.Background(), before.Add(time.Hour), two)).To(BeFalse(), "a task from before is another request")
}

// Under auto, one answer that batch-scan is gone moves every client of the
// endpoint to the tasks; another endpoint's clients stay where they are.
func TestAutoMovesAnEndpointOnceHSSSaysTheDeprecatedCallsAreGone(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{Backend: BackendAuto}, nil)
	e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
	first := e.client(t)
	other := e.target()
	other.CredentialsSource, other.CredentialsVersion = "other/keys", "1"
	second := e.clientFor(t, other)
	elsewhere := newEnv(t, Options{Backend: BackendAuto}, nil)
	elsewhere.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
	third := elsewhere.client(t)

	g.Expect(listPrivate(context.Background(), first)).To(Succeed())
	g.Expect(first.Backend()).To(Equal(BackendBatchScan))
	e.sim.RetireDeprecated()
	elsewhere.sim.RetireDeprecated()
	switches := metricValue(t, "hss_backend_switches_total", nil)

	g.Expect(listPrivate(context.Background(), first)).To(Succeed(), "the call is made again on the tasks")
	g.Expect(first.Backend()).To(Equal(BackendTasks))
	g.Expect(second.Backend()).To(Equal(BackendTasks), "the same endpoint's other clients follow")
	g.Expect(third.Backend()).To(BeEmpty(), "another endpoint learns for itself, from its first answer")
	g.Expect(metricValue(t, "hss_backend_switches_total", nil)).To(Equal(switches + 1))
	g.Expect(scanOne(context.Background(), second)).To(Succeed())
	g.Expect(e.sim.Count(simulator.OpListImages, simulator.OutcomeNotFound)).To(Equal(1), "one retired answer")
	g.Expect(e.sim.Count(simulator.OpBatchScan, simulator.OutcomeNotFound)).To(BeZero())
	g.Expect(e.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)).To(Equal(1))
	g.Expect(listPrivate(context.Background(), third)).To(Succeed())
	g.Expect(third.Backend()).To(Equal(BackendTasks))
}

// Under auto, HSS retiring batch-scan between two chunks of one request
// leaves the tasks to ask only for the chunks batch-scan had not placed:
// no image is asked for twice.
func TestAutoAsksTheTasksOnlyForTheChunksBatchScanDidNotPlace(t *testing.T) {
	g := NewWithT(t)
	var sim *simulator.Server
	e := newEnv(t, Options{Backend: BackendAuto}, func(cfg *simulator.Config) {
		cfg.OnRequest = func(r simulator.RequestRecord) {
			if r.Op == simulator.OpBatchScan && r.Status == http.StatusOK {
				sim.RetireDeprecated() // after the first chunk
			}
		}
	})
	sim = e.sim
	var refs []ImageRef
	for i := range 2*MaxBatchScanImages + 50 {
		tag := fmt.Sprintf("1.%d", i)
		e.sim.AddImages(private("payments", "api", tag, 10, epoch))
		refs = append(refs, ImageRef{Namespace: "payments", Name: "api", Tag: tag})
	}

	g.Expect(e.client(t).BatchScan(context.Background(), BatchScanRequest{ImageType: simulator.TypePrivate, Images: refs})).To(Succeed())
	asked := map[simulator.ImageRef]int{}
	for _, rec := range e.sim.BatchScans() {
		for _, ref := range rec.Matched {
			asked[ref]++
		}
	}
	g.Expect(asked).To(HaveLen(MaxBatchScanImages), "batch-scan placed the first chunk")
	for _, rec := range e.sim.ScanTasks() {
		for _, ref := range rec.Matched {
			asked[ref]++
		}
	}
	g.Expect(asked).To(HaveLen(len(refs)))
	for ref, n := range asked {
		g.Expect(n).To(Equal(1), "%v asked for once", ref)
	}
}
