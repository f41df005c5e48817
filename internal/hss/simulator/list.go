package simulator

import "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

// listImages answers GET /v5/{project_id}/image/swr-repository.
func (s *Server) listImages(c *call) (any, *apiError) {
	lq, e := parseListQuery(c.r.URL.Query())
	if e != nil {
		return nil, e
	}
	page, total := s.pageImages(lq.filter, lq.offset, lq.limit)
	list := make([]model.PrivateImageRepositoryInfo, 0, len(page))
	for _, v := range page {
		list = append(list, v.info())
	}
	return model.ListSwrImageRepositoryResponse{TotalNum: ptr(int32(total)), DataList: &list}, nil
}
