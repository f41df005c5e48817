package controller

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

const (
	feedQueue = 10 * time.Second
	feedScan  = time.Minute
)

// feedWorld is one simulator over HTTP, a client of it through the SDK, and
// one clock for both sides.
type feedWorld struct {
	g   Gomega
	sim *simulator.Server
	c   hss.Client
	clk *testingclock.FakeClock
}

func newFeedWorld(t *testing.T) *feedWorld {
	clk := testingclock.NewFakeClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	sim := simulator.New(simulator.Config{
		ProjectID: "proj", Credentials: map[string]simulator.Credential{"AK": {SK: "SK"}},
		QueueDelay: feedQueue, ScanDuration: feedScan, Clock: clk,
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := hss.NewProvider(hss.Options{Clock: clk}).Client(hss.Target{
		Endpoint: srv.URL, Region: "ap-southeast-1", ProjectID: "proj",
		Credentials: hss.Credentials{AccessKey: "AK", SecretKey: "SK"}, CredentialsVersion: "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &feedWorld{g: NewWithT(t), sim: sim, c: c, clk: clk}
}

// scanned adds n images of org and scans them to the end; it returns when
// the batch-scan was sent.
func (w *feedWorld) scanned(org string, n int) time.Time {
	for i := range n {
		w.sim.AddImages(simulator.Image{Type: simulator.TypePrivate, Namespace: org, Name: "app", Tag: fmt.Sprintf("v%d", i), Size: 1 << 20})
	}
	sent := w.clk.Now()
	w.g.Expect(w.c.BatchScan(context.Background(), hss.BatchScanRequest{
		ImageType: simulator.TypePrivate, All: true, Filter: hss.Filter{ImageType: simulator.TypePrivate, Namespace: org},
	})).To(Succeed())
	w.clk.Step(feedQueue + feedScan + time.Second)
	return sent
}

// roundAt is a round requested at t, recorded before HSS's clock was learnt.
func roundAt(t time.Time) *scanv1.ScanRequest {
	return &scanv1.ScanRequest{Round: 1, RequestedAt: metav1.NewTime(t)}
}

func (w *feedWorld) pages() int { return w.sim.Count(simulator.OpListImages, simulator.OutcomeOK) }

func (w *feedWorld) read(f *finishedFeed, reader string, requested time.Time) scanIndexes {
	return w.readNews(f, reader, requested).scans
}

func (w *feedWorld) readNews(f *finishedFeed, reader string, requested time.Time) news {
	done, err := f.finished(context.Background(), types.NamespacedName{Namespace: "ns", Name: reader}, roundAt(requested), time.Time{}, w.clk)
	w.g.Expect(err).NotTo(HaveOccurred())
	return done
}

func TestFinishedFeedWalksOncePerNewsAndOnlyForRecentScans(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())

	requested := w.scanned("big", 450)
	done := w.read(f, "a", requested)
	w.g.Expect(distinct(done)).To(Equal(450))
	w.g.Expect(w.pages()).To(Equal(3), "450 finished scans are three pages of 200")

	// b's round started before that walk: it reads the same answer.
	w.g.Expect(distinct(w.read(f, "b", requested))).To(Equal(450))
	w.g.Expect(w.pages()).To(Equal(3))

	// a read once already: it gets a new walk, which reaches back only to
	// the latest scan end it saw less the overlap, and so lists the same
	// 450 (they ended within the overlap).
	w.clk.Step(time.Minute)
	later := w.scanned("small", 10)
	w.g.Expect(distinct(w.read(f, "a", requested))).To(Equal(460))
	w.g.Expect(w.pages()).To(Equal(3 + 3))
	// That walk is news to b, and b shares it.
	w.g.Expect(distinct(w.read(f, "b", later))).To(Equal(460))
	w.g.Expect(w.pages()).To(Equal(6))

	// The next walk lists only the ten recent scans, and the feed still
	// answers for all 460.
	done = w.read(f, "a", requested)
	w.g.Expect(distinct(done)).To(Equal(460))
	w.g.Expect(w.pages()).To(Equal(6 + 1))
	img, ok := done.get(rounds.Key{Namespace: "big", Name: "app", Tag: "v7"})
	w.g.Expect(ok).To(BeTrue())
	w.g.Expect(img.ScanStatus).To(Equal(hss.StatusSuccess))

	// A round older than what the feed covers is told so, for its own
	// walk: the feed lists nothing again for it.
	old := w.readNews(f, "c", requested.Add(-2*time.Hour))
	w.g.Expect(old.behind.at).To(Equal(requested.Add(-2*time.Hour - rounds.ClockSkew - finishedOverlap)))
	w.g.Expect(distinct(old.scans)).To(Equal(460))
	w.g.Expect(w.pages()).To(Equal(7))
}

// distinct counts the images an answer has a scan of.
func distinct(xs scanIndexes) int {
	seen := map[string]bool{}
	for _, x := range xs {
		for k := range x {
			seen[k] = true
		}
	}
	return len(seen)
}

func TestFinishedFeedServesConcurrentReadersWithOneWalk(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	requested := w.scanned("org", 30)
	read := func() {
		var wg sync.WaitGroup
		sizes, errs := make([]int, 20), make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
				reader := types.NamespacedName{Namespace: "ns", Name: fmt.Sprint("reader-", i)}
				done, err := f.finished(context.Background(), reader, roundAt(requested), time.Time{}, w.clk)
				sizes[i], errs[i] = distinct(done.scans), err
			})
		}
		wg.Wait()
		for i := range 20 {
			w.g.Expect(errs[i]).NotTo(HaveOccurred())
			w.g.Expect(sizes[i]).To(Equal(30))
		}
	}
	read()
	w.g.Expect(w.pages()).To(Equal(1), "twenty ImageScans starting together share one walk")
	read()
	w.g.Expect(w.pages()).To(Equal(2), "and each later poll of all twenty is one more walk")
}

