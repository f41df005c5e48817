package controller

import (
	"context"
	"fmt"
	"sort"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// listAll runs each filter's paged list and indexes the images.
func listAll(ctx context.Context, c hss.Client, filters []hss.Filter) (map[imageKey]hss.Image, error) {
	out := map[imageKey]hss.Image{}
	for _, f := range filters {
		images, err := c.ListImages(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, img := range images {
			out[keyOfImage(img)] = img
		}
	}
	return out, nil
}

func sortedKeys(m map[imageKey]hss.Image) []imageKey {
	keys := make([]imageKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// follow polls HSS for the round's images and records each one that reached
// a terminal state since the round started. It returns the round's members
// (the status entries and, past the status bound, entries kept only for this
// pass) and how many members past the bound it has not seen finish yet.
//
// Until StartTimeout after HSS accepted the round, it reads a feed of
// finished scans (finished.go). After that it walks the ImageScan's images
// in full, because only a full walk shows an image that never started or
// is gone.
func (r *ImageScanReconciler) follow(ctx context.Context, obj *scanv1.ImageScan, c hss.Client) ([]*scanv1.ImageResult, int, error) {
	st := &obj.Status
	round := st.LastScanRequest
	if r.overdue(round) {
		members, err := r.followOwnWalk(ctx, obj, c)
		return members, 0, err
	}
	pastBound := st.ImagesOmitted > 0 && obj.Spec.Selector != nil
	filter := hss.Filter{ImageType: string(obj.Spec.ImageType)}
	if pastBound {
		filter = followFilters(obj.Spec)[0]
	}
	feed := r.feeds.feed(c, filter, r.Clock.Now())
	done, err := feed.finished(ctx, client.ObjectKeyFromObject(obj), round.RequestedAt.Time, r.Clock)
	if err != nil {
		return nil, 0, fromHSS(err)
	}
	members := entries(st)
	known := make(map[imageKey]bool, len(st.Images))
	for _, e := range members {
		known[keyOfResult(*e)] = true
		if e.Round == round.Round || e.ScanStatus == scanv1.ScanStatusNotFound {
			continue
		}
		if img, ok := done[keyOfResult(*e)]; ok {
			observe(e, img, round)
		}
	}
	if !pastBound {
		return members, 0, nil
	}
	// Past the bound, a member is an image of the selector scanned since
	// the round started; the round waits until as many have finished as
	// it matched.
	members = append(members, inferred(done, known, round, func(hss.Image) bool { return false })...)
	return members, max(len(st.Images)+int(st.ImagesOmitted)-len(members), 0), nil
}

// overdue: HSS accepted the round StartTimeout ago.
func (r *ImageScanReconciler) overdue(round *scanv1.ScanRequest) bool {
	return round.AcceptedAt != nil && r.Clock.Since(round.AcceptedAt.Time) >= r.StartTimeout
}

// followOwnWalk lists the ImageScan's own images.
func (r *ImageScanReconciler) followOwnWalk(ctx context.Context, obj *scanv1.ImageScan, c hss.Client) ([]*scanv1.ImageResult, error) {
	listed, err := listAll(ctx, c, followFilters(obj.Spec))
	if err != nil {
		return nil, fromHSS(err)
	}
	st := &obj.Status
	round := st.LastScanRequest
	members := make([]*scanv1.ImageResult, 0, len(st.Images))
	known := make(map[imageKey]bool, len(st.Images))
	for i := range st.Images {
		e := &st.Images[i]
		known[keyOfResult(*e)] = true
		img, ok := listed[keyOfResult(*e)]
		members = append(members, e)
		if e.Round == round.Round || e.ScanStatus == scanv1.ScanStatusNotFound {
			continue
		}
		if !ok {
			e.ScanStatus, e.Message = scanv1.ScanStatusNotFound, "HSS no longer lists this image"
			continue
		}
		observe(e, img, round)
		r.giveUpIfNeverStarted(e, img, round)
	}
	if st.ImagesOmitted > 0 {
		// A full walk also shows the members still queued or scanning.
		members = append(members, inferred(listed, known, round, func(img hss.Image) bool { return hss.InProgress(img.ScanStatus) })...)
	}
	return members, nil
}

// inferred returns entries for the members past the status bound: listed
// images not in status that were scanned since the round started, or that
// also count.
func inferred(listed map[imageKey]hss.Image, known map[imageKey]bool, round *scanv1.ScanRequest, also func(hss.Image) bool) []*scanv1.ImageResult {
	var out []*scanv1.ImageResult
	for _, k := range sortedKeys(listed) {
		img := listed[k]
		if known[k] || !(also(img) || scannedSince(img, scanv1.ImageResult{}, round.RequestedAt.Time)) {
			continue
		}
		e := &scanv1.ImageResult{Namespace: k.Namespace, Name: k.Name, Tag: k.Tag, InstanceID: k.InstanceID}
		observe(e, img, round)
		out = append(out, e)
	}
	return out
}

// observe updates an entry from HSS's view of its image.
func observe(e *scanv1.ImageResult, img hss.Image, round *scanv1.ScanRequest) {
	e.ImageID = img.ImageID
	if !hss.Terminal(img.ScanStatus) || !scannedSince(img, *e, round.RequestedAt.Time) {
		if hss.InProgress(img.ScanStatus) {
			e.ScanStatus = img.ScanStatus
		}
		return
	}
	e.ScanStatus, e.Message, e.LastScanTime, e.Round = img.ScanStatus, img.ScanFailedDesc, microTime(img.LastScanAt), round.Round
	e.StatisticsAttempts, e.Findings = 0, nil
	if img.ScanStatus == hss.StatusSuccess {
		e.FilesCount, e.FilesSize = nil, nil // collected next
		e.Findings = &scanv1.Findings{
			Vulnerabilities: img.Findings.Vulnerabilities,
			MaliciousFiles:  img.Findings.MaliciousFiles,
			UnsafeSettings:  img.Findings.UnsafeSettings,
		}
	}
}

// giveUpIfNeverStarted fails an image HSS has neither queued nor scanned
// long after accepting the round, so that the round ends instead of waiting
// forever.
func (r *ImageScanReconciler) giveUpIfNeverStarted(e *scanv1.ImageResult, img hss.Image, round *scanv1.ScanRequest) {
	if e.Round == round.Round || hss.InProgress(img.ScanStatus) || !r.overdue(round) {
		return
	}
	e.ScanStatus, e.Round = hss.StatusFailed, round.Round
	e.Message = fmt.Sprintf("HSS did not start scanning this image within %s of accepting the round", r.StartTimeout)
}

// finished reports whether a member needs nothing more in this round.
func finished(e *scanv1.ImageResult, round int64) bool {
	if e.ScanStatus == scanv1.ScanStatusNotFound {
		return true
	}
	return e.Round == round && (e.ScanStatus != hss.StatusSuccess || e.FilesCount != nil || statisticsGivenUp(e))
}

// statisticsGivenUp: the image's statistics failed too often to try again
// in this round.
func statisticsGivenUp(e *scanv1.ImageResult) bool {
	return e.StatisticsAttempts >= scanv1.MaxStatisticsAttempts
}

// pollDelay grows with the round's age: short at first, longer while scans
// run long.
func (r *ImageScanReconciler) pollDelay(round *scanv1.ScanRequest) time.Duration {
	since := r.Clock.Since(round.RequestedAt.Time)
	return min(max(since/4, r.MinPoll), r.MaxPoll)
}
