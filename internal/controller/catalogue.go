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

// catalogued is what the controller keeps of a catalogue entry: what a
// report shows of the vulnerability beside the image's own entry.
// severity is empty when the catalogue does not list it.
type catalogued struct {
	title    string
	severity scanv1.Severity
	cvss     float32
	cves     []scanv1.CVE
	at       time.Time
}

// catalogueCache keeps catalogue entries per HSS client (one identity's
// answers never serve another's), bounded in number and age; the janitor
// drops expired entries. A vulnerability is the same in every image it is
// found in, so a round of many images costs a call per distinct one.
type catalogueCache struct {
	calls singleflight.Group
	mu    sync.Mutex
	m     map[catalogueKey]catalogued
}

type catalogueKey struct {
	client hss.Client
	vulID  string
}

// An entry changes rarely (a CVE is added, a score revised): a day's
// answers are good, and 50,000 vulnerabilities cover a large registry. An
// entry holds at most 100 CVEs (the client's bound).
const (
	catalogueTTL       = 24 * time.Hour
	maxCatalogueCached = 50000
)

// lookUp returns the catalogue entry of one vulnerability, calling HSS at
// most once for concurrent askers. A failed call is not kept: the next
// asker calls again.
func (c *catalogueCache) lookUp(ctx context.Context, client hss.Client, v hss.Vulnerability, now time.Time) (catalogued, error) {
	if e, ok := c.get(client, v.ID, now); ok {
		return e, nil
	}
	out, err, _ := c.calls.Do(fmt.Sprintf("%p|%s", client, v.ID), func() (any, error) {
		// An asker that missed the cache just before another's call ended
		// finds the answer here.
		if e, ok := c.get(client, v.ID, now); ok {
			return e, nil
		}
		entry, found, err := client.Catalogue(ctx, v.ID, v.Path != "")
		if err != nil {
			return catalogued{}, err
		}
		e := catalogued{at: now}
		if found {
			e.title, e.severity, e.cvss = entry.Name, catalogueSeverity(entry.Severity), entry.CVSS
			for _, cve := range entry.CVEs {
				e.cves = append(e.cves, scanv1.CVE{ID: cve.ID, CVSS: score(cve.CVSS)})
			}
		}
		c.put(client, v.ID, e)
		return e, nil
	})
	return out.(catalogued), err
}

// catalogueSeverity maps the catalogue's levels; anything else is unrated.
func catalogueSeverity(level string) scanv1.Severity {
	switch level {
	case hss.SeverityCritical:
		return scanv1.SeverityCritical
	case hss.SeverityHigh:
		return scanv1.SeverityHigh
	case hss.SeverityMedium:
		return scanv1.SeverityMedium
	case hss.SeverityLow:
		return scanv1.SeverityLow
	}
	return ""
}

// score prints a CVSS score as HSS gives it, e.g. 9.8; empty for none.
func score(s float32) string {
	if s <= 0 {
		return ""
	}
	return strconv.FormatFloat(float64(s), 'f', -1, 32)
}

func (c *catalogueCache) get(client hss.Client, id string, now time.Time) (catalogued, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[catalogueKey{client, id}]
	if !ok || now.Sub(e.at) > catalogueTTL {
		return catalogued{}, false
	}
	return e, true
}

func (c *catalogueCache) put(client hss.Client, id string, e catalogued) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCatalogueCached {
		c.m = map[catalogueKey]catalogued{}
	}
	c.m[catalogueKey{client, id}] = e
}

// sweep drops expired entries, and with them the clients they keep alive.
func (c *catalogueCache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if now.Sub(e.at) > catalogueTTL {
			delete(c.m, k)
		}
	}
}

func (c *catalogueCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
