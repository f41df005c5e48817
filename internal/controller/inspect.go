package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

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
// vulnerabilities of members whose scan succeeded in this round: their
// counts by severity (Summary), and each entry with its CVEs (Details). A
// member without vulnerabilities needs no call (resultOf). A failed read is
// counted on the report, like a statistics failure, at most
// MaxStatisticsAttempts times; a failed CVE lookup leaves its entries
// without CVEs, and the round does not wait for it.
func (r *ImageScanReconciler) inspect(ctx context.Context, p *pass) error {
	mode := detailOf(p.obj.Spec)
	if phaseOf(p.round) != phaseScanning || mode == scanv1.VulnerabilitiesNone {
		return nil
	}
	round := p.round.Round
	imageType := string(p.obj.Spec.ImageType)
	found := map[*member][]hss.Vulnerability{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.StatsConcurrency)
	var mu sync.Mutex
	var throttled error
	for _, m := range p.members {
		mu.Lock()
		spent := throttled != nil
		mu.Unlock()
		if spent {
			break
		}
		if !awaitingDetail(m.status, round) {
			continue
		}
		img := hss.Image{ImageType: imageType, ImageID: m.status.ImageID, Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID}
		g.Go(func() error {
			vulns, err := p.client.Vulnerabilities(gctx, img)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				found[m] = vulns
			case hss.ClassOf(err) == hss.ClassAuth:
				return err
			case hss.ClassOf(err) == hss.ClassThrottled:
				throttled = err
			case gctx.Err() != nil:
			default:
				recordDetailFailure(&m.status, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fromHSS(err)
	}
	var cves map[string][]scanv1.CVE
	if mode == scanv1.VulnerabilitiesDetails {
		cves = r.lookUpCVEs(ctx, p.client, found)
	}
	for m, vulns := range found {
		setDetail(&m.status, mode, vulns, cves)
	}
	if throttled != nil {
		return fromHSS(throttled)
	}
	return nil
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

// setDetail writes what the vulnerability list said into the report: the
// counts by severity, and with Details the entries, highest severity first,
// as many as MaxReportVulnerabilitiesBytes holds.
func setDetail(s *scanv1.ImageReportStatus, mode scanv1.VulnerabilityDetail, vulns []hss.Vulnerability, cves map[string][]scanv1.CVE) {
	var sev scanv1.Severities
	entries := make([]scanv1.Vulnerability, 0, len(vulns))
	for _, v := range vulns {
		e := scanv1.Vulnerability{
			ID: v.ID, Severity: severityOf(v.RepairNecessity), Package: v.App, Version: v.Version, Path: v.Path,
			Layer: v.Position, Description: v.Description, Solution: v.Solution, URL: v.URL, CVEs: cves[v.ID],
		}
		switch e.Severity {
		case scanv1.SeverityHigh:
			sev.High++
		case scanv1.SeverityMedium:
			sev.Medium++
		default:
			sev.Low++
		}
		entries = append(entries, e)
	}
	if s.Findings == nil {
		s.Findings = &scanv1.Findings{}
	}
	s.Findings.Severities = &sev
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
	for i, e := range entries {
		b, _ := json.Marshal(e) // cannot fail: strings and times
		if used+len(b)+1 > scanv1.MaxReportVulnerabilitiesBytes {
			s.VulnerabilitiesOmitted = int32(len(entries) - i)
			break
		}
		used += len(b) + 1
		s.Vulnerabilities = append(s.Vulnerabilities, e)
	}
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

// lookUpCVEs returns the CVEs of every vulnerability found, one call per
// vul_id the cache does not hold: a vulnerability has the same CVEs in
// every image, so a round of many images costs a call per distinct one.
func (r *ImageScanReconciler) lookUpCVEs(ctx context.Context, c hss.Client, found map[*member][]hss.Vulnerability) map[string][]scanv1.CVE {
	out := map[string][]scanv1.CVE{}
	var missing []string
	for _, vulns := range found {
		for _, v := range vulns {
			if _, done := out[v.ID]; done {
				continue
			}
			if cves, ok := r.cves.get(c, v.ID, r.Clock.Now()); ok {
				out[v.ID] = cves
				continue
			}
			out[v.ID] = nil
			missing = append(missing, v.ID)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.StatsConcurrency)
	var mu sync.Mutex
	for _, id := range missing {
		g.Go(func() error {
			list, err := c.CVEs(gctx, id)
			if err != nil {
				return nil // the entries go without CVEs this round
			}
			cves := make([]scanv1.CVE, 0, len(list))
			for _, e := range list {
				cves = append(cves, scanv1.CVE{ID: e.ID, CVSS: strconv.FormatFloat(float64(e.CVSS), 'f', -1, 32), Published: metaTime(e.Published)})
			}
			r.cves.put(c, id, cves, r.Clock.Now())
			mu.Lock()
			out[id] = cves
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// cveCache keeps the CVEs of vulnerabilities per HSS client (one
// identity's answers never serve another's), bounded in number and age.
type cveCache struct {
	mu sync.Mutex
	m  map[cveKey]cachedCVEs
}

type cveKey struct {
	client hss.Client
	vulID  string
}

type cachedCVEs struct {
	cves []scanv1.CVE
	at   time.Time
}

// CVEs change rarely (a new CVE is assigned, a score revised): a day's
// answers are good, and 50,000 vulnerabilities cover a large registry.
const (
	cveTTL       = 24 * time.Hour
	maxCachedCVE = 50000
)

func (c *cveCache) get(client hss.Client, id string, now time.Time) ([]scanv1.CVE, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[cveKey{client, id}]
	if !ok || now.Sub(e.at) > cveTTL {
		return nil, false
	}
	return e.cves, true
}

func (c *cveCache) put(client hss.Client, id string, cves []scanv1.CVE, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedCVE {
		c.m = map[cveKey]cachedCVEs{}
	}
	c.m[cveKey{client, id}] = cachedCVEs{cves: cves, at: now}
}
