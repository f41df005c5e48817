package controller_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/iamsim"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

var env *testenv.Env

// backend is the family of HSS calls the suite runs on: HSS_TEST_BACKEND,
// batch-scan by default. make test runs the suite on each.
var backend = func() string {
	if b := os.Getenv("HSS_TEST_BACKEND"); b != "" {
		return b
	}
	return hss.BackendBatchScan
}()

func TestMain(m *testing.M) {
	// Controller logs go to stderr with HSS_TEST_LOG=1.
	if os.Getenv("HSS_TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	}
	testenv.Main(m, func(e *testenv.Env) { env = e })
}

const (
	testAK      = "TESTACCESSKEY"
	testSK      = "test-secret-key"
	testProject = "proj"
	testRegion  = "ap-southeast-1"
	secretName  = "hss-credentials"
)

// harness is one test's world: a namespace, a simulator on loopback, and a
// manager that can be stopped and started again.
type harness struct {
	t        *testing.T
	g        Gomega
	ns       string
	sim      *simulator.Server
	iam      *iamsim.Server
	url      string
	simClock *testingclock.FakeClock // drives scan progress
	clock    *testingclock.FakeClock // the controller's clock
	provider *hss.Provider
	stop     func()
	// cache is the running manager's cache, to check what it holds.
	cache cache.Cache
	// adjust, when set, changes each new manager's reconciler, e.g. its
	// tenancy; platform marks ImageScans that use the platform's credentials.
	adjust   func(r *controller.ImageScanReconciler)
	platform bool
}

var nsCounter atomic.Int32

func newHarness(t *testing.T, cfg simulator.Config, limits ...hss.LimitOptions) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, nil, limits...)
}

// newHarnessWith starts a harness whose managers' reconcilers adjust changes.
func newHarnessWith(t *testing.T, cfg simulator.Config, adjust func(h *harness, r *controller.ImageScanReconciler), limits ...hss.LimitOptions) *harness {
	t.Helper()
	testenv.Require(t)
	h := &harness{t: t, g: NewWithT(t), simClock: testingclock.NewFakeClock(time.Now()), clock: testingclock.NewFakeClock(time.Now())}
	if adjust != nil {
		h.adjust = func(r *controller.ImageScanReconciler) { adjust(h, r) }
	}
	cfg.ProjectID = testProject
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]simulator.Credential{testAK: {SK: testSK}}
	}
	if cfg.Clock == nil {
		cfg.Clock = h.simClock
	}
	if cfg.QueueDelay == 0 {
		cfg.QueueDelay = time.Second
	}
	if cfg.ScanDuration == 0 {
		cfg.ScanDuration = 2 * time.Second
	}
	h.sim = simulator.New(cfg)
	// IAM answers on the same endpoint, trusting the test API server's
	// ServiceAccount tokens (workload identity).
	h.iam = iamsim.New(iamsim.Config{
		IdentityProviders: map[string]iamsim.IdentityProvider{testIdpID: {Audience: testAudience, Verify: reviewToken}},
		Keys:              h.sim, Clock: cfg.Clock,
	})
	srv := httptest.NewServer(h.iam.Beside(h.sim))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.provider = hss.NewProvider(hss.Options{Timeout: 5 * time.Second, Clock: h.clock, Backend: backend})
	if len(limits) > 0 {
		h.provider = hss.NewProvider(hss.Options{Timeout: 5 * time.Second, Limits: limits[0], Clock: h.clock, Backend: backend})
	}

	h.ns = fmt.Sprintf("test-%d", nsCounter.Add(1))
	h.g.Expect(env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}})).To(Succeed())
	h.start()
	t.Cleanup(func() { h.stop() })
	return h
}

// start runs a new manager, as a restarted or failed-over one would.
func (h *harness) start() {
	h.t.Helper()
	opts := ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	}
	controller.ConfigureCache(&opts)
	// Each test's manager sees only its own namespace.
	opts.Cache.DefaultNamespaces = map[string]cache.Config{h.ns: {}}
	mgr, err := ctrl.NewManager(env.Config, opts)
	h.g.Expect(err).NotTo(HaveOccurred())
	r := &controller.ImageScanReconciler{
		Client:   mgr.GetClient(),
		Events:   mgr.GetEventRecorder("imagescan-controller"),
		HSS:      h.provider,
		Defaults: controller.Defaults{Region: testRegion, ProjectID: testProject, Endpoint: h.url},
		Options: controller.Options{
			MinPoll: 20 * time.Millisecond, MaxPoll: 100 * time.Millisecond,
			MaxRequeue: 200 * time.Millisecond, StalledRetry: time.Hour, Clock: h.clock,
		},
	}
	if h.adjust != nil {
		h.adjust(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.g.Expect(r.SetupWithManager(ctx, mgr)).To(Succeed())
	h.cache = mgr.GetCache()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			h.t.Errorf("manager: %v", err)
		}
	}()
	h.stop = func() { cancel(); <-done }
}

