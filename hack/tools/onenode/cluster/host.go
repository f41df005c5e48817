package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// hostSysctls are the settings kubelet changes for the whole machine (its
// kernel tunables); the network settings kubelet and kube-proxy change
// belong to the cluster's network namespace and go with it.
var hostSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// Sysctls reads the host settings the cluster may change.
func Sysctls() (map[string]string, error) {
	out := map[string]string{}
	for _, k := range hostSysctls {
		v, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			return nil, err
		}
		out[k] = strings.TrimSpace(string(v))
	}
	return out, nil
}

func restoreSysctls(saved map[string]string) error {
	var errs []string
	for k, v := range saved {
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("restore sysctls: %s", strings.Join(errs, "; "))
	}
	return nil
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// inNetns runs a command in the cluster's network namespace only.
func (c Config) inNetns(name string, args ...string) error {
	return run("nsenter", append([]string{"--net=" + c.NetnsPath(), name}, args...)...)
}

// createNetns makes the network namespace: loopback, and the node's
// address on a link of its own, with the Services' range routed to it. It has
// no other link and no route off the machine: Pods reach the node, the node reaches the Pods, and a packet for
// anywhere else has nowhere to go.
func (c Config) createNetns() error {
	steps := [][]string{
		{"ip", "netns", "add", c.Netns},
		{"ip", "-n", c.Netns, "link", "set", "lo", "up"},
		// The kernel may lack the dummy link type; a veth pair whose both
		// ends stay inside the namespace serves the same.
		{"ip", "-n", c.Netns, "link", "add", "node0", "type", "veth", "peer", "name", "node0-peer"},
		{"ip", "-n", c.Netns, "link", "set", "node0-peer", "up"},
		{"ip", "-n", c.Netns, "addr", "add", c.NodeIP + "/24", "dev", "node0"},
		{"ip", "-n", c.Netns, "link", "set", "node0", "up"},
		// A route for ClusterIPs, so that the node's own connections to a
		// Service are routed before kube-proxy's rules rewrite them.
		{"ip", "-n", c.Netns, "route", "add", c.ServiceCIDR, "dev", "node0"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return c.inNetns("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
}

// clearNetns removes what the components left in the namespace, for when a
// process still holds it after it is deleted (a test's connections): every
// table's rules and chains, and every link but loopback.
func (c Config) clearNetns() {
	if _, err := os.Stat(c.NetnsPath()); err != nil {
		return
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			_ = c.inNetns(tool, "-t", table, "-F")
			_ = c.inNetns(tool, "-t", table, "-X")
		}
	}
	out, _ := exec.Command("ip", "-n", c.Netns, "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if name != "lo" {
			_ = run("ip", "-n", c.Netns, "link", "del", name)
		}
	}
	_ = run("ip", "netns", "del", c.Netns)
}

// cgroupDirs are the cluster's cgroup in every mounted hierarchy.
func cgroupDirs() []string {
	var dirs []string
	for _, h := range hierarchies() {
		dirs = append(dirs, filepath.Join(h, CgroupRoot))
	}
	return dirs
}

// hierarchies are the mounted cgroup hierarchies.
func hierarchies() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		if t := fields[sep+1]; t == "cgroup" || t == "cgroup2" {
			out = append(out, fields[4])
		}
	}
	return out
}

// cgroupsDeepestFirst lists the cluster's cgroup directories, children
// before their parents, the order in which they can be emptied and removed.
func cgroupsDeepestFirst() []string {
	var out []string
	for _, root := range cgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		out = append(out, dirs...)
	}
	return out
}

// killCgroups kills every process in the cluster's cgroups, deepest first.
func killCgroups() {
	for _, dir := range cgroupsDeepestFirst() {
		if procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(procs)) {
				_ = run("kill", "-9", pid)
			}
		}
	}
}

// removeCgroups removes the cluster's cgroups and returns those it could not.
func removeCgroups() []string {
	var left []string
	for _, dir := range cgroupsDeepestFirst() {
		if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
			left = append(left, dir)
		}
	}
	return left
}

// Host is what the cluster may leave on the machine, to compare before
// and after: links, iptables rules, network namespaces and sysctls.
type Host struct {
	Links, IPTables, Netns []string
	Sysctls                map[string]string
}

// ReadHost reads the host's state.
func ReadHost() (Host, error) {
	var h Host
	var err error
	if h.Sysctls, err = Sysctls(); err != nil {
		return h, err
	}
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(links), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			h.Links = append(h.Links, strings.TrimSuffix(f[1], ":"))
		}
	}
	rules, _ := exec.Command("iptables-save").Output()
	for _, line := range strings.Split(string(rules), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, ":") {
			h.IPTables = append(h.IPTables, line)
		}
	}
	ns, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(ns), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			h.Netns = append(h.Netns, f[0])
		}
	}
	return h, nil
}

// Leftovers lists what of the cluster remains: processes, mounts, cgroups,
// and whatever differs on the host from before.
func (c Config) Leftovers(before Host) ([]string, error) {
	var left []string
	marks := []string{c.DataDir, c.RunDir, c.StateDir, c.NetnsPath()}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if stat, _ := os.ReadFile(p + "/stat"); zombie(stat) {
			continue // exited already; its parent has yet to reap it
		}
		cmd, _ := os.ReadFile(p + "/cmdline")
		cg, _ := os.ReadFile(p + "/cgroup")
		text := strings.ReplaceAll(string(cmd), "\x00", " ")
		if strings.Contains(string(cg), "/"+CgroupRoot) || containsAny(text, marks) {
			left = append(left, fmt.Sprintf("process %s: %s", filepath.Base(p), text))
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mounts), "\n") {
		if containsAny(line, marks) {
			left = append(left, "mount: "+line)
		}
	}
	for _, d := range cgroupDirs() {
		if _, err := os.Stat(d); err == nil {
			left = append(left, "cgroup: "+d)
		}
	}
	after, err := ReadHost()
	if err != nil {
		return left, err
	}
	for _, l := range after.Links {
		if !slices.Contains(before.Links, l) {
			left = append(left, "link: "+l)
		}
	}
	for _, r := range after.IPTables {
		if !slices.Contains(before.IPTables, r) {
			left = append(left, "iptables: "+r)
		}
	}
	if slices.Contains(after.Netns, c.Netns) {
		left = append(left, "network namespace: "+c.Netns)
	}
	for k, v := range before.Sysctls {
		if after.Sysctls[k] != v {
			left = append(left, fmt.Sprintf("sysctl %s: %s, was %s", k, after.Sysctls[k], v))
		}
	}
	return left, nil
}

// zombie says whether a /proc/<pid>/stat is of a process that exited: its
// state follows the command's closing parenthesis.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// PodProcesses are the processes of a Pod's containers, found by the
// Pod's cgroup (kubelet names it pod<UID> under the cluster's root).
func (c Config) PodProcesses(podUID string) []int {
	var pids []int
	for _, root := range cgroupDirs() {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() || !strings.Contains(p, "pod"+podUID) {
				return nil
			}
			procs, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(procs)) {
				if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
		if len(pids) > 0 {
			return pids
		}
	}
	return pids
}
