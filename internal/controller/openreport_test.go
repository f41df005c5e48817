package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

func TestReportStepOf(t *testing.T) {
	files := int64(3)
	link := &scanv1.OpenReportLink{Name: "r", Results: 2, Digest: "d"}
	ended := func(round int64, detail scanv1.VulnerabilityDetail) scanv1.ImageReportStatus {
		return scanv1.ImageReportStatus{Round: round, ScanStatus: hss.StatusSuccess, FilesCount: &files, Detail: detail}
	}
	withLink := func(s scanv1.ImageReportStatus) scanv1.ImageReportStatus { s.OpenReport = link; return s }
	withList := func(s scanv1.ImageReportStatus) scanv1.ImageReportStatus {
		s.Vulnerabilities = []scanv1.Vulnerability{{ID: "v"}}
		return s
	}
	for _, tc := range []struct {
		name    string
		s, prev scanv1.ImageReportStatus
		want    reportStep
	}{
		{"a list just read is published", withList(ended(2, scanv1.VulnerabilitiesDetails)), ended(1, scanv1.VulnerabilitiesDetails), publishReport},
		{"a list just read replaces the Report", withList(ended(2, scanv1.VulnerabilitiesDetails)), withLink(ended(1, scanv1.VulnerabilitiesDetails)), publishReport},
		{"no Report, nothing to do", ended(2, scanv1.VulnerabilitiesSummary), ended(1, scanv1.VulnerabilitiesDetails), keepReport},
		{"a pending scan keeps the last Report", scanv1.ImageReportStatus{Round: 2, ScanStatus: hss.StatusSuccess},
			withLink(ended(1, scanv1.VulnerabilitiesDetails)), keepReport},
		{"statistics after the list keep it", ended(2, scanv1.VulnerabilitiesDetails), withLink(ended(2, scanv1.VulnerabilitiesDetails)), keepReport},
		{"a new scan without vulnerabilities withdraws it", ended(2, scanv1.VulnerabilitiesDetails),
			withLink(ended(1, scanv1.VulnerabilitiesDetails)), withdrawReport},
		{"counts alone withdraw it", ended(2, scanv1.VulnerabilitiesSummary), withLink(ended(1, scanv1.VulnerabilitiesDetails)), withdrawReport},
		{"a failed scan withdraws it", scanv1.ImageReportStatus{Round: 2, ScanStatus: hss.StatusFailed},
			withLink(ended(1, scanv1.VulnerabilitiesDetails)), withdrawReport},
		{"an image HSS no longer lists withdraws it", scanv1.ImageReportStatus{Round: 2, ScanStatus: scanv1.ScanStatusNotFound},
			withLink(ended(1, scanv1.VulnerabilitiesDetails)), withdrawReport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reportStepOf(tc.s, tc.prev); got != tc.want {
				t.Fatalf("reportStepOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAnOpenReportMapsEachVulnerabilityAsPeersDo(t *testing.T) {
	owner := &scanv1.ImageReport{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "team", UID: "u1",
		Labels: map[string]string{scanv1.LabelImageScan: "web"}}}
	cves := make([]scanv1.CVE, 12)
	for i := range cves {
		cves[i] = scanv1.CVE{ID: "CVE-2024-" + string(rune('a'+i))}
	}
	list := []scanv1.Vulnerability{
		{ID: "V1", Severity: scanv1.SeverityCritical, Title: "openssl: overflow", Description: "long text", Solution: "upgrade",
			Package: "openssl", Version: "1.0", CVSS: "9.8", URL: "https://x/v1", CVEs: cves,
			Layer: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{ID: "V2", Severity: scanv1.SeverityMedium, Description: strings.Repeat("d", 500), Package: "zlib",
			Path: "/opt/" + strings.Repeat("vendor/", 40) + "zlib.jar"},
	}
	rep := openReportOf(owner, list, 3, scanv1.SeverityLow)

	if rep.Summary != (openreports.ReportSummary{Fail: 1, Warn: 1}) {
		t.Fatalf("summary %+v", rep.Summary)
	}
	if rep.Annotations[scanv1.AnnotationResultsOmitted] != "3" || rep.Labels[scanv1.LabelImageScan] != "web" {
		t.Fatalf("metadata %+v %+v", rep.Annotations, rep.Labels)
	}
	if rep.Scope.UID != "u1" || rep.Scope.Kind != "ImageReport" || rep.Configuration.Limits.MaxResults != maxReportResults {
		t.Fatalf("scope %+v", rep.Scope)
	}
	first := rep.Results[0]
	if first.Policy != "V1" || first.Severity != "critical" || first.Result != "fail" || first.Description != "openssl: overflow" {
		t.Fatalf("first result %+v", first)
	}
	if _, ok := first.Properties["description"]; ok || strings.Contains(strings.Join(mapValues(first.Properties), " "), "upgrade") {
		t.Fatalf("texts every image shares are left to the link: %v", first.Properties)
	}
	if got := first.Properties["cves"]; !strings.HasSuffix(got, ",+2 more") || strings.Count(got, "CVE-") != maxResultCVEs {
		t.Fatalf("cves %q", got)
	}
	if first.Properties["layer"] != "sha256:0123456789ab" {
		t.Fatalf("layer %q", first.Properties["layer"])
	}
	if rep.Configuration.Limits.StatusFilter != nil {
		t.Fatal("a Report listing warnings filters nothing")
	}
	if urgent := openReportOf(owner, list[:1], 0, scanv1.SeverityHigh); !slices.Equal(urgent.Configuration.Limits.StatusFilter, []openreports.StatusFilter{"fail"}) {
		t.Fatalf("a Report of critical and high ones says it holds failures only: %v", urgent.Configuration.Limits)
	}
	second := rep.Results[1]
	if p := second.Properties["path"]; len(p) != maxResultPath || !strings.HasSuffix(p, "/vendor/zlib.jar") || !strings.HasPrefix(p, "...") {
		t.Fatalf("path %q", p)
	}
	if second.Result != "warn" || len(second.Description) > maxResultMessage {
		t.Fatalf("second result %+v", second)
	}
	if digestOf(rep) != digestOf(openReportOf(owner, list, 3, scanv1.SeverityLow)) || digestOf(rep) == digestOf(openReportOf(owner, list, 4, scanv1.SeverityLow)) {
		t.Fatal("the digest follows the results and what was left out")
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestWithoutLeastUrgentDropsAWholeSeverity(t *testing.T) {
	list := []scanv1.Vulnerability{{Severity: scanv1.SeverityCritical}, {Severity: scanv1.SeverityHigh}, {Severity: scanv1.SeverityLow}, {Severity: scanv1.SeverityLow}}
	rest, dropped := withoutLeastUrgent(list)
	if len(rest) != 2 || dropped != 2 {
		t.Fatalf("kept %d, dropped %d", len(rest), dropped)
	}
	rest, dropped = withoutLeastUrgent(rest)
	if len(rest) != 1 || dropped != 1 || rest[0].Severity != scanv1.SeverityCritical {
		t.Fatalf("kept %v, dropped %d", rest, dropped)
	}
}

// The gate asks discovery once a minute of its clock, whatever the number
// of writes, again when the clock goes back, and at once after forget.
func TestTheReportsGateAsksDiscoveryOnceAMinute(t *testing.T) {
	fake := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	fake.Resources = []*metav1.APIResourceList{{GroupVersion: openreports.SchemeGroupVersion.String(),
		APIResources: []metav1.APIResource{{Name: "reports", Kind: "Report", Namespaced: true}}}}
	g := &reportsGate{disc: fake}
	start := time.Now()
	for _, step := range []struct {
		at     time.Duration
		forget bool
		asked  int
	}{{0, false, 1}, {0, false, 1}, {30 * time.Second, false, 1}, {61 * time.Second, false, 2}, {10 * time.Second, false, 3}, {10 * time.Second, true, 4}} {
		if step.forget {
			g.forget()
		}
		if !g.serves(start.Add(step.at)) {
			t.Fatalf("at %v: Reports are served", step.at)
		}
		if got := len(fake.Actions()); got != step.asked {
			t.Fatalf("at %v: discovery asked %d times, want %d", step.at, got, step.asked)
		}
	}
	fake.Resources = nil
	g.forget()
	if g.serves(start) {
		t.Fatal("a cluster without the group serves no Reports")
	}
}

// What the API server says when it will not hold an object: the report's
// content is at fault, and writing it again would fail again.
func TestUnwritableKnowsTheAPIServersRefusals(t *testing.T) {
	gr := schema.GroupResource{Group: "openreports.io", Resource: "reports"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"etcd's size limit", apierrors.NewInternalError(errors.New("etcdserver: request is too large")), true},
		{"etcd's gRPC limit", apierrors.NewInternalError(errors.New("rpc error: code = ResourceExhausted desc = trying to send message larger than max (3145771 vs. 2097152)")), true},
		{"the API server's body limit", apierrors.NewRequestEntityTooLargeError("limit is 3145728"), true},
		{"an admission policy", apierrors.NewForbidden(gr, "r", errors.New("denied")), true},
		{"a schema", apierrors.NewInvalid(schema.GroupKind{Group: "openreports.io", Kind: "Report"}, "r", nil), true},
		{"another internal error", apierrors.NewInternalError(errors.New("etcd leader changed")), false},
		{"a timeout", apierrors.NewTimeoutError("slow", 1), false},
		{"a conflict", apierrors.NewConflict(gr, "r", errors.New("changed")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unwritable(tc.err); got != tc.want {
				t.Fatalf("unwritable = %v, want %v", got, tc.want)
			}
		})
	}
}
