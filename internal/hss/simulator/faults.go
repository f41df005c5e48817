package simulator

import (
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Faults is the injected misbehaviour, applied before authentication in this
// order: latency, dropped connection, FailNext, quota, random server error.
type Faults struct {
	// Latency delays every answer.
	Latency time.Duration
	// SlowListPages adds this much to every page of an image list (either
	// family): the pages of a large registry, each a query of its own.
	SlowListPages time.Duration
	// QPS is the request quota (token bucket on the server clock); 0 means
	// unlimited. Requests over it get 429 APIG.0308 with Retry-After.
	QPS float64
	// Burst is the bucket size; at least 1, default ceil(QPS).
	Burst int
	// ErrorRate is the share (0..1) of requests answered 500 or 503.
	ErrorRate float64
	// DropRate is the share (0..1) of connections closed without an answer.
	DropRate float64
}

type forcedFailure struct {
	op     Op // empty matches every operation
	left   int
	status int
}

// faultInjector holds the fault settings and its own seeded randomness.
type faultInjector struct {
	mu      sync.Mutex
	f       Faults
	limiter *rate.Limiter
	rng     *rand.Rand
	forced  []forcedFailure
	hold    *hold
}

// hold keeps requests of one operation beyond the first after waiting, as
// a server that stops answering mid-way does, until released.
type hold struct {
	op       Op
	after    int
	seen     int
	released chan struct{}
}

// verdict is what the faults decided for one request.
type verdict struct {
	latency time.Duration
	// held, when set, is closed when the request may go on.
	held       <-chan struct{}
	drop       bool
	err        *apiError
	retryAfter int // seconds, with a 429
}

// SetFaults replaces the fault settings; the quota bucket starts full again.
// Pending FailNext failures are kept.
func (s *Server) SetFaults(f Faults) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.set(f)
}

// FailNext makes the next n requests for op (any operation when op is empty)
// fail with status and an error body matching that status.
func (s *Server) FailNext(op Op, n int, status int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	live := slices.DeleteFunc(s.faults.forced, func(ff forcedFailure) bool { return ff.left <= 0 })
	s.faults.forced = append(live, forcedFailure{op: op, left: n, status: status})
}

// Hold makes requests for op beyond the first after wait, unanswered,
// until release is called or the client gives up; release is idempotent.
func (s *Server) Hold(op Op, after int) (release func()) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	h := &hold{op: op, after: after, released: make(chan struct{})}
	s.faults.hold = h
	var once sync.Once
	return func() { once.Do(func() { close(h.released) }) }
}

func (fi *faultInjector) set(f Faults) {
	fi.f = f
	fi.limiter = nil
	if f.QPS > 0 {
		burst := f.Burst
		if burst < 1 {
			burst = max(1, int(math.Ceil(f.QPS)))
		}
		fi.limiter = rate.NewLimiter(rate.Limit(f.QPS), burst)
	}
}

func (fi *faultInjector) decide(op Op, now time.Time) verdict {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	v := verdict{latency: fi.f.Latency}
	if op == OpListImages || op == OpRegistryImages {
		v.latency += fi.f.SlowListPages
	}
	if h := fi.hold; h != nil && h.op == op {
		if h.seen++; h.seen > h.after {
			v.held = h.released
		}
	}
	if fi.f.DropRate > 0 && fi.rng.Float64() < fi.f.DropRate {
		v.drop = true
		return v
	}
	for i := range fi.forced {
		ff := &fi.forced[i]
		if ff.left > 0 && (ff.op == "" || ff.op == op) {
			ff.left--
			v.err = errorFor(ff.status)
			if ff.status == http.StatusTooManyRequests {
				v.retryAfter = 1
			}
			return v
		}
	}
	if fi.limiter != nil && !fi.limiter.AllowN(now, 1) {
		r := fi.limiter.ReserveN(now, 1)
		wait := r.DelayFrom(now)
		r.CancelAt(now)
		v.err, v.retryAfter = errThrottled, max(1, int(math.Ceil(wait.Seconds())))
		return v
	}
	if fi.f.ErrorRate > 0 && fi.rng.Float64() < fi.f.ErrorRate {
		v.err = errInternal
		if fi.rng.IntN(2) == 1 {
			v.err = errUnavailable
		}
	}
	return v
}
