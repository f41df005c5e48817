package controller

import (
	"time"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

// pass is what one reconcile of an ImageScan learns and decides. The steps
// fill it in turn; statusOf turns it into the object's status.
type pass struct {
	// obj is the ImageScan as read; its status is where the pass starts.
	obj    *scanv1.ImageScan
	status *statusPatcher
	client hss.Client
	// round is the current round as the pass leaves it, nil before the
	// first. Steps change this copy, never obj.
	round *scanv1.ScanRequest
	// tally counts every member of the round as the pass's walk of them
	// left them (work); nil when the walk did not finish, and status keeps
	// what the last pass counted.
	tally *rounds.Tally
	// walked: the pass's walk followed every member still to end.
	walked bool
	// listing is the time the pass spent reading reports from the API
	// server, on the manager's own clock: what counting a round costs.
	listing time.Duration
	// started: the round began in this pass; startListed are its members
	// HSS listed then, which its first request names. It holds no more
	// than the start's own listing (at most --max-images-per-scan) and goes
	// with the pass.
	started     bool
	startListed []rounds.Key
	// finished holds the scans that ended since the round started, as the
	// feed showed them (and the ImageScan's own walk, for what ended before
	// the feed's window); for an overdue round, unfinished holds the
	// ImageScan's own images whose scan had not ended (ownWalk). heard says
	// they were asked in this pass.
	finished   scanIndexes
	unfinished scanIndex
	ownWalk    bool
	heard      bool
	// feed answered finished, complete for scans before upTo; partial says
	// the ImageScan's own walk kept only its earliest scans, so a member
	// absent from finished may have ended after upTo; unsavedFrom is the
	// earliest scan learnt but not yet saved; restored counts the members
	// made again after the walk.
	feed        *finishedFeed
	upTo        scanCursor
	partial     bool
	unsavedFrom scanCursor
	restored    int
	// unread counts the members whose statistics or vulnerabilities are
	// still to be read after the pass; cut says its HSS deadline ended it.
	unread int
	cut    bool
	// handled is the rescan annotation value the round answers.
	handled string
	// sent: batch-scan was called in this pass, so HSS has nothing to show
	// yet.
	sent bool
	// evidenceWait, when set: an earlier call's outcome is unknown and HSS
	// may yet show the round; no new call until that long after it.
	evidenceWait time.Duration
	// rules are the namespace's exceptions in force, rulesChange when one
	// of them ends; expired names those that have ended.
	rules       triage.Set
	rulesChange time.Time
	expired     map[string]bool
}

// member is one image of the round: its report as the cluster holds it, and
// the report status this pass arrives at.
type member struct {
	key    rounds.Key
	report *scanv1.ImageReport // nil until created
	status scanv1.ImageReportStatus
	// written is status as last saved; saveReports writes the difference.
	written scanv1.ImageReportStatus
	// listElsewhere: the server may hold a vulnerability list that status
	// and written leave out (the cache strips them, and a member lets go of
	// its list once saved).
	listElsewhere bool
	// previous is the list the report held when its page was read, for
	// triage to carry first-seen rounds and mark it again; dropped with the
	// page.
	previous []scanv1.Vulnerability
}

// countIn adds m to t.
func (m *member) countIn(t *rounds.Tally) {
	report := ""
	if m.report != nil {
		report = m.report.Name
	}
	t.Add(m.key, m.status, report)
}

// saved records that status is now the server's, and lets go of the
// vulnerability list, which only the server keeps.
func (m *member) saved() {
	if m.status.Vulnerabilities != nil {
		m.status.Vulnerabilities = nil
		m.listElsewhere = true
	}
	m.written, m.previous = m.status, nil
}

// roundNumber is the current round's number, 0 before the first.
func (p *pass) roundNumber() int64 {
	if p.round == nil {
		return 0
	}
	return p.round.Round
}
