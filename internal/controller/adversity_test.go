package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/identity"
)

// Production as it is: the conditions each of these tests stages went
// wrong once, and each test shows the operator now holds.

// 1. HSS's clock three minutes behind the manager's: its scan times are
// before the round's request on the manager's clock, and the round ends
// all the same, without waiting for the start timeout.
func TestARoundEndsWhenHSSsClockIsBehind(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.simClock.SetTime(h.clock.Now().Add(-3 * time.Minute))
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	obj := h.readyInRound("app", 1)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(3)))
	h.g.Expect(obj.Status.LastScanRequest.HSSRequestedAt.Time).To(BeTemporally("~", h.simClock.Now().Add(-time.Minute), 5*time.Second),
		"the round's start is recorded on HSS's clock")
}

// 1. HSS's clock three minutes ahead: an image scanned a moment before the
// round started has a scan time after the round's request on the manager's
// clock; it is not taken as the round's result.
func TestAScanBeforeTheRoundDoesNotCountWhenHSSsClockIsAhead(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.simClock.SetTime(h.clock.Now().Add(3 * time.Minute))
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("first", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("first", 1)
	h.images("team", "app", 2, func(_ int, img *simulator.Image) { img.ScanDuration = 10 * time.Minute })

	h.scan("second", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("second", 1)
	h.g.Consistently(func(g Gomega) {
		obj := h.get("second")
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonScanning)
		g.Expect(obj.Status.Summary.Pending).To(Equal(int32(2)))
	}, time.Second, 50*time.Millisecond).Should(Succeed())
	h.simClock.Step(11 * time.Minute)
	h.eventually("second", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(h.batchScans()).To(Equal(2))
}

// 2. One project whose quota is spent from elsewhere (429, Retry-After
// 600) holds no worker: an ImageScan of another project is reconciled at
// once, with two workers and six throttled ImageScans.
func TestAThrottledProjectHoldsNoWorker(t *testing.T) {
	spent := simulator.New(simulator.Config{
		ProjectID: testProject, Credentials: map[string]simulator.Credential{testAK: {SK: testSK}},
		Faults: simulator.Faults{QPS: 1.0 / 600, Burst: 1},
	})
	spent.AddImages(simulator.Image{Type: simulator.TypePrivate, Namespace: "team", Name: "app", Tag: "v0", Size: 1 << 20})
	srv := httptest.NewServer(spent)
	t.Cleanup(srv.Close)
	h := newHarnessWith(t, simulator.Config{}, func(h *harness, r *controller.ImageScanReconciler) {
		r.MaxConcurrentReconciles = 2
		r.Tenancy.Endpoints = allow(h.t, srv.URL)
	})
	h.createSecret(validSecret())
	for _, name := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		h.scan(name, scanv1.ImageScanSpec{Endpoint: srv.URL, Selector: &scanv1.ImageSelector{Namespace: "team"}})
	}
	for _, name := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		h.eventually(name, func(g Gomega, obj *scanv1.ImageScan) {
			haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonThrottled)
		})
	}
	requests := 0
	for _, byOutcome := range spent.Counts() {
		for _, n := range byOutcome {
			requests += n
		}
	}
	h.g.Expect(requests).To(BeNumerically("<=", 3), "once HSS asked for the pause, the six wait without asking again")

	refs := h.images("team", "app", 2, nil)
	h.scan("other", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("other", 1)
}

// 2. A tenant naming another tenant's project with its own keys has its
// own budget: HSS pausing it for ten minutes leaves the other's calls alone.
func TestAnotherTenantsThrottlingDoesNotPauseThisOne(t *testing.T) {
	const otherAK, otherSK = "OTHERTENANTAK", "other-tenant-sk"
	var pausedCalls atomic.Int32
	h := newHarness(t, simulator.Config{Credentials: map[string]simulator.Credential{testAK: {SK: testSK}, otherAK: {SK: otherSK}}})
	// HSS answers the other tenant's calls with a ten-minute pause.
	throttling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "Access="+otherAK) {
			pausedCalls.Add(1)
			w.Header().Set("Retry-After", "600")
			w.Header().Set("X-Request-Id", "paused")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error_code":"APIG.0308","error_msg":"The request is throttled."}`)
			return
		}
		h.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(throttling.Close)
	h.stop()
	h.adjust = func(r *controller.ImageScanReconciler) { r.Defaults.Endpoint = throttling.URL }
	h.start()
	h.createSecret(validSecret())
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: h.ns},
		StringData: map[string]string{"accessKey": otherAK, "secretKey": otherSK}}
	h.g.Expect(env.Client.Create(context.Background(), other)).To(Succeed())
	refs := h.images("team", "app", 2, nil)

	h.scan("theirs", scanv1.ImageScanSpec{Images: refs, CredentialsRef: &scanv1.SecretReference{Name: "other"}})
	h.eventually("theirs", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonThrottled)
	})
	h.scan("mine", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("mine", 1)
	h.g.Expect(pausedCalls.Load()).To(Equal(int32(1)), "the paused identity sends nothing more while paused")
}

