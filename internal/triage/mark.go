package triage

import (
	"slices"
	"strings"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Finding is one result of an image's list as triage sees it, whichever
// object holds the list.
type Finding struct {
	// Key tells results apart across rounds: a vulnerability may be listed
	// once per package and path.
	Key            string
	ID             string
	CVEs           []string
	Severity       scanv1.Severity
	FirstSeenRound int64
	// FirstSeenAt is when that round started, RFC 3339; empty where it was
	// not recorded.
	FirstSeenAt string
	// App: an application's vulnerability (it has a path in the image),
	// which HSS handles apart from the system's.
	App bool
	// IgnoredInHSS: the operator marked it ignored in HSS for this image.
	IgnoredInHSS bool
	// AcceptedBy is set by Mark: the rule accepting the result, or nil.
	AcceptedBy *Rule
}

// Seen is what an image's earlier list said of a result.
type Seen struct {
	Round   int64
	At      string
	Ignored bool
}

// Round is the ImageScan's round a list is marked in: its number and when
// it started, RFC 3339.
type Round struct {
	N  int64
	At string
}

// KeyOf is a result's key from its vulnerability ID, package and path.
func KeyOf(id, pkg, path string) string { return strings.Join([]string{id, pkg, path}, "\x00") }

// Outcome is what marking an image's list counted and decided.
type Outcome struct {
	Accepted scanv1.Severities
	// New counts the open results first found in the round.
	New scanv1.Severities
	// Uses counts the results each rule accepts, in name order.
	Uses []scanv1.ExceptionUse
	// Ignore holds, by rule, the findings to mark ignored in HSS, and
	// Unignore those to unmark: the HSS side of the decisions.
	Ignore   map[string][]int
	Unignore []int
}

// Mark marks an image's list in a round: which rule accepts each result,
// and the round each was first found in, from seen (the earlier list's, by
// key; nil when there was none) or this round. A result of an ImageScan's
// first round is never new: that round is the baseline. With writeBack,
// the results a writing-back rule accepts are to be ignored in HSS, and
// those ignored that none accepts any more unignored.
func Mark(fs []Finding, s Set, seen map[string]Seen, round Round, writeBack bool) Outcome {
	var out Outcome
	for i := range fs {
		f := &fs[i]
		if p, ok := seen[f.Key]; ok && p.Round > 0 {
			f.FirstSeenRound, f.FirstSeenAt, f.IgnoredInHSS = p.Round, p.At, p.Ignored
		} else if f.FirstSeenRound == 0 || seen != nil {
			f.FirstSeenRound, f.FirstSeenAt = round.N, round.At
		}
		f.AcceptedBy = s.Accepting(f.ID, f.CVEs)
		switch {
		case f.AcceptedBy != nil:
			out.Accepted.Count(f.Severity)
			out.use(f.AcceptedBy.Name)
		case f.FirstSeenRound == round.N && round.N > 1:
			out.New.Count(f.Severity)
		}
		want := writeBack && f.AcceptedBy != nil && f.AcceptedBy.WriteBack
		switch {
		case want && !f.IgnoredInHSS:
			if out.Ignore == nil {
				out.Ignore = map[string][]int{}
			}
			out.Ignore[f.AcceptedBy.Name] = append(out.Ignore[f.AcceptedBy.Name], i)
		case !want && f.IgnoredInHSS:
			out.Unignore = append(out.Unignore, i)
		}
	}
	return out
}

func (o *Outcome) use(name string) {
	i, found := slices.BinarySearchFunc(o.Uses, name, func(u scanv1.ExceptionUse, n string) int { return strings.Compare(u.Name, n) })
	if !found {
		o.Uses = slices.Insert(o.Uses, i, scanv1.ExceptionUse{Name: name, Images: 1})
	}
	o.Uses[i].Results++
}

// Open is all less accepted, by severity. Where all counts by repair
// necessity, its High holds the Critical ones, and so do the accepted.
func Open(all *scanv1.Severities, accepted scanv1.Severities) *scanv1.Severities {
	if all == nil {
		return nil
	}
	if all.Basis == scanv1.BasisRepairNecessity {
		accepted.High += accepted.Critical
		accepted.Critical = 0
	}
	return &scanv1.Severities{
		Critical: max(0, all.Critical-accepted.Critical), High: max(0, all.High-accepted.High),
		Medium: max(0, all.Medium-accepted.Medium), Low: max(0, all.Low-accepted.Low), Basis: all.Basis,
	}
}
