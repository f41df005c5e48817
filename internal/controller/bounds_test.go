package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// withJanitor starts a harness whose reconciler sweeps its caches every few
// milliseconds and, as in production, does not requeue a completed round
// without an interval; got receives the reconciler of each manager.
func withJanitor(t *testing.T, got **controller.ImageScanReconciler) *harness {
	return newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) {
		r.SweepInterval, r.MaxRequeue = 20*time.Millisecond, time.Hour
		*got = r
	})
}

// An image listing 40,000 vulnerabilities is counted exactly; with Details
// its report keeps the most urgent entries its bound holds and says how
// many it left out. Counting costs three calls, whatever the length.
func TestAVeryLongVulnerabilityListIsCountedExactlyWithinTheReportsBound(t *testing.T) {
	for _, mode := range []scanv1.VulnerabilityDetail{scanv1.VulnerabilitiesSummary, scanv1.VulnerabilitiesDetails} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, simulator.Config{})
			h.createSecret(validSecret())
			refs := h.images("legacy", "monolith", 1, func(_ int, img *simulator.Image) { img.Vulnerabilities = 40000 })
			h.scan("long", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: mode})
			obj := h.readyInRound("long", 1)

			img, _ := h.sim.Lookup(simulator.TypePrivate, "legacy", "monolith", "v0")
			// Too long to rate entry by entry: counted by repair necessity.
			want := scanv1.Severities{Basis: scanv1.BasisRepairNecessity}
			for _, v := range h.sim.Vulnerabilities(img) {
				want.Count(map[string]scanv1.Severity{
					"immediate_repair": scanv1.SeverityHigh, "delay_repair": scanv1.SeverityMedium}[*v.RepairNecessity])
			}
			rep := h.reports(h.g, "long")["legacy/monolith:v0"]
			h.g.Expect(rep.Status.Findings.Severities).To(HaveValue(Equal(want)))
			h.g.Expect(obj.Status.Summary.Severities).To(HaveValue(Equal(want)))
			calls := h.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK)
			if mode == scanv1.VulnerabilitiesSummary {
				h.g.Expect(rep.Status.Vulnerabilities).To(BeEmpty())
				h.g.Expect(calls).To(Equal(3))
				return
			}
			results := h.resultsOf(h.g, rep)
			kept := len(results)
			h.g.Expect(kept).To(BeNumerically(">", 100))
			h.g.Expect(rep.Status.OpenReport.Omitted).To(BeEquivalentTo(want.High-int64(kept)), "of the High ones (Critical among them)")
			data, err := json.Marshal(results)
			h.g.Expect(err).NotTo(HaveOccurred())
			h.g.Expect(len(data)).To(BeNumerically("<=", scanv1.MaxReportVulnerabilitiesBytes))
			for _, r := range results {
				h.g.Expect(r.Severity).To(BeElementOf(openreports.ResultSeverity("critical"), openreports.ResultSeverity("high")), "the most urgent fill the report")
			}
			h.g.Expect(calls).To(BeNumerically("<=", 1+(kept+199)/200+1+1), "pages stop once the report is full")
		})
	}
}

// pageReader records the ImageReport lists the reconciler reads from the
// API server: the page size each asked for and the most reports one held.
type pageReader struct {
	client.Reader
	mu      sync.Mutex
	limits  []int64
	largest int
}

func (p *pageReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := p.Reader.List(ctx, list, opts...)
	if reports, ok := list.(*scanv1.ImageReportList); ok && err == nil {
		o := (&client.ListOptions{}).ApplyOptions(opts)
		p.mu.Lock()
		p.limits = append(p.limits, o.Limit)
		p.largest = max(p.largest, len(reports.Items))
		p.mu.Unlock()
	}
	return err
}

func (p *pageReader) seen() (limits []int64, largest int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.limits), p.largest
}

