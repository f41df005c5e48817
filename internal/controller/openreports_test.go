package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// openReports returns the ImageScan's OpenReports Reports by name, read
// from the API server, and checks that each is controlled by the
// ImageReport of its name and scoped to it.
func (h *harness) openReports(g Gomega, name string) map[string]openreports.Report {
	var list openreports.ReportList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(h.ns),
		client.MatchingLabels{scanv1.LabelImageScan: name})).To(Succeed())
	out := map[string]openreports.Report{}
	for _, rep := range list.Items {
		owner := &scanv1.ImageReport{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: rep.Name}, owner)).To(Succeed())
		ref := metav1.GetControllerOf(&rep)
		g.Expect(ref).NotTo(BeNil(), "Report %s has a controller", rep.Name)
		g.Expect(ref.Kind).To(Equal("ImageReport"))
		g.Expect(ref.UID).To(Equal(owner.UID))
		g.Expect(rep.Scope).NotTo(BeNil())
		g.Expect(*rep.Scope).To(HaveField("UID", owner.UID))
		g.Expect(rep.Scope.Kind).To(Equal("ImageReport"))
		g.Expect(rep.Source).To(Equal("HSS"))
		rep.Results = withoutFirstSeen(g, rep.Results)
		out[rep.Name] = rep
	}
	return out
}

// resultsOf returns the results of the Report an ImageReport links to.
func (h *harness) resultsOf(g Gomega, irep scanv1.ImageReport) []openreports.ReportResult {
	g.Expect(irep.Status.OpenReport).NotTo(BeNil(), "%s links its Report", irep.Spec.Reference)
	rep := &openreports.Report{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: irep.Namespace, Name: irep.Status.OpenReport.Name}, rep)).To(Succeed())
	return withoutFirstSeen(g, rep.Results)
}

// withoutFirstSeen checks that each result says when it was first seen,
// as a time, and leaves that out, for results to compare with those
// expected whatever the round's start.
func withoutFirstSeen(g Gomega, results []openreports.ReportResult) []openreports.ReportResult {
	for _, r := range results {
		_, err := time.Parse(time.RFC3339, r.Properties[scanv1.PropertyFirstSeen])
		g.Expect(err).NotTo(HaveOccurred(), "%s says when it was first seen", r.Policy)
		delete(r.Properties, scanv1.PropertyFirstSeen)
	}
	return results
}

// expectedResult is how a vulnerability reads in a Report: its ID as the
// policy, its catalogue title as the message, and the texts every image
// shares left to the link.
func expectedResult(e scanv1.Vulnerability) openreports.ReportResult {
	result := "warn"
	if e.Severity == scanv1.SeverityCritical || e.Severity == scanv1.SeverityHigh {
		result = "fail"
	}
	props := map[string]string{"package": e.Package, "installedVersion": e.Version, "layer": e.Layer[:len("sha256:")+12], "url": e.URL}
	if e.Path != "" {
		props["path"] = e.Path
		if len(e.Path) > 128 { // the tail, which names the file
			props["path"] = "..." + e.Path[len(e.Path)-125:]
		}
	}
	if e.CVSS != "" {
		props["cvss"] = e.CVSS
	}
	var ids []string
	for _, c := range e.CVEs {
		ids = append(ids, c.ID)
	}
	if len(ids) > 0 {
		props["cves"] = strings.Join(ids, ",")
	}
	if e.FirstSeenRound > 0 {
		props["firstSeenRound"] = strconv.FormatInt(e.FirstSeenRound, 10)
	}
	return openreports.ReportResult{
		Source: "HSS", Policy: e.ID, Category: "Vulnerability Scan", Severity: openreports.ResultSeverity(strings.ToLower(string(e.Severity))),
		Result: openreports.Result(result), Description: e.Title, Properties: props,
	}
}

