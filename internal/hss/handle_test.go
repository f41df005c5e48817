package hss

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// Ignoring a vulnerability of an image through the SDK marks it handled in
// the simulator: the image's list keeps it (the client asks for both
// states), the catalogue lists it as handled, which the lookup still
// finds, and not_ignore undoes it. A remark past HSS's bound is cut, not
// refused.
func TestAnIgnoredVulnerabilityIsHandledUntilUnignored(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	img := scannedWith(t, e, 20)
	c := e.client(t)
	var list []Vulnerability
	_, err := c.Vulnerabilities(context.Background(), img, func(v Vulnerability, _ bool) bool { list = append(list, v); return true })
	g.Expect(err).NotTo(HaveOccurred())
	v := list[0]
	kind := KindLinux
	if v.Path != "" {
		kind = KindApp
	}

	remark := strings.Repeat("ä", 600)
	g.Expect(c.HandleVulnerabilities(context.Background(), Handling{
		Operation: HandleIgnore, Kind: kind, ImageID: img.ImageID, VulIDs: []string{v.ID}, Remark: remark,
	})).To(Succeed())
	g.Expect(e.sim.Ignored(img.ImageID)).To(Equal(map[string]string{v.ID: remark[:2*MaxRemark]}))
	rec := e.sim.Handlings()
	g.Expect(rec).To(HaveLen(1))
	g.Expect(*rec[0].Request.HandleStatus).To(Equal("unhandled"))

	var again []Vulnerability
	_, err = c.Vulnerabilities(context.Background(), img, func(v Vulnerability, _ bool) bool { again = append(again, v); return true })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(HaveLen(20), "an ignored vulnerability stays in the image's list")
	before := e.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK)
	entry, ok, err := c.Catalogue(context.Background(), v.ID, v.Path != "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue(), "found among the handled ones")
	g.Expect(entry.Name).NotTo(BeEmpty())
	g.Expect(e.sim.Count(simulator.OpCatalogue, simulator.OutcomeOK)-before).To(BeNumerically(">=", 2), "unhandled first, then handled")

	g.Expect(c.HandleVulnerabilities(context.Background(), Handling{
		Operation: HandleNotIgnore, Kind: kind, ImageID: img.ImageID, VulIDs: []string{v.ID},
	})).To(Succeed())
	g.Expect(e.sim.Ignored(img.ImageID)).To(BeEmpty())
	g.Expect(*e.sim.Handlings()[1].Request.HandleStatus).To(Equal("handled"))
}

// The simulator refuses what the reference does not allow.
func TestHandlingRefusesBadRequests(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	c := e.client(t)
	for _, h := range []Handling{
		{Operation: "forget", Kind: KindLinux, ImageID: "sha256:x", VulIDs: []string{"V"}},
		{Operation: HandleIgnore, Kind: "kernel_vul", ImageID: "sha256:x", VulIDs: []string{"V"}},
		{Operation: HandleIgnore, Kind: KindLinux, ImageID: "sha256:x"},
	} {
		err := c.HandleVulnerabilities(context.Background(), h)
		g.Expect(err).To(HaveOccurred(), "%+v", h)
		g.Expect(ClassOf(err)).To(Equal(ClassInvalid))
	}
	g.Expect(e.sim.Handlings()).To(BeEmpty())
}
