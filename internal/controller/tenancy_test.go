package controller_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/identity"
)

// tenantHost stands for a host a tenant controls: it counts what reaches
// it and answers every request with a page that must never be echoed.
type tenantHost struct {
	*httptest.Server
	requests atomic.Int32
}

const leakMarker = "LEAK-MARKER internal admin page"

func newTenantHost(t *testing.T) *tenantHost {
	h := &tenantHost{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.requests.Add(1)
		w.Header().Set("X-Request-Id", "tenant-host-request")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html>" + leakMarker + "</html>"))
	}))
	t.Cleanup(h.Close)
	return h
}

func TestAnEndpointThePlatformDidNotAllowGetsNoRequest(t *testing.T) {
	host := newTenantHost(t)
	cases := []struct{ name, endpoint string }{
		{"a tenant's host", host.URL},
		{"the same host by another name", strings.Replace(host.URL, "127.0.0.1", "localhost", 1)},
		{"another region's official endpoint", "https://hss.cn-north-4.myhuaweicloud.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, simulator.Config{})
			h.createSecret(validSecret())
			refs := h.images("team", "app", 2, nil)
			h.scan("ssrf", scanv1.ImageScanSpec{Images: refs, Endpoint: tc.endpoint})

			obj := h.eventually("ssrf", func(g Gomega, obj *scanv1.ImageScan) {
				haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonEndpointNotAllowed)
				haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonEndpointNotAllowed)
			})

			h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("--allowed-endpoints"))
			h.g.Consistently(host.requests.Load, time.Second, 50*time.Millisecond).Should(BeZero())
			h.g.Expect(h.sim.Counts()).To(BeEmpty(), "nothing went to the platform's endpoint either")
		})
	}
}

func TestAnAllowedEndpointsErrorBodyNeverReachesStatusOrEvents(t *testing.T) {
	host := newTenantHost(t)
	h := newHarnessWith(t, simulator.Config{}, func(_ *harness, r *controller.ImageScanReconciler) {
		policy, err := hss.NewEndpointPolicy([]string{"http://127.0.0.1:*"})
		if err != nil {
			t.Fatal(err)
		}
		r.Tenancy.Endpoints = policy
	})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	h.scan("echo", scanv1.ImageScanSpec{Images: refs, Endpoint: host.URL})

	obj := h.eventually("echo", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionUnknown, scanv1.ReasonServiceUnavailable)
		g.Expect(host.requests.Load()).To(BeNumerically(">", 0))
	})

	msg := condition(obj, scanv1.ConditionReady).Message
	h.g.Expect(msg).To(ContainSubstring("the answer was not an HSS error [request tenant-host-request]"))
	h.g.Expect(msg).NotTo(ContainSubstring("LEAK-MARKER"))
	var events eventsv1.EventList
	h.g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(h.ns))).To(Succeed())
	for _, e := range events.Items {
		h.g.Expect(e.Note).NotTo(ContainSubstring("LEAK-MARKER"))
	}
}

func TestASecretNamingAFileIsRefusedWithoutTheFileBeingOpened(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	// A FIFO shows whether anyone opened it: opening its write end without
	// blocking fails with ENXIO while no reader has it open.
	fifo := filepath.Join(t.TempDir(), "token")
	h.g.Expect(syscall.Mkfifo(fifo, 0o600)).To(Succeed())
	secret := validSecret()
	secret["idpID"], secret["idTokenFile"] = "platform-idp", fifo
	h.createSecret(secret)
	refs := h.images("team", "app", 1, nil)
	h.scan("file", scanv1.ImageScanSpec{Images: refs})

	obj := h.eventually("file", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonCredentialsInvalid)
	})

	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("spec.serviceAccountName"))
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).NotTo(ContainSubstring(fifo))
	h.g.Consistently(func() error {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			f.Close()
		}
		return err
	}, time.Second, 50*time.Millisecond).Should(MatchError(syscall.ENXIO), "nobody opened the file")
	h.g.Expect(h.sim.Counts()).To(BeEmpty())
}

