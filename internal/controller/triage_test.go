package controller

import (
	"context"
	"testing"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

func rulesOf(t *testing.T, excs ...scanv1.VulnerabilityException) triage.Set {
	t.Helper()
	s, _ := triage.Compile(excs, time.Now(), time.Hour*24)
	return s
}

func acceptException(name string, writeBack bool, ids ...string) scanv1.VulnerabilityException {
	return scanv1.VulnerabilityException{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec: scanv1.VulnerabilityExceptionSpec{
			Vulnerabilities: ids, Reason: "accepted", ExpiresAt: metav1.NewTime(time.Now().Add(time.Hour)), WriteBack: writeBack,
		},
	}
}

// Where Reports are not served, a list read in a round is marked where it
// lies, in the ImageReport, and counted open and accepted; a later change
// of the exceptions marks the kept list again, with first-seen rounds kept.
func TestTriageMarksAListKeptInTheImageReport(t *testing.T) {
	r := &ImageScanReconciler{Options: Options{Clock: clock.RealClock{}}}
	obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	p := &pass{obj: obj, rules: rulesOf(t, acceptException("base", false, "A"))}
	list := []scanv1.Vulnerability{
		{ID: "A", Severity: scanv1.SeverityCritical}, {ID: "B", Severity: scanv1.SeverityHigh, CVEs: []scanv1.CVE{{ID: "CVE-1"}}},
	}
	all := &scanv1.Severities{Critical: 1, High: 1, Low: 7}
	m := &member{key: rounds.Key{Namespace: "team", Name: "app", Tag: "v1"}, status: scanv1.ImageReportStatus{
		Round: 3, ImageID: "sha256:i", Findings: &scanv1.Findings{Severities: all}, Vulnerabilities: list,
	}}
	m.previous = []scanv1.Vulnerability{{ID: "A", FirstSeenRound: 1}}
	m.written.ImageID = "sha256:i"
	r.triageMember(context.Background(), p, m)

	s := m.status
	if s.Vulnerabilities[0].AcceptedBy != "base" || s.Vulnerabilities[1].AcceptedBy != "" {
		t.Errorf("marks %+v", s.Vulnerabilities)
	}
	if s.Vulnerabilities[0].FirstSeenRound != 1 || s.Vulnerabilities[1].FirstSeenRound != 3 {
		t.Errorf("first seen %+v", s.Vulnerabilities)
	}
	if *s.Findings.Accepted != (scanv1.Severities{Critical: 1}) || *s.Findings.Open != (scanv1.Severities{High: 1, Low: 7}) ||
		*s.Findings.New != (scanv1.Severities{High: 1}) {
		t.Errorf("counts %+v %+v %+v", s.Findings.Accepted, s.Findings.Open, s.Findings.New)
	}
	if s.Triage == nil || s.Triage.Key != p.rulesFor(m.key).Key() || len(s.Triage.Exceptions) != 1 {
		t.Errorf("triage %+v", s.Triage)
	}
	if all.Critical != 1 || m.written.Findings != nil {
		t.Error("what HSS counted, and the status saved, are left alone")
	}

	// Saved; then the exception names B's CVE instead.
	m.saved()
	m.previous = list
	changed := acceptException("base", false, "cve-1")
	changed.Generation = 2
	p.rules = rulesOf(t, changed)
	r.triageMember(context.Background(), p, m)
	s = m.status
	if s.Vulnerabilities == nil || s.Vulnerabilities[0].AcceptedBy != "" || s.Vulnerabilities[1].AcceptedBy != "base" {
		t.Fatalf("marked again: %+v", s.Vulnerabilities)
	}
	if s.Vulnerabilities[1].FirstSeenRound != 3 || *s.Findings.Accepted != (scanv1.Severities{High: 1}) {
		t.Errorf("after the change: %+v %+v", s.Vulnerabilities, s.Findings.Accepted)
	}

	// And under the same exceptions, nothing changes.
	m.saved()
	before := m.status
	r.triageMember(context.Background(), p, m)
	if m.status.Triage != before.Triage || m.status.Vulnerabilities != nil {
		t.Error("a list marked under the same exceptions is left as it is")
	}
}

// A writing-back exception on the namespace's own identity, with no HSS
// client at hand, leaves its marks pending, to be tried again.
func TestWriteBackWithoutAClientIsPending(t *testing.T) {
	r := &ImageScanReconciler{Options: Options{Clock: clock.RealClock{}}}
	obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: scanv1.ImageScanSpec{CredentialsRef: &scanv1.SecretReference{Name: "own"}}}
	p := &pass{obj: obj, rules: rulesOf(t, acceptException("base", true, "A"))}
	m := &member{key: rounds.Key{Namespace: "team", Name: "app", Tag: "v1"}, status: scanv1.ImageReportStatus{
		Round: 1, ImageID: "sha256:i", Findings: &scanv1.Findings{Severities: &scanv1.Severities{High: 1}},
		Vulnerabilities: []scanv1.Vulnerability{{ID: "A", Severity: scanv1.SeverityHigh}},
	}}
	r.triageMember(context.Background(), p, m)
	if m.status.Triage == nil || m.status.Triage.WriteBackPending != 1 || m.status.Vulnerabilities[0].IgnoredInHSS {
		t.Errorf("triage %+v, list %+v", m.status.Triage, m.status.Vulnerabilities)
	}
	if !stale(m.status, p.rulesFor(m.key).Key()) {
		t.Error("pending marks make the list stale, to be marked again")
	}
}

