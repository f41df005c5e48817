package simulator

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

// scanned adds images with n vulnerabilities each and scans them to the end.
func (e *env) scanned(t *testing.T, vulns ...int32) []Image {
	t.Helper()
	var imgs []Image
	for i, n := range vulns {
		im := img("team", "app", string(rune('a'+i)), 1<<20, epoch)
		im.Vulnerabilities = n
		imgs = append(imgs, im)
	}
	e.sim.AddImages(imgs...)
	var refs []ImageRef
	for _, im := range imgs {
		refs = append(refs, im.ref())
	}
	NewWithT(t).Expect(e.scanNamed(t, refs...)).To(Succeed())
	e.clk.Step(queueDelay + scanTime)
	for i := range imgs {
		imgs[i], _ = e.sim.Lookup(TypePrivate, imgs[i].Namespace, imgs[i].Name, imgs[i].Tag)
	}
	return imgs
}

func (e *env) vulnPage(t *testing.T, im Image, offset, limit int32) (*model.ListImageVulnerabilitiesResponse, error) {
	return e.sdk(t).ListImageVulnerabilities(&model.ListImageVulnerabilitiesRequest{
		ImageType: TypePrivate, ImageId: im.ImageID, Namespace: im.Namespace, ImageName: im.Name, TagName: im.Tag,
		Offset: &offset, Limit: &limit,
	})
}

func TestAnImagesVulnerabilitiesArePagedAndMatchItsCount(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	im := e.scanned(t, 450)[0]

	var all []model.ImageVulInfo
	for offset := int32(0); ; offset += 200 {
		resp, err := e.vulnPage(t, im, offset, 200)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*resp.TotalNum).To(Equal(int32(450)), "the list's count is the image list's vul_num")
		all = append(all, *resp.DataList...)
		if len(*resp.DataList) < 200 {
			break
		}
	}
	g.Expect(all).To(HaveLen(450))
	ids := map[string]bool{}
	severities := map[string]int{}
	for _, v := range all {
		g.Expect(ids).NotTo(HaveKey(*v.VulId), "no vulnerability twice in one image")
		ids[*v.VulId] = true
		severities[*v.RepairNecessity]++
		g.Expect(len(*v.Description)).To(BeNumerically("<=", 128))
		g.Expect(len(*v.Solution)).To(BeNumerically("<=", 256))
		g.Expect(*v.Position).To(HavePrefix("sha256:"))
	}
	g.Expect(severities).To(HaveLen(3), "a mix of the three severities: %v", severities)
	g.Expect(all).To(Equal(e.sim.Vulnerabilities(im)), "the same list every time")
}

// A vul_id common to many images has the same CVEs wherever it is found;
// one in twenty vulnerabilities has none.
func TestCVEsBelongToTheVulnerabilityNotTheImage(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	imgs := e.scanned(t, 200, 200, 200, 200)
	seen := map[string]int{}
	for _, im := range imgs {
		for _, v := range e.sim.Vulnerabilities(im) {
			seen[*v.VulId]++
		}
	}
	// The shared vulnerability to look up: the first, in ID order, with
	// CVEs if any has them (map order must not choose).
	shared, without := "", 0
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		cves := len(e.sim.CVEs(id))
		if seen[id] == len(imgs) && (shared == "" || cves > 0 && len(e.sim.CVEs(shared)) == 0) {
			shared = id
		}
		if cves == 0 {
			without++
		}
	}
	g.Expect(shared).NotTo(BeEmpty(), "some vulnerability is found in all four images")
	g.Expect(without).To(BeNumerically(">", 0), "some vulnerability has no CVE")
	limit := int32(10)
	resp, err := e.sdk(t).ListVulnerabilityCve(&model.ListVulnerabilityCveRequest{Region: ptr(testRegion), VulId: shared, Limit: &limit})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*resp.DataList).To(HaveLen(len(e.sim.CVEs(shared))))
	if len(*resp.DataList) > 0 {
		g.Expect(*resp.DataList).To(Equal(e.sim.CVEs(shared)))
	}
	for _, c := range *resp.DataList {
		g.Expect(*c.CveId).To(MatchRegexp(`^CVE-\d{4}-\d+$`))
		g.Expect(*c.CvssScore).To(BeNumerically(">", 0))
		g.Expect(*c.CvssScore).To(BeNumerically("<=", 10))
	}
}

func TestTheVulnerabilityCallsCheckTheirParameters(t *testing.T) {
	e := newEnv(t, nil)
	im := e.scanned(t, 20)[0]
	cases := []struct {
		name string
		path string
		code int
	}{
		{"no image_type", im.ImageID + "/vulnerabilities?namespace=team&image_name=app&tag_name=a", http.StatusBadRequest},
		{"no tag_name", im.ImageID + "/vulnerabilities?image_type=private_image&namespace=team&image_name=app", http.StatusBadRequest},
		{"a limit above 200", im.ImageID + "/vulnerabilities?image_type=private_image&namespace=team&image_name=app&tag_name=a&limit=500", http.StatusBadRequest},
		{"an unknown severity", im.ImageID + "/vulnerabilities?image_type=private_image&namespace=team&image_name=app&tag_name=a&repair_necessity=urgent", http.StatusBadRequest},
		{"another image's ID", "sha256:0000/vulnerabilities?image_type=private_image&namespace=team&image_name=app&tag_name=a", http.StatusNotFound},
		{"a well-formed query, without a region header", im.ImageID + "/vulnerabilities?image_type=private_image&namespace=team&image_name=app&tag_name=a&limit=10", http.StatusOK},
		{"CVEs with a limit below 10", "vulnerability/HSS-VUL-2020-00001/cve?limit=5", http.StatusBadRequest},
		{"CVEs of an unknown vulnerability", "vulnerability/nothing/cve?limit=10", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{"X-Project-Id": testProject}
			if strings.Contains(tc.path, "/vulnerabilities") {
				headers["region"] = "" // the SDK sends none with this call
			}
			resp, body := e.raw(t, http.MethodGet, path(tc.path), "", headers)
			NewWithT(t).Expect(resp.StatusCode).To(Equal(tc.code), body)
		})
	}
}

func TestAnUnscannedImageHasNoVulnerabilities(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	im := img("team", "fresh", "1", 1<<20, epoch)
	im.Vulnerabilities = 30
	e.sim.AddImages(im)
	im, _ = e.sim.Lookup(TypePrivate, "team", "fresh", "1")
	resp, err := e.vulnPage(t, im, 0, 10)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*resp.TotalNum).To(BeZero(), "findings come with a successful scan")
}
