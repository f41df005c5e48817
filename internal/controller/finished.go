package controller

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// Following a round asks HSS one question: which images finished scanning
// since I last looked? The list call answers it when given
// start_latest_scan_time (the time a scan ended), and each walk lists only
// the scans that ended since the walk before. A feed remembers the answers
// for one client and one set of criteria: every ImageScan reads the feed of
// its client and image type, so one walk serves them all, and each looks up
// its own members in it by identity. List pages then follow the scans that
// end, not the ImageScans times the images each follows.

// finishedOverlap is how far each incremental walk reaches back before the
// latest scan end the previous walk saw, beyond the walk's own duration: a
// scan that ended while the walk paged past it is listed again by the next.
const finishedOverlap = 10 * time.Second

// finishedRetention bounds how long a finished scan is remembered; a round
// older than this reads its own walk from its start instead.
const finishedRetention = 6 * time.Hour

// idleFeed is how long a feed no ImageScan read is kept, e.g. after its
// client was replaced by new credentials.
const idleFeed = time.Hour

// feedWait bounds how long a reader queues behind another's walk; past it
// the reader gets errFeedBusy and looks again on its next poll, so a slow
// walk holds no other worker.
const feedWait = 10 * time.Second

var errFeedBusy = errors.New("another ImageScan's walk of finished scans is still running")

// finishedFeeds holds one feed per client and criteria.
type finishedFeeds struct {
	mu    sync.Mutex
	feeds map[feedKey]*finishedFeed
}

type feedKey struct {
	client hss.Client
	filter string
}

// feed returns the feed of a client and criteria, dropping idle ones.
func (fs *finishedFeeds) feed(c hss.Client, filter hss.Filter, now time.Time) *finishedFeed {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.feeds == nil {
		fs.feeds = map[feedKey]*finishedFeed{}
	}
	fs.dropIdle(now)
	criteria, _ := json.Marshal(filter) // cannot fail: strings, bools, numbers and times
	k := feedKey{client: c, filter: string(criteria)}
	f, ok := fs.feeds[k]
	if !ok {
		f = &finishedFeed{client: c, filter: filter, turn: semaphore.NewWeighted(1), readers: map[types.NamespacedName]reading{}, read: now}
		fs.feeds[k] = f
	}
	return f
}

// sweep drops the feeds nobody read for idleFeed, and with them the scans
// they remember.
func (fs *finishedFeeds) sweep(now time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.dropIdle(now)
}

// dropIdle does sweep's work; the caller holds fs.mu.
func (fs *finishedFeeds) dropIdle(now time.Time) {
	for k, f := range fs.feeds {
		if now.Sub(f.lastRead()) > idleFeed {
			delete(fs.feeds, k)
		}
	}
}

// len counts the feeds.
func (fs *finishedFeeds) len() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.feeds)
}

// forget drops what the feeds remember of a deleted ImageScan.
func (fs *finishedFeeds) forget(reader types.NamespacedName) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.feeds {
		f.forget(reader)
	}
}

// finishedFeed records the images of one client and criteria whose scans
// ended lately.
type finishedFeed struct {
	client hss.Client
	filter hss.Filter // without scan-time bounds: the feed sets its own

	// turn is held for a walk and for reading the feed: a reader that
	// queued behind a walk takes its answer instead of walking again.
	turn *semaphore.Weighted

	mu      sync.Mutex // guards read and readers, which forget also touches
	read    time.Time
	readers map[types.NamespacedName]reading

	walks    uint64
	walkedAt time.Time // when the latest walk started, on our clock
	// from: every scan that ended at or after it is in images.
	from time.Time
	// next is the start_latest_scan_time of the next incremental walk, on
	// HSS's clock.
	next time.Time
	// images is replaced, never changed, so a reader may keep it.
	images map[imageKey]hss.Image
}

// reading is what a reader last read: the walk, the scan-time bound of its
// round, and when.
type reading struct {
	walk  uint64
	since time.Time
	at    time.Time
}

// readerTTL: a reader that has not read for this long has no round running
// (a running round polls at least every --max-poll-interval) and no longer
// holds the walks back.
const readerTTL = 10 * time.Minute

