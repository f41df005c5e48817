package hss

import (
	"context"
	"fmt"

	hsssdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// filesStatResponse is files-statistics' answer with 64-bit counters. The
// SDK's model.ShowImageFilesStatResponse declares both as int32 and fails to
// decode any image holding 2 GiB of files or more, which production images
// (CUDA, ML and JDK stacks) routinely do.
type filesStatResponse struct {
	TotalFilesNum  *int64 `json:"total_files_num,omitempty"`
	TotalFilesSize *int64 `json:"total_files_size,omitempty"`
	// HttpStatusCode is set by the SDK's decoder, which requires the field.
	HttpStatusCode int `json:"-"`
}

// FileStatistics calls files-statistics with the SDK's own request
// definition (path, query and header fields, signing, endpoint and error
// decoding all stay the SDK's) and swaps only the response type.
func (c *sdkClient) FileStatistics(ctx context.Context, img Image) (FileStats, error) {
	req := &model.ShowImageFilesStatRequest{
		Region: c.region, EnterpriseProjectId: c.eps, ImageType: img.ImageType, ImageId: img.ImageID,
		Namespace: optString(img.Namespace), ImageName: optString(img.Name), TagName: optString(img.Tag),
	}
	var resp *filesStatResponse
	err := c.call(ctx, OpFileStatistics, func() error {
		reqDef := hsssdk.GenReqDefForShowImageFilesStat()
		reqDef.Response = new(filesStatResponse)
		out, err := c.api.HcClient.Sync(req, reqDef)
		if err != nil {
			return err
		}
		resp = out.(*filesStatResponse)
		return nil
	})
	if err != nil {
		return FileStats{}, fmt.Errorf("file statistics of %s/%s:%s: %w", img.Namespace, img.Name, img.Tag, err)
	}
	if resp.TotalFilesNum == nil || resp.TotalFilesSize == nil || *resp.TotalFilesNum < 0 || *resp.TotalFilesSize < 0 {
		return FileStats{}, fmt.Errorf("file statistics of %s/%s:%s: %w", img.Namespace, img.Name, img.Tag,
			&Error{Class: ClassUndecodable, Op: OpFileStatistics, StatusCode: resp.HttpStatusCode,
				Summary: "the answer lacks total_files_num or total_files_size, or one is negative"})
	}
	return FileStats{Files: *resp.TotalFilesNum, Size: *resp.TotalFilesSize}, nil
}
