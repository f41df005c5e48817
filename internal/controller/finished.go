package controller

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// Following a round asks HSS one question: which images finished scanning
// since I last looked? The list call answers it when given
// start_latest_scan_time (the time a scan ended), and each walk lists only
// the scans that ended since the walk before. A feed remembers the answers
// for one client and one set of criteria: every ImageScan reads the feed of
// its client and image type, so one walk serves them all, and each looks up
// its own members in it by identity. List pages then follow the scans that
// end, not the ImageScans times the images each follows.
//
// A pass that followed every member of its round with an answer tells the
// feed so (acknowledge): its round's results are saved up to that answer,
// and its next read needs only the scans that ended after it. The feed
// keeps no scan older than what its active readers still need, and never
// more than its limit: a reader left behind the feed's window lists its own
// images that ended since it last acknowledged, so that the feed holds the
// scans of the last minutes, not of the round or of the slowest reader.

// finishedOverlap is how far each incremental walk reaches back before the
// latest scan end the previous walk saw, beyond the walk's own duration: a
// scan that ended while the walk paged past it is listed again by the next.
const finishedOverlap = 10 * time.Second

// finishedRetention bounds how long a finished scan is remembered; a round
// older than this reads its own walk from its start instead.
const finishedRetention = 6 * time.Hour

// feedScans bounds the scans a feed keeps: about 5 MiB (240 bytes a scan).
// Past it the oldest walks go, whoever still needs them.
const feedScans = 20000

// feedReach is how far before HSS's present a new feed's first walk reaches
// back, at most: a reader whose round started earlier lists its own images
// once, rather than have the feed list every scan of the registry since.
const feedReach = 15 * time.Minute

// feedSegments bounds the walks a feed keeps apart: past it the two
// adjacent ones with the fewest scans are merged, so that a lookup reads a
// few maps and a merge copies the small ones.
const feedSegments = 16

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
	// limit is each feed's bound in scans; feedScans when zero.
	limit int
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
		limit := fs.limit
		if limit <= 0 {
			limit = feedScans
		}
		f = &finishedFeed{client: c, filter: filter, limit: limit, turn: semaphore.NewWeighted(1), readers: map[types.NamespacedName]reading{}, read: now}
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

// len counts the feeds and the scans they hold.
func (fs *finishedFeeds) len() (feeds, scans int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.feeds {
		f.mu.Lock()
		scans += f.scans
		f.mu.Unlock()
	}
	return len(fs.feeds), scans
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
	limit  int        // scans kept at most

	// turn is held for a walk and for reading the feed: a reader that
	// queued behind a walk takes its answer instead of walking again.
	turn *semaphore.Weighted

	mu   sync.Mutex // guards read and readers, which forget also touches, and segments' replacement
	read time.Time
	// readers has one entry per ImageScan that reads this feed: forget
	// drops it when the ImageScan goes, and the feed goes when idle.
	readers map[types.NamespacedName]reading

	walks    uint64
	walkedAt time.Time // when the latest walk started, on our clock
	// from: every scan that ended at or after it is in images.
	from time.Time
	// next is the start_latest_scan_time of the next incremental walk, on
	// HSS's clock.
	next time.Time
	// segments are the walks' listings, newest first; scans counts their
	// entries. Neither the slice nor an index is changed once published,
	// so a reader may keep its answer while the feed moves on.
	segments []segment
	scans    int
}

// segment is what one walk listed, or several merged, and the latest scan
// end among them on HSS's clock.
type segment struct {
	scans  scanIndex
	latest time.Time
}

// reading is what a reader last read: the walk, the scan-time bound it
// needed, and when; and what it acknowledged: round's results are saved
// for every scan before upTo.
type reading struct {
	walk  uint64
	since time.Time
	at    time.Time
	round int64
	upTo  scanCursor
}

// news is a feed's answer: the scans that ended from the reader's bound on,
// every one before upTo among them. When behind is set, the reader's
// cursor was before the feed's window: the scans from behind up to the
// window are not among them.
type news struct {
	scans  scanIndexes
	upTo   scanCursor
	behind scanCursor
}

