package controller

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// report turns the pass's outcome into the summary and the conditions:
// Ready always; Reconciling while a round runs or a retry is pending;
// Stalled while only a person can make progress.
func (r *ImageScanReconciler) report(obj *scanv1.ImageScan, members []*scanv1.ImageResult, err error) {
	st := &obj.Status
	if members != nil {
		st.Summary = summarize(st, members)
	}
	round := st.LastScanRequest
	var se *stepError
	errors.As(err, &se)
	switch {
	case se != nil && se.Stalled:
		r.setConditions(obj, metav1.ConditionFalse, se.Reason, err.Error(), false, true)
		if se.Reason == scanv1.ReasonAuthFailed {
			r.Events.Eventf(obj, nil, corev1.EventTypeWarning, se.Reason, "Authenticate", "%s", err.Error())
		}
	case err != nil:
		reason := scanv1.ReasonKubernetesAPIError // HSS errors are all stepErrors
		if se != nil {
			reason = se.Reason
		}
		r.setConditions(obj, metav1.ConditionUnknown, reason, err.Error()+"; retrying", true, false)
	case round == nil:
		r.setConditions(obj, metav1.ConditionFalse, scanv1.ReasonSuspended, "Suspended before the first scan round", false, false)
	case round.CompletedAt == nil:
		msg := fmt.Sprintf("Round %d: %d of %d images finished", round.Round,
			st.Summary.Succeeded+st.Summary.Failed+st.Summary.NotFound, st.Summary.Matched)
		r.setConditions(obj, metav1.ConditionUnknown, scanv1.ReasonScanning, msg, true, false)
	case st.Summary.Failed > 0:
		r.setConditions(obj, metav1.ConditionFalse, scanv1.ReasonImagesFailed, failureMessage(st), false, true)
	case st.Summary.NotFound > 0:
		r.setConditions(obj, metav1.ConditionFalse, scanv1.ReasonImagesNotFound, notFoundMessage(st), false, true)
	case st.Summary.StatisticsUnavailable > 0:
		r.setConditions(obj, metav1.ConditionFalse, scanv1.ReasonStatsUnavailable, statsUnavailableMessage(st), false, true)
	default:
		r.setConditions(obj, metav1.ConditionTrue, scanv1.ReasonSucceeded, succeededMessage(st), false, false)
	}
	st.ObservedGeneration = obj.Generation
}

