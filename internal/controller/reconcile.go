package controller

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// Reconcile reads as the round's story: load the round's members (its
// reports), resolve the HSS target, trigger a round when one is due, follow
// its images, read their statistics and vulnerabilities a slice at a time,
// saving each slice's reports; then save the reports that changed,
// turn the pass into status, save it, and announce what changed. Status is
// written in one place, at the end, except for the scan intent that trigger
// records before the batch-scan call.
func (r *ImageScanReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &scanv1.ImageScan{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.NamespacedName)
			r.feeds.forget(req.NamespacedName)
			r.counts.forget(req.NamespacedName)
			r.waiting.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := &pass{obj: obj, round: obj.Status.LastScanRequest.DeepCopy(), status: newStatusPatcher(r.Client, obj)}
	err := r.run(ctx, p)
	st := r.statusOf(p, err)
	if perr := p.status.patch(ctx, st); perr != nil {
		return ctrl.Result{}, perr
	}
	r.notify(p, obj.Status, st)
	recordMetrics(obj, st)
	res, err := r.result(p, st, err)
	if err != nil {
		return res, err
	}
	return r.untilExceptionEnds(p, res), nil
}

// untilExceptionEnds brings a requeue forward to when an exception in force
// ends, so that its results open again on time.
func (r *ImageScanReconciler) untilExceptionEnds(p *pass, res ctrl.Result) ctrl.Result {
	if p.rulesChange.IsZero() {
		return res
	}
	wait := min(max(p.rulesChange.Sub(r.Clock.Now()), 0)+time.Second, r.MaxRequeue)
	if res.RequeueAfter == 0 || wait < res.RequeueAfter {
		res.RequeueAfter = wait
	}
	return res
}

// run takes the pass through its steps, stopping at the first error. The
// calls to HSS share one deadline, PassTimeout, so that a slow endpoint
// holds a worker for a bounded time (a round's scan request gets one of its
// own after its reports are made). The API server's work is not bound by
// it: a round's reports are all made in the pass that starts it, and the
// walk of the members goes on past the deadline, saving what was read and
// counting the rest.
func (r *ImageScanReconciler) run(ctx context.Context, p *pass) error {
	calls, cancel := context.WithTimeout(ctx, r.PassTimeout)
	defer cancel()
	if err := r.loadExceptions(ctx, p); err != nil {
		return err
	}
	if err := r.resolve(calls, p); err != nil {
		return err
	}
	if err := r.trigger(ctx, calls, p); err != nil {
		return err
	}
	err := r.work(ctx, calls, p)
	p.cut = calls.Err() != nil
	if err != nil {
		return err
	}
	if err := r.restoreMembers(ctx, p); err != nil {
		return err
	}
	r.acknowledge(p)
	return nil
}

// work takes the round's members a page at a time: it follows their scans,
// reads what the scans found, saves their reports, and counts them. After
// an error it makes no further call but still counts the rest, so that
// status says where the round stands. A large running round is counted
// whole only now and then (walks.go); the passes between walk only the
// members still to end.
func (r *ImageScanReconciler) work(ctx, calls context.Context, p *pass) error {
	key := client.ObjectKeyFromObject(p.obj)
	epoch := r.waiting.now()
	if quiet, err := r.quiet(ctx, p); err != nil || quiet {
		return err
	}
	r.waiting.drop(key) // what it said is about to change
	last, ok := r.counts.last(key)
	// What counting costs is measured on the manager's own clock, not the
	// round's.
	if walkOf(p, last, ok, time.Now()) == walkUnended {
		t, err := r.walk(ctx, calls, p, walkUnended)
		if t != nil {
			r.counts.noteEnded(key, t.Count-t.Pending)
		}
		if err != nil || t.Pending > 0 {
			return err
		}
		// Every member has its result: count them, to complete the round.
	}
	before := p.listing
	t, err := r.walk(ctx, calls, p, walkAll)
	switch {
	case t != nil && !t.Done() && p.round != nil && p.round.Members > reportPage:
		r.counts.record(key, counted{round: p.round.Round, at: time.Now(), took: p.listing - before, rules: p.rules.Key()})
	case t != nil:
		r.counts.forget(key) // no large round of this ImageScan still runs: nothing to keep
	}
	if w, ok := waitingOf(p, t); ok && err == nil {
		r.waiting.record(key, w, epoch)
	}
	return err
}

