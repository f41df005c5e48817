package controller

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

// How the namespace's VulnerabilityExceptions reach an image's results:
// the pass compiles those in force once, each list is marked when it is
// read, and a list marked under other exceptions than those that match its
// image now is marked again where it lies, with no HSS call.

// loadExceptions compiles the exceptions of the ImageScan's namespace that
// are in force now, from the cache.
func (r *ImageScanReconciler) loadExceptions(ctx context.Context, p *pass) error {
	var list scanv1.VulnerabilityExceptionList
	if err := r.List(ctx, &list, client.InNamespace(p.obj.Namespace)); err != nil && !meta.IsNoMatchError(err) {
		return err
	}
	now := r.Clock.Now()
	p.rules, p.rulesChange = triage.Compile(list.Items, now, r.MaxExceptionDuration)
	p.expired = map[string]bool{}
	for i := range list.Items {
		if triage.StateOf(&list.Items[i], now, r.MaxExceptionDuration).Reason == scanv1.ReasonExpired {
			p.expired[list.Items[i].Name] = true
		}
	}
	return nil
}

// rulesFor is the rules in force whose image patterns match k.
func (p *pass) rulesFor(k rounds.Key) triage.Set {
	return p.rules.For(triage.Image{Organization: k.Namespace, Repository: k.Name, Tag: k.Tag})
}

// triageMember brings m's counts up to date with the exceptions before it
// is saved: it marks a list just read that stays in the ImageReport, and
// asks for a list marked under other exceptions to be marked again. A list
// that goes to an OpenReports Report is marked by publish, which holds the
// Report.
func (r *ImageScanReconciler) triageMember(ctx context.Context, p *pass, m *member) {
	s := &m.status
	if s.Findings == nil || s.Findings.Severities == nil {
		return
	}
	key := p.rulesFor(m.key).Key()
	served := r.reports.serves(r.Clock.Now())
	switch {
	case s.Vulnerabilities != nil && served:
		return // publish marks it
	case s.Vulnerabilities != nil:
		fs := findingsOfList(s.Vulnerabilities)
		out, pending := r.mark(ctx, p, m, fs, seenOfList(m.previous, m.written.ImageID == s.ImageID))
		applyToList(s.Vulnerabilities, fs)
		setTriage(s, key, out, pending)
	case !stale(m.written, key):
	case m.written.OpenReport != nil && served:
		// Marked again by publish, from the Report.
		s.Triage = &scanv1.ReportTriage{Key: key}
		if t := m.written.Triage; t != nil {
			s.Triage.Exceptions = t.Exceptions
		}
		s.Triage.WriteBackPending = remarkRequested
	case m.previous != nil && !served:
		list := slices.Clone(m.previous)
		fs := findingsOfList(list)
		for i := range fs {
			// Saved before rounds were recorded: the baseline.
			fs[i].FirstSeenRound = max(fs[i].FirstSeenRound, 1)
		}
		out, pending := r.mark(ctx, p, m, fs, nil)
		applyToList(list, fs)
		setTriage(s, key, out, pending)
		s.Vulnerabilities = list
	case m.written.Triage != nil:
		// The list is gone: nothing is accepted any more.
		setTriage(s, "", triage.Outcome{}, 0)
	}
	// An image with no list to mark is left as it is: nothing to accept,
	// and nothing to write but its open counts, once.
	if s.Findings.Open == nil {
		ownFindings(s).Open = triage.Open(s.Findings.Severities, ptrValue(s.Findings.Accepted))
	}
}

// remarkRequested in a status to be saved makes it differ from the one
// saved, so that it is written, and publish marks the Report again first.
const remarkRequested = -1

// stale: a saved status was marked under other exceptions than key's, or
// left marks in HSS to write.
func stale(s scanv1.ImageReportStatus, key string) bool {
	return triageKey(s) != key || s.Triage != nil && s.Triage.WriteBackPending != 0
}

