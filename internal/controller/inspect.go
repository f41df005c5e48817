package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// detailOf is the spec's choice of vulnerability detail; Summary when unset.
func detailOf(spec scanv1.ImageScanSpec) scanv1.VulnerabilityDetail {
	if spec.Vulnerabilities == "" {
		return scanv1.VulnerabilitiesSummary
	}
	return spec.Vulnerabilities
}

// inspect reads, after the statistics and through the same limiter, the
// vulnerabilities of the members of ms whose scan succeeded in this round
// (fanOut): their counts by severity (Summary), and the most urgent entries
// as many as a report holds (Details). Each entry of a list HSS hands over
// whole is rated by the catalogue (ratedList); a longer list is counted
// by repair necessity. A member without vulnerabilities needs no call
// (resultOf). A failed read, a catalogue lookup's included, is counted on
// the report like a statistics failure, at most MaxReadAttempts
// times, and read again on a later pass.
func (r *ImageScanReconciler) inspect(ctx context.Context, p *pass, ms []*member) error {
	mode := detailOf(p.obj.Spec)
	if mode == scanv1.VulnerabilitiesNone {
		return nil
	}
	imageType := string(p.obj.Spec.ImageType)
	var calls []*member // at most a slice (readMembers)
	for _, m := range ms {
		if rounds.AwaitingDetail(m.status, p.round.Round) {
			calls = append(calls, m)
		}
	}
	now := r.Clock.Now()
	return r.fanOut(ctx, calls, func(ctx context.Context, m *member) (func(), error) {
		img := hss.Image{ImageType: imageType, ImageID: m.status.ImageID, Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID}
		rated := ratedList{lookUp: func(v hss.Vulnerability) (catalogued, error) {
			return r.catalogue.lookUp(ctx, p.client, v, now)
		}}
		if mode == scanv1.VulnerabilitiesDetails {
			rated.kept, rated.min = &keptVulnerabilities{}, minSeverityOf(p.obj.Spec)
		}
		counts, err := p.client.Vulnerabilities(ctx, img, rated.add)
		if err == nil {
			err = rated.err
		}
		return func() { setDetail(&m.status, mode, rated.severities(counts), rated.entries(), rated.min) }, err
	}, func(m *member, err error) { recordDetailFailure(&m.status, err) })
}

// minSeverityOf is the lowest severity Details lists; High when unset.
func minSeverityOf(spec scanv1.ImageScanSpec) scanv1.Severity {
	if spec.MinSeverity == "" {
		return scanv1.SeverityHigh
	}
	return spec.MinSeverity
}

// severityOf is the catalogue's severity of an entry, else its repair
// necessity's; anything else counts as low.
func severityOf(e catalogued, repair string) scanv1.Severity {
	if e.severity != "" {
		return e.severity
	}
	switch repair {
	case hss.RepairImmediate:
		return scanv1.SeverityHigh
	case hss.RepairDelay:
		return scanv1.SeverityMedium
	}
	return scanv1.SeverityLow
}

var severityRank = map[scanv1.Severity]int{scanv1.SeverityCritical: 0, scanv1.SeverityHigh: 1, scanv1.SeverityMedium: 2, scanv1.SeverityLow: 3}

// ratedList counts an image's entries by their catalogue severity as the
// client hands them over, and with Details keeps the most urgent of at
// least min. It rates only a list handed over whole: the counts of a
// longer one follow repair necessity, and its entries are kept while the
// report has room and they are of at least min.
type ratedList struct {
	lookUp func(hss.Vulnerability) (catalogued, error)
	kept   *keptVulnerabilities // nil unless Details
	min    scanv1.Severity
	counts scanv1.Severities
	rated  int64
	err    error
}

func (l *ratedList) add(v hss.Vulnerability, whole bool) bool {
	if !whole && l.kept == nil {
		return false // Summary of a long list: the counts need no entry
	}
	e, err := l.lookUp(v)
	if err != nil {
		l.err = err
		return false
	}
	sev := severityOf(e, v.RepairNecessity)
	if whole {
		*severityCount(&l.counts, sev)++
		l.rated++
	}
	if l.kept == nil {
		return true
	}
	if severityRank[sev] > severityRank[l.min] {
		return whole // a long list comes most urgent first: no listed one follows
	}
	return l.kept.add(v, e, sev) || whole
}

// severities are the image's counts: by the catalogue when every entry
// was rated, else by repair necessity.
func (l *ratedList) severities(c hss.VulnerabilityCounts) scanv1.Severities {
	if l.rated == c.Total() {
		s := l.counts
		s.Basis = scanv1.BasisCatalogue
		return s
	}
	return scanv1.Severities{High: c.Immediate, Medium: c.Delay, Low: c.NotNeeded, Basis: scanv1.BasisRepairNecessity}
}

