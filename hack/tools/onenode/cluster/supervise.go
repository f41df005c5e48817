package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Supervise is the cluster's parent process: it runs in the cluster's
// network namespace and in a mount namespace of its own (Up starts it so),
// joins the cluster's cgroup so that every process it starts is found
// there, starts the components in order, and stops them in reverse order
// on SIGTERM, or when one of them exits.
func Supervise(stateDir string) error {
	c, err := load(stateDir)
	if err != nil {
		return err
	}
	if err := joinCgroups(); err != nil {
		return err
	}
	var plan []component
	data, err := os.ReadFile(c.path("plan.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &plan); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	exited := make(chan string, len(plan))
	var started []*exec.Cmd
	defer func() { stopAll(started) }()
	for _, comp := range plan {
		cmd, err := c.start(comp, exited)
		if err != nil {
			return err
		}
		started = append(started, cmd)
		if err := c.waitReady(comp, exited); err != nil {
			return err
		}
	}
	if err := os.WriteFile(c.path("supervisor.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	select {
	case <-stop:
		return nil
	case name := <-exited:
		return fmt.Errorf("%s exited; see %s", name, c.path("logs", name+".log"))
	}
}

// joinCgroups moves this process into the cluster's cgroup of every
// hierarchy; its children are born there.
func joinCgroups() error {
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, h := range hierarchies() {
		dir := filepath.Join(h, CgroupRoot, "system")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := inheritCpuset(h, dir); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0o644); err != nil {
			return fmt.Errorf("join %s: %w", dir, err)
		}
	}
	return nil
}

// inheritCpuset fills a new v1 cpuset cgroup's CPUs and memory nodes from
// its parent's: a cpuset left empty admits no process.
func inheritCpuset(hierarchy, dir string) error {
	if _, err := os.Stat(filepath.Join(hierarchy, "cpuset.cpus")); err != nil {
		return nil
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			cur, _ := os.ReadFile(filepath.Join(d, f))
			if len(strings.TrimSpace(string(cur))) > 0 {
				continue
			}
			parent, err := os.ReadFile(filepath.Join(filepath.Dir(d), f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, f), parent, 0o644); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(d, f), err)
			}
		}
	}
	return nil
}

func (c Config) start(comp component, exited chan<- string) (*exec.Cmd, error) {
	log, err := os.OpenFile(c.path("logs", comp.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(comp.Args[0], comp.Args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", comp.Name, err)
	}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		exited <- comp.Name
	}()
	return cmd, nil
}

// waitReady waits for what says a component serves: etcd's and the API
// server's ports, containerd's socket. The others are waited for by Up,
// which waits for the node to be Ready.
func (c Config) waitReady(comp component, exited chan string) error {
	var ready func() bool
	switch {
	case comp.ReadyFile != "":
		ready = func() bool { _, err := os.Stat(comp.ReadyFile); return err == nil }
	case comp.Name == "etcd":
		ready = listening("127.0.0.1:2379")
	case comp.Name == "kube-apiserver":
		ready = listening(c.NodeIP + ":6443")
	default:
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for !ready() {
		select {
		case name := <-exited:
			exited <- name
			return fmt.Errorf("%s exited while starting; see its log", name)
		case <-ctx.Done():
			return fmt.Errorf("%s did not start within 2 minutes", comp.Name)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func listening(addr string) func() bool {
	return func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	}
}

// stopAll stops the components in reverse order: SIGTERM, then SIGKILL.
func stopAll(cmds []*exec.Cmd) {
	for i := len(cmds) - 1; i >= 0; i-- {
		p := cmds[i].Process
		_ = p.Signal(syscall.SIGTERM)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && p.Signal(syscall.Signal(0)) == nil {
			time.Sleep(100 * time.Millisecond)
		}
		_ = p.Kill()
	}
}

// save and load keep the configuration beside the state, for the
// supervisor and for Down.
func (c Config) save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.path("config.json"), data, 0o600)
}

func load(stateDir string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(stateDir, "config.json"))
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(data, &c)
}
