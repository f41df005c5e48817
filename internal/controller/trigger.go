package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// due says whether a new round should start, and why.
func (r *ImageScanReconciler) due(p *pass) (scanv1.ScanTrigger, bool) {
	obj, last := p.obj, p.round
	switch {
	case rounds.PhaseOf(last) == rounds.NotStarted:
		return scanv1.TriggerCreated, true
	case last.Generation != obj.Generation:
		return scanv1.TriggerSpecChanged, true
	case membersDeleted(obj, obj.Status):
		return scanv1.TriggerReportsDeleted, true
	case rescanPending(obj, obj.Status.LastHandledRescanAt) && !r.Clock.Now().Before(last.RequestedAt.Add(scanv1.MinRescanInterval)):
		return scanv1.TriggerRequested, true
	case rounds.PhaseOf(last) == rounds.Completed && obj.Spec.Interval != nil &&
		!r.Clock.Now().Before(last.RequestedAt.Add(obj.Spec.Interval.Duration)):
		return scanv1.TriggerInterval, true
	}
	return "", false
}

// membersDeleted: a selector's round has fewer reports than members, as a
// pass counted them into st; they were deleted from outside, and only a new
// round can say which images they were.
func membersDeleted(obj *scanv1.ImageScan, st scanv1.ImageScanStatus) bool {
	last := st.LastScanRequest
	return obj.Spec.Selector != nil && last != nil && last.Generation == obj.Generation && st.Summary.Matched < last.Members
}

// rescanPending: the rescan annotation holds a request not yet handled.
func rescanPending(obj *scanv1.ImageScan, handled string) bool {
	v := obj.Annotations[scanv1.RescanAnnotation]
	return v != "" && v != handled
}

// trigger starts a round when one is due and makes sure the current round
// reached HSS exactly once. The intent is written to status before calling
// batch-scan and the outcome after, with the pass's report, because the call
// has no idempotency key: a manager that finds an intent without an outcome
// looks at the images before deciding to call again.
func (r *ImageScanReconciler) trigger(ctx, calls context.Context, p *pass) error {
	if why, ok := r.due(p); ok && !p.obj.Spec.Suspend {
		if err := r.startRound(ctx, calls, p, why); err != nil {
			return err
		}
		// Making a large round's reports may outlast the calls' deadline:
		// the scan request gets one of its own.
		calls, cancel := context.WithTimeout(ctx, r.PassTimeout)
		defer cancel()
		return r.send(ctx, calls, p, false)
	}
	if ph := rounds.PhaseOf(p.round); ph == rounds.Requesting || ph == rounds.Unconfirmed {
		return r.send(ctx, calls, p, true)
	}
	return nil
}

// startRound fixes the round's members, each a report, and records the
// round in the pass. HSS is asked under calls, the pass's deadline; the
// reports are made under ctx, as many as the round has.
func (r *ImageScanReconciler) startRound(ctx, calls context.Context, p *pass, why scanv1.ScanTrigger) error {
	spec := p.obj.Spec
	if spec.SyncFromSWR {
		if err := p.client.Synchronize(calls, string(spec.ImageType)); err != nil {
			return fromHSS(err)
		}
	}
	filters := matchFilters(spec)
	for i := range filters {
		filters[i].MaxImages = r.MaxImagesPerScan
	}
	// A listing is whole or nothing, and may take longer than the calls'
	// deadline (a page per 200 images): each call has its own timeout.
	listed, err := listKeys(ctx, p.client, filters)
	if err != nil {
		return fromHSS(err)
	}
	keys := membership(spec, listed)
	if r.MaxImagesPerScan > 0 && len(keys) > r.MaxImagesPerScan {
		return stalled(scanv1.ReasonImageLimitExceeded,
			"the ImageScan matches more than %d images, the most one ImageScan may scan on this platform (the manager's --max-images-per-scan); "+
				"narrow the selector, or split the images across several ImageScans", r.MaxImagesPerScan)
	}
	next := p.roundNumber() + 1
	if err := r.fixMembers(ctx, p, keys, listed, next); err != nil {
		return err
	}
	p.started = true
	p.startListed = listedOf(keys, listed)
	now := r.Clock.Now()
	p.round = &scanv1.ScanRequest{Round: next, Trigger: why, Generation: p.obj.Generation, RequestedAt: metav1.NewTime(now), Members: int32(len(keys))}
	// The listing's answers told HSS's clock: the round's scans end after
	// this moment on it.
	if t, ok := p.client.ServerTime(now); ok {
		p.round.HSSRequestedAt = metaTime(t)
	}
	if v := p.obj.Annotations[scanv1.RescanAnnotation]; v != "" {
		p.handled = v // this round answers any pending request
	}
	return nil
}

