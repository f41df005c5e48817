package controller

import (
	"context"
	"encoding/json"
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
	for k, f := range fs.feeds {
		if now.Sub(f.lastRead()) > idleFeed {
			delete(fs.feeds, k)
		}
	}
	criteria, _ := json.Marshal(filter) // cannot fail: strings, bools, numbers and times
	k := feedKey{client: c, filter: string(criteria)}
	f, ok := fs.feeds[k]
	if !ok {
		f = &finishedFeed{client: c, filter: filter, turn: semaphore.NewWeighted(1), readers: map[types.NamespacedName]uint64{}, read: now}
		fs.feeds[k] = f
	}
	return f
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
	readers map[types.NamespacedName]uint64 // the walk each ImageScan read last

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

// finished returns the images whose scans ended since the round started,
// from a walk that started after the round's request and after the
// reader's previous read: each reader sees news on each read, and readers
// that come together share one walk.
func (f *finishedFeed) finished(ctx context.Context, reader types.NamespacedName, round *scanv1.ScanRequest, clk clock.PassiveClock) (map[imageKey]hss.Image, error) {
	if err := f.turn.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	defer f.turn.Release(1)
	f.mu.Lock()
	last, seen := f.readers[reader]
	f.read = clk.Now()
	f.mu.Unlock()

	// The walk's bound is on HSS's clock; when the walk started is on ours.
	since, requested := hssStart(round).Add(-finishedOverlap), round.RequestedAt.Time
	switch {
	case f.images == nil || since.Before(f.from):
		if err := f.walk(ctx, since, clk); err != nil {
			return nil, err
		}
		f.from = since
	case seen && f.walks <= last, f.walkedAt.Before(requested):
		if err := f.walk(ctx, f.next, clk); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	f.readers[reader] = f.walks
	f.mu.Unlock()
	return f.images, nil
}

// walk lists the scans that ended at or after after and publishes a new map
// with them, without those older than finishedRetention.
func (f *finishedFeed) walk(ctx context.Context, after time.Time, clk clock.PassiveClock) error {
	started := clk.Now()
	filter := f.filter
	filter.ScannedAfter, filter.ScannedBefore = &after, nil
	listed, err := f.client.ListImages(ctx, filter)
	if err != nil {
		return err
	}
	took := clk.Since(started)
	horizon := started.Add(-finishedRetention)
	images := make(map[imageKey]hss.Image, len(f.images)+len(listed))
	for k, img := range f.images {
		if !img.LastScanAt.Before(horizon) {
			images[k] = img
		}
	}
	var latest time.Time
	for _, img := range listed {
		images[keyOfImage(img)] = img
		if img.LastScanAt.After(latest) {
			latest = img.LastScanAt
		}
	}
	f.images, f.walks, f.walkedAt = images, f.walks+1, started
	if f.from.Before(horizon) {
		f.from = horizon
	}
	if f.next.IsZero() || f.next.Before(after) {
		f.next = after
	}
	// Everything that ends from now on ends after the walk started, on
	// HSS's clock no earlier than the latest end it showed less the walk's
	// length.
	if next := latest.Add(-took - finishedOverlap); next.After(f.next) {
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