func TestWritesBackOnlyOnTheNamespacesOwnIdentity(t *testing.T) {
	r := &ImageScanReconciler{Defaults: Defaults{CredentialsSecret: types.NamespacedName{Namespace: "platform", Name: "hss"}}}
	for _, c := range []struct {
		name string
		spec scanv1.ImageScanSpec
		ns   string
		want bool
	}{
		{"its own Secret", scanv1.ImageScanSpec{CredentialsRef: &scanv1.SecretReference{Name: "own"}}, "team", true},
		{"its own ServiceAccount", scanv1.ImageScanSpec{ServiceAccountName: "scanner"}, "team", true},
		{"the platform's default", scanv1.ImageScanSpec{}, "team", false},
		{"the platform's Secret, named from its namespace", scanv1.ImageScanSpec{CredentialsRef: &scanv1.SecretReference{Name: "hss"}}, "platform", false},
	} {
		obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns}, Spec: c.spec}
		if got := r.writesBack(obj); got != c.want {
			t.Errorf("%s: writesBack = %t, want %t", c.name, got, c.want)
		}
	}
}

func TestHandleBatchesGroupByExceptionAndKind(t *testing.T) {
	rules := rulesOf(t, acceptException("a", true, "X", "Y"), acceptException("b", true, "Z"))
	fs := []triage.Finding{{ID: "X"}, {ID: "Y", App: true}, {ID: "Z"}, {ID: "W", IgnoredInHSS: true, App: true}}
	out := triage.Mark(fs, rules, nil, triage.Round{N: 1}, true)
	got := handleBatches(rules, fs, out)
	want := []handleBatch{
		{hss.HandleIgnore, hss.KindLinux, "VulnerabilityException a: accepted", []int{0}},
		{hss.HandleIgnore, hss.KindApp, "VulnerabilityException a: accepted", []int{1}},
		{hss.HandleIgnore, hss.KindLinux, "VulnerabilityException b: accepted", []int{2}},
		{hss.HandleNotIgnore, hss.KindApp, "", []int{3}},
	}
	if len(got) != len(want) {
		t.Fatalf("batches %+v", got)
	}
	for i := range want {
		if got[i].operation != want[i].operation || got[i].kind != want[i].kind || got[i].remark != want[i].remark || len(got[i].findings) != 1 || got[i].findings[0] != want[i].findings[0] {
			t.Errorf("batch %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A Report's results marked again keep what HSS said and their first
// round, and read the accepting exception's name; a result no longer
// accepted fails or warns by its severity again.
func TestMarkingResultsAgain(t *testing.T) {
	results := []openreports.ReportResult{
		resultOfVulnerability(scanv1.Vulnerability{ID: "A", Severity: scanv1.SeverityHigh, FirstSeenRound: 2, AcceptedBy: "old"}),
		resultOfVulnerability(scanv1.Vulnerability{ID: "B", Severity: scanv1.SeverityLow, FirstSeenRound: 1, CVEs: []scanv1.CVE{{ID: "CVE-9"}}}),
	}
	if results[0].Result != "skip" || results[0].Properties[scanv1.PropertyException] != "old" {
		t.Fatalf("an accepted result: %+v", results[0])
	}
	fs := findingsOfResults(results)
	out := triage.Mark(fs, rulesOf(t, acceptException("new", false, "CVE-9")), nil, triage.Round{N: 3}, false)
	applyToResults(results, fs)
	if results[0].Result != "fail" || results[0].Properties[scanv1.PropertyException] != "" || results[0].Properties[scanv1.PropertyFirstSeenRound] != "2" {
		t.Errorf("no longer accepted: %+v", results[0])
	}
	if results[1].Result != "skip" || results[1].Properties[scanv1.PropertyException] != "new" || out.Accepted.Low != 1 {
		t.Errorf("accepted by CVE: %+v, %+v", results[1], out)
	}
	if s := summaryOf(results); s.Fail != 1 || s.Skip != 1 {
		t.Errorf("summary %+v", s)
	}
}
