package hss

import (
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

// projectKey identifies the HSS project whose quota calls count against.
func (t Target) projectKey() string {
	return strings.Join([]string{t.Endpoint, t.Region, t.ProjectID}, "|")
}

func (t Target) sourceKey() string {
	return strings.Join([]string{t.projectKey(), t.EnterpriseProjectID, t.Credentials.kind(), t.CredentialsSource}, "|")
}

func (t Target) clientKey() string { return t.sourceKey() + "|" + t.CredentialsVersion }

// Options configure every client a Provider builds.
type Options struct {
	Limits LimitOptions
	// Timeout bounds one HTTP call (the SDK calls take no context).
	Timeout time.Duration
	// Transport, when set, replaces the SDK's HTTP transport.
	Transport http.RoundTripper
	// Clock is the manager's clock, which HSS's is compared with; replaced
	// by tests.
	Clock clock.PassiveClock
}

// Provider builds and caches clients, one per target and credentials
// version, sharing one Limiter per HSS project.
type Provider struct {
	opts     Options
	limiters limiters

	mu      sync.Mutex
	clients map[string]Client
}

// NewProvider returns a Provider.
func NewProvider(opts Options) *Provider {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Provider{opts: opts, limiters: limiters{opts: opts.Limits}, clients: map[string]Client{}}
}

// Client returns the cached client of t, building it on first use.
func (p *Provider) Client(t Target) (Client, error) {
	key := t.clientKey()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[key]; ok {
		return c, nil
	}
	c, err := p.build(t)
	if err != nil {
		return nil, &Error{Class: classForBuild(t), Op: "configure client", Summary: err.Error(), Err: err}
	}
	// Drop clients of older credential versions of the same source.
	prefix := t.sourceKey() + "|"
	for k := range p.clients {
		if strings.HasPrefix(k, prefix) {
			delete(p.clients, k)
		}
	}
	p.clients[key] = c
	return c, nil
}

// classForBuild: key-less identities that cannot be found are an auth
// problem; everything else is a configuration problem.
func classForBuild(t Target) Class {
	if t.Credentials.kind() == "keyless" {
		return ClassAuth
	}
	return ClassInvalid
}

func (p *Provider) build(t Target) (*sdkClient, error) {
	if t.Region == "" {
		return nil, fmt.Errorf("region is required (set spec.region or the manager's --hss-region)")
	}
	if t.Endpoint != "" && t.ProjectID == "" {
		return nil, fmt.Errorf("projectID is required with a custom endpoint (set spec.projectID or --hss-project-id)")
	}
	cred, err := sdkCredentials(t.Credentials, t.ProjectID)
	if err != nil {
		return nil, err
	}
	ra, sc := &retryAfters{}, &serverClock{local: p.opts.Clock}
	observe := func(resp http.Response) {
		ra.record(resp)
		sc.record(resp)
	}
	httpConfig := config.DefaultHttpConfig().WithTimeout(p.opts.Timeout).WithRetries(0).
		WithHttpHandler(httphandler.NewHttpHandler().AddResponseHandler(observe))
	if p.opts.Transport != nil {
		httpConfig = httpConfig.WithHttpRoundTripper(p.opts.Transport)
	}
	b := hsssdk.HssClientBuilder().WithCredential(cred).WithHttpConfig(httpConfig)
	if t.Endpoint != "" {
		b = b.WithEndpoints([]string{t.Endpoint})
	} else {
		reg, err := freshRegion(t.Region)
		if err != nil {
			return nil, fmt.Errorf("region %q: %w", t.Region, err)
		}
		b = b.WithRegion(reg)
	}
	hc, err := b.SafeBuild()
	if err != nil {
		return nil, err
	}
	c := &sdkClient{api: hsssdk.NewHssClient(hc), region: t.Region, limiter: p.limiters.get(t.projectKey()), retryAfter: ra, clock: sc}
	if t.Credentials.refreshing() {
		c.serial = &sync.Mutex{}
	}
	if t.EnterpriseProjectID != "" {
		eps := t.EnterpriseProjectID
		c.eps = &eps
	}
	return c, nil
}
