package controller

import (
	"context"
	"time"
)

// defaultSweepInterval is how often the janitor prunes the caches.
const defaultSweepInterval = time.Minute

// janitor prunes the reconciler's caches on a timer: what an ImageScan, a
// Secret or a client left behind goes even when nothing reconciles again
// (a completed round without an interval is never requeued).
func (r *ImageScanReconciler) janitor(ctx context.Context) error {
	t := r.Ticks.NewTicker(r.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			r.sweep(ctx)
		}
	}
}

func (r *ImageScanReconciler) sweep(ctx context.Context) {
	now := r.Clock.Now()
	r.catalogue.sweep(now)
	r.feeds.sweep(now)
	r.secrets.sweep(ctx, r.Client, now)
}

// CacheSizes says what the reconciler's own caches hold.
type CacheSizes struct {
	// Credentials: parsed Secrets.
	Credentials int
	// Catalogue: vulnerabilities whose catalogue entries are cached.
	Catalogue int
	// Feeds: feeds of finished scans; FinishedScans: the scans they hold.
	Feeds, FinishedScans int
	// Counts: ImageScans whose large running round's last count is kept;
	// WaitingRounds: ImageScans whose small running round's members still
	// scanning are kept (walks.go, quiet.go).
	Counts, WaitingRounds int
	// HSSClients and HSSLimiters: what the HSS client provider holds, when
	// it says (*hss.Provider does).
	HSSClients, HSSLimiters int
	// ObjectSeries: ImageScans whose figures /metrics shows.
	ObjectSeries int
}

// sizedProvider is a ClientProvider that says what it holds.
type sizedProvider interface {
	Size() (clients, limiters int)
}

// CacheSizes reports what the caches hold now.
func (r *ImageScanReconciler) CacheSizes() CacheSizes {
	feeds, scans := r.feeds.len()
	s := CacheSizes{Credentials: r.secrets.len(), Catalogue: r.catalogue.len(), Feeds: feeds, FinishedScans: scans,
		Counts: r.counts.len(), WaitingRounds: r.waiting.len(), ObjectSeries: objectMetrics.len()}
	if p, ok := r.HSS.(sizedProvider); ok {
		s.HSSClients, s.HSSLimiters = p.Size()
	}
	return s
}