// sortBySeverity orders entries as reports do: most urgent first, then by ID.
func sortBySeverity(entries []scanv1.Vulnerability) {
	slices.SortStableFunc(entries, func(a, b scanv1.Vulnerability) int {
		if d := rankOf[a.Severity] - rankOf[b.Severity]; d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// expectedResults are an image's results of severity lowest and above,
// most urgent first, and its counts of every severity.
func expectedResults(sim *simulator.Server, img simulator.Image, lowest scanv1.Severity) ([]openreports.ReportResult, scanv1.Severities) {
	var entries []scanv1.Vulnerability
	var counts scanv1.Severities
	for _, v := range sim.Vulnerabilities(img) {
		e := expectedEntry(sim, v)
		counts.Count(e.Severity)
		if rankOf[e.Severity] <= rankOf[lowest] {
			entries = append(entries, e)
		}
	}
	sortBySeverity(entries)
	out := make([]openreports.ReportResult, 0, len(entries))
	for _, e := range entries {
		out = append(out, expectedResult(e))
	}
	return out, counts
}

// With Details, each image with critical or high vulnerabilities gets one
// Report, validated by the OpenReports CRD, holding what HSS found image by
// image; its ImageReport keeps the counts and the link. A rescan with the
// same results writes no Report, and a round that reads no list withdraws
// them.
func TestDetailsGoToOneOpenReportPerImage(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	counts := []int32{250, 40, 0}
	refs := h.images("team", "app", len(counts), func(i int, img *simulator.Image) { img.Vulnerabilities = counts[i] })
	h.scan("found", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails})
	h.readyInRound("found", 1)

	reps := h.openReports(h.g, "found")
	h.g.Expect(reps).To(HaveLen(2), "none for the image without vulnerabilities")
	h.g.Expect(h.get("found").Spec.MinSeverity).To(Equal(scanv1.SeverityHigh), "the default")
	versions := map[string]string{}
	for ref, irep := range h.reports(h.g, "found") {
		img, _ := h.sim.Lookup(simulator.TypePrivate, "team", "app", irep.Spec.Image.Tag)
		want, sev := expectedResults(h.sim, img, scanv1.SeverityHigh)
		h.g.Expect(irep.Status.Vulnerabilities).To(BeEmpty(), "the list lives in the Report")
		if len(want) == 0 {
			h.g.Expect(irep.Status.OpenReport).To(BeNil(), ref)
			h.g.Expect(reps).NotTo(HaveKey(irep.Name))
			continue
		}
		sev.Basis = scanv1.BasisCatalogue
		h.g.Expect(irep.Status.Findings.Severities).To(HaveValue(Equal(sev)), ref)
		rep, ok := reps[irep.Name]
		h.g.Expect(ok).To(BeTrue(), ref)
		h.g.Expect(rep.Results).To(Equal(want), ref)
		h.g.Expect(rep.Summary).To(Equal(openreports.ReportSummary{Fail: int(sev.Critical + sev.High)}))
		h.g.Expect(rep.Configuration.Limits.StatusFilter).To(ConsistOf(openreports.StatusFilter("fail")), "failures only")
		h.g.Expect(rep.Labels).To(HaveKeyWithValue(scanv1.LabelTag, irep.Spec.Image.Tag))
		h.g.Expect(rep.Annotations).NotTo(HaveKey(scanv1.AnnotationResultsOmitted))
		h.g.Expect(irep.Status.OpenReport).To(HaveValue(And(
			HaveField("Name", rep.Name), HaveField("Results", int32(len(want))), HaveField("Omitted", int32(0)))), ref)
		versions[rep.Name] = rep.ResourceVersion
	}

	// The same image scanned again finds the same: no Report is written
	// (an update would be refused now, and seen).
	freezeReports(t, h.ns)
	h.requestRescan("found")
	h.readyInRound("found", 2)
	for name, rep := range h.openReports(h.g, "found") {
		h.g.Expect(rep.ResourceVersion).To(Equal(versions[name]), "%s was not written again", name)
	}
	for ref, irep := range h.reports(h.g, "found") {
		h.g.Expect(irep.Status.ScanStatus).To(Equal("success"), ref)
		h.g.Expect(irep.Status.Round).To(Equal(int64(2)), ref)
	}

	// Counts alone: the Reports go with the lists.
	h.update("found", func(o *scanv1.ImageScan) { o.Spec.Vulnerabilities = scanv1.VulnerabilitiesSummary })
	h.readyInRound("found", 3)
	h.g.Eventually(func(g Gomega) { g.Expect(h.openReports(g, "found")).To(BeEmpty()) }, 10*time.Second).Should(Succeed())
	for ref, irep := range h.reports(h.g, "found") {
		h.g.Expect(irep.Status.OpenReport).To(BeNil(), ref)
	}
}

// A Report the API server will not take (here a policy caps its results,
// as a request over etcd's limit would be refused) loses its lowest
// severities until it is taken, and says how many it left out; the counts
// still cover them.
func TestAReportTheAPIServerRefusesLosesItsLowestSeverities(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	const most = 40
	capResults(t, h.ns, most)
	refs := h.images("legacy", "monolith", 1, func(_ int, img *simulator.Image) { img.Vulnerabilities = 150 })
	h.scan("big", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails, MinSeverity: scanv1.SeverityLow})
	h.readyInRound("big", 1)

	irep := h.reports(h.g, "big")["legacy/monolith:v0"]
	rep := h.openReports(h.g, "big")[irep.Name]
	kept := len(rep.Results)
	h.g.Expect(kept).To(BeNumerically(">", 0))
	h.g.Expect(kept).To(BeNumerically("<=", most))
	h.g.Expect(rep.Annotations).To(HaveKeyWithValue(scanv1.AnnotationResultsOmitted, strconv.Itoa(150-kept)))
	h.g.Expect(irep.Status.OpenReport).To(HaveValue(And(HaveField("Results", int32(kept)), HaveField("Omitted", int32(150-kept)))))
	sev := irep.Status.Findings.Severities
	h.g.Expect(sev.Critical + sev.High + sev.Medium + sev.Low).To(Equal(int64(150)))
	// Whole severities were dropped, the lowest first.
	lowest := rep.Results[kept-1].Severity
	var sameAsLowest int64
	for _, r := range rep.Results {
		if r.Severity == lowest {
			sameAsLowest++
		}
	}
	h.g.Expect(sameAsLowest).To(Equal(*severityField(sev, lowest)), "the lowest kept severity is whole")
	h.g.Expect(irep.Status.ScanStatus).To(Equal("success"))
}

func severityField(s *scanv1.Severities, sev openreports.ResultSeverity) *int64 {
	return map[openreports.ResultSeverity]*int64{"critical": &s.Critical, "high": &s.High, "medium": &s.Medium, "low": &s.Low}[sev]
}

// capResults makes the API server refuse Reports of more than n results
// in namespace ns.
func capResults(t *testing.T, ns string, n int) {
	probe := &openreports.Report{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}, Source: "probe",
		Results: make([]openreports.ReportResult, n+1)}
	for i := range probe.Results {
		probe.Results[i] = openreports.ReportResult{Policy: "p" + strconv.Itoa(i)}
	}
	denyReports(t, ns, "!has(object.results) || size(object.results) <= "+strconv.Itoa(n), func(ctx context.Context) error {
		return env.Client.Create(ctx, probe.DeepCopy(), client.DryRunAll)
	})
}

