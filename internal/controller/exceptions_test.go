package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// createException applies an exception in the harness's namespace.
func (h *harness) createException(name string, spec scanv1.VulnerabilityExceptionSpec) {
	h.t.Helper()
	exc := &scanv1.VulnerabilityException{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}, Spec: spec}
	h.g.Expect(env.Client.Create(context.Background(), exc)).To(Succeed())
}

func (h *harness) exception(g Gomega, name string) *scanv1.VulnerabilityException {
	exc := &scanv1.VulnerabilityException{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, exc)).To(Succeed())
	return exc
}

// accepting is an exception of the named vulnerabilities for two days on
// the controller's clock.
func (h *harness) accepting(ids ...string) scanv1.VulnerabilityExceptionSpec {
	return scanv1.VulnerabilityExceptionSpec{
		Vulnerabilities: ids, Reason: "no fixed base image yet", Owner: "platform-team",
		ExpiresAt: metav1.NewTime(h.clock.Now().Add(48 * time.Hour).Truncate(time.Second)),
	}
}

// skipped maps the policies of a Report's skipped results to the
// exception each names.
func skipped(results []openreports.ReportResult) map[string]string {
	out := map[string]string{}
	for _, r := range results {
		if r.Result == "skip" {
			out[r.Policy] = r.Properties[scanv1.PropertyException]
		}
	}
	return out
}

// eventsAbout returns the notes of the namespace's events with a reason
// about an object of a kind, or of any kind when kind is empty.
func (h *harness) eventsAbout(g Gomega, kind, reason string) []string {
	var events eventsv1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(h.ns))).To(Succeed())
	var notes []string
	for _, e := range events.Items {
		if e.Reason == reason && (kind == "" || e.Regarding.Kind == kind) {
			notes = append(notes, e.Note)
		}
	}
	return notes
}

// hssCalls counts the simulator's answered calls of every kind.
func (h *harness) hssCalls() map[simulator.Op]int {
	out := map[simulator.Op]int{}
	for op, byOutcome := range h.sim.Counts() {
		for _, n := range byOutcome {
			out[op] += n
		}
	}
	return out
}

