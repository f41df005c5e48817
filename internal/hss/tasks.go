package hss

import (
	"context"
	"fmt"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// Operations of the task family.
const (
	OpScanTask       = "create_scan_task"
	OpListTasks      = "list_tasks"
	OpRegistryImages = "list_registry_images"
	OpSyncTask       = "create_sync_task"
)

// scanScopeAll asks a scan task for every kind of risk (the reference's
// 0x7fffffff): vulnerabilities, baseline, malware, sensitive information,
// software compliance, as batch-scan does.
const scanScopeAll = 0x7fffffff

// tasksClient is the client on the successors of the deprecated calls: a
// scan request is a manual image scan task, the image list the registry
// image list. File statistics and findings are the same calls.
type tasksClient struct {
	*sdkClient
}

var _ Client = (*tasksClient)(nil)

func (c *tasksClient) Backend() string { return BackendTasks }

func (c *tasksClient) BatchScan(ctx context.Context, req BatchScanRequest) error {
	global := "registry"
	for i, body := range taskBodies(req) {
		err := c.call(ctx, OpScanTask, func() error {
			_, err := c.api.CreateManualImageScanTask(&model.CreateManualImageScanTaskRequest{
				Region: &c.region, EnterpriseProjectId: c.eps, GlobalImageType: &global, Body: body,
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("scan task %d: %w", i+1, err)
		}
	}
	return nil
}

// taskBodies translates a request into scan tasks: one task over the
// criteria where the task's query can express them, else one per chunk of
// MaxBatchScanImages named images (the round's members, for a selector
// whose criteria the query lacks).
func taskBodies(req BatchScanRequest) []*model.CreateManualImageScanTaskReqInfo {
	scope, unlimited := int32(scanScopeAll), int32(0)
	if req.All {
		query := &model.CreateManualImageScanTaskReqInfoQueryInfo{ImageType: optString(req.ImageType)}
		if unexpressed := criteriaOf(req.Filter).into(query); len(unexpressed) == 0 {
			all := true
			return []*model.CreateManualImageScanTaskReqInfo{{ScanScope: &scope, RateLimit: &unlimited, IsAll: &all, QueryInfo: query}}
		}
	}
	refs := req.Images
	if req.All {
		refs = req.Members
	}
	var bodies []*model.CreateManualImageScanTaskReqInfo
	registry := registryTypeOf(req.ImageType)
	for start := 0; start < len(refs); start += MaxBatchScanImages {
		end := min(start+MaxBatchScanImages, len(refs))
		infos := make([]model.CreateManualImageScanTaskReqInfoImageInfo, 0, end-start)
		for _, ref := range refs[start:end] {
			infos = append(infos, model.CreateManualImageScanTaskReqInfoImageInfo{
				Namespace: optString(ref.Namespace), ImageName: optString(ref.Name), ImageVersion: optString(ref.Tag),
				InstanceId: optString(ref.InstanceID), InstanceUrl: optString(ref.InstanceURL), RegistryType: &registry,
			})
		}
		none := false
		bodies = append(bodies, &model.CreateManualImageScanTaskReqInfo{ScanScope: &scope, RateLimit: &unlimited, IsAll: &none, ImageInfo: &infos})
	}
	return bodies
}

// registryTypeOf is the task's registry_type of an image type.
func registryTypeOf(imageType string) string {
	switch imageType {
	case "private_image":
		return "SwrPrivate"
	case "shared_image":
		return "SwrShared"
	case "instance_image":
		return "SwrEnterprise"
	}
	return "Other"
}

func (c *tasksClient) ListImages(ctx context.Context, f Filter) ([]Image, error) {
	return collectImages(ctx, c, f)
}

func (c *tasksClient) EachImage(ctx context.Context, f Filter, fn func(Image) error) error {
	return eachImage(f, fn, func(offset int32) ([]Image, int, error) {
		limit, off := int32(PageSize), offset
		req := &model.ListRegistryImagesRequest{EnterpriseProjectId: c.eps, ImageType: optString(f.ImageType), Offset: &off, Limit: &limit}
		criteriaOf(f).into(req)
		var resp *model.ListRegistryImagesResponse
		err := c.call(ctx, OpRegistryImages, func() (err error) {
			resp, err = c.api.ListRegistryImages(req)
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("list registry images at offset %d: %w", offset, err)
		}
		var page []Image
		for _, m := range value(resp.DataList) {
			page = append(page, imageFromRegistry(f.ImageType, m))
		}
		return page, int(value(resp.TotalNum)), nil
	})
}

// imageFromRegistry translates one registry list entry.
func imageFromRegistry(imageType string, m model.RegistryImagesInfo) Image {
	img := imageFromModel(imageType, model.PrivateImageRepositoryInfo{
		Namespace: m.Namespace, ImageName: m.ImageName, ImageVersion: m.ImageVersion, ImageId: m.ImageId,
		ImageDigest: m.ImageDigest, ImageType: m.ImageType, InstanceId: m.InstanceId, InstanceUrl: m.InstanceUrl,
		ScanStatus: m.ScanStatus, ScanFailedDesc: m.ScanFailedDesc, ImageSize: m.ImageSize, LatestVersion: m.LatestVersion,
		LatestUpdateTime: m.LatestUpdateTime, LatestScanTime: m.LatestScanTime,
		VulNum: m.VulNum, MaliciousFileNum: m.MaliciousFileNum, UnsafeSettingNum: m.UnsafeSettingNum,
	})
	img.ScanFailedCode = boundedText(value(m.ScanFailedCode), maxStatusText)
	img.SeverityLevel = boundedText(value(m.SeverityLevel), maxStatusText)
	return img
}

// Synchronize asks HSS to synchronise every registry: the request names a
// registry by its ID, which the operator does not know.
func (c *tasksClient) Synchronize(ctx context.Context, imageType string) error {
	err := c.call(ctx, OpSyncTask, func() error {
		_, err := c.api.CreateImageSynchronizeTask(&model.CreateImageSynchronizeTaskRequest{
			Region: &c.region, EnterpriseProjectId: c.eps,
			Body: &model.CreateImageSynchronizeTaskRequestInfo{SyncAllRegistries: true},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("synchronize %s from SWR: %w", imageType, err)
	}
	return nil
}

// maxTaskPages bounds the walk of recent tasks for a request's evidence.
const maxTaskPages = 5

// RequestSeen looks for a manual scan task created since whose images are
// as many as req's first task names: the task the round's request made. A
// request that got no task ID back can be told only by when it came and
// how large it was; a query task (is_all) is told by when it came alone.
func (c *tasksClient) RequestSeen(ctx context.Context, since time.Time, req BatchScanRequest) (bool, error) {
	bodies := taskBodies(req)
	if len(bodies) == 0 {
		return false, nil
	}
	images := len(value(bodies[0].ImageInfo))
	seen := false
	err := walkPages(maxTaskPages, func(offset int32) ([]model.ImageScanTaskInfo, int64, error) {
		limit := int32(PageSize)
		req := &model.ListImageScanTaskRequest{EnterpriseProjectId: c.eps, Type: "image_scan", TaskType: optString("manual"), Offset: &offset, Limit: &limit}
		var resp *model.ListImageScanTaskResponse
		err := c.call(ctx, OpListTasks, func() (err error) {
			resp, err = c.api.ListImageScanTask(req)
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("list scan tasks: %w", err)
		}
		return value(resp.DataList), -1, nil
	}, func(t model.ImageScanTaskInfo) (bool, error) {
		seen = !fromMillis(t.BeginTime).Before(since) && (images == 0 && value(t.IsAll) || int(value(t.TotalNum)) == images)
		return !seen, nil
	})
	return seen, err
}
