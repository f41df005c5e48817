package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// A pass walks the round's reports in one of two ways. Counting every
// member for status is what grows with a round's size (at 100,000 images
// about 200 MiB of reports read from the API server), while the work of a
// running round is only on the members whose result is not final. So a
// running round larger than a page of reports is counted whole only when
// members ended since its last count, and then at most once in countShare
// times what that count took, on the manager's own clock; the passes
// between walk only its unended members, and status keeps the last count.
// A round whose unended walk finds none left is counted whole in the same
// pass, to complete it.
type walkKind string

const (
	// walkAll reads every member and counts them.
	walkAll walkKind = "all"
	// walkUnended reads the members whose report's endedRound is not the
	// round's, and counts nothing.
	walkUnended walkKind = "unended"
)

// countShare: counting a large running round takes at most 1/countShare of
// the manager's time for it.
const countShare = 20

// counted is an ImageScan's last whole count of a large round.
type counted struct {
	round int64
	at    time.Time
	// took is the time the count spent reading reports.
	took time.Duration
	// rules is the key of the exceptions the count applied: new ones are
	// applied to every member at once.
	rules string
	// endedSince counts the members unended walks saw end after it.
	endedSince int
}

// walkOf decides how a pass walks its round, from the round and the last
// whole count (none when ok is false).
func walkOf(p *pass, last counted, ok bool, now time.Time) walkKind {
	round := p.round
	if rounds.PhaseOf(round) != rounds.Scanning || p.started || round.Members <= reportPage ||
		!ok || last.round != round.Round || last.rules != p.rules.Key() {
		return walkAll
	}
	if last.endedSince > 0 && now.Sub(last.at) >= countShare*last.took {
		return walkAll
	}
	return walkUnended
}

// counts holds the last whole count of each ImageScan with a large
// running round: an entry per such ImageScan, dropped when it is deleted.
type counts struct {
	objectMap[counted]
}

func (c *counts) last(k types.NamespacedName) (counted, bool) { return c.get(k) }

func (c *counts) record(k types.NamespacedName, v counted) { c.set(k, v) }

// noteEnded adds n members ended to k's last count, if it has one.
func (c *counts) noteEnded(k types.NamespacedName, n int) {
	c.update(k, func(v counted) counted {
		v.endedSince += n
		return v
	})
}
