package controller_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// expectedEntry is what a report should hold of one entry of an image's
// list: the entry's own fields, and the catalogue's severity, title, score
// and CVEs.
func expectedEntry(sim *simulator.Server, v model.ImageVulInfo) scanv1.Vulnerability {
	e := scanv1.Vulnerability{
		ID: *v.VulId, Package: *v.AppName, Version: *v.Version,
		Layer: *v.Position, Description: *v.Description, Solution: *v.Solution, URL: *v.Url,
		FirstSeenRound: 1, // the tests' images keep their lists from the first round
	}
	if v.AppPath != nil {
		e.Path = *v.AppPath
	}
	c, _ := sim.Catalogued(e.ID)
	e.Severity, e.Title = scanv1.Severity(*c.SeverityLevel), *c.VulName
	if c.MaxCvssScore != nil {
		e.CVSS = strconv.FormatFloat(float64(*c.MaxCvssScore), 'f', -1, 32)
	}
	for _, cve := range *c.CveList {
		e.CVEs = append(e.CVEs, scanv1.CVE{ID: *cve.CveId, CVSS: strconv.FormatFloat(float64(*cve.Cvss), 'f', -1, 32)})
	}
	return e
}

var rankOf = map[scanv1.Severity]int{scanv1.SeverityCritical: 0, scanv1.SeverityHigh: 1, scanv1.SeverityMedium: 2, scanv1.SeverityLow: 3}

// Each report holds what HSS listed: the counts by severity with Summary,
// and with Details every vulnerability, highest severity first, with what
// the catalogue says of it, in the image's Report.
func TestEachReportHoldsTheImagesVulnerabilities(t *testing.T) {
	for _, mode := range []scanv1.VulnerabilityDetail{scanv1.VulnerabilitiesSummary, scanv1.VulnerabilitiesDetails} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, simulator.Config{})
			h.createSecret(validSecret())
			counts := []int32{250, 12, 0}
			refs := h.images("team", "app", len(counts), func(i int, img *simulator.Image) { img.Vulnerabilities = counts[i] })
			h.scan("vulns", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: mode})
			obj := h.readyInRound("vulns", 1)

			var total scanv1.Severities
			for _, rep := range h.reports(h.g, "vulns") {
				img, _ := h.sim.Lookup(simulator.TypePrivate, "team", "app", rep.Spec.Image.Tag)
				listed := h.sim.Vulnerabilities(img)
				var want scanv1.Severities
				for _, v := range listed {
					want.Count(expectedEntry(h.sim, v).Severity)
				}
				if len(listed) > 0 {
					want.Basis = scanv1.BasisCatalogue
				}
				h.g.Expect(rep.Status.Findings.Severities).To(HaveValue(Equal(want)), rep.Spec.Reference)
				h.g.Expect(rep.Status.Detail).To(Equal(mode))
				total.Add(want)
				if mode == scanv1.VulnerabilitiesSummary {
					h.g.Expect(rep.Status.Vulnerabilities).To(BeEmpty())
					continue
				}
				results, _ := expectedResults(h.sim, img, scanv1.SeverityHigh)
				if len(results) == 0 {
					h.g.Expect(rep.Status.OpenReport).To(BeNil())
					continue
				}
				h.g.Expect(h.resultsOf(h.g, rep)).To(Equal(results), rep.Spec.Reference)
				h.g.Expect(rep.Status.OpenReport.Omitted).To(BeZero())
			}
			h.g.Expect(obj.Status.Summary.Severities).To(HaveValue(Equal(total)))
			// The list of 12 fits on a page: one call. The list of 250 does
			// not: after its first page, each necessity is paged, most
			// urgent first, and every entry rated by the catalogue.
			h.g.Expect(h.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK)).To(Equal(1+3+1), "none for an image without")
			h.g.Expect(total.Critical).To(BeNumerically(">", 0), "the catalogue rates some Critical")
		})
	}
}

// A vulnerability is the same in every image: a round of many images
// looks it up in the catalogue once per distinct vul_id, and a rescan not
// at all.
func TestTheCatalogueIsReadOncePerDistinctVulnerability(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	h.images("team", "app", 60, func(i int, img *simulator.Image) { img.Vulnerabilities = 40 })
	h.scan("many", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}, Vulnerabilities: scanv1.VulnerabilitiesDetails,
		MinSeverity: scanv1.SeverityLow})
	h.readyInRound("many", 1)

	distinct := map[string]int{}
	found, widest := 0, 0
	for _, rep := range h.reports(h.g, "many") {
		for _, r := range h.resultsOf(h.g, rep) {
			distinct[r.Policy]++
			widest = max(widest, distinct[r.Policy])
			found++
		}
	}
	h.g.Expect(found).To(Equal(60 * 40))
	h.g.Expect(len(distinct)).To(BeNumerically("<", found), "the images share vulnerabilities")
	h.g.Expect(widest).To(BeNumerically(">=", 10), "one is found in many images")
	h.g.Expect(h.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK)).To(Equal(len(distinct)))

	h.requestRescan("many")
	h.readyInRound("many", 2)
	h.g.Expect(h.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK)).To(Equal(len(distinct)), "the rescan's entries come from the cache")
	h.g.Expect(h.sim.Count(simulator.OpVulnerabilities, simulator.OutcomeOK)).To(Equal(2*60), "a new scan's list is read again")
}

