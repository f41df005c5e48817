package hss

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	hsssdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// Operation names, used in errors and metrics.
const (
	OpBatchScan      = "batch_scan"
	OpListImages     = "list_images"
	OpFileStatistics = "file_statistics"
	OpSynchronize    = "synchronize"
)

// maxListOffset is the largest offset the list call accepts.
const maxListOffset = 2000000

// sdkClient implements Client on the official SDK.
type sdkClient struct {
	api        *hsssdk.HssClient
	region     string
	eps        *string
	limiter    *Limiter
	retryAfter *retryAfters
	clock      *serverClock
	// budget is the limiter's key; transport is the client's own, closed
	// when the provider drops it (nil with a shared one).
	budget    string
	transport *http.Transport
	// serial, when set, runs one call at a time: the credential object
	// refreshes itself without a lock.
	serial *sync.Mutex
}

var _ Client = (*sdkClient)(nil)

// call runs one SDK call under the shared limiter and records its outcome.
func (c *sdkClient) call(ctx context.Context, op string, fn func() error) error {
	start := time.Now()
	release, err := c.limiter.Acquire(ctx)
	if err != nil {
		var e *Error
		if errors.As(err, &e) { // throttled here, before any request
			e.Op = op
			throttledTotal.WithLabelValues(op).Inc()
			return e
		}
		return classify(op, err, nil)
	}
	if c.serial != nil {
		c.serial.Lock()
	}
	err = fn()
	if c.serial != nil {
		c.serial.Unlock()
	}
	release()
	requestDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err == nil {
		requestsTotal.WithLabelValues(op, "ok").Inc()
		return nil
	}
	e := classify(op, err, c.retryAfter.take)
	requestsTotal.WithLabelValues(op, string(e.Class)).Inc()
	if e.Class == ClassThrottled {
		throttledTotal.WithLabelValues(op).Inc()
		if e.RetryAfter > 0 {
			c.limiter.Pause(e.RetryAfter)
		}
	}
	return e
}

func (c *sdkClient) BatchScan(ctx context.Context, req BatchScanRequest) error {
	for i, body := range batchScanBodies(req) {
		err := c.call(ctx, OpBatchScan, func() error {
			_, err := c.api.BatchScanSwrImage(&model.BatchScanSwrImageRequest{
				Region: &c.region, EnterpriseProjectId: c.eps, Body: body,
			})
			return err
		})
		if err != nil {
			rest := req
			if !req.All {
				rest.Images = req.Images[i*MaxBatchScanImages:]
			}
			return &unsentError{rest: rest, err: fmt.Errorf("batch-scan chunk %d: %w", i+1, err)}
		}
	}
	return nil
}

// unsentError is a scan request's failure at one of its chunks: rest is the
// request without the chunks HSS took before it.
type unsentError struct {
	rest BatchScanRequest
	err  error
}

func (e *unsentError) Error() string { return e.err.Error() }
func (e *unsentError) Unwrap() error { return e.err }

func (c *sdkClient) ListImages(ctx context.Context, f Filter) ([]Image, error) {
	return collectImages(ctx, c, f)
}

func (c *sdkClient) EachImage(ctx context.Context, f Filter, fn func(Image) error) error {
	return eachImage(f, fn, func(offset int32) ([]Image, int, error) {
		req := listRequest(f, offset)
		req.Region, req.EnterpriseProjectId = &c.region, c.eps
		var resp *model.ListSwrImageRepositoryResponse
		err := c.call(ctx, OpListImages, func() (err error) {
			resp, err = c.api.ListSwrImageRepository(req)
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("list images at offset %d: %w", offset, err)
		}
		var page []Image
		for _, m := range value(resp.DataList) {
			page = append(page, imageFromModel(f.ImageType, m))
		}
		return page, int(value(resp.TotalNum)), nil
	})
}

// eachImage runs a paged image list: page answers one offset with its
// images and the total HSS counts. It stops at the end of the list, at the
// largest offset the call accepts, or after the page that goes past
// f.MaxImages.
func eachImage(f Filter, fn func(Image) error, page func(offset int32) ([]Image, int, error)) error {
	listed := 0
	return walkPages(0, func(offset int32) ([]Image, int64, error) {
		if f.MaxImages > 0 && listed > f.MaxImages {
			return nil, 0, nil // enough to know there are more
		}
		images, total, err := page(offset)
		listed += len(images)
		return images, int64(total), err
	}, func(img Image) (bool, error) { return true, fn(img) })
}

// walkPages is every paged list of the client: it asks page for offset 0,
// PageSize, ... and hands each entry to fn until fn says to stop. page
// answers an offset with its entries and the total HSS counts (-1 when the
// call gives none). It ends at the end of the list, when fn stops, after
// maxPages pages (0 for no bound but the largest offset the calls
// accept), or at the first error. One page is held at a time.
func walkPages[T any](maxPages int, page func(offset int32) ([]T, int64, error), fn func(T) (bool, error)) error {
	var seen int64
	for n, offset := 0, int32(0); offset <= maxListOffset && (maxPages == 0 || n < maxPages); n, offset = n+1, offset+PageSize {
		items, total, err := page(offset)
		if err != nil {
			return err
		}
		for _, it := range items {
			if more, err := fn(it); err != nil || !more {
				return err
			}
		}
		seen += int64(len(items))
		if len(items) < PageSize || total >= 0 && seen >= total {
			return nil
		}
	}
	return nil
}

// collectImages gathers what EachImage hands over, for callers that hold
// every image anyway.
func collectImages(ctx context.Context, c Client, f Filter) ([]Image, error) {
	var images []Image
	err := c.EachImage(ctx, f, func(img Image) error {
		images = append(images, img)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return images, nil
}

func (c *sdkClient) ServerTime(local time.Time) (time.Time, bool) { return c.clock.at(local) }

func (c *sdkClient) Backend() string { return BackendBatchScan }

// RequestSeen: batch-scan leaves no record to look at.
func (c *sdkClient) RequestSeen(context.Context, time.Time, BatchScanRequest) (bool, error) {
	return false, nil
}

func (c *sdkClient) Synchronize(ctx context.Context, imageType string) error {
	err := c.call(ctx, OpSynchronize, func() error {
		_, err := c.api.RunImageSynchronize(&model.RunImageSynchronizeRequest{
			Region: &c.region, EnterpriseProjectId: c.eps,
			Body: &model.RunImageSynchronizeRequestInfo{ImageType: imageType},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("synchronize %s from SWR: %w", imageType, err)
	}
	return nil
}