// readerTTL: a reader that has not read for this long has no round running
// (a running round polls at least every --max-poll-interval) and no longer
// holds the walks back.
const readerTTL = 10 * time.Minute

// finished returns the images whose scans ended since the round started,
// or since what the reader acknowledged of the round, from a walk that
// started after the round's request and after the reader's previous read:
// each reader sees news on each read, and readers that come together share
// one walk. A walk that started before notBefore (on our clock) is not
// taken either. It tells a reader whose bound is before the feed's window
// so (news.behind) rather than list those scans again.
func (f *finishedFeed) finished(ctx context.Context, reader types.NamespacedName, round *scanv1.ScanRequest, notBefore time.Time, clk clock.PassiveClock) (news, error) {
	wait, cancel := context.WithTimeout(ctx, feedWait)
	defer cancel()
	if err := f.turn.Acquire(wait, 1); err != nil {
		if ctx.Err() == nil {
			return news{}, errFeedBusy
		}
		return news{}, err
	}
	defer f.turn.Release(1)
	// The walk's bound is on HSS's clock; when the walk started is on ours.
	since, requested := rounds.HSSStart(round).Add(-finishedOverlap), later(round.RequestedAt.Time, notBefore)
	now := clk.Now()
	f.mu.Lock()
	last, seen := f.readers[reader]
	from := scanCursor{at: since}
	if seen && last.round == round.Round && last.upTo.at.After(since) {
		since, from = last.upTo.at, last.upTo
	}
	last.since, last.at = since, now
	f.readers[reader] = last
	f.read = now
	oldest := f.oldestSince(now)
	f.mu.Unlock()

	// No reader needs a scan that ended before oldest: it need not be
	// listed again, nor kept.
	switch {
	case f.walks == 0:
		f.from = later(since, f.hssTime(now).Add(-feedReach))
		if err := f.walk(ctx, f.from, oldest, clk); err != nil {
			return news{}, err
		}
	case seen && f.walks <= last.walk, f.walkedAt.Before(requested):
		if err := f.walk(ctx, later(f.next, oldest), oldest, clk); err != nil {
			return news{}, err
		}
	}
	f.mu.Lock()
	last.walk = f.walks
	f.readers[reader] = last
	f.mu.Unlock()
	answer := news{scans: make(scanIndexes, len(f.segments)), upTo: scanCursor{at: f.next}}
	for i, s := range f.segments {
		answer.scans[i] = s.scans
	}
	if since.Before(f.from) {
		answer.behind = from
	}
	return answer, nil
}

// acknowledge records that reader saved round's results for every scan the
// answer listed: its next read of round starts at upTo. An answer that
// reached less far than the reader had saved (a walk that started the
// window again) takes nothing back.
func (f *finishedFeed) acknowledge(reader types.NamespacedName, round int64, upTo scanCursor) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.readers[reader]
	if !ok || r.round == round && upTo.before(r.upTo) {
		return
	}
	r.round, r.upTo = round, upTo
	f.readers[reader] = r
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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

