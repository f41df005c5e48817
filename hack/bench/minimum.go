package main

import (
	"math"
	"time"
)

// minimum is the fewest HSS calls and API writes that produce a round's
// result, and the shortest time the quota and the scanner allow.
//
// Per ImageScan and round: one batch-scan; the list pages that fix its
// members; one statistics call per image new to it (none in a rescan of
// unchanged images); three status writes (intent, outcome, completion).
// Per image: its report's creation before the first batch-scan and one
// write of its result each round. Once per round: the pages that show every member
// finished, which for many ImageScans of one project is one walk of the
// project's finished scans, not one per ImageScan. Time: no statistics call can come before the first scan
// ends (queue delay and scan), and those calls and the finishing pages then
// go at the quota less the limiter's burst (full again after the scans);
// nor can the run beat all its calls at the quota. One ImageScan also waits
// for its own calls before the scan starts; with many, later rounds start
// while earlier ones scan, so those overlap.
type minimum struct {
	batchScans, listPages, stats, writes, apiWrites int
	// detailPages are the pages of the images' vulnerability lists
	// (detailNeeds), lookups one catalogue call per
	// distinct vulnerability: the findings' detail.
	detailPages, lookups int
	time                 time.Duration
	after                int // calls that can only come once the scans end
	quota                float64
	burst                int
	queue, scan          time.Duration
}

func minimumOf(objects, imagesEach int, rescan bool, quota float64, burst int, queue, scan time.Duration) minimum {
	pages := int(math.Ceil(float64(imagesEach) / 200))
	finish := min(pages*objects, int(math.Ceil(float64(objects*imagesEach)/200)))
	m := minimum{
		batchScans: objects,
		listPages:  pages*objects + finish,
		stats:      objects * imagesEach,
		writes:     3 * objects,
		apiWrites:  3*objects + 2*objects*imagesEach,
	}
	if rescan {
		m.stats, m.apiWrites = 0, 3*objects+objects*imagesEach
	}
	m.after, m.quota, m.burst, m.queue, m.scan = m.stats+finish, quota, burst, queue, scan
	m.time = m.bound()
	if objects == 1 {
		m.time += at(pages+1, quota, burst)
	}
	return m
}

// at is how long calls take at the quota, less the burst.
func at(calls int, quota float64, burst int) time.Duration {
	return time.Duration(float64(max(calls-burst, 0)) / quota * float64(time.Second))
}

// bound is the larger of the two lower bounds on time.
func (m minimum) bound() time.Duration {
	return max(m.queue+m.scan+at(m.after, m.quota, m.burst), at(m.calls(), m.quota, m.burst))
}

// withDetail adds the findings' detail: it comes after the scans too.
func (m minimum) withDetail(pages, lookups int) minimum {
	extra := m.time - m.bound()
	m.detailPages, m.lookups = pages, lookups
	m.after += pages + lookups
	m.time = m.bound() + extra
	return m
}

func (m minimum) calls() int { return m.batchScans + m.listPages + m.stats + m.detailPages + m.lookups }

func ratio(got, least int) float64 {
	if least == 0 {
		return 0
	}
	return float64(got) / float64(least)
}
