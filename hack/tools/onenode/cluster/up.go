package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hss-dev/imagescan-operator/hack/tools/imagebuild"
)

// packages are Debian's parts of the node, by a file each installs.
var packages = map[string]string{
	"containerd": "/usr/bin/containerd", "runc": "/usr/sbin/runc", "containernetworking-plugins": "/usr/lib/cni/bridge",
	"iptables": "/usr/sbin/iptables", "conntrack": "/usr/sbin/conntrack", "iproute2": "/usr/sbin/ip", "util-linux": "/usr/bin/nsenter",
}

// Preflight says why the cluster cannot run here, or nil: it needs root on
// Linux, and the binaries built.
func (c Config) Preflight() error {
	switch {
	case runtime.GOOS != "linux":
		return fmt.Errorf("the cluster runs on Linux only, not %s", runtime.GOOS)
	case os.Geteuid() != 0:
		return errors.New("the cluster needs root: it makes network namespaces, cgroups and mounts")
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"} {
		if _, err := os.Stat(c.bin(b)); err != nil {
			return fmt.Errorf("%s is missing: run make cluster-binaries", c.bin(b))
		}
	}
	for _, f := range []string{c.Supervisor, c.Pause} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing: run make node-tools", f)
		}
	}
	return nil
}

// installPackages installs Debian's parts of the node that are missing.
func installPackages() error {
	var missing []string
	for pkg, file := range packages {
		if _, err := os.Stat(file); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	cmd := exec.Command("apt-get", append([]string{"install", "-y", "--no-install-recommends"}, missing...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		if upd, uerr := exec.Command("apt-get", "update").CombinedOutput(); uerr != nil {
			return fmt.Errorf("apt-get update: %v: %s", uerr, upd)
		}
		if out, err = cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("install %s: %v: %s", strings.Join(missing, " "), err, out)
		}
	}
	return nil
}

// Up starts the cluster and waits until its node is Ready. On failure it
// tears down what it made.
func (c Config) Up(ctx context.Context) (err error) {
	if err := c.Preflight(); err != nil {
		return err
	}
	if _, err := os.Stat(c.NetnsPath()); err == nil {
		return fmt.Errorf("network namespace %s exists: a cluster runs already (make cluster-down)", c.Netns)
	}
	if err := installPackages(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = c.Down()
		}
	}()
	saved, err := Sysctls()
	if err != nil {
		return err
	}
	for _, d := range []string{c.StateDir, c.DataDir, c.RunDir} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.path("logs"), 0o700); err != nil {
		return err
	}
	sysctls, _ := json.Marshal(saved)
	if err := os.WriteFile(c.path("sysctls.json"), sysctls, 0o600); err != nil {
		return err
	}
	for _, d := range []string{c.DataDir, filepath.Join(c.RunDir, "containerd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := c.writePKI(); err != nil {
		return err
	}
	if err := c.writeFiles(); err != nil {
		return err
	}
	if err := c.save(); err != nil {
		return err
	}
	if err := c.createNetns(); err != nil {
		return err
	}
	if err := c.startSupervisor(); err != nil {
		return err
	}
	if err := c.importPause(ctx); err != nil {
		return err
	}
	return c.waitNodeReady(ctx)
}

