package simulator

import (
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// The project's vulnerability catalogue (GET /v5/{project_id}/images/vulnerabilities,
// the SDK's ListGeneralImageVuls): each vulnerability once, with the name,
// severity and highest CVSS score that the per-image list does not give.
//
// Severity follows the highest CVSS score of the entry's CVEs (9.0 and
// above Critical, 7.0 High, 4.0 Medium, below Low), so Critical ones are
// among the immediate_repair ones; an entry without CVEs takes its
// severity from its repair necessity. image_num and scan_time are not
// served: counting the images that hold an entry would walk every image.

// Severity levels as the catalogue names them.
const (
	SeverityCritical = "Critical"
	SeverityHigh     = "High"
	SeverityMedium   = "Medium"
	SeverityLow      = "Low"
)

// Kinds of vulnerability (the catalogue's type).
const (
	KindLinux = "linux_vul"
	KindApp   = "app_vul"
)

// catalogueImageTypes are the catalogue's image_type values; every image
// the simulator holds is a registry image.
var catalogueImageTypes = map[string]bool{"local": true, "registry": true, "cicd": true, "cluster": true}

// severityOfEntry rates a catalogue entry.
func severityOfEntry(necessity string, cves []model.ImageVulCveInfo) (string, float32) {
	var top float32
	for _, c := range cves {
		top = max(top, val(c.CvssScore))
	}
	switch {
	case len(cves) == 0 && necessity == "immediate_repair":
		return SeverityHigh, 0
	case len(cves) == 0 && necessity == "delay_repair":
		return SeverityMedium, 0
	case len(cves) == 0:
		return SeverityLow, 0
	case top >= 9:
		return SeverityCritical, top
	case top >= 7:
		return SeverityHigh, top
	case top >= 4:
		return SeverityMedium, top
	}
	return SeverityLow, top
}

// generalInfo is a catalogue entry as the catalogue call answers it.
func (v vulnerability) generalInfo() model.GeneralImageVulsResponseInfo {
	cves := make([]model.GeneralImageVulsResponseInfoCveList, 0, len(v.cves))
	for _, c := range v.cves {
		cves = append(cves, model.GeneralImageVulsResponseInfoCveList{CveId: c.CveId, Cvss: c.CvssScore})
	}
	out := model.GeneralImageVulsResponseInfo{
		VulName: ptr(v.name), VulId: v.info.VulId, Type: ptr(v.kind), ImageType: ptr("registry"),
		SeverityLevel: ptr(v.severity), CveList: &cves, Description: v.info.Description,
		Url: v.info.Url, SolutionDetail: v.info.Solution,
	}
	if len(v.cves) > 0 {
		out.MaxCvssScore = ptr(v.maxCVSS)
	}
	return out
}

// listCatalogue answers GET /v5/{project_id}/images/vulnerabilities. type,
// handle_status and image_type are required; severity_level, vul_id,
// cve_id and status filter (vul_id and cve_id exactly). A vulnerability
// ignored in some image (HandleImageVulnerability) is handled and
// vul_status_ignored; the others are unhandled and vul_status_unfix.
func (s *Server) listCatalogue(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	kind := q.Get("type")
	if kind != KindLinux && kind != KindApp {
		return nil, badRequest("type must be linux_vul or app_vul")
	}
	handle := q.Get("handle_status")
	if handle != "unhandled" && handle != "handled" {
		return nil, badRequest("handle_status must be unhandled or handled")
	}
	if !catalogueImageTypes[q.Get("image_type")] {
		return nil, badRequest("image_type must be local, registry, cicd or cluster")
	}
	if st := q.Get("status"); st != "" && st != "vul_status_unfix" && st != "vul_status_ignored" {
		return nil, badRequest("status must be vul_status_unfix or vul_status_ignored")
	}
	offset, limit, e := paging(q, minLimit)
	if e != nil {
		return nil, e
	}
	match := func(v *vulnerability) bool {
		ignored := s.ignoredAnywhere(val(v.info.VulId))
		if v.kind != kind || (handle == "handled") != ignored || q.Get("image_type") != "registry" {
			return false
		}
		if st := q.Get("status"); st != "" && (st == "vul_status_ignored") != ignored {
			return false
		}
		if l := q.Get("severity_level"); l != "" && l != v.severity {
			return false
		}
		if id := q.Get("vul_id"); id != "" && id != val(v.info.VulId) {
			return false
		}
		if id := q.Get("cve_id"); id != "" {
			for _, c := range v.cves {
				if val(c.CveId) == id {
					return true
				}
			}
			return false
		}
		return true
	}
	var list []*vulnerability
	if id := q.Get("vul_id"); id != "" {
		if i, ok := s.vulIndex[id]; ok && match(&s.vulns[i]) {
			list = append(list, &s.vulns[i])
		}
	} else {
		for i := range s.vulns {
			if match(&s.vulns[i]) {
				list = append(list, &s.vulns[i])
			}
		}
	}
	total := len(list)
	page := make([]model.GeneralImageVulsResponseInfo, 0, min(limit, max(0, total-offset)))
	for _, v := range list[min(offset, total):min(offset+limit, total)] {
		page = append(page, v.generalInfo())
	}
	return model.ListGeneralImageVulsResponse{TotalNum: ptr(int32(total)), DataList: &page}, nil
}

// Catalogued returns what the catalogue answers for vulID, for tests to
// compare with; false for an unknown vul_id.
func (s *Server) Catalogued(vulID string) (model.GeneralImageVulsResponseInfo, bool) {
	i, ok := s.vulIndex[vulID]
	if !ok {
		return model.GeneralImageVulsResponseInfo{}, false
	}
	return s.vulns[i].generalInfo(), true
}
