package simulator

import (
	"fmt"
	"strings"
)

// filesStatAnswer is files-statistics' body. The reference types both
// counters as Integer with no bound, and images with more than 2^31 bytes of
// files are common, so they are written as 64-bit numbers.
type filesStatAnswer struct {
	TotalFilesNum  int64 `json:"total_files_num"`
	TotalFilesSize int64 `json:"total_files_size"`
}

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
		if v.MalformedStats {
			return map[string]any{
				"total_files_num":  v.FilesNum,
				"total_files_size": fmt.Sprintf("%.1f GB", float64(v.FilesSize)/1e9),
			}, nil
		}
		if v.OversizedStats > 0 {
			return map[string]any{
				"total_files_num": v.FilesNum, "total_files_size": v.FilesSize,
				"padding": strings.Repeat("x", v.OversizedStats),
			}, nil
		}
		return filesStatAnswer{TotalFilesNum: v.FilesNum, TotalFilesSize: v.FilesSize}, nil
	}
	return nil, errNotFound
}