// A round's members are read from the API server a page at a time, and
// never cached: the manager holds a page of reports whatever the round's
// size (500, or 16 with Details, whose reports hold vulnerability lists).
func TestARoundIsReadAPageAtATime(t *testing.T) {
	testenv.Require(t)
	for _, tc := range []struct {
		mode   scanv1.VulnerabilityDetail
		images int
		page   int64
	}{{scanv1.VulnerabilitiesSummary, 1100, 500}, {scanv1.VulnerabilitiesDetails, 40, 16}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			pages := &pageReader{Reader: env.Client}
			h := newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) { r.APIReader = pages })
			h.createSecret(validSecret())
			h.images("team", "app", tc.images, func(_ int, img *simulator.Image) { img.Vulnerabilities = 3 })
			h.scan("paged", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}, Vulnerabilities: tc.mode})
			obj := h.readyInRound("paged", 1)
			h.g.Expect(obj.Status.Summary.Succeeded).To(BeEquivalentTo(tc.images))
			h.g.Expect(h.reports(h.g, "paged")).To(HaveLen(tc.images))

			limits, largest := pages.seen()
			h.g.Expect(largest).To(BeNumerically("<=", tc.page), "no read held more than a page")
			h.g.Expect(limits).NotTo(BeEmpty())
			for _, l := range limits {
				h.g.Expect(l).To(Equal(tc.page))
			}
			// A walk of the round reads every page.
			h.g.Expect(len(limits)).To(BeNumerically(">=", (tc.images+int(tc.page)-1)/int(tc.page)))
		})
	}
}

// Credentials parsed from a Secret go once the Secret is gone, whether or
// not an ImageScan is reconciled again.
func TestCredentialsOfDeletedSecretsAreDropped(t *testing.T) {
	testenv.Require(t)
	var r *controller.ImageScanReconciler
	h := withJanitor(t, &r)
	refs := h.images("team", "app", 1, nil)
	ctx := context.Background()
	for i := range 12 {
		name := fmt.Sprintf("creds-%d", i)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}, StringData: validSecret()}
		h.g.Expect(env.Client.Create(ctx, s)).To(Succeed())
		h.scan(name, scanv1.ImageScanSpec{Images: refs, CredentialsRef: &scanv1.SecretReference{Name: name}})
	}
	h.g.Eventually(func() int { return r.CacheSizes().Credentials }, 20*time.Second, 20*time.Millisecond).Should(Equal(12))
	h.g.Expect(cacheEntries(h.g, "credentials")).To(Equal(12.0), "/metrics shows the parsed Secrets")

	for i := range 12 {
		name := fmt.Sprintf("creds-%d", i)
		h.g.Expect(env.Client.Delete(ctx, &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}})).To(Succeed())
		h.g.Expect(env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}})).To(Succeed())
	}
	h.g.Eventually(func() int { return r.CacheSizes().Credentials }, 10*time.Second, 20*time.Millisecond).Should(BeZero())
	h.g.Expect(cacheEntries(h.g, "credentials")).To(BeZero())
}

// An answer larger than the client's cap fails the call it answers, as a
// failed read of that image, named in the condition; the round completes.
func TestAnAnswerOverTheCapIsTheImagesFailedRead(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("ml", "trainer", 2, func(i int, img *simulator.Image) {
		if i == 1 {
			img.OversizedStats = 8 << 20
		}
	})
	h.scan("huge", scanv1.ImageScanSpec{Images: refs})
	h.accepted("huge", 1)
	h.finishScans()

	obj := h.eventually("huge", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonStatsUnavailable)
	})
	ready := condition(obj, scanv1.ConditionReady).Message
	h.g.Expect(ready).To(ContainSubstring("ml/trainer:v1"))
	h.g.Expect(ready).To(ContainSubstring("exceeded"))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(1)))
	h.g.Expect(h.reports(h.g, "huge")["ml/trainer:v1"].Status.StatisticsAttempts).To(Equal(int32(scanv1.MaxReadAttempts)))
}

// A selector that matches more images than the platform lets one
// ImageScan scan starts no round and says why; the listing stops past the
// bound instead of gathering the whole match.
func TestAnImageScanOverThePlatformsImageLimitStartsNoRound(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) { r.MaxImagesPerScan = 250 })
	h.createSecret(validSecret())
	h.images("team", "app", 1000, nil)
	h.scan("wide", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})

	obj := h.eventually("wide", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImageLimitExceeded)
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonImageLimitExceeded)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("more than 250 images"))
	h.g.Expect(obj.Status.LastScanRequest).To(BeNil())
	h.g.Expect(h.batchScans()).To(BeZero())
	h.g.Expect(h.reports(h.g, "wide")).To(BeEmpty())
	h.g.Expect(h.sim.Count(h.listOp(), simulator.OutcomeOK)).To(Equal(2), "two pages hold more than 250 images")

	before := metav1.NewTime(time.Date(2026, 6, 1+100, 0, 0, 0, 0, time.UTC))
	h.update("wide", func(o *scanv1.ImageScan) { o.Spec.Selector.UpdatedBefore = &before })
	obj = h.readyInRound("wide", 1)
	h.g.Expect(obj.Status.Summary.Matched).To(BeNumerically("~", 100, 1), "a narrower selector scans")
}

