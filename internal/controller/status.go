package controller

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// Bounds of the texts the API server keeps: a condition message may hold
// 32 KiB, but a line in kubectl should not; an event's note is refused
// above 1 KiB.
const (
	maxConditionMessage = 1024
	maxEventNote        = 1024
)

// maxObjectBytes is how large the ImageScan may grow with its status:
// etcd refuses objects above 1.5 MiB, and a patch adds its own overhead.
const maxObjectBytes = 1 << 20

// statusOf turns the pass into the ImageScan's status: the round (completed
// when every member has its result), the summary, the images that fit, the
// next scan time and the conditions. It is the only place status is
// computed.
func (r *ImageScanReconciler) statusOf(p *pass, err error) scanv1.ImageScanStatus {
	old := p.obj.Status
	st := scanv1.ImageScanStatus{
		ObservedGeneration:  p.obj.Generation,
		Conditions:          slices.Clone(old.Conditions),
		LastScanRequest:     p.round.DeepCopy(),
		LastHandledRescanAt: cmp.Or(p.handled, old.LastHandledRescanAt),
		LastCompletionTime:  old.LastCompletionTime,
		Summary:             old.Summary,
		Images:              old.Images,
		Backend:             old.Backend,
		Exceptions:          old.Exceptions,
	}
	// The backend shown is the one that served the calls; a client that
	// does not know yet (BackendAuto after a restart) changes nothing.
	if p.client != nil && p.client.Backend() != "" {
		st.Backend = p.client.Backend()
	}
	round := st.LastScanRequest
	switch t := p.tally; {
	case t != nil:
		// A round never completes over fewer members than it started with.
		if err == nil && rounds.PhaseOf(round) == rounds.Scanning && !p.sent && t.Done() && t.Count >= int(round.Members) {
			round.CompletedAt = ptrNow(r.Clock)
		}
		st.Summary = t.Summary()
		st.Images = t.Images(imagesBudget(p.obj))
		st.Exceptions = t.ExceptionUses()
	case p.started:
		// The round's members are fixed and none has a result yet.
		st.Summary = scanv1.ScanSummary{Matched: round.Members, Pending: round.Members, TotalSize: rounds.HumanBytes(0)}
	}
	if rounds.PhaseOf(round) == rounds.Completed {
		st.LastCompletionTime = round.CompletedAt
	}
	st.NextScanTime = nextScanTime(p.obj, round, st.LastHandledRescanAt)
	r.setConditions(&st, p, err)
	return st
}

// imagesBudget is the room status.images may take: MaxStatusImagesBytes,
// less whatever a large spec and metadata leave of maxObjectBytes.
func imagesBudget(obj *scanv1.ImageScan) int {
	rest := obj.DeepCopy()
	rest.Status.Images = nil
	rest.ManagedFields = nil
	b, _ := json.Marshal(rest) // cannot fail: a typed object
	// Conditions and messages may grow by a few KiB over the pass.
	const slack = 16 << 10
	return max(0, min(scanv1.MaxStatusImagesBytes, maxObjectBytes-len(b)-slack))
}

// nextScanTime is when the next round starts by itself: at the interval,
// or sooner for a rescan request that waits for MinRescanInterval.
func nextScanTime(obj *scanv1.ImageScan, round *scanv1.ScanRequest, handled string) *metav1.Time {
	spec := obj.Spec
	if spec.Suspend || round == nil {
		return nil
	}
	var next *metav1.Time
	if spec.Interval != nil {
		next = metaTime(round.RequestedAt.Add(spec.Interval.Duration))
	}
	if rescanPending(obj, handled) {
		requested := metaTime(round.RequestedAt.Add(scanv1.MinRescanInterval))
		if next == nil || requested.Before(next) {
			next = requested
		}
	}
	return next
}

// untilNextRound is how long to wait for the next interval round.
func (r *ImageScanReconciler) untilNextRound(st scanv1.ImageScanStatus) time.Duration {
	if st.NextScanTime == nil {
		return 0
	}
	return min(max(st.NextScanTime.Sub(r.Clock.Now()), time.Second), r.MaxRequeue)
}

