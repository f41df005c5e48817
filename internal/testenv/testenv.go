// Package testenv starts a real kube-apiserver and etcd (envtest) with the
// project's CRDs installed, for tests. The binaries come from
// `make envtest` (KUBEBUILDER_ASSETS), or from bin/k8s/<version> when a test
// is run directly with go test.
package testenv

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Env is a running API server.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
}

// Root is the module's root directory.
func Root() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts the API server with the CRDs of config/crd/bases, and the
// OpenReports Report CRD the chart can install (config/openreports).
func Start() (*Env, error) { return start(true) }

// StartEmpty starts an API server without the project's CRDs, for tests of
// what installs them.
func StartEmpty() (*Env, error) { return start(false) }

func start(withCRDs bool) (*Env, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := scanv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := openreports.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	env := &envtest.Environment{Scheme: scheme}
	if withCRDs {
		env.CRDDirectoryPaths = []string{filepath.Join(Root(), "config", "crd", "bases"), filepath.Join(Root(), "config", "openreports")}
		env.ErrorIfCRDPathMissing = true
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = localAssets()
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start envtest (run `make envtest` first): %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{env: env, Config: cfg, Client: c, Scheme: scheme}, nil
}

// Stop stops the API server.
func (e *Env) Stop() error { return e.env.Stop() }

// AdminKubeConfig returns a kubeconfig for a new cluster-admin user
// (system:masters), for kubectl against the running API server.
func (e *Env) AdminKubeConfig(name string) ([]byte, error) {
	return e.UserKubeConfig(name, "system:masters")
}

// UserKubeConfig returns a kubeconfig for a user with exactly these groups
// (none: only what RBAC grants the name), authenticated by a client
// certificate.
func (e *Env) UserKubeConfig(name string, groups ...string) ([]byte, error) {
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u.KubeConfig()
}

// localAssets finds the newest bin/k8s/<version> that `make envtest` filled.
func localAssets() string {
	dirs, _ := filepath.Glob(filepath.Join(Root(), "bin", "k8s", "*"))
	if len(dirs) == 0 {
		return ""
	}
	return dirs[len(dirs)-1]
}

// Main is a test binary's TestMain: it starts the API server, hands it to
// use, runs the tests and stops the server.
func Main(m *testing.M, use func(*Env)) {
	// Listing tests, or fuzzing (in every worker), needs no API server.
	flag.Parse()
	for _, name := range []string{"test.fuzz", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			os.Exit(m.Run())
		}
	}
	// go test -short (make test-unit) runs the tests that need no API
	// server; the others skip themselves (Require).
	if testing.Short() {
		os.Exit(m.Run())
	}
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	use(env)
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// Require skips a test that needs the API server when go test runs with
// -short, where Main starts none.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the API server (envtest): run without -short")
	}
}