// freezeReports makes the API server refuse every change to an existing
// Report in namespace ns: a manager that sends one is seen.
func freezeReports(t *testing.T, ns string) {
	ctx := context.Background()
	probe := &openreports.Report{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}, Source: "probe"}
	NewWithT(t).Expect(env.Client.Create(ctx, probe)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(ctx, probe) })
	denyReports(t, ns, "request.operation != 'UPDATE'", func(ctx context.Context) error {
		changed := probe.DeepCopy()
		changed.Source = "changed"
		return env.Client.Update(ctx, changed, client.DryRunAll)
	})
}

// denyReports makes the API server refuse Reports in namespace ns for
// which expression (CEL, over object and request) is false, with a
// ValidatingAdmissionPolicy, and waits until probe is refused.
func denyReports(t *testing.T, ns, expression string, probe func(context.Context) error) {
	ctx := context.Background()
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-" + ns},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"openreports.io"}, APIVersions: []string{"*"}, Resources: []string{"reports"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: expression, Message: "refused by the test's policy"}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-" + ns},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
		},
	}
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, policy)).To(Succeed())
	g.Expect(env.Client.Create(ctx, binding)).To(Succeed())
	t.Cleanup(func() {
		_ = env.Client.Delete(ctx, binding)
		_ = env.Client.Delete(ctx, policy)
	})
	g.Eventually(func() error {
		err := probe(ctx)
		if err == nil {
			return os.ErrExist // not in force yet
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return nil
		}
		return err
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
}

// Where the cluster does not serve openreports.io the lists stay in the
// ImageReports, and nothing fails; once the API appears, the next read
// lists go to Reports and the ImageReports let go of theirs.
func TestWithoutOpenReportsTheListsStayInImageReports(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	crd := uninstallOpenReports(t)
	refs := h.images("team", "app", 2, func(_ int, img *simulator.Image) { img.Vulnerabilities = 30 })
	h.scan("plain", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails, MinSeverity: scanv1.SeverityLow})
	h.readyInRound("plain", 1)
	for ref, irep := range h.reports(h.g, "plain") {
		img, _ := h.sim.Lookup(simulator.TypePrivate, "team", "app", irep.Spec.Image.Tag)
		var want []scanv1.Vulnerability
		for _, v := range h.sim.Vulnerabilities(img) {
			want = append(want, expectedEntry(h.sim, v))
		}
		sortBySeverity(want)
		for i := range irep.Status.Vulnerabilities {
			h.g.Expect(irep.Status.Vulnerabilities[i].FirstSeen).NotTo(BeNil())
			irep.Status.Vulnerabilities[i].FirstSeen = nil
		}
		h.g.Expect(irep.Status.Vulnerabilities).To(Equal(want), "%s holds every entry whole", ref)
		h.g.Expect(irep.Status.OpenReport).To(BeNil())
	}

	installOpenReports(t, crd)
	h.requestRescan("plain") // past the minute the manager trusts its last look
	h.readyInRound("plain", 2)
	reps := h.openReports(h.g, "plain")
	h.g.Expect(reps).To(HaveLen(2))
	for ref, irep := range h.reports(h.g, "plain") {
		h.g.Expect(irep.Status.Vulnerabilities).To(BeEmpty(), "%s let go of its list", ref)
		h.g.Expect(irep.Status.OpenReport).To(HaveValue(HaveField("Results", int32(30))), ref)
		h.g.Expect(reps[irep.Name].Results).To(HaveLen(30))
	}
}

