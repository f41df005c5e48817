package rounds

import (
	"fmt"
	"strings"
	"unicode/utf8"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// namedImages is how many images a message names before it counts the
// rest.
const namedImages = 5

// FailureMessage names the images that failed to scan.
func (t *Tally) FailureMessage(s scanv1.ScanSummary) string {
	return fmt.Sprintf("%d of %d images failed to scan: %s", s.Failed, s.Matched, nameImages(t.named[troubleFailed], int(s.Failed)))
}

// NotFoundMessage names the images HSS does not list; synced: the round
// asked HSS to synchronise from SWR first.
func (t *Tally) NotFoundMessage(s scanv1.ScanSummary, synced bool) string {
	why := "synchronised from SWR?"
	if synced {
		why = SyncMayLag
	}
	return fmt.Sprintf("%d of %d images are not listed by HSS (%s): %s", s.NotFound, s.Matched, why,
		nameImages(t.named[troubleNotFound], int(s.NotFound)))
}

// SyncMayLag: HSS synchronises from SWR in the background, and a round lists
// right after asking it to, so an image pushed moments before may be missing.
const SyncMayLag = "HSS was asked to synchronise from SWR just before this round listed its images and may not have finished; the next round lists again"

// StatsUnavailableMessage names the images whose statistics could not be read.
func (t *Tally) StatsUnavailableMessage(s scanv1.ScanSummary) string {
	return fmt.Sprintf("%d of %d images were scanned but their file statistics could not be fetched: %s",
		s.StatisticsUnavailable, s.Matched, nameImages(t.named[troubleStatistics], int(s.StatisticsUnavailable)))
}

// MaliciousMessage names the images HSS found malicious files in.
func (t *Tally) MaliciousMessage(s scanv1.ScanSummary) string {
	return fmt.Sprintf("HSS found %d malicious files in round %d: %s", s.MaliciousFiles, t.Round,
		nameImages(t.named[troubleMalicious], t.malicious))
}

// SucceededMessage is what a round all of whose images were scanned says.
func SucceededMessage(s scanv1.ScanSummary) string {
	msg := fmt.Sprintf("Scanned %d images: %d files, %s", s.Succeeded, s.TotalFiles, s.TotalSize)
	if s.Vulnerabilities+s.MaliciousFiles+s.UnsafeSettings > 0 {
		msg += fmt.Sprintf("; found %d vulnerabilities, %d malicious files, %d unsafe settings",
			s.Vulnerabilities, s.MaliciousFiles, s.UnsafeSettings)
	}
	return msg + triageMessage(s)
}

// triageMessage speaks of the open vulnerabilities that need a decision:
// critical and high ones no exception accepts, those new in the round, and
// how many exceptions accept.
func triageMessage(s scanv1.ScanSummary) string {
	var parts []string
	if o := s.Open; o != nil && o.Critical+o.High > 0 {
		parts = append(parts, fmt.Sprintf("%d critical and %d high open", o.Critical, o.High))
	}
	if n := s.New; n != nil && n.Total() > 0 {
		parts = append(parts, fmt.Sprintf("%d new since the last round (%d critical, %d high)", n.Total(), n.Critical, n.High))
	}
	if a := s.Accepted; a != nil && a.Total() > 0 {
		parts = append(parts, fmt.Sprintf("%d accepted by exceptions", a.Total()))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; vulnerabilities: " + strings.Join(parts, ", ")
}

// nameImages names the images of names, which the tally keeps in key
// order, and counts the rest of total: up to five, and no more than fit in
// namesBudget bytes (names may be 450 characters long), so that the count
// survives any message bound. The first is always named.
func nameImages(names []namedImage, total int) string {
	const namesBudget, entryBudget = 720, 480
	var out []string
	used := 0
	for _, n := range names {
		entry := Truncate(fmt.Sprintf("%s (%s)", n.key, Truncate(n.reason, 160)), entryBudget)
		if len(out) == namedImages || len(out) > 0 && used+len(entry)+2 > namesBudget {
			break
		}
		out = append(out, entry)
		used += len(entry) + 2
	}
	s := strings.Join(out, ", ")
	if more := total - len(out); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// Truncate keeps at most limit bytes of s, cut on a character boundary and
// marked with an ellipsis.
func Truncate(s string, limit int) string {
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
