package simulator

import "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

// fileStats answers GET /v5/{project_id}/image/{image_id}/files-statistics.
// namespace, image_name and tag_name narrow the match when given; when a
// digest is shared by several tags the lowest id wins.
func (s *Server) fileStats(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	typ, e := imageType(q.Get("image_type"))
	if e != nil {
		return nil, e
	}
	f := Filter{Type: typ, Namespace: q.Get("namespace"), Name: q.Get("image_name"), Version: q.Get("tag_name")}
	candidates := s.selectImages
	if f.Namespace != "" && f.Name != "" && f.Version != "" {
		candidates = s.exactImage // the usual call: one map lookup, not a walk
	}
	for _, v := range candidates(f) {
		if v.ImageID != c.route.imageID {
			continue
		}
		// Statistics come from the scan, so only a successful one has them.
		if v.Scan.Status != StatusSuccess {
			return nil, errNoStats
		}
		return model.ShowImageFilesStatResponse{TotalFilesNum: ptr(v.FilesNum), TotalFilesSize: ptr(v.FilesSize)}, nil
	}
	return nil, errNotFound
}