// startSupervisor starts the supervisor in a mount namespace of its own,
// whose mounts never reach the host, and in the cluster's network
// namespace, and leaves it running.
func (c Config) startSupervisor() error {
	log, err := os.Create(c.path("logs", "supervisor.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command("unshare", "--mount", "--propagation", "slave",
		"nsenter", "--net="+c.NetnsPath(), c.Supervisor, "supervise", "--state", c.StateDir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the supervisor: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// importPause builds the pause image from this module's program and
// imports it into containerd, once containerd listens.
func (c Config) importPause(ctx context.Context) error {
	tarFile := c.path("pause.tar")
	if _, err := imagebuild.Build(imagebuild.Program{Name: "pause", Title: "pause"},
		[]string{"linux/" + runtime.GOARCH + "=" + c.Pause}, PauseImage, time.Unix(0, 0), "", tarFile); err != nil {
		return fmt.Errorf("pause image: %w", err)
	}
	if err := c.waitFor(ctx, time.Minute, "containerd's socket", func() bool {
		_, err := os.Stat(c.ContainerdSocket())
		return err == nil
	}); err != nil {
		return err
	}
	return c.Import(tarFile, "")
}

// Import loads an image tarball into the node's containerd, and tags it
// as ref too when ref is given.
func (c Config) Import(tarFile, ref string) error {
	ctr := func(args ...string) error {
		return run("ctr", append([]string{"--address", c.ContainerdSocket(), "--namespace", "k8s.io"}, args...)...)
	}
	if err := ctr("images", "import", tarFile); err != nil {
		return err
	}
	if ref == "" {
		return nil
	}
	out, err := exec.Command("tar", "-xOf", tarFile, "manifest.json").Output()
	if err != nil {
		return fmt.Errorf("read %s: %w", tarFile, err)
	}
	var manifest []struct{ RepoTags []string }
	if err := json.Unmarshal(out, &manifest); err != nil || len(manifest) == 0 || len(manifest[0].RepoTags) == 0 {
		return fmt.Errorf("%s names no image", tarFile)
	}
	_ = ctr("images", "rm", ref)
	return ctr("images", "tag", manifest[0].RepoTags[0], ref)
}

func (c Config) waitNodeReady(ctx context.Context) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	return c.waitFor(ctx, 3*time.Minute, "the node to be Ready", func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	})
}

// waitFor polls done, failing with the supervisor's and components' last
// words when the supervisor gives up or timeout passes.
func (c Config) waitFor(ctx context.Context, timeout time.Duration, what string, done func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !done() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w%s", what, ctx.Err(), c.tails())
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// tails is the end of every log, for a failure's message.
func (c Config) tails() string {
	var b strings.Builder
	logs, _ := filepath.Glob(c.path("logs", "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "\n--- %s\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-8):], "\n"))
	}
	return b.String()
}

// RestConfig is a cluster-admin's client configuration, dialling from the
// cluster's network namespace.
func (c Config) RestConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.AdminKubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.Dial = c.Dialer()
	return cfg, nil
}

// Clientset is a cluster-admin's clientset.
func (c Config) Clientset() (*kubernetes.Clientset, error) {
	cfg, err := c.RestConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// Dialer opens connections from inside the cluster's network namespace,
// for a process that stays outside it: a socket belongs to the namespace
// it was made in, so each is made on an OS thread switched into it, which
// is never used again.
func (c Config) Dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			conn net.Conn
			err  error
		}
		done := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			ns, err := os.Open(c.NetnsPath())
			if err != nil {
				done <- result{err: err}
				return
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				done <- result{err: fmt.Errorf("enter %s: %w", c.Netns, err)}
				return
			}
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			done <- result{conn, err}
		}()
		r := <-done
		return r.conn, r.err
	}
}

// Down stops the cluster and removes every trace of it it can find: its
// processes, cgroups, network namespace, files, and the host settings
// kubelet changed. It may run after a failure half way, and twice.
func (c Config) Down() error {
	var errs []error
	if data, err := os.ReadFile(c.path("supervisor.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			deadline := time.Now().Add(90 * time.Second)
			for time.Now().Before(deadline) && syscall.Kill(pid, 0) == nil {
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	for range 20 {
		killCgroups()
		if len(removeCgroups()) == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if left := removeCgroups(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("cgroups left: %s", strings.Join(left, ", ")))
	}
	c.clearNetns()
	if data, err := os.ReadFile(c.path("sysctls.json")); err == nil {
		var saved map[string]string
		if json.Unmarshal(data, &saved) == nil {
			if err := restoreSysctls(saved); err != nil {
				errs = append(errs, err)
			}
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && containsAny(f[4], []string{c.DataDir, c.RunDir}) {
			_ = run("umount", "-l", f[4])
		}
	}
	for _, d := range []string{c.DataDir, c.RunDir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	_ = os.Remove(c.path("supervisor.pid"))
	return errors.Join(errs...)
}
