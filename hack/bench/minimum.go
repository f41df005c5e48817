package main

import (
	"math"
	"time"
)

// minimum is the fewest HSS calls and status writes that produce a run's
// result, and the shortest time the quota and the scanner allow.
//
// Per ImageScan and round: one batch-scan; the list pages that fix its
// members and, once, the pages that show every member finished; one
// statistics call per image; three status writes (intent, outcome,
// completion). Time: the calls before the scans start and after they end,
// at the quota less the limiter's burst (a full bucket at the start, and
// again once the scans have run), plus the queue delay and the scan.
type minimum struct {
	batchScans, listPages, stats, writes int
	time                                 time.Duration
}

func minimumOf(objects, imagesEach int, quota float64, burst int, queue, scan time.Duration) minimum {
	pages := int(math.Ceil(float64(imagesEach) / 200))
	m := minimum{
		batchScans: objects,
		listPages:  2 * pages * objects,
		stats:      objects * imagesEach,
		writes:     3 * objects,
	}
	before := float64(max(objects*(pages+1)-burst, 0)) / quota
	after := float64(max(objects*(imagesEach+pages)-burst, 0)) / quota
	m.time = time.Duration((before+after)*float64(time.Second)) + queue + scan
	return m
}

func (m minimum) calls() int { return m.batchScans + m.listPages + m.stats }

func ratio(got, least int) float64 {
	if least == 0 {
		return 0
	}
	return float64(got) / float64(least)
}
