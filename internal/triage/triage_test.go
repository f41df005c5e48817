package triage

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "anything", true},
		{"*", "", true},
		{"team", "team", true},
		{"team", "teams", false},
		{"team-*", "team-web", true},
		{"team-*", "team", false},
		{"*/base", "library/os/base", true},
		{"v1.?", "v1.2", true},
		{"v1.?", "v1.23", false},
		{"*a*b*c", "xaybzc", true},
		{"*a*b*c", "xaybzcd", false},
		{"**", "x", true},
		{"ä*", "äpfel", true},
	} {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %t, want %t", c.pattern, c.s, got, c.want)
		}
	}
}

func exception(name string, ids []string, expires time.Time, images ...scanv1.ImagePattern) scanv1.VulnerabilityException {
	return scanv1.VulnerabilityException{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       scanv1.VulnerabilityExceptionSpec{Vulnerabilities: ids, Images: images, Reason: "base image", ExpiresAt: metav1.NewTime(expires)},
	}
}

func TestStateOf(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	recorded := func(e scanv1.VulnerabilityException, since time.Time, gen int64) scanv1.VulnerabilityException {
		e.Status.EffectiveSince, e.Status.ObservedGeneration = &metav1.Time{Time: since}, gen
		return e
	}
	for _, c := range []struct {
		name string
		e    scanv1.VulnerabilityException
		max  time.Duration
		want string
	}{
		{"in force", exception("a", []string{"X"}, now.Add(time.Hour)), time.Hour * 24, scanv1.ReasonActive},
		{"ends at its expiry", exception("a", []string{"X"}, now), time.Hour * 24, scanv1.ReasonExpired},
		{"in the past", exception("a", []string{"X"}, now.Add(-time.Hour)), time.Hour * 24, scanv1.ReasonExpired},
		{"beyond the maximum", exception("a", []string{"X"}, now.Add(25*time.Hour)), time.Hour * 24, scanv1.ReasonExpiryBeyondMaximum},
		{"the maximum counts from the generation's start",
			recorded(exception("a", []string{"X"}, now.Add(20*time.Hour)), now.Add(-5*time.Hour), 1), 24 * time.Hour, scanv1.ReasonExpiryBeyondMaximum},
		{"a new generation starts a new bound",
			recorded(exception("a", []string{"X"}, now.Add(20*time.Hour)), now.Add(-5*time.Hour), 0), 24 * time.Hour, scanv1.ReasonActive},
		{"the default maximum is a year", exception("a", []string{"X"}, now.Add(366*24*time.Hour)), 0, scanv1.ReasonExpiryBeyondMaximum},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := StateOf(&c.e, now, c.max)
			if got.Reason != c.want || got.Message == "" {
				t.Errorf("StateOf = %+v, want reason %s with a message", got, c.want)
			}
		})
	}
}

func TestCompileKeepsRulesInForceAndTheirEarliestEnd(t *testing.T) {
	now := time.Now()
	gone := exception("gone", []string{"X"}, now.Add(time.Hour))
	gone.DeletionTimestamp = &metav1.Time{Time: now}
	s, next := Compile([]scanv1.VulnerabilityException{
		exception("zeta", []string{"cve-2024-1"}, now.Add(2*time.Hour)),
		exception("alpha", []string{"HSS-1"}, now.Add(3*time.Hour)),
		exception("old", []string{"HSS-1"}, now.Add(-time.Hour)),
		gone,
	}, now, time.Hour*24)
	if len(s) != 2 || s[0].Name != "alpha" || s[1].Name != "zeta" {
		t.Fatalf("rules %v, want alpha and zeta in name order", s)
	}
	if !next.Equal(now.Add(2*time.Hour).Truncate(time.Second)) && !next.Equal(now.Add(2*time.Hour)) {
		t.Errorf("next change at %v, want zeta's expiry", next)
	}
	if r := s.Accepting("other", []string{"CVE-2024-1"}); r == nil || r.Name != "zeta" {
		t.Errorf("a CVE ID, in any case, names the rule: %v", r)
	}
	if r := s.Accepting("hss-1", nil); r == nil || r.Name != "alpha" {
		t.Errorf("the vulnerability ID names the rule: %v", r)
	}
	if s.Accepting("HSS-2", []string{"CVE-2024-2"}) != nil {
		t.Error("an unnamed vulnerability is accepted")
	}
}

