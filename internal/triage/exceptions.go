package triage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// DefaultMaxDuration is how far ahead of its last change an exception may
// expire unless the platform says otherwise.
const DefaultMaxDuration = 365 * 24 * time.Hour

// State is where an exception stands at a moment: its Ready condition's
// reason and message.
type State struct {
	Reason  string
	Message string
}

// InForce: the exception accepts results.
func (s State) InForce() bool { return s.Reason == scanv1.ReasonActive }

// StateOf decides an exception's state at now. The platform's maximum
// counts from when this generation was first seen (effectiveSince, or now
// for a generation not yet recorded), so that renewing an exception is a
// new decision with a new bound.
func StateOf(e *scanv1.VulnerabilityException, now time.Time, maxDuration time.Duration) State {
	if maxDuration <= 0 {
		maxDuration = DefaultMaxDuration
	}
	expires := e.Spec.ExpiresAt.Time
	if !now.Before(expires) {
		return State{scanv1.ReasonExpired, fmt.Sprintf("expired at %s; its results are open again", expires.UTC().Format(time.RFC3339))}
	}
	since := EffectiveSince(e, now)
	if expires.Sub(since) > maxDuration {
		return State{scanv1.ReasonExpiryBeyondMaximum, fmt.Sprintf(
			"expiresAt is %s after the exception last changed; the platform allows at most %s: bring it forward to accept these results",
			expires.Sub(since).Round(time.Minute), maxDuration)}
	}
	return State{scanv1.ReasonActive, fmt.Sprintf("accepts %s until %s: %s",
		strings.Join(e.Spec.Vulnerabilities, ", "), expires.UTC().Format(time.RFC3339), e.Spec.Reason)}
}

// EffectiveSince is when the exception's generation was first seen.
func EffectiveSince(e *scanv1.VulnerabilityException, now time.Time) time.Time {
	if e.Status.EffectiveSince != nil && e.Status.ObservedGeneration == e.Generation {
		return e.Status.EffectiveSince.Time
	}
	return now
}

// Rule is an exception in force, as matching sees it.
type Rule struct {
	Name      string
	Reason    string
	WriteBack bool
	version   string
	ids       []string // upper case, sorted
	images    []scanv1.ImagePattern
}

// Set is the rules in force in a namespace, in name order: where two accept
// the same result, the first names it.
type Set []Rule

// Compile is the set of the exceptions in force at now, and the earliest
// time one of them ends (zero when none does): the state changes then.
func Compile(excs []scanv1.VulnerabilityException, now time.Time, maxDuration time.Duration) (Set, time.Time) {
	var s Set
	var next time.Time
	for i := range excs {
		e := &excs[i]
		if e.DeletionTimestamp != nil || !StateOf(e, now, maxDuration).InForce() {
			continue
		}
		ids := make([]string, 0, len(e.Spec.Vulnerabilities))
		for _, id := range e.Spec.Vulnerabilities {
			ids = append(ids, strings.ToUpper(strings.TrimSpace(id)))
		}
		slices.Sort(ids)
		s = append(s, Rule{
			Name: e.Name, Reason: e.Spec.Reason, WriteBack: e.Spec.WriteBack, ids: ids, images: e.Spec.Images,
			version: strconv.FormatInt(e.Generation, 10) + "/" + e.Spec.ExpiresAt.UTC().Format(time.RFC3339),
		})
		if t := e.Spec.ExpiresAt.Time; next.IsZero() || t.Before(next) {
			next = t
		}
	}
	slices.SortFunc(s, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) })
	return s, next
}

// Image is what an exception's image patterns are matched against: the
// SWR organisation, repository and tag.
type Image struct{ Organization, Repository, Tag string }

// For is the rules whose image patterns match img.
func (s Set) For(img Image) Set {
	var out Set
	for _, r := range s {
		if r.matches(img) {
			out = append(out, r)
		}
	}
	return out
}

func (r Rule) matches(img Image) bool {
	if len(r.images) == 0 {
		return true
	}
	return slices.ContainsFunc(r.images, func(p scanv1.ImagePattern) bool {
		return Match(p.Organization, img.Organization) && Match(p.Repository, img.Repository) && Match(p.Tag, img.Tag)
	})
}

// Key identifies the set: an image's list marked under one key needs no
// marking again while its key stays. Empty for no rules.
func (s Set) Key() string {
	if len(s) == 0 {
		return ""
	}
	h := sha256.New()
	for _, r := range s {
		fmt.Fprintf(h, "%s\x00%s\x00%t\x00", r.Name, r.version, r.WriteBack)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Accepting is the first rule that names the vulnerability by its ID or
// one of its CVE IDs, or nil.
func (s Set) Accepting(id string, cves []string) *Rule {
	for i := range s {
		if s[i].names(id) || slices.ContainsFunc(cves, s[i].names) {
			return &s[i]
		}
	}
	return nil
}

func (r Rule) names(id string) bool {
	_, ok := slices.BinarySearch(r.ids, strings.ToUpper(id))
	return ok
}
