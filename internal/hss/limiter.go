package hss

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimitOptions bound the calls made to one HSS project.
type LimitOptions struct {
	// QPS and Burst feed a token bucket; QPS <= 0 means unlimited.
	QPS   float64
	Burst int
	// MaxInFlight bounds concurrent calls; <= 0 means unbounded.
	MaxInFlight int
}

// Limiter paces calls to one HSS project. Every client of the same project
// shares one, so many ImageScans together stay within the tenant's quota.
type Limiter struct {
	bucket *rate.Limiter
	slots  chan struct{}

	mu          sync.Mutex
	pausedUntil time.Time
}

func newLimiter(o LimitOptions) *Limiter {
	l := &Limiter{bucket: rate.NewLimiter(rate.Inf, 0)}
	if o.QPS > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(o.QPS), max(o.Burst, 1))
	}
	if o.MaxInFlight > 0 {
		l.slots = make(chan struct{}, o.MaxInFlight)
	}
	return l
}

// Acquire waits for a token and a free slot; call the returned release when
// the call is done.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if err := l.waitPause(ctx); err != nil {
		return nil, err
	}
	if err := l.bucket.Wait(ctx); err != nil {
		return nil, err
	}
	if l.slots == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Pause holds every caller back until d has passed: the service said so
// with Retry-After.
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

func (l *Limiter) waitPause(ctx context.Context) error {
	l.mu.Lock()
	wait := time.Until(l.pausedUntil)
	l.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limiters hands out one Limiter per project key.
type limiters struct {
	opts LimitOptions
	mu   sync.Mutex
	m    map[string]*Limiter
}

func (ls *limiters) get(key string) *Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil {
		ls.m = map[string]*Limiter{}
	}
	l, ok := ls.m[key]
	if !ok {
		l = newLimiter(ls.opts)
		ls.m[key] = l
	}
	return l
}
