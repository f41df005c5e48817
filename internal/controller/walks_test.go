package controller

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// How a pass walks its round: whole for status, or only the members still
// to end, so that a large round is not read whole on every pass.
func TestWalkOf(t *testing.T) {
	now := decisionsNow
	running := func(members int32) *scanv1.ScanRequest {
		return &scanv1.ScanRequest{Round: 4, Members: members, RequestedAt: at(-time.Hour), AcceptedAt: ptrTime(at(-time.Hour))}
	}
	large := running(reportPage + 1)
	fresh := counted{round: 4, at: now.Add(-time.Second), took: time.Second}
	progressed := fresh
	progressed.endedSince = 10
	old := progressed
	old.at = now.Add(-countShare * time.Second)
	for _, c := range []struct {
		name    string
		round   *scanv1.ScanRequest
		started bool
		last    counted
		ok      bool
		want    walkKind
	}{
		{"no round yet", nil, false, counted{}, false, walkAll},
		{"a round of one page", running(reportPage), false, fresh, true, walkAll},
		{"a completed round", &scanv1.ScanRequest{Round: 4, Members: 10000, CompletedAt: ptrTime(at(0))}, false, fresh, true, walkAll},
		{"a round not accepted yet", &scanv1.ScanRequest{Round: 4, Members: 10000}, false, fresh, true, walkAll},
		{"a round started in this pass", large, true, fresh, true, walkAll},
		{"never counted by this manager", large, false, counted{}, false, walkAll},
		{"counted in an earlier round", large, false, counted{round: 3, at: now, endedSince: 0}, true, walkAll},
		{"counted under other exceptions", large, false, counted{round: 4, at: now, rules: "other"}, true, walkAll},
		{"nothing ended since the count", large, false, counted{round: 4, at: now.Add(-24 * time.Hour), took: time.Second}, true, walkUnended},
		{"members ended, the count is recent", large, false, progressed, true, walkUnended},
		{"members ended, the count is old enough", large, false, old, true, walkAll},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &pass{round: c.round, started: c.started}
			if got := walkOf(p, c.last, c.ok, now); got != c.want {
				t.Errorf("walkOf = %s; want %s", got, c.want)
			}
		})
	}
}

// A whole count is kept per ImageScan until it is deleted, and members
// ended since it add up.
func TestCountsAreForgottenWithTheirImageScan(t *testing.T) {
	var c counts
	k := types.NamespacedName{Namespace: "team", Name: "wide"}
	c.noteEnded(k, 5) // no count yet: nothing to add to
	if _, ok := c.last(k); ok {
		t.Fatal("a note without a count made one")
	}
	c.record(k, counted{round: 2})
	c.noteEnded(k, 5)
	c.noteEnded(k, 7)
	if v, _ := c.last(k); v.endedSince != 12 {
		t.Errorf("endedSince = %d; want 12", v.endedSince)
	}
	c.forget(k)
	if c.len() != 0 {
		t.Errorf("%d counts kept after forget", c.len())
	}
}

// A poll of a small running round needs no walk while what the last walk
// recorded still holds.
func TestMayBeQuiet(t *testing.T) {
	obj := &scanv1.ImageScan{}
	obj.Generation = 2
	running := &scanv1.ScanRequest{Round: 4, Members: 20, RequestedAt: at(-time.Hour), AcceptedAt: ptrTime(at(-time.Hour))}
	recorded := waiting{round: 4, generation: 2, keys: []string{"a"}}
	other := func(f func(*waiting)) waiting { w := recorded; w.keys = []string{"a"}; f(&w); return w }
	for _, c := range []struct {
		name               string
		round              *scanv1.ScanRequest
		started, sent      bool
		w                  waiting
		ok, overdue, ended bool
		want               bool
	}{
		{"as recorded", running, false, false, recorded, true, false, false, true},
		{"nothing recorded", running, false, false, waiting{}, false, false, false, false},
		{"a completed round", &scanv1.ScanRequest{Round: 4, CompletedAt: ptrTime(at(0))}, false, false, recorded, true, false, false, false},
		{"a round started in this pass", running, true, false, recorded, true, false, false, false},
		{"batch-scan sent in this pass", running, false, true, recorded, true, false, false, false},
		{"an overdue round walks its own images", running, false, false, recorded, true, true, false, false},
		{"a round past its deadline", running, false, false, recorded, true, false, true, false},
		{"recorded in another round", running, false, false, other(func(w *waiting) { w.round = 3 }), true, false, false, false},
		{"recorded for another generation", running, false, false, other(func(w *waiting) { w.generation = 1 }), true, false, false, false},
		{"recorded under other exceptions", running, false, false, other(func(w *waiting) { w.rules = "x" }), true, false, false, false},
		{"no member waiting", running, false, false, other(func(w *waiting) { w.keys = nil }), true, false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &pass{obj: obj, round: c.round, started: c.started, sent: c.sent}
			if got := mayBeQuiet(p, c.w, c.ok, c.overdue, c.ended); got != c.want {
				t.Errorf("mayBeQuiet = %t; want %t", got, c.want)
			}
		})
	}
}

