package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// component is one process of the cluster, as the supervisor starts it.
type component struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
	// ReadyFile, when set, is a file whose existence says the component
	// serves (containerd's socket).
	ReadyFile string `json:"readyFile,omitempty"`
}

// plan is every component in the order they start.
func (c Config) plan() []component {
	pki := func(f string) string { return c.path("pki", f) }
	data := func(parts ...string) string { return filepath.Join(append([]string{c.DataDir}, parts...)...) }
	return []component{
		{Name: "etcd", Args: []string{c.bin("etcd"),
			"--data-dir=" + data("etcd"), "--listen-client-urls=http://127.0.0.1:2379",
			"--advertise-client-urls=http://127.0.0.1:2379", "--listen-peer-urls=http://127.0.0.1:2380",
			"--initial-advertise-peer-urls=http://127.0.0.1:2380", "--initial-cluster=default=http://127.0.0.1:2380",
			"--unsafe-no-fsync"}},
		{Name: "kube-apiserver", Args: []string{c.bin("kube-apiserver"),
			"--advertise-address=" + c.NodeIP, "--secure-port=6443", "--etcd-servers=http://127.0.0.1:2379",
			"--service-cluster-ip-range=" + c.ServiceCIDR, "--authorization-mode=Node,RBAC",
			"--enable-admission-plugins=NodeRestriction", "--client-ca-file=" + pki("ca.crt"),
			"--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
			"--kubelet-client-certificate=" + pki("apiserver-kubelet-client.crt"),
			"--kubelet-client-key=" + pki("apiserver-kubelet-client.key"), "--kubelet-certificate-authority=" + pki("ca.crt"),
			// No cluster DNS: reach the kubelet by its address, not its name.
			"--kubelet-preferred-address-types=InternalIP",
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + pki("sa.pub"), "--service-account-signing-key-file=" + pki("sa.key"),
			"--cert-dir=" + data("apiserver")}},
		{Name: "kube-controller-manager", Args: []string{c.bin("kube-controller-manager"),
			"--kubeconfig=" + c.path("controller-manager.kubeconfig"), "--use-service-account-credentials",
			"--root-ca-file=" + pki("ca.crt"), "--cluster-signing-cert-file=" + pki("ca.crt"),
			"--cluster-signing-key-file=" + pki("ca.key"), "--service-account-private-key-file=" + pki("sa.key"),
			"--leader-elect=false", "--bind-address=127.0.0.1"}},
		{Name: "kube-scheduler", Args: []string{c.bin("kube-scheduler"),
			"--kubeconfig=" + c.path("scheduler.kubeconfig"), "--leader-elect=false", "--bind-address=127.0.0.1"}},
		{Name: "containerd", Args: []string{"containerd", "--config=" + c.path("containerd.toml")}, ReadyFile: c.ContainerdSocket()},
		{Name: "kubelet", Args: []string{c.bin("kubelet"),
			"--config=" + c.path("kubelet.yaml"), "--kubeconfig=" + c.path("kubelet.kubeconfig"),
			"--hostname-override=" + c.NodeName, "--node-ip=" + c.NodeIP, "--root-dir=" + data("kubelet")}},
		{Name: "kube-proxy", Args: []string{c.bin("kube-proxy"), "--config=" + c.path("kube-proxy.yaml")}},
	}
}

// writeFiles writes the kubeconfigs and the components' configurations.
func (c Config) writeFiles() error {
	for _, kc := range []struct{ file, identity string }{
		{"admin", "admin"}, {"controller-manager", "controller-manager"}, {"scheduler", "scheduler"},
		{"kube-proxy", "kube-proxy"}, {"kubelet", "kubelet"},
	} {
		if err := c.writeKubeconfig(kc.file, kc.identity); err != nil {
			return err
		}
	}
	files := map[string]string{
		"containerd.toml": c.containerdConfig(),
		"kubelet.yaml":    c.kubeletConfig(),
		"kube-proxy.yaml": c.proxyConfig(),
	}
	for name, content := range files {
		if err := os.WriteFile(c.path(name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	cni := filepath.Join(c.DataDir, "cni")
	if err := os.MkdirAll(cni, 0o755); err != nil {
		return err
	}
	plan, err := json.MarshalIndent(c.plan(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("plan.json"), plan, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cni, "10-hss-e2e.conflist"), []byte(c.cniConfig()), 0o644)
}

func (c Config) writeKubeconfig(name, identity string) error {
	pki := c.path("pki")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: hss-e2e
  cluster:
    server: %s
    certificate-authority: %s/ca.crt
users:
- name: %s
  user:
    client-certificate: %s/%s.crt
    client-key: %s/%s.key
contexts:
- name: hss-e2e
  context: {cluster: hss-e2e, user: %s}
current-context: hss-e2e
`, c.APIServer(), pki, identity, pki, identity, pki, identity, identity)
	return os.WriteFile(c.path(name+".kubeconfig"), []byte(kc), 0o600)
}

// containerdConfig: CRI with runc (cgroupfs, as the host has cgroup v1),
// the pause image imported by Up, and two of the blockers this machine
// kind has: runc cannot set oom_score_adj -998 without CAP_SYS_RESOURCE
// (restrict_oom_score_adj), and the Pods' network namespaces live under
// the run directory.
func (c Config) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q

[grpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, filepath.Join(c.DataDir, "containerd"), filepath.Join(c.RunDir, "containerd"), c.ContainerdSocket(),
		filepath.Join(c.DataDir, "opt"), PauseImage, filepath.Join(c.DataDir, "cni"))
}

// kubeletConfig: webhook authentication and authorisation, cgroupfs under
// the cluster's own cgroup root, cgroup v1 allowed, no image garbage
// collection (the images came from tarballs and cannot be pulled again),
// and eviction only on a nearly full disk.
func (c Config) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: /%s
failCgroupV1: false
failSwapOn: false
readOnlyPort: 0
containerRuntimeEndpoint: unix://%s
tlsCertFile: %s
tlsPrivateKeyFile: %s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {nodefs.available: "1%%", imagefs.available: "1%%", memory.available: "50Mi"}
podLogsDir: %s
registerNode: true
resolvConf: /etc/resolv.conf
`, c.NodeIP, c.path("pki", "ca.crt"), CgroupRoot, c.ContainerdSocket(), c.path("pki", "kubelet-serving.crt"),
		c.path("pki", "kubelet-serving.key"), filepath.Join(c.DataDir, "pod-logs"))
}

// proxyConfig: iptables, and no host-wide conntrack tuning. masqueradeAll
// makes a Pod reach a Service whose endpoint sits on the same bridge without
// br_netfilter: the reply returns through the gateway to be un-NATed.
func (c Config) proxyConfig() string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
iptables: {masqueradeAll: true}
clusterCIDR: %s
hostnameOverride: %s
bindAddress: %s
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
clientConnection: {kubeconfig: %s}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, c.PodCIDR, c.NodeName, c.NodeIP, c.path("kube-proxy.kubeconfig"))
}

// cniConfig: a bridge with the Pods' gateway, and loopback.
func (c Config) cniConfig() string {
	return strings.TrimSpace(fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "hss-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q, "gateway": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}`, filepath.Join(c.DataDir, "cni-ipam"), c.PodCIDR, c.PodGateway)) + "\n"
}