func TestFinishedFeedsAreKeptPerClientAndImageType(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	now := w.clk.Now()
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, now)
	w.g.Expect(feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, now)).To(BeIdenticalTo(f))
	w.g.Expect(feeds.feed(w.c, hss.Filter{ImageType: simulator.TypeShared}, now)).NotTo(BeIdenticalTo(f))
	other, err := hss.NewProvider(hss.Options{}).Client(hss.Target{
		Endpoint: "http://127.0.0.1:1", Region: "ap-southeast-1", ProjectID: "proj",
		Credentials: hss.Credentials{AccessKey: "AK2", SecretKey: "SK2"}, CredentialsVersion: "1",
	})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(feeds.feed(other, hss.Filter{ImageType: simulator.TypePrivate}, now)).NotTo(BeIdenticalTo(f), "one identity's answers never serve another's")

	// A feed nobody read for idleFeed is dropped.
	w.g.Expect(feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, now.Add(idleFeed+time.Minute))).NotTo(BeIdenticalTo(f))
}

// A rescan's walks start at its own round: the previous round's scans,
// which the feed already holds, are not listed again on every poll.
func TestFinishedFeedDoesNotRelistThePreviousRoundForARescan(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("big", 450)
	w.read(f, "a", requested)
	w.g.Expect(w.pages()).To(Equal(3))

	w.clk.Step(10 * time.Minute)
	rescan := w.clk.Now()
	for range 3 { // three polls before the rescan's scans end
		w.read(f, "a", rescan)
	}
	w.g.Expect(w.pages()).To(Equal(3+3), "one empty page a poll, not the 450 scans of the round before")
}

// Scans that end together, with nothing ending after them, are listed
// again only by the walk after one that began within the overlap of their
// end: polls of a round whose statistics or reports are still being written
// then cost one empty page each, not every page of the scans again.
func TestFinishedFeedDoesNotRelistScansThatEndedTogether(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("big", 450) // they ended a second before this walk
	w.read(f, "a", requested)
	w.g.Expect(w.pages()).To(Equal(3))

	for range 3 {
		w.clk.Step(20 * time.Second)
		w.g.Expect(distinct(w.read(f, "a", requested))).To(Equal(450), "the feed still answers for them")
	}
	w.g.Expect(w.pages()).To(Equal(3+3+1+1), "listed again once, then one empty page a poll")
	w.g.Expect(f.scans).To(Equal(450), "and kept once")
}

