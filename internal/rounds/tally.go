package rounds

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Tally is what a pass learns from all of a round's members while it works
// through them a page at a time: their count, the summary, whether every
// one has its result, the status lines that come first, and a few names for
// each kind of trouble. Its size is bounded whatever the number of members:
// it keeps at most the lines status.images can hold and namedImages names
// per kind.
type Tally struct {
	// Round is the round the tally counts; Count its members, Pending
	// those without their result in it.
	Round   int64
	Count   int
	Pending int
	summary scanv1.ScanSummary
	// malicious counts the images with malicious files.
	malicious int
	lines     []line
	// named holds, per kind of trouble, the first members in key order.
	named map[trouble][]namedImage
	// exceptions counts the results each exception accepts, and the images.
	exceptions map[string]scanv1.ExceptionUse
	// Present are the members of an explicit list, which the controller
	// compares with the spec; nil for a selector, whose members may be
	// many.
	Present map[Key]bool
	// Waiting are the index keys of the members without a scan result in
	// the round, up to waitingCap, once CollectWaiting asked for them.
	Waiting    []string
	waitingCap int
}

// line is a candidate entry of status.images with the rank it is kept by.
type line struct {
	rank  int
	key   string
	entry scanv1.ImageStatus
}

// trouble is a kind of result a message names images for.
type trouble int

const (
	troubleFailed trouble = iota
	troubleNotFound
	troubleStatistics
	troubleMalicious
)

// namedImage is an image a message may name, and why.
type namedImage struct {
	key    string
	reason string
}

// minLineBytes is the least an entry of status.images takes as JSON, so
// that the tally never keeps more lines than the largest budget can hold.
const minLineBytes = 64

// NewTally counts the members of round; explicit: the spec names them, and
// Present is kept.
func NewTally(round int64, explicit bool) *Tally {
	t := &Tally{Round: round, named: map[trouble][]namedImage{}, exceptions: map[string]scanv1.ExceptionUse{}}
	if explicit {
		t.Present = map[Key]bool{}
	}
	return t
}

// CollectWaiting makes the tally keep the index keys of up to limit members
// without a scan result in the round, in Waiting.
func (t *Tally) CollectWaiting(limit int) {
	t.Waiting, t.waitingCap = []string{}, limit
}

// Add counts one member: its key, its report's status and the report's
// name (empty before the report is made).
func (t *Tally) Add(k Key, s scanv1.ImageReportStatus, report string) {
	round := t.Round
	t.Count++
	if t.Present != nil {
		t.Present[k] = true
	}
	if t.Waiting != nil && s.Round != round && len(t.Waiting) < t.waitingCap {
		t.Waiting = append(t.Waiting, k.Index())
	}
	state := StateOf(s, round)
	sum := &t.summary
	switch state {
	case scanv1.ResultPending:
		t.Pending++
	case scanv1.ResultSucceeded:
		sum.Succeeded++
		sum.TotalFiles += *s.FilesCount
		sum.TotalFileSize += *s.FilesSize
	case scanv1.ResultFailed:
		sum.Failed++
		t.name(troubleFailed, k, cmp.Or(s.Message, s.ScanStatus))
	case scanv1.ResultNotFound:
		sum.NotFound++
		t.name(troubleNotFound, k, "not found")
	case scanv1.ResultStatisticsUnavailable:
		sum.StatisticsUnavailable++
		t.name(troubleStatistics, k, s.Message)
	}
	if f := s.Findings; f != nil && state != scanv1.ResultPending {
		sum.Vulnerabilities += f.Vulnerabilities
		sum.MaliciousFiles += f.MaliciousFiles
		sum.UnsafeSettings += f.UnsafeSettings
		addSeverities(&sum.Severities, f.Severities)
		addSeverities(&sum.Open, cmp.Or(f.Open, f.Severities))
		addSeverities(&sum.Accepted, f.Accepted)
		addSeverities(&sum.New, f.New)
		if s.Triage != nil {
			for _, u := range s.Triage.Exceptions {
				sum := t.exceptions[u.Name]
				sum.Name, sum.Results, sum.Images = u.Name, sum.Results+u.Results, sum.Images+1
				sum.Examples = firstKeys(sum.Examples, k.String(), 3)
				t.exceptions[u.Name] = sum
			}
		}
	}
	if Malicious(s, round) {
		t.malicious++
		t.name(troubleMalicious, k, fmt.Sprintf("%d malicious files", s.Findings.MaliciousFiles))
	}
	t.addLine(k, s, report, state)
}

