package hss

import (
	"context"
	"fmt"
	"slices"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// The operation of an image's vulnerability list.
const (
	OpVulnerabilities = "list_vulnerabilities"
)

// Bounds of the texts kept from a vulnerability: a few times the lengths
// the reference documents, so that a longer answer is cut, not refused.
const (
	maxVulnID    = 128
	maxShortText = 256
	maxLongText  = 1024
	// maxStatusText bounds a state or code, e.g. scan_status.
	maxStatusText = 64
)

// MaxWholeList is the longest list whose every entry a caller may have:
// ten pages. A longer one is counted by repair necessity in three calls,
// and only its most urgent entries are paged.
const MaxWholeList = 2000

// countPageSize is the smallest page the list calls take: a call made only
// for its total_num.
const countPageSize = 10

// urgency orders repair necessities, most urgent first; the last also
// stands for any necessity HSS may add.
var urgency = []string{RepairImmediate, RepairDelay, RepairNotNeeded}

// Vulnerabilities reads the list once when it fits on one page, as most
// images' lists do. A longer one is read by repair necessity, which the
// call filters on: each necessity's total_num is its exact count, and
// entries are paged, most urgent first, only while keep wants more. So
// counting a list of any length costs three calls and one page of memory,
// and a bounded report stops paging once it is full.
func (c *sdkClient) Vulnerabilities(ctx context.Context, img Image, keep func(Vulnerability, bool) bool) (VulnerabilityCounts, error) {
	var counts VulnerabilityCounts
	page, total, err := c.vulnerabilityPage(ctx, img, "", 0, PageSize)
	if err != nil {
		return counts, err
	}
	if len(page) < PageSize || int64(len(page)) >= total {
		slices.SortStableFunc(page, func(a, b Vulnerability) int { return rank(a.RepairNecessity) - rank(b.RepairNecessity) })
		for _, v := range page {
			*counter(&counts, v.RepairNecessity) += 1
		}
		for _, v := range page {
			if keep == nil || !keep(v, true) {
				break
			}
		}
		return counts, nil
	}
	keeping, whole := keep != nil, total <= MaxWholeList
	for i, necessity := range urgency {
		n := counter(&counts, necessity)
		if !keeping {
			if i == len(urgency)-1 { // the rest, without a call
				*n = max(0, total-counts.Immediate-counts.Delay)
				break
			}
			_, *n, err = c.vulnerabilityPage(ctx, img, necessity, 0, countPageSize)
			if err != nil {
				return counts, err
			}
			continue
		}
		err := walkPages(0, func(offset int32) ([]Vulnerability, int64, error) {
			page, t, err := c.vulnerabilityPage(ctx, img, necessity, offset, PageSize)
			if offset == 0 {
				*n = t
			}
			return page, t, err
		}, func(v Vulnerability) (bool, error) {
			keeping = keep(v, whole)
			return keeping, nil
		})
		if err != nil {
			return counts, err
		}
	}
	return counts, nil
}

func rank(necessity string) int {
	if i := slices.Index(urgency, necessity); i >= 0 {
		return i
	}
	return len(urgency) - 1
}

func counter(c *VulnerabilityCounts, necessity string) *int64 {
	switch necessity {
	case RepairImmediate:
		return &c.Immediate
	case RepairDelay:
		return &c.Delay
	}
	return &c.NotNeeded
}

// vulnerabilityPage reads one page of an image's list, of one necessity
// when it is set, and the list's total_num.
func (c *sdkClient) vulnerabilityPage(ctx context.Context, img Image, necessity string, offset, limit int32) ([]Vulnerability, int64, error) {
	req := &model.ListImageVulnerabilitiesRequest{
		EnterpriseProjectId: c.eps, Offset: &offset, Limit: &limit, RepairNecessity: optString(necessity),
		ImageType: img.ImageType, ImageId: img.ImageID, InstanceId: optString(img.InstanceID),
		Namespace: img.Namespace, ImageName: img.Name, TagName: img.Tag,
	}
	var resp *model.ListImageVulnerabilitiesResponse
	err := c.call(ctx, OpVulnerabilities, func() (err error) {
		resp, err = c.api.ListImageVulnerabilities(req)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("vulnerabilities of %s/%s:%s at offset %d: %w", img.Namespace, img.Name, img.Tag, offset, err)
	}
	// One page: at most limit entries, within the answer cap.
	list := value(resp.DataList)
	page := make([]Vulnerability, 0, len(list))
	for _, v := range list {
		page = append(page, Vulnerability{
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
	return page, max(0, int64(value(resp.TotalNum))), nil
}

// maxCVEsPerVulnerability bounds the CVEs kept of one vulnerability: an
// advisory names a handful; a list far longer is not worth keeping whole.
const maxCVEsPerVulnerability = 100
