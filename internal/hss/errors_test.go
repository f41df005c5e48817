package hss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

func listPrivate(ctx context.Context, c Client) error {
	_, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate})
	return err
}

func scanOne(ctx context.Context, c Client) error {
	return c.BatchScan(ctx, BatchScanRequest{ImageType: simulator.TypePrivate,
		Images: []ImageRef{{Namespace: "payments", Name: "api", Tag: "1.0"}}})
}

func TestEveryFailureIsClassifiedAtTheClientBoundary(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, e *env)
		target func(tg *Target)
		call   func(ctx context.Context, c Client) error

		op         string
		class      Class
		status     int
		code       string
		retryAfter time.Duration
	}{
		{name: "429 with Retry-After is throttled",
			setup: func(_ *testing.T, e *env) { e.sim.FailNext(simulator.OpListImages, 1, http.StatusTooManyRequests) },
			call:  listPrivate, op: OpListImages, class: ClassThrottled, status: 429, code: "APIG.0308", retryAfter: time.Second},
		{name: "exceeding the project quota is throttled",
			setup: func(t *testing.T, e *env) {
				e.sim.SetFaults(simulator.Faults{QPS: 0.5, Burst: 1})
				if err := listPrivate(context.Background(), e.client(t)); err != nil {
					t.Fatalf("first call within the quota: %v", err)
				}
			},
			call: listPrivate, op: OpListImages, class: ClassThrottled, status: 429, code: "APIG.0308", retryAfter: 2 * time.Second},
		{name: "500 is transient",
			setup: func(_ *testing.T, e *env) { e.sim.FailNext("", 1, http.StatusInternalServerError) },
			call:  listPrivate, op: OpListImages, class: ClassTransient, status: 500, code: "HSS.0500"},
		{name: "503 is transient",
			setup: func(_ *testing.T, e *env) { e.sim.FailNext(simulator.OpBatchScan, 1, http.StatusServiceUnavailable) },
			call:  scanOne, op: OpBatchScan, class: ClassTransient, status: 503, code: "HSS.0503"},
		{name: "503 on synchronize is transient",
			setup: func(_ *testing.T, e *env) { e.sim.FailNext(simulator.OpSynchronize, 1, http.StatusServiceUnavailable) },
			call:  func(ctx context.Context, c Client) error { return c.Synchronize(ctx, simulator.TypePrivate) },
			op:    OpSynchronize, class: ClassTransient, status: 503, code: "HSS.0503"},
		{name: "a dropped connection is transient",
			setup: func(_ *testing.T, e *env) { e.sim.SetFaults(simulator.Faults{DropRate: 1}) },
			call:  listPrivate, op: OpListImages, class: ClassTransient},
		{name: "a wrong secret key is an auth failure",
			target: func(tg *Target) { tg.Credentials.SecretKey = "wrong-secret-key-0d7e" },
			call:   listPrivate, op: OpListImages, class: ClassAuth, status: 401, code: "APIGW.0301"},
		{name: "an unknown access key is an auth failure",
			target: func(tg *Target) { tg.Credentials.AccessKey = "AKUNKNOWN" },
			call:   scanOne, op: OpBatchScan, class: ClassAuth, status: 401, code: "APIGW.0301"},
		{name: "a project the credentials cannot reach is an auth failure",
			target: func(tg *Target) { tg.ProjectID = "someone-elses-project" },
			call:   listPrivate, op: OpListImages, class: ClassAuth, status: 403, code: "HSS.1006"},
		{name: "a 400 is an invalid request",
			setup: func(_ *testing.T, e *env) { e.sim.FailNext("", 1, http.StatusBadRequest) },
			call:  listPrivate, op: OpListImages, class: ClassInvalid, status: 400, code: "HSS.1001"},
		{name: "a missing image type is an invalid request",
			call: func(ctx context.Context, c Client) error { _, err := c.ListImages(ctx, Filter{}); return err },
			op:   OpListImages, class: ClassInvalid, status: 400, code: "HSS.1001"},
		{name: "an unknown image type is an invalid request",
			call: func(ctx context.Context, c Client) error {
				return c.BatchScan(ctx, BatchScanRequest{ImageType: "public_image", All: true})
			},
			op: OpBatchScan, class: ClassInvalid, status: 400, code: "HSS.1001"},
		{name: "a 404 is not found",
			setup: func(_ *testing.T, e *env) { e.sim.FailNext(simulator.OpListImages, 1, http.StatusNotFound) },
			call:  listPrivate, op: OpListImages, class: ClassNotFound, status: 404, code: "HSS.1004"},
		{name: "statistics of an unknown image are not found",
			call: func(ctx context.Context, c Client) error {
				_, err := c.FileStatistics(ctx, Image{ImageType: simulator.TypePrivate, ImageID: "sha256:0000", Namespace: "x", Name: "y", Tag: "z"})
				return err
			},
			op: OpFileStatistics, class: ClassNotFound, status: 404, code: "HSS.1004"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
			if tc.setup != nil {
				tc.setup(t, e)
			}
			tg := e.target()
			if tc.target != nil {
				tc.target(&tg)
			}

			err := tc.call(context.Background(), e.clientFor(t, tg))

			g.Expect(err).To(HaveOccurred())
			g.Expect(ClassOf(err)).To(Equal(tc.class))
			var he *Error
			g.Expect(errors.As(err, &he)).To(BeTrue(), "an *Error in the chain of %v", err)
			g.Expect(he.Op).To(Equal(tc.op))
			g.Expect(he.StatusCode).To(Equal(tc.status))
			g.Expect(he.Code).To(Equal(tc.code))
			g.Expect(he.RetryAfter).To(Equal(tc.retryAfter))
			if tc.status != 0 {
				g.Expect(he.RequestID).To(MatchRegexp("^[0-9a-f]{32}$"), "the simulator's X-Request-Id")
				g.Expect(he.Message).NotTo(BeEmpty())
			} else {
				g.Expect(he.Err).To(HaveOccurred(), "the cause of a failure without an answer")
				g.Expect(he.Summary).NotTo(BeEmpty())
			}
			g.Expect(e.sim.Counts()).NotTo(BeEmpty(), "the failure came over HTTP from the simulator")
			expectNoSecrets(g, err, tg.Credentials)
		})
	}
}