// walk lists the scans that ended at or after after and publishes them as
// the newest segment, dropping the segments whose scans all ended before
// keep or finishedRetention ago, and the oldest while they hold more than
// the feed's limit.
func (f *finishedFeed) walk(ctx context.Context, after, keep time.Time, clk clock.PassiveClock) error {
	started := clk.Now()
	filter := f.filter
	filter.ScannedAfter, filter.ScannedBefore = &after, nil
	// The listing goes straight into the new segment, a page at a time,
	// but for the scans the feed holds already: each walk lists again those
	// that ended within the overlap, and kept twice they would fill the
	// feed's limit with repeats. Their ends moved next when first listed.
	// The new scans' times are weighed once HSS's clock is known.
	listed := scanIndex{}
	err := f.client.EachImage(ctx, filter, func(img hss.Image) error {
		if f.holds(img) {
			return nil
		}
		if len(listed) >= f.limit {
			return errFeedFull
		}
		listed.put(img)
		return nil
	})
	if errors.Is(err, errFeedFull) {
		f.restart(started)
		return nil
	}
	if err != nil {
		return err
	}
	took := clk.Since(started)
	// A scan cannot have ended after HSS answered: a later time was stamped
	// by a clock that was wrong, and taken as the window's start it would
	// hide every real scan from the walks that follow.
	answered, ok := f.client.ServerTime(clk.Now())
	if !ok {
		answered = clk.Now().Add(rounds.ClockSkew)
	}
	var latest time.Time
	for _, e := range listed {
		if end := e.scanTime(); end.After(latest) && !end.After(answered.Add(datePrecision)) {
			latest = end
		}
	}
	f.publish(segment{scans: listed, latest: latest}, later(started.Add(-finishedRetention), keep))
	f.walks, f.walkedAt = f.walks+1, started
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

// errFeedFull stops a walk that found more scans than the feed may hold.
var errFeedFull = errors.New("more scans ended than the feed holds")

// restart empties the feed after a walk that found more new scans than its
// limit, which happens when a walk is slow while thousands of scans end:
// its window starts again at that walk's start, from where the next walk
// lists, and the readers with an earlier bound list their own images. The
// feed and the walk hold no more than the limit however many scans end.
func (f *finishedFeed) restart(started time.Time) {
	at := f.hssTime(started).Add(-finishedOverlap)
	f.mu.Lock()
	f.segments, f.scans, f.from = nil, 0, later(f.from, at)
	f.mu.Unlock()
	f.next = later(f.next, at)
	f.walks, f.walkedAt = f.walks+1, started
}

// hssTime is local on HSS's clock, or local itself until an answer told it.
func (f *finishedFeed) hssTime(local time.Time) time.Time {
	if t, ok := f.client.ServerTime(local); ok {
		return t
	}
	return local
}

// holds says whether the feed's newest listing of img's image is this scan.
// The caller holds turn.
func (f *finishedFeed) holds(img hss.Image) bool {
	k := rounds.KeyOfImage(img).Index()
	for _, s := range f.segments {
		if e, ok := s.scans[k]; ok {
			return e.scanTime().Equal(img.LastScanAt) && e.status.Value() == img.ScanStatus
		}
	}
	return false
}

// publish puts newest before the segments kept, raising from past what it
// drops: every scan that ended at or after from is still in a segment.
func (f *finishedFeed) publish(newest segment, horizon time.Time) {
	segs := make([]segment, 0, len(f.segments)+1)
	if len(newest.scans) > 0 {
		segs = append(segs, newest)
	}
	from, scans := later(f.from, horizon), 0
	for _, s := range f.segments {
		if !s.latest.Before(horizon) {
			segs = append(segs, s)
			scans += len(s.scans)
		}
	}
	scans += len(newest.scans)
	for len(segs) > 1 && scans > f.limit {
		oldest := segs[len(segs)-1]
		segs, scans = segs[:len(segs)-1], scans-len(oldest.scans)
		from = later(from, oldest.latest.Add(time.Nanosecond))
	}
	for len(segs) > feedSegments {
		i := smallestPair(segs)
		m := segment{scans: merged(segs[i+1].scans, segs[i].scans), latest: later(segs[i].latest, segs[i+1].latest)}
		scans -= len(segs[i].scans) + len(segs[i+1].scans) - len(m.scans)
		segs = slices.Replace(segs, i, i+2, m)
	}
	f.mu.Lock() // for len; readers take segments under turn
	f.segments, f.scans, f.from = segs, scans, from
	f.mu.Unlock()
}

// smallestPair is the index of the adjacent segments holding the fewest
// scans between them.
func smallestPair(segs []segment) int {
	best := 0
	for i := 1; i+1 < len(segs); i++ {
		if len(segs[i].scans)+len(segs[i+1].scans) < len(segs[best].scans)+len(segs[best+1].scans) {
			best = i
		}
	}
	return best
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
