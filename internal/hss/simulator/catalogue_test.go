package simulator

import (
	"net/http"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

func (e *env) cataloguePage(t *testing.T, req model.ListGeneralImageVulsRequest) (*model.ListGeneralImageVulsResponse, error) {
	return e.sdk(t).ListGeneralImageVuls(&req)
}

// The catalogue lists each vulnerability once, across its two kinds, at
// the documented paging, and its severity agrees with its CVSS score.
func TestTheCatalogueListsEachVulnerabilityOnceWithSeverityAndCVSS(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	seen := map[string]bool{}
	severities := map[string]int{}
	for _, kind := range []string{KindLinux, KindApp} {
		for offset := int32(0); ; offset += 200 {
			limit := int32(200)
			resp, err := e.cataloguePage(t, model.ListGeneralImageVulsRequest{
				Type: kind, HandleStatus: "unhandled", ImageType: "registry", Offset: &offset, Limit: &limit})
			g.Expect(err).NotTo(HaveOccurred())
			for _, v := range *resp.DataList {
				g.Expect(seen).NotTo(HaveKey(*v.VulId), "each vulnerability once")
				seen[*v.VulId] = true
				g.Expect(*v.Type).To(Equal(kind))
				g.Expect(*v.VulName).NotTo(BeEmpty())
				severities[*v.SeverityLevel]++
				if v.MaxCvssScore == nil {
					g.Expect(*v.CveList).To(BeEmpty())
					continue
				}
				top := *v.MaxCvssScore
				for _, c := range *v.CveList {
					g.Expect(*c.Cvss).To(BeNumerically("<=", top))
				}
				want := map[bool]string{top >= 9: SeverityCritical, top >= 7 && top < 9: SeverityHigh,
					top >= 4 && top < 7: SeverityMedium, top < 4: SeverityLow}[true]
				g.Expect(*v.SeverityLevel).To(Equal(want), *v.VulId)
			}
			if len(*resp.DataList) < 200 {
				break
			}
		}
	}
	g.Expect(seen).To(HaveLen(catalogueSize))
	g.Expect(severities).To(HaveKey(SeverityCritical))
	g.Expect(severities).To(HaveKey(SeverityLow))

	// vul_id finds one entry, of its own kind only; nothing is handled.
	id := *e.sim.vulns[3].info.VulId
	kind := e.sim.vulns[3].kind
	for _, tc := range []struct {
		kind, handle string
		want         int
	}{{kind, "unhandled", 1}, {map[string]string{KindLinux: KindApp, KindApp: KindLinux}[kind], "unhandled", 0}, {kind, "handled", 0}} {
		resp, err := e.cataloguePage(t, model.ListGeneralImageVulsRequest{Type: tc.kind, HandleStatus: tc.handle, ImageType: "registry", VulId: &id})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*resp.DataList).To(HaveLen(tc.want), "%s %s", tc.kind, tc.handle)
	}
}

func TestTheCatalogueChecksItsParameters(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, query string
		code        int
	}{
		{"no type", "handle_status=unhandled&image_type=registry", http.StatusBadRequest},
		{"no handle_status", "type=linux_vul&image_type=registry", http.StatusBadRequest},
		{"an image_type of the image lists", "type=linux_vul&handle_status=unhandled&image_type=private_image", http.StatusBadRequest},
		{"a limit above 200", "type=linux_vul&handle_status=unhandled&image_type=registry&limit=500", http.StatusBadRequest},
		{"an offset past 2,000,000", "type=linux_vul&handle_status=unhandled&image_type=registry&offset=2000001", http.StatusBadRequest},
		{"a well-formed query, without a region header", "type=app_vul&handle_status=unhandled&image_type=registry&limit=10", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := strings.Replace(path("x"), "/image/x", "/images/vulnerabilities?"+tc.query, 1)
			resp, body := e.raw(t, http.MethodGet, p, "", map[string]string{"X-Project-Id": testProject, "region": ""})
			NewWithT(t).Expect(resp.StatusCode).To(Equal(tc.code), body)
		})
	}
}
