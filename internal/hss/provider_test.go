package hss

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
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
	g.Expect(e.provider.clients).To(HaveLen(1), "the old version's client is dropped")
	g.Expect(e.provider.clients[v2.clientKey()].client).To(BeIdenticalTo(renewed))
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
	g.Expect(ca.(*sdkClient).limiter).To(BeIdenticalTo(cb.(*sdkClient).limiter), "one identity and project, one limiter")
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

// hangingIAM accepts connections and never answers, as an IAM endpoint
// behind a dead proxy would.
func hangingIAM(t *testing.T) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv.URL
}

// A client whose build waits on IAM (no project ID: the SDK looks it up)
// holds no lock: another target's client is served at once, and the slow
// one's caller gets an answer within BuildWait.
func TestAClientBuiltSlowlyHoldsUpNoOtherClient(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{Timeout: 5 * time.Second, BuildWait: 100 * time.Millisecond}, nil)
	e.provider.opts.IAMEndpoint = hangingIAM(t)
	lookup := Target{Region: testRegion, Credentials: Credentials{AccessKey: testAK, SecretKey: testSK}, CredentialsVersion: "v1"}

	for range 3 {
		_, err := e.provider.Client(lookup)
		g.Expect(ClassOf(err)).To(Equal(ClassTransient))
		g.Expect(err).To(MatchError(ContainSubstring("still being configured")))
	}
	start := time.Now()
	c, err := e.provider.Client(e.target())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second), "not behind the lookup")
	g.Expect(listPrivate(context.Background(), c)).To(Succeed())
	g.Expect(e.provider.building).To(HaveLen(1), "three callers, one build")
}

// Why a build failed is said in the manager's words: the SDK's text holds
// the IAM URL with its query and the resolver's address.
func TestABuildFailureNamesNoAddress(t *testing.T) {
	for name, iam := range map[string]string{
		"IAM refuses the connection":  "http://127.0.0.1:1",
		"IAM's name does not resolve": "http://iam.invalid",
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			p := NewProvider(Options{Timeout: 2 * time.Second, BuildWait: 10 * time.Second, IAMEndpoint: iam})
			_, err := p.Client(Target{Region: testRegion, Credentials: Credentials{AccessKey: testAK, SecretKey: testSK}, CredentialsVersion: "v1"})
			g.Expect(err).To(HaveOccurred())
			g.Expect(ClassOf(err)).To(Equal(ClassTransient), "IAM could not be reached: worth retrying")
			g.Expect(err.Error()).To(ContainSubstring("IAM could not be reached to look up the project ID"))
			for _, leak := range []string{"127.0.0.1", "iam.invalid", "?name=", "/v3/projects", ":53"} {
				g.Expect(err.Error()).NotTo(ContainSubstring(leak))
			}
		})
	}
}

// Clients, their transports and limiters go once nobody asked for them for
// IdleClient: a tenant changing its project ID again and again does not grow
// the manager.
func TestIdleClientsAndTheirLimitersAreDropped(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(epoch)
	p := NewProvider(Options{IdleClient: time.Hour, Clock: clk})
	base := Target{Endpoint: "http://127.0.0.1:1", Region: testRegion, Credentials: Credentials{AccessKey: testAK, SecretKey: testSK}, CredentialsVersion: "v1"}
	for i := range 20 {
		tg := base
		tg.ProjectID = fmt.Sprintf("proj-%d", i)
		_, err := p.Client(tg)
		g.Expect(err).NotTo(HaveOccurred())
	}
	clients, limiters := p.Size()
	g.Expect([]int{clients, limiters}).To(Equal([]int{20, 20}), "twenty projects: twenty budgets")

	clk.Step(30 * time.Minute)
	current := base
	current.ProjectID = "proj-19"
	_, err := p.Client(current) // still in use
	g.Expect(err).NotTo(HaveOccurred())
	clk.Step(45 * time.Minute)
	_, err = p.Client(current)
	g.Expect(err).NotTo(HaveOccurred())
	clients, limiters = p.Size()
	g.Expect(clients).To(Equal(1), "only the client still asked for")
	g.Expect(limiters).To(Equal(1))
}
