package simulator

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// The vulnerabilities HSS knows form one catalogue: an image's list draws
// from it, so one vul_id is found in many images, as a common library's
// advisory is, and its CVEs are the same wherever it is found. The
// catalogue is derived from the seed alone; an image's list from its
// image ID, so the same image scanned again has the same list.
//
// Shapes, from the reference's field ranges: vul_id up to 128 characters,
// vul_name up to about 100,
// description up to 128, solution up to 256, url up to 128, app_path 1 to
// 512 (application vulnerabilities only), position a layer digest. Of the
// catalogue, 15% are immediate_repair, 45% delay_repair and 40%
// not_needed_repair; one in twenty has no CVE, the others one to three, whose
// CVSS scores agree with the severity.
const catalogueSize = 4000

// vulnerability is one catalogue entry.
type vulnerability struct {
	info model.ImageVulInfo
	cves []model.ImageVulCveInfo
	// What the catalogue call adds (catalogue.go).
	name, kind, severity string
	maxCVSS              float32
}

var (
	vulApps = []string{"openssl", "glibc", "zlib", "libxml2", "curl", "log4j-core", "jackson-databind", "spring-web",
		"lodash", "urllib3", "requests", "netty-codec-http", "busybox", "ncurses", "sqlite", "expat"}
	vulWords = []string{"buffer", "overflow", "in", "the", "parser", "allows", "remote", "attackers", "to", "cause",
		"denial", "of", "service", "or", "execute", "arbitrary", "code", "via", "crafted", "input", "when", "handling"}
)

// catalogue builds the entries for a seed.
func catalogue(seed int64) []vulnerability {
	out := make([]vulnerability, catalogueSize)
	for i := range out {
		h := hashOf(seed, int64(i))
		app := vulApps[h[0]%byte(len(vulApps))]
		necessity := "not_needed_repair"
		switch r := binary.BigEndian.Uint16(h[1:3]) % 100; {
		case r < 15:
			necessity = "immediate_repair"
		case r < 60:
			necessity = "delay_repair"
		}
		id := fmt.Sprintf("HSS-VUL-%d-%05d", 2020+int(h[3]%6), i)
		info := model.ImageVulInfo{
			VulId:           ptr(id),
			RepairNecessity: ptr(necessity),
			Description:     ptr(words(h[4:], 64, 128)),
			AppName:         ptr(app),
			Version:         ptr(fmt.Sprintf("%d.%d.%d", h[5]%4, h[6]%20, h[7]%30)),
			Solution:        ptr("Upgrade " + app + " to the latest version. " + words(h[8:], 40, 200)),
			Url:             ptr("https://advisories.example.com/" + strings.ToLower(id) + strings.Repeat("/x", int(h[9]%40))),
		}
		kind := KindLinux
		if h[10]%3 == 0 { // an application's vulnerability: where it lies
			info.AppPath = ptr("/opt/app/lib/" + strings.Repeat("vendor/", int(h[11]%70)) + app + ".jar")
			kind = KindApp
		}
		var cves []model.ImageVulCveInfo
		if i%20 != 7 {
			for c := range 1 + int(h[12]%3) {
				score := cvss(necessity, h[13+c])
				cves = append(cves, model.ImageVulCveInfo{
					CveId:       ptr(fmt.Sprintf("CVE-%d-%d", 2018+int(h[16]%8), 1000+int(binary.BigEndian.Uint16(h[17+2*c:19+2*c])))),
					CvssScore:   ptr(score),
					PublishTime: ptr(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(binary.BigEndian.Uint16(h[24:26])) * time.Hour).UnixMilli()),
					Description: ptr(words(h[26:], 100, 400)),
				})
			}
		}
		severity, top := severityOfEntry(necessity, cves)
		name := app + ": " + words(h[27:], 24, 96)
		out[i] = vulnerability{info: info, cves: cves, name: name, kind: kind, severity: severity, maxCVSS: top}
	}
	return out
}

// vulnerabilitiesOf is an image's list: distinct catalogue entries, the
// low indices far more often than the high (a few advisories are found
// everywhere), each with the layer it was found in. Past the catalogue's
// size, as in an image full of vendored copies of old libraries, entries
// repeat a catalogue vulnerability at another path.
func (s *Server) vulnerabilitiesOf(img Image) []model.ImageVulInfo {
	n := int(img.Vulnerabilities)
	out := make([]model.ImageVulInfo, 0, n)
	taken := make(map[int]bool, min(n, catalogueSize))
	for k := 0; len(out) < n; k++ {
		h := hashOf(s.cfg.Seed, int64(k), img.ImageID)
		u := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
		i := int(math.Pow(u, 3) * catalogueSize)
		info := s.vulns[i].info
		if k < catalogueSize {
			for taken[i] {
				i = (i + 1) % catalogueSize
			}
			taken[i] = true
			info = s.vulns[i].info
		} else {
			info.AppPath = ptr(fmt.Sprintf("/opt/app/vendor/copy-%d/%s.jar", k, val(info.AppName)))
		}
		layer := sha256.Sum256([]byte(fmt.Sprintf("%s/layer/%d", img.ImageID, h[8]%12)))
		info.Position = ptr("sha256:" + hex.EncodeToString(layer[:]))
		out = append(out, info)
	}
	return out
}