// An image with hundreds of vulnerabilities keeps, in its Report, as many
// as the byte bound holds, highest severity first, and says how many it
// left out; the counts still cover them all.
func TestAReportAtItsByteBoundSaysHowManyItLeftOut(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	rep := h.oneImageWithDetails("heavy", 900)
	results := h.resultsOf(h.g, rep)
	kept, omitted := len(results), int(rep.Status.OpenReport.Omitted)
	h.g.Expect(omitted).To(BeNumerically(">", 0))
	h.g.Expect(kept + omitted).To(Equal(900))
	h.g.Expect(int(rep.Status.OpenReport.Results)).To(Equal(kept))
	data, err := json.Marshal(results)
	h.g.Expect(err).NotTo(HaveOccurred())
	h.g.Expect(len(data)).To(BeNumerically("<=", scanv1.MaxReportVulnerabilitiesBytes))
	sev := rep.Status.Findings.Severities
	h.g.Expect(sev.Critical+sev.High+sev.Medium+sev.Low).To(Equal(int64(900)), "the counts cover what was left out")
	h.g.Expect(sev.Critical).To(BeNumerically(">", 0))
	rank := map[openreports.ResultSeverity]int{"critical": 0, "high": 1, "medium": 2, "low": 3}
	h.g.Expect(results[0].Severity).To(BeEquivalentTo("critical"), "highest first")
	keptBy := map[openreports.ResultSeverity]int64{}
	for i, r := range results {
		keptBy[r.Severity]++
		if i > 0 {
			h.g.Expect(rank[r.Severity]).To(BeNumerically(">=", rank[results[i-1].Severity]))
		}
	}
	h.g.Expect(keptBy["critical"]).To(Equal(sev.Critical), "every Critical one fits; the ones left out are lower")
}

// Where no Reports are served, a member lets go of its report's
// vulnerability list as soon as it is written (the lists are most of a
// report's size); a later round that keeps none still clears the list on
// the server.
func TestALaterRoundClearsAListTheManagerLetGoOf(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	uninstallOpenReports(t) // the lists stay in the ImageReports
	refs := h.images("team", "app", 2, func(_ int, img *simulator.Image) { img.Vulnerabilities = 120 })
	h.scan("lists", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails, MinSeverity: scanv1.SeverityLow})
	h.readyInRound("lists", 1)
	for _, rep := range h.reports(h.g, "lists") {
		h.g.Expect(rep.Status.Vulnerabilities).To(HaveLen(120))
	}

	h.update("lists", func(o *scanv1.ImageScan) { o.Spec.Vulnerabilities = scanv1.VulnerabilitiesNone })
	h.readyInRound("lists", 2)
	for ref, rep := range h.reports(h.g, "lists") {
		h.g.Expect(rep.Status.Vulnerabilities).To(BeEmpty(), ref)
		h.g.Expect(rep.Status.Detail).To(Equal(scanv1.VulnerabilitiesNone))
	}
}

// A catalogue lookup that fails leaves no result unrated: the image's list
// is read again on a later pass, and every result is written with the
// catalogue's severity, title, score and CVEs.
func TestAFailedCatalogueLookupIsReadAgainNotDropped(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, func(_ int, img *simulator.Image) { img.Vulnerabilities = 30 })
	h.sim.FailNext(simulator.OpCatalogue, 6, http.StatusInternalServerError)
	h.scan("flaky", scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails})
	h.readyInRound("flaky", 1)

	h.g.Expect(h.sim.Count(simulator.OpCatalogue, simulator.OutcomeServerError)).To(Equal(6), "the lookups did fail")
	for ref, rep := range h.reports(h.g, "flaky") {
		img, _ := h.sim.Lookup(simulator.TypePrivate, "team", "app", rep.Spec.Image.Tag)
		want, _ := expectedResults(h.sim, img, scanv1.SeverityHigh)
		h.g.Expect(h.resultsOf(h.g, rep)).To(Equal(want), ref)
		h.g.Expect(rep.Status.Message).To(BeEmpty())
	}
}
