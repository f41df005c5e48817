package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// due says whether a new round should start, and why.
func (r *ImageScanReconciler) due(obj *scanv1.ImageScan) (scanv1.ScanTrigger, bool) {
	st := obj.Status
	last := st.LastScanRequest
	switch {
	case last == nil:
		return scanv1.TriggerCreated, true
	case last.Generation != obj.Generation:
		return scanv1.TriggerSpecChanged, true
	case rescanRequested(obj):
		return scanv1.TriggerRequested, true
	case last.CompletedAt != nil && obj.Spec.Interval != nil &&
		!r.Clock.Now().Before(last.RequestedAt.Add(obj.Spec.Interval.Duration)):
		return scanv1.TriggerInterval, true
	}
	return "", false
}

func rescanRequested(obj *scanv1.ImageScan) bool {
	v := obj.Annotations[scanv1.RescanAnnotation]
	return v != "" && v != obj.Status.LastHandledRescanAt
}

// trigger starts a round when one is due and makes sure the current round
// reached HSS exactly once, and reports whether this pass called batch-scan.
// The intent is written to status before calling batch-scan and the outcome
// after, with the pass's report, because the call has no idempotency key: a
// manager that finds an intent without an outcome looks at the images
// before deciding to call again.
func (r *ImageScanReconciler) trigger(ctx context.Context, obj *scanv1.ImageScan, c hss.Client, p *statusPatcher) (bool, error) {
	if why, ok := r.due(obj); ok && !obj.Spec.Suspend {
		if err := r.startRound(ctx, obj, c, why); err != nil {
			return false, err
		}
		return r.send(ctx, obj, c, p, false)
	}
	if last := obj.Status.LastScanRequest; last != nil && last.AcceptedAt == nil && last.CompletedAt == nil {
		return r.send(ctx, obj, c, p, true)
	}
	return false, nil
}

// startRound fixes the round's members and records its intent in obj.
func (r *ImageScanReconciler) startRound(ctx context.Context, obj *scanv1.ImageScan, c hss.Client, why scanv1.ScanTrigger) error {
	if obj.Spec.SyncFromSWR {
		if err := c.Synchronize(ctx, string(obj.Spec.ImageType)); err != nil {
			return fromHSS(err)
		}
	}
	listed, err := listAll(ctx, c, matchFilters(obj.Spec))
	if err != nil {
		return fromHSS(err)
	}
	st := &obj.Status
	prev := int64(0)
	if st.LastScanRequest != nil {
		prev = st.LastScanRequest.Round
	}
	st.Images, st.ImagesOmitted = roundMembers(obj.Spec, listed, st.Images)
	st.LastScanRequest = &scanv1.ScanRequest{
		Round: prev + 1, Trigger: why, Generation: obj.Generation, RequestedAt: metav1.NewTime(r.Clock.Now()),
	}
	st.NextScanTime = nil
	st.Summary = summarize(st, entries(st))
	if v := obj.Annotations[scanv1.RescanAnnotation]; v != "" {
		st.LastHandledRescanAt = v // this round answers any pending request
	}
	return nil
}

// roundMembers builds the status entries of a new round. An explicit list
// keeps its order and marks images HSS does not list; a selector takes what
// HSS listed. Previous results stay visible until the round replaces them.
func roundMembers(spec scanv1.ImageScanSpec, listed map[imageKey]hss.Image, previous []scanv1.ImageResult) ([]scanv1.ImageResult, int32) {
	old := map[imageKey]scanv1.ImageResult{}
	for _, e := range previous {
		old[keyOfResult(e)] = e
	}
	entry := func(k imageKey) scanv1.ImageResult {
		e, ok := old[k]
		if !ok {
			e = scanv1.ImageResult{Namespace: k.Namespace, Name: k.Name, Tag: k.Tag, InstanceID: k.InstanceID}
		}
		img, found := listed[k]
		if !found {
			e.ScanStatus, e.Message, e.ImageID = scanv1.ScanStatusNotFound, "HSS does not list this image; is it synchronised from SWR?", ""
			return e
		}
		e.ImageID, e.ScanStatus, e.Message = img.ImageID, img.ScanStatus, img.ScanFailedDesc
		e.LastScanTime = microTime(img.LastScanAt)
		return e
	}
	var keys []imageKey
	if spec.Selector == nil {
		for _, ref := range spec.Images {
			keys = append(keys, keyOfRef(ref))
		}
	} else {
		keys = sortedKeys(listed)
	}
	omitted := int32(0)
	if len(keys) > scanv1.MaxReportedImages {
		omitted = int32(len(keys) - scanv1.MaxReportedImages)
		keys = keys[:scanv1.MaxReportedImages]
	}
	entries := make([]scanv1.ImageResult, 0, len(keys))
	for _, k := range keys {
		entries = append(entries, entry(k))
	}
	return entries, omitted
}