func TestThrottlingPausesTheProjectsLimiterForRetryAfter(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	e.sim.FailNext(simulator.OpListImages, 1, http.StatusTooManyRequests)
	c := e.client(t)
	before := time.Now()

	err := listPrivate(context.Background(), c)

	g.Expect(ClassOf(err)).To(Equal(ClassThrottled))
	l := c.(*sdkClient).limiter
	l.mu.Lock()
	pausedUntil := l.pausedUntil
	l.mu.Unlock()
	g.Expect(pausedUntil).To(BeTemporally(">=", before.Add(time.Second)), "paused for the 1 s Retry-After")
}

func TestTemporaryCredentialsNeedTheirOwnSecurityToken(t *testing.T) {
	cases := []struct {
		name  string
		creds Credentials
		class Class // empty: the call succeeds
	}{
		{"temporary key with its security token is accepted", Credentials{AccessKey: tempAK, SecretKey: tempSK, SecurityToken: tempToken}, ""},
		{"temporary key with a wrong security token is rejected", Credentials{AccessKey: tempAK, SecretKey: tempSK, SecurityToken: "wrong-token-5a1d"}, ClassAuth},
		{"temporary key without a security token is rejected", Credentials{AccessKey: tempAK, SecretKey: tempSK}, ClassAuth},
		{"permanent key with a security token is rejected", Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: tempToken}, ClassAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
			tg := e.target()
			tg.Credentials = tc.creds

			images, err := e.clientFor(t, tg).ListImages(context.Background(), Filter{ImageType: simulator.TypePrivate})

			if tc.class == "" {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(refsOf(images)).To(ConsistOf("payments/api:1.0"))
				return
			}
			g.Expect(ClassOf(err)).To(Equal(tc.class))
			var he *Error
			g.Expect(errors.As(err, &he)).To(BeTrue())
			g.Expect(he.StatusCode).To(Equal(http.StatusUnauthorized))
			g.Expect(he.Code).To(Equal("APIGW.0301"))
			expectNoSecrets(g, err, tc.creds)
		})
	}
}

