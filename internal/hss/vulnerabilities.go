package hss

import (
	"context"
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// Operations of the findings' detail.
const (
	OpVulnerabilities = "list_vulnerabilities"
	OpCVEs            = "list_cves"
)

// Bounds of the texts kept from a vulnerability: a few times the lengths
// the reference documents, so that a longer answer is cut, not refused.
const (
	maxVulnID    = 128
	maxShortText = 256
	maxLongText  = 1024
)

func (c *sdkClient) Vulnerabilities(ctx context.Context, img Image) ([]Vulnerability, error) {
	var out []Vulnerability
	for offset := int32(0); offset <= maxListOffset; offset += PageSize {
		limit, off := int32(PageSize), offset
		req := &model.ListImageVulnerabilitiesRequest{
			EnterpriseProjectId: c.eps, Offset: &off, Limit: &limit,
			ImageType: img.ImageType, ImageId: img.ImageID, InstanceId: optString(img.InstanceID),
			Namespace: img.Namespace, ImageName: img.Name, TagName: img.Tag,
		}
		var resp *model.ListImageVulnerabilitiesResponse
		err := c.call(ctx, OpVulnerabilities, func() (err error) {
			resp, err = c.api.ListImageVulnerabilities(req)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("vulnerabilities of %s/%s:%s at offset %d: %w", img.Namespace, img.Name, img.Tag, offset, err)
		}
		page := value(resp.DataList)
		for _, v := range page {
			out = append(out, Vulnerability{
				ID:              boundedText(value(v.VulId), maxVulnID),
				RepairNecessity: value(v.RepairNecessity),
				App:             boundedText(value(v.AppName), maxShortText),
				Version:         boundedText(value(v.Version), maxShortText),
				Path:            boundedText(value(v.AppPath), maxLongText),
				Position:        boundedText(value(v.Position), maxShortText),
				Description:     boundedText(value(v.Description), maxLongText),
				Solution:        boundedText(value(v.Solution), maxLongText),
				URL:             boundedText(value(v.Url), maxLongText),
			})
		}
		if len(page) < PageSize || len(out) >= int(value(resp.TotalNum)) {
			break
		}
	}
	return out, nil
}

func (c *sdkClient) CVEs(ctx context.Context, vulID string) ([]CVE, error) {
	var out []CVE
	for offset := int32(0); offset <= maxListOffset; offset += PageSize {
		limit, off := int32(PageSize), offset
		req := &model.ListVulnerabilityCveRequest{Region: &c.region, EnterpriseProjectId: c.eps, Offset: &off, Limit: &limit, VulId: vulID}
		var resp *model.ListVulnerabilityCveResponse
		err := c.call(ctx, OpCVEs, func() (err error) {
			resp, err = c.api.ListVulnerabilityCve(req)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("CVEs of %s: %w", vulID, err)
		}
		page := value(resp.DataList)
		for _, v := range page {
			out = append(out, CVE{ID: boundedText(value(v.CveId), maxVulnID), CVSS: value(v.CvssScore), Published: fromMillis(v.PublishTime)})
		}
		if len(page) < PageSize || len(out) >= int(value(resp.TotalNum)) {
			break
		}
	}
	return out, nil
}