// An exception marks the results it names as accepted, in the Report
// (skip, with its name) and in every count, with no scan and no HSS call;
// a change takes effect the same way; at its expiry the results are open
// again, with events on the exception and the ImageScan; deleting one
// opens its results too.
func TestAnExceptionAcceptsChangesExpiresAndGoes(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	rep := h.oneImageWithDetails("web", 40)
	results := h.resultsOf(h.g, rep)
	h.g.Expect(skipped(results)).To(BeEmpty())
	first := results[0]
	h.g.Expect(first.Result).To(Equal(openreports.Result("fail")), "the most urgent result comes first")
	i := slices.IndexFunc(results[1:], func(r openreports.ReportResult) bool { return r.Properties["cves"] != "" })
	h.g.Expect(i).To(BeNumerically(">=", 0))
	second := results[1+i]
	calls := h.hssCalls()
	sev := *rep.Status.Findings.Severities

	h.createException("base-image", h.accepting(first.Policy))
	h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(Equal([]scanv1.ExceptionUse{{Name: "base-image", Results: 1, Images: 1, Examples: []string{"team/app:v0"}}}))
		g.Expect(obj.Status.Summary.Accepted).NotTo(BeNil())
		g.Expect(obj.Status.Summary.Accepted.Total()).To(Equal(int64(1)))
		g.Expect(obj.Status.Summary.Open.Total()).To(Equal(sev.Total() - 1))
		g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("1 accepted by exceptions"))
	})
	irep := h.reports(h.g, "web")["team/app:v0"]
	h.g.Expect(skipped(h.resultsOf(h.g, irep))).To(Equal(map[string]string{first.Policy: "base-image"}))
	h.g.Expect(irep.Status.Findings.Accepted.Total()).To(Equal(int64(1)))
	h.g.Expect(irep.Status.Findings.Open.Total()).To(Equal(sev.Total() - 1))
	h.g.Expect(irep.Status.Findings.Severities).To(Equal(&sev), "what HSS found is kept as it is")
	h.g.Eventually(func(g Gomega) {
		exc := h.exception(g, "base-image")
		g.Expect(exc.Status.Results).To(Equal(int32(1)))
		g.Expect(exc.Status.Images).To(Equal(int32(1)))
		g.Expect(exc.Status.ImageScans).To(Equal([]scanv1.ExceptionUse{{Name: "web", Results: 1, Images: 1, Examples: []string{"team/app:v0"}}}))
		ready := meta(exc.Status.Conditions)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(scanv1.ReasonActive))
		g.Expect(ready.ObservedGeneration).To(Equal(exc.Generation))
	}).Within(20 * time.Second).Should(Succeed())

	// A change, naming a CVE ID of another result, takes effect as well.
	cve := strings.Split(second.Properties["cves"], ",")[0]
	exc := h.exception(h.g, "base-image")
	exc.Spec.Vulnerabilities = append(exc.Spec.Vulnerabilities, strings.ToLower(cve))
	h.g.Expect(env.Client.Update(context.Background(), exc)).To(Succeed())
	h.g.Eventually(func(g Gomega) {
		irep := h.reports(g, "web")["team/app:v0"]
		g.Expect(skipped(h.resultsOf(g, irep))).To(Equal(map[string]string{first.Policy: "base-image", second.Policy: "base-image"}))
		g.Expect(irep.Status.Findings.Accepted.Total()).To(Equal(int64(2)))
	}).Within(20 * time.Second).Should(Succeed())
	h.g.Expect(h.hssCalls()).To(Equal(calls), "triage makes no HSS call")

	// At its expiry, on the controller's clock, the results open again.
	h.clock.Step(49 * time.Hour)
	h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(BeEmpty())
		g.Expect(obj.Status.Summary.Accepted).To(BeNil())
		g.Expect(obj.Status.Summary.Open.Total()).To(Equal(sev.Total()))
	})
	h.g.Expect(skipped(h.resultsOf(h.g, h.reports(h.g, "web")["team/app:v0"]))).To(BeEmpty())
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.eventsAbout(g, "ImageScan", scanv1.EventExceptionExpired)).To(ContainElement(ContainSubstring("base-image expired: the 2 results")))
		g.Expect(h.eventsAbout(g, "VulnerabilityException", scanv1.EventExceptionExpired)).To(HaveLen(1))
		exc := h.exception(g, "base-image")
		g.Expect(meta(exc.Status.Conditions).Reason).To(Equal(scanv1.ReasonExpired))
		g.Expect(exc.Status.Results).To(BeZero())
	}).Within(20 * time.Second).Should(Succeed())

	// Deleting an exception opens what it accepted.
	h.createException("short-lived", h.accepting(first.Policy))
	h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(HaveLen(1))
	})
	h.g.Expect(env.Client.Delete(context.Background(), h.exception(h.g, "short-lived"))).To(Succeed())
	h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(BeEmpty())
		g.Expect(obj.Status.Summary.Open.Total()).To(Equal(sev.Total()))
	})
	h.g.Expect(skipped(h.resultsOf(h.g, h.reports(h.g, "web")["team/app:v0"]))).To(BeEmpty())
	h.g.Expect(h.hssCalls()).To(Equal(calls), "triage makes no HSS call")
}

func meta(conds []metav1.Condition) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == scanv1.ConditionReady {
			return &conds[i]
		}
	}
	return nil
}

// Two namespaces scan the same image; an exception in one accepts nothing
// in the other, which decides the opposite.
func TestExceptionsStayInTheirNamespace(t *testing.T) {
	accepts, refuses := newHarness(t, simulator.Config{}), newHarness(t, simulator.Config{})
	var policy string
	for _, h := range []*harness{accepts, refuses} {
		h.createSecret(validSecret())
		rep := h.oneImageWithDetails("web", 30)
		policy = h.resultsOf(h.g, rep)[0].Policy
	}
	accepts.createException("accept", accepts.accepting(policy))
	other := refuses.accepting("HSS-VUL-NONE")
	other.Images = []scanv1.ImagePattern{{Organization: "team", Repository: "app"}}
	refuses.createException("nothing-here", other)
	accepts.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(Equal([]scanv1.ExceptionUse{{Name: "accept", Results: 1, Images: 1, Examples: []string{"team/app:v0"}}}))
	})
	refuses.g.Eventually(func(g Gomega) {
		g.Expect(refuses.exception(g, "nothing-here").Status.ObservedGeneration).To(Equal(int64(1)))
	}).Within(20 * time.Second).Should(Succeed())
	obj := refuses.get("web")
	refuses.g.Expect(obj.Status.Exceptions).To(BeEmpty())
	refuses.g.Expect(obj.Status.Summary.Accepted).To(BeNil())
	refuses.g.Expect(skipped(refuses.resultsOf(refuses.g, refuses.reports(refuses.g, "web")["team/app:v0"]))).To(BeEmpty())
	accepts.g.Expect(skipped(accepts.resultsOf(accepts.g, accepts.reports(accepts.g, "web")["team/app:v0"]))).To(HaveKey(policy))
}

