// Package e2e installs the operator into a real one-node cluster (package
// cluster) the way a platform team does, from make image's tarball and
// make installer's install.yaml, then from the Helm chart, and follows it
// through scans, a Pod's restart, metrics scraping and upgrades. The cluster
// runs in a network namespace of its own; the commands the README gives run
// in it, and the test's own connections are made from it.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/hack/tools/onenode/cluster"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

var (
	node cluster.Config
	cs   *kubernetes.Clientset
	kc   client.Client
)

// TestMain brings the cluster up, runs the tests, takes it down and fails
// if anything of it is left on the host. Where the cluster cannot run (not
// root, not Linux, binaries not built), it says why and skips, except in
// CI, where that is a failure.
func TestMain(m *testing.M) {
	flag.Parse()
	node = cluster.Default(testenv.Root(), os.Getenv("ENVTEST_K8S_VERSION"))
	if err := node.Preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the one-node cluster cannot run here:", err)
		if os.Getenv("CI") != "" {
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped (outside CI)")
		os.Exit(0)
	}
	before, err := cluster.ReadHost()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err = node.Up(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cluster up:", err)
		os.Exit(1)
	}
	fmt.Printf("e2e: the cluster was up in %s\n", time.Since(start).Round(time.Second))
	code := 1
	if err := connect(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	start = time.Now()
	if err := node.Down(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cluster down:", err)
		code = 1
	}
	fmt.Printf("e2e: the cluster was down in %s\n", time.Since(start).Round(time.Second))
	left, err := node.Leftovers(before)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = 1
	}
	for _, l := range left {
		fmt.Fprintln(os.Stderr, "e2e: left on the host:", l)
		code = 1
	}
	os.Exit(code)
}

func connect() error {
	cfg, err := node.RestConfig()
	if err != nil {
		return err
	}
	if cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := scanv1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := openreports.AddToScheme(scheme); err != nil {
		return err
	}
	kc, err = client.New(cfg, client.Options{Scheme: scheme})
	return err
}

// sh runs a command as the README gives it, in the cluster's network
// namespace, from the repository's root, with kubectl and helm on the PATH
// and the admin's kubeconfig, and returns its output.
func sh(t *testing.T, command string, args ...string) string {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=" + node.NetnsPath(), command}, args...)...)
	cmd.Dir = testenv.Root()
	cmd.Env = append(os.Environ(), "KUBECONFIG="+node.AdminKubeconfig(),
		"PATH="+node.BinDir+":"+filepath.Join(testenv.Root(), "bin")+":"+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", command, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// mk runs make on the host, from the repository's root: it builds, and
// may need the module proxy, which the cluster's namespace cannot reach.
func mk(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// artefact is a file make builds before the test.
func artefact(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(testenv.Root(), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: make e2e builds it", rel)
	}
	return p
}