// Only a whole walk of a small running round that left nothing to read
// records its waiting members.
func TestWaitingOf(t *testing.T) {
	obj := &scanv1.ImageScan{}
	running := func(members int32) *scanv1.ScanRequest {
		return &scanv1.ScanRequest{Round: 4, Members: members, RequestedAt: at(-time.Hour), AcceptedAt: ptrTime(at(-time.Hour))}
	}
	keys := &rounds.Tally{Waiting: []string{"a", "b"}}
	for _, c := range []struct {
		name   string
		round  *scanv1.ScanRequest
		unread int
		t      *rounds.Tally
		want   bool
	}{
		{"members waiting, nothing to read", running(20), 0, keys, true},
		{"the walk did not finish", running(20), 0, nil, false},
		{"reads left", running(20), 1, keys, false},
		{"every member has its scan", running(20), 0, &rounds.Tally{Waiting: []string{}}, false},
		{"a large round", running(reportPage + 1), 0, keys, false},
		{"a completed round", &scanv1.ScanRequest{Round: 4, Members: 20, CompletedAt: ptrTime(at(0))}, 0, keys, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &pass{obj: obj, round: c.round, unread: c.unread}
			w, ok := waitingOf(p, c.t)
			if ok != c.want {
				t.Fatalf("waitingOf = %t; want %t", ok, c.want)
			}
			if ok && (w.round != 4 || len(w.keys) != 2) {
				t.Errorf("recorded %+v", w)
			}
		})
	}
}

// A report deleted from outside drops its ImageScan's record, and a pass
// that began before the deletion records nothing.
func TestWaitingIsForgottenOnDeletion(t *testing.T) {
	var w waitingRounds
	k := types.NamespacedName{Namespace: "team", Name: "small"}
	epoch := w.now()
	w.record(k, waiting{round: 1, keys: []string{"a"}}, epoch)
	if _, ok := w.get(k); !ok {
		t.Fatal("nothing recorded")
	}
	began := w.now()
	w.forget(k)
	w.record(k, waiting{round: 1, keys: []string{"a"}}, began)
	if w.len() != 0 {
		t.Error("a pass that began before a deletion recorded what it walked")
	}
	w.record(k, waiting{round: 1, keys: []string{"a"}}, w.now())
	w.drop(k)
	if w.len() != 0 {
		t.Error("drop kept the entry")
	}
}

// A round started in this pass asks from the listing it was made from, as
// a walk of its new reports would: the members HSS lists, named in the
// reports' order.
func TestStartEvidence(t *testing.T) {
	keys := []rounds.Key{{Namespace: "a", Name: "b-c", Tag: "1"}, {Namespace: "a-b", Name: "c", Tag: "1"}, {Namespace: "z", Name: "gone", Tag: "1"}}
	listed := keySet(keys[:2])
	got := startEvidence(listedOf(keys, listed), true)
	if got.listed != 2 || len(got.missing) != 0 || got.reached {
		t.Fatalf("evidence = %+v", got)
	}
	var names []string
	for _, ref := range got.refs {
		names = append(names, rounds.KeyOfRequest(ref).String())
	}
	if want := []string{"a-b/c:1", "a/b-c:1"}; !slices.Equal(names, want) {
		t.Errorf("refs = %v; want %v", names, want)
	}
	if ev := startEvidence(listedOf(keys, listed), false); ev.refs != nil || ev.listed != 2 {
		t.Errorf("without refs: %+v", ev)
	}
}