// A namespace's ResourceQuota on ImageReports bounds how many images its
// ImageScans scan: the ImageScan that needs more says so, and scans once
// the quota allows.
func TestAReportQuotaBoundsANamespace(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	ctx := context.Background()
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "reports", Namespace: h.ns},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/imagereports.scan.hss.dev": resource.MustParse("5")}},
	}
	h.g.Expect(env.Client.Create(ctx, quota)).To(Succeed())
	// No quota controller runs here: the status it would compute is set by
	// hand, and admission counts from it.
	quota.Status = corev1.ResourceQuotaStatus{Hard: quota.Spec.Hard, Used: corev1.ResourceList{"count/imagereports.scan.hss.dev": resource.MustParse("0")}}
	h.g.Expect(env.Client.Status().Update(ctx, quota)).To(Succeed())

	refs := h.images("team", "app", 8, nil)
	h.scan("over", scanv1.ImageScanSpec{Images: refs})
	obj := h.eventually("over", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonReportQuotaExceeded)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("count/imagereports.scan.hss.dev"))
	h.g.Expect(h.batchScans()).To(BeZero(), "no round starts over fewer members than it has")

	h.g.Eventually(func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(quota), quota); err != nil {
			return err
		}
		quota.Spec.Hard["count/imagereports.scan.hss.dev"] = resource.MustParse("20")
		quota.Status.Hard = quota.Spec.Hard
		return env.Client.Update(ctx, quota)
	}, 10*time.Second).Should(Succeed())
	h.g.Eventually(func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(quota), quota); err != nil {
			return err
		}
		quota.Status.Hard = quota.Spec.Hard
		return env.Client.Status().Update(ctx, quota)
	}, 10*time.Second).Should(Succeed())
	h.update("over", func(o *scanv1.ImageScan) { o.Annotations = map[string]string{scanv1.RescanAnnotation: "quota-raised"} })
	obj = h.readyInRound("over", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(8)))
}

// A round's reads are saved a slice at a time: while HSS stops answering
// statistics part-way through a large round, the reports of the slices
// already read are saved, so a manager that stops then loses at most a
// slice; the round completes once HSS answers again.
func TestARoundIsReadAndSavedInSlices(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	h.images("team", "app", 600, nil)
	release := h.sim.Hold(simulator.OpFileStats, 300)
	t.Cleanup(release)
	h.scan("sliced", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}, Vulnerabilities: scanv1.VulnerabilitiesNone})
	h.accepted("sliced", 1)
	h.finishScans()

	withStatistics := func() int {
		n := 0
		for _, rep := range h.reports(h.g, "sliced") {
			if rep.Status.FilesCount != nil {
				n++
			}
		}
		return n
	}
	// The first slice is saved while the second waits on HSS.
	h.g.Eventually(withStatistics, 30*time.Second, 100*time.Millisecond).Should(BeNumerically(">=", 256))
	h.g.Expect(withStatistics()).To(BeNumerically("<", 600), "saved before the round's reads were done")

	release()
	obj := h.eventually("sliced", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(600)))
}

