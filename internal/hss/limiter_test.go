package hss

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

const secondAK, secondSK = "AKSECONDSCAN", "second-sk-must-never-appear-6e02"

// twoScansOfOneProject returns the clients two ImageScans with their own
// Secrets, holding the same keys, would get for the same HSS project.
func twoScansOfOneProject(t *testing.T, e *env) (Client, Client) {
	t.Helper()
	a := e.target()
	a.CredentialsSource, a.CredentialsVersion = "team/secret-a", "1"
	b := e.target()
	b.CredentialsSource, b.CredentialsVersion = "team/secret-b", "1"
	ca, cb := e.clientFor(t, a), e.clientFor(t, b)
	if ca == cb {
		t.Fatalf("want two distinct clients")
	}
	return ca, cb
}

// callConcurrently makes n ListImages calls on each client at once and
// returns their errors.
func callConcurrently(clients []Client, n int) []error {
	var wg sync.WaitGroup
	errs := make([]error, len(clients)*n)
	for i, c := range clients {
		for j := range n {
			wg.Go(func() { errs[i*n+j] = listPrivate(context.Background(), c) })
		}
	}
	wg.Wait()
	return errs
}

func TestSharedLimiterKeepsClientsOfOneProjectWithinTheServiceQuota(t *testing.T) {
	cases := []struct {
		name      string
		limits    LimitOptions
		throttled bool
	}{
		{"with the limiter at the quota no call is throttled", LimitOptions{QPS: 10, Burst: 8}, false},
		{"without a limiter the same burst is throttled", LimitOptions{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{Limits: tc.limits}, func(cfg *simulator.Config) {
				cfg.Clock = nil // the quota runs on real time, as the limiter does
				cfg.Credentials[secondAK] = simulator.Credential{SK: secondSK}
				cfg.Faults = simulator.Faults{QPS: 10, Burst: 10}
			})
			e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
			a, b := twoScansOfOneProject(t, e)
			g.Expect(a.(*sdkClient).limiter).To(BeIdenticalTo(b.(*sdkClient).limiter))

			errs := callConcurrently([]Client{a, b}, 20)

			throttled := e.sim.Count(simulator.OpListImages, simulator.OutcomeThrottled)
			if !tc.throttled {
				for _, err := range errs {
					g.Expect(err).NotTo(HaveOccurred())
				}
				g.Expect(throttled).To(BeZero())
				g.Expect(e.sim.Count(simulator.OpListImages, simulator.OutcomeOK)).To(Equal(40))
				return
			}
			g.Expect(throttled).To(BeNumerically(">", 0))
			classes := map[Class]int{}
			for _, err := range errs {
				if err != nil {
					classes[ClassOf(err)]++
				}
			}
			// HSS's 429s asked for a pause: the calls after them fail here,
			// without reaching it, as throttled too.
			g.Expect(classes).To(HaveKey(ClassThrottled))
			g.Expect(classes).To(HaveLen(1))
			g.Expect(classes[ClassThrottled]).To(BeNumerically(">=", throttled))
		})
	}
}

func TestMaxInFlightBoundsConcurrentCallsToOneProject(t *testing.T) {
	g := NewWithT(t)
	const maxInFlight = 3
	sim := simulator.New(simulator.Config{ProjectID: testProject, Credentials: map[string]simulator.Credential{
		testAK: {SK: testSK}, secondAK: {SK: secondSK},
	}})
	sim.AddImages(private("payments", "api", "1.0", 10, epoch))
	var inFlight, peak atomic.Int32
	gate := make(chan struct{})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	held := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
		}
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		sim.ServeHTTP(w, r)
	})
	e := startEnv(t, sim, held, nil, Options{Limits: LimitOptions{MaxInFlight: maxInFlight}})
	t.Cleanup(release) // before the server closes, which waits for held calls
	a, b := twoScansOfOneProject(t, e)

	done := make(chan []error)
	go func() { done <- callConcurrently([]Client{a, b}, 6) }()
	g.Eventually(inFlight.Load).WithTimeout(10*time.Second).Should(BeNumerically(">=", maxInFlight),
		"calls fill every slot while the server holds them")
	release()
	errs := <-done

	for _, err := range errs {
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(sim.Count(simulator.OpListImages, simulator.OutcomeOK)).To(Equal(12))
	g.Expect(peak.Load()).To(BeEquivalentTo(maxInFlight), "never more than MaxInFlight at the server")
}

