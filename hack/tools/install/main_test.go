package install

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, func(e *testenv.Env) { env = e })
}

const (
	accessKey = "INSTALLTESTAK"
	secretKey = "install-test-sk"
	projectID = "install-project"
	region    = "ap-southeast-1"
)

// artefact is a file that make builds before the tests; its absence is a
// failure with the command to run, not a skip.
func artefact(t *testing.T, rel, make string) string {
	t.Helper()
	p := filepath.Join(testenv.Root(), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run %s first (make test does)", rel, make)
	}
	return p
}

// kubeconfigFile writes a kubeconfig into dir, readable by other users
// (the image test runs the manager as uid 65532), and returns its path.
func kubeconfigFile(t *testing.T, dir string, data []byte, err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newSimulator serves a simulator with n images of team/app on loopback,
// each scan taking scan.
func newSimulator(t *testing.T, n int, scan time.Duration) (*simulator.Server, string) {
	sim := simulator.New(simulator.Config{
		ProjectID:   projectID,
		Credentials: map[string]simulator.Credential{accessKey: {SK: secretKey}},
		QueueDelay:  200 * time.Millisecond, ScanDuration: scan,
	})
	for i := range n {
		sim.AddImages(simulator.Image{Type: simulator.TypePrivate, Namespace: "team", Name: "app",
			Tag: fmt.Sprintf("v%d", i), Size: 10 << 20, FilesNum: 100, FilesSize: 3 << 30, UpdatedAt: time.Now()})
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// tenant creates a namespace with a credentials Secret and an ImageScan of
// n images, and returns the namespace.
func tenant(t *testing.T, g Gomega, name string, n int) string {
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hss", Namespace: name},
		StringData: map[string]string{"accessKey": accessKey, "secretKey": secretKey}})).To(Succeed())
	var refs []scanv1.ImageReference
	for i := range n {
		refs = append(refs, scanv1.ImageReference{Namespace: "team", Name: "app", Tag: fmt.Sprintf("v%d", i)})
	}
	g.Expect(env.Client.Create(ctx, &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: "scan", Namespace: name},
		Spec: scanv1.ImageScanSpec{ImageType: scanv1.PrivateImage, Images: refs, CredentialsRef: &scanv1.SecretReference{Name: "hss"}}})).To(Succeed())
	return name
}

// waitReady waits, bounded, for the tenant's ImageScan to be Ready=True.
func waitReady(g Gomega, namespace string) *scanv1.ImageScan {
	obj := &scanv1.ImageScan{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: "scan"}, obj)).To(Succeed())
		ready := false
		for _, c := range obj.Status.Conditions {
			ready = ready || c.Type == scanv1.ConditionReady && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.Generation
		}
		g.Expect(ready).To(BeTrue(), "conditions: %v", obj.Status.Conditions)
	}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
	return obj
}

// manager is a manager binary running as its own process.
type manager struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	logs     bytes.Buffer
	stopOnce sync.Once
}

func (m *manager) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs.Write(p)
}

func (m *manager) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs.String()
}

// startManager runs binary with kubeconfig and the simulator as its default
// endpoint; cred, when set, runs it as that user.
func startManager(t *testing.T, binary, kubeconfig, simURL string, extra []string, configure func(*exec.Cmd)) *manager {
	t.Helper()
	args := append([]string{
		"--hss-endpoint=" + simURL, "--hss-region=" + region, "--hss-project-id=" + projectID,
		"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:0",
		"--min-poll-interval=200ms", "--max-poll-interval=1s",
	}, extra...)
	m := &manager{cmd: exec.Command(binary, args...)}
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = m, m
	if configure != nil {
		configure(m.cmd)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start manager %s: %v", binary, err)
	}
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			t.Logf("manager %s output:\n%s", binary, m.output())
		}
	})
	return m
}

// stop interrupts the manager, as the kubelet would, and waits for it to
// exit (killing it after 15 s).
func (m *manager) stop() {
	m.stopOnce.Do(func() {
		_ = m.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = m.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = m.cmd.Process.Kill()
		}
	})
}
