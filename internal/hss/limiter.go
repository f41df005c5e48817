package hss

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimitOptions bound the calls one identity makes to one HSS project.
type LimitOptions struct {
	// QPS and Burst feed a token bucket; QPS <= 0 means unlimited.
	QPS   float64
	Burst int
	// MaxInFlight bounds concurrent calls; <= 0 means unbounded.
	MaxInFlight int
	// MaxWait is the longest a call waits for a token or a slot; a longer
	// wait, or a pause the service asked for, fails the call at once as
	// throttled, with the time to retry after, so that a caller requeues
	// instead of holding a worker. Default 5s.
	MaxWait time.Duration
}

// Limiter paces the calls of one identity to one HSS project. Every client
// of that identity and project shares one, so many ImageScans together stay
// within its quota; another identity has its own and cannot spend it.
type Limiter struct {
	bucket  *rate.Limiter
	slots   chan struct{}
	maxWait time.Duration

	mu          sync.Mutex
	pausedUntil time.Time
}

func newLimiter(o LimitOptions) *Limiter {
	l := &Limiter{bucket: rate.NewLimiter(rate.Inf, 0), maxWait: o.MaxWait}
	if l.maxWait <= 0 {
		l.maxWait = 5 * time.Second
	}
	if o.QPS > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(o.QPS), max(o.Burst, 1))
	}
	if o.MaxInFlight > 0 {
		l.slots = make(chan struct{}, o.MaxInFlight)
	}
	return l
}

// Acquire takes a token and a free slot, waiting at most MaxWait; call the
// returned release when the call is done. A pause, or a longer wait, is an
// *Error of ClassThrottled whose RetryAfter says when to try again.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if wait := l.paused(); wait > 0 {
		return nil, throttledHere(wait, "HSS asked to pause the calls of this identity to this project")
	}
	r := l.bucket.Reserve()
	if d := r.Delay(); d > l.maxWait {
		r.Cancel()
		return nil, throttledHere(d, "this identity's call budget for the project (--hss-qps) is spent")
	} else if err := sleep(ctx, d); err != nil {
		r.Cancel()
		return nil, err
	}
	if l.slots == nil {
		return func() {}, nil
	}
	t := time.NewTimer(l.maxWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-t.C:
		return nil, throttledHere(l.maxWait, "every call slot of this identity for the project (--hss-max-inflight) is busy")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func throttledHere(wait time.Duration, why string) *Error {
	wait = wait.Round(time.Second) + time.Second
	return &Error{Class: ClassThrottled, RetryAfter: wait, Summary: fmt.Sprintf("%s; retrying in %s", why, wait)}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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

func (l *Limiter) paused() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.pausedUntil)
}

// limiters hands out one Limiter per budget key.
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

// keep drops the limiters whose keys no client uses and that hold no pause.
func (ls *limiters) keep(used map[string]bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for k, l := range ls.m {
		if !used[k] && l.paused() <= 0 {
			delete(ls.m, k)
		}
	}
}

func (ls *limiters) len() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.m)
}
