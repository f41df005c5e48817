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

// collect fetches the file statistics of members that finished their scan
// successfully in this round, at most StatsConcurrency at a time. Each
// completed scan (image ID and scan time) is fetched once: from HSS the first
// time, from the cache or the status after.
//
// A failed call is the image's own problem unless it is an authentication
// failure, which every call would share and which stops the pass. The image
// records the attempt and is tried again on the next poll, at most
// MaxStatisticsAttempts times, so one unreadable answer neither holds the
// round nor makes the controller spin.
func (r *ImageScanReconciler) collect(ctx context.Context, c hss.Client, imageType string, members []*scanv1.ImageResult, round int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.StatsConcurrency)
	var mu sync.Mutex
	for _, m := range members {
		if m.Round != round || m.ScanStatus != hss.StatusSuccess || m.FilesCount != nil || m.LastScanTime == nil || statisticsGivenUp(m) {
			continue
		}
		key := statsKey{imageType: imageType, image: keyOfResult(*m), imageID: m.ImageID, scannedAt: m.LastScanTime.Time}
		if s, ok := r.stats.get(key); ok {
			setStatistics(m, s)
			continue
		}
		img := hss.Image{ImageType: imageType, ImageID: m.ImageID, Namespace: m.Namespace, Name: m.Name, Tag: m.Tag, InstanceID: m.InstanceID}
		g.Go(func() error {
			s, err := c.FileStatistics(gctx, img)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				r.stats.put(key, s)
				setStatistics(m, s)
			case hss.ClassOf(err) == hss.ClassAuth:
				return err
			case hss.ClassOf(err) == hss.ClassThrottled || gctx.Err() != nil:
				// Neither is the image's fault: the limiter has paused, or
				// another call's failure cancelled this one.
			default:
				recordStatisticsFailure(m, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fromHSS(err)
	}
	return nil
}

func setStatistics(m *scanv1.ImageResult, s hss.FileStats) {
	m.FilesCount, m.FilesSize = &s.Files, &s.Size
	m.StatisticsAttempts, m.Message = 0, ""
}

// recordStatisticsFailure counts a failed attempt and says in the entry's
// message what failed, with the HSS error's code and request ID only.
func recordStatisticsFailure(m *scanv1.ImageResult, err error) {
	m.StatisticsAttempts++
	var he *hss.Error
	if errors.As(err, &he) {
		err = he // drop the wrapping that repeats the image's name
	}
	if statisticsGivenUp(m) {
		m.Message = fmt.Sprintf("file statistics unavailable after %d attempts: %v", m.StatisticsAttempts, err)
		return
	}
	m.Message = fmt.Sprintf("file statistics failed (attempt %d of %d, retrying): %v", m.StatisticsAttempts, scanv1.MaxStatisticsAttempts, err)
}

type statsKey struct {
	imageType string
	image     imageKey
	imageID   string
	scannedAt time.Time
}

// statsCache remembers file statistics per completed scan; it is bounded by
// dropping everything when full, which only costs refetches.
type statsCache struct {
	mu sync.Mutex
	m  map[statsKey]hss.FileStats
}

const maxCachedStats = 100000

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
