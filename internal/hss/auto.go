package hss

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// autoClient serves on batch-scan while HSS does, and on the task calls
// from the first answer that says the deprecated call no longer exists.
// What the endpoint serves is remembered per endpoint, for every client of
// it, and a call that met the retirement is made again on the tasks at once.
type autoClient struct {
	batch  *sdkClient
	tasks  *tasksClient
	served *servedBy
}

// servedBy is what an endpoint was last seen to serve: nothing known (a
// manager that just started), batch-scan, or the tasks once HSS retired it.
type servedBy struct{ v atomic.Int32 }

const (
	servedUnknown int32 = iota
	servedBatch
	servedTasks
)

func (s *servedBy) retired() bool { return s.v.Load() == servedTasks }

var _ Client = (*autoClient)(nil)

// apiGone is API Gateway's answer for an API it no longer publishes.
const apiGone = "APIGW.0101"

func retiredAnswer(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound && e.Code == apiGone
}

// deprecatedCall runs fn on batch-scan's family until HSS retires it, then
// on the tasks'.
func deprecatedCall[T any](a *autoClient, batch, tasks func() (T, error)) (T, error) {
	if !a.served.retired() {
		v, err := batch()
		if !retiredAnswer(err) {
			if err == nil {
				a.served.v.CompareAndSwap(servedUnknown, servedBatch)
			}
			return v, err
		}
		if a.served.v.Swap(servedTasks) != servedTasks {
			backendSwitches.Inc()
		}
	}
	return tasks()
}

// BatchScan asks the tasks, when HSS retires batch-scan mid-request, only
// for the chunks batch-scan had not placed.
func (a *autoClient) BatchScan(ctx context.Context, req BatchScanRequest) error {
	rest := req
	_, err := deprecatedCall(a,
		func() (struct{}, error) {
			err := a.batch.BatchScan(ctx, req)
			if u := (*unsentError)(nil); errors.As(err, &u) {
				rest = u.rest
			}
			return struct{}{}, err
		},
		func() (struct{}, error) { return struct{}{}, a.tasks.BatchScan(ctx, rest) })
	return err
}

func (a *autoClient) ListImages(ctx context.Context, f Filter) ([]Image, error) {
	return deprecatedCall(a,
		func() ([]Image, error) { return a.batch.ListImages(ctx, f) },
		func() ([]Image, error) { return a.tasks.ListImages(ctx, f) })
}

func (a *autoClient) EachImage(ctx context.Context, f Filter, fn func(Image) error) error {
	_, err := deprecatedCall(a,
		func() (struct{}, error) { return struct{}{}, a.batch.EachImage(ctx, f, fn) },
		func() (struct{}, error) { return struct{}{}, a.tasks.EachImage(ctx, f, fn) })
	return err
}

func (a *autoClient) Synchronize(ctx context.Context, imageType string) error {
	_, err := deprecatedCall(a,
		func() (struct{}, error) { return struct{}{}, a.batch.Synchronize(ctx, imageType) },
		func() (struct{}, error) { return struct{}{}, a.tasks.Synchronize(ctx, imageType) })
	return err
}

func (a *autoClient) RequestSeen(ctx context.Context, since time.Time, req BatchScanRequest) (bool, error) {
	return a.current().RequestSeen(ctx, since, req)
}

func (a *autoClient) current() Client {
	if a.served.retired() {
		return a.tasks
	}
	return a.batch
}

// Backend is empty until a deprecated call of this endpoint was answered:
// a restarted manager does not know yet whether HSS retired batch-scan.
func (a *autoClient) Backend() string {
	if a.served.v.Load() == servedUnknown {
		return ""
	}
	return a.current().Backend()
}

// The calls both families share.

func (a *autoClient) FileStatistics(ctx context.Context, img Image) (FileStats, error) {
	return a.batch.FileStatistics(ctx, img)
}

func (a *autoClient) Vulnerabilities(ctx context.Context, img Image, keep func(Vulnerability, bool) bool) (VulnerabilityCounts, error) {
	return a.batch.Vulnerabilities(ctx, img, keep)
}

func (a *autoClient) Catalogue(ctx context.Context, vulID string, app bool) (CatalogueEntry, bool, error) {
	return a.batch.Catalogue(ctx, vulID, app)
}

func (a *autoClient) HandleVulnerabilities(ctx context.Context, h Handling) error {
	return a.batch.HandleVulnerabilities(ctx, h)
}

func (a *autoClient) ServerTime(local time.Time) (time.Time, bool) { return a.batch.ServerTime(local) }
