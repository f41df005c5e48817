package controller

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Reconcile reads as the round's story: resolve the HSS target, trigger a
// round when one is due, follow its images, collect their statistics, and
// report. Status is written in one place, at the end, except for the scan
// intent that trigger records before the batch-scan call.
func (r *ImageScanReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &scanv1.ImageScan{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.NamespacedName)
			r.feeds.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := newStatusPatcher(r.Client, obj)
	members, wait, err := r.reconcile(ctx, obj, p)
	r.report(obj, members, err)
	if perr := p.patch(ctx, obj); perr != nil {
		return ctrl.Result{}, perr
	}
	recordMetrics(obj)
	return r.result(wait, err)
}

func (r *ImageScanReconciler) reconcile(ctx context.Context, obj *scanv1.ImageScan, p *statusPatcher) ([]*scanv1.ImageResult, time.Duration, error) {
	c, err := r.resolve(ctx, obj)
	if err != nil {
		return nil, 0, err
	}
	sent, err := r.trigger(ctx, obj, c, p)
	if err != nil {
		return nil, 0, err
	}
	round := obj.Status.LastScanRequest
	if round == nil || round.CompletedAt != nil {
		return nil, r.untilNextRound(obj), nil
	}
	if sent {
		// HSS queued the images a moment ago: nothing to follow yet.
		return nil, r.pollDelay(round), nil
	}
	members, unseen, err := r.follow(ctx, obj, c)
	if err != nil {
		return nil, 0, err
	}
	if err := r.collect(ctx, c, string(obj.Spec.ImageType), members, round.Round); err != nil {
		return members, 0, err
	}
	if unseen > 0 {
		return members, r.pollDelay(round), nil
	}
	for _, m := range members {
		if !finished(m, round.Round) {
			return members, r.pollDelay(round), nil
		}
	}
	r.complete(obj, members)
	return members, r.untilNextRound(obj), nil
}

// complete closes the current round.
func (r *ImageScanReconciler) complete(obj *scanv1.ImageScan, members []*scanv1.ImageResult) {
	st := &obj.Status
	st.LastScanRequest.CompletedAt = ptrNow(r.Clock)
	st.LastCompletionTime = st.LastScanRequest.CompletedAt
	st.Summary = summarize(st, members)
	r.announce(obj)
}

// untilNextRound sets status.nextScanTime and says how long to wait for it.
func (r *ImageScanReconciler) untilNextRound(obj *scanv1.ImageScan) time.Duration {
	st := &obj.Status
	st.NextScanTime = nil
	if obj.Spec.Interval == nil || obj.Spec.Suspend || st.LastScanRequest == nil {
		return 0
	}
	next := st.LastScanRequest.RequestedAt.Add(obj.Spec.Interval.Duration)
	st.NextScanTime = metaTime(next)
	return min(max(next.Sub(r.Clock.Now()), time.Second), r.MaxRequeue)
}

// result turns the pass's outcome into a requeue: stalled errors wait for a
// change (watched) or StalledRetry; other errors back off exponentially.
func (r *ImageScanReconciler) result(wait time.Duration, err error) (ctrl.Result, error) {
	var se *stepError
	switch {
	case err == nil:
		return ctrl.Result{RequeueAfter: wait}, nil
	case errors.As(err, &se) && se.Stalled:
		return ctrl.Result{RequeueAfter: r.StalledRetry}, nil
	default:
		return ctrl.Result{}, err
	}
}