func (l *ratedList) entries() []scanv1.Vulnerability {
	if l.kept == nil {
		return nil
	}
	return l.kept.entries
}

func severityCount(s *scanv1.Severities, sev scanv1.Severity) *int64 {
	switch sev {
	case scanv1.SeverityCritical:
		return &s.Critical
	case scanv1.SeverityHigh:
		return &s.High
	case scanv1.SeverityMedium:
		return &s.Medium
	}
	return &s.Low
}

// keptVulnerabilities keeps the most urgent entries that fit in
// MaxReportVulnerabilitiesBytes as the client hands them over: when full,
// an entry more urgent than the least urgent kept takes its place. It owns
// at most a report's worth of entries, however long the image's list.
type keptVulnerabilities struct {
	entries []scanv1.Vulnerability
	used    int
}

// add keeps v if it fits or outranks what is kept; false when it did not.
func (k *keptVulnerabilities) add(v hss.Vulnerability, c catalogued, sev scanv1.Severity) bool {
	e := scanv1.Vulnerability{
		ID: v.ID, Severity: sev, Title: c.title, CVSS: score(c.cvss), Package: v.App, Version: v.Version, Path: v.Path,
		Layer: v.Position, Description: v.Description, Solution: v.Solution, URL: v.URL, CVEs: c.cves,
	}
	size := entryBytes(e)
	for k.used+size > scanv1.MaxReportVulnerabilitiesBytes {
		worst := k.leastUrgent()
		if worst < 0 || severityRank[k.entries[worst].Severity] <= severityRank[sev] {
			return false
		}
		k.used -= entryBytes(k.entries[worst])
		k.entries = slices.Delete(k.entries, worst, worst+1)
	}
	k.used += size
	k.entries = append(k.entries, e)
	return true
}

// leastUrgent is the index of the last kept entry of the lowest severity;
// -1 when none is kept.
func (k *keptVulnerabilities) leastUrgent() int {
	worst := -1
	for i, e := range k.entries {
		if worst < 0 || severityRank[e.Severity] >= severityRank[k.entries[worst].Severity] {
			worst = i
		}
	}
	return worst
}

// entryBytes is what an entry adds to the report's JSON list.
func entryBytes(e scanv1.Vulnerability) int {
	b, _ := json.Marshal(e) // cannot fail: strings
	return len(b) + 1
}

// setDetail writes what the vulnerability list said into the report: the
// counts by severity, and with Details the entries kept, highest severity
// first, as many as MaxReportVulnerabilitiesBytes holds with their CVEs,
// and how many of at least severity lowest it left out.
func setDetail(s *scanv1.ImageReportStatus, mode scanv1.VulnerabilityDetail, counts scanv1.Severities, entries []scanv1.Vulnerability, lowest scanv1.Severity) {
	if s.Findings == nil {
		s.Findings = &scanv1.Findings{}
	}
	s.Findings.Severities = &counts
	s.Detail, s.DetailAttempts = mode, 0
	if s.StatisticsAttempts == 0 {
		s.Message = "" // a failed read before this one said so here
	}
	s.Vulnerabilities, s.VulnerabilitiesOmitted = nil, 0
	if mode != scanv1.VulnerabilitiesDetails {
		return
	}
	slices.SortStableFunc(entries, func(a, b scanv1.Vulnerability) int {
		if d := severityRank[a.Severity] - severityRank[b.Severity]; d != 0 {
			return d
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	used := 2
	for _, e := range entries {
		size := entryBytes(e)
		if used+size > scanv1.MaxReportVulnerabilitiesBytes {
			break
		}
		used += size
		s.Vulnerabilities = append(s.Vulnerabilities, e)
	}
	s.VulnerabilitiesOmitted = int32(min(max(0, listable(counts, lowest)-int64(len(s.Vulnerabilities))), 1<<31-1))
}

// listable counts the vulnerabilities of at least severity lowest.
func listable(c scanv1.Severities, lowest scanv1.Severity) int64 {
	n := c.Critical
	for _, sev := range []scanv1.Severity{scanv1.SeverityHigh, scanv1.SeverityMedium, scanv1.SeverityLow} {
		if severityRank[sev] > severityRank[lowest] {
			break
		}
		n += *severityCount(&c, sev)
	}
	return n
}

// recordDetailFailure counts a failed read of an image's vulnerabilities.
func recordDetailFailure(s *scanv1.ImageReportStatus, err error) {
	s.DetailAttempts++
	var he *hss.Error
	if errors.As(err, &he) {
		err = he
	}
	if s.DetailAttempts >= scanv1.MaxReadAttempts {
		s.Message = fmt.Sprintf("vulnerabilities unavailable after %d attempts: %v", s.DetailAttempts, err)
		return
	}
	s.Message = fmt.Sprintf("reading the vulnerabilities failed (attempt %d of %d, retrying): %v", s.DetailAttempts, scanv1.MaxReadAttempts, err)
}
