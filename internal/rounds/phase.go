package rounds

import (
	"time"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// Phase names the stage of an ImageScan's current round. Steps ask it
// rather than read the round's times.
type Phase string

const (
	// NotStarted: no round was ever started.
	NotStarted Phase = "None"
	// Requesting: the intent is recorded and no call is outstanding:
	// none was made yet, or HSS refused the last.
	Requesting Phase = "Requesting"
	// Unconfirmed: a call was made whose outcome is unknown (a
	// timeout, a lost answer, a manager that stopped); HSS may show it yet.
	Unconfirmed Phase = "Unconfirmed"
	// Scanning: HSS accepted the round; its images are followed.
	Scanning Phase = "Scanning"
	// Completed: every image of the round has its result.
	Completed Phase = "Completed"
)

// PhaseOf is the phase r is in.
func PhaseOf(r *scanv1.ScanRequest) Phase {
	switch {
	case r == nil:
		return NotStarted
	case r.CompletedAt != nil:
		return Completed
	case r.AcceptedAt == nil && r.UnconfirmedSince != nil:
		return Unconfirmed
	case r.AcceptedAt == nil:
		return Requesting
	}
	return Scanning
}

// Accepted: HSS took the round's request.
func Accepted(r *scanv1.ScanRequest) bool {
	ph := PhaseOf(r)
	return ph == Scanning || ph == Completed
}

// StateOf is an image's result in a round: the one answer the summary, the
// completion check, collection and the messages all use. A successful scan
// is Pending until its statistics and its vulnerabilities (as far as the
// spec asks for them) are read, or their reads given up.
func StateOf(s scanv1.ImageReportStatus, round int64) scanv1.ImageResult {
	switch {
	case s.Round != round:
		return scanv1.ResultPending
	case s.ScanStatus == scanv1.ScanStatusNotFound:
		return scanv1.ResultNotFound
	case s.ScanStatus != hss.StatusSuccess:
		return scanv1.ResultFailed
	case s.FilesCount == nil && s.StatisticsAttempts >= scanv1.MaxReadAttempts:
		return scanv1.ResultStatisticsUnavailable
	case s.FilesCount == nil, s.Detail == "" && s.DetailAttempts < scanv1.MaxReadAttempts:
		return scanv1.ResultPending
	}
	return scanv1.ResultSucceeded
}

// AwaitingStatistics: the image's scan of this round succeeded and its file
// statistics are to be read.
func AwaitingStatistics(s scanv1.ImageReportStatus, round int64) bool {
	return s.Round == round && s.ScanStatus == hss.StatusSuccess && s.FilesCount == nil && s.StatisticsAttempts < scanv1.MaxReadAttempts
}

// ClockSkew allows for HSS's clock differing from the manager's in a round
// recorded before HSS's clock was learnt.
const ClockSkew = time.Minute

// HSSStart is when the round was requested on HSS's clock: a scan of the
// round ends after it. Rounds recorded before HSS's clock was learnt fall
// back to the manager's clock, less the margin.
func HSSStart(r *scanv1.ScanRequest) time.Time {
	if r.HSSRequestedAt != nil {
		return r.HSSRequestedAt.Time
	}
	return r.RequestedAt.Add(-ClockSkew)
}

// AwaitingDetail: the member's scan succeeded in this round and its
// vulnerabilities are still to be read.
func AwaitingDetail(s scanv1.ImageReportStatus, round int64) bool {
	return s.Round == round && s.ScanStatus == hss.StatusSuccess && s.Detail == "" && s.DetailAttempts < scanv1.MaxReadAttempts
}

// Attention ranks results for status.images and the messages: the images a
// person must look at come first.
func Attention(s scanv1.ImageReportStatus, round int64) int {
	switch StateOf(s, round) {
	case scanv1.ResultFailed:
		return 0
	case scanv1.ResultNotFound:
		return 1
	case scanv1.ResultStatisticsUnavailable:
		return 2
	}
	if Malicious(s, round) {
		return 3
	}
	if StateOf(s, round) == scanv1.ResultPending {
		return 4
	}
	return 5
}

// Malicious: the image's scan in the round found malicious files.
func Malicious(s scanv1.ImageReportStatus, round int64) bool {
	return s.Round == round && s.Findings != nil && s.Findings.MaliciousFiles > 0
}