func TestForAndKey(t *testing.T) {
	now := time.Now()
	s, _ := Compile([]scanv1.VulnerabilityException{
		exception("all", []string{"A"}, now.Add(time.Hour)),
		exception("web", []string{"B"}, now.Add(time.Hour), scanv1.ImagePattern{Organization: "team", Repository: "web-*"}),
		exception("v1", []string{"C"}, now.Add(time.Hour), scanv1.ImagePattern{Tag: "v1.*"}),
	}, now, 24*time.Hour)
	for _, c := range []struct {
		img  Image
		want []string
	}{
		{Image{"team", "web-front", "v2"}, []string{"all", "web"}},
		{Image{"other", "web-front", "v1.3"}, []string{"all", "v1"}},
		{Image{"team", "api", "latest"}, []string{"all"}},
	} {
		var got []string
		for _, r := range s.For(c.img) {
			got = append(got, r.Name)
		}
		if len(got) != len(c.want) || got[0] != c.want[0] || got[len(got)-1] != c.want[len(c.want)-1] {
			t.Errorf("For(%v) = %v, want %v", c.img, got, c.want)
		}
	}
	a, b := s.For(Image{"team", "web-front", "v2"}).Key(), s.For(Image{"team", "api", "v2"}).Key()
	if a == b || a == "" {
		t.Errorf("keys of different rule sets: %q and %q", a, b)
	}
	if (Set{}).Key() != "" {
		t.Error("no rules, no key")
	}
	changed := exception("all", []string{"A"}, now.Add(2*time.Hour))
	s2, _ := Compile([]scanv1.VulnerabilityException{changed}, now, 24*time.Hour)
	if s2.Key() == s.For(Image{"team", "api", "latest"}).Key() {
		t.Error("a new expiry must change the key, so that lists are marked again")
	}
}

func TestMark(t *testing.T) {
	now := time.Now()
	s, _ := Compile([]scanv1.VulnerabilityException{exception("accept", []string{"A"}, now.Add(time.Hour))}, now, 24*time.Hour)
	list := func() []Finding {
		return []Finding{
			{Key: KeyOf("A", "openssl", ""), ID: "A", Severity: scanv1.SeverityCritical},
			{Key: KeyOf("B", "zlib", ""), ID: "B", CVEs: []string{"CVE-1"}, Severity: scanv1.SeverityHigh},
			{Key: KeyOf("C", "curl", ""), ID: "C", Severity: scanv1.SeverityLow},
		}
	}
	t.Run("the first round is the baseline", func(t *testing.T) {
		fs := list()
		out := Mark(fs, s, nil, Round{N: 1}, false)
		if out.New.Total() != 0 || out.Accepted.Critical != 1 || fs[1].FirstSeenRound != 1 {
			t.Errorf("outcome %+v, findings %+v", out, fs)
		}
		if len(out.Uses) != 1 || out.Uses[0].Name != "accept" || out.Uses[0].Results != 1 || out.Uses[0].Images != 1 {
			t.Errorf("uses %+v", out.Uses)
		}
	})
	t.Run("what the round before lacked is new, unless accepted", func(t *testing.T) {
		fs := list()
		out := Mark(fs, s, map[string]Seen{KeyOf("C", "curl", ""): {Round: 2, At: "2026-12-01T00:00:00Z"}}, Round{N: 4, At: "2026-12-07T00:00:00Z"}, false)
		if out.New.High != 1 || out.New.Low != 0 || out.New.Critical != 0 {
			t.Errorf("new %+v: B is new, C was seen in round 2, A is accepted", out.New)
		}
		if fs[2].FirstSeenRound != 2 || fs[1].FirstSeenRound != 4 || fs[2].FirstSeenAt != "2026-12-01T00:00:00Z" || fs[1].FirstSeenAt != "2026-12-07T00:00:00Z" {
			t.Errorf("first seen: %+v", fs)
		}
	})
	t.Run("an image's first list after the baseline is all new", func(t *testing.T) {
		out := Mark(list(), nil, nil, Round{N: 3}, false)
		if out.New.Total() != 3 || out.Accepted.Total() != 0 {
			t.Errorf("outcome %+v", out)
		}
	})
	t.Run("marking again keeps first-seen rounds", func(t *testing.T) {
		fs := list()
		for i := range fs {
			fs[i].FirstSeenRound = 2
		}
		out := Mark(fs, nil, nil, Round{N: 3}, false)
		if out.New.Total() != 0 || fs[0].AcceptedBy != nil {
			t.Errorf("outcome %+v, %+v", out, fs)
		}
	})
}