// triageKey is the key a saved status was marked under.
func triageKey(s scanv1.ImageReportStatus) string {
	if s.Triage == nil {
		return ""
	}
	return s.Triage.Key
}

// mark marks an image's findings by the rules that match it, and writes
// to HSS what the rules ask of it, where the ImageScan may; it returns the
// outcome and how many marks in HSS are still to write.
func (r *ImageScanReconciler) mark(ctx context.Context, p *pass, m *member, fs []triage.Finding, seen map[string]triage.Seen) (triage.Outcome, int32) {
	rules := p.rulesFor(m.key)
	round := triage.Round{N: m.status.Round}
	if p.round != nil && p.round.Round == m.status.Round {
		round.At = p.round.RequestedAt.UTC().Format(time.RFC3339)
	}
	out := triage.Mark(fs, rules, seen, round, r.writesBack(p.obj))
	return out, r.writeBack(ctx, p, m, rules, fs, out)
}

// setTriage writes a marking's counts into a status.
func setTriage(s *scanv1.ImageReportStatus, key string, out triage.Outcome, pending int32) {
	f := ownFindings(s)
	f.Accepted, f.New = nonZero(out.Accepted), nonZero(out.New)
	f.Open = triage.Open(f.Severities, out.Accepted)
	s.Triage = &scanv1.ReportTriage{Key: key, Exceptions: out.Uses[:min(len(out.Uses), scanv1.MaxExceptionScans)], WriteBackPending: pending}
	if key == "" && len(out.Uses) == 0 && pending == 0 {
		s.Triage = nil
	}
}

// ownFindings gives s findings of its own to change: a status to be saved
// starts as a shallow copy of the one saved, and the difference between
// the two is what is written.
func ownFindings(s *scanv1.ImageReportStatus) *scanv1.Findings {
	s.Findings = s.Findings.DeepCopy()
	return s.Findings
}

func nonZero(s scanv1.Severities) *scanv1.Severities {
	if s.Total() == 0 {
		return nil
	}
	return &s
}

// findingKey tells an entry apart from the image's others, as its result
// in a Report does.
func findingKey(v scanv1.Vulnerability) string {
	return triage.KeyOf(v.ID, v.Package, pathTail(v.Path))
}

func findingsOfList(list []scanv1.Vulnerability) []triage.Finding {
	fs := make([]triage.Finding, len(list))
	for i, v := range list {
		ids := make([]string, len(v.CVEs))
		for j, c := range v.CVEs {
			ids[j] = c.ID
		}
		fs[i] = triage.Finding{
			Key: findingKey(v), ID: v.ID, CVEs: ids, Severity: v.Severity, FirstSeenRound: v.FirstSeenRound,
			FirstSeenAt: timeText(v.FirstSeen), App: v.Path != "", IgnoredInHSS: v.IgnoredInHSS,
		}
	}
	return fs
}

func applyToList(list []scanv1.Vulnerability, fs []triage.Finding) {
	for i := range list {
		list[i].FirstSeenRound, list[i].IgnoredInHSS, list[i].AcceptedBy = fs[i].FirstSeenRound, fs[i].IgnoredInHSS, ""
		list[i].FirstSeen = parsedTime(fs[i].FirstSeenAt)
		if r := fs[i].AcceptedBy; r != nil {
			list[i].AcceptedBy = r.Name
		}
	}
}

// seenOfList is what an earlier list said of each entry; an ignore in HSS
// holds for the same image ID only.
func seenOfList(list []scanv1.Vulnerability, sameImage bool) map[string]triage.Seen {
	if list == nil {
		return nil
	}
	seen := make(map[string]triage.Seen, len(list))
	for _, v := range list {
		seen[findingKey(v)] = triage.Seen{Round: max(v.FirstSeenRound, 1), At: timeText(v.FirstSeen), Ignored: v.IgnoredInHSS && sameImage}
	}
	return seen
}