// cvesOf is a catalogue entry's CVEs; false for an unknown vul_id.
func (s *Server) cvesOf(vulID string) ([]model.ImageVulCveInfo, bool) {
	i, ok := s.vulIndex[vulID]
	if !ok {
		return nil, false
	}
	return s.vulns[i].cves, true
}

// Vulnerabilities returns what the vulnerability list answers for an image
// whose scan succeeded, for tests to compare with.
func (s *Server) Vulnerabilities(img Image) []model.ImageVulInfo { return s.vulnerabilitiesOf(img) }

// CVEs returns a vulnerability's CVE entries, for tests to compare with.
func (s *Server) CVEs(vulID string) []model.ImageVulCveInfo {
	cves, _ := s.cvesOf(vulID)
	return cves
}

// cvss is a score that agrees with the severity HSS gives: 7.0 to 10 for
// immediate_repair, 4.0 to 6.9 for delay_repair, 0.1 to 3.9 below.
func cvss(necessity string, b byte) float32 {
	lo, span := 1, 39
	switch necessity {
	case "immediate_repair":
		lo, span = 70, 31
	case "delay_repair":
		lo, span = 40, 30
	}
	return float32(lo+int(b)%span) / 10
}

func hashOf(seed, i int64, extra ...string) [32]byte {
	return sha256.Sum256([]byte(fmt.Sprintf("%d/%d/%s", seed, i, strings.Join(extra, "/"))))
}

// words is lo to hi characters of the vocabulary, chosen by b.
func words(b []byte, lo, hi int) string {
	want := lo + int(b[0])%(hi-lo+1)
	var sb strings.Builder
	for i := 0; sb.Len() < want; i++ {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(vulWords[int(b[1+i%(len(b)-1)]+byte(i))%len(vulWords)])
	}
	return strings.TrimRight(sb.String()[:want], " ")
}

// listVulnerabilities answers GET /v5/{project_id}/image/{image_id}/vulnerabilities.
// image_type, namespace, image_name and tag_name are required, as for
// files-statistics; the image's list is empty unless its latest scan
// succeeded.
func (s *Server) listVulnerabilities(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	typ, e := imageType(q.Get("image_type"))
	if e != nil {
		return nil, e
	}
	for _, p := range []string{"namespace", "image_name", "tag_name"} {
		if q.Get(p) == "" {
			return nil, badRequest("%s is required", p)
		}
	}
	if r := q.Get("repair_necessity"); r != "" && r != "immediate_repair" && r != "delay_repair" && r != "not_needed_repair" {
		return nil, badRequest("repair_necessity must be immediate_repair, delay_repair or not_needed_repair")
	}
	handle := q.Get("handle_status")
	if handle != "" && handle != "unhandled" && handle != "handled" {
		return nil, badRequest("handle_status must be unhandled or handled")
	}
	offset, limit, e := paging(q, minLimit)
	if e != nil {
		return nil, e
	}
	img, ok := s.Lookup(typ, q.Get("namespace"), q.Get("image_name"), q.Get("tag_name"))
	if !ok || img.Unsynced || img.ImageID != c.route.imageID {
		return nil, errNotFound
	}
	var list []model.ImageVulInfo
	if img.Scan.Status == StatusSuccess {
		for _, v := range s.vulnerabilitiesOf(img) {
			if r := q.Get("repair_necessity"); r != "" && r != val(v.RepairNecessity) {
				continue
			}
			// An ignored vulnerability is handled; without handle_status
			// the list has both.
			if handle != "" && s.ignoredIn(img.ImageID, val(v.VulId)) != (handle == "handled") {
				continue
			}
			list = append(list, v)
		}
	}
	total := len(list)
	page := append([]model.ImageVulInfo{}, list[min(offset, total):min(offset+limit, total)]...)
	return model.ListImageVulnerabilitiesResponse{TotalNum: ptr(int32(total)), DataList: &page}, nil
}

// listCVEs answers GET /v5/{project_id}/image/vulnerability/{vul_id}/cve,
// paged like the other lists (the reference gives no range for limit; the
// simulator takes 10..200). An unknown vul_id has no CVEs.
func (s *Server) listCVEs(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	offset, limit, e := paging(q, minLimit)
	if e != nil {
		return nil, e
	}
	cves, _ := s.cvesOf(c.route.vulID)
	total := len(cves)
	page := append([]model.ImageVulCveInfo{}, cves[min(offset, total):min(offset+limit, total)]...)
	return model.ListVulnerabilityCveResponse{TotalNum: ptr(int32(total)), DataList: &page}, nil
}
