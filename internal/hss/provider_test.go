package hss

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
)

func TestProviderReturnsTheCachedClientForTheSameTarget(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)

	first := e.client(t)
	second := e.client(t)

	g.Expect(second).To(BeIdenticalTo(first))
	g.Expect(e.provider.clients).To(HaveLen(1))
}

func TestProviderReplacesTheClientOfAnOlderCredentialsVersion(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	v1 := e.target()
	v2 := v1
	v2.CredentialsVersion = "v2"

	old := e.clientFor(t, v1)
	renewed := e.clientFor(t, v2)

	g.Expect(renewed).NotTo(BeIdenticalTo(old))
	g.Expect(e.provider.clients).To(ConsistOf(BeIdenticalTo(renewed)), "the old version's client is dropped")
	g.Expect(e.clientFor(t, v2)).To(BeIdenticalTo(renewed))
	g.Expect(e.clientFor(t, v1)).NotTo(BeIdenticalTo(old), "asking for the old version again builds a new client")
	_, err := old.ListImages(context.Background(), Filter{ImageType: "private_image"})
	g.Expect(err).NotTo(HaveOccurred(), "a dropped client still serves a caller holding it")
}

func TestProviderKeepsClientsOfDifferentCredentialSourcesInOneProject(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	a := e.target()
	a.CredentialsSource = "team-a/hss-credentials"
	b := a
	b.CredentialsSource, b.CredentialsVersion = "team-b/hss-credentials", "other"

	ca := e.clientFor(t, a)
	cb := e.clientFor(t, b)

	g.Expect(e.clientFor(t, a)).To(BeIdenticalTo(ca), "one source does not evict the other")
	g.Expect(e.clientFor(t, b)).To(BeIdenticalTo(cb))
	g.Expect(ca.(*sdkClient).limiter).To(BeIdenticalTo(cb.(*sdkClient).limiter), "one project, one limiter")
}

func TestProviderKeepsClientsOfDifferentEnterpriseProjects(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	a := e.target()
	b := a
	b.EnterpriseProjectID = "eps-2"

	ca := e.clientFor(t, a)
	cb := e.clientFor(t, b)

	g.Expect(cb).NotTo(BeIdenticalTo(ca))
	g.Expect(e.clientFor(t, a)).To(BeIdenticalTo(ca))
	g.Expect(e.clientFor(t, b)).To(BeIdenticalTo(cb))
	g.Expect(e.provider.clients).To(HaveLen(2))
}

func TestCredentialsPrintOnlyTheirKind(t *testing.T) {
	cases := []struct {
		creds Credentials
		want  string
	}{
		{Credentials{AccessKey: testAK, SecretKey: testSK}, "aksk"},
		{Credentials{AccessKey: tempAK, SecretKey: tempSK, SecurityToken: tempToken}, "temporary-aksk"},
		{Credentials{IdpID: "idp", IDTokenFile: "/var/run/token"}, "oidc"},
		{Credentials{}, "keyless"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			g := NewWithT(t)
			for _, text := range []string{tc.creds.String(), fmt.Sprintf("%v", tc.creds), fmt.Sprintf("%+v", tc.creds)} {
				g.Expect(text).To(Equal(tc.want))
			}
			js, err := json.Marshal(Target{Credentials: tc.creds})
			g.Expect(err).NotTo(HaveOccurred())
			for _, text := range []string{fmt.Sprintf("%#v", tc.creds), fmt.Sprintf("%#v", Target{Credentials: tc.creds}), string(js)} {
				g.Expect(text).To(ContainSubstring(tc.want))
				for _, secret := range []string{tc.creds.SecretKey, tc.creds.SecurityToken} {
					if secret != "" {
						g.Expect(text).NotTo(ContainSubstring(secret))
					}
				}
			}
			target := Target{Region: testRegion, Credentials: tc.creds}
			for _, text := range []string{fmt.Sprintf("%v", target), fmt.Sprintf("%+v", target)} {
				g.Expect(text).To(ContainSubstring(tc.want))
				for _, secret := range []string{tc.creds.SecretKey, tc.creds.SecurityToken} {
					if secret != "" {
						g.Expect(text).NotTo(ContainSubstring(secret))
					}
				}
			}
		})
	}
}
