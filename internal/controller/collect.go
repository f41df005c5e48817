package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// collect fetches the file statistics of members whose scan succeeded in
// this round, at most StatsConcurrency at a time: from HSS the first time a
// scan is seen, from the cache after (several ImageScans may share an image).
// A member whose image ID is unchanged since its report's statistics already
// has them (resultOf) and costs no call.
//
// A failed call is the image's own problem unless it is an authentication
// failure, which every call would share and which stops the pass. The
// report counts the attempt, and the image is tried again on the next poll,
// at most MaxStatisticsAttempts times in the round, so one unreadable answer
// neither holds the round nor makes the controller spin.
func (r *ImageScanReconciler) collect(ctx context.Context, p *pass) error {
	if phaseOf(p.round) != phaseScanning {
		return nil
	}
	round := p.round.Round
	imageType := string(p.obj.Spec.ImageType)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.StatsConcurrency)
	var mu sync.Mutex
	var throttled error
	for _, m := range p.members {
		mu.Lock()
		spent := throttled != nil
		mu.Unlock()
		if spent {
			break // the budget is spent: no point in asking for more now
		}
		if !awaitingStatistics(m.status, round) || m.status.LastScanTime == nil {
			continue
		}
		key := statsKey{client: p.client, imageType: imageType, image: m.key, imageID: m.status.ImageID, scannedAt: m.status.LastScanTime.Time}
		if s, ok := r.stats.get(key); ok {
			setStatistics(&m.status, s)
			continue
		}
		img := hss.Image{ImageType: imageType, ImageID: m.status.ImageID, Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID}
		g.Go(func() error {
			s, err := p.client.FileStatistics(gctx, img)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				r.stats.put(key, s)
				setStatistics(&m.status, s)
			case hss.ClassOf(err) == hss.ClassAuth:
				return err
			case hss.ClassOf(err) == hss.ClassThrottled:
				// Not the image's fault: the pass ends, and comes back when
				// the budget allows.
				throttled = err
			case gctx.Err() != nil:
				// Not the image's fault either: the pass's deadline, or
				// another call's failure, cancelled this one.
			default:
				recordStatisticsFailure(&m.status, err)
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

func setStatistics(s *scanv1.ImageReportStatus, fs hss.FileStats) {
	s.FilesCount, s.FilesSize, s.Size = &fs.Files, &fs.Size, HumanBytes(fs.Size)
	s.StatisticsAttempts, s.Message = 0, ""
}

// recordStatisticsFailure counts a failed attempt and says in the report's
// message what failed, with the HSS error's code and request ID only.
func recordStatisticsFailure(s *scanv1.ImageReportStatus, err error) {
	s.StatisticsAttempts++
	var he *hss.Error
	if errors.As(err, &he) {
		err = he // drop the wrapping that repeats the image's name
	}
	if s.StatisticsAttempts >= scanv1.MaxStatisticsAttempts {
		s.Message = fmt.Sprintf("file statistics unavailable after %d attempts: %v", s.StatisticsAttempts, err)
		return
	}
	s.Message = fmt.Sprintf("file statistics failed (attempt %d of %d, retrying): %v", s.StatisticsAttempts, scanv1.MaxStatisticsAttempts, err)
}

type statsKey struct {
	client    hss.Client // one identity's answers never serve another's
	imageType string
	image     imageKey
	imageID   string
	scannedAt time.Time
}

// statsCache remembers file statistics per completed scan, so that
// ImageScans sharing an image in a round read its statistics once. It is
// bounded by dropping everything when full, which only costs refetches: a
// report keeps its own image's statistics across rounds (resultOf), so the
// cache need not grow with the images the manager follows.
type statsCache struct {
	mu sync.Mutex
	m  map[statsKey]hss.FileStats
}

const maxCachedStats = 10000

func (s *statsCache) get(k statsKey) (hss.FileStats, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok
}

func (s *statsCache) put(k statsKey, v hss.FileStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxCachedStats {
		s.m = map[statsKey]hss.FileStats{}
	}
	s.m[k] = v
}
