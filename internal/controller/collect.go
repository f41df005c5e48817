package controller

import (
	"context"
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
func (r *ImageScanReconciler) collect(ctx context.Context, c hss.Client, imageType string, members []*scanv1.ImageResult, round int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.StatsConcurrency)
	var mu sync.Mutex
	for _, m := range members {
		if m.Round != round || m.ScanStatus != hss.StatusSuccess || m.FilesCount != nil || m.LastScanTime == nil {
			continue
		}
		key := statsKey{imageType: imageType, image: keyOfResult(*m), imageID: m.ImageID, scannedAt: m.LastScanTime.Time}
		if s, ok := r.stats.get(key); ok {
			m.FilesCount, m.FilesSize = &s.Files, &s.Size
			continue
		}
		img := hss.Image{ImageType: imageType, ImageID: m.ImageID, Namespace: m.Namespace, Name: m.Name, Tag: m.Tag, InstanceID: m.InstanceID}
		g.Go(func() error {
			s, err := c.FileStatistics(gctx, img)
			if err != nil {
				return err
			}
			r.stats.put(key, s)
			mu.Lock()
			m.FilesCount, m.FilesSize = &s.Files, &s.Size
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fromHSS(err)
	}
	return nil
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
