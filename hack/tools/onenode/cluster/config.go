// Package cluster runs a real one-node Kubernetes cluster on this machine,
// for the operator's end-to-end test: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, containerd, kubelet and
// kube-proxy, all inside a network namespace of its own that has no route
// off the machine, so that no packet of a test can leave it, and in a mount
// namespace of their own, so that their mounts go with them. Down leaves the
// host as Up found it, and Leftovers says what of the cluster remains.
//
// The binaries are built from the Go module proxy (hack/kube-build.sh), the
// pause image from this module's own program; Debian's containerd, runc and
// CNI plugins are installed where missing.
package cluster

import (
	"fmt"
	"path/filepath"
)

// Config is where the cluster lives and its addresses.
type Config struct {
	// BinDir holds etcd and the Kubernetes binaries.
	BinDir string
	// StateDir holds the certificates, configurations and logs
	// (bin/cluster); DataDir and RunDir what the components keep.
	StateDir, DataDir, RunDir string
	// Supervisor is the node command (hack/tools/onenode/node), run as the
	// components' parent inside the namespaces.
	Supervisor string
	// Pause is the pause program's static binary.
	Pause string
	// Netns names the network namespace; NodeIP is the node's address in
	// it, which Pods reach the API server on.
	Netns, NodeName, NodeIP string
	PodCIDR, PodGateway     string
	ServiceCIDR, APIService string
	// Version is the Kubernetes version the binaries report.
	Version string
}

// Default is the cluster of this repository's root, of Kubernetes version.
func Default(root, version string) Config {
	return Config{
		BinDir:      filepath.Join(root, "bin", "k8s", version),
		StateDir:    filepath.Join(root, "bin", "cluster"),
		DataDir:     "/var/lib/hss-e2e",
		RunDir:      "/run/hss-e2e",
		Supervisor:  filepath.Join(root, "bin", "node"),
		Pause:       filepath.Join(root, "bin", "pause"),
		Netns:       "hss-e2e",
		NodeName:    "e2e-node",
		NodeIP:      "10.200.0.1",
		PodCIDR:     "10.244.0.0/24",
		PodGateway:  "10.244.0.1",
		ServiceCIDR: "10.96.0.0/24",
		APIService:  "10.96.0.1",
		Version:     version,
	}
}

// CgroupRoot holds every process of the cluster in each cgroup hierarchy:
// the components, the containers' shims and the Pods.
const CgroupRoot = "hss-e2e"

// PauseImage is the sandbox image's name, as containerd's CRI asks for it.
const PauseImage = "registry.k8s.io/pause:3.10"

func (c Config) path(parts ...string) string {
	return filepath.Join(append([]string{c.StateDir}, parts...)...)
}

func (c Config) bin(name string) string { return filepath.Join(c.BinDir, name) }

// NetnsPath is the network namespace's file.
func (c Config) NetnsPath() string { return "/run/netns/" + c.Netns }

// ContainerdSocket is where containerd listens.
func (c Config) ContainerdSocket() string {
	return filepath.Join(c.RunDir, "containerd", "containerd.sock")
}

// AdminKubeconfig is a cluster-admin's kubeconfig.
func (c Config) AdminKubeconfig() string { return c.path("admin.kubeconfig") }

// APIServer is the API server's URL, inside the network namespace.
func (c Config) APIServer() string { return fmt.Sprintf("https://%s:6443", c.NodeIP) }
