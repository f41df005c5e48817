package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// collect fetches the file statistics of the members of ms whose scan
// succeeded in this round (fanOut): from HSS the first time a scan is
// seen, from the cache after (several ImageScans may share an image). A
// member whose image ID is unchanged since its report's statistics already
// has them (resultOf) and costs no call.
//
// A failed call is counted on the report, and the image is tried again on
// the next poll, at most MaxReadAttempts times in the round, so one
// unreadable answer neither holds the round nor makes the controller spin.
func (r *ImageScanReconciler) collect(ctx context.Context, p *pass, ms []*member) error {
	round := p.round.Round
	imageType := string(p.obj.Spec.ImageType)
	var calls []*member // at most a slice (readMembers)
	for _, m := range ms {
		if !rounds.AwaitingStatistics(m.status, round) || m.status.LastScanTime == nil {
			continue
		}
		if s, ok := r.stats.get(statsKeyOf(p, m)); ok {
			setStatistics(&m.status, s)
			continue
		}
		calls = append(calls, m)
	}
	return r.fanOut(ctx, calls, func(ctx context.Context, m *member) (func(), error) {
		img := hss.Image{ImageType: imageType, ImageID: m.status.ImageID, Namespace: m.key.Namespace, Name: m.key.Name, Tag: m.key.Tag, InstanceID: m.key.InstanceID}
		s, err := p.client.FileStatistics(ctx, img)
		return func() {
			r.stats.put(statsKeyOf(p, m), s)
			setStatistics(&m.status, s)
		}, err
	}, func(m *member, err error) { recordStatisticsFailure(&m.status, err) })
}

func statsKeyOf(p *pass, m *member) statsKey {
	return statsKey{client: p.client, imageType: string(p.obj.Spec.ImageType), image: m.key, imageID: m.status.ImageID, scannedAt: m.status.LastScanTime.Time}
}

func setStatistics(s *scanv1.ImageReportStatus, fs hss.FileStats) {
	s.FilesCount, s.FilesSize, s.Size = &fs.Files, &fs.Size, rounds.HumanBytes(fs.Size)
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
	if s.StatisticsAttempts >= scanv1.MaxReadAttempts {
		s.Message = fmt.Sprintf("file statistics unavailable after %d attempts: %v", s.StatisticsAttempts, err)
		return
	}
	s.Message = fmt.Sprintf("file statistics failed (attempt %d of %d, retrying): %v", s.StatisticsAttempts, scanv1.MaxReadAttempts, err)
}

type statsKey struct {
	client    hss.Client // one identity's answers never serve another's
	imageType string
	image     rounds.Key
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