// finished returns the images whose scans ended since the round started,
// from a walk that started after the round's request and after the
// reader's previous read: each reader sees news on each read, and readers
// that come together share one walk.
func (f *finishedFeed) finished(ctx context.Context, reader types.NamespacedName, round *scanv1.ScanRequest, clk clock.PassiveClock) (map[imageKey]hss.Image, error) {
	wait, cancel := context.WithTimeout(ctx, feedWait)
	defer cancel()
	if err := f.turn.Acquire(wait, 1); err != nil {
		if ctx.Err() == nil {
			return nil, errFeedBusy
		}
		return nil, err
	}
	defer f.turn.Release(1)
	// The walk's bound is on HSS's clock; when the walk started is on ours.
	since, requested := hssStart(round).Add(-finishedOverlap), round.RequestedAt.Time
	now := clk.Now()
	f.mu.Lock()
	last, seen := f.readers[reader]
	f.readers[reader] = reading{walk: last.walk, since: since, at: now}
	f.read = now
	oldest := f.oldestSince(now)
	f.mu.Unlock()

	switch {
	case f.images == nil || since.Before(f.from):
		if err := f.walk(ctx, since, clk); err != nil {
			return nil, err
		}
		f.from = since
	case seen && f.walks <= last.walk, f.walkedAt.Before(requested):
		// No reader follows a round older than oldest: scans that ended
		// before it need not be listed again.
		from := f.next
		if oldest.After(from) {
			from, f.from = oldest, oldest
		}
		if err := f.walk(ctx, from, clk); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.readers[reader] = reading{walk: f.walks, since: since, at: now}
	f.mu.Unlock()
	return f.images, nil
}

// oldestSince is the earliest scan-time bound of the readers that read
// lately; the caller holds f.mu.
func (f *finishedFeed) oldestSince(now time.Time) time.Time {
	var oldest time.Time
	for _, r := range f.readers {
		if now.Sub(r.at) <= readerTTL && (oldest.IsZero() || r.since.Before(oldest)) {
			oldest = r.since
		}
	}
	return oldest
}

// walk lists the scans that ended at or after after and publishes a new map
// with them, without those older than finishedRetention.
func (f *finishedFeed) walk(ctx context.Context, after time.Time, clk clock.PassiveClock) error {
	started := clk.Now()
	filter := f.filter
	filter.ScannedAfter, filter.ScannedBefore = &after, nil
	horizon := started.Add(-finishedRetention)
	images := make(map[imageKey]hss.Image, len(f.images))
	for k, img := range f.images {
		if !img.LastScanAt.Before(horizon) {
			images[k] = img
		}
	}
	// The listing goes straight into the new map, a page at a time; its
	// scan times are weighed once HSS's clock is known from its answers.
	var ends []time.Time
	err := f.client.EachImage(ctx, filter, func(img hss.Image) error {
		images[keyOfImage(img)] = img
		ends = append(ends, img.LastScanAt)
		return nil
	})
	if err != nil {
		return err
	}
	took := clk.Since(started)
	// A scan cannot have ended after HSS answered: a later time was stamped
	// by a clock that was wrong, and taken as the window's start it would
	// hide every real scan from the walks that follow.
	answered, ok := f.client.ServerTime(clk.Now())
	if !ok {
		answered = clk.Now().Add(clockSkew)
	}
	var latest time.Time
	for _, end := range ends {
		if end.After(latest) && !end.After(answered.Add(datePrecision)) {
			latest = end
		}
	}
	f.images, f.walks, f.walkedAt = images, f.walks+1, started
	if f.from.Before(horizon) {
		f.from = horizon
	}
	if f.next.IsZero() || f.next.Before(after) {
		f.next = after
	}
	// Everything that ends from now on ends after the walk started: on
	// HSS's clock no earlier than the latest end it showed less the walk's
	// length, and no earlier than the walk's start as HSS's answers tell
	// it. The second bound matters when thousands of scans end together
	// and nothing ends after them: the first alone would list them all
	// again on every poll until the round completes.
	next := latest.Add(-took - finishedOverlap)
	if hssStarted, ok := f.client.ServerTime(started); ok && hssStarted.Add(-finishedOverlap).After(next) {
		next = hssStarted.Add(-finishedOverlap)
	}
	if next.After(f.next) {
		f.next = next
	}
	return nil
}

func (f *finishedFeed) lastRead() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read
}

func (f *finishedFeed) forget(reader types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.readers, reader)
}