func (h *harness) restart() {
	h.stop()
	h.start()
}

func (h *harness) createSecret(data map[string]string) {
	h.t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: h.ns}, StringData: data}
	h.g.Expect(env.Client.Create(context.Background(), s)).To(Succeed())
}

func validSecret() map[string]string {
	return map[string]string{"accessKey": testAK, "secretKey": testSK}
}

// images adds n private images of one repository to the simulator.
func (h *harness) images(namespace, name string, n int, mutate func(i int, img *simulator.Image)) []scanv1.ImageReference {
	var refs []scanv1.ImageReference
	for i := range n {
		img := simulator.Image{
			Type: simulator.TypePrivate, Namespace: namespace, Name: name, Tag: fmt.Sprintf("v%d", i),
			Size: int64(100+i) << 20, UpdatedAt: time.Date(2026, 6, 1+i, 0, 0, 0, 0, time.UTC),
			FilesNum: int64(1000 + i), FilesSize: int64(50<<20 + i),
		}
		if mutate != nil {
			mutate(i, &img)
		}
		h.sim.AddImages(img)
		refs = append(refs, scanv1.ImageReference{Namespace: namespace, Name: name, Tag: img.Tag})
	}
	return refs
}

func (h *harness) scan(name string, spec scanv1.ImageScanSpec) *scanv1.ImageScan {
	h.t.Helper()
	if spec.ImageType == "" {
		spec.ImageType = scanv1.PrivateImage
	}
	if spec.CredentialsRef == nil && spec.ServiceAccountName == "" && !h.platform {
		spec.CredentialsRef = &scanv1.SecretReference{Name: secretName}
	}
	obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}, Spec: spec}
	h.g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	return obj
}

func (h *harness) get(name string) *scanv1.ImageScan {
	obj := &scanv1.ImageScan{}
	h.g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, obj)).To(Succeed())
	return obj
}

func (h *harness) update(name string, mutate func(*scanv1.ImageScan)) {
	h.t.Helper()
	h.g.Eventually(func() error {
		obj := h.get(name)
		mutate(obj)
		return env.Client.Update(context.Background(), obj)
	}, 10*time.Second).Should(Succeed())
}

// eventually waits, bounded, until the object satisfies check.
func (h *harness) eventually(name string, check func(g Gomega, obj *scanv1.ImageScan)) *scanv1.ImageScan {
	h.t.Helper()
	return h.eventuallyWithin(30*time.Second, name, check)
}

// eventuallyWithin is eventually with another bound, for a pass of
// thousands of calls on a loaded machine.
func (h *harness) eventuallyWithin(bound time.Duration, name string, check func(g Gomega, obj *scanv1.ImageScan)) *scanv1.ImageScan {
	h.t.Helper()
	var last *scanv1.ImageScan
	h.g.Eventually(func(g Gomega) {
		last = &scanv1.ImageScan{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, last)).To(Succeed())
		check(g, last)
	}, bound, 20*time.Millisecond).Should(Succeed())
	return last
}

// requestRescan asks for a new round once the minimum interval since the
// last one has passed on the controller's clock, with a value of the
// annotation not used before.
func (h *harness) requestRescan(name string) {
	h.t.Helper()
	h.clock.Step(scanv1.MinRescanInterval)
	at := h.clock.Now().UTC().Format(time.RFC3339Nano)
	h.update(name, func(o *scanv1.ImageScan) { o.Annotations = map[string]string{scanv1.RescanAnnotation: at} })
}

// oneImageWithDetails runs a Details round listing every severity over one
// image team/app:v0 with vulns vulnerabilities, and returns its report.
func (h *harness) oneImageWithDetails(name string, vulns int32) scanv1.ImageReport {
	h.t.Helper()
	refs := h.images("team", "app", 1, func(_ int, img *simulator.Image) { img.Vulnerabilities = vulns })
	h.scan(name, scanv1.ImageScanSpec{Images: refs, Vulnerabilities: scanv1.VulnerabilitiesDetails, MinSeverity: scanv1.SeverityLow})
	h.readyInRound(name, 1)
	return h.reports(h.g, name)["team/app:v0"]
}

// finishScans moves the simulator's clock past every queued scan.
func (h *harness) finishScans() { h.simClock.Step(time.Minute) }

func condition(obj *scanv1.ImageScan, t string) *metav1.Condition {
	return apimeta.FindStatusCondition(obj.Status.Conditions, t)
}

