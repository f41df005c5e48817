package controller

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// addCVEs gives each entry the CVEs of its vulnerability: from the cache,
// else one call per vul_id, shared by every member that asks for it at
// the same time. A vulnerability has the same CVEs in every image, so a
// round of many images costs a call per distinct one. A failed lookup
// leaves the entry without CVEs.
func (r *ImageScanReconciler) addCVEs(ctx context.Context, c hss.Client, entries []scanv1.Vulnerability) {
	for i := range entries {
		entries[i].CVEs = r.cves.lookUp(ctx, c, entries[i].ID, r.Clock.Now())
	}
}

// cveCache keeps the CVEs of vulnerabilities per HSS client (one
// identity's answers never serve another's), bounded in number and age;
// the janitor drops expired entries.
type cveCache struct {
	calls singleflight.Group
	mu    sync.Mutex
	m     map[cveKey]cachedCVEs
}

type cveKey struct {
	client hss.Client
	vulID  string
}

type cachedCVEs struct {
	cves []scanv1.CVE
	at   time.Time
}

// CVEs change rarely (a new CVE is assigned, a score revised): a day's
// answers are good, and 50,000 vulnerabilities cover a large registry. An
// entry holds at most 100 CVEs (the client's bound).
const (
	cveTTL       = 24 * time.Hour
	maxCachedCVE = 50000
)

// lookUp returns the CVEs of one vulnerability, calling HSS at most once
// for concurrent askers.
func (c *cveCache) lookUp(ctx context.Context, client hss.Client, id string, now time.Time) []scanv1.CVE {
	if cves, ok := c.get(client, id, now); ok {
		return cves
	}
	v, _, _ := c.calls.Do(fmt.Sprintf("%p|%s", client, id), func() (any, error) {
		// An asker that missed the cache just before another's call ended
		// finds the answer here.
		if cves, ok := c.get(client, id, now); ok {
			return cves, nil
		}
		list, err := client.CVEs(ctx, id)
		if err != nil {
			return []scanv1.CVE(nil), nil
		}
		cves := make([]scanv1.CVE, 0, len(list))
		for _, e := range list {
			cves = append(cves, scanv1.CVE{ID: e.ID, CVSS: strconv.FormatFloat(float64(e.CVSS), 'f', -1, 32), Published: metaTime(e.Published)})
		}
		c.put(client, id, cves, now)
		return cves, nil
	})
	return v.([]scanv1.CVE)
}

func (c *cveCache) get(client hss.Client, id string, now time.Time) ([]scanv1.CVE, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[cveKey{client, id}]
	if !ok || now.Sub(e.at) > cveTTL {
		return nil, false
	}
	return e.cves, true
}

func (c *cveCache) put(client hss.Client, id string, cves []scanv1.CVE, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedCVE {
		c.m = map[cveKey]cachedCVEs{}
	}
	c.m[cveKey{client, id}] = cachedCVEs{cves: cves, at: now}
}

// sweep drops expired entries, and with them the clients they keep alive.
func (c *cveCache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if now.Sub(e.at) > cveTTL {
			delete(c.m, k)
		}
	}
}

func (c *cveCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
