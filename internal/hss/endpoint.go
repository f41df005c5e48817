package hss

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	hssregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/region"
)

// EndpointPolicy decides which HSS endpoints a namespaced object may name.
// A request carries the manager's signature (and, with temporary keys, its
// security token), so an endpoint a tenant chooses is where the platform's
// credentials would go, and whatever it answers would end up in status.
// Only the region's official endpoint and the patterns the platform allows
// pass.
type EndpointPolicy struct {
	patterns []string
}

// NewEndpointPolicy checks the platform's patterns: scheme://host[:port],
// where host and port may hold the wildcards of path.Match, e.g.
// "https://hss.*.myhuaweicloud.com" or "http://127.0.0.1:*".
func NewEndpointPolicy(patterns []string) (*EndpointPolicy, error) {
	p := &EndpointPolicy{}
	for _, pat := range patterns {
		pat = strings.ToLower(strings.TrimSpace(pat))
		if pat == "" {
			continue
		}
		if !strings.HasPrefix(pat, "https://") && !strings.HasPrefix(pat, "http://") {
			return nil, fmt.Errorf("allowed endpoint %q: must start with https:// or http://", pat)
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("allowed endpoint %q: %w", pat, err)
		}
		if strings.ContainsAny(strings.SplitN(pat, "://", 2)[1], "/?#@") {
			return nil, fmt.Errorf("allowed endpoint %q: only scheme://host[:port], without path, query or user", pat)
		}
		p.patterns = append(p.patterns, pat)
	}
	return p, nil
}

// Check returns an error saying why endpoint may not be used for region, or
// nil. It sends nothing anywhere.
func (p *EndpointPolicy) Check(endpoint, regionID string) error {
	if p == nil {
		p = &EndpointPolicy{}
	}
	hint := fmt.Sprintf("only the official endpoint of region %q and the manager's --allowed-endpoints may be used", regionID)
	origin, err := canonicalEndpoint(endpoint)
	if err != nil {
		return fmt.Errorf("%w; %s", err, hint)
	}
	if official, ok := OfficialEndpoint(regionID); ok && origin == official {
		return nil
	}
	for _, pat := range p.patterns {
		if ok, _ := path.Match(pat, origin); ok {
			return nil
		}
	}
	return fmt.Errorf("endpoint %s is not allowed by the platform; %s", origin, hint)
}

// canonicalEndpoint reduces an endpoint URL to scheme://host[:port],
// refusing anything that could smuggle another destination or credentials.
func canonicalEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return "", fmt.Errorf("endpoint is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("endpoint must be an https:// or http:// URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", fmt.Errorf("endpoint must not carry a user, query or fragment")
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("endpoint must not carry a path")
	case u.Hostname() == "":
		return "", fmt.Errorf("endpoint has no host")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// OfficialEndpoint is HSS's endpoint for a region, from the SDK's table.
func OfficialEndpoint(regionID string) (string, bool) {
	r, err := freshRegion(regionID)
	if err != nil || len(r.Endpoints) == 0 {
		return "", false
	}
	return strings.ToLower(strings.TrimSuffix(r.Endpoints[0], "/")), true
}

// freshRegion copies the SDK's region entry: SafeValueOf hands out a shared
// object that an endpoint override would mutate for every client.
func freshRegion(regionID string) (*region.Region, error) {
	shared, err := hssregion.SafeValueOf(regionID)
	if err != nil {
		return nil, err
	}
	return region.NewRegion(shared.Id, append([]string(nil), shared.Endpoints...)...), nil
}