func TestClientConfigurationProblemsAreInvalidAndSendNothing(t *testing.T) {
	cases := []struct {
		name   string
		target func(tg *Target)
	}{
		{"missing region", func(tg *Target) { tg.Region = "" }},
		{"custom endpoint without a project", func(tg *Target) { tg.ProjectID = "" }},
		{"access key without its secret", func(tg *Target) { tg.Credentials.SecretKey = "" }},
		{"identity provider without a token file", func(tg *Target) { tg.Credentials = Credentials{IdpID: "idp"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{}, nil)
			tg := e.target()
			tc.target(&tg)

			c, err := e.provider.Client(tg)

			g.Expect(c).To(BeNil())
			g.Expect(ClassOf(err)).To(Equal(ClassInvalid))
			g.Expect(err).To(MatchError(HavePrefix("hss configure client: InvalidRequest: ")))
			expectNoSecrets(g, err, e.target().Credentials)
			g.Expect(e.sim.Counts()).To(BeEmpty())
		})
	}
}

func TestErrorTextNamesTheOperationStatusCodeAndRequest(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	e.sim.FailNext(simulator.OpListImages, 1, http.StatusServiceUnavailable)

	err := listPrivate(context.Background(), e.client(t))

	var he *Error
	g.Expect(errors.As(err, &he)).To(BeTrue())
	g.Expect(err.Error()).To(Equal(fmt.Sprintf(
		"list images at offset 0: hss list_images: Transient (HTTP 503 HSS.0503): Service temporarily unavailable. [request %s]", he.RequestID)))
}

// expectNoSecrets asserts that no rendering of err reveals the secret key or
// the security token of creds, nor the ones the simulator knows.
func expectNoSecrets(g Gomega, err error, creds Credentials) {
	secrets := []string{testSK, tempSK, tempToken}
	for _, s := range []string{creds.SecretKey, creds.SecurityToken} {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, s := range secrets {
			g.ExpectWithOffset(1, text).NotTo(ContainSubstring(s))
		}
	}
}

func TestAnUnclassifiedErrorCountsAsTransient(t *testing.T) {
	NewWithT(t).Expect(ClassOf(errors.New("boom"))).To(Equal(ClassTransient))
}

func TestAnErrorBodyThatIsNotAnHSSErrorIsNeverEchoed(t *testing.T) {
	g := NewWithT(t)
	const page = "<html>metadata service: instance-role token abc123</html>"
	e := startEnv(t, nil, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Request-Id", "req-from-a-stranger")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(page))
	}), nil, Options{})

	err := listPrivate(context.Background(), e.client(t))

	g.Expect(ClassOf(err)).To(Equal(ClassTransient))
	g.Expect(err.Error()).To(Equal("list images at offset 0: hss list_images: Transient (HTTP 502): " +
		"the answer was not an HSS error [request req-from-a-stranger]"))
	g.Expect(fmt.Sprintf("%+v", err)).NotTo(ContainSubstring("instance-role"))
}

func TestAnHSSErrorMessageIsBoundedAndPrintable(t *testing.T) {
	g := NewWithT(t)
	long := "first line\nsecond line\x1b[31m " + strings.Repeat("x", 5000)
	e := startEnv(t, nil, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error_code": "HSS.1001", "error_msg": long})
	}), nil, Options{})

	err := listPrivate(context.Background(), e.client(t))

	var he *Error
	g.Expect(errors.As(err, &he)).To(BeTrue())
	g.Expect(he.Code).To(Equal("HSS.1001"))
	g.Expect(len(he.Message)).To(BeNumerically("<=", maxMessage+3))
	g.Expect(he.Message).To(HavePrefix("first line second line"))
	g.Expect(he.Message).NotTo(ContainSubstring("\x1b"))
}

func TestATransportFailureIsSummarisedWithoutTheAddress(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, nil)
	tg := e.target()
	e.srv.Close() // nothing listens there any more

	err := listPrivate(context.Background(), e.clientFor(t, tg))

	g.Expect(ClassOf(err)).To(Equal(ClassTransient))
	g.Expect(err.Error()).To(Equal("list images at offset 0: hss list_images: Transient: the endpoint refused the connection"))
	g.Expect(err.Error()).NotTo(ContainSubstring("127.0.0.1"))
}
