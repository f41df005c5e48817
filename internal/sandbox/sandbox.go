// Package sandbox runs the whole operator in one process, for demos and
// benchmarks: a local API server with the CRDs (envtest), the HSS simulator
// on a loopback port, and a manager running the real ImageScan reconciler
// against it. The control plane binaries come from `make envtest`.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// The manager's defaults, and where the credentials Secret lives.
const (
	Region     = "ap-southeast-1"
	ProjectID  = "sandbox-project"
	Namespace  = "sandbox"
	SecretName = "hss-credentials"

	accessKey = "SANDBOXACCESSKEY"
	secretKey = "sandbox-secret-key"
)

// Config sets up a Sandbox. The zero value is a working sandbox with an
// empty inventory, instant scans and unlimited HSS calls.
type Config struct {
	// Simulator configures the HSS simulator; its ProjectID and Credentials
	// are set by the sandbox.
	Simulator simulator.Config
	// Images are the simulator's initial inventory.
	Images []simulator.Image
	// Limits pace the manager's HSS calls, per HSS project.
	Limits hss.LimitOptions
	// Controller tunes the reconciler.
	Controller controller.Options
	// Wrap, when set, wraps the simulator's HTTP handler, e.g. to observe
	// requests.
	Wrap func(http.Handler) http.Handler
	// NoManager leaves the manager out: the caller runs one, e.g. as its own
	// process, with ManagerArgs.
	NoManager bool
}

// Sandbox is a running API server, simulator and manager.
type Sandbox struct {
	Env       *testenv.Env
	Simulator *simulator.Server
	// SimulatorURL is the simulator's address, the manager's default endpoint.
	SimulatorURL string

	srv    *httptest.Server
	cancel context.CancelFunc
	done   chan error
}

// Start starts the API server, the simulator and the manager, and creates
// the namespace Namespace with the credentials Secret SecretName, which is
// also the manager's default Secret. Stop tears it all down.
func Start(cfg Config) (*Sandbox, error) {
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Env: env}

	cfg.Simulator.ProjectID = ProjectID
	cfg.Simulator.Credentials = map[string]simulator.Credential{accessKey: {SK: secretKey}}
	s.Simulator = simulator.New(cfg.Simulator)
	s.Simulator.AddImages(cfg.Images...)
	var h http.Handler = s.Simulator
	if cfg.Wrap != nil {
		h = cfg.Wrap(h)
	}
	s.srv = httptest.NewServer(h)
	s.SimulatorURL = s.srv.URL

	if err := s.createCredentials(context.Background()); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	if cfg.NoManager {
		return s, nil
	}
	if err := s.startManager(cfg); err != nil {
		return nil, errors.Join(fmt.Errorf("start manager: %w", err), s.Stop())
	}
	return s, nil
}

// Target is the simulator's project reached with the sandbox's keys, for a
// client of HSS other than the manager.
func (s *Sandbox) Target() hss.Target {
	return hss.Target{
		Endpoint: s.SimulatorURL, Region: Region, ProjectID: ProjectID, CredentialsVersion: "sandbox",
		Credentials: hss.Credentials{AccessKey: accessKey, SecretKey: secretKey},
	}
}

// ManagerArgs are the flags that point a manager process at the sandbox's
// simulator, project and credentials Secret, with its probes and metrics
// off.
func (s *Sandbox) ManagerArgs() []string {
	return []string{
		"--hss-endpoint=" + s.SimulatorURL, "--hss-region=" + Region, "--hss-project-id=" + ProjectID,
		"--default-credentials-secret=" + Namespace + "/" + SecretName,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
	}
}

func (s *Sandbox) createCredentials(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	if err := s.Env.Client.Create(ctx, ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", Namespace, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: Namespace},
		StringData: map[string]string{controller.KeyAccessKey: accessKey, controller.KeySecretKey: secretKey},
	}
	if err := s.Env.Client.Create(ctx, secret); err != nil {
		return fmt.Errorf("create Secret %s/%s: %w", Namespace, SecretName, err)
	}
	return nil
}

func (s *Sandbox) startManager(cfg Config) error {
	opts := ctrl.Options{
		Scheme:                 s.Env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Several sandboxes may run one after another in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}
	controller.ConfigureCache(&opts)
	mgr, err := ctrl.NewManager(s.Env.Config, opts)
	if err != nil {
		return err
	}
	r := &controller.ImageScanReconciler{
		Client: mgr.GetClient(),
		Events: mgr.GetEventRecorder("imagescan-controller"),
		HSS:    hss.NewProvider(hss.Options{Limits: cfg.Limits}),
		Defaults: controller.Defaults{
			Region: Region, ProjectID: ProjectID, Endpoint: s.SimulatorURL,
			CredentialsSecret: types.NamespacedName{Namespace: Namespace, Name: SecretName},
		},
		Options: cfg.Controller,
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		cancel()
		return err
	}
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- mgr.Start(ctx) }()
	return nil
}

// WriteKubeConfig writes a cluster-admin kubeconfig for the API server to
// path, for kubectl while the sandbox runs.
func (s *Sandbox) WriteKubeConfig(path string) error {
	data, err := s.Env.AdminKubeConfig("sandbox-admin")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// Stop stops the manager, the simulator and the API server, and returns
// the manager's error, if it failed.
func (s *Sandbox) Stop() error {
	var errs []error
	if s.cancel != nil {
		s.cancel()
		if err := <-s.done; err != nil {
			errs = append(errs, fmt.Errorf("manager: %w", err))
		}
		s.cancel = nil
	}
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
	if err := s.Env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop API server: %w", err))
	}
	return errors.Join(errs...)
}
