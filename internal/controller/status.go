package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
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
		LastHandledRescanAt: firstOf(p.handled, old.LastHandledRescanAt),
		LastCompletionTime:  old.LastCompletionTime,
		Summary:             old.Summary,
		Images:              old.Images,
		Backend:             old.Backend,
	}
	// The backend shown is the one that served the calls; a client that
	// does not know yet (BackendAuto after a restart) changes nothing.
	if p.client != nil && p.client.Backend() != "" {
		st.Backend = p.client.Backend()
	}
	round := st.LastScanRequest
	if p.loaded {
		// A round never completes over fewer members than it started with.
		if err == nil && phaseOf(round) == phaseScanning && !p.sent && roundDone(p.members, round.Round) && len(p.members) >= int(round.Members) {
			round.CompletedAt = ptrNow(r.Clock)
		}
		st.Summary = summarize(p.members, p.roundNumber())
		st.Images = statusImages(p.members, p.roundNumber(), imagesBudget(p.obj))
	}
	if round != nil && round.CompletedAt != nil {
		st.LastCompletionTime = round.CompletedAt
	}
	st.NextScanTime = nextScanTime(p.obj, round, st.LastHandledRescanAt)
	r.setConditions(&st, p, err)
	return st
}

// summarize counts every member by its result in the round.
func summarize(members []*member, round int64) scanv1.ScanSummary {
	s := scanv1.ScanSummary{Matched: int32(len(members))}
	for _, m := range members {
		switch stateOf(m.status, round) {
		case scanv1.ResultPending:
			s.Pending++
			continue
		case scanv1.ResultSucceeded:
			s.Succeeded++
			s.TotalFiles += *m.status.FilesCount
			s.TotalFileSize += *m.status.FilesSize
		case scanv1.ResultFailed:
			s.Failed++
		case scanv1.ResultNotFound:
			s.NotFound++
		case scanv1.ResultStatisticsUnavailable:
			s.StatisticsUnavailable++
		}
		if f := m.status.Findings; f != nil {
			s.Vulnerabilities += f.Vulnerabilities
			s.MaliciousFiles += f.MaliciousFiles
			s.UnsafeSettings += f.UnsafeSettings
			if f.Severities != nil {
				if s.Severities == nil {
					s.Severities = &scanv1.Severities{}
				}
				s.Severities.Add(*f.Severities)
			}
		}
	}
	s.TotalSize = HumanBytes(s.TotalFileSize)
	return s
}

// attention ranks results for status.images and the messages: the images a
// person must look at come first.
func attention(s scanv1.ImageReportStatus, round int64) int {
	switch stateOf(s, round) {
	case scanv1.ResultFailed:
		return 0
	case scanv1.ResultNotFound:
		return 1
	case scanv1.ResultStatisticsUnavailable:
		return 2
	}
	if malicious(s, round) {
		return 3
	}
	if stateOf(s, round) == scanv1.ResultPending {
		return 4
	}
	return 5
}

func malicious(s scanv1.ImageReportStatus, round int64) bool {
	return s.Round == round && s.Findings != nil && s.Findings.MaliciousFiles > 0
}

// statusImages lists the members, those needing attention first, as many as
// budget bytes of JSON hold.
func statusImages(members []*member, round int64, budget int) []scanv1.ImageStatus {
	ordered := slices.Clone(members)
	slices.SortStableFunc(ordered, func(a, b *member) int { return attention(a.status, round) - attention(b.status, round) })
	var out []scanv1.ImageStatus
	used := 2 // the brackets
	for _, m := range ordered {
		e := scanv1.ImageStatus{
			Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID,
			Result: stateOf(m.status, round), ScanStatus: m.status.ScanStatus,
			FilesCount: m.status.FilesCount, FilesSize: m.status.FilesSize,
		}
		if m.report != nil {
			e.Report = m.report.Name
		}
		if attention(m.status, round) < 3 {
			e.Message = truncate(m.status.Message, 256)
		}
		if malicious(m.status, round) {
			e.MaliciousFiles = m.status.Findings.MaliciousFiles
		}
		b, _ := json.Marshal(e) // cannot fail: strings and numbers
		size := len(b)
		if len(out) > 0 {
			size++ // the comma
		}
		if used+size > budget {
			break
		}
		used += size
		out = append(out, e)
	}
	return out
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
	case round == nil && p.obj.Spec.Suspend:
		set(metav1.ConditionFalse, scanv1.ReasonSuspended, "Suspended before the first scan round", false, false)
	case round == nil:
		set(metav1.ConditionUnknown, scanv1.ReasonProgressing, "Starting the first scan round", true, false)
	case p.obj.Spec.Suspend && round.Generation != p.obj.Generation:
		set(metav1.ConditionFalse, scanv1.ReasonSuspended, fmt.Sprintf(
			"Suspended: generation %d of the spec has not been scanned; the results shown are round %d's, of generation %d",
			p.obj.Generation, round.Round, round.Generation), false, false)
	case p.evidenceWait > 0:
		set(metav1.ConditionUnknown, scanv1.ReasonProgressing, fmt.Sprintf(
			"Round %d: the last batch-scan call's outcome is unknown; waiting up to %s after it for HSS to show the round's images before asking again",
			round.Round, p.evidenceWait), true, false)
	case round.CompletedAt == nil:
		set(metav1.ConditionUnknown, scanv1.ReasonScanning, fmt.Sprintf("Round %d: %d of %d images finished",
			round.Round, s.Matched-s.Pending, s.Matched), true, false)
	case s.Failed > 0:
		set(metav1.ConditionFalse, scanv1.ReasonImagesFailed, failureMessage(p.members, round.Round, s), false, true)
	case s.NotFound > 0:
		set(metav1.ConditionFalse, scanv1.ReasonImagesNotFound, notFoundMessage(p.members, round.Round, s, p.obj.Spec.SyncFromSWR), false, true)
	case s.StatisticsUnavailable > 0:
		set(metav1.ConditionFalse, scanv1.ReasonStatsUnavailable, statsUnavailableMessage(p.members, round.Round, s), false, true)
	default:
		set(metav1.ConditionTrue, scanv1.ReasonSucceeded, succeededMessage(s), false, false)
	}
}

func setConditions(st *scanv1.ImageScanStatus, generation int64, ready metav1.ConditionStatus, reason, msg string, reconciling, isStalled bool) {
	conds := &st.Conditions
	set := func(t string, s metav1.ConditionStatus) {
		apimeta.SetStatusCondition(conds, metav1.Condition{
			Type: t, Status: s, Reason: reason, Message: truncate(msg, maxConditionMessage), ObservedGeneration: generation,
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