// addSeverities adds counts to a sum, which starts with the first.
func addSeverities(sum **scanv1.Severities, s *scanv1.Severities) {
	if s == nil {
		return
	}
	if *sum == nil {
		*sum = &scanv1.Severities{}
	}
	(*sum).Add(*s)
}

// ExceptionUses are the exceptions that accept results of the members, in
// name order, at most MaxExceptionScans.
func (t *Tally) ExceptionUses() []scanv1.ExceptionUse {
	var out []scanv1.ExceptionUse
	for _, u := range t.exceptions {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b scanv1.ExceptionUse) int { return strings.Compare(a.Name, b.Name) })
	out = out[:min(len(out), scanv1.MaxExceptionScans)]
	for i := scanv1.MaxExceptionExamples; i < len(out); i++ {
		out[i].Examples = nil // the status's room goes to the images' lines
	}
	return out
}

// firstKeys adds key to keys, keeping the first n in order.
func firstKeys(keys []string, key string, n int) []string {
	i, found := slices.BinarySearch(keys, key)
	if found || i >= n {
		return keys
	}
	keys = slices.Insert(keys, i, key)
	return keys[:min(len(keys), n)]
}

// name remembers k for messages about kind, keeping the first namedImages
// in key order.
func (t *Tally) name(kind trouble, k Key, reason string) {
	names := append(t.named[kind], namedImage{key: k.String(), reason: reason})
	slices.SortFunc(names, func(a, b namedImage) int { return strings.Compare(a.key, b.key) })
	t.named[kind] = names[:min(len(names), namedImages)]
}

func (t *Tally) addLine(k Key, s scanv1.ImageReportStatus, report string, state scanv1.ImageResult) {
	round := t.Round
	e := scanv1.ImageStatus{
		Namespace: k.Namespace, Name: k.Name, Tag: k.Tag, InstanceID: k.InstanceID, Report: report,
		Result: state, ScanStatus: s.ScanStatus, FilesCount: s.FilesCount, FilesSize: s.FilesSize,
	}
	rank := Attention(s, round)
	if rank < 3 {
		e.Message = Truncate(s.Message, 256)
	}
	if Malicious(s, round) {
		e.MaliciousFiles = s.Findings.MaliciousFiles
	}
	t.lines = append(t.lines, line{rank: rank, key: k.String(), entry: e})
	if keep := scanv1.MaxStatusImagesBytes / minLineBytes; len(t.lines) >= 2*keep {
		t.sortLines()
		t.lines = t.lines[:keep]
	}
}

func (t *Tally) sortLines() {
	slices.SortFunc(t.lines, func(a, b line) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.key, b.key)
	})
}

// Done: every member has its result in the round.
func (t *Tally) Done() bool { return t.Pending == 0 }

// Summary is the round's summary as the tally counted it.
func (t *Tally) Summary() scanv1.ScanSummary {
	s := t.summary
	s.Matched, s.Pending = int32(t.Count), int32(t.Pending)
	s.TotalSize = HumanBytes(s.TotalFileSize)
	return s
}

// Images lists the members, those needing attention first and then in key
// order, as many as budget bytes of JSON hold.
func (t *Tally) Images(budget int) []scanv1.ImageStatus {
	t.sortLines()
	var out []scanv1.ImageStatus
	used := 2 // the brackets
	for _, l := range t.lines {
		b, _ := json.Marshal(l.entry) // cannot fail: strings and numbers
		size := len(b)
		if len(out) > 0 {
			size++ // the comma
		}
		if used+size > budget {
			break
		}
		used += size
		out = append(out, l.entry)
	}
	return out
}