// An exception applied while a round scans marks the list when it is
// read; the next round's vulnerabilities that the image did not have are
// new, counted, announced and in the Report with their round, while the
// first round is the baseline.
func TestMidRoundExceptionAndNewVulnerabilities(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, func(_ int, img *simulator.Image) { img.Vulnerabilities = 40 })
	h.scan("web", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails, MinSeverity: scanv1.SeverityLow})
	h.accepted("web", 1)
	img, _ := h.sim.Lookup(simulator.TypePrivate, "team", "app", "v0")
	id := *h.sim.Vulnerabilities(img)[0].VulId
	h.createException("mid-round", h.accepting(id))
	h.finishScans()
	obj := h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
		g.Expect(obj.Status.Exceptions).To(Equal([]scanv1.ExceptionUse{{Name: "mid-round", Results: 1, Images: 1, Examples: []string{"team/app:v0"}}}))
	})
	h.g.Expect(obj.Status.Summary.New).To(BeNil(), "the first round is the baseline")
	h.g.Expect(h.eventNotes(h.g, scanv1.EventNewVulnerabilities)).To(BeEmpty())

	// Five more vulnerabilities in the image, found by the next round.
	img.Vulnerabilities = 45
	h.sim.AddImages(img)
	h.requestRescan("web")
	obj = h.readyInRound("web", 2)
	results := h.resultsOf(h.g, h.reports(h.g, "web")["team/app:v0"])
	var fresh int64
	for _, r := range results {
		h.g.Expect(r.Properties).To(HaveKey(scanv1.PropertyFirstSeenRound))
		if r.Properties[scanv1.PropertyFirstSeenRound] == "2" {
			fresh++
			h.g.Expect(r.Result).NotTo(Equal(openreports.Result("skip")))
		}
	}
	h.g.Expect(fresh).To(Equal(int64(5)))
	h.g.Expect(obj.Status.Summary.New).NotTo(BeNil())
	h.g.Expect(obj.Status.Summary.New.Total()).To(Equal(fresh))
	h.g.Expect(skipped(results)).To(Equal(map[string]string{id: "mid-round"}), "still accepted in the next round")
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.eventNotes(g, scanv1.EventNewVulnerabilities)).To(ConsistOf(ContainSubstring("Round 2 found 5 open vulnerabilities")))
	}).Within(20 * time.Second).Should(Succeed())

	// A third round that finds the same: nothing is new.
	h.requestRescan("web")
	obj = h.readyInRound("web", 3)
	h.g.Expect(obj.Status.Summary.New).To(BeNil())
	h.g.Expect(obj.Status.Summary.Accepted.Total()).To(Equal(int64(1)))
}

// An exception whose expiry is past the platform's maximum, counted from
// when it last changed, accepts nothing and says why.
func TestAnExceptionBeyondThePlatformMaximumAcceptsNothing(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) { r.MaxExceptionDuration = 24 * time.Hour })
	h.createSecret(validSecret())
	rep := h.oneImageWithDetails("web", 20)
	policy := h.resultsOf(h.g, rep)[0].Policy
	h.createException("too-long", h.accepting(policy))
	h.g.Eventually(func(g Gomega) {
		ready := meta(h.exception(g, "too-long").Status.Conditions)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(scanv1.ReasonExpiryBeyondMaximum))
		g.Expect(ready.Message).To(ContainSubstring("at most 24h0m0s"))
	}).Within(20 * time.Second).Should(Succeed())
	h.g.Expect(h.get("web").Status.Exceptions).To(BeEmpty())

	// Brought within the maximum, it is in force.
	exc := h.exception(h.g, "too-long")
	exc.Spec.ExpiresAt = metav1.NewTime(h.clock.Now().Add(12 * time.Hour))
	h.g.Expect(env.Client.Update(context.Background(), exc)).To(Succeed())
	h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(Equal([]scanv1.ExceptionUse{{Name: "too-long", Results: 1, Images: 1, Examples: []string{"team/app:v0"}}}))
	})
}

