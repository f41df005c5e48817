package hss

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/httphandler"
	hsssdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"k8s.io/utils/clock"
)

// Target says which HSS project to call and how to authenticate.
type Target struct {
	// Endpoint overrides the endpoint the SDK derives from Region.
	Endpoint            string
	Region              string
	ProjectID           string
	EnterpriseProjectID string
	Credentials         Credentials
	// CredentialsSource names where the credentials come from (for a
	// Secret: namespace/name), and CredentialsVersion changes whenever they
	// do (its UID and resourceVersion): a new version replaces the source's
	// client.
	CredentialsSource  string
	CredentialsVersion string
}

// budgetKey identifies whose quota calls count against: one identity in one
// HSS project. Keyed by project alone, an ImageScan naming another tenant's
// project with its own keys would spend, and pause, that tenant's budget.
func (t Target) budgetKey() string {
	identity := "source:" + t.CredentialsSource
	if t.Credentials.AccessKey != "" {
		identity = "ak:" + t.Credentials.AccessKey
	}
	sum := sha256.Sum256([]byte(identity))
	return strings.Join([]string{t.Endpoint, t.Region, t.ProjectID, hex.EncodeToString(sum[:8])}, "|")
}

func (t Target) sourceKey() string {
	return strings.Join([]string{t.Endpoint, t.Region, t.ProjectID, t.EnterpriseProjectID, t.Credentials.kind(), t.CredentialsSource}, "|")
}

func (t Target) clientKey() string { return t.sourceKey() + "|" + t.CredentialsVersion }

// Options configure every client a Provider builds.
type Options struct {
	Limits LimitOptions
	// Timeout bounds one HTTP call (the SDK calls take no context), the
	// project-ID lookup in IAM when building a client included.
	Timeout time.Duration
	// BuildWait is how long Client waits for a client being built (which may
	// look up the project in IAM or the manager's key-less identity) before
	// answering that it is still being built; default 500ms.
	BuildWait time.Duration
	// IdleClient is how long a client nobody asked for is kept; default 1h.
	IdleClient time.Duration
	// IAMEndpoint overrides the SDK's IAM endpoint for project-ID lookups
	// and federation (the manager's --iam-endpoint).
	IAMEndpoint string
	// Transport, when set, replaces each client's own HTTP transport.
	Transport http.RoundTripper
	// MaxAnswerBytes bounds one answer's body; default
	// DefaultMaxAnswerBytes. A larger answer fails its call as
	// Undecodable.
	MaxAnswerBytes int64
	// Backend is the family of calls clients are built on: BackendBatchScan
	// (the default), BackendTasks or BackendAuto.
	Backend string
	// Clock is the manager's clock, which HSS's is compared with; replaced
	// by tests.
	Clock clock.PassiveClock
}

// Provider builds and caches clients, one per target and credentials
// version, sharing one Limiter per identity and HSS project. No lock is
// held while a client is built, and a client, its transport and its limiter
// are dropped once nobody has asked for them for IdleClient.
type Provider struct {
	opts     Options
	limiters limiters

	mu       sync.Mutex
	clients  map[string]*entry
	building map[string]*build
	swept    time.Time
	// served says, per endpoint, which family of calls HSS answered
	// (BackendAuto).
	served map[string]*servedBy
}

type entry struct {
	client Client
	base   *sdkClient
	used   time.Time
}

// build is a client being built; done closes when client or err is set.
type build struct {
	done   chan struct{}
	client Client
	base   *sdkClient
	err    error
}