func TestLockdownGivesPlatformCredentialsOnlyToAllowedNamespaces(t *testing.T) {
	cases := []struct {
		name    string
		allowed func(ns string) []string
		ready   bool
	}{
		{"a namespace not allowed", func(string) []string { return []string{"platform-team"} }, false},
		{"an allowed namespace", func(ns string) []string { return []string{"platform-team", ns} }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, simulator.Config{}, func(h *harness, r *controller.ImageScanReconciler) {
				r.Defaults.CredentialsSecret = types.NamespacedName{Namespace: h.ns, Name: secretName}
				r.Tenancy.RestrictPlatformCredentials = true
				r.Tenancy.PlatformCredentialsNamespaces = tc.allowed(h.ns)
			})
			h.platform = true
			h.createSecret(validSecret())
			refs := h.images("team", "app", 2, nil)
			h.scan("platform", scanv1.ImageScanSpec{Images: refs})

			if tc.ready {
				h.readyInRound("platform", 1)
				h.g.Expect(h.batchScans()).To(Equal(1))
				return
			}
			obj := h.eventually("platform", func(g Gomega, obj *scanv1.ImageScan) {
				haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonCredentialsNotAllowed)
			})
			h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("spec.credentialsRef"))
			h.g.Consistently(h.sim.Counts, time.Second, 50*time.Millisecond).Should(BeEmpty())
		})
	}
}

const (
	testIdpID    = "cluster-oidc"
	testAudience = "hss-imagescan"
)

// workloadIdentity enables spec.serviceAccountName, exchanging tokens with
// the harness's simulator standing for IAM.
func workloadIdentity(t *testing.T) func(h *harness, r *controller.ImageScanReconciler) {
	return func(h *harness, r *controller.ImageScanReconciler) {
		f, err := identity.New(identity.Config{
			IdpID: testIdpID, Audience: testAudience, IAMEndpoint: h.url, TokenDir: t.TempDir(),
		}, r.Client)
		if err != nil {
			t.Fatal(err)
		}
		r.Tenancy.WorkloadIdentity = f
	}
}

// reviewToken verifies a ServiceAccount token with the API server that
// issued it, as IAM verifies it against the cluster's issuer keys.
func reviewToken(token string) (string, error) {
	tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{testAudience}}}
	if err := env.Client.Create(context.Background(), tr); err != nil {
		return "", err
	}
	if !tr.Status.Authenticated {
		return "", errors.New(tr.Status.Error)
	}
	return tr.Status.User.Username, nil
}

func TestAServiceAccountScansWithItsOwnIdentity(t *testing.T) {
	h := newHarnessWith(t, simulator.Config{}, workloadIdentity(t))
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scanner", Namespace: h.ns}}
	h.g.Expect(env.Client.Create(context.Background(), sa)).To(Succeed())
	refs := h.images("team", "app", 2, nil)
	h.scan("keyless", scanv1.ImageScanSpec{Images: refs, ServiceAccountName: "scanner"})

	h.readyInRound("keyless", 1)

	feds := h.iam.Federations()
	h.g.Expect(feds).To(HaveLen(1))
	h.g.Expect(feds[0].Subject).To(Equal("system:serviceaccount:" + h.ns + ":scanner"))
	h.g.Expect(feds[0].Audiences).To(ConsistOf(testAudience))
	h.g.Expect(feds[0].IdpID).To(Equal(testIdpID))
	h.g.Expect(h.batchScans()).To(Equal(1))
}

func TestServiceAccountIdentityIsRefusedUnlessEnabledOrTheAccountExists(t *testing.T) {
	cases := []struct {
		name   string
		adjust func(h *harness, r *controller.ImageScanReconciler)
		reason string
	}{
		{"workload identity off", nil, scanv1.ReasonCredentialsNotAllowed},
		{"no such ServiceAccount", workloadIdentity(t), scanv1.ReasonCredentialsNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, simulator.Config{}, tc.adjust)
			refs := h.images("team", "app", 1, nil)
			h.scan("keyless", scanv1.ImageScanSpec{Images: refs, ServiceAccountName: "missing"})
			h.eventually("keyless", func(g Gomega, obj *scanv1.ImageScan) {
				haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, tc.reason)
			})
			h.g.Expect(h.sim.Counts()).To(BeEmpty())
		})
	}
}
