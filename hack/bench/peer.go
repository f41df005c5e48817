package main

import (
	"context"
	"sync"
	"time"

	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

// peerResult is what the naive client paid for its images.
type peerResult struct {
	images, calls, throttled int
	elapsed                  time.Duration
}

// runPeer follows images the way a script, or a one-shot resource per
// image, would: for each image on its own, batch-scan it, poll the list for
// it until its scan ends, fetch its statistics. It uses the same SDK
// client, the same quota and the same concurrency as the manager.
func runPeer(s settings, images []simulator.Image) (peerResult, error) {
	res := peerResult{images: len(images)}
	sb, err := sandbox.Start(sandbox.Config{
		Simulator: s.simulator(),
		Images:    images,
		NoManager: true,
	})
	if err != nil {
		return res, err
	}
	defer stop(sb)
	provider := hss.NewProvider(hss.Options{Limits: hss.LimitOptions{QPS: s.quota, Burst: int(s.quota), MaxInFlight: 8}})
	c, err := provider.Client(sb.Target())
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	jobs := make(chan simulator.Image)
	var wg sync.WaitGroup
	began := time.Now()
	for range s.peerWorkers {
		wg.Go(func() {
			for img := range jobs {
				follow(ctx, c, img, s.peerPoll)
			}
		})
	}
	for _, img := range images {
		jobs <- img
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(began)
	for _, byOutcome := range sb.Simulator.Counts() {
		for outcome, n := range byOutcome {
			res.calls += n
			if outcome == simulator.OutcomeThrottled {
				res.throttled += n
			}
		}
	}
	return res, ctx.Err()
}

// follow is the peer's work for one image; a failed call is tried again
// after the poll interval.
func follow(ctx context.Context, c hss.Client, img simulator.Image, poll time.Duration) {
	ref := hss.ImageRef{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag}
	for ctx.Err() == nil && c.BatchScan(ctx, hss.BatchScanRequest{ImageType: img.Type, Images: []hss.ImageRef{ref}}) != nil {
		time.Sleep(poll)
	}
	requested := time.Now().Add(-time.Second)
	for ctx.Err() == nil {
		time.Sleep(poll)
		listed, err := c.ListImages(ctx, hss.Filter{ImageType: img.Type, Namespace: img.Namespace, ImageName: img.Name, Tag: img.Tag})
		if err != nil || len(listed) != 1 || !hss.Terminal(listed[0].ScanStatus) || listed[0].LastScanAt.Before(requested) {
			continue
		}
		for ctx.Err() == nil {
			if _, err := c.FileStatistics(ctx, listed[0]); err == nil {
				return
			}
			time.Sleep(poll)
		}
	}
}
