package simulator

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// Op is the API operation a request was routed to.
type Op string

const (
	OpBatchScan   Op = "batch_scan"
	OpListImages  Op = "list_images"
	OpFileStats   Op = "file_statistics"
	OpSynchronize Op = "synchronize"
	// The findings' detail.
	OpVulnerabilities Op = "list_vulnerabilities"
	OpCVEs            Op = "list_cves"
	OpCatalogue       Op = "list_catalogue"
	OpUnknown         Op = "unknown"
)

// Outcome classifies how a request was answered.
type Outcome string

const (
	OutcomeOK           Outcome = "ok"
	OutcomeUnauthorized Outcome = "unauthorized" // 401 and 403
	OutcomeBadRequest   Outcome = "bad_request"  // 400 and other 4xx
	OutcomeNotFound     Outcome = "not_found"
	OutcomeThrottled    Outcome = "throttled"
	OutcomeServerError  Outcome = "server_error"
	OutcomeDropped      Outcome = "dropped"
)

func outcomeOf(status int) Outcome {
	switch {
	case status < 300:
		return OutcomeOK
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return OutcomeUnauthorized
	case status == http.StatusNotFound:
		return OutcomeNotFound
	case status == http.StatusTooManyRequests:
		return OutcomeThrottled
	case status >= 500:
		return OutcomeServerError
	}
	return OutcomeBadRequest
}

// BatchScanRecord is what one accepted batch-scan request asked for.
type BatchScanRecord struct {
	At time.Time
	// Request is the decoded body exactly as sent.
	Request model.BatchScanPrivateImageRequestInfo
	// Matched are the visible images the request named or selected, by id.
	Matched []ImageRef
	// Started are the matched images that were not already waiting or
	// scanning and so began a new scan.
	Started []ImageRef
	// Ignored counts image_info_list entries not found in the inventory.
	Ignored int
}

// counters tallies requests and remembers scan requests of both families.
type counters struct {
	mu     sync.Mutex
	counts map[Op]map[Outcome]int
	scans  []BatchScanRecord
	tasks  []TaskRecord
}

func (c *counters) recordTask(r TaskRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tasks = append(c.tasks, r)
}

// ScanTasks returns the accepted CreateManualImageScanTask requests in
// arrival order.
func (s *Server) ScanTasks() []TaskRecord {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return slices.Clone(s.stats.tasks)
}

func (c *counters) add(op Op, o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[Op]map[Outcome]int{}
	}
	if c.counts[op] == nil {
		c.counts[op] = map[Outcome]int{}
	}
	c.counts[op][o]++
}

func (c *counters) recordScan(r BatchScanRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scans = append(c.scans, r)
}

// Counts returns a copy of the request counts by operation and outcome.
func (s *Server) Counts() map[Op]map[Outcome]int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := make(map[Op]map[Outcome]int, len(s.stats.counts))
	for op, m := range s.stats.counts {
		out[op] = maps.Clone(m)
	}
	return out
}

// Count returns how many requests for op ended with outcome.
func (s *Server) Count(op Op, o Outcome) int {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.counts[op][o]
}

// BatchScans returns the accepted batch-scan requests in arrival order.
func (s *Server) BatchScans() []BatchScanRecord {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return slices.Clone(s.stats.scans)
}

// ResetCounts clears the request counts and the batch-scan records.
func (s *Server) ResetCounts() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.counts = nil
	s.stats.scans = nil
	s.stats.tasks = nil
}
