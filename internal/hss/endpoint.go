package hss

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
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
	patterns []endpoint
}

// endpoint is scheme, host and port, each compared on its own. In a
// pattern, "*" in the host matches any run of characters within one DNS
// label, and a port of "*" any port; nothing else is special, so an IPv6
// literal such as [fd00::1] stays literal.
type endpoint struct {
	scheme, host, port string
}

func (e endpoint) String() string {
	return e.scheme + "://" + net.JoinHostPort(e.host, e.port)
}

// NewEndpointPolicy checks the platform's patterns: scheme://host[:port],
// e.g. "https://hss.*.myhuaweicloud.com", "http://127.0.0.1:*" or
// "http://[fd00::1]:8443". A port left out is the scheme's default.
func NewEndpointPolicy(patterns []string) (*EndpointPolicy, error) {
	p := &EndpointPolicy{}
	for _, pat := range patterns {
		pat = strings.ToLower(strings.TrimSpace(pat))
		if pat == "" {
			continue
		}
		e, err := parseEndpoint(pat, true)
		if err != nil {
			return nil, fmt.Errorf("allowed endpoint %q: %w", pat, err)
		}
		p.patterns = append(p.patterns, e)
	}
	return p, nil
}

// Check returns an error saying why endpoint may not be used for region, or
// nil. It sends nothing anywhere.
func (p *EndpointPolicy) Check(raw, regionID string) error {
	if p == nil {
		p = &EndpointPolicy{}
	}
	hint := fmt.Sprintf("only the official endpoint of region %q and the manager's --allowed-endpoints may be used", regionID)
	e, err := canonicalEndpoint(raw)
	if err != nil {
		return fmt.Errorf("%w; %s", err, hint)
	}
	if official, ok := OfficialEndpoint(regionID); ok {
		if o, err := canonicalEndpoint(official); err == nil && o == e {
			return nil
		}
	}
	for _, pat := range p.patterns {
		if pat.matches(e) {
			return nil
		}
	}
	return fmt.Errorf("endpoint %s is not allowed by the platform; %s", e, hint)
}

func (pat endpoint) matches(e endpoint) bool {
	return pat.scheme == e.scheme && (pat.port == "*" || pat.port == e.port) && hostMatches(pat.host, e.host)
}

// hostMatches compares host names label by label; a "*" matches within
// its label only, so "hss.*.example.com" does not reach "a.b.example.com".
func hostMatches(pattern, host string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == host
	}
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if !labelMatches(pl[i], hl[i]) {
			return false
		}
	}
	return true
}

// labelMatches is a glob whose only wildcard is "*".
func labelMatches(pattern, label string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(label, parts[0]) {
		return false
	}
	label = label[len(parts[0]):]
	for i, part := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(label, part) && len(label) >= len(part)
		}
		j := strings.Index(label, part)
		if j < 0 {
			return false
		}
		label = label[j+len(part):]
	}
	return true
}

// canonicalEndpoint reduces an endpoint URL to scheme, host and port,
// refusing anything that could smuggle another destination or credentials.
func canonicalEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return endpoint{}, fmt.Errorf("endpoint is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return endpoint{}, fmt.Errorf("endpoint must be an https:// or http:// URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return endpoint{}, fmt.Errorf("endpoint must not carry a user, query or fragment")
	case u.Path != "" && u.Path != "/":
		return endpoint{}, fmt.Errorf("endpoint must not carry a path")
	case u.Hostname() == "":
		return endpoint{}, fmt.Errorf("endpoint has no host")
	}
	return parseEndpoint(strings.ToLower(u.Scheme+"://"+u.Host), false)
}

// parseEndpoint splits scheme://host[:port]; wildcards only in a pattern.
func parseEndpoint(s string, pattern bool) (endpoint, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme != "https" && scheme != "http" {
		return endpoint{}, fmt.Errorf("must start with https:// or http://")
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@") {
		return endpoint{}, fmt.Errorf("only scheme://host[:port], without path, query or user")
	}
	e := endpoint{scheme: scheme, port: map[string]string{"https": "443", "http": "80"}[scheme]}
	host := rest
	if strings.HasPrefix(rest, "[") { // an IPv6 literal
		end := strings.Index(rest, "]")
		if end < 0 {
			return endpoint{}, fmt.Errorf("an IPv6 address needs its closing bracket")
		}
		host, rest = rest[1:end], rest[end+1:]
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() {
			return endpoint{}, fmt.Errorf("%q is not an IPv6 address", host)
		}
		host = addr.String()
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return endpoint{}, fmt.Errorf("only a port may follow an IPv6 address")
		}
	} else if i := strings.LastIndex(rest, ":"); i >= 0 {
		host, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	if port := strings.TrimPrefix(rest, ":"); port != "" {
		if n, err := strconv.Atoi(port); !(pattern && port == "*") && (err != nil || n < 1 || n > 65535) {
			return endpoint{}, fmt.Errorf("port %q is not a port number", port)
		}
		e.port = port
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ':' || pattern && r == '*') {
			return endpoint{}, fmt.Errorf("host %q holds %q", host, r)
		}
	}
	if host == "" {
		return endpoint{}, fmt.Errorf("no host")
	}
	e.host = host
	return e, nil
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