func haveCondition(g Gomega, obj *scanv1.ImageScan, t string, s metav1.ConditionStatus, reason string) {
	c := condition(obj, t)
	g.Expect(c).NotTo(BeNil(), "condition %s missing in %v", t, obj.Status.Conditions)
	g.Expect(c.Status).To(Equal(s), "condition %s: %s", t, c.Message)
	g.Expect(c.Reason).To(Equal(reason), "condition %s: %s", t, c.Message)
	g.Expect(c.ObservedGeneration).To(Equal(obj.Generation))
}

func kstatus(g Gomega, obj *scanv1.ImageScan) status.Status {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	g.Expect(err).NotTo(HaveOccurred())
	m["apiVersion"], m["kind"] = scanv1.GroupVersion.String(), "ImageScan"
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}

func round(obj *scanv1.ImageScan) int64 {
	if obj.Status.LastScanRequest == nil {
		return 0
	}
	return obj.Status.LastScanRequest.Round
}

// The simulator's operations of the suite's backend.
func (h *harness) scanOp() simulator.Op {
	if backend == hss.BackendTasks {
		return simulator.OpScanTask
	}
	return simulator.OpBatchScan
}

func (h *harness) listOp() simulator.Op {
	if backend == hss.BackendTasks {
		return simulator.OpRegistryImages
	}
	return simulator.OpListImages
}

func (h *harness) syncOp() simulator.Op {
	if backend == hss.BackendTasks {
		return simulator.OpSyncTask
	}
	return simulator.OpSynchronize
}

// batchScans counts the scan requests HSS accepted, of either family.
func (h *harness) batchScans() int {
	return h.sim.Count(simulator.OpBatchScan, simulator.OutcomeOK) + h.sim.Count(simulator.OpScanTask, simulator.OutcomeOK)
}

// scanRequest is an accepted scan request of either family: whether it
// selected by criteria, the images it named, and its criteria.
type scanRequest struct {
	all         bool
	named       int
	namespace   string
	updatedFrom *int64
}

func (h *harness) scanRequests() []scanRequest {
	var out []scanRequest
	for _, r := range h.sim.BatchScans() {
		q := r.Request
		out = append(out, scanRequest{all: ptr.Deref(q.OperateAll, false), named: len(ptr.Deref(q.ImageInfoList, nil)),
			namespace: ptr.Deref(q.Namespace, ""), updatedFrom: q.StartLatestUpdateTime})
	}
	for _, r := range h.sim.ScanTasks() {
		q, qi := r.Request, ptr.Deref(r.Request.QueryInfo, model.CreateManualImageScanTaskReqInfoQueryInfo{})
		out = append(out, scanRequest{all: ptr.Deref(q.IsAll, false), named: len(ptr.Deref(q.ImageInfo, nil)),
			namespace: ptr.Deref(qi.Namespace, ""), updatedFrom: qi.StartLatestUpdateTime})
	}
	return out
}
func (h *harness) fileStats() int { return h.sim.Count(simulator.OpFileStats, simulator.OutcomeOK) }

// reports returns the ImageScan's reports by image reference
// (organisation/name:tag), read from the API server, and checks that each
// is controlled by the ImageScan.
func (h *harness) reports(g Gomega, name string) map[string]scanv1.ImageReport {
	obj := h.get(name)
	var list scanv1.ImageReportList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(h.ns),
		client.MatchingLabels{scanv1.LabelImageScan: name})).To(Succeed())
	out := map[string]scanv1.ImageReport{}
	for _, rep := range list.Items {
		ref := metav1.GetControllerOf(&rep)
		g.Expect(ref).NotTo(BeNil(), "report %s has a controller", rep.Name)
		g.Expect(ref.UID).To(Equal(obj.UID))
		g.Expect(ref.Kind).To(Equal("ImageScan"))
		out[rep.Spec.Reference] = rep
	}
	return out
}

// recordWrites watches the namespace's ImageScans and returns a function
// that gives every status the API server stored since, in order.
func (h *harness) recordWrites() func() []*scanv1.ImageScan {
	h.t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	h.g.Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(context.Background(), &scanv1.ImageScanList{}, client.InNamespace(h.ns))
	h.g.Expect(err).NotTo(HaveOccurred())
	h.t.Cleanup(w.Stop)
	var mu sync.Mutex
	var writes []*scanv1.ImageScan
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				mu.Lock()
				writes = append(writes, ev.Object.(*scanv1.ImageScan))
				mu.Unlock()
			}
		}
	}()
	return func() []*scanv1.ImageScan {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(writes)
	}
}

// eventNotes returns the notes of the namespace's events with a reason,
// about any object.
func (h *harness) eventNotes(g Gomega, reason string) []string { return h.eventsAbout(g, "", reason) }
