package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

func ptr[T any](v T) *T { return &v }

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
	if same.FilesCount == nil || *same.FilesSize != 9<<30 || same.Round != 2 || rounds.StateOf(same, 2) != scanv1.ResultSucceeded {
		t.Errorf("same image ID: %+v", same)
	}
	changed := resultOf(hss.Image{ImageID: "sha256:b", ScanStatus: "success", LastScanAt: time.Now()}, prev, 2, scanv1.VulnerabilitiesSummary)
	if changed.FilesCount != nil || !rounds.AwaitingStatistics(changed, 2) {
		t.Errorf("new image ID: %+v", changed)
	}
	failed := resultOf(hss.Image{ImageID: "sha256:a", ScanStatus: "failed", ScanFailedDesc: "no", LastScanAt: time.Now()}, prev, 2, scanv1.VulnerabilitiesSummary)
	if failed.FilesCount != nil || failed.Message != "no" || rounds.StateOf(failed, 2) != scanv1.ResultFailed {
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
