package hss

import (
	"net/http"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// serverClock learns HSS's clock from the Date header of its answers. HSS
// filters and reports scan times on its own clock, which may disagree with
// the manager's by minutes; every time sent to HSS must be on HSS's clock.
//
// The estimate is the latest answer's Date less the moment it arrived: an
// answer is stamped before it arrives and Date is truncated to the second,
// so the estimate runs behind HSS by at most a second and the latency,
// which widens a window that starts at it, never narrows it.
type serverClock struct {
	local clock.PassiveClock

	mu     sync.Mutex
	offset time.Duration
	known  bool
}

// record is an SDK response handler.
func (s *serverClock) record(resp http.Response) {
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	now := s.local.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset, s.known = date.Sub(now), true
}

// at converts a time on the manager's clock to HSS's; false until an
// answer has told HSS's clock.
func (s *serverClock) at(local time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known {
		return time.Time{}, false
	}
	return local.Add(s.offset), true
}
