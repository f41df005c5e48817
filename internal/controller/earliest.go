package controller

import (
	"container/heap"
	"time"

	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// scanCursor is how far a reader has saved a round's results: every scan
// that ended before at, and of those that ended at at, the images whose
// index key sorts before key (none when key is ""). A batch scanned at once
// may end on one millisecond of HSS's clock, 100,000 images together; the
// key lets a reader go past any number of them a limit at a time.
type scanCursor struct {
	at  time.Time
	key string
}

// before: c is short of o.
func (c scanCursor) before(o scanCursor) bool { return c.endAt().before(o.endAt()) }

// endAt is c as the heap holds it; the zero cursor comes before any scan.
func (c scanCursor) endAt() endAt {
	if c.at.IsZero() {
		return endAt{}
	}
	return endAt{end: c.at.UnixNano(), index: c.key}
}

// earliestScans keeps, of the scans a walk lists, those that ended first,
// up to a limit, and says before which cursor it holds every one listed.
// An ImageScan far behind the feed of finished scans lists its own images
// that ended since its cursor; with this it catches up a limit at a time,
// acknowledging only up to where it holds them all, instead of holding
// every scan it missed (20 MiB at 100,000 images). Scans that ended at the
// same instant are ordered by key, so the bound holds however many end
// together, and the cursor always moves.
type earliestScans struct {
	limit int
	// from: what ended before it is saved already, and not kept.
	from  endAt
	scans scanIndex
	// ends are the kept scans' ends, latest on top; an image listed again
	// with another scan leaves a stale entry, skipped when it comes up.
	ends endHeap
	// cutoff is the earliest scan dropped: every scan listed before it is
	// kept. Unset while nothing was dropped.
	cutoff  endAt
	dropped bool
}

func newEarliestScans(limit int, from scanCursor) *earliestScans {
	return &earliestScans{limit: limit, from: from.endAt(), scans: scanIndex{}}
}

// put keeps img, which has ended, unless the limit keeps earlier ones.
func (e *earliestScans) put(img hss.Image) {
	at := endAt{end: img.LastScanAt.UnixNano(), index: rounds.KeyOfImage(img).Index()}
	if at.before(e.from) || e.dropped && !at.before(e.cutoff) {
		return
	}
	if old, ok := e.scans[at.index]; ok && old.lastScanAt == at.end {
		return
	}
	e.scans.putAt(at.index, img)
	heap.Push(&e.ends, at)
	for len(e.scans) > e.limit {
		top := e.latest()
		heap.Pop(&e.ends)
		delete(e.scans, top.index)
		e.cutoff, e.dropped = top, true
	}
}

// latest is the latest scan kept, once stale entries on top are discarded.
func (e *earliestScans) latest() endAt {
	for {
		top := e.ends[0]
		if kept, ok := e.scans[top.index]; ok && kept.lastScanAt == top.end {
			return top
		}
		heap.Pop(&e.ends)
	}
}

// complete is the cursor before which every listed scan is kept; false
// when every one is.
func (e *earliestScans) complete() (scanCursor, bool) {
	if !e.dropped {
		return scanCursor{}, false
	}
	return scanCursor{at: time.Unix(0, e.cutoff.end).UTC(), key: e.cutoff.index}, true
}

// endAt is a scan's end and its image's index key: scans in the order a
// cursor passes them.
type endAt struct {
	end   int64
	index string
}

func (a endAt) before(b endAt) bool {
	if a.end != b.end {
		return a.end < b.end
	}
	return a.index < b.index
}

// endHeap is a max-heap of ends.
type endHeap []endAt

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[j].before(h[i]) }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(endAt)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
