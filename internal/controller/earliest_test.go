package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

func indexOf(img hss.Image) string { return rounds.KeyOfImage(img).Index() }

// The earliest scans up to the limit are kept, in the order of their ends
// and, for those that ended together, of their keys; what the cursor passed
// is not kept; every scan listed between the cursor and the first dropped
// is kept.
func TestEarliestScansKeepsTheFirstToEnd(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	img := func(i, second int) hss.Image {
		return hss.Image{Namespace: "org", Name: "app", Tag: fmt.Sprint("v", i), ScanStatus: hss.StatusSuccess, LastScanAt: at.Add(time.Duration(second) * time.Second)}
	}
	cursor := func(i, second int) scanCursor {
		return scanCursor{at: at.Add(time.Duration(second) * time.Second), key: indexOf(img(i, second))}
	}
	cases := []struct {
		name  string
		limit int
		from  []int // image and second of the cursor the walk starts from; none when empty
		ends  []int // seconds after at of v0, v1, ..., listed in this order
		kept  []int
		// complete is the image and second of the first dropped; none when
		// empty.
		complete []int
	}{
		{"fewer than the limit", 5, nil, []int{3, 1, 2}, []int{0, 1, 2}, nil},
		{"the latest go first", 3, nil, []int{5, 1, 4, 2, 3}, []int{1, 3, 4}, []int{2, 4}},
		{"listed earliest first", 2, nil, []int{1, 2, 3, 4}, []int{0, 1}, []int{2, 3}},
		{"ties at the limit go by key", 3, nil, []int{1, 2, 2, 2, 1}, []int{0, 1, 4}, []int{2, 2}},
		{"all ended together: the limit still holds", 2, nil, []int{7, 7, 7, 7}, []int{0, 1}, []int{2, 7}},
		{"a later scan after the bound is not kept", 2, nil, []int{1, 2, 3, 9}, []int{0, 1}, []int{2, 3}},
		{"the cursor passes scans that ended together", 2, []int{1, 7}, []int{7, 7, 7, 7, 8}, []int{1, 2}, []int{3, 7}},
		{"the cursor's key, not only its time, bounds what is kept", 5, []int{2, 7}, []int{7, 7, 7, 8}, []int{2, 3}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var from scanCursor
			if tc.from != nil {
				from = cursor(tc.from[0], tc.from[1])
			}
			e := newEarliestScans(tc.limit, from)
			for i, s := range tc.ends {
				e.put(img(i, s))
			}
			var kept []int
			for i, s := range tc.ends {
				if _, ok := e.scans[indexOf(img(i, s))]; ok {
					kept = append(kept, i)
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(tc.kept) || len(e.scans) != len(tc.kept) {
				t.Errorf("kept %v (%d entries), want %v", kept, len(e.scans), tc.kept)
			}
			complete, dropped := e.complete()
			switch {
			case tc.complete == nil && dropped:
				t.Errorf("complete before %v, want every scan kept", complete)
			case tc.complete != nil && complete != cursor(tc.complete[0], tc.complete[1]):
				t.Errorf("complete before %v, want v%d at %ds", complete, tc.complete[0], tc.complete[1])
			}
		})
	}
}

// An image listed again with a later scan replaces its entry, and the
// stale end it leaves behind neither counts nor drops the new one.
func TestEarliestScansImageListedAgain(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	e := newEarliestScans(2, scanCursor{})
	a := hss.Image{Namespace: "org", Name: "app", Tag: "a", ScanStatus: hss.StatusSuccess, LastScanAt: at}
	e.put(a)
	e.put(a)
	a.LastScanAt = at.Add(2 * time.Second)
	e.put(a)
	e.put(hss.Image{Namespace: "org", Name: "app", Tag: "b", ScanStatus: hss.StatusSuccess, LastScanAt: at.Add(time.Second)})
	if _, dropped := e.complete(); len(e.scans) != 2 || dropped {
		t.Fatalf("kept %d, dropped %t; want 2 and every scan", len(e.scans), dropped)
	}
	c := hss.Image{Namespace: "org", Name: "app", Tag: "c", ScanStatus: hss.StatusSuccess, LastScanAt: at.Add(3 * time.Second)}
	e.put(c)
	if got := e.scans[indexOf(a)].scanTime(); !got.Equal(a.LastScanAt) {
		t.Errorf("a's entry ended at %s, want its later scan's %s", got, a.LastScanAt)
	}
	if complete, _ := e.complete(); complete != (scanCursor{at: c.LastScanAt, key: indexOf(c)}) {
		t.Errorf("complete before %v, want c's scan", complete)
	}
}

// A member of an overdue round that is neither among its unfinished images
// nor in the answer is gone from HSS only when the answer is whole: a
// partial answer leaves it to the pass that hears the later scans.
func TestOnlyAWholeAnswerMakesAMemberNotFound(t *testing.T) {
	accepted := metav1.NewTime(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	for _, partial := range []bool{false, true} {
		p := &pass{
			obj:   &scanv1.ImageScan{},
			round: &scanv1.ScanRequest{Round: 1, RequestedAt: accepted, AcceptedAt: &accepted},
			heard: true, ownWalk: true, partial: partial, feed: &finishedFeed{},
			finished: scanIndexes{scanIndex{}}, unfinished: scanIndex{},
		}
		m := &member{key: rounds.Key{Namespace: "org", Name: "app", Tag: "v1"}}
		if err := (&ImageScanReconciler{}).follow(context.Background(), p, []*member{m}); err != nil {
			t.Fatal(err)
		}
		notFound := m.status.ScanStatus == scanv1.ScanStatusNotFound
		if notFound == partial {
			t.Errorf("partial answer %t: member not found %t, want %t", partial, notFound, !partial)
		}
	}
}