// 3. A Secret written by client-side kubectl apply carries its data in an
// annotation; the manager's cache of Secret metadata keeps none of it.
func TestTheCacheOfSecretMetadataHoldsNoSecretData(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	const secret = "s3cr3t-value-in-an-annotation"
	applied := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"hss-credentials"},"stringData":{"accessKey":"` +
		testAK + `","secretKey":"` + secret + `"}}`
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: h.ns, Labels: map[string]string{"team": "a"},
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: applied}},
		StringData: validSecret(),
	}
	h.g.Expect(env.Client.Create(context.Background(), s)).To(Succeed())
	refs := h.images("team", "app", 1, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("app", 1)

	cached := &metav1.PartialObjectMetadata{}
	cached.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	h.g.Expect(h.cache.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: secretName}, cached)).To(Succeed())
	h.g.Expect(cached.Annotations).To(BeEmpty())
	h.g.Expect(cached.Labels).To(BeEmpty())
	h.g.Expect(cached.ResourceVersion).NotTo(BeEmpty(), "the version the controller needs stays")
	h.g.Expect(cached.String()).NotTo(ContainSubstring(secret))
}

// 4. Building a client can wait on IAM (no project ID: the SDK looks it
// up). Three such ImageScans against an IAM that never answers hold no
// lock and no worker for long: an unrelated ImageScan is Ready at once.
func TestImageScansWaitingOnIAMHoldUpNoOther(t *testing.T) {
	iam := silentServer(t)
	h := newHarnessWith(t, simulator.Config{}, func(h *harness, r *controller.ImageScanReconciler) {
		r.MaxConcurrentReconciles = 1
		r.HSS = hss.NewProvider(hss.Options{Timeout: 60 * time.Second, IAMEndpoint: iam, Clock: h.clock})
		r.Defaults.Endpoint, r.Defaults.ProjectID = "", "" // the region's endpoint, a project to look up
		r.Tenancy.Endpoints = allow(h.t, h.url)
	})
	h.createSecret(validSecret())
	for _, name := range []string{"lookup-1", "lookup-2", "lookup-3"} {
		h.scan(name, scanv1.ImageScanSpec{Images: []scanv1.ImageReference{{Namespace: "team", Name: "app", Tag: "v0"}}})
	}
	h.eventually("lookup-3", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonServiceUnavailable)
		g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("still being configured"))
	})
	refs := h.images("team", "app", 1, nil)
	h.scan("unrelated", scanv1.ImageScanSpec{Images: refs, Endpoint: h.url, ProjectID: testProject})
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.get("unrelated").Status.LastScanRequest).To(HaveField("AcceptedAt", Not(BeNil())))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	h.finishScans()
	h.g.Eventually(func(g Gomega) {
		haveCondition(g, h.get("unrelated"), scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}

// 5. Why a client could not be built reaches status in the manager's words:
// the SDK's text holds the IAM URL with its query and resolver addresses.
func TestAClientBuildErrorNamesNoAddress(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, func(h *harness, r *controller.ImageScanReconciler) {
		r.HSS = hss.NewProvider(hss.Options{Timeout: 2 * time.Second, BuildWait: 5 * time.Second, IAMEndpoint: "http://127.0.0.1:1", Clock: h.clock})
		r.Defaults.Endpoint, r.Defaults.ProjectID = "", ""
	})
	h.createSecret(validSecret())
	h.scan("app", scanv1.ImageScanSpec{Images: []scanv1.ImageReference{{Namespace: "team", Name: "app", Tag: "v0"}}})
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(condition(obj, scanv1.ConditionReady)).NotTo(BeNil())
		g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("IAM could not be reached to look up the project ID"))
	})
	for _, leak := range []string{"127.0.0.1", "?name=", "/v3/projects", "dial tcp"} {
		h.g.Expect(condition(obj, scanv1.ConditionReady).Message).NotTo(ContainSubstring(leak))
	}
}

