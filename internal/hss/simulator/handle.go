package simulator

import (
	"encoding/json"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// OpHandle is HandleImageVulnerability.
const OpHandle Op = "handle_vulnerabilities"

// HandleRecord is one accepted handling request, for tests to read.
type HandleRecord struct {
	At      time.Time
	Request model.HandleImageVulnerabilityRequestBody
}

// handling is what the project's users decided of vulnerabilities in
// images: ignored ones, by image ID and vul_id, with the remark. An
// ignored vulnerability is handled: the image's list filtered by
// handle_status and the catalogue show it so.
type handling struct {
	mu      sync.Mutex
	ignored map[string]map[string]string
	// anyImage counts, per vul_id, the images it is ignored in.
	anyImage map[string]int
	records  []HandleRecord
}

var (
	handleOperations = []string{"ignore", "not_ignore", "manual_repair", "add_to_whitelist"}
	handleSelections = []string{"all_vul", "specific_image_all_vul", "specific_vul_all_image", "vul_view", "image_view"}
	handleImageTypes = []string{"local", "registry", "cicd"}
)

// handleVulnerabilities answers POST /v5/{project_id}/image/vulnerability/handle.
// It takes every documented operate_type and select_type; the simulator
// acts on ignore and not_ignore by image (image_view) or by vulnerability
// (vul_view), and refuses the wider selections it does not model.
func (s *Server) handleVulnerabilities(c *call) (any, *apiError) {
	var req model.HandleImageVulnerabilityRequestBody
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, badRequest("request body is not valid JSON")
	}
	switch {
	case !slices.Contains(handleOperations, req.OperateType):
		return nil, badRequest("operate_type must be one of %v", handleOperations)
	case !slices.Contains(handleSelections, req.SelectType):
		return nil, badRequest("select_type must be one of %v", handleSelections)
	case !slices.Contains(handleImageTypes, req.ImageType):
		return nil, badRequest("image_type must be one of %v", handleImageTypes)
	case req.Type != KindLinux && req.Type != KindApp:
		return nil, badRequest("type must be linux_vul or app_vul")
	case req.HandleStatus != nil && *req.HandleStatus != "unhandled" && *req.HandleStatus != "handled":
		return nil, badRequest("handle_status must be unhandled or handled")
	case req.Remark != nil && utf8.RuneCountInString(*req.Remark) > 512:
		return nil, badRequest("remark may hold at most 512 characters")
	}
	pairs := map[[2]string]bool{}
	switch req.SelectType {
	case "image_view":
		for _, d := range val(req.ImageDataList) {
			if val(d.ImageId) == "" || len(val(d.VulIdList)) == 0 {
				return nil, badRequest("image_data_list entries need image_id and vul_id_list")
			}
			for _, id := range val(d.VulIdList) {
				pairs[[2]string{val(d.ImageId), id}] = true
			}
		}
	case "vul_view":
		for _, d := range val(req.VulDataList) {
			if val(d.VulId) == "" || len(val(d.ImageIdList)) == 0 {
				return nil, badRequest("vul_data_list entries need vul_id and image_id_list")
			}
			for _, img := range val(d.ImageIdList) {
				pairs[[2]string{img, val(d.VulId)}] = true
			}
		}
	default:
		return nil, badRequest("the simulator handles vulnerabilities by image_view or vul_view only")
	}
	if len(pairs) == 0 {
		return nil, badRequest("no vulnerability to handle")
	}
	h := &s.handled
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ignored == nil {
		h.ignored, h.anyImage = map[string]map[string]string{}, map[string]int{}
	}
	for p := range pairs {
		image, vul := p[0], p[1]
		_, was := h.ignored[image][vul]
		switch {
		case req.OperateType == "ignore" && !was:
			if h.ignored[image] == nil {
				h.ignored[image] = map[string]string{}
			}
			h.ignored[image][vul] = val(req.Remark)
			h.anyImage[vul]++
		case req.OperateType == "not_ignore" && was:
			delete(h.ignored[image], vul)
			h.anyImage[vul]--
		}
	}
	h.records = append(h.records, HandleRecord{At: s.clock.Now(), Request: req})
	return model.HandleImageVulnerabilityResponse{}, nil
}

// ignoredIn reports whether vulID is ignored in the image.
func (s *Server) ignoredIn(imageID, vulID string) bool {
	h := &s.handled
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.ignored[imageID][vulID]
	return ok
}

// ignoredAnywhere reports whether vulID is ignored in some image: the
// catalogue then lists it as handled.
func (s *Server) ignoredAnywhere(vulID string) bool {
	h := &s.handled
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.anyImage[vulID] > 0
}

// Ignored returns the remarks of the vulnerabilities ignored in an image,
// by vul_id.
func (s *Server) Ignored(imageID string) map[string]string {
	h := &s.handled
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.ignored[imageID]))
	for k, v := range h.ignored[imageID] {
		out[k] = v
	}
	return out
}

// Handlings returns the handling requests taken, oldest first.
func (s *Server) Handlings() []HandleRecord {
	h := &s.handled
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.records)
}
