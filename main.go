// Command manager runs the ImageScan controller.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	// CA roots for HTTPS to HSS and IAM in an image without a base: Go uses
	// them only when the system has none.
	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	_ "golang.org/x/crypto/x509roots/fallback"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/identity"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(scanv1.AddToScheme(scheme))
	utilruntime.Must(openreports.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr, probeAddr, defaultSecret string
		leaderElectionNamespace, pprofAddr    string
		leaderElect, metricsSecure, http2     bool
		defaults                              controller.Defaults
		limits                                hss.LimitOptions
		opts                                  controller.Options
		timeout                               time.Duration
		maxAnswer                             int64
		iamEndpoint, backend                  string
		tenancy                               controller.Tenancy
		allowedEndpoints, platformNamespaces  []string
		workloadIdentity                      bool
		federation                            identity.Config
	)
	d := controller.DefaultOptions() // the flags' defaults
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP); 0 disables it.")
	flag.BoolVar(&metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorisation.")
	flag.BoolVar(&http2, "enable-http2", false, "Allow HTTP/2 on the metrics server (off: HTTP/2 rapid-reset mitigations).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the health probes.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address of Go's profiling endpoints (/debug/pprof), for diagnosing memory and CPU; 0 disables them. Bind it to localhost: it has no authentication.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one manager reconciles.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; the pod's own namespace when empty, required outside a cluster.")
	flag.StringVar(&defaults.Region, "hss-region", "", "Default Huawei Cloud region, e.g. ap-southeast-1.")
	flag.StringVar(&defaults.ProjectID, "hss-project-id", "", "Default IAM project ID.")
	flag.StringVar(&defaults.Endpoint, "hss-endpoint", "", "Default HSS endpoint; derived from the region when empty.")
	flag.StringVar(&defaultSecret, "default-credentials-secret", "", "NAMESPACE/NAME of the credentials Secret for ImageScans without credentialsRef or serviceAccountName; empty uses the manager's key-less identity.")
	flag.Func("allowed-endpoints", "Comma-separated scheme://host[:port] patterns an ImageScan's spec.endpoint may name, besides its region's official endpoint; * matches within one DNS label of the host, or any port.", listFlag(&allowedEndpoints))
	flag.BoolVar(&tenancy.RestrictPlatformCredentials, "no-platform-credentials", false, "Lockdown: ImageScans may use the default Secret and the manager's key-less identity only from --platform-credentials-namespaces; others must bring a Secret or a ServiceAccount.")
	flag.Func("platform-credentials-namespaces", "Comma-separated namespaces allowed the platform's credentials under --no-platform-credentials.", listFlag(&platformNamespaces))
	flag.BoolVar(&workloadIdentity, "workload-identity", false, "Allow spec.serviceAccountName: mint a token for that ServiceAccount and exchange it with IAM (needs the workload-identity RBAC role).")
	flag.StringVar(&federation.IdpID, "workload-identity-idp-id", "", "IAM identity provider that trusts this cluster's ServiceAccount token issuer.")
	flag.StringVar(&federation.Audience, "workload-identity-audience", "sts.myhuaweicloud.com", "Audience of the minted tokens: the client ID configured on the identity provider.")
	flag.StringVar(&iamEndpoint, "iam-endpoint", "", "IAM endpoint for project-ID lookups and the workload-identity token exchange; the SDK's default when empty.")
	flag.StringVar(&federation.TokenDir, "workload-identity-token-dir", filepath.Join(os.TempDir(), "workload-identity"), "Directory, private to the manager, for the minted tokens.")
	flag.Float64Var(&limits.QPS, "hss-qps", 10, "HSS calls per second allowed per HSS project, shared by all ImageScans.")
	flag.IntVar(&limits.Burst, "hss-burst", 20, "Burst of HSS calls allowed per HSS project.")
	flag.IntVar(&limits.MaxInFlight, "hss-max-inflight", 8, "Concurrent HSS calls allowed per HSS project.")
	flag.DurationVar(&timeout, "hss-timeout", 30*time.Second, "Timeout of one HSS call.")
	flag.StringVar(&backend, "hss-backend", hss.BackendBatchScan, "Family of HSS calls: batch-scan (deprecated by HSS, still served), tasks (its successors), or auto (batch-scan until HSS answers that it no longer exists, then tasks, per endpoint).")
	flag.DurationVar(&limits.MaxWait, "hss-max-wait", 5*time.Second, "Longest a call waits for its identity's budget; a longer wait, or a pause HSS asked for, requeues the ImageScan instead.")
	flag.DurationVar(&opts.EvidenceWindow, "evidence-window", d.EvidenceWindow, "After a batch-scan call whose outcome is unknown, how long to wait for HSS to show the round before asking again.")
	flag.DurationVar(&opts.PassTimeout, "pass-timeout", d.PassTimeout, "Bound of the HSS calls of one reconcile.")
	flag.IntVar(&opts.MaxConcurrentReconciles, "max-concurrent-reconciles", d.MaxConcurrentReconciles, "ImageScans reconciled in parallel.")
	flag.IntVar(&opts.ReadConcurrency, "read-concurrency", d.ReadConcurrency, "Calls in flight that read what one ImageScan's scans gave: file statistics, vulnerability lists, catalogue lookups.")
	flag.IntVar(&opts.ReadConcurrency, "stats-concurrency", d.ReadConcurrency, "Deprecated: --read-concurrency, which it sets.")
	flag.IntVar(&opts.MaxImagesPerScan, "max-images-per-scan", 0, "Most images one ImageScan may scan; one that matches more starts no round (ImageLimitExceeded). 0 is no bound.")
	flag.Int64Var(&maxAnswer, "hss-max-answer-bytes", hss.DefaultMaxAnswerBytes, "Largest HSS answer read; a larger one fails its call.")
	flag.DurationVar(&opts.MaxExceptionDuration, "max-exception-duration", d.MaxExceptionDuration, "Furthest a VulnerabilityException may expire after it last changed; one beyond it accepts nothing (ExpiryBeyondMaximum).")
	flag.DurationVar(&opts.MinPoll, "min-poll-interval", d.MinPoll, "First wait between polls of a running scan.")
	flag.DurationVar(&opts.MaxPoll, "max-poll-interval", d.MaxPoll, "Longest wait between polls of a running scan.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	// The Go runtime collects sooner as the heap nears 90% of the
	// container's memory limit, instead of growing to twice the live heap
	// and past the limit; GOMEMLIMIT, where set, wins.
	if limit, err := memlimit.Set(); err != nil {
		log.Error(err, "could not read the container's memory limit; the Go runtime's default applies")
	} else if limit < math.MaxInt64 {
		log.Info("memory limit of the Go runtime", "bytes", limit)
	}

	if defaultSecret != "" {
		ns, name, ok := strings.Cut(defaultSecret, "/")
		if !ok || ns == "" || name == "" {
			fail(log, fmt.Errorf("--default-credentials-secret must be NAMESPACE/NAME, got %q", defaultSecret), "invalid flag")
		}
		defaults.CredentialsSecret = types.NamespacedName{Namespace: ns, Name: name}
	}

	switch backend {
	case hss.BackendBatchScan, hss.BackendTasks, hss.BackendAuto:
	default:
		fail(log, fmt.Errorf("--hss-backend must be batch-scan, tasks or auto, got %q", backend), "invalid flag")
	}
	policy, err := hss.NewEndpointPolicy(allowedEndpoints)
	if err != nil {
		fail(log, err, "invalid flag")
	}
	tenancy.Endpoints, tenancy.PlatformCredentialsNamespaces = policy, platformNamespaces

	var tlsOpts []func(*tls.Config)
	if !http2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: metricsSecure, TLSOpts: tlsOpts}
	if metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	mgrOpts := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        probeAddr,
		PprofBindAddress:              pprofAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              "imagescan.scan.hss.dev",
		LeaderElectionNamespace:       leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	}
	controller.ConfigureCache(&mgrOpts)
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), mgrOpts)
	if err != nil {
		fail(log, err, "unable to create manager")
	}
	federation.IAMEndpoint = iamEndpoint
	if workloadIdentity {
		if tenancy.WorkloadIdentity, err = identity.New(federation, mgr.GetClient()); err != nil {
			fail(log, err, "invalid workload identity flags")
		}
	}
	ctx := ctrl.SetupSignalHandler()
	r := &controller.ImageScanReconciler{
		Client:   mgr.GetClient(),
		Events:   mgr.GetEventRecorder("imagescan-controller"),
		HSS:      hss.NewProvider(hss.Options{Limits: limits, Timeout: timeout, IAMEndpoint: iamEndpoint, Backend: backend, MaxAnswerBytes: maxAnswer}),
		Defaults: defaults,
		Tenancy:  tenancy,
		Options:  opts,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		fail(log, err, "unable to set up the controller")
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		fail(log, err, "unable to set up health check")
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		fail(log, err, "unable to set up ready check")
	}
	log.Info("starting manager", "region", defaults.Region, "endpoint", defaults.Endpoint, "backend", backend,
		"allowedEndpoints", allowedEndpoints, "platformCredentialsRestricted", tenancy.RestrictPlatformCredentials,
		"workloadIdentity", workloadIdentity)
	if err := mgr.Start(ctx); err != nil {
		fail(log, err, "manager stopped")
	}
}

// listFlag parses a comma-separated flag into *dst.
func listFlag(dst *[]string) func(string) error {
	return func(v string) error {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*dst = append(*dst, item)
			}
		}
		return nil
	}
}

func fail(log interface{ Error(error, string, ...any) }, err error, msg string) {
	log.Error(err, msg)
	os.Exit(1)
}
