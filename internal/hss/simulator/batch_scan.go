package simulator

import (
	"encoding/json"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// batchScan answers POST /v5/{project_id}/image/batch-scan. With
// operate_all=true the body's filters select the images and image_info_list
// is ignored; otherwise the list names them, and entries that match no
// visible image are skipped and counted in the record.
func (s *Server) batchScan(c *call) (any, *apiError) {
	var req model.BatchScanPrivateImageRequestInfo
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, badRequest("request body is not valid JSON")
	}
	if _, e := imageType(req.ImageType); e != nil {
		return nil, e
	}
	all := val(req.OperateAll)
	list := val(req.ImageInfoList)
	if !all && len(list) == 0 {
		return nil, badRequest("image_info_list is required unless operate_all is true")
	}

	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	now := s.clock.Now()
	views, byID := s.visible()
	rec := BatchScanRecord{At: now, Request: req}
	var matched []view
	if all {
		f := bodyFilter(req)
		for _, v := range views {
			if f.match(v) {
				matched = append(matched, v)
			}
		}
	} else {
		matched, rec.Ignored = named(views, req.ImageType, list)
	}
	for _, v := range matched {
		rec.Matched = append(rec.Matched, v.ref())
		r := byID[v.ID]
		outcome := decideOutcome(r.img, r.job.count+1, s.cfg.Seed, s.cfg.FailureRate)
		if r.job.restart(now, s.timing, outcome, r.img.ScanDuration) {
			rec.Started = append(rec.Started, v.ref())
		}
	}
	s.stats.recordScan(rec)
	return nil, nil
}

// named finds the images an image_info_list names. Namespace, name and tag
// must all match; instance_id too when given. An image named twice is
// scanned once.
func named(views []view, typ string, list []model.BatchScanSwrImageInfo) ([]view, int) {
	byKey := make(map[key]view, len(views))
	for _, v := range views {
		byKey[v.key()] = v
	}
	seen := map[int64]bool{}
	var out []view
	ignored := 0
	for _, info := range list {
		v, ok := byKey[key{typ, val(info.Namespace), val(info.ImageName), val(info.ImageVersion)}]
		if !ok || !exact(val(info.InstanceId), v.InstanceID) {
			ignored++
			continue
		}
		if !seen[v.ID] {
			seen[v.ID] = true
			out = append(out, v)
		}
	}
	return out, ignored
}
