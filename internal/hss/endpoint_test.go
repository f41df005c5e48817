package hss

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestEndpointPolicyAllowsOnlyTheRegionsOfficialEndpointAndThePlatformsPatterns(t *testing.T) {
	policy, err := NewEndpointPolicy([]string{"https://hss-vpc.*.internal.example", "http://127.0.0.1:*"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, endpoint, region string
		refusal                string // empty: allowed
	}{
		{"the region's official endpoint", "https://hss.ap-southeast-1.myhuaweicloud.com", "ap-southeast-1", ""},
		{"the official endpoint with a slash", "https://HSS.ap-southeast-1.myhuaweicloud.com/", "ap-southeast-1", ""},
		{"a pattern's host", "https://hss-vpc.team-a.internal.example", "ap-southeast-1", ""},
		{"a pattern's port wildcard", "http://127.0.0.1:8088", "ap-southeast-1", ""},
		{"another region's official endpoint", "https://hss.cn-north-4.myhuaweicloud.com", "ap-southeast-1", "is not allowed by the platform"},
		{"a host of its own", "https://attacker.example", "ap-southeast-1", "is not allowed by the platform"},
		{"plain http to an allowed https host", "http://hss-vpc.team-a.internal.example", "ap-southeast-1", "is not allowed by the platform"},
		{"loopback on another address", "http://127.0.0.2:8088", "ap-southeast-1", "is not allowed by the platform"},
		{"a user smuggled in", "http://127.0.0.1@attacker.example", "ap-southeast-1", "must not carry a user"},
		{"a query", "http://127.0.0.1:8088?x=1", "ap-southeast-1", "must not carry a user, query or fragment"},
		{"a path", "http://127.0.0.1:8088/metadata", "ap-southeast-1", "must not carry a path"},
		{"another scheme", "file:///etc/passwd", "ap-southeast-1", "https:// or http://"},
		{"no host", "https://", "ap-southeast-1", "no host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := policy.Check(tc.endpoint, tc.region)
			if tc.refusal == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.refusal)))
			g.Expect(err).To(MatchError(ContainSubstring("--allowed-endpoints")))
		})
	}
}

func TestWithoutPatternsOnlyTheOfficialEndpointPasses(t *testing.T) {
	g := NewWithT(t)
	var none *EndpointPolicy
	g.Expect(none.Check("https://hss.ap-southeast-1.myhuaweicloud.com", "ap-southeast-1")).To(Succeed())
	g.Expect(none.Check("http://127.0.0.1:8088", "ap-southeast-1")).NotTo(Succeed())
	g.Expect(none.Check("https://hss.ap-southeast-1.myhuaweicloud.com", "no-such-region")).NotTo(Succeed())
}

// A pattern is scheme, host and port: an IPv6 literal stays literal and a
// wildcard matches only where the platform wrote "*", within one label.
func TestEndpointPatternsAreSchemeHostAndPort(t *testing.T) {
	policy, err := NewEndpointPolicy([]string{"http://[fd00::1]:8443", "https://hss.*.example.com", "https://vpc-*.internal"})
	if err != nil {
		t.Fatal(err)
	}
	for endpoint, allowed := range map[string]bool{
		"http://[fd00::1]:8443":             true,
		"http://[FD00:0:0::1]:8443":         true, // the same address
		"http://f:8443":                     false,
		"http://1:8443":                     false,
		"http://[fd00::2]:8443":             false,
		"http://[fd00::1]:8444":             false,
		"https://hss.ap-1.example.com":      true,
		"https://hss.example.com":           false,
		"https://hss.a.b.example.com":       false,
		"https://hss.ap-1.example.com:443":  true,
		"https://hss.ap-1.example.com:8443": false,
		"https://vpc-team-a.internal":       true,
		"https://vpc.internal":              false,
	} {
		err := policy.Check(endpoint, "ap-southeast-1")
		if allowed != (err == nil) {
			t.Errorf("%s: allowed %v, got %v", endpoint, allowed, err)
		}
	}
}

func TestEndpointPatternsAreCheckedAtStartup(t *testing.T) {
	for _, bad := range []string{"hss.example.com", "https://hss.example.com/v5", "https://[", "https://user@hss.example.com",
		"https://[fd00::1", "http://[::1]x", "https://h[a-z].example.com", "https://h?.example.com", "http://h:99999"} {
		_, err := NewEndpointPolicy([]string{bad})
		NewWithT(t).Expect(err).To(HaveOccurred(), bad)
	}
}