// A reader that saved what an answer told it needs only later scans, and
// the feed keeps no more than its readers still need: during a long round
// it holds the scans of the last poll or so, not every scan of the round.
func TestFinishedFeedKeepsOnlyWhatItsReadersHaveNotAcknowledged(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("big", 450)
	w.clk.Step(time.Minute) // past the overlap: a later walk need not list them again
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	first := w.readNews(f, "a", requested)
	w.g.Expect(distinct(first.scans)).To(Equal(450))
	f.acknowledge(a, 1, first.upTo)

	w.clk.Step(10 * time.Minute)
	w.scanned("small", 10)
	done := w.read(f, "a", requested)
	w.g.Expect(distinct(done)).To(Equal(10), "only the scans that ended after the acknowledged answer")
	_, ok := done.get(rounds.Key{Namespace: "small", Name: "app", Tag: "v9"})
	w.g.Expect(ok).To(BeTrue())

	// Those went with a's acknowledgement, and the feed does not list
	// them again for a reader that comes later: it is told that it is
	// behind, and from where, for its own walk.
	late := w.readNews(f, "b", requested)
	w.g.Expect(late.behind.at).To(Equal(requested.Add(-rounds.ClockSkew - finishedOverlap)))
	w.g.Expect(distinct(late.scans)).To(Equal(10))
	f.acknowledge(types.NamespacedName{Namespace: "ns", Name: "b"}, 1, first.upTo)
	w.clk.Step(time.Minute)
	w.scanned("tiny", 1)
	w.g.Expect(distinct(w.read(f, "b", requested))).To(Equal(11), "b's own news: small's 10 and tiny's 1")
	// The 450 acknowledged by a are gone; small's 10 are kept once, though
	// the walk after the one that found them listed them again (it reached
	// back within the overlap of their end).
	w.g.Expect(f.scans).To(Equal(10 + 1))

	// An acknowledgement is of one round: another reads from its start,
	// which is behind the feed's window.
	other := &scanv1.ScanRequest{Round: 2, RequestedAt: metav1.NewTime(requested)}
	again, err := f.finished(context.Background(), a, other, time.Time{}, w.clk)
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(again.behind.at).To(Equal(requested.Add(-rounds.ClockSkew - finishedOverlap)))
	w.g.Expect(distinct(again.scans)).To(Equal(11))
}

// A pass that learnt of a scan it could not save yet acknowledges up to
// that scan's end: the feed answers for it again, from what it kept, with
// no walk from the round's start.
func TestAnAcknowledgementUpToAnUnsavedScanKeepsItWithoutWalkingAgain(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("big", 450)
	w.clk.Step(time.Minute)
	answer := w.readNews(f, "a", requested)
	w.g.Expect(w.pages()).To(Equal(3))

	// The pass saved every result but one, whose statistics are still to
	// be read; it notes that scan as the feed's answer gave it.
	round := roundAt(requested)
	p := &pass{round: round}
	img, ok := answer.scans.get(rounds.Key{Namespace: "big", Name: "app", Tag: "v3"})
	w.g.Expect(ok).To(BeTrue())
	for i, tag := range []string{"v1", "v2", "v3"} {
		m := &member{key: rounds.Key{Namespace: "big", Name: "app", Tag: tag}}
		m.status = resultOf(img, m.status, round.Round, scanv1.VulnerabilitiesSummary)
		if i < 2 {
			m.saved()
		}
		p.noteUnsaved(m)
	}
	w.g.Expect(p.unsavedFrom).To(Equal(scanCursor{at: img.LastScanAt, key: rounds.Key{Namespace: "big", Name: "app", Tag: "v3"}.Index()}))
	f.acknowledge(types.NamespacedName{Namespace: "ns", Name: "a"}, round.Round, p.unsavedFrom)

	again := w.read(f, "a", requested)
	w.g.Expect(distinct(again)).To(Equal(450), "the scans from the unsaved one's end on")
	w.g.Expect(w.pages()).To(Equal(3+1), "one page for the news, none for what the feed kept")
}

// waves scans n images in each of k organisations named prefix-i, one
// after another, and lets reader read and acknowledge after each: a busy
// registry whose scans a quick ImageScan keeps up with.
func (w *feedWorld) waves(f *finishedFeed, reader, prefix string, k, n int) {
	for i := range k {
		requested := w.scanned(fmt.Sprint(prefix, "-", i), n)
		w.clk.Step(time.Minute) // past the overlap: the next walk lists the next wave only
		done := w.readNews(f, reader, requested)
		f.acknowledge(types.NamespacedName{Namespace: "ns", Name: reader}, 1, done.upTo)
	}
}

