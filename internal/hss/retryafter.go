package hss

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// retryAfters remembers the Retry-After of throttled responses by request
// ID: the SDK's error carries the request ID but not the header.
type retryAfters struct {
	mu sync.Mutex
	m  map[string]time.Duration
}

// record is an SDK response handler.
func (r *retryAfters) record(resp http.Response) {
	if resp.StatusCode != http.StatusTooManyRequests {
		return
	}
	d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	id := resp.Header.Get("X-Request-Id")
	if d <= 0 || id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil || len(r.m) > 1024 { // bounded: entries are taken at once
		r.m = map[string]time.Duration{}
	}
	r.m[id] = d
}

func (r *retryAfters) take(requestID string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.m[requestID]
	delete(r.m, requestID)
	return d
}

// maxRetryAfter caps what a server can make us wait.
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	// Seconds are capped before they become a Duration, which a large value
	// would overflow; one beyond int64 counts as its bound (Atoi returns it).
	if s, err := strconv.Atoi(v); err == nil || errors.Is(err, strconv.ErrRange) {
		d = time.Duration(min(max(s, 0), int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