// NewProvider returns a Provider.
func NewProvider(opts Options) *Provider {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.BuildWait <= 0 {
		opts.BuildWait = 500 * time.Millisecond
	}
	if opts.IdleClient <= 0 {
		opts.IdleClient = time.Hour
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.MaxAnswerBytes <= 0 {
		opts.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	return &Provider{opts: opts, limiters: limiters{opts: opts.Limits}, clients: map[string]*entry{}, building: map[string]*build{},
		served: map[string]*servedBy{}}
}

// Client returns the cached client of t, building it on first use. A build
// that takes longer than BuildWait goes on without the caller, who gets a
// ClassTransient error with a RetryAfter and finds the client ready on a
// later call.
func (p *Provider) Client(t Target) (Client, error) {
	key := t.clientKey()
	now := p.opts.Clock.Now()
	p.mu.Lock()
	p.sweep(now)
	if e, ok := p.clients[key]; ok {
		e.used = now
		p.mu.Unlock()
		return e.client, nil
	}
	b, ok := p.building[key]
	if !ok {
		b = &build{done: make(chan struct{})}
		p.building[key] = b
		go p.finish(t, b)
	}
	p.mu.Unlock()
	wait := time.NewTimer(p.opts.BuildWait)
	defer wait.Stop()
	select {
	case <-b.done:
		if b.err != nil {
			return nil, b.err
		}
		return b.client, nil
	case <-wait.C:
		return nil, &Error{Class: ClassTransient, Op: "configure client", RetryAfter: 10 * time.Second,
			Summary: "the client is still being configured (the SDK is looking up the project or the credentials)"}
	}
}

// finish builds a client without holding the provider's lock, then
// publishes it, replacing the clients of older credentials versions of the
// same source.
func (p *Provider) finish(t Target, b *build) {
	c, err := p.build(t)
	p.mu.Lock()
	key := t.clientKey()
	delete(p.building, key)
	if err != nil {
		b.err = &Error{Class: classForBuild(t, err), Op: "configure client", Summary: buildSummary(err), Err: err}
	} else {
		prefix := t.sourceKey() + "|"
		for k, e := range p.clients {
			if strings.HasPrefix(k, prefix) {
				p.drop(k, e)
			}
		}
		b.client, b.base = p.family(t, c), c
		p.clients[key] = &entry{client: b.client, base: c, used: p.opts.Clock.Now()}
	}
	p.mu.Unlock()
	close(b.done)
}

// sweep drops clients nobody asked for lately, at most once a minute; the
// caller holds p.mu.
func (p *Provider) sweep(now time.Time) {
	if now.Sub(p.swept) < time.Minute {
		return
	}
	p.swept = now
	used := map[string]bool{}
	for k, e := range p.clients {
		if now.Sub(e.used) > p.opts.IdleClient {
			p.drop(k, e)
			continue
		}
		used[e.base.budget] = true
	}
	p.limiters.keep(used)
}

// drop forgets a client and closes its idle connections; a caller still
// holding it may go on using it.
func (p *Provider) drop(key string, e *entry) {
	delete(p.clients, key)
	if e.base.transport != nil {
		e.base.transport.CloseIdleConnections()
	}
}

// family wraps a client in the family of calls the provider is set to; the
// caller holds p.mu.
func (p *Provider) family(t Target, c *sdkClient) Client {
	switch p.opts.Backend {
	case BackendTasks:
		return &tasksClient{c}
	case BackendAuto:
		endpoint := t.Endpoint
		if endpoint == "" {
			endpoint = "region:" + t.Region
		}
		served, ok := p.served[endpoint]
		if !ok {
			served = &servedBy{}
			p.served[endpoint] = served
		}
		return &autoClient{batch: c, tasks: &tasksClient{c}, served: served}
	}
	return c
}

// Size reports how many clients and limiters the provider holds.
func (p *Provider) Size() (clients, limiters int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.clients), p.limiters.len()
}

// configError is a configuration the manager refuses itself; its text is
// the manager's own and safe to show.
type configError struct{ msg string }

func (e configError) Error() string { return e.msg }

// classForBuild: a lookup that could not reach IAM (or the metadata
// service) is worth retrying; key-less identities that cannot be found, and
// a project IAM does not give, are an auth problem; everything else is a
// configuration problem.
func classForBuild(t Target, err error) Class {
	var ce configError
	switch {
	case errors.As(err, &ce):
		return ClassInvalid
	case unreachable(err):
		return ClassTransient
	case t.Credentials.kind() == "keyless" || strings.Contains(err.Error(), "project id"):
		return ClassAuth
	}
	return ClassInvalid
}

// unreachable: the SDK formats the errors of its own lookups into text, so
// only their words tell a network failure.
func unreachable(err error) bool {
	text := strings.ToLower(err.Error())
	for _, w := range []string{"timeout", "deadline exceeded", "connection refused", "connection reset", "no such host", "eof", "i/o timeout", "network is unreachable"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// buildSummary says why a client could not be built without quoting the
// SDK: its errors embed the IAM URL with its query, resolver addresses and
// answers, and they end up in status, which tenants read.
func buildSummary(err error) string {
	var ce configError
	project := strings.Contains(err.Error(), "project id")
	switch {
	case errors.As(err, &ce):
		return ce.msg
	case project && unreachable(err):
		return "IAM could not be reached to look up the project ID; set spec.projectID or the manager's --hss-project-id"
	case project:
		return "the project ID could not be looked up in IAM; set spec.projectID or the manager's --hss-project-id"
	case unreachable(err):
		return "the service that provides the credentials could not be reached"
	case strings.Contains(err.Error(), "credential"):
		return "no usable credentials were found for this target"
	}
	return "the SDK could not configure a client for this target"
}

func (p *Provider) build(t Target) (*sdkClient, error) {
	if t.Region == "" {
		return nil, configError{"region is required (set spec.region or the manager's --hss-region)"}
	}
	if t.Endpoint != "" && t.ProjectID == "" {
		return nil, configError{"projectID is required with a custom endpoint (set spec.projectID or --hss-project-id)"}
	}
	creds := t.Credentials
	if creds.IAMEndpoint == "" {
		creds.IAMEndpoint = p.opts.IAMEndpoint
	}
	cred, err := sdkCredentials(creds, t.ProjectID)
	if err != nil {
		return nil, err
	}
	ra, sc := &retryAfters{}, &serverClock{local: p.opts.Clock}
	observe := func(resp http.Response) {
		ra.record(resp)
		sc.record(resp)
	}
	c := &sdkClient{region: t.Region, retryAfter: ra, clock: sc, budget: t.budgetKey()}
	// No client timeout: cappedTransport keeps it (see there).
	httpConfig := config.DefaultHttpConfig().WithTimeout(0).WithRetries(0).
		WithHttpHandler(httphandler.NewHttpHandler().AddResponseHandler(observe))
	base := p.opts.Transport
	if base == nil {
		// A transport of its own, so that dropping the client closes its
		// connections.
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
		base = c.transport
	}
	httpConfig = httpConfig.WithHttpRoundTripper(cappedTransport{base: base, limit: p.opts.MaxAnswerBytes, timeout: p.opts.Timeout})
	b := hsssdk.HssClientBuilder().WithCredential(cred).WithHttpConfig(httpConfig)
	if t.Endpoint != "" {
		b = b.WithEndpoints([]string{t.Endpoint})
	} else {
		reg, err := freshRegion(t.Region)
		if err != nil {
			return nil, configError{fmt.Sprintf("region %q is not one HSS serves", t.Region)}
		}
		b = b.WithRegion(reg)
	}
	hc, err := b.SafeBuild()
	if err != nil {
		return nil, err
	}
	c.api, c.limiter = hsssdk.NewHssClient(hc), p.limiters.get(c.budget)
	if t.Credentials.refreshing() {
		c.serial = &sync.Mutex{}
	}
	if t.EnterpriseProjectID != "" {
		eps := t.EnterpriseProjectID
		c.eps = &eps
	}
	return c, nil
}
