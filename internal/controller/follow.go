package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// listAll runs each filter's paged list and indexes the images' latest
// scans, a page at a time: those keep takes, or all when it is nil.
func listAll(ctx context.Context, c hss.Client, filters []hss.Filter, keep func(hss.Image) bool) (scanIndex, error) {
	out := scanIndex{}
	err := eachListed(ctx, c, filters, func(img hss.Image) {
		if keep == nil || keep(img) {
			out.put(img)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachListed runs each filter's paged list and hands every image to visit.
func eachListed(ctx context.Context, c hss.Client, filters []hss.Filter, visit func(hss.Image)) error {
	for _, f := range filters {
		err := c.EachImage(ctx, f, func(img hss.Image) error {
			visit(img)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// keySet is a sorted list of image keys without repeats: a set that costs
// the keys alone, for a listing of any size.
type keySet []rounds.Key

func compareKeys(a, b rounds.Key) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name),
		strings.Compare(a.Tag, b.Tag), strings.Compare(a.InstanceID, b.InstanceID))
}

func (s keySet) has(k rounds.Key) bool {
	_, ok := slices.BinarySearchFunc(s, k, compareKeys)
	return ok
}

// listKeys runs each filter's paged list and keeps the images' keys only:
// held while a round starts, a key per image matched (at most
// --max-images-per-scan and a page, where the platform sets it).
func listKeys(ctx context.Context, c hss.Client, filters []hss.Filter) (keySet, error) {
	var keys []rounds.Key
	for _, f := range filters {
		err := c.EachImage(ctx, f, func(img hss.Image) error {
			keys = append(keys, rounds.KeyOfImage(img))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(keys, compareKeys)
	return slices.Compact(keys), nil
}

// follow records each member of page whose scan ended since the round
// started.
//
// It reads the feed of finished scans of its client and image type
// (finished.go), which one walk serves for every ImageScan. From
// StartTimeout after HSS accepted the round it also walks the ImageScan's
// own images first, because only a full walk shows an image that never
// started or is gone; it keeps only the images whose scan has not ended in
// the round (the feed, read after it, has the others), so that it holds the
// stragglers, not the round. Both are asked once per pass, at the first page
// with a member still to hear of; the feed's answer is shared and never
// changed.
func (r *ImageScanReconciler) follow(ctx context.Context, p *pass, page []*member) error {
	if rounds.PhaseOf(p.round) != rounds.Scanning || p.sent || !anyUnscanned(page, p.round.Round) {
		return nil
	}
	if !p.heard {
		if err := r.hearFinished(ctx, p); err != nil {
			return err
		}
		p.heard = true
	}
	round := p.round
	for _, m := range page {
		if m.status.Round == round.Round {
			continue
		}
		done, ended := p.finished.get(m.key)
		if ended {
			observe(m, done, round, detailOf(p.obj.Spec))
		}
		if !p.ownWalk || m.status.Round == round.Round {
			continue
		}
		img, listed := p.unfinished.get(m.key)
		switch {
		case listed:
			r.giveUpIfNeverStarted(m, img, round)
			if m.status.Round != round.Round && r.pastDeadline(p.obj, round) {
				m.status = unfinished(img, round, timeoutOf(p.obj))
			}
		case !ended && p.feed != nil && !p.partial:
			// Neither unfinished when walked nor ended in the feed read
			// after it (nor in a partial answer's later scans, which a
			// later pass hears): HSS does not list it.
			m.status = scanv1.ImageReportStatus{Round: round.Round, ScanStatus: scanv1.ScanStatusNotFound, Message: "HSS no longer lists this image"}
		}
	}
	return nil
}

// hearFinished walks an overdue round's own unfinished images, then asks
// the feed which scans ended, from a walk that started after that one. When
// the ImageScan fell behind the feed's window, it lists its own images whose
// scans ended from where it was, and keeps the earliest, as many as the
// feed holds at most.
func (r *ImageScanReconciler) hearFinished(ctx context.Context, p *pass) error {
	var walked time.Time
	if r.overdue(p.round) {
		walked = r.Clock.Now()
		listed, err := listAll(ctx, p.client, followFilters(p.obj.Spec), func(img hss.Image) bool { return !endedInRound(img, p.round) })
		if err != nil {
			return fromHSS(err)
		}
		p.unfinished, p.ownWalk = listed, true
	}
	feed := r.feeds.feed(p.client, hss.Filter{ImageType: string(p.obj.Spec.ImageType)}, r.Clock.Now())
	done, err := feed.finished(ctx, client.ObjectKeyFromObject(p.obj), p.round, walked, r.Clock)
	switch {
	case errors.Is(err, errFeedBusy):
		// No news this time; the next poll asks again.
		return nil
	case err != nil:
		return fromHSS(err)
	}
	if behind := done.behind; !behind.at.IsZero() {
		filters := followFilters(p.obj.Spec)
		for i := range filters {
			filters[i].ScannedAfter = &behind.at
		}
		// The earliest of them only, up to the feed's limit: the pass
		// acknowledges no further than it holds them all, and the next
		// pass goes on from there.
		own := newEarliestScans(feed.limit, behind)
		err := eachListed(ctx, p.client, filters, func(img hss.Image) {
			if endedInRound(img, p.round) {
				own.put(img)
			}
		})
		if err != nil {
			return fromHSS(err)
		}
		// Listed after the feed's walk: its listing is the newer.
		done.scans = append(scanIndexes{own.scans}, done.scans...)
		// Every scan of its own from its cursor up to complete is among
		// them, whatever the feed's answer reaches: the pass answers up to
		// there, which may be further than the feed's walks (a feed that
		// starts its window again after thousands of scans ended at once
		// never reaches past them).
		if complete, ok := own.complete(); ok {
			p.partial, done.upTo = true, complete
		}
	}
	p.finished, p.feed, p.upTo = done.scans, feed, done.upTo
	return nil
}

// endedInRound: img's scan ended after the round started on HSS's clock.
func endedInRound(img hss.Image, round *scanv1.ScanRequest) bool {
	return hss.Terminal(img.ScanStatus) && !img.LastScanAt.IsZero() && !img.LastScanAt.Before(rounds.HSSStart(round).Add(-datePrecision))
}

// acknowledge tells the feed that the pass followed every member of its
// round with the feed's answer and saved what it learnt, so that the next
// read needs only later scans. A result waiting for its statistics is
// saved with them, so a scan the pass learnt of but could not save yet is
// asked for again. A pass that made reports again for members deleted from
// outside acknowledges nothing: those heard nothing of the answer.
func (r *ImageScanReconciler) acknowledge(p *pass) {
	if p.restored > 0 {
		r.feeds.forget(client.ObjectKeyFromObject(p.obj))
		return
	}
	if p.feed != nil && p.walked {
		upTo := p.upTo
		if !p.unsavedFrom.at.IsZero() && p.unsavedFrom.before(upTo) {
			upTo = p.unsavedFrom
		}
		p.feed.acknowledge(client.ObjectKeyFromObject(p.obj), p.round.Round, upTo)
	}
}

// anyUnscanned: some member has no scan result in the round yet.
func anyUnscanned(members []*member, round int64) bool {
	for _, m := range members {
		if m.status.Round != round {
			return true
		}
	}
	return false
}

// overdue: HSS accepted the round StartTimeout ago.
func (r *ImageScanReconciler) overdue(round *scanv1.ScanRequest) bool {
	return round.AcceptedAt != nil && r.Clock.Since(round.AcceptedAt.Time) >= r.StartTimeout
}

// timeoutOf is the ImageScan's round deadline, counted from HSS's
// acceptance.
func timeoutOf(obj *scanv1.ImageScan) time.Duration {
	if obj.Spec.Timeout != nil {
		return obj.Spec.Timeout.Duration
	}
	return scanv1.DefaultRoundTimeout
}

// pastDeadline: the round has run its spec.timeout since HSS accepted it.
func (r *ImageScanReconciler) pastDeadline(obj *scanv1.ImageScan, round *scanv1.ScanRequest) bool {
	return round.AcceptedAt != nil && r.Clock.Since(round.AcceptedAt.Time) >= timeoutOf(obj)
}

// unfinished is the result of an image whose scan HSS has not ended by the
// round's deadline: failed, saying where HSS left it.
func unfinished(img hss.Image, round *scanv1.ScanRequest, timeout time.Duration) scanv1.ImageReportStatus {
	return scanv1.ImageReportStatus{
		Round: round.Round, ImageID: img.ImageID, Digest: img.Digest, ScanStatus: hss.StatusFailed,
		Message: fmt.Sprintf("HSS had not finished scanning this image (%s) when the round reached its deadline, %s after HSS accepted it (spec.timeout)",
			img.ScanStatus, timeout),
	}
}

// observe takes HSS's view of a member's image as the round's result when
// it shows a scan that ended since the round started.
func observe(m *member, img hss.Image, round *scanv1.ScanRequest, mode scanv1.VulnerabilityDetail) {
	if hss.Terminal(img.ScanStatus) && newScan(img, m.status, round) {
		m.status = resultOf(img, m.status, round.Round, mode)
	}
}

// newScan: img shows a scan that ended after the one the report holds, and
// after the round started on HSS's clock.
func newScan(img hss.Image, prev scanv1.ImageReportStatus, round *scanv1.ScanRequest) bool {
	if img.LastScanAt.IsZero() {
		return false
	}
	if prev.LastScanTime != nil && !img.LastScanAt.After(prev.LastScanTime.Time) {
		return false
	}
	return !img.LastScanAt.Before(rounds.HSSStart(round).Add(-datePrecision))
}

// datePrecision: HSS's clock is learnt from Date headers, to the second.
const datePrecision = time.Second

// resultOf is a member's report status for a scan that ended in the round.
// An image whose ID is the one the report already holds statistics for
// keeps them: the same image ID is the same content, whose files cannot
// have changed. Its vulnerabilities are read again (inspect), as a new scan
// may know new ones, unless the spec asks for none or the scan found none.
func resultOf(img hss.Image, prev scanv1.ImageReportStatus, round int64, mode scanv1.VulnerabilityDetail) scanv1.ImageReportStatus {
	s := scanv1.ImageReportStatus{
		Round: round, ImageID: img.ImageID, Digest: img.Digest, ScanStatus: img.ScanStatus,
		Message: img.ScanFailedDesc, FailureCode: img.ScanFailedCode, LastScanTime: microTime(img.LastScanAt),
	}
	if img.ScanStatus != hss.StatusSuccess {
		return s
	}
	s.Message, s.FailureCode, s.SeverityLevel = "", "", img.SeverityLevel
	s.Findings = &scanv1.Findings{
		Vulnerabilities: img.Findings.Vulnerabilities,
		MaliciousFiles:  img.Findings.MaliciousFiles,
		UnsafeSettings:  img.Findings.UnsafeSettings,
	}
	switch {
	case mode == scanv1.VulnerabilitiesNone:
		s.Detail = mode
	case img.Findings.Vulnerabilities == 0:
		s.Detail, s.Findings.Severities = mode, &scanv1.Severities{}
	}
	if prev.FilesCount != nil && prev.ImageID != "" && prev.ImageID == img.ImageID {
		s.FilesCount, s.FilesSize, s.Size = prev.FilesCount, prev.FilesSize, prev.Size
	}
	return s
}

// giveUpIfNeverStarted ends the round for an image HSS has not scanned long
// after accepting the round, so that the round ends instead of waiting
// forever. The image was not scanned in this round: a scan that ended
// before it is not this round's result, whatever it found.
func (r *ImageScanReconciler) giveUpIfNeverStarted(m *member, img hss.Image, round *scanv1.ScanRequest) {
	if m.status.Round == round.Round || hss.InProgress(img.ScanStatus) {
		return
	}
	msg := fmt.Sprintf("HSS did not start scanning this image within %s of accepting the round", r.StartTimeout)
	if !img.LastScanAt.IsZero() {
		msg += fmt.Sprintf("; its latest scan ended %s, before this round, and is not counted as this round's",
			img.LastScanAt.UTC().Format(time.RFC3339))
	}
	m.status = scanv1.ImageReportStatus{
		Round: round.Round, ImageID: img.ImageID, Digest: img.Digest, ScanStatus: hss.StatusFailed, Message: msg,
	}
}

// pollDelay grows with the round's age: short at first, longer while scans
// run long.
func (r *ImageScanReconciler) pollDelay(round *scanv1.ScanRequest) time.Duration {
	since := r.Clock.Since(round.RequestedAt.Time)
	return min(max(since/4, r.MinPoll), r.MaxPoll)
}

// noteUnsaved keeps the earliest scan the round learnt of but has not saved
// (a result is saved with its statistics), so that the feed answers for it
// again. Its end is the time the feed's answer gave, which the feed keeps:
// reaching back further would have it walk everything again.
func (p *pass) noteUnsaved(m *member) {
	if p.round == nil || m.status.Round != p.round.Round || m.written.Round == p.round.Round || m.status.LastScanTime == nil {
		return
	}
	at := scanCursor{at: m.status.LastScanTime.Time, key: m.key.Index()}
	if p.unsavedFrom.at.IsZero() || at.before(p.unsavedFrom) {
		p.unsavedFrom = at
	}
}