// send calls batch-scan for the current round, in three steps of one
// shape: what still needs asking (nothing, when HSS already shows the
// round), the intent recorded, and the call.
//
// HSS is asked under calls; the members are read and the intent written
// under ctx.
func (r *ImageScanReconciler) send(ctx, calls context.Context, p *pass, resuming bool) error {
	req, ok, err := r.toAsk(ctx, calls, p, resuming)
	if err != nil || !ok {
		return err
	}
	if err := r.recordIntent(ctx, p); err != nil {
		return err
	}
	return r.batchScan(calls, p, req)
}

// toAsk is the request the round still needs, and false when it needs
// none. When resuming a round whose earlier attempt may have reached HSS,
// it first looks for evidence that it did: a member queued or scanning, or
// scanned since the round started. Only the images themselves are evidence
// of this round's request; a request sent in chunks may have reached HSS in
// part, and only the members without evidence are asked for again, by
// name. A round HSS shows, or with nothing HSS could scan, is accepted
// here.
func (r *ImageScanReconciler) toAsk(ctx, calls context.Context, p *pass, resuming bool) (hss.BatchScanRequest, bool, error) {
	round := p.round
	req := batchScanRequest(p.obj.Spec)
	var listed scanIndex
	if resuming && round.Attempts > 0 {
		var err error
		if listed, err = listAll(ctx, p.client, followFilters(p.obj.Spec), nil); err != nil {
			return req, false, fromHSS(err)
		}
	}
	var ev evidence
	if p.started && listed == nil {
		ev = startEvidence(p.startListed, req.All) // the reports were just made from these
	} else {
		var err error
		if ev, err = r.evidenceOf(ctx, p, listed, req.All); err != nil {
			return req, false, err
		}
	}
	if req.All {
		req.Members = ev.refs
	}
	if listed != nil {
		if ev.reached && len(ev.missing) == 0 {
			round.AcceptedAt, round.UnconfirmedSince = ptrNow(r.Clock), nil
			return req, false, nil
		}
		wait, err := r.evidenceWait(calls, p, req, ev.reached)
		if err != nil {
			return req, false, err
		}
		if rounds.PhaseOf(round) == rounds.Unconfirmed && r.Clock.Since(round.UnconfirmedSince.Time) < wait {
			p.evidenceWait = wait // HSS may yet show what it received
			return req, false, nil
		}
		if ev.reached {
			req = namedRequest(req, ev.missing)
		}
	}
	if ev.listed == 0 {
		round.AcceptedAt = ptrNow(r.Clock) // nothing HSS could scan
		return req, false, nil
	}
	return req, true, nil
}

// recordIntent writes to status that a call is about to be made, before
// it is: the call has no idempotency key, and a manager that finds an
// intent without an outcome looks for evidence before calling again.
func (r *ImageScanReconciler) recordIntent(ctx context.Context, p *pass) error {
	round := p.round
	attempts, unconfirmed := round.Attempts, round.UnconfirmedSince
	round.Attempts++
	round.UnconfirmedSince = ptrNow(r.Clock)
	if err := p.status.patch(ctx, r.statusOf(p, nil)); err != nil {
		// No call was made: the status this pass still saves must not
		// claim one, or the next pass would wait for its evidence. Should
		// the write have landed after all, that save conflicts with it.
		round.Attempts, round.UnconfirmedSince = attempts, unconfirmed
		return fmt.Errorf("record scan intent: %w", err)
	}
	return nil
}

// batchScan makes the call, and records its outcome where HSS gave one:
// accepted, or refused (then no evidence is awaited); a lost answer leaves
// the round unconfirmed.
func (r *ImageScanReconciler) batchScan(calls context.Context, p *pass, req hss.BatchScanRequest) error {
	round := p.round
	if err := p.client.BatchScan(calls, req); err != nil {
		if refused(err) {
			round.UnconfirmedSince = nil // HSS answered: it did not take the request
		}
		return fromHSS(err)
	}
	round.AcceptedAt, round.UnconfirmedSince = ptrNow(r.Clock), nil // saved with this pass's report
	p.sent = true
	return nil
}

