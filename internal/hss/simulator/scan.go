package simulator

import (
	"encoding/binary"
	"hash/fnv"
	"time"
)

// scanJob is the latest scan of one image. Its status is never stored: it is
// derived from the clock, so a fake clock can step a scan through its states.
type scanJob struct {
	count     int           // scans started so far; 0 means never scanned
	requested time.Time     // when the latest request queued the image
	outcome   Status        // terminal status the latest scan will reach
	prevDone  time.Time     // completion of the scan before, for latest_scan_time
	scanFor   time.Duration // the image's own scan duration; zero takes the configured one
	// prev is the state before the latest request, shown until the image
	// is queued (a task may queue its images later than it is created).
	prev ScanState
}

// timing is the simulated scanner's speed.
type timing struct {
	queue, scan time.Duration
}

// state derives the scan state at now.
func (j scanJob) state(now time.Time, t timing) ScanState {
	st := ScanState{Status: StatusUnscan, Scans: j.count, LastScanAt: j.prevDone}
	if j.count == 0 {
		return st
	}
	started := j.requested.Add(t.queue)
	done := started.Add(t.scan)
	if j.scanFor > 0 {
		done = started.Add(j.scanFor)
	}
	switch {
	case now.Before(j.requested):
		prev := j.prev
		prev.Scans = j.count
		return prev
	case now.Before(started):
		st.Status = StatusWaiting
	case now.Before(done):
		st.Status = StatusScanning
	default:
		st.Status = j.outcome
		st.FailedDesc = failedDesc[j.outcome]
		st.LastScanAt = done
	}
	return st
}

// restart begins a new scan unless one is already waiting or running, and
// reports whether it did.
func (j *scanJob) restart(now time.Time, t timing, outcome Status, scanFor time.Duration) bool {
	return j.restartAt(now, now, t, outcome, scanFor)
}

// restartAt is restart for a scan queued at at (a rate-limited task queues
// its images one after another), no earlier than now.
func (j *scanJob) restartAt(now, at time.Time, t timing, outcome Status, scanFor time.Duration) bool {
	cur := j.state(now, t)
	if cur.Status == StatusWaiting || cur.Status == StatusScanning {
		return false
	}
	j.prevDone, j.prev = cur.LastScanAt, cur
	j.count++
	j.requested = at
	j.outcome = outcome
	j.scanFor = scanFor
	return true
}

var failedDesc = map[Status]string{
	StatusFailed:         "Image scan failed: the scan engine reported an internal error.",
	StatusDownloadFailed: "Failed to download the image from the image repository.",
	StatusOversized:      "The image exceeds the maximum size that can be scanned.",
}

var failureKinds = []Status{StatusFailed, StatusDownloadFailed, StatusOversized}

// decideOutcome picks the terminal status of an image's n-th scan. It hashes
// seed, image and scan number instead of drawing from a shared generator so
// the result does not depend on request order.
func decideOutcome(img Image, n int, seed int64, failureRate float64) Status {
	if img.ForcedOutcome != "" {
		return img.ForcedOutcome
	}
	h := fnv.New64a()
	var buf [8]byte
	for _, v := range []int64{seed, img.ID, int64(n)} {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	sum := h.Sum64()
	if float64(sum>>11)/(1<<53) >= failureRate {
		return StatusSuccess
	}
	return failureKinds[sum%uint64(len(failureKinds))]
}
