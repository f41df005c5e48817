package controller

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// The collector keeps one value per ImageScan and makes its series only
// while a scrape reads them; what it shows follows the last status, and a
// forgotten ImageScan shows nothing.
func TestObjectCollectorSeries(t *testing.T) {
	c := newObjectCollector()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	done := metav1.Unix(1_800_000_000, 0)
	scan := func(name string) *scanv1.ImageScan {
		return &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name}}
	}
	withSeverities := scanv1.ImageScanStatus{Backend: "tasks", LastCompletionTime: &done}
	withSeverities.Summary.Severities = &scanv1.Severities{Critical: 2, Low: 5}
	withSeverities.Summary.Accepted = &scanv1.Severities{Low: 1}

	cases := []struct {
		name   string
		status []scanv1.ImageScanStatus // recorded in order
		series int                      // 13 for every ImageScan, 2 for a backend and a completion, 16 for severities
	}{
		{"a status without severities, backend or completion", []scanv1.ImageScanStatus{{}}, 13},
		{"severities read", []scanv1.ImageScanStatus{withSeverities}, 13 + 2 + 16},
		// A later status without a backend or a completion keeps the ones
		// shown, and one without severities drops theirs.
		{"severities no longer read", []scanv1.ImageScanStatus{withSeverities, {}}, 13 + 2},
	}
	for i, tc := range cases {
		name := fmt.Sprintf("scan-%d", i)
		for _, st := range tc.status {
			c.record(scan(name), st)
		}
		if n := testutil.CollectAndCount(c); n != tc.series {
			t.Errorf("%s: %d series, want %d", tc.name, n, tc.series)
		}
		c.forget(types.NamespacedName{Namespace: "team", Name: name})
		if n := c.len(); n != 0 {
			t.Errorf("%s: %d ImageScans kept after forget, want 0", tc.name, n)
		}
	}

	c.record(scan("shown"), withSeverities)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP imagescan_accepted_vulnerabilities Vulnerabilities a VulnerabilityException accepts, by severity.
# TYPE imagescan_accepted_vulnerabilities gauge
imagescan_accepted_vulnerabilities{name="shown",namespace="team",severity="critical"} 0
imagescan_accepted_vulnerabilities{name="shown",namespace="team",severity="high"} 0
imagescan_accepted_vulnerabilities{name="shown",namespace="team",severity="low"} 1
imagescan_accepted_vulnerabilities{name="shown",namespace="team",severity="medium"} 0
# HELP imagescan_backend 1 for the family of HSS calls that serves the ImageScan (batch-scan or tasks).
# TYPE imagescan_backend gauge
imagescan_backend{backend="tasks",name="shown",namespace="team"} 1
# HELP imagescan_last_completion_timestamp_seconds When the last round finished, in seconds since the epoch.
# TYPE imagescan_last_completion_timestamp_seconds gauge
imagescan_last_completion_timestamp_seconds{name="shown",namespace="team"} 1.8e+09
`), "imagescan_accepted_vulnerabilities", "imagescan_backend", "imagescan_last_completion_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// The cache gauge shows nothing until a reconciler is set up, then one
// series per cache with what that reconciler's caches hold at the scrape.
func TestCacheCollectorSeries(t *testing.T) {
	c := &cacheCollector{}
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Fatalf("%d series before a reconciler is followed, want 0", n)
	}
	held := CacheSizes{Credentials: 3, Feeds: 1, FinishedScans: 20000, HSSClients: 2, HSSLimiters: 1, ObjectSeries: 5000}
	c.follow(func() CacheSizes { return held })
	want := func(credentials, scans int) string {
		return fmt.Sprintf(`# HELP imagescan_cache_entries %s
# TYPE imagescan_cache_entries gauge
imagescan_cache_entries{cache="catalogue"} 0
imagescan_cache_entries{cache="counts"} 0
imagescan_cache_entries{cache="credentials"} %d
imagescan_cache_entries{cache="finished_feeds"} 1
imagescan_cache_entries{cache="finished_scans"} %d
imagescan_cache_entries{cache="hss_clients"} 2
imagescan_cache_entries{cache="hss_limiters"} 1
imagescan_cache_entries{cache="imagescan_series"} 5000
imagescan_cache_entries{cache="waiting_rounds"} 0
`, cacheEntriesHelp, credentials, scans)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want(3, 20000))); err != nil {
		t.Error(err)
	}
	// A scrape reads the caches as they are then, not as they were.
	held.FinishedScans, held.Credentials = 0, 0
	if err := testutil.CollectAndCompare(c, strings.NewReader(want(0, 0))); err != nil {
		t.Error(err)
	}
}