// 6. Six failed images with names at their maximum lengths: the event that
// names them fits the API server's 1 KiB and is recorded.
func TestAnEventNamingLongImagesIsRecorded(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	org, repo := strings.Repeat("o", 200), strings.Repeat("r", 100)
	refs := h.images(org, repo, 6, func(i int, img *simulator.Image) {
		img.Tag = strings.Repeat("t", 60) + string(rune('a'+i))
		img.ForcedOutcome = simulator.StatusDownloadFailed
	})
	h.scan("long", scanv1.ImageScanSpec{Images: refs})
	h.accepted("long", 1)
	h.finishScans()
	h.g.Eventually(func(g Gomega) {
		notes := h.eventNotes(g, scanv1.ReasonImagesFailed)
		g.Expect(notes).To(HaveLen(1))
		g.Expect(len(notes[0])).To(BeNumerically("<=", 1024))
		g.Expect(notes[0]).To(HavePrefix("6 of 6 images failed to scan: " + org))
		g.Expect(notes[0]).To(ContainSubstring("more"))
	}, 10*time.Second).Should(Succeed())
}

// 7. HSS applies a batch-scan after the client's timeout. The manager does
// not ask again at once: it waits for the round to show in HSS, which it
// does, and the round goes on with the one request.
func TestABatchScanAppliedAfterTheTimeoutIsNotSentAgain(t *testing.T) {
	var (
		mu      sync.Mutex
		sent    bool
		queued  *http.Request // the batch-scan HSS holds after the client gave up
		lookups int
	)
	h := newHarnessWith(t, simulator.Config{}, nil)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if strings.HasSuffix(r.URL.Path, "/batch-scan") && !sent {
			sent = true
			mu.Unlock()
			body, _ := io.ReadAll(r.Body)
			<-r.Context().Done() // the client gave up
			late := r.Clone(context.Background())
			late.Body = io.NopCloser(bytes.NewReader(body))
			mu.Lock()
			queued = late
			mu.Unlock()
			return
		}
		// HSS applies the request only after the manager's first look
		// for it, which therefore finds nothing.
		if queued != nil && r.Method == http.MethodGet {
			if lookups++; lookups == 2 {
				h.sim.ServeHTTP(httptest.NewRecorder(), queued)
				queued = nil
			}
		}
		mu.Unlock()
		h.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	h.stop()
	h.provider = hss.NewProvider(hss.Options{Timeout: time.Second, Clock: h.clock})
	h.adjust = func(r *controller.ImageScanReconciler) { r.Defaults.Endpoint = slow.URL }
	h.start()
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	obj := h.readyInRound("app", 1)
	h.g.Expect(h.scanRequests()).To(HaveLen(1), "one request reached HSS")
	h.g.Expect(obj.Status.LastScanRequest.Attempts).To(Equal(int32(1)))
	h.g.Expect(obj.Status.LastScanRequest.UnconfirmedSince).To(BeNil())
}

// 8. Suspending with a new spec does not report the old spec's results as
// the new generation's: Ready is False, and kstatus says InProgress.
func TestSuspendWithASpecChangeReportsNoOldResultsAsCurrent(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs[:1]})
	h.readyInRound("app", 1)
	h.update("app", func(o *scanv1.ImageScan) {
		o.Spec.Suspend = true
		o.Spec.Images = refs
	})
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonSuspended)
		g.Expect(kstatus(g, obj)).To(Equal(status.InProgressStatus))
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("generation 2 of the spec has not been scanned"))
	h.g.Expect(h.batchScans()).To(Equal(1))
}

