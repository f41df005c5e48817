package simulator

import (
	"encoding/json"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// synchronize answers POST /v5/{project_id}/image/synchronize: every image
// of the type becomes visible, as if HSS had just pulled SWR's list.
func (s *Server) synchronize(c *call) (any, *apiError) {
	var req model.RunImageSynchronizeRequestInfo
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, badRequest("request body is not valid JSON")
	}
	if _, e := imageType(req.ImageType); e != nil {
		return nil, e
	}
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	s.inv.changed()
	for _, r := range s.inv.records {
		if r.img.Type == req.ImageType {
			r.img.Unsynced = false
		}
	}
	return struct{}{}, nil
}
