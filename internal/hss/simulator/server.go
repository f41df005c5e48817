package simulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"maps"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	mrand "math/rand/v2"

	"k8s.io/utils/clock"
)

// maxBody bounds request bodies; real batch-scan bodies are a few kB.
const maxBody = 1 << 20

// Server is the simulated HSS image API. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	cfg    Config
	clock  clock.PassiveClock
	timing timing
	inv    inventory
	faults faultInjector
	stats  counters
	creds  credentials
	// vulns is the vulnerability catalogue, indexed by vul_id.
	vulns    []vulnerability
	vulIndex map[string]int
	tasks    taskList
	handled  handling
	// retired: the deprecated calls answer 404 (RetireDeprecated).
	retired atomic.Bool
}

// New returns a Server with an empty inventory.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, clock: cfg.Clock, timing: timing{queue: cfg.QueueDelay, scan: cfg.ScanDuration}}
	s.creds.m = maps.Clone(cfg.Credentials)
	if s.creds.m == nil {
		s.creds.m = map[string]Credential{}
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	s.inv.records = map[key]*record{}
	s.vulns, s.vulIndex = catalogue(cfg.Seed), map[string]int{}
	for i, v := range s.vulns {
		s.vulIndex[*v.info.VulId] = i
	}
	s.faults.rng = mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x5eed))
	s.faults.set(cfg.Faults)
	s.retired.Store(cfg.RetireDeprecated)
	return s
}

// answer is a response decided but not yet written.
type answer struct {
	status     int
	body       any
	retryAfter int
	headers    map[string]string
}

func fail(e *apiError) answer { return answer{status: e.status, body: e} }

// call is one routed request with its body read.
type call struct {
	r     *http.Request
	route route
	body  []byte
}

// ServeHTTP counts the request before writing the answer, so a client that
// has its response can already see it in Counts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	// Answers carry HSS's own time, as a real server's do; scan times are
	// on the same clock.
	w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat))
	rt := routeOf(r.Method, r.URL.Path)
	v := s.faults.decide(rt.op, s.clock.Now())
	wait(r.Context(), v.latency)
	if v.held != nil {
		select {
		case <-v.held:
		case <-r.Context().Done():
		}
	}

	rec := RequestRecord{ID: id, Method: r.Method, Path: r.URL.Path, Op: rt.op, Outcome: OutcomeDropped}
	var a answer
	if !v.drop {
		a = s.respond(r, rt, v)
		rec.Status, rec.Outcome = a.status, outcomeOf(a.status)
	}
	s.stats.add(rt.op, rec.Outcome)
	defer func() {
		if s.cfg.OnRequest != nil {
			rec.Duration = time.Since(start)
			s.cfg.OnRequest(rec)
		}
	}()
	if v.drop {
		drop(w)
		return
	}
	if a.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(a.retryAfter))
	}
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	writeJSON(w, a.status, a.body)
}

// respond runs the checks a real request passes, in the gateway's order,
// then the operation itself.
func (s *Server) respond(r *http.Request, rt route, v verdict) answer {
	if v.err != nil {
		a := fail(v.err)
		a.retryAfter = v.retryAfter
		return a
	}
	if rt.op == OpUnknown || deprecated[rt.op] && s.retired.Load() {
		return fail(errNoAPI)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return fail(badRequest("request body unreadable or larger than %d bytes", maxBody))
	}
	c := &call{r: r, route: rt, body: body}
	if e := s.authenticate(r, body); e != nil {
		return fail(e)
	}
	if s.cfg.ProjectID != "" && rt.project != s.cfg.ProjectID {
		return fail(errProject)
	}
	// The SDK sends no region header with these.
	if r.Header.Get("region") == "" && rt.op != OpVulnerabilities && rt.op != OpCatalogue && rt.op != OpListTasks && rt.op != OpRegistryImages && rt.op != OpHandle {
		return fail(badRequest("the region header is required"))
	}
	var out any
	var e *apiError
	switch rt.op {
	case OpBatchScan:
		out, e = s.batchScan(c)
	case OpListImages:
		out, e = s.listImages(c)
	case OpFileStats:
		out, e = s.fileStats(c)
	case OpSynchronize:
		out, e = s.synchronize(c)
	case OpVulnerabilities:
		out, e = s.listVulnerabilities(c)
	case OpCVEs:
		out, e = s.listCVEs(c)
	case OpCatalogue:
		out, e = s.listCatalogue(c)
	case OpScanTask:
		out, e = s.createScanTask(c)
	case OpSyncTask:
		out, e = s.createSyncTask(c)
	case OpListTasks:
		out, e = s.listTasks(c)
	case OpRegistryImages:
		out, e = s.listRegistryImages(c)
	case OpHandle:
		out, e = s.handleVulnerabilities(c)
	}
	if e != nil {
		return fail(e)
	}
	return answer{status: http.StatusOK, body: out}
}

// wait applies injected latency unless the client gives up first.
func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// drop closes the connection without an answer, as a failing load balancer
// would.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
