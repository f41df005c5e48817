package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// cacheEntriesDesc is the one manager-wide gauge of what the reconciler's
// caches hold. Each cache has a bound (a limit, a sweep, or both); the gauge
// shows how close a running manager is to them without a heap profile.
var cacheEntriesDesc = prometheus.NewDesc("imagescan_cache_entries", cacheEntriesHelp, []string{"cache"}, nil)

const cacheEntriesHelp = "Entries the manager's caches hold now, by cache: credentials (parsed Secrets), catalogue (vulnerabilities' catalogue entries), " +
	"finished_feeds and finished_scans (feeds of finished scans and the scans they keep), counts and waiting_rounds (running rounds' " +
	"last counts and members still scanning), hss_clients and hss_limiters, imagescan_series (ImageScans shown on /metrics)."

// cacheEntry is one series of the gauge: a cache and what it holds.
type cacheEntry struct {
	cache string
	n     int
}

// entries are the sizes in the order and with the labels the gauge shows.
func (s CacheSizes) entries() []cacheEntry {
	return []cacheEntry{
		{"credentials", s.Credentials}, {"catalogue", s.Catalogue},
		{"finished_feeds", s.Feeds}, {"finished_scans", s.FinishedScans},
		{"counts", s.Counts}, {"waiting_rounds", s.WaitingRounds},
		{"hss_clients", s.HSSClients}, {"hss_limiters", s.HSSLimiters},
		{"imagescan_series", s.ObjectSeries},
	}
}

// cacheCollector reads the sizes of the reconciler set up last while a
// scrape runs; a manager has one.
type cacheCollector struct {
	mu    sync.RWMutex
	sizes func() CacheSizes
}

var cacheMetrics = &cacheCollector{}

func (c *cacheCollector) follow(sizes func() CacheSizes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sizes = sizes
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- cacheEntriesDesc }

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	sizes := c.sizes
	c.mu.RUnlock()
	if sizes == nil {
		return
	}
	for _, e := range sizes().entries() {
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(e.n), e.cache)
	}
}