// uninstallOpenReports deletes the Report CRD until the test ends, and
// returns it.
func uninstallOpenReports(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	g := NewWithT(t)
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "openreports", "openreports.io_reports.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(data, crd)).To(Succeed())
	g.Expect(env.Client.Delete(ctx, crd.DeepCopy())).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(crd), &apiextensionsv1.CustomResourceDefinition{}))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue())
	t.Cleanup(func() { installOpenReports(t, crd) })
	return crd
}

// installOpenReports creates the CRD again, unless it is there, and waits
// until Reports are served.
func installOpenReports(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
	g := NewWithT(t)
	ctx := context.Background()
	if err := env.Client.Create(ctx, crd.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Eventually(func() error {
		return env.Client.List(ctx, &openreports.ReportList{}, client.Limit(1))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// A Report whose link the ImageReport lost (a status write that never
// landed) is taken over on the next write, not refused as already there.
func TestAReportWhoseLinkWasLostIsTakenOver(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	irep := h.oneImageWithDetails("lost", 60)
	h.g.Expect(irep.Status.OpenReport).NotTo(BeNil())

	forgotten := irep.DeepCopy()
	forgotten.Status.OpenReport = nil
	h.g.Expect(env.Client.Status().Patch(context.Background(), forgotten, client.MergeFrom(&irep))).To(Succeed())
	h.requestRescan("lost")
	h.readyInRound("lost", 2)

	again := h.reports(h.g, "lost")["team/app:v0"]
	h.g.Expect(again.Status.ScanStatus).To(Equal("success"), again.Status.Message)
	h.g.Expect(again.Status.OpenReport).To(HaveValue(HaveField("Results", int32(60))))
	h.g.Expect(h.openReports(h.g, "lost")).To(HaveLen(1))
}