// seenOfResults is what an earlier Report said of each result.
func seenOfResults(results []openreports.ReportResult, sameImage bool) map[string]triage.Seen {
	seen := make(map[string]triage.Seen, len(results))
	for _, f := range findingsOfResults(results) {
		seen[f.Key] = triage.Seen{Round: f.FirstSeenRound, At: f.FirstSeenAt, Ignored: f.IgnoredInHSS && sameImage}
	}
	return seen
}

func resultKey(r openreports.ReportResult) string {
	return triage.KeyOf(r.Policy, r.Properties["package"], r.Properties["path"])
}

func findingsOfResults(results []openreports.ReportResult) []triage.Finding {
	fs := make([]triage.Finding, len(results))
	for i, r := range results {
		n, _ := strconv.ParseInt(r.Properties[scanv1.PropertyFirstSeenRound], 10, 64)
		var cves []string
		for _, id := range strings.Split(r.Properties["cves"], ",") {
			if id != "" && !strings.HasPrefix(id, "+") {
				cves = append(cves, id)
			}
		}
		fs[i] = triage.Finding{
			Key: resultKey(r), ID: r.Policy, CVEs: cves, FirstSeenRound: max(n, 1), FirstSeenAt: r.Properties[scanv1.PropertyFirstSeen],
			Severity: severityOfResult[r.Severity],
			App:      r.Properties["path"] != "", IgnoredInHSS: r.Properties[scanv1.PropertyIgnoredInHSS] == "true",
		}
	}
	return fs
}

func applyToResults(results []openreports.ReportResult, fs []triage.Finding) {
	for i := range results {
		var name string
		if a := fs[i].AcceptedBy; a != nil {
			name = a.Name
		}
		setResultTriage(&results[i], fs[i].Severity, name, fs[i].FirstSeenRound, fs[i].FirstSeenAt, fs[i].IgnoredInHSS)
	}
}

// timeText and parsedTime convert a first-seen time between a list's field
// and a Report's property.
func timeText(t *metav1.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func parsedTime(s string) *metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	return &metav1.Time{Time: t}
}

var severityOfResult = map[openreports.ResultSeverity]scanv1.Severity{
	"critical": scanv1.SeverityCritical, "high": scanv1.SeverityHigh, "medium": scanv1.SeverityMedium, "low": scanv1.SeverityLow,
}

// setResultTriage sets what triage says of a result: skip with the
// exception's name when accepted, else fail or warn by severity; the round
// it was first found in, and whether HSS has it ignored.
func setResultTriage(r *openreports.ReportResult, sev scanv1.Severity, acceptedBy string, firstSeen int64, firstSeenAt string, ignored bool) {
	if r.Properties == nil {
		r.Properties = map[string]string{}
	}
	r.Result = resultOfSeverity(sev)
	delete(r.Properties, scanv1.PropertyException)
	delete(r.Properties, scanv1.PropertyIgnoredInHSS)
	if ignored {
		r.Properties[scanv1.PropertyIgnoredInHSS] = "true"
	}
	if acceptedBy != "" {
		r.Result = "skip"
		r.Properties[scanv1.PropertyException] = acceptedBy
	}
	if firstSeen > 0 {
		r.Properties[scanv1.PropertyFirstSeenRound] = strconv.FormatInt(firstSeen, 10)
	}
	if firstSeenAt != "" {
		r.Properties[scanv1.PropertyFirstSeen] = firstSeenAt
	}
}

// resultOfSeverity: critical and high fail, medium and low warn, as peers
// map them.
func resultOfSeverity(sev scanv1.Severity) openreports.Result {
	if sev == scanv1.SeverityCritical || sev == scanv1.SeverityHigh {
		return "fail"
	}
	return "warn"
}

// summaryOf counts a Report's results by outcome.
func summaryOf(results []openreports.ReportResult) openreports.ReportSummary {
	var s openreports.ReportSummary
	for _, r := range results {
		switch r.Result {
		case "fail":
			s.Fail++
		case "skip":
			s.Skip++
		default:
			s.Warn++
		}
	}
	return s
}
