package rounds

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
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
		if got := StateOf(tc.s, 2); got != tc.want {
			t.Errorf("%s: StateOf = %s, want %s", tc.name, got, tc.want)
		}
	}
}
func TestPhaseOfARound(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		r    *scanv1.ScanRequest
		want Phase
	}{
		{nil, NotStarted},
		{&scanv1.ScanRequest{Round: 1}, Requesting},
		{&scanv1.ScanRequest{Round: 1, Attempts: 2}, Requesting},
		{&scanv1.ScanRequest{Round: 1, Attempts: 2, UnconfirmedSince: &now}, Unconfirmed},
		{&scanv1.ScanRequest{Round: 1, AcceptedAt: &now}, Scanning},
		{&scanv1.ScanRequest{Round: 1, AcceptedAt: &now, CompletedAt: &now}, Completed},
	} {
		if got := PhaseOf(tc.r); got != tc.want {
			t.Errorf("PhaseOf(%+v) = %s, want %s", tc.r, got, tc.want)
		}
	}
}
