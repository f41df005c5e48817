package controller

import (
	"container/heap"
	"time"

	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// earliestScans keeps, of the scans a walk lists, those that ended first, up
// to a limit, and says before when it holds every one listed. An ImageScan
// far behind the feed of finished scans lists its own images that ended
// since its bound; with this it catches up a limit at a time, acknowledging
// only up to that time, instead of holding every scan it missed (20 MiB at
// 100,000 images). Scans that ended at the same instant are kept or dropped
// together, so the time always moves past what was kept; many more than the
// limit ending at one instant are all kept.
type earliestScans struct {
	limit int
	scans scanIndex
	// ends are the kept scans' ends, latest on top; an image listed again
	// with another scan leaves a stale entry, skipped when it comes up.
	ends     endHeap
	earliest int64 // the earliest end kept
	// cutoff is the earliest end dropped: every scan listed that ended
	// before it is kept. Zero while nothing was dropped.
	cutoff int64
}

func newEarliestScans(limit int) *earliestScans {
	return &earliestScans{limit: limit, scans: scanIndex{}}
}

// put keeps img, which has ended, unless the limit keeps earlier ones.
func (e *earliestScans) put(img hss.Image) {
	end, index := img.LastScanAt.UnixNano(), rounds.KeyOfImage(img).Index()
	if old, ok := e.scans[index]; ok && old.lastScanAt == end {
		return
	}
	if e.cutoff != 0 && end >= e.cutoff {
		return
	}
	e.scans.putAt(index, img)
	heap.Push(&e.ends, endAt{end: end, index: index})
	if len(e.scans) == 1 || end < e.earliest {
		e.earliest = end
	}
	for len(e.scans) > e.limit {
		top := e.latest()
		if top == e.earliest {
			return // all kept ended together
		}
		for len(e.ends) > 0 && e.ends[0].end == top {
			e.drop(heap.Pop(&e.ends).(endAt))
		}
		e.cutoff = top
	}
}

// latest is the latest end kept, discarding stale entries on top.
func (e *earliestScans) latest() int64 {
	for len(e.ends) > 0 {
		top := e.ends[0]
		if kept, ok := e.scans[top.index]; ok && kept.lastScanAt == top.end {
			return top.end
		}
		heap.Pop(&e.ends)
	}
	return 0
}

func (e *earliestScans) drop(a endAt) {
	if kept, ok := e.scans[a.index]; ok && kept.lastScanAt == a.end {
		delete(e.scans, a.index)
	}
}

// complete is the time before which every listed scan is kept; zero when
// every one is.
func (e *earliestScans) complete() time.Time {
	if e.cutoff == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.cutoff).UTC()
}

type endAt struct {
	end   int64
	index string
}

// endHeap is a max-heap of ends.
type endHeap []endAt

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].end > h[j].end }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(endAt)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
