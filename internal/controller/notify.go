package controller

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// notify sends the events of what changed between the status the pass
// started from and the one it saved. It runs only after the save succeeded,
// so a pass that lost a conflict sends nothing, and the pass that then
// saves the change sends it once.
func (r *ImageScanReconciler) notify(p *pass, old, st scanv1.ImageScanStatus) {
	obj := p.obj
	event := func(kind, reason, action, msg string) {
		r.Events.Eventf(obj, nil, kind, reason, action, "%s", rounds.Truncate(msg, maxEventNote))
	}
	prev, round := old.LastScanRequest, st.LastScanRequest
	if rounds.Accepted(round) && (prev == nil || prev.Round != round.Round || !rounds.Accepted(prev)) {
		event(corev1.EventTypeNormal, scanv1.EventScanRequested, "BatchScan",
			fmt.Sprintf("Round %d (%s): asked HSS to scan %d images", round.Round, round.Trigger, st.Summary.Matched))
	}
	if rounds.PhaseOf(round) == rounds.Completed && (prev == nil || prev.Round != round.Round || rounds.PhaseOf(prev) != rounds.Completed) {
		r.announce(p, st, event)
	}
	if old.Backend != "" && st.Backend != old.Backend {
		event(corev1.EventTypeNormal, scanv1.EventBackendChanged, "Serve", fmt.Sprintf(
			"HSS now serves this ImageScan through the %s calls (before: %s); a round in flight goes on without a new scan request", st.Backend, old.Backend))
	}
	for _, u := range old.Exceptions {
		if p.expired[u.Name] && !slices.ContainsFunc(st.Exceptions, func(n scanv1.ExceptionUse) bool { return n.Name == u.Name }) {
			event(corev1.EventTypeWarning, scanv1.EventExceptionExpired, "Triage", fmt.Sprintf(
				"VulnerabilityException %s expired: the %d results it accepted in %d images are open again", u.Name, u.Results, u.Images))
		}
	}
	before := apimeta.FindStatusCondition(old.Conditions, scanv1.ConditionReady)
	after := apimeta.FindStatusCondition(st.Conditions, scanv1.ConditionReady)
	if after != nil && after.Reason == scanv1.ReasonAuthFailed && (before == nil || before.Reason != after.Reason) {
		event(corev1.EventTypeWarning, after.Reason, "Authenticate", after.Message)
	}
}

// announce records the end of a round: how it ended and, for a security
// team's attention, any malicious file found.
func (r *ImageScanReconciler) announce(p *pass, st scanv1.ImageScanStatus, event func(kind, reason, action, msg string)) {
	s, round := st.Summary, st.LastScanRequest.Round
	switch {
	case s.Failed > 0:
		event(corev1.EventTypeWarning, scanv1.ReasonImagesFailed, "Scan", p.tally.FailureMessage(s))
	case s.NotFound > 0:
		event(corev1.EventTypeWarning, scanv1.ReasonImagesNotFound, "Scan", p.tally.NotFoundMessage(s, p.obj.Spec.SyncFromSWR))
	case s.StatisticsUnavailable > 0:
		event(corev1.EventTypeWarning, scanv1.ReasonStatsUnavailable, "Scan", p.tally.StatsUnavailableMessage(s))
	default:
		event(corev1.EventTypeNormal, scanv1.EventScanCompleted, "Scan", fmt.Sprintf("Round %d: %s", round, rounds.SucceededMessage(s)))
	}
	if s.MaliciousFiles > 0 {
		event(corev1.EventTypeWarning, scanv1.EventMaliciousFilesFound, "Scan", p.tally.MaliciousMessage(s))
	}
	if n := s.New; n != nil && n.Total() > 0 {
		event(corev1.EventTypeWarning, scanv1.EventNewVulnerabilities, "Scan", fmt.Sprintf(
			"Round %d found %d open vulnerabilities its images did not have before: %d critical, %d high, %d medium, %d low",
			round, n.Total(), n.Critical, n.High, n.Medium, n.Low))
	}
}
