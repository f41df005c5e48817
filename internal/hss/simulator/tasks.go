package simulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// The image task calls are the successors of batch-scan, the image list and
// synchronize, served from the same inventory. Where the reference is
// silent the simulator chooses, and each choice is named here and in the
// README, so that a run against HSS can check them one by one:
//
//   - image_info entries are matched by namespace, image_name and
//     image_version, within the image type that registry_type names
//     (SwrPrivate, SwrShared, SwrEnterprise; instance_id too for the last);
//     image_id and image_digest, when given, must be the image's, else the
//     entry is ignored. id is not used.
//   - is_all scans every image query_info matches; query_info.image_type
//     is required then.
//   - A task is listed by ListImageScanTask as soon as it is created
//     (Config.TaskListDelay delays that), with a task ID of its own; its
//     images are queued at once (Config.TaskStartDelay delays that), and
//     until then show the state they had.
//   - rate_limit (images per hour, 0 unlimited) spaces the images' scans:
//     the k-th image of a task starts k hours/rate_limit after the task.
//   - task_status is 100 once every image of the task has ended, else the
//     share ended; failed_images lists the ones that ended other than
//     success, with their scan_failed_code as failed_reason.

// Task family operations.
const (
	OpScanTask       Op = "create_scan_task"
	OpListTasks      Op = "list_tasks"
	OpRegistryImages Op = "list_registry_images"
	OpSyncTask       Op = "create_sync_task"
)

// deprecated are the calls HSS has marked as such, which RetireDeprecated
// turns off.
var deprecated = map[Op]bool{OpBatchScan: true, OpListImages: true, OpSynchronize: true}

// RetireDeprecated makes batch-scan, the SWR image list and synchronize
// answer as HSS will once it turns them off: 404 APIGW.0101.
func (s *Server) RetireDeprecated() { s.retired.Store(true) }

// task is one image scan or synchronise task.
type task struct {
	id, kind  string // kind: image_scan or image_sync
	created   time.Time
	images    []key
	scope     int32
	rateLimit int32
	isAll     bool
}

// TaskRecord is what one accepted CreateManualImageScanTask asked for.
type TaskRecord struct {
	At      time.Time
	Request model.CreateManualImageScanTaskReqInfo
	Matched []ImageRef
	Started []ImageRef
	Ignored int
}

// createScanTask answers POST /v5/{project_id}/image/image-scan/tasks.
func (s *Server) createScanTask(c *call) (any, *apiError) {
	var req model.CreateManualImageScanTaskReqInfo
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, badRequest("request body is not valid JSON")
	}
	rate := val(req.RateLimit)
	if rate < 0 || rate > 1000 {
		return nil, badRequest("rate_limit must be from 0 to 1000")
	}
	if g := c.r.URL.Query().Get("global_image_type"); g != "" && g != "registry" && g != "local" {
		return nil, badRequest("global_image_type must be local or registry")
	}
	all := val(req.IsAll)
	if !all && len(val(req.ImageInfo)) == 0 {
		return nil, badRequest("image_info is required unless is_all is true")
	}
	var f Filter
	if all {
		q := val(req.QueryInfo)
		typ, e := imageType(val(q.ImageType))
		if e != nil {
			return nil, badRequest("query_info.image_type is required with is_all: %s", e.Msg)
		}
		f = Filter{Type: typ, Namespace: val(q.Namespace), Name: val(q.ImageName), Version: val(q.ImageVersion),
			ScanStatus: val(q.ScanStatus), MaxSize: q.ImageSize, UpdatedFrom: q.StartLatestUpdateTime,
			UpdatedTo: q.EndLatestUpdateTime, ScannedFrom: q.StartLatestScanTime, ScannedTo: q.EndLatestScanTime}
	}

	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	now := s.clock.Now()
	rec := TaskRecord{At: now, Request: req}
	var matched []*record
	if all {
		s.eachMatch(f, now, func(r *record, _ view) bool {
			matched = append(matched, r)
			return true
		})
	} else {
		matched, rec.Ignored = s.taskImages(val(req.ImageInfo))
	}
	t := &task{id: newRequestID(), kind: "image_scan", created: now, scope: val(req.ScanScope), rateLimit: rate, isAll: all}
	for k, r := range matched {
		rec.Matched = append(rec.Matched, r.img.ref())
		t.images = append(t.images, r.img.key())
		at := now.Add(s.cfg.TaskStartDelay)
		if rate > 0 {
			at = at.Add(time.Duration(k) * time.Hour / time.Duration(rate))
		}
		outcome := decideOutcome(r.img, r.job.count+1, s.cfg.Seed, s.cfg.FailureRate)
		if r.job.restartAt(now, at, s.timing, outcome, r.img.ScanDuration) {
			rec.Started = append(rec.Started, r.img.ref())
		}
	}
	s.tasks.add(t)
	s.stats.recordTask(rec)
	return nil, nil
}

