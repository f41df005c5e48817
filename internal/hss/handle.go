package hss

import (
	"context"
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// OpHandle names HandleImageVulnerability in errors and metrics.
const OpHandle = "handle_vulnerabilities"

// Operations of HandleImageVulnerability the operator uses: an accepted
// risk is ignored, and no longer ignored when its exception ends.
const (
	HandleIgnore    = "ignore"
	HandleNotIgnore = "not_ignore"
)

// MaxRemark bounds a handling's remark, as HSS does.
const MaxRemark = 512

// Handling marks vulnerabilities of one SWR image ignored, or no longer
// ignored, in HSS. Kind is KindLinux or KindApp: one call handles one.
type Handling struct {
	Operation string
	Kind      string
	ImageID   string
	VulIDs    []string
	Remark    string
}

// Kinds of vulnerability HSS's handling and catalogue calls tell apart.
const (
	KindLinux = "linux_vul"
	KindApp   = "app_vul"
)

// HandleVulnerabilities sends one handling, by image (image_view): the
// vulnerabilities to ignore are those still to be handled, those to stop
// ignoring the handled ones.
func (c *sdkClient) HandleVulnerabilities(ctx context.Context, h Handling) error {
	status := "unhandled"
	if h.Operation == HandleNotIgnore {
		status = "handled"
	}
	body := &model.HandleImageVulnerabilityRequestBody{
		ImageType: "registry", Type: h.Kind, OperateType: h.Operation, HandleStatus: &status, SelectType: "image_view",
		ImageDataList: &[]model.HandleImageVulnerabilityRequestBodyImageDataList{{ImageId: &h.ImageID, VulIdList: &h.VulIDs}},
	}
	if h.Remark != "" {
		remark := truncateRunes(h.Remark, MaxRemark)
		body.Remark = &remark
	}
	err := c.call(ctx, OpHandle, func() error {
		_, err := c.api.HandleImageVulnerability(&model.HandleImageVulnerabilityRequest{EnterpriseProjectId: c.eps, Body: body})
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %d vulnerabilities of image %s in HSS: %w", h.Operation, len(h.VulIDs), h.ImageID, err)
	}
	return nil
}

// truncateRunes keeps at most n characters of s.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
