package rounds

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// member is an image of a round as the tests give it.
type member struct {
	key    Key
	status scanv1.ImageReportStatus
}

func members(statuses ...scanv1.ImageReportStatus) []member {
	var ms []member
	for i, s := range statuses {
		ms = append(ms, member{key: Key{Namespace: "org", Name: "app", Tag: string(rune('a' + i))}, status: s})
	}
	return ms
}

// tallyOf counts ms in round.
func tallyOf(ms []member, round int64) *Tally {
	t := NewTally(round, false)
	for _, m := range ms {
		t.Add(m.key, m.status, "")
	}
	return t
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
	got := tallyOf(ms, 2).Summary()
	want := scanv1.ScanSummary{
		Matched: 6, Succeeded: 2, Failed: 1, NotFound: 1, StatisticsUnavailable: 1, Pending: 1,
		Findings: scanv1.Findings{Vulnerabilities: 6, MaliciousFiles: 1, UnsafeSettings: 2,
			Severities: &scanv1.Severities{High: 2, Medium: 3}, Open: &scanv1.Severities{High: 2, Medium: 3}},
		TotalFiles: 7, TotalFileSize: 9 << 30, TotalSize: "9.0GiB",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarize:\n got %+v\nwant %+v", got, want)
	}
	if tallyOf(ms, 2).Done() {
		t.Error("a round with a pending member is not done")
	}
	if !tallyOf(ms[:5], 2).Done() {
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
	got := tallyOf(ms, 1).Images(1 << 20)
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
	if small := tallyOf(ms, 1).Images(len(b)); len(small) != 2 || small[0].Result != scanv1.ResultFailed {
		t.Errorf("within %d bytes: %+v", len(b), small)
	}
	if none := tallyOf(ms, 1).Images(0); len(none) != 0 {
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

// The tally holds no more than status.images can show, however many
// members it counts, and names the first images of each kind of trouble
// in key order, whatever order the pages come in.
func TestTheTallyIsBoundedWhateverTheRoundsSize(t *testing.T) {
	const n = 20000
	tl := NewTally(1, false)
	for i := n - 1; i >= 0; i-- { // the reverse of key order
		s := scanv1.ImageReportStatus{Round: 1, ScanStatus: "success", FilesCount: ptr(int64(1)), FilesSize: ptr(int64(2)), Detail: "None"}
		if i%1000 == 7 {
			s = scanv1.ImageReportStatus{Round: 1, ScanStatus: "failed", Message: fmt.Sprintf("broken %d", i)}
		}
		tl.Add(Key{Namespace: "org", Name: "app", Tag: fmt.Sprintf("%05d", i)}, s, "")
		if keep := scanv1.MaxStatusImagesBytes / minLineBytes; len(tl.lines) >= 2*keep {
			t.Fatalf("%d lines held", len(tl.lines))
		}
	}
	s := tl.Summary()
	if s.Matched != n || s.Failed != n/1000 || s.Succeeded != n-n/1000 || s.TotalFiles != n-n/1000 || !tl.Done() {
		t.Fatalf("summary %+v", s)
	}
	lines := tl.Images(scanv1.MaxStatusImagesBytes)
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

// The tally counts each exception's results and images over the members,
// names a few images in order, and keeps the status's room bounded
// whatever the number of exceptions.
func TestTheTallyCountsWhatEachExceptionAccepts(t *testing.T) {
	tl := NewTally(1, false)
	for i, tag := range []string{"v4", "v2", "v9", "v1"} {
		uses := []scanv1.ExceptionUse{{Name: "base", Results: 2, Images: 1}}
		if i == 0 {
			uses = append(uses, scanv1.ExceptionUse{Name: "other", Results: 1, Images: 1})
		}
		tl.Add(Key{Namespace: "team", Name: "app", Tag: tag}, scanv1.ImageReportStatus{
			Round: 1, ScanStatus: hss.StatusSuccess, FilesCount: new(int64), FilesSize: new(int64), Detail: scanv1.VulnerabilitiesDetails,
			Findings: &scanv1.Findings{Severities: &scanv1.Severities{High: 2}}, Triage: &scanv1.ReportTriage{Key: "k", Exceptions: uses},
		}, "")
	}
	got := tl.ExceptionUses()
	want := []scanv1.ExceptionUse{
		{Name: "base", Results: 8, Images: 4, Examples: []string{"team/app:v1", "team/app:v2", "team/app:v4"}},
		{Name: "other", Results: 1, Images: 1, Examples: []string{"team/app:v4"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("uses %+v, want %+v", got, want)
	}
	for i := range 150 {
		tl.exceptions[fmt.Sprintf("e%03d", i)] = scanv1.ExceptionUse{Name: fmt.Sprintf("e%03d", i), Results: 1, Images: 1, Examples: []string{"x"}}
	}
	got = tl.ExceptionUses()
	if len(got) != scanv1.MaxExceptionScans || got[scanv1.MaxExceptionExamples-1].Examples == nil || got[scanv1.MaxExceptionExamples].Examples != nil {
		t.Errorf("%d uses; examples kept for the first %d only", len(got), scanv1.MaxExceptionExamples)
	}
}

// A tally keeps the index keys of the members without a scan in the round
// only when asked, and no more than it was asked for.
func TestTheTallyCollectsWaitingMembersUpToItsLimit(t *testing.T) {
	waiting := scanv1.ImageReportStatus{Round: 1}
	scanned := scanv1.ImageReportStatus{Round: 2, ScanStatus: "failed"}
	for _, tc := range []struct {
		name  string
		limit int // negative: not asked
		want  []string
	}{
		{"not asked", -1, nil},
		{"within the limit", 5, []string{Key{Name: "a"}.Index(), Key{Name: "c"}.Index(), Key{Name: "d"}.Index()}},
		{"at the limit", 2, []string{Key{Name: "a"}.Index(), Key{Name: "c"}.Index()}},
	} {
		tl := NewTally(2, false)
		if tc.limit >= 0 {
			tl.CollectWaiting(tc.limit)
		}
		for _, m := range []struct {
			name string
			s    scanv1.ImageReportStatus
		}{{"a", waiting}, {"b", scanned}, {"c", waiting}, {"d", waiting}} {
			tl.Add(Key{Name: m.name}, m.s, "")
		}
		if fmt.Sprint(tl.Waiting) != fmt.Sprint(tc.want) || (tc.limit >= 0) != (tl.Waiting != nil) {
			t.Errorf("%s: waiting %q, want %q", tc.name, tl.Waiting, tc.want)
		}
	}
}
