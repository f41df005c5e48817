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
	rec := BatchScanRecord{At: now, Request: req}
	var matched []*record
	if all {
		s.eachMatch(bodyFilter(req), now, func(r *record, _ view) bool {
			matched = append(matched, r)
			return true
		})
	} else {
		matched, rec.Ignored = s.named(req.ImageType, list)
	}
	for _, r := range matched {
		rec.Matched = append(rec.Matched, r.img.ref())
		outcome := decideOutcome(r.img, r.job.count+1, s.cfg.Seed, s.cfg.FailureRate)
		if r.job.restart(now, s.timing, outcome, r.img.ScanDuration) {
			rec.Started = append(rec.Started, r.img.ref())
		}
	}
	s.stats.recordScan(rec)
	return nil, nil
}

// named finds the images an image_info_list names. Namespace, name and tag
// must all match; instance_id too when given. An image named twice is
// scanned once. The caller holds inv.mu.
func (s *Server) named(typ string, list []model.BatchScanSwrImageInfo) ([]*record, int) {
	seen := map[int64]bool{}
	var out []*record
	ignored := 0
	for _, info := range list {
		r, ok := s.visibleRecord(key{typ, val(info.Namespace), val(info.ImageName), val(info.ImageVersion)})
		if !ok || !exact(val(info.InstanceId), r.img.InstanceID) {
			ignored++
			continue
		}
		if !seen[r.img.ID] {
			seen[r.img.ID] = true
			out = append(out, r)
		}
	}
	return out, ignored
}