// walk is one walk of the round's members, of either kind; it returns the
// tally of those it read, nil when it could not read them all. Only walkAll
// leaves it to status.
func (r *ImageScanReconciler) walk(ctx, calls context.Context, p *pass, kind walkKind) (*rounds.Tally, error) {
	t := rounds.NewTally(p.roundNumber(), p.obj.Spec.Selector == nil)
	if kind == walkAll && p.round != nil && p.round.Members <= reportPage {
		t.CollectWaiting(reportPage)
	}
	mode := detailOf(p.obj.Spec)
	var sel []client.ListOption
	if kind == walkUnended {
		sel = append(sel, unended(t.Round))
	}
	p.unread = 0
	var failed error
	err := r.eachPage(ctx, p, func(page []*member) error {
		reportsWalked.WithLabelValues(string(kind)).Add(float64(len(page)))
		if kind == walkUnended {
			for _, m := range page {
				// A result saved before reports said when it ended: say
				// so now, or every unended walk reads it again.
				m.status.EndedRound = endedRound(m.status)
			}
		}
		if failed == nil {
			// Following lists what ended, whole or nothing: not under the
			// deadline of the member calls.
			failed = r.follow(ctx, p, page)
			if failed == nil {
				failed = r.readMembers(ctx, calls, p, page)
			}
			// What follow learnt of members with nothing to read.
			if err := r.saveMembers(ctx, p, page, p.roundNumber()); failed == nil {
				failed = err
			}
		}
		for _, m := range page {
			m.countIn(t)
			p.noteUnsaved(m)
			if rounds.AwaitingStatistics(m.status, t.Round) || mode != scanv1.VulnerabilitiesNone && rounds.AwaitingDetail(m.status, t.Round) {
				p.unread++
			}
		}
		return nil
	}, sel...)
	if err != nil {
		return nil, err
	}
	p.walked = true
	if kind == walkAll {
		p.tally = t
	}
	return t, failed
}

// result turns the pass's outcome into a requeue: a running round polls,
// a finished one waits for its interval; stalled errors wait for a change
// (watched) or StalledRetry; other errors back off exponentially.
func (r *ImageScanReconciler) result(p *pass, st scanv1.ImageScanStatus, err error) (ctrl.Result, error) {
	var se *stepError
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Stalled:
		return ctrl.Result{RequeueAfter: r.StalledRetry}, nil
	case se != nil && se.RetryAfter > 0:
		return ctrl.Result{RequeueAfter: se.RetryAfter}, nil
	default:
		return ctrl.Result{}, err
	}
	if membersDeleted(p.obj, st) && !p.obj.Spec.Suspend {
		return ctrl.Result{RequeueAfter: r.MinPoll}, nil // the next pass starts a round over them
	}
	switch rounds.PhaseOf(st.LastScanRequest) {
	case rounds.Scanning:
		if p.cut && p.unread > 0 {
			// The deadline ended the reads, not a lack of news: go on soon.
			return ctrl.Result{RequeueAfter: r.MinPoll}, nil
		}
		return ctrl.Result{RequeueAfter: r.pollDelay(st.LastScanRequest)}, nil
	case rounds.Requesting, rounds.Unconfirmed:
		return ctrl.Result{RequeueAfter: r.pollDelay(st.LastScanRequest)}, nil
	}
	return ctrl.Result{RequeueAfter: r.untilNextRound(st)}, nil
}
