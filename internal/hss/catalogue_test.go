package hss

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// Every vulnerability of an image is found in the catalogue, with the
// severity, score and CVEs the catalogue holds: at one call when the kind
// guessed from its path is right, at most four when not.
func TestEveryVulnerabilityOfAnImageIsInTheCatalogue(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	img := scannedWith(t, e, 150)
	c := e.client(t)
	var list []Vulnerability
	_, err := c.Vulnerabilities(context.Background(), img, func(v Vulnerability, _ bool) bool { list = append(list, v); return true })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(HaveLen(150))

	severities := map[string]int{}
	for _, v := range list {
		before := e.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK)
		entry, ok, err := c.Catalogue(context.Background(), v.ID, v.Path != "")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeTrue(), v.ID)
		g.Expect(e.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK) - before).To(BeNumerically("<=", 4))

		want, _ := e.sim.Catalogued(v.ID)
		g.Expect(entry.Name).To(Equal(*want.VulName))
		g.Expect(entry.Severity).To(Equal(*want.SeverityLevel))
		g.Expect(entry.CVEs).To(HaveLen(len(*want.CveList)))
		if want.MaxCvssScore != nil {
			g.Expect(entry.CVSS).To(Equal(*want.MaxCvssScore))
		}
		severities[entry.Severity]++
	}
	g.Expect(severities).To(HaveKey(SeverityCritical), "the catalogue rates above High")
}

// A vulnerability the catalogue does not hold is not an error.
func TestAVulnerabilityOutsideTheCatalogueIsNotFound(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	_, ok, err := e.client(t).Catalogue(context.Background(), "HSS-VUL-NONE", false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeFalse())
	g.Expect(e.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK)).To(Equal(4), "both kinds, both handling states")
}