func (r *ImageScanReconciler) setConditions(obj *scanv1.ImageScan, ready metav1.ConditionStatus, reason, msg string, reconciling, isStalled bool) {
	conds := &obj.Status.Conditions
	set := func(t string, s metav1.ConditionStatus) {
		apimeta.SetStatusCondition(conds, metav1.Condition{
			Type: t, Status: s, Reason: reason, Message: truncate(msg), ObservedGeneration: obj.Generation,
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

// announce records the end of a round as events: how it ended, and, for a
// security team's attention, any malicious file found.
func (r *ImageScanReconciler) announce(obj *scanv1.ImageScan) {
	st := &obj.Status
	switch {
	case st.Summary.Failed > 0:
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, scanv1.ReasonImagesFailed, "Scan", "%s", failureMessage(st))
	case st.Summary.StatisticsUnavailable > 0:
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, scanv1.ReasonStatsUnavailable, "Scan", "%s", statsUnavailableMessage(st))
	default:
		r.Events.Eventf(obj, nil, corev1.EventTypeNormal, scanv1.EventScanCompleted, "Scan", "Round %d: %s", st.LastScanRequest.Round, succeededMessage(st))
	}
	if st.Summary.MaliciousFiles > 0 {
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, scanv1.EventMaliciousFilesFound, "Scan", "%s", maliciousMessage(st))
	}
}

// summarize counts every member of the round, including those past the
// status bound.
func summarize(st *scanv1.ImageScanStatus, members []*scanv1.ImageResult) scanv1.ScanSummary {
	round := st.LastScanRequest.Round
	s := scanv1.ScanSummary{Matched: int32(len(st.Images)) + st.ImagesOmitted}
	for _, m := range members {
		switch {
		case m.ScanStatus == scanv1.ScanStatusNotFound:
			s.NotFound++
		case m.Round != round:
		case m.ScanStatus == hss.StatusSuccess && m.FilesCount != nil:
			s.Succeeded++
			s.TotalFiles += *m.FilesCount
			s.TotalFileSize += *m.FilesSize
		case m.ScanStatus == hss.StatusSuccess && statisticsGivenUp(m):
			s.StatisticsUnavailable++
		case m.ScanStatus != hss.StatusSuccess:
			s.Failed++
		}
		if f := m.Findings; f != nil && m.Round == round {
			s.Vulnerabilities += f.Vulnerabilities
			s.MaliciousFiles += f.MaliciousFiles
			s.UnsafeSettings += f.UnsafeSettings
		}
	}
	s.Pending = max(s.Matched-s.Succeeded-s.Failed-s.NotFound-s.StatisticsUnavailable, 0)
	s.TotalSize = HumanBytes(s.TotalFileSize)
	return s
}

func failureMessage(st *scanv1.ImageScanStatus) string {
	return fmt.Sprintf("%d of %d images failed to scan: %s", st.Summary.Failed, st.Summary.Matched,
		nameImages(st, func(e scanv1.ImageResult) string {
			if e.Round != st.LastScanRequest.Round || e.ScanStatus == hss.StatusSuccess || e.ScanStatus == scanv1.ScanStatusNotFound {
				return ""
			}
			return firstOf(e.Message, e.ScanStatus)
		}))
}

func succeededMessage(st *scanv1.ImageScanStatus) string {
	s := st.Summary
	msg := fmt.Sprintf("Scanned %d images: %d files, %s", s.Succeeded, s.TotalFiles, s.TotalSize)
	if s.Vulnerabilities+s.MaliciousFiles+s.UnsafeSettings > 0 {
		msg += fmt.Sprintf("; found %d vulnerabilities, %d malicious files, %d unsafe settings",
			s.Vulnerabilities, s.MaliciousFiles, s.UnsafeSettings)
	}
	return msg
}

func statsUnavailableMessage(st *scanv1.ImageScanStatus) string {
	return fmt.Sprintf("%d of %d images were scanned but their file statistics could not be fetched: %s",
		st.Summary.StatisticsUnavailable, st.Summary.Matched,
		nameImages(st, func(e scanv1.ImageResult) string {
			if e.Round != st.LastScanRequest.Round || !statisticsGivenUp(&e) {
				return ""
			}
			return e.Message
		}))
}

func maliciousMessage(st *scanv1.ImageScanStatus) string {
	return fmt.Sprintf("HSS found %d malicious files in round %d: %s", st.Summary.MaliciousFiles, st.LastScanRequest.Round,
		nameImages(st, func(e scanv1.ImageResult) string {
			if e.Round != st.LastScanRequest.Round || e.Findings == nil || e.Findings.MaliciousFiles == 0 {
				return ""
			}
			return fmt.Sprintf("%d malicious files", e.Findings.MaliciousFiles)
		}))
}

func notFoundMessage(st *scanv1.ImageScanStatus) string {
	return fmt.Sprintf("%d of %d images are not listed by HSS (synchronised from SWR?): %s", st.Summary.NotFound, st.Summary.Matched,
		nameImages(st, func(e scanv1.ImageResult) string {
			if e.ScanStatus != scanv1.ScanStatusNotFound {
				return ""
			}
			return "not found"
		}))
}

// nameImages names up to five images for which why returns a reason.
func nameImages(st *scanv1.ImageScanStatus, why func(scanv1.ImageResult) string) string {
	var names []string
	more := 0
	for _, e := range st.Images {
		reason := why(e)
		switch {
		case reason == "":
		case len(names) < 5:
			names = append(names, fmt.Sprintf("%s (%s)", keyOfResult(e), reason))
		default:
			more++
		}
	}
	s := strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// truncate keeps condition messages within the API's 32 KiB limit.
func truncate(s string) string {
	const limit = 1024
	if len(s) <= limit {
		return s
	}
	return s[:limit-3] + "..."
}

// HumanBytes writes n in binary units, as status.summary.totalSize shows it.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