// registryTypes maps image_info's registry_type to the image type.
var registryTypes = map[string]string{"SwrPrivate": TypePrivate, "SwrShared": TypeShared, "SwrEnterprise": TypeInstance}

func registryTypeOf(imageType string) string {
	for r, t := range registryTypes {
		if t == imageType {
			return r
		}
	}
	return "Other"
}

// taskImages finds the images image_info names. The caller holds inv.mu.
func (s *Server) taskImages(infos []model.CreateManualImageScanTaskReqInfoImageInfo) ([]*record, int) {
	seen := map[int64]bool{}
	var out []*record
	ignored := 0
	for _, info := range infos {
		r, ok := s.visibleRecord(key{registryTypes[val(info.RegistryType)], val(info.Namespace), val(info.ImageName), val(info.ImageVersion)})
		if !ok || !exact(val(info.InstanceId), r.img.InstanceID) || !exact(val(info.ImageId), r.img.ImageID) || !exact(val(info.ImageDigest), r.img.ImageID) {
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

// createSyncTask answers POST /v5/{project_id}/image/image-sync/tasks: with
// sync_all_registries every image becomes visible, as after synchronize;
// registry_info names registries by registry_type.
func (s *Server) createSyncTask(c *call) (any, *apiError) {
	var req model.CreateImageSynchronizeTaskRequestInfo
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, badRequest("request body is not valid JSON")
	}
	types := map[string]bool{}
	for _, r := range val(req.RegistryInfo) {
		if t, ok := registryTypes[val(r.RegistryType)]; ok {
			types[t] = true
		}
	}
	if !req.SyncAllRegistries && len(types) == 0 {
		return nil, badRequest("registry_info is required unless sync_all_registries is true")
	}
	s.inv.mu.Lock()
	s.inv.changed()
	for _, r := range s.inv.records {
		if req.SyncAllRegistries || types[r.img.Type] {
			r.img.Unsynced = false
		}
	}
	s.inv.mu.Unlock()
	s.tasks.add(&task{id: newRequestID(), kind: "image_sync", created: s.clock.Now()})
	return struct{}{}, nil
}

// listTasks answers GET /v5/{project_id}/image/tasks.
func (s *Server) listTasks(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	kind := q.Get("type")
	if kind != "image_scan" && kind != "image_sync" {
		return nil, badRequest("type must be image_scan or image_sync")
	}
	if st := q.Get("task_status"); st != "" && st != "scanning" && st != "finished" {
		return nil, badRequest("task_status must be scanning or finished")
	}
	offset, limit, e := paging(q, minLimit)
	if e != nil {
		return nil, e
	}
	created, e := optInt64(q, "create_time")
	if e != nil {
		return nil, e
	}
	now := s.clock.Now()
	var list []model.ImageScanTaskInfo
	for _, t := range s.tasks.all() {
		if t.kind != kind || now.Sub(t.created) < s.cfg.TaskListDelay || created != nil && t.created.UnixMilli() < *created {
			continue
		}
		info := s.taskInfo(t, now)
		switch q.Get("task_status") {
		case "scanning":
			if val(info.TaskStatus) == 100 {
				continue
			}
		case "finished":
			if val(info.TaskStatus) != 100 {
				continue
			}
		}
		list = append(list, info)
	}
	total := len(list)
	page := append([]model.ImageScanTaskInfo{}, list[min(offset, total):min(offset+limit, total)]...)
	return model.ListImageScanTaskResponse{TotalNum: ptr(int32(total)), DataList: &page}, nil
}

// taskInfo derives a task's progress from its images' scans now.
func (s *Server) taskInfo(t *task, now time.Time) model.ImageScanTaskInfo {
	info := model.ImageScanTaskInfo{
		TaskId: ptr(t.id), TaskName: ptr(fmt.Sprintf("manual-%s", t.id[:8])), TaskType: ptr("manual"),
		ImageType: ptr("registry"), BeginTime: ptr(t.created.UnixMilli()), ScanScope: ptr(t.scope),
		RateLimit: ptr(t.rateLimit), IsAll: ptr(t.isAll), TotalNum: ptr(int32(len(t.images))),
	}
	if t.kind == "image_sync" {
		info.TaskType, info.TaskStatus = ptr("manualSync"), ptr(int32(100))
		return info
	}
	var ended, success, failed int32
	var failures []model.ImageScanTaskInfoFailedImages
	var last time.Time
	for _, k := range t.images {
		img, ok := s.Lookup(k.typ, k.ns, k.name, k.tag)
		if !ok || !img.Scan.Status.Terminal() || img.Scan.LastScanAt.Before(t.created) {
			continue
		}
		ended++
		if img.Scan.LastScanAt.After(last) {
			last = img.Scan.LastScanAt
		}
		if img.Scan.Status == StatusSuccess {
			success++
			continue
		}
		failed++
		failures = append(failures, model.ImageScanTaskInfoFailedImages{
			Id: ptr(img.ID), Namespace: ptr(img.Namespace), ImageName: ptr(img.Name), ImageVersion: ptr(img.Tag),
			RegistryType: ptr(registryTypeOf(img.Type)), FailedReason: ptr(failedCode[img.Scan.Status]),
		})
	}
	progress := int32(100)
	if n := int32(len(t.images)); ended < n {
		progress = 100 * ended / n
	} else if !last.IsZero() {
		info.EndTime = ptr(last.UnixMilli())
	}
	info.TaskStatus, info.SuccessNum, info.FailedNum = ptr(progress), ptr(success), ptr(failed)
	info.FailedImages = &failures
	return info
}

// failedCode is the scan_failed_code of each failed outcome.
var failedCode = map[Status]string{
	StatusFailed:         "failed_to_scan_vulnerability",
	StatusDownloadFailed: "download_failed",
	StatusOversized:      "image_over_sized",
}

// listRegistryImages answers GET /v5/{project_id}/image/registries/images:
// the image list's filters (image_type optional, limit 1..200), and the
// entries with their registry fields, scan_failed_code and severity_level.
func (s *Server) listRegistryImages(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	if q.Get("image_type") == "" {
		q.Set("image_type", "any")
	}
	lq, e := parseQuery(q, 1, true)
	if e != nil {
		return nil, e
	}
	page, total := s.pageImages(lq.filter, lq.offset, lq.limit)
	list := make([]model.RegistryImagesInfo, 0, len(page))
	for _, v := range page {
		list = append(list, s.registryInfo(v))
	}
	return model.ListRegistryImagesResponse{TotalNum: ptr(int32(total)), DataList: &list}, nil
}

func (s *Server) registryInfo(v view) model.RegistryImagesInfo {
	i := v.info()
	r := model.RegistryImagesInfo{
		Id: i.Id, Namespace: i.Namespace, ImageName: i.ImageName, ImageId: i.ImageId, ImageDigest: i.ImageDigest,
		ImageVersion: i.ImageVersion, ImageType: i.ImageType, LatestVersion: i.LatestVersion, ScanStatus: i.ScanStatus,
		ScanFailedDesc: i.ScanFailedDesc, ImageSize: i.ImageSize, LatestUpdateTime: i.LatestUpdateTime,
		LatestScanTime: i.LatestScanTime, VulNum: i.VulNum, UnsafeSettingNum: i.UnsafeSettingNum,
		MaliciousFileNum: i.MaliciousFileNum, Scannable: i.Scannable, InstanceId: i.InstanceId, InstanceUrl: i.InstanceUrl,
		RegistryType: ptr(registryTypeOf(v.Type)), RegistryName: ptr(v.Namespace), LatestSyncTime: i.LatestUpdateTime,
		IsMultipleArch: ptr(false), ScanFailedCode: ptr(failedCode[v.Scan.Status]),
	}
	if v.Scan.Status == StatusSuccess {
		r.SeverityLevel = ptr(s.severityLevel(v.Image))
	}
	return r
}

// severityLevel is HSS's rating of a scanned image: its worst
// vulnerability, or Security without any.
func (s *Server) severityLevel(img Image) string {
	level := "Security"
	for _, v := range s.vulnerabilitiesOf(img) {
		switch val(v.RepairNecessity) {
		case "immediate_repair":
			return "High"
		case "delay_repair":
			level = "Medium"
		default:
			if level == "Security" {
				level = "Low"
			}
		}
	}
	return level
}

// taskList holds the tasks in creation order.
type taskList struct {
	mu sync.Mutex
	l  []*task
}

func (tl *taskList) add(t *task) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.l = append(tl.l, t)
}

func (tl *taskList) all() []*task {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.l)
}
