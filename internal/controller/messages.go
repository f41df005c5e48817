package controller

import (
	"fmt"
	"strings"
	"unicode/utf8"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Bounds of the texts the API server keeps: a condition message may hold
// 32 KiB, but a line in kubectl should not; an event's note is refused
// above 1 KiB.
const (
	maxConditionMessage = 1024
	maxEventNote        = 1024
	namedImages         = 5
)

func failureMessage(members []*member, round int64, s scanv1.ScanSummary) string {
	return fmt.Sprintf("%d of %d images failed to scan: %s", s.Failed, s.Matched,
		nameImages(members, round, func(st scanv1.ImageReportStatus) string {
			if stateOf(st, round) != scanv1.ResultFailed {
				return ""
			}
			return firstOf(st.Message, st.ScanStatus)
		}))
}

func notFoundMessage(members []*member, round int64, s scanv1.ScanSummary, synced bool) string {
	why := "synchronised from SWR?"
	if synced {
		why = syncMayLag
	}
	return fmt.Sprintf("%d of %d images are not listed by HSS (%s): %s", s.NotFound, s.Matched, why,
		nameImages(members, round, func(st scanv1.ImageReportStatus) string {
			if stateOf(st, round) != scanv1.ResultNotFound {
				return ""
			}
			return "not found"
		}))
}

// syncMayLag: HSS synchronises from SWR in the background, and a round lists
// right after asking it to, so an image pushed moments before may be missing.
const syncMayLag = "HSS was asked to synchronise from SWR just before this round listed its images and may not have finished; the next round lists again"

func statsUnavailableMessage(members []*member, round int64, s scanv1.ScanSummary) string {
	return fmt.Sprintf("%d of %d images were scanned but their file statistics could not be fetched: %s",
		s.StatisticsUnavailable, s.Matched,
		nameImages(members, round, func(st scanv1.ImageReportStatus) string {
			if stateOf(st, round) != scanv1.ResultStatisticsUnavailable {
				return ""
			}
			return st.Message
		}))
}

func maliciousMessage(members []*member, round int64, s scanv1.ScanSummary) string {
	return fmt.Sprintf("HSS found %d malicious files in round %d: %s", s.MaliciousFiles, round,
		nameImages(members, round, func(st scanv1.ImageReportStatus) string {
			if !malicious(st, round) {
				return ""
			}
			return fmt.Sprintf("%d malicious files", st.Findings.MaliciousFiles)
		}))
}

func succeededMessage(s scanv1.ScanSummary) string {
	msg := fmt.Sprintf("Scanned %d images: %d files, %s", s.Succeeded, s.TotalFiles, s.TotalSize)
	if s.Vulnerabilities+s.MaliciousFiles+s.UnsafeSettings > 0 {
		msg += fmt.Sprintf("; found %d vulnerabilities, %d malicious files, %d unsafe settings",
			s.Vulnerabilities, s.MaliciousFiles, s.UnsafeSettings)
	}
	return msg
}

// nameImages names members for which why returns a reason, in member
// order, and counts the rest: up to five, and no more than fit in
// namesBudget bytes (names may be 450 characters long), so that the count
// survives any message bound. The first is always named.
func nameImages(members []*member, round int64, why func(scanv1.ImageReportStatus) string) string {
	const namesBudget, entryBudget = 720, 480
	var names []string
	used, more := 0, 0
	for _, m := range members {
		reason := why(m.status)
		if reason == "" {
			continue
		}
		entry := truncate(fmt.Sprintf("%s (%s)", m.key, truncate(reason, 160)), entryBudget)
		if len(names) == namedImages || len(names) > 0 && used+len(entry)+2 > namesBudget {
			more++
			continue
		}
		names = append(names, entry)
		used += len(entry) + 2
	}
	s := strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// truncate keeps at most limit bytes of s, cut on a character boundary and
// marked with an ellipsis.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "..."
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
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
