package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// Most polls of a running round learn nothing: none of the members still
// to end has ended since the pass before, and that pass left nothing to
// read. Such a poll needs no walk of the round's reports, and walks are
// what the API server pays for by the reports of the whole namespace: it
// answers a list by label by filtering every report there, so with
// thousands of ImageScans in one namespace each walk costs as much as the
// namespace's reports. A pass that ends with nothing to read records its
// round's members still to end (small rounds only: large ones walk only
// their unended members, walks.go); the next pass asks the feed first, and
// when none of them ended it stops there. Anything else that may change a
// member (a new round or generation, other exceptions, an overdue round or
// its deadline, a report deleted from outside) makes it walk.

// waiting is what a pass recorded of a running round: the members whose
// scan had not ended in it.
type waiting struct {
	round, generation int64
	// rules is the key of the exceptions the walk applied.
	rules string
	// keys are the members' index keys (rounds.Key.Index), at most reportPage.
	keys []string
}

// waitingRounds holds a waiting entry per ImageScan with a small running
// round, dropped when one of its reports or the ImageScan is deleted.
type waitingRounds struct {
	objectMap[waiting]
	// epoch grows with every forget: a pass that began before one records
	// nothing, for its walk may have read a report since deleted. mu guards it.
	epoch uint64
}

func (w *waitingRounds) now() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.epoch
}

// record keeps v for k, unless something was forgotten since epoch.
func (w *waitingRounds) record(k types.NamespacedName, v waiting, epoch uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.epoch == epoch {
		w.setLocked(k, v)
	}
}

// drop lets go of k's entry, which a pass is about to change.
func (w *waitingRounds) drop(k types.NamespacedName) { w.objectMap.forget(k) }

// forget drops k's entry because something outside the passes changed it.
func (w *waitingRounds) forget(k types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.epoch++
	delete(w.m, k)
}

// mayBeQuiet: what was recorded of the round still holds, so that the feed
// alone says whether the pass has work.
func mayBeQuiet(p *pass, w waiting, ok, overdue, pastDeadline bool) bool {
	round := p.round
	return ok && rounds.PhaseOf(round) == rounds.Scanning && !p.started && !p.sent && !overdue && !pastDeadline &&
		w.round == round.Round && w.generation == p.obj.Generation && w.rules == p.rules.Key() && len(w.keys) > 0
}

// quiet asks the feed whether a member recorded as waiting has ended;
// when none has, the pass makes no walk, and has followed every member.
func (r *ImageScanReconciler) quiet(ctx context.Context, p *pass) (bool, error) {
	w, ok := r.waiting.get(client.ObjectKeyFromObject(p.obj))
	if !mayBeQuiet(p, w, ok, ok && r.overdue(p.round), ok && r.pastDeadline(p.obj, p.round)) {
		return false, nil
	}
	if err := r.hearFinished(ctx, p); err != nil {
		return false, err
	}
	p.heard = true
	for _, k := range w.keys {
		if p.finished.has(k) {
			return false, nil
		}
	}
	p.walked = true
	return true, nil
}

// waitingOf is what a whole walk of a small running round that left
// nothing to read records: its members without a scan result in the round.
func waitingOf(p *pass, t *rounds.Tally) (waiting, bool) {
	round := p.round
	if t == nil || rounds.PhaseOf(round) != rounds.Scanning || p.unread > 0 || len(t.Waiting) == 0 || round.Members > reportPage {
		return waiting{}, false
	}
	return waiting{round: round.Round, generation: p.obj.Generation, rules: p.rules.Key(), keys: t.Waiting}, true
}