func TestOpen(t *testing.T) {
	all := &scanv1.Severities{Critical: 2, High: 5, Medium: 1, Basis: scanv1.BasisCatalogue}
	got := Open(all, scanv1.Severities{Critical: 1, High: 1, Low: 3})
	if *got != (scanv1.Severities{Critical: 1, High: 4, Medium: 1, Basis: scanv1.BasisCatalogue}) {
		t.Errorf("open %+v", got)
	}
	byNecessity := &scanv1.Severities{High: 5, Basis: scanv1.BasisRepairNecessity}
	if got := Open(byNecessity, scanv1.Severities{Critical: 2, High: 1}); got.High != 2 || got.Critical != 0 {
		t.Errorf("accepted Critical entries come off High where High holds them: %+v", got)
	}
	if Open(nil, scanv1.Severities{}) != nil {
		t.Error("no counts, no open counts")
	}
}

func TestMarkDecidesWhatHSSIgnores(t *testing.T) {
	now := time.Now()
	writing := exception("writes", []string{"A", "B"}, now.Add(time.Hour))
	writing.Spec.WriteBack = true
	s, _ := Compile([]scanv1.VulnerabilityException{writing, exception("quiet", []string{"C"}, now.Add(time.Hour))}, now, 24*time.Hour)
	fs := []Finding{
		{Key: "a", ID: "A"},                     // to ignore
		{Key: "b", ID: "B", IgnoredInHSS: true}, // ignored already: nothing to do
		{Key: "c", ID: "C"},                     // accepted by a rule that does not write back
		{Key: "d", ID: "D", IgnoredInHSS: true}, // no longer accepted: to unignore
	}
	out := Mark(fs, s, nil, Round{N: 2}, true)
	if len(out.Ignore) != 1 || len(out.Ignore["writes"]) != 1 || out.Ignore["writes"][0] != 0 {
		t.Errorf("ignore %v, want the first finding by writes", out.Ignore)
	}
	if len(out.Unignore) != 1 || out.Unignore[0] != 3 {
		t.Errorf("unignore %v, want the last finding", out.Unignore)
	}
	for i := range fs {
		fs[i].IgnoredInHSS = i == 3
	}
	if out := Mark(fs, s, nil, Round{N: 2}, false); len(out.Ignore) != 0 || len(out.Unignore) != 1 {
		t.Errorf("without write-back (the platform's credentials) nothing is ignored, and what was is unignored: %+v", out)
	}
	seen := map[string]Seen{"a": {Round: 1, Ignored: true}}
	fs = []Finding{{Key: "a", ID: "A"}}
	if out := Mark(fs, s, seen, Round{N: 2}, true); len(out.Ignore) != 0 || !fs[0].IgnoredInHSS {
		t.Errorf("an ignore the earlier list recorded is carried: %+v %+v", out, fs)
	}
}
