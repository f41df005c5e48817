package controller

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

func ptr[T any](v T) *T { return &v }

func TestStateOfAnImageInARound(t *testing.T) {
	files := ptr(int64(10))
	for _, tc := range []struct {
		name string
		s    scanv1.ImageReportStatus
		want scanv1.ImageResult
	}{
		{"no result yet", scanv1.ImageReportStatus{}, scanv1.ResultPending},
		{"last round's success", scanv1.ImageReportStatus{Round: 1, ScanStatus: "success", FilesCount: files, FilesSize: files}, scanv1.ResultPending},
		{"scanned, statistics to come", scanv1.ImageReportStatus{Round: 2, ScanStatus: "success"}, scanv1.ResultPending},
		{"scanned, one statistics failure", scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", StatisticsAttempts: 1}, scanv1.ResultPending},
		{"succeeded", scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", FilesCount: files, FilesSize: files, Detail: "Summary"}, scanv1.ResultSucceeded},
		{"statistics in, vulnerabilities to come", scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", FilesCount: files, FilesSize: files}, scanv1.ResultPending},
		{"vulnerabilities given up", scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", FilesCount: files, FilesSize: files, DetailAttempts: 3}, scanv1.ResultSucceeded},
		{"statistics given up", scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", StatisticsAttempts: 3}, scanv1.ResultStatisticsUnavailable},
		{"download failed", scanv1.ImageReportStatus{Round: 2, ScanStatus: "download_failed"}, scanv1.ResultFailed},
		{"oversized", scanv1.ImageReportStatus{Round: 2, ScanStatus: "image_oversized"}, scanv1.ResultFailed},
		{"not found", scanv1.ImageReportStatus{Round: 2, ScanStatus: scanv1.ScanStatusNotFound}, scanv1.ResultNotFound},
		{"not found in the last round", scanv1.ImageReportStatus{Round: 1, ScanStatus: scanv1.ScanStatusNotFound}, scanv1.ResultPending},
	} {
		if got := stateOf(tc.s, 2); got != tc.want {
			t.Errorf("%s: stateOf = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestPhaseOfARound(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		r    *scanv1.ScanRequest
		want phase
	}{
		{nil, phaseNone},
		{&scanv1.ScanRequest{Round: 1}, phaseRequesting},
		{&scanv1.ScanRequest{Round: 1, Attempts: 2}, phaseRequesting},
		{&scanv1.ScanRequest{Round: 1, Attempts: 2, UnconfirmedSince: &now}, phaseUnconfirmed},
		{&scanv1.ScanRequest{Round: 1, AcceptedAt: &now}, phaseScanning},
		{&scanv1.ScanRequest{Round: 1, AcceptedAt: &now, CompletedAt: &now}, phaseCompleted},
	} {
		if got := phaseOf(tc.r); got != tc.want {
			t.Errorf("phaseOf(%+v) = %s, want %s", tc.r, got, tc.want)
		}
	}
}

func members(statuses ...scanv1.ImageReportStatus) []*member {
	var ms []*member
	for i, s := range statuses {
		ms = append(ms, &member{key: imageKey{Namespace: "org", Name: "app", Tag: string(rune('a' + i))}, status: s})
	}
	return ms
}

func TestSummaryCountsEveryMemberByItsResult(t *testing.T) {
	ms := members(
		scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", FilesCount: ptr(int64(3)), FilesSize: ptr(int64(3 << 30)),
			Findings: &scanv1.Findings{Vulnerabilities: 5, MaliciousFiles: 1, Severities: &scanv1.Severities{High: 2, Medium: 3}}, Detail: "Summary"},
		scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", FilesCount: ptr(int64(4)), FilesSize: ptr(int64(6 << 30)),
			Findings: &scanv1.Findings{UnsafeSettings: 2, Severities: &scanv1.Severities{}}, Detail: "Summary"},
		scanv1.ImageReportStatus{Round: 2, ScanStatus: "failed"},
		scanv1.ImageReportStatus{Round: 2, ScanStatus: scanv1.ScanStatusNotFound},
		scanv1.ImageReportStatus{Round: 2, ScanStatus: "success", StatisticsAttempts: 3, Findings: &scanv1.Findings{Vulnerabilities: 1}},
		// Last round's findings belong to the last round.
		scanv1.ImageReportStatus{Round: 1, ScanStatus: "success", FilesCount: ptr(int64(1)), FilesSize: ptr(int64(1)),
			Findings: &scanv1.Findings{Vulnerabilities: 100}},
	)
	got := tallyOf(ms, 2).summaryOf()
	want := scanv1.ScanSummary{
		Matched: 6, Succeeded: 2, Failed: 1, NotFound: 1, StatisticsUnavailable: 1, Pending: 1,
		Findings: scanv1.Findings{Vulnerabilities: 6, MaliciousFiles: 1, UnsafeSettings: 2,
			Severities: &scanv1.Severities{High: 2, Medium: 3}, Open: &scanv1.Severities{High: 2, Medium: 3}},
		TotalFiles: 7, TotalFileSize: 9 << 30, TotalSize: "9.0GiB",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarize:\n got %+v\nwant %+v", got, want)
	}
	if tallyOf(ms, 2).done() {
		t.Error("a round with a pending member is not done")
	}
	if !tallyOf(ms[:5], 2).done() {
		t.Error("a round whose members all have results is done")
	}
}

func TestStatusImagesPutAttentionFirstWithinTheirBudget(t *testing.T) {
	ok := scanv1.ImageReportStatus{Round: 1, ScanStatus: "success", FilesCount: ptr(int64(1)), FilesSize: ptr(int64(1)), Detail: "None"}
	ms := members(ok, ok,
		scanv1.ImageReportStatus{Round: 1, ScanStatus: "success", FilesCount: ptr(int64(1)), FilesSize: ptr(int64(1)),
			Findings: &scanv1.Findings{MaliciousFiles: 2}, Detail: "None"},
		scanv1.ImageReportStatus{Round: 1, ScanStatus: "failed", Message: "broken"},
		scanv1.ImageReportStatus{},
		scanv1.ImageReportStatus{Round: 1, ScanStatus: scanv1.ScanStatusNotFound})
	got := tallyOf(ms, 1).images(1 << 20)
	var order []scanv1.ImageResult
	for _, e := range got {
		order = append(order, e.Result)
	}
	want := []scanv1.ImageResult{scanv1.ResultFailed, scanv1.ResultNotFound, scanv1.ResultSucceeded, scanv1.ResultPending,
		scanv1.ResultSucceeded, scanv1.ResultSucceeded}
	if strings.Join(results(order), ",") != strings.Join(results(want), ",") {
		t.Fatalf("order %v, want %v", order, want)
	}
	if got[0].Message != "broken" || got[2].MaliciousFiles != 2 || got[4].Message != "" {
		t.Errorf("entries: %+v", got)
	}
	// A budget for two entries keeps the first two.
	b, _ := json.Marshal(got[:2])
	if small := tallyOf(ms, 1).images(len(b)); len(small) != 2 || small[0].Result != scanv1.ResultFailed {
		t.Errorf("within %d bytes: %+v", len(b), small)
	}
	if none := tallyOf(ms, 1).images(0); len(none) != 0 {
		t.Errorf("no room: %+v", none)
	}
}

func results(rs []scanv1.ImageResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

func TestNameImagesCountsWhatItCannotName(t *testing.T) {
	failed := scanv1.ImageReportStatus{Round: 1, ScanStatus: "failed", Message: "boom"}
	why := func(ms []*member) string {
		t := tallyOf(ms, 1)
		return nameImages(t.named[troubleFailed], int(t.summaryOf().Failed))
	}
	ms := members(failed, failed, failed, failed, failed, failed, failed)
	if got := why(ms); got != "org/app:a (boom), org/app:b (boom), org/app:c (boom), org/app:d (boom), org/app:e (boom) and 2 more" {
		t.Errorf("seven: %q", got)
	}
	long := []*member{
		{key: imageKey{Namespace: strings.Repeat("o", 256), Name: strings.Repeat("r", 128), Tag: strings.Repeat("t", 64)}, status: failed},
		{key: imageKey{Namespace: strings.Repeat("p", 256), Name: strings.Repeat("r", 128), Tag: strings.Repeat("t", 64)}, status: failed},
		{key: imageKey{Namespace: strings.Repeat("q", 256), Name: strings.Repeat("r", 128), Tag: strings.Repeat("t", 64)}, status: failed},
	}
	got := why(long)
	if !strings.HasPrefix(got, strings.Repeat("o", 256)) || !strings.HasSuffix(got, " and 2 more") || len(got) > 800 {
		t.Errorf("names at maximum length: %d bytes, %q...", len(got), got[len(got)-20:])
	}
}

func TestTruncateCutsOnACharacterBoundary(t *testing.T) {
	s := strings.Repeat("é", 600) // two bytes each
	got := truncate(s, maxEventNote)
	if len(got) > maxEventNote || !strings.HasSuffix(got, "...") || !utf8Valid(got) {
		t.Errorf("%d bytes, valid %v", len(got), utf8Valid(got))
	}
	if truncate("short", 10) != "short" {
		t.Error("a short text is kept")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestReportNamesAreValidStableAndDistinct(t *testing.T) {
	long := imageKey{Namespace: strings.Repeat("Org_", 64), Name: strings.Repeat("r", 128), Tag: strings.Repeat("T.", 32)}
	cases := []struct {
		scan string
		typ  scanv1.ImageType
		k    imageKey
	}{
		{"web", "", imageKey{Namespace: "payments", Name: "api", Tag: "1.0.0"}},
		{"web", scanv1.SharedImage, imageKey{Namespace: "payments", Name: "api", Tag: "1.0.0"}},
		{"web", "", imageKey{Namespace: "payments", Name: "api", Tag: "1_0_0"}},
		{"web", "", imageKey{Namespace: "payments", Name: "api", Tag: "1.0.0", InstanceID: "inst"}},
		{"web", "", imageKey{Namespace: "payments-api", Name: "1", Tag: "0.0"}},
		{strings.Repeat("s", 253), "", long},
		{strings.Repeat("s", 253), "", imageKey{Namespace: long.Namespace, Name: long.Name, Tag: long.Tag + "x"}},
		{"--", "", imageKey{Namespace: "_", Name: "_", Tag: "_"}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		name := reportName(tc.scan, tc.typ, tc.k)
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("%q is not a DNS label: %v", name, errs)
		}
		if seen[name] {
			t.Errorf("%q twice", name)
		}
		seen[name] = true
		if reportName(tc.scan, tc.typ, tc.k) != name {
			t.Errorf("%q is not stable", name)
		}
		for k, v := range reportLabels(tc.scan, tc.k) {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("label %s=%q: %v", k, v, errs)
			}
		}
	}
	if got := reportName("web", scanv1.PrivateImage, imageKey{Namespace: "payments", Name: "api", Tag: "1.0.0"}); !strings.HasPrefix(got, "web-payments-api-1-0-0-") {
		t.Errorf("readable start: %q", got)
	}
	if labelValue("web") != "web" || labelValue(strings.Repeat("a", 64)) == labelValue(strings.Repeat("a", 65)) {
		t.Error("labels: valid values are kept as they are, long ones stay distinct")
	}
}

func TestANewScanIsOneThatEndedInTheRound(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	round := &scanv1.ScanRequest{Round: 2, RequestedAt: metav1.NewTime(start.Add(3 * time.Minute)), HSSRequestedAt: &metav1.Time{Time: start}}
	prev := scanv1.ImageReportStatus{Round: 1, LastScanTime: &metav1.MicroTime{Time: start.Add(-time.Hour)}}
	for _, tc := range []struct {
		name string
		at   time.Time
		prev scanv1.ImageReportStatus
		want bool
	}{
		{"never scanned", time.Time{}, prev, false},
		{"the scan the report holds", prev.LastScanTime.Time, prev, false},
		{"a scan before the round, after the report's", start.Add(-time.Minute), prev, false},
		{"a scan in the round, on HSS's clock behind the manager's", start.Add(time.Minute), prev, true},
		{"a scan in the round of a new member", start.Add(time.Second), scanv1.ImageReportStatus{}, true},
	} {
		img := hss.Image{ScanStatus: "success", LastScanAt: tc.at}
		if got := newScan(img, tc.prev, round); got != tc.want {
			t.Errorf("%s: newScan = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAResultKeepsTheStatisticsOfTheSameImageID(t *testing.T) {
	prev := scanv1.ImageReportStatus{Round: 1, ImageID: "sha256:a", ScanStatus: "success", FilesCount: ptr(int64(9)), FilesSize: ptr(int64(9 << 30)), Size: "9.0GiB", Detail: "Summary"}
	same := resultOf(hss.Image{ImageID: "sha256:a", ScanStatus: "success", LastScanAt: time.Now()}, prev, 2, scanv1.VulnerabilitiesSummary)
	if same.FilesCount == nil || *same.FilesSize != 9<<30 || same.Round != 2 || stateOf(same, 2) != scanv1.ResultSucceeded {
		t.Errorf("same image ID: %+v", same)
	}
	changed := resultOf(hss.Image{ImageID: "sha256:b", ScanStatus: "success", LastScanAt: time.Now()}, prev, 2, scanv1.VulnerabilitiesSummary)
	if changed.FilesCount != nil || !awaitingStatistics(changed, 2) {
		t.Errorf("new image ID: %+v", changed)
	}
	failed := resultOf(hss.Image{ImageID: "sha256:a", ScanStatus: "failed", ScanFailedDesc: "no", LastScanAt: time.Now()}, prev, 2, scanv1.VulnerabilitiesSummary)
	if failed.FilesCount != nil || failed.Message != "no" || stateOf(failed, 2) != scanv1.ResultFailed {
		t.Errorf("failed: %+v", failed)
	}
}

// A member lets go of its list once written, and remembers that the server
// holds one.
func TestASavedMemberLetsGoOfItsList(t *testing.T) {
	m := &member{status: scanv1.ImageReportStatus{Round: 2, Vulnerabilities: make([]scanv1.Vulnerability, 3)}}
	m.saved()
	if m.status.Vulnerabilities != nil || m.written.Vulnerabilities != nil || !m.listElsewhere || m.written.Round != 2 {
		t.Fatalf("after saving: %+v", m)
	}
	plain := &member{status: scanv1.ImageReportStatus{Round: 2}}
	plain.saved()
	if plain.listElsewhere {
		t.Fatal("a member that had no list does not claim one")
	}
}

// The tally holds no more than status.images can show, however many
// members it counts, and names the first images of each kind of trouble
// in key order, whatever order the pages come in.
func TestTheTallyIsBoundedWhateverTheRoundsSize(t *testing.T) {
	const n = 20000
	tl := newTally(1, false)
	for i := n - 1; i >= 0; i-- { // the reverse of key order
		s := scanv1.ImageReportStatus{Round: 1, ScanStatus: "success", FilesCount: ptr(int64(1)), FilesSize: ptr(int64(2)), Detail: "None"}
		if i%1000 == 7 {
			s = scanv1.ImageReportStatus{Round: 1, ScanStatus: "failed", Message: fmt.Sprintf("broken %d", i)}
		}
		tl.add(&member{key: imageKey{Namespace: "org", Name: "app", Tag: fmt.Sprintf("%05d", i)}, status: s})
		if keep := scanv1.MaxStatusImagesBytes / minLineBytes; len(tl.lines) >= 2*keep {
			t.Fatalf("%d lines held", len(tl.lines))
		}
	}
	s := tl.summaryOf()
	if s.Matched != n || s.Failed != n/1000 || s.Succeeded != n-n/1000 || s.TotalFiles != n-n/1000 || !tl.done() {
		t.Fatalf("summary %+v", s)
	}
	lines := tl.images(scanv1.MaxStatusImagesBytes)
	if len(lines) == 0 || len(lines) >= n {
		t.Fatalf("%d lines in status", len(lines))
	}
	for i, l := range lines[:n/1000] {
		if want := fmt.Sprintf("%05d", i*1000+7); l.Result != scanv1.ResultFailed || l.Tag != want {
			t.Fatalf("line %d: %s %s, want the failed %s", i, l.Result, l.Tag, want)
		}
	}
	if l := lines[n/1000]; l.Result != scanv1.ResultSucceeded || l.Tag != "00000" {
		t.Fatalf("first succeeded line: %+v", l)
	}
	got := nameImages(tl.named[troubleFailed], int(s.Failed))
	if !strings.HasPrefix(got, "org/app:00007 (broken 7), org/app:01007 (broken 1007)") || !strings.HasSuffix(got, " and 15 more") {
		t.Fatalf("named: %q", got)
	}
}