// 9. A member of a latestVersionOnly selector that a newer tag supersedes
// while it scans is followed by identity: it is not lost as not found, even
// on the full walk after the start timeout.
func TestAMemberSupersededWhileItScansIsFollowedByIdentity(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	h.images("team", "app", 2, func(i int, img *simulator.Image) { img.ScanDuration = 40 * time.Minute })
	h.scan("latest", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team", LatestVersionOnly: true}})
	h.accepted("latest", 1)
	h.sim.AddImages(simulator.Image{Type: simulator.TypePrivate, Namespace: "team", Name: "app", Tag: "v9",
		Size: 1 << 20, UpdatedAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	h.clock.Step(31 * time.Minute) // past the start timeout: the full walk
	h.g.Consistently(func(g Gomega) {
		obj := h.get("latest")
		g.Expect(obj.Status.Summary.NotFound).To(BeZero())
		g.Expect(obj.Status.Summary.Pending).To(Equal(int32(1)))
	}, time.Second, 50*time.Millisecond).Should(Succeed())
	h.simClock.Step(41 * time.Minute)
	obj := h.eventually("latest", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Images).To(ConsistOf(HaveField("Tag", "v1")))
}

// 10. An IPv6 literal the platform allowed stays literal in the pattern:
// the ImageScan reaches HSS there.
func TestAnIPv6EndpointThePlatformAllowedIsUsed(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	h := newHarness(t, simulator.Config{})
	srv := httptest.NewUnstartedServer(h.sim)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	h.stop()
	h.adjust = func(r *controller.ImageScanReconciler) { r.Tenancy.Endpoints = allow(h.t, srv.URL) }
	h.start()
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	h.scan("v6", scanv1.ImageScanSpec{Images: refs, Endpoint: srv.URL})
	h.readyInRound("v6", 1)
	h.g.Expect(srv.URL).To(HavePrefix("http://[::1]:"))
}

// 11. A tenant that keeps changing spec.projectID makes a client each time;
// clients nobody uses any more are dropped with their limiters.
func TestClientsNoImageScanUsesAreDropped(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs, ProjectID: "p-0"})
	for i := 1; i <= 10; i++ {
		h.update("app", func(o *scanv1.ImageScan) { o.Spec.ProjectID = fmt.Sprintf("p-%d", i) })
		h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
			g.Expect(obj.Status.ObservedGeneration).To(Equal(obj.Generation))
		})
	}
	clients, _ := h.provider.Size()
	h.g.Expect(clients).To(BeNumerically(">=", 10))

	h.clock.Step(2 * time.Hour)
	h.update("app", func(o *scanv1.ImageScan) { o.Spec.ProjectID = testProject })
	h.readyInRound("app", 1) // HSS refused every other project: no round started before
	h.g.Eventually(func() []int {
		clients, limiters := h.provider.Size()
		return []int{clients, limiters}
	}, 10*time.Second).Should(Equal([]int{1, 1}), "only what the ImageScan uses now")
}

// allow is an endpoint policy allowing exactly these URLs.
func allow(t *testing.T, urls ...string) *hss.EndpointPolicy {
	t.Helper()
	p, err := hss.NewEndpointPolicy(urls)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// silentServer accepts requests and never answers them.
func silentServer(t *testing.T) string {
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

// 12. Token files of workload identity go once nobody uses them: an
// ImageScan that moves to another ServiceAccount leaves one token on disk.
func TestTokensNoImageScanUsesAreDeleted(t *testing.T) {
	dir := t.TempDir()
	h := newHarnessWith(t, simulator.Config{}, func(h *harness, r *controller.ImageScanReconciler) {
		f, err := identity.New(identity.Config{
			IdpID: testIdpID, Audience: testAudience, IAMEndpoint: h.url, TokenDir: dir, Clock: h.clock,
		}, r.Client)
		if err != nil {
			t.Fatal(err)
		}
		r.Tenancy.WorkloadIdentity = f
	})
	for _, name := range []string{"scanner-a", "scanner-b"} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}}
		h.g.Expect(env.Client.Create(context.Background(), sa)).To(Succeed())
	}
	refs := h.images("team", "app", 1, nil)
	h.scan("keyless", scanv1.ImageScanSpec{Images: refs, ServiceAccountName: "scanner-a"})
	h.readyInRound("keyless", 1)
	h.update("keyless", func(o *scanv1.ImageScan) { o.Spec.ServiceAccountName = "scanner-b" })
	h.readyInRound("keyless", 2)
	h.g.Expect(filepath.Glob(filepath.Join(dir, "*.jwt"))).To(HaveLen(2))

	h.clock.Step(2 * time.Hour) // both tokens have expired; only b's is still wanted
	h.update("keyless", func(o *scanv1.ImageScan) {
		o.Annotations = map[string]string{scanv1.RescanAnnotation: "later"}
	})
	h.readyInRound("keyless", 3)
	h.g.Expect(filepath.Glob(filepath.Join(dir, "*.jwt"))).To(HaveLen(1))
}

// 13. One image whose scan HSS lists as ending in the year 2100 (its node's
// clock was wrong) does not move the walks of finished scans past every
// real one: the round ends when its scans do, not at the start timeout
// (the controller's clock does not move here, so that would never come).
func TestAScanTimeFarAheadOfHSSDoesNotStallTheFeed(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	h.images("team", "odd", 1, func(_ int, img *simulator.Image) {
		img.StampSkew = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Sub(h.simClock.Now())
	})
	h.g.Expect(h.hssClient().BatchScan(context.Background(), hss.BatchScanRequest{ImageType: "private_image",
		Images: []hss.ImageRef{{Namespace: "team", Name: "odd", Tag: "v0"}}})).To(Succeed())
	h.finishScans()

	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	listed := h.sim.Count(h.listOp(), simulator.OutcomeOK)
	h.g.Eventually(func() int { return h.sim.Count(h.listOp(), simulator.OutcomeOK) }, 30*time.Second, 20*time.Millisecond).
		Should(BeNumerically(">", listed), "a walk listed the odd scan before the round's scans ended")

	h.finishScans()
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
}