// A reader that never acknowledges holds nothing back beyond the feed's
// limit: the oldest walks go, and the reader is told it is behind.
func TestFinishedFeedKeepsItsLimitWhileAReaderLags(t *testing.T) {
	w := newFeedWorld(t)
	feeds := finishedFeeds{limit: 100}
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("slow", 30)
	first := w.readNews(f, "slow", requested)
	w.g.Expect(first.behind.at.IsZero()).To(BeTrue())
	w.g.Expect(distinct(first.scans)).To(Equal(30))

	w.waves(f, "quick", "busy", 6, 60)
	w.g.Expect(f.scans).To(BeNumerically("<=", 100), "six waves of 60 scans, kept to the limit")
	w.g.Expect(f.segments[0].scans).To(HaveLen(60), "a walk publishes what it listed and copies nothing")

	late := w.readNews(f, "slow", requested)
	w.g.Expect(late.behind.at).To(Equal(requested.Add(-rounds.ClockSkew - finishedOverlap)))
	_, ok := late.scans.get(rounds.Key{Namespace: "slow", Name: "app", Tag: "v1"})
	w.g.Expect(ok).To(BeFalse(), "its scans went with the oldest walks")
	// The answer it holds is its own: later walks change nothing in it.
	held := distinct(late.scans)
	w.waves(f, "quick", "busier", 2, 60)
	w.g.Expect(distinct(late.scans)).To(Equal(held))
	w.g.Expect(f.scans).To(BeNumerically("<=", 100))
}

// Walk after walk, the feed keeps a few maps, merging the smallest, and
// still answers for every scan.
func TestFinishedFeedMergesItsWalks(t *testing.T) {
	w := newFeedWorld(t)
	var feeds finishedFeeds
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("org-0", 1)
	w.read(f, "a", requested) // a never acknowledges: the feed keeps all
	for i := 1; i < 3*feedSegments; i++ {
		w.clk.Step(time.Minute)
		w.scanned(fmt.Sprint("org-", i), 1)
		w.read(f, "a", requested)
	}
	w.g.Expect(len(f.segments)).To(BeNumerically("<=", feedSegments))
	done := w.read(f, "a", requested)
	for i := range 3 * feedSegments {
		_, ok := done.get(rounds.Key{Namespace: fmt.Sprint("org-", i), Name: "app", Tag: "v0"})
		w.g.Expect(ok).To(BeTrue(), "org-%d", i)
	}
}

// An ImageScan behind the feed's window hears of its scans from its own
// walk, which lists its own images only; one within it walks nothing.
func TestAnImageScanBehindTheFeedListsItsOwnImages(t *testing.T) {
	w := newFeedWorld(t)
	r := &ImageScanReconciler{Options: Options{Clock: w.clk, StartTimeout: time.Hour}}
	r.feeds.limit = 100
	obj := func(name, org string) *scanv1.ImageScan {
		return &scanv1.ImageScan{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec:       scanv1.ImageScanSpec{ImageType: simulator.TypePrivate, Selector: &scanv1.ImageSelector{Namespace: org}},
		}
	}
	requested := w.scanned("mine", 30)
	slow := &pass{obj: obj("slow", "mine"), client: w.c, round: roundAt(requested)}
	w.g.Expect(r.hearFinished(context.Background(), slow)).To(Succeed())
	w.g.Expect(distinct(slow.finished)).To(Equal(30))

	f := r.feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	w.waves(f, "quick", "busy", 6, 60)
	pages := w.pages()
	again := &pass{obj: obj("slow", "mine"), client: w.c, round: roundAt(requested)}
	w.g.Expect(r.hearFinished(context.Background(), again)).To(Succeed())
	img, ok := again.finished.get(rounds.Key{Namespace: "mine", Name: "app", Tag: "v7"})
	w.g.Expect(ok).To(BeTrue())
	w.g.Expect(img.ScanStatus).To(Equal(hss.StatusSuccess))
	w.g.Expect(len(again.finished[0])).To(Equal(30), "its own walk kept its own images")
	w.g.Expect(w.pages()).To(Equal(pages+1), "quick's walks are news to it; one page for its own 30")
	feeds, scans := r.feeds.len()
	w.g.Expect(feeds).To(Equal(1))
	w.g.Expect(scans).To(BeNumerically("<=", 100), "the feed kept its limit")
}

// A walk that finds more new scans than the feed may hold stops there and
// keeps none of them: the window starts again at that walk, its readers are
// told they are behind, for their own walks, and the next walk lists only
// what ended after it.
func TestFinishedFeedRestartsAfterAWalkOverItsLimit(t *testing.T) {
	w := newFeedWorld(t)
	feeds := finishedFeeds{limit: 100}
	f := feeds.feed(w.c, hss.Filter{ImageType: simulator.TypePrivate}, w.clk.Now())
	requested := w.scanned("big", 450)
	w.clk.Step(time.Minute)
	done := w.readNews(f, "a", requested)
	w.g.Expect(f.scans).To(BeZero())
	w.g.Expect(w.pages()).To(Equal(1), "the walk stopped at its first page of 200")
	w.g.Expect(done.behind.at).To(Equal(requested.Add(-rounds.ClockSkew - finishedOverlap)))
	w.g.Expect(distinct(done.scans)).To(BeZero())

	w.scanned("small", 10)
	w.clk.Step(time.Minute)
	again := w.readNews(f, "a", requested)
	w.g.Expect(distinct(again.scans)).To(Equal(10))
	w.g.Expect(w.pages()).To(Equal(1+1), "the 450 are not listed again")
	w.g.Expect(again.behind.at.IsZero()).To(BeFalse(), "a has not acknowledged the window's start")
	f.acknowledge(types.NamespacedName{Namespace: "ns", Name: "a"}, 1, again.upTo)
	w.g.Expect(w.readNews(f, "a", requested).behind.at.IsZero()).To(BeTrue())
}