func TestTargetsOfOneIdentityAndProjectShareOneLimiter(t *testing.T) {
	cases := []struct {
		name   string
		change func(tg *Target)
		shared bool
	}{
		{"other credentials version", func(tg *Target) { tg.CredentialsVersion = "v2" }, true},
		{"the same keys in another Secret", func(tg *Target) { tg.CredentialsSource, tg.CredentialsVersion = "other/secret", "1" }, true},
		{"other enterprise project", func(tg *Target) { tg.EnterpriseProjectID = "eps-2" }, true},
		{"another tenant's keys", func(tg *Target) {
			tg.Credentials = Credentials{AccessKey: secondAK, SecretKey: secondSK}
			tg.CredentialsVersion = "other-secret/1"
		}, false},
		{"temporary keys of another identity", func(tg *Target) {
			tg.Credentials = Credentials{AccessKey: tempAK, SecretKey: tempSK, SecurityToken: tempToken}
		}, false},
		{"other project", func(tg *Target) { tg.ProjectID = "proj-2" }, false},
		{"other region", func(tg *Target) { tg.Region = "cn-north-4" }, false},
		{"other endpoint", func(tg *Target) { tg.Endpoint = "http://127.0.0.1:2" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := NewProvider(Options{Limits: LimitOptions{QPS: 5, Burst: 5}})
			base := Target{Endpoint: "http://127.0.0.1:1", Region: testRegion, ProjectID: testProject,
				Credentials: Credentials{AccessKey: testAK, SecretKey: testSK}, CredentialsVersion: "v1"}
			other := base
			tc.change(&other)

			c1, err := p.Client(base)
			g.Expect(err).NotTo(HaveOccurred())
			c2, err := p.Client(other)
			g.Expect(err).NotTo(HaveOccurred())

			g.Expect(c2).NotTo(BeIdenticalTo(c1))
			l1, l2 := c1.(*sdkClient).limiter, c2.(*sdkClient).limiter
			if tc.shared {
				g.Expect(l2).To(BeIdenticalTo(l1))
			} else {
				g.Expect(l2).NotTo(BeIdenticalTo(l1))
			}
		})
	}
}

// Another tenant naming this project with its own keys has its own budget:
// the pause HSS asks of it does not hold back this tenant's calls.
func TestAnotherIdentitysPauseLeavesThisOnesCallsAlone(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{}, func(cfg *simulator.Config) { cfg.Credentials[secondAK] = simulator.Credential{SK: secondSK} })
	e.sim.AddImages(private("payments", "api", "1.0", 10, epoch))
	mine := e.client(t)
	theirs := e.target()
	theirs.Credentials, theirs.CredentialsSource = Credentials{AccessKey: secondAK, SecretKey: secondSK}, "other/keys"
	other := e.clientFor(t, theirs)
	other.(*sdkClient).limiter.Pause(10 * time.Minute)

	g.Expect(ClassOf(listPrivate(context.Background(), other))).To(Equal(ClassThrottled))
	g.Expect(listPrivate(context.Background(), mine)).To(Succeed())
}

// A pause never holds the caller: it fails at once, saying when to retry.
func TestLimiterPauseFailsCallsAtOnceAndNeverShortens(t *testing.T) {
	g := NewWithT(t)
	l := newLimiter(LimitOptions{})
	release, err := l.Acquire(context.Background())
	g.Expect(err).NotTo(HaveOccurred(), "an unpaused limiter lets the call through")
	release()

	l.Pause(time.Hour)
	l.Pause(time.Millisecond)

	_, err = l.Acquire(context.Background())
	var e *Error
	g.Expect(errors.As(err, &e)).To(BeTrue())
	g.Expect(e.Class).To(Equal(ClassThrottled))
	g.Expect(e.RetryAfter).To(BeNumerically(">", 59*time.Minute), "a shorter pause does not cut a longer one")
}

// A wait for a token longer than MaxWait is not waited for.
func TestLimiterRefusesAWaitLongerThanItsBound(t *testing.T) {
	g := NewWithT(t)
	l := newLimiter(LimitOptions{QPS: 0.01, Burst: 1, MaxWait: 100 * time.Millisecond})
	release, err := l.Acquire(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	release()
	_, err = l.Acquire(context.Background())
	g.Expect(ClassOf(err)).To(Equal(ClassThrottled))
	var e *Error
	g.Expect(errors.As(err, &e)).To(BeTrue())
	g.Expect(e.RetryAfter).To(BeNumerically(">", 90*time.Second), "the token is 100 s away")
}

func TestLimiterSlotIsFreedByRelease(t *testing.T) {
	g := NewWithT(t)
	l := newLimiter(LimitOptions{MaxInFlight: 1})
	expired, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	release, err := l.Acquire(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = l.Acquire(expired)
	g.Expect(err).To(MatchError(context.DeadlineExceeded), "the only slot is taken, and the context ends before MaxWait")
	release()
	again, err := l.Acquire(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	again()
}

func TestClientWaitingForTheLimiterGivesUpWithItsContext(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{Limits: LimitOptions{MaxInFlight: 1}}, nil)
	c := e.client(t)
	release, err := c.(*sdkClient).limiter.Acquire(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	err = listPrivate(ctx, c)

	g.Expect(ClassOf(err)).To(Equal(ClassTransient))
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(e.sim.Counts()).To(BeEmpty(), "nothing was sent")
}
