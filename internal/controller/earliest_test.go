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

// The earliest scans up to the limit are kept; what ended at the same
// instant is kept or dropped together; the bound before which all are kept
// is the earliest end dropped.
func TestEarliestScansKeepsTheFirstToEnd(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	img := func(tag string, second int) hss.Image {
		return hss.Image{Namespace: "org", Name: "app", Tag: tag, ScanStatus: hss.StatusSuccess, LastScanAt: at.Add(time.Duration(second) * time.Second)}
	}
	cases := []struct {
		name     string
		limit    int
		ends     []int // seconds after at, listed in this order
		kept     int
		complete int // seconds after at; -1: every scan kept
	}{
		{"fewer than the limit", 5, []int{3, 1, 2}, 3, -1},
		{"the latest go first", 3, []int{5, 1, 4, 2, 3}, 3, 4},
		{"listed earliest first", 2, []int{1, 2, 3, 4}, 2, 3},
		{"ties at the limit go together", 3, []int{1, 2, 2, 2, 1}, 2, 2},
		{"all ended together are all kept", 2, []int{7, 7, 7, 7}, 4, -1},
		{"a later scan after the bound is not kept", 2, []int{1, 2, 3, 9}, 2, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEarliestScans(tc.limit)
			for i, s := range tc.ends {
				e.put(img(fmt.Sprint("v", i), s))
			}
			if len(e.scans) != tc.kept {
				t.Errorf("kept %d, want %d", len(e.scans), tc.kept)
			}
			complete := e.complete()
			switch {
			case tc.complete < 0 && !complete.IsZero():
				t.Errorf("complete before %s, want every scan kept", complete)
			case tc.complete >= 0 && !complete.Equal(at.Add(time.Duration(tc.complete)*time.Second)):
				t.Errorf("complete before %s, want %ds", complete, tc.complete)
			}
			// Every scan listed that ended before the bound is kept.
			for i, s := range tc.ends {
				end := at.Add(time.Duration(s) * time.Second)
				if _, ok := e.scans[indexOf(img(fmt.Sprint("v", i), s))]; !ok && (complete.IsZero() || end.Before(complete)) {
					t.Errorf("v%d, ended at %ds, not kept", i, s)
				}
			}
		})
	}
}

// An image listed again with a later scan replaces its entry, and the
// stale end it leaves behind neither counts nor drops the new one.
func TestEarliestScansImageListedAgain(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	e := newEarliestScans(2)
	a := hss.Image{Namespace: "org", Name: "app", Tag: "a", ScanStatus: hss.StatusSuccess, LastScanAt: at}
	e.put(a)
	e.put(a)
	a.LastScanAt = at.Add(2 * time.Second)
	e.put(a)
	e.put(hss.Image{Namespace: "org", Name: "app", Tag: "b", ScanStatus: hss.StatusSuccess, LastScanAt: at.Add(time.Second)})
	if len(e.scans) != 2 || !e.complete().IsZero() {
		t.Fatalf("kept %d, complete before %s; want 2 and every scan", len(e.scans), e.complete())
	}
	e.put(hss.Image{Namespace: "org", Name: "app", Tag: "c", ScanStatus: hss.StatusSuccess, LastScanAt: at.Add(3 * time.Second)})
	if got := e.scans[indexOf(a)].scanTime(); !got.Equal(a.LastScanAt) {
		t.Errorf("a's entry ended at %s, want its later scan's %s", got, a.LastScanAt)
	}
	if want := at.Add(3 * time.Second); !e.complete().Equal(want) {
		t.Errorf("complete before %s, want %s", e.complete(), want)
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
