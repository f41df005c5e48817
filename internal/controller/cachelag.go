package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// The manager reads reports from its cache, which shows this manager's own
// writes a moment after it makes them. Counting a round's members from a
// cache that has not seen a report created a second ago would complete the
// round without it, and re-reading a status it just wrote would write it
// again. cacheLag remembers, per ImageScan, what the cache has still to
// show: reports created and deleted, and report statuses written. Each
// entry lapses after lagBound, in case the cache never shows it (someone
// else deleted the report meanwhile).
type cacheLag struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*pending
}

const lagBound = 2 * time.Minute

type pending struct {
	created map[string]time.Time
	deleted map[string]time.Time
	written map[string]writtenStatus
}

// writtenStatus is a report status as written, without its vulnerability
// list (listElsewhere says the server may hold one): an entry costs a few
// hundred bytes whatever the spec's detail.
type writtenStatus struct {
	resourceVersion string
	status          scanv1.ImageReportStatus
	listElsewhere   bool
	at              time.Time
}

func (c *cacheLag) of(scan types.NamespacedName) *pending {
	if c.m == nil {
		c.m = map[types.NamespacedName]*pending{}
	}
	p, ok := c.m[scan]
	if !ok {
		p = &pending{created: map[string]time.Time{}, deleted: map[string]time.Time{}, written: map[string]writtenStatus{}}
		c.m[scan] = p
	}
	return p
}

func (c *cacheLag) created(scan types.NamespacedName, name string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.of(scan).created[name] = now
}

func (c *cacheLag) deleted(scan types.NamespacedName, name string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.of(scan)
	p.deleted[name] = now
	delete(p.written, name)
}

func (c *cacheLag) wrote(scan types.NamespacedName, name, resourceVersion string, s scanv1.ImageReportStatus, listElsewhere bool, now time.Time) {
	if s.Vulnerabilities != nil {
		s.Vulnerabilities, listElsewhere = nil, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.of(scan).written[name] = writtenStatus{resourceVersion: resourceVersion, status: s, listElsewhere: listElsewhere, at: now}
}

// reconcile compares what the cache shows (report names and their
// resourceVersions) with what it has still to show. It reports whether the
// cache has caught up with every creation and deletion, and returns the
// statuses written that the cache does not show yet.
func (c *cacheLag) reconcile(scan types.NamespacedName, seen map[string]string, now time.Time) (bool, map[string]writtenStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[scan]
	if !ok {
		return true, nil
	}
	for name, at := range p.created {
		if _, ok := seen[name]; ok || now.Sub(at) > lagBound {
			delete(p.created, name)
		}
	}
	for name, at := range p.deleted {
		if _, ok := seen[name]; !ok || now.Sub(at) > lagBound {
			delete(p.deleted, name)
		}
	}
	newer := map[string]writtenStatus{}
	for name, w := range p.written {
		rv, ok := seen[name]
		if !ok || rv == w.resourceVersion || now.Sub(w.at) > lagBound {
			delete(p.written, name)
			continue
		}
		newer[name] = w
	}
	if len(p.created)+len(p.deleted)+len(p.written) == 0 {
		delete(c.m, scan)
	}
	return len(p.created)+len(p.deleted) == 0, newer
}

// sweep drops what lapsed for every ImageScan, so that an ImageScan that
// is not reconciled again (a completed round without an interval) holds
// nothing past lagBound.
func (c *cacheLag) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for scan, p := range c.m {
		for _, times := range []map[string]time.Time{p.created, p.deleted} {
			for name, at := range times {
				if now.Sub(at) > lagBound {
					delete(times, name)
				}
			}
		}
		for name, w := range p.written {
			if now.Sub(w.at) > lagBound {
				delete(p.written, name)
			}
		}
		if len(p.created)+len(p.deleted)+len(p.written) == 0 {
			delete(c.m, scan)
		}
	}
}

// size counts the entries held, for the janitor's gauge and tests.
func (c *cacheLag) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.m {
		n += len(p.created) + len(p.deleted) + len(p.written)
	}
	return n
}

func (c *cacheLag) forget(scan types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, scan)
}