// setConditions: Ready always; Reconciling while a round runs or a retry is
// pending; Stalled while only a person can make progress.
func (r *ImageScanReconciler) setConditions(st *scanv1.ImageScanStatus, p *pass, err error) {
	set := func(ready metav1.ConditionStatus, reason, msg string, reconciling, isStalled bool) {
		setConditions(st, p.obj.Generation, ready, reason, msg, reconciling, isStalled)
	}
	round := st.LastScanRequest
	s := st.Summary
	var se *stepError
	errors.As(err, &se)
	switch {
	case se != nil && se.Stalled:
		set(metav1.ConditionFalse, se.Reason, err.Error(), false, true)
	case err != nil:
		reason := scanv1.ReasonKubernetesAPIError // HSS errors are all stepErrors
		if se != nil {
			reason = se.Reason
		}
		set(metav1.ConditionUnknown, reason, err.Error()+"; retrying", true, false)
	case rounds.PhaseOf(round) == rounds.NotStarted && p.obj.Spec.Suspend:
		set(metav1.ConditionFalse, scanv1.ReasonSuspended, "Suspended before the first scan round", false, false)
	case rounds.PhaseOf(round) == rounds.NotStarted:
		set(metav1.ConditionUnknown, scanv1.ReasonProgressing, "Starting the first scan round", true, false)
	case p.obj.Spec.Suspend && round.Generation != p.obj.Generation:
		set(metav1.ConditionFalse, scanv1.ReasonSuspended, fmt.Sprintf(
			"Suspended: generation %d of the spec has not been scanned; the results shown are round %d's, of generation %d",
			p.obj.Generation, round.Round, round.Generation), false, false)
	case p.evidenceWait > 0:
		set(metav1.ConditionUnknown, scanv1.ReasonProgressing, fmt.Sprintf(
			"Round %d: the last batch-scan call's outcome is unknown; waiting up to %s after it for HSS to show the round's images before asking again",
			round.Round, p.evidenceWait), true, false)
	case rounds.PhaseOf(round) != rounds.Completed:
		set(metav1.ConditionUnknown, scanv1.ReasonScanning, fmt.Sprintf("Round %d: %d of %d images finished",
			round.Round, s.Matched-s.Pending, s.Matched), true, false)
	case p.tally == nil:
		// Nothing new was counted: the conditions stay as they were.
	case s.Failed > 0:
		set(metav1.ConditionFalse, scanv1.ReasonImagesFailed, p.tally.FailureMessage(s), false, true)
	case s.NotFound > 0:
		set(metav1.ConditionFalse, scanv1.ReasonImagesNotFound, p.tally.NotFoundMessage(s, p.obj.Spec.SyncFromSWR), false, true)
	case s.StatisticsUnavailable > 0:
		set(metav1.ConditionFalse, scanv1.ReasonStatsUnavailable, p.tally.StatsUnavailableMessage(s), false, true)
	default:
		set(metav1.ConditionTrue, scanv1.ReasonSucceeded, rounds.SucceededMessage(s), false, false)
	}
}

func setConditions(st *scanv1.ImageScanStatus, generation int64, ready metav1.ConditionStatus, reason, msg string, reconciling, isStalled bool) {
	conds := &st.Conditions
	set := func(t string, s metav1.ConditionStatus) {
		apimeta.SetStatusCondition(conds, metav1.Condition{
			Type: t, Status: s, Reason: reason, Message: rounds.Truncate(msg, maxConditionMessage), ObservedGeneration: generation,
		})
	}
	set(scanv1.ConditionReady, ready)
	for t, on := range map[string]bool{scanv1.ConditionReconciling: reconciling, scanv1.ConditionStalled: isStalled} {
		if on {
			set(t, metav1.ConditionTrue)
		} else {
			apimeta.RemoveStatusCondition(conds, t)
		}
	}
}