// A pass whose HSS deadline ends its reads goes on after the shortest
// poll, not after the long wait of an old round with no news: a round of
// any size is read pass after pass without idling between them.
func TestAPassCutByItsDeadlineGoesOnSoon(t *testing.T) {
	// Every call takes 200 ms and a pass may make calls for one second, two
	// at a time: a pass reads about ten of the forty.
	h := newHarnessWith(t, simulator.Config{Faults: simulator.Faults{Latency: 200 * time.Millisecond}}, func(_ *harness, r *controller.ImageScanReconciler) {
		r.PassTimeout, r.MaxPoll, r.ReadConcurrency = time.Second, time.Hour, 2
	})
	h.createSecret(validSecret())
	h.images("team", "app", 40, nil)
	h.scan("cut", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}, Vulnerabilities: scanv1.VulnerabilitiesNone})
	h.accepted("cut", 1)
	h.finishScans()
	h.g.Eventually(func() int { return h.sim.Count(simulator.OpFileStats, simulator.OutcomeOK) }, 30*time.Second, 10*time.Millisecond).
		Should(BeNumerically(">", 0))
	// The round is two hours old: a poll that finds no news waits 30 min.
	h.clock.Step(2 * time.Hour)
	// A pass ends at its deadline and saves what it read.
	h.eventually("cut", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Summary.Succeeded).To(BeNumerically(">", 0))
		g.Expect(obj.Status.Summary.Pending).To(BeNumerically(">", 0))
	})
	obj := h.eventually("cut", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Summary.Succeeded).To(BeEquivalentTo(40))
	h.g.Expect(h.sim.Count(simulator.OpFileStats, simulator.OutcomeOK)).To(Equal(40), "each image read once")
}

// Making a large round's reports may take longer than a pass's deadline for
// HSS calls: the reports are the API server's work, and the round starts in
// one pass, without an error or a second listing.
func TestALargeRoundStartsInOnePassWhateverItsDeadline(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) {
		r.PassTimeout = 300 * time.Millisecond
	})
	h.createSecret(validSecret())
	h.images("team", "app", 1500, nil)
	var reasons sync.Map
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			obj := &scanv1.ImageScan{}
			if env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "large"}, obj) == nil {
				if c := condition(obj, scanv1.ConditionReady); c != nil {
					reasons.Store(c.Reason, c.Message)
				}
			}
		}
	}()
	h.scan("large", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}, Vulnerabilities: scanv1.VulnerabilitiesNone})
	obj := h.accepted("large", 1)
	close(stop)
	<-watched
	h.g.Expect(obj.Status.LastScanRequest.Attempts).To(BeEquivalentTo(1))
	h.g.Expect(obj.Status.Summary.Matched).To(BeEquivalentTo(1500))
	reasons.Range(func(reason, msg any) bool {
		h.g.Expect(reason).NotTo(Equal(scanv1.ReasonKubernetesAPIError), "%v", msg)
		return true
	})
	h.g.Expect(h.scanRequests()).To(HaveLen(1))
}

// A listing is whole or nothing: one that takes longer than the deadline
// of a pass's member calls (a page per 200 images, at HSS's latency) still
// fixes the round's members and shows its finished scans.
func TestAListingLongerThanAPassesDeadlineCompletes(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{Faults: simulator.Faults{SlowListPages: 400 * time.Millisecond}}, func(_ *harness, r *controller.ImageScanReconciler) {
		r.PassTimeout = time.Second
	})
	h.createSecret(validSecret())
	h.images("team", "app", 450, nil) // three pages: 1.2 s
	h.scan("slow", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}, Vulnerabilities: scanv1.VulnerabilitiesNone})
	obj := h.readyInRound("slow", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(BeEquivalentTo(450))
}

// The feed of finished scans holds what its readers have not yet saved, not
// every scan of a long round: once a pass has saved the first wave's
// results, the walks after it drop them, while the round goes on.
func TestTheFeedForgetsScansARoundHasSaved(t *testing.T) {
	testenv.Require(t)
	var r *controller.ImageScanReconciler
	h := withJanitor(t, &r)
	h.createSecret(validSecret())
	h.images("team", "app", 30, func(i int, img *simulator.Image) {
		if i >= 20 {
			img.ScanDuration = 10 * time.Minute
		}
	})
	h.scan("waves", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("waves", 1)

	h.simClock.Step(2 * time.Minute)
	h.eventually("waves", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Summary.Succeeded).To(BeEquivalentTo(20))
	})
	h.g.Expect(r.CacheSizes().FinishedScans).To(BeNumerically(">=", 20), "the feed answered for the first wave")

	// Past the walks' overlap, a later walk need not list them again.
	h.simClock.Step(time.Minute)
	h.g.Eventually(func() int { return r.CacheSizes().FinishedScans }, 30*time.Second, 20*time.Millisecond).Should(BeZero())
	h.g.Expect(h.get("waves").Status.Summary.Pending).To(BeEquivalentTo(10), "while the round goes on")

	h.simClock.Step(10 * time.Minute)
	h.eventually("waves", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
		g.Expect(obj.Status.Summary.Succeeded).To(BeEquivalentTo(30))
	})
}
