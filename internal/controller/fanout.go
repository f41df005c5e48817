package controller

import (
	"context"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// Slices of a round's member reads. A pass reads a slice's statistics and
// vulnerabilities, saves the slice's reports, and goes on to the next: it
// holds at most a slice of unsaved results (with Details, a slice of
// vulnerability lists), and a manager that stops loses at most a slice's
// reads.
const (
	readSlice   = 256
	detailSlice = 16
)

// readMembers reads, a slice at a time, what the page's members still
// need after their scans: file statistics (collect), then vulnerabilities
// (inspect); each slice is saved before the next is read. The calls run
// under calls, the pass's HSS deadline; the saves under ctx, so that what
// was read is kept when the deadline ends the calls.
func (r *ImageScanReconciler) readMembers(ctx, calls context.Context, p *pass, page []*member) error {
	if rounds.PhaseOf(p.round) != rounds.Scanning {
		return nil
	}
	round, mode := p.round.Round, detailOf(p.obj.Spec)
	var waiting []*member
	for _, m := range page {
		if rounds.AwaitingStatistics(m.status, round) || rounds.AwaitingDetail(m.status, round) && mode != scanv1.VulnerabilitiesNone {
			waiting = append(waiting, m)
		}
	}
	size := readSlice
	if mode == scanv1.VulnerabilitiesDetails {
		size = detailSlice
	}
	for part := range slices.Chunk(waiting, size) {
		err := r.collect(calls, p, part)
		if err == nil {
			err = r.inspect(calls, p, part)
		}
		if serr := r.saveMembers(ctx, p, part, round); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fanOut makes call for each of ms, ReadConcurrency at a time. What an
// error does to the others is the policy of its class (errors.go): one
// every call would share stops the fan-out and is returned; one that
// spends the budget starts no further call and is returned once the calls
// in flight end; any other is the member's own, handed to failed (under a
// lock, as is call's success), unless the pass's deadline or another's
// failure cancelled the call, which is nobody's fault.
func (r *ImageScanReconciler) fanOut(ctx context.Context, ms []*member, call func(context.Context, *member) (func(), error), failed func(*member, error)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.ReadConcurrency)
	var mu sync.Mutex
	var throttled error
	for _, m := range ms {
		mu.Lock()
		spent := throttled != nil
		mu.Unlock()
		if spent || gctx.Err() != nil {
			break // the budget is spent, or the pass's deadline passed: no new call
		}
		g.Go(func() error {
			done, err := call(gctx, m)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				if done != nil {
					done()
				}
				return nil
			}
			switch policyOf(err).members {
			case allFail:
				return err
			case budgetSpent:
				throttled = err
			default:
				if gctx.Err() == nil {
					failed(m, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fromHSS(err)
	}
	if throttled != nil {
		return fromHSS(throttled)
	}
	return nil
}