// An ImageScan further behind the feed than the feed holds keeps only the
// earliest of its own scans on each pass, acknowledges no further than
// those, and hears the rest on the passes that follow: whether they ended
// at three instants or all at one, as a batch scanned at once does.
func TestAnImageScanFarBehindTheFeedCatchesUpALimitAtATime(t *testing.T) {
	for _, instants := range []int{3, 1} {
		t.Run(fmt.Sprintf("240 scans at %d instants", instants), func(t *testing.T) {
			w := newFeedWorld(t)
			r := &ImageScanReconciler{Options: Options{Clock: w.clk, StartTimeout: time.Hour}}
			r.feeds.limit = 100
			// Three repositories of 80 images, scanned one after the other
			// or together.
			requested := w.clk.Now()
			for b := range 3 {
				for i := range 80 {
					w.sim.AddImages(simulator.Image{Type: simulator.TypePrivate, Namespace: "mine", Name: fmt.Sprint("app", b), Tag: fmt.Sprintf("v%d", i), Size: 1 << 20})
				}
			}
			for b := range instants {
				filter := hss.Filter{ImageType: simulator.TypePrivate, Namespace: "mine"}
				if instants > 1 {
					filter.ImageName = fmt.Sprint("app", b)
				}
				w.g.Expect(w.c.BatchScan(context.Background(), hss.BatchScanRequest{ImageType: simulator.TypePrivate, All: true, Filter: filter})).To(Succeed())
				w.clk.Step(feedQueue + feedScan + time.Second)
			}
			w.clk.Step(finishedOverlap) // the feed's walks start after the last scan ended
			obj := &scanv1.ImageScan{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "slow"},
				Spec:       scanv1.ImageScanSpec{ImageType: simulator.TypePrivate, Selector: &scanv1.ImageSelector{Namespace: "mine"}},
			}
			heard := map[string]bool{}
			for i := range 3 {
				p := &pass{obj: obj, client: w.c, round: roundAt(requested)}
				w.g.Expect(r.hearFinished(context.Background(), p)).To(Succeed())
				w.g.Expect(len(p.finished[0])).To(BeNumerically("<=", 100), "pass %d: its own walk kept the feed's limit", i+1)
				w.g.Expect(p.partial).To(Equal(i < 2), "pass %d: a partial answer until it caught up", i+1)
				for _, x := range p.finished {
					for k := range x {
						heard[k] = true
					}
				}
				p.feed.acknowledge(types.NamespacedName{Namespace: "ns", Name: "slow"}, 1, p.upTo)
				w.clk.Step(time.Second)
			}
			w.g.Expect(heard).To(HaveLen(240), "every scan heard once caught up")
			_, scans := r.feeds.len()
			w.g.Expect(scans).To(BeNumerically("<=", 100), "the feed kept its limit")
		})
	}
}

// A reader's cursor moves only forward within a round: an answer from a
// feed that started its window again reaches less far than the reader had
// saved, and takes nothing back. A new round starts from its own.
func TestAnAcknowledgementTakesNothingBack(t *testing.T) {
	reader := types.NamespacedName{Namespace: "ns", Name: "a"}
	f := &finishedFeed{readers: map[types.NamespacedName]reading{reader: {}}}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	saved := scanCursor{at: at, key: "mine/app:v50"}
	f.acknowledge(reader, 1, saved)
	f.acknowledge(reader, 1, scanCursor{at: at.Add(-8 * time.Second)})
	if got := f.readers[reader].upTo; got != saved {
		t.Errorf("round 1 saved up to %v, want %v", got, saved)
	}
	next := scanCursor{at: at.Add(-time.Minute)}
	f.acknowledge(reader, 2, next)
	if got := f.readers[reader]; got.round != 2 || got.upTo != next {
		t.Errorf("round 2 saved up to %v (round %d), want %v", got.upTo, got.round, next)
	}
}
