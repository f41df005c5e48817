package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
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
// with their CVEs, as many as a report holds (Details). The client counts a
// list of any length without holding it. A member without vulnerabilities
// needs no call (resultOf). A failed read is counted on the report, like a
// statistics failure, at most MaxStatisticsAttempts times; a failed CVE
// lookup leaves its entries without CVEs.
func (r *ImageScanReconciler) inspect(ctx context.Context, p *pass, ms []*member) error {
	mode := detailOf(p.obj.Spec)
	if mode == scanv1.VulnerabilitiesNone {
		return nil
	}
	imageType := string(p.obj.Spec.ImageType)
	var calls []*member // at most a slice (readMembers)
	for _, m := range ms {
		if awaitingDetail(m.status, p.round.Round) {
			calls = append(calls, m)
		}
	}
	return r.fanOut(ctx, calls, func(ctx context.Context, m *member) (func(), error) {
		img := hss.Image{ImageType: imageType, ImageID: m.status.ImageID, Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID}
		var kept keptVulnerabilities
		var keep func(hss.Vulnerability) bool
		if mode == scanv1.VulnerabilitiesDetails {
			keep = kept.add
		}
		counts, err := p.client.Vulnerabilities(ctx, img, keep)
		if err == nil && mode == scanv1.VulnerabilitiesDetails {
			r.addCVEs(ctx, p.client, kept.entries)
		}
		return func() { setDetail(&m.status, mode, counts, kept.entries) }, err
	}, func(m *member, err error) { recordDetailFailure(&m.status, err) })
}

// awaitingDetail: the member's scan succeeded in this round and its
// vulnerabilities are still to be read.
func awaitingDetail(s scanv1.ImageReportStatus, round int64) bool {
	return s.Round == round && s.ScanStatus == hss.StatusSuccess && s.Detail == "" && s.DetailAttempts < scanv1.MaxStatisticsAttempts
}

// severityOf maps HSS's repair necessity; anything else counts as low.
func severityOf(repair string) scanv1.Severity {
	switch repair {
	case hss.RepairImmediate:
		return scanv1.SeverityHigh
	case hss.RepairDelay:
		return scanv1.SeverityMedium
	}
	return scanv1.SeverityLow
}

var severityRank = map[scanv1.Severity]int{scanv1.SeverityHigh: 0, scanv1.SeverityMedium: 1, scanv1.SeverityLow: 2}

// keptVulnerabilities gathers entries as the client hands them over, most
// urgent first, until MaxReportVulnerabilitiesBytes is full: it owns at
// most a report's worth of entries, however long the image's list.
type keptVulnerabilities struct {
	entries []scanv1.Vulnerability
	used    int
}

func (k *keptVulnerabilities) add(v hss.Vulnerability) bool {
	e := scanv1.Vulnerability{
		ID: v.ID, Severity: severityOf(v.RepairNecessity), Package: v.App, Version: v.Version, Path: v.Path,
		Layer: v.Position, Description: v.Description, Solution: v.Solution, URL: v.URL,
	}
	size := entryBytes(e)
	if k.used+size > scanv1.MaxReportVulnerabilitiesBytes {
		return false
	}
	k.used += size
	k.entries = append(k.entries, e)
	return true
}

// entryBytes is what an entry adds to the report's JSON list.
func entryBytes(e scanv1.Vulnerability) int {
	b, _ := json.Marshal(e) // cannot fail: strings and times
	return len(b) + 1
}

// setDetail writes what the vulnerability list said into the report: the
// counts by severity, and with Details the entries kept, highest severity
// first, as many as MaxReportVulnerabilitiesBytes holds with their CVEs.
func setDetail(s *scanv1.ImageReportStatus, mode scanv1.VulnerabilityDetail, counts hss.VulnerabilityCounts, entries []scanv1.Vulnerability) {
	if s.Findings == nil {
		s.Findings = &scanv1.Findings{}
	}
	s.Findings.Severities = &scanv1.Severities{High: counts.Immediate, Medium: counts.Delay, Low: counts.NotNeeded}
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
	s.VulnerabilitiesOmitted = int32(min(counts.Total()-int64(len(s.Vulnerabilities)), 1<<31-1))
}

// recordDetailFailure counts a failed read of an image's vulnerabilities.
func recordDetailFailure(s *scanv1.ImageReportStatus, err error) {
	s.DetailAttempts++
	var he *hss.Error
	if errors.As(err, &he) {
		err = he
	}
	if s.DetailAttempts >= scanv1.MaxStatisticsAttempts {
		s.Message = fmt.Sprintf("vulnerabilities unavailable after %d attempts: %v", s.DetailAttempts, err)
		return
	}
	s.Message = fmt.Sprintf("reading the vulnerabilities failed (attempt %d of %d, retrying): %v", s.DetailAttempts, scanv1.MaxStatisticsAttempts, err)
}