// evidenceWait is how long after an unconfirmed call its images may take to
// show. A scan task of the request's size made since the round started may
// be this request's, whose images HSS queues later than it lists the task;
// as a task names no images, another ImageScan's could look the same, so it
// earns no more than the time HSS is given to start a round's scans, and
// the round is accepted only once its own images show.
func (r *ImageScanReconciler) evidenceWait(ctx context.Context, p *pass, req hss.BatchScanRequest, reached bool) (time.Duration, error) {
	round := p.round
	if reached || rounds.PhaseOf(round) != rounds.Unconfirmed || r.Clock.Since(round.UnconfirmedSince.Time) >= r.StartTimeout {
		return r.EvidenceWindow, nil
	}
	seen, err := p.client.RequestSeen(ctx, rounds.HSSStart(round).Add(-datePrecision), req)
	if err != nil {
		return 0, fromHSS(err)
	}
	if seen {
		return max(r.StartTimeout, r.EvidenceWindow), nil
	}
	return r.EvidenceWindow, nil
}

// namedRequest asks again for the members in missing only, by name.
func namedRequest(req hss.BatchScanRequest, missing map[rounds.Key]bool) hss.BatchScanRequest {
	refs := req.Images
	if req.All {
		refs = req.Members
	}
	return hss.BatchScanRequest{ImageType: req.ImageType, Images: refsOf(missing, refs)}
}

// refused: HSS, or the limiter before it, answered the call with a refusal
// (a 4xx, throttling, an auth failure, or 503: not taking requests), so it
// did not take the request. Timeouts, broken connections, 500 and gateway
// errors leave the outcome unknown.
func refused(err error) bool {
	if policyOf(err).refused {
		return true
	}
	var he *hss.Error
	return errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable
}

// evidence is what a walk of the round's members says of its scan request.
type evidence struct {
	// listed counts the members HSS lists: those it can be asked to scan.
	listed int
	// refs name them, in key order, when the request must (withRefs).
	refs []hss.ImageRef
	// With a listing: the listed members HSS shows no sign of having been
	// asked to scan, and whether any member shows one.
	missing map[rounds.Key]bool
	reached bool
}

// evidenceOf walks the round's members. A request over a selector may name
// every member (hss.BatchScanRequest.Members), so its refs are the one
// thing here that grows with the round; they are held for the call alone.
func (r *ImageScanReconciler) evidenceOf(ctx context.Context, p *pass, listed scanIndex, withRefs bool) (evidence, error) {
	round := p.round
	ev := evidence{missing: map[rounds.Key]bool{}}
	err := r.eachPage(ctx, p, func(page []*member) error {
		for _, m := range page {
			if rounds.StateOf(m.status, round.Round) == scanv1.ResultNotFound {
				continue
			}
			ev.listed++
			if withRefs {
				ev.refs = append(ev.refs, hss.ImageRef{Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID})
			}
			img, ok := listed.get(m.key)
			switch {
			case listed == nil, !ok:
			case hss.InProgress(img.ScanStatus) || newScan(img, m.status, round):
				ev.reached = true
			default:
				ev.missing[m.key] = true
			}
		}
		return nil
	})
	sortRefs(ev.refs)
	return ev, err
}

// listedOf keeps the keys HSS listed.
func listedOf(keys []rounds.Key, listed keySet) []rounds.Key {
	out := make([]rounds.Key, 0, len(keys))
	for _, k := range keys {
		if listed.has(k) {
			out = append(out, k)
		}
	}
	return out
}

// startEvidence is evidenceOf for a round started in this pass, from the
// members HSS listed then: none can show the request yet.
func startEvidence(listed []rounds.Key, withRefs bool) evidence {
	ev := evidence{listed: len(listed), missing: map[rounds.Key]bool{}}
	if withRefs {
		for _, k := range listed {
			ev.refs = append(ev.refs, hss.ImageRef{Namespace: k.Namespace, Name: k.Name, Tag: k.Tag, InstanceID: k.InstanceID})
		}
		sortRefs(ev.refs)
	}
	return ev
}

func sortRefs(refs []hss.ImageRef) {
	slices.SortFunc(refs, func(a, b hss.ImageRef) int {
		return strings.Compare(rounds.KeyOfRequest(a).String(), rounds.KeyOfRequest(b).String())
	})
}

// refsOf keeps the refs named in keys.
func refsOf(keys map[rounds.Key]bool, refs []hss.ImageRef) []hss.ImageRef {
	var out []hss.ImageRef
	for _, ref := range refs {
		if keys[rounds.KeyOfRequest(ref)] {
			out = append(out, ref)
		}
	}
	return out
}