// What admission refuses, each with a message that says what to fix.
func TestBadExceptionsAreRefusedAtAdmission(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	valid := func() scanv1.VulnerabilityExceptionSpec { return h.accepting("HSS-VUL-2024-00001") }
	for name, c := range map[string]struct {
		mutate func(*scanv1.VulnerabilityExceptionSpec)
		want   string
	}{
		"no vulnerability":   {func(s *scanv1.VulnerabilityExceptionSpec) { s.Vulnerabilities = nil }, "spec.vulnerabilities"},
		"empty reason":       {func(s *scanv1.VulnerabilityExceptionSpec) { s.Reason = "" }, "spec.reason"},
		"blank reason":       {func(s *scanv1.VulnerabilityExceptionSpec) { s.Reason = "  \t" }, "reason must say why the risk is accepted"},
		"no expiry":          {func(s *scanv1.VulnerabilityExceptionSpec) { s.ExpiresAt = metav1.Time{} }, "spec.expiresAt"},
		"empty pattern":      {func(s *scanv1.VulnerabilityExceptionSpec) { s.Images = []scanv1.ImagePattern{{}} }, "needs at least one of organization, repository or tag"},
		"empty ID":           {func(s *scanv1.VulnerabilityExceptionSpec) { s.Vulnerabilities = []string{""} }, "spec.vulnerabilities[0]"},
		"duplicate IDs":      {func(s *scanv1.VulnerabilityExceptionSpec) { s.Vulnerabilities = []string{"A", "A"} }, "Duplicate value"},
		"long remark to HSS": {func(s *scanv1.VulnerabilityExceptionSpec) { s.WriteBack, s.Reason = true, strings.Repeat("r", 600) }, "at most 512 characters"},
	} {
		t.Run(name, func(t *testing.T) {
			spec := valid()
			c.mutate(&spec)
			exc := &scanv1.VulnerabilityException{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: h.ns}, Spec: spec}
			err := env.Client.Create(context.Background(), exc)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(c.want)))
		})
	}
	// The valid one is taken.
	h.createException("good", valid())
}

// With write-back, an exception marks what it accepts ignored in HSS, with
// its reason as the remark, for ImageScans on the namespace's own
// credentials, one call per exception and kind of vulnerability; its end
// unmarks them. On the platform's credentials nothing is written to HSS.
func TestWriteBackIgnoresInHSSOnlyOnTheNamespacesOwnIdentity(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	rep := h.oneImageWithDetails("web", 40)
	results := h.resultsOf(h.g, rep)
	ids := []string{results[0].Policy, results[1].Policy}
	spec := h.accepting(ids...)
	spec.WriteBack = true
	h.createException("write-back", spec)
	h.g.Eventually(func(g Gomega) {
		ignored := h.sim.Ignored(rep.Status.ImageID)
		g.Expect(ignored).To(HaveLen(2))
		g.Expect(ignored[ids[0]]).To(Equal("VulnerabilityException write-back: no fixed base image yet"))
		irep := h.reports(g, "web")["team/app:v0"]
		g.Expect(irep.Status.Triage).NotTo(BeNil())
		g.Expect(irep.Status.Triage.WriteBackPending).To(BeZero())
		for _, r := range h.resultsOf(g, irep) {
			g.Expect(r.Properties[scanv1.PropertyIgnoredInHSS] == "true").To(Equal(slices.Contains(ids, r.Policy)), r.Policy)
		}
	}).Within(20 * time.Second).Should(Succeed())
	calls := len(h.sim.Handlings())
	h.g.Expect(calls).To(BeNumerically("<=", 2), "one call per kind of vulnerability")
	for _, c := range h.sim.Handlings() {
		h.g.Expect(c.Request.OperateType).To(Equal("ignore"))
		h.g.Expect(c.Request.SelectType).To(Equal("image_view"))
	}

	// A rescan keeps the marks without calling HSS again.
	h.requestRescan("web")
	h.readyInRound("web", 2)
	h.g.Expect(h.sim.Handlings()).To(HaveLen(calls))

	h.g.Expect(env.Client.Delete(context.Background(), h.exception(h.g, "write-back"))).To(Succeed())
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.sim.Ignored(rep.Status.ImageID)).To(BeEmpty())
		irep := h.reports(g, "web")["team/app:v0"]
		for _, r := range h.resultsOf(g, irep) {
			g.Expect(r.Properties).NotTo(HaveKey(scanv1.PropertyIgnoredInHSS))
		}
	}).Within(20 * time.Second).Should(Succeed())
	for _, c := range h.sim.Handlings()[calls:] {
		h.g.Expect(c.Request.OperateType).To(Equal("not_ignore"))
	}

	// The platform's identity: accepted in the reports, nothing in HSS.
	p := newHarnessWith(t, simulator.Config{}, func(h *harness, r *controller.ImageScanReconciler) {
		r.Defaults.CredentialsSecret = types.NamespacedName{Namespace: h.ns, Name: secretName}
	})
	p.platform = true
	p.createSecret(validSecret())
	prep := p.oneImageWithDetails("web", 40)
	pspec := p.accepting(p.resultsOf(p.g, prep)[0].Policy)
	pspec.WriteBack = true
	p.createException("write-back", pspec)
	p.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Exceptions).To(HaveLen(1))
	})
	p.g.Expect(p.sim.Handlings()).To(BeEmpty())
	p.g.Expect(p.sim.Counts()).NotTo(HaveKey(simulator.OpHandle))
}