// send calls batch-scan for the current round. When resuming a round whose
// earlier attempt may have reached HSS, it first looks for evidence that it
// did: a member queued or scanning, or scanned since the intent. An explicit
// list sent in chunks may have reached HSS in part; only the images without
// evidence are sent again.
func (r *ImageScanReconciler) send(ctx context.Context, obj *scanv1.ImageScan, c hss.Client, p *statusPatcher, resuming bool) (bool, error) {
	round := obj.Status.LastScanRequest
	req := batchScanRequest(obj.Spec)
	if resuming && round.Attempts > 0 {
		listed, err := listAll(ctx, c, followFilters(obj.Spec))
		if err != nil {
			return false, fromHSS(err)
		}
		missing, reached := withoutEvidence(obj, listed)
		switch {
		case reached && (req.All || len(missing) == 0):
			round.AcceptedAt = ptrNow(r.Clock)
			return false, nil
		case reached:
			req.Images = refsOf(missing, req.Images)
		}
	}
	if countListed(obj.Status.Images) == 0 && obj.Status.ImagesOmitted == 0 {
		round.AcceptedAt = ptrNow(r.Clock) // nothing HSS could scan
		return false, nil
	}
	round.Attempts++
	if err := p.patch(ctx, obj); err != nil {
		return false, fmt.Errorf("record scan intent: %w", err)
	}
	round = obj.Status.LastScanRequest // the patch decoded the server's copy into obj
	if err := c.BatchScan(ctx, req); err != nil {
		return false, fromHSS(err)
	}
	// The outcome is saved with this pass's report, which follows at once.
	round.AcceptedAt = ptrNow(r.Clock)
	r.Events.Eventf(obj, nil, corev1.EventTypeNormal, scanv1.EventScanRequested, "BatchScan",
		"Round %d (%s): asked HSS to scan %d images", round.Round, round.Trigger, obj.Status.Summary.Matched)
	return true, nil
}

// withoutEvidence returns the listed members HSS shows no sign of having
// been asked to scan, and whether any member shows one.
func withoutEvidence(obj *scanv1.ImageScan, listed map[imageKey]hss.Image) (missing map[imageKey]bool, reached bool) {
	requested := obj.Status.LastScanRequest.RequestedAt.Time
	missing = map[imageKey]bool{}
	for _, e := range obj.Status.Images {
		img, ok := listed[keyOfResult(e)]
		switch {
		case !ok:
		case hss.InProgress(img.ScanStatus) || scannedSince(img, e, requested):
			reached = true
		default:
			missing[keyOfResult(e)] = true
		}
	}
	return missing, reached
}

// refsOf keeps the refs named in keys.
func refsOf(keys map[imageKey]bool, refs []hss.ImageRef) []hss.ImageRef {
	var out []hss.ImageRef
	for _, ref := range refs {
		if keys[imageKey{ref.Namespace, ref.Name, ref.Tag, ref.InstanceID}] {
			out = append(out, ref)
		}
	}
	return out
}

// scannedSince: img carries a scan that ended after the entry's recorded
// one, or, with nothing recorded, after the round's intent.
func scannedSince(img hss.Image, e scanv1.ImageResult, requested time.Time) bool {
	if img.LastScanAt.IsZero() {
		return false
	}
	if e.LastScanTime != nil {
		return img.LastScanAt.After(e.LastScanTime.Time)
	}
	return !img.LastScanAt.Before(requested.Add(-clockSkew))
}

// clockSkew allows for HSS's clock running behind ours.
const clockSkew = time.Minute

func entries(st *scanv1.ImageScanStatus) []*scanv1.ImageResult {
	out := make([]*scanv1.ImageResult, len(st.Images))
	for i := range st.Images {
		out[i] = &st.Images[i]
	}
	return out
}

func countListed(entries []scanv1.ImageResult) int {
	n := 0
	for _, e := range entries {
		if e.ScanStatus != scanv1.ScanStatusNotFound {
			n++
		}
	}
	return n
}
