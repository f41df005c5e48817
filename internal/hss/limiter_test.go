package hss

import (
	"context"
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
// Secrets would get for the same HSS project.
func twoScansOfOneProject(t *testing.T, e *env) (Client, Client) {
	t.Helper()
	a := e.target()
	a.CredentialsVersion = "secret-a/1"
	b := e.target()
	b.Credentials = Credentials{AccessKey: secondAK, SecretKey: secondSK}
	b.CredentialsVersion = "secret-b/1"
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
			g.Expect(classes).To(Equal(map[Class]int{ClassThrottled: throttled}))
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

func TestTargetsOfOneProjectShareOneLimiter(t *testing.T) {
	cases := []struct {
		name   string
		change func(tg *Target)
		shared bool
	}{
		{"other credentials version", func(tg *Target) { tg.CredentialsVersion = "v2" }, true},
		{"other access key", func(tg *Target) {
			tg.Credentials = Credentials{AccessKey: secondAK, SecretKey: secondSK}
			tg.CredentialsVersion = "other-secret/1"
		}, true},
		{"temporary credentials", func(tg *Target) {
			tg.Credentials = Credentials{AccessKey: tempAK, SecretKey: tempSK, SecurityToken: tempToken}
		}, true},
		{"other enterprise project", func(tg *Target) { tg.EnterpriseProjectID = "eps-2" }, true},
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

func TestLimiterPauseHoldsCallersBackAndNeverShortens(t *testing.T) {
	g := NewWithT(t)
	l := newLimiter(LimitOptions{})
	acquire := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		release, err := l.Acquire(ctx)
		if err == nil {
			release()
		}
		return err
	}
	g.Expect(acquire()).To(Succeed(), "an unpaused limiter lets the call through")

	l.Pause(time.Hour)
	l.Pause(time.Millisecond)

	g.Expect(acquire()).To(MatchError(context.DeadlineExceeded))
	l.mu.Lock()
	defer l.mu.Unlock()
	g.Expect(l.pausedUntil).To(BeTemporally(">", time.Now().Add(59*time.Minute)), "a shorter pause does not cut a longer one")
}

func TestLimiterSlotIsFreedByRelease(t *testing.T) {
	g := NewWithT(t)
	l := newLimiter(LimitOptions{MaxInFlight: 1})
	expired, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	release, err := l.Acquire(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	_, err = l.Acquire(expired)
	g.Expect(err).To(MatchError(context.DeadlineExceeded), "the only slot is taken")
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
