package install

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

func chartDir() string { return filepath.Join(testenv.Root(), "charts", "imagescan-operator") }

// helm runs the helm make tools built, failing the test on an error.
func helm(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.Command(artefact(t, "bin/helm", "make tools"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// render is helm template's output, decoded.
func render(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out := helm(t, "", append([]string{"template", "rel", chartDir(), "--namespace", "hss"}, args...)...)
	file := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return readManifests(t, file)
}

func find(objs []*unstructured.Unstructured, kind, suffix string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && strings.HasSuffix(u.GetName(), suffix) {
			return u
		}
	}
	return nil
}

// Flags a value deliberately does not cover; extraArgs reaches them.
// stats-concurrency is the earlier name of read-concurrency, which the
// chart sets (from statsConcurrency too, where a values file still has it).
var flagsWithoutValue = []string{"kubeconfig", "zap-devel", "zap-encoder", "zap-stacktrace-level", "zap-time-encoding", "stats-concurrency"}

func TestChartLintsAndHasAValueForEveryManagerFlag(t *testing.T) {
	g := NewWithT(t)
	helm(t, "", "lint", "--strict", chartDir())

	help, _ := exec.Command(artefact(t, "dist/bin/manager-linux-"+runtime.GOARCH, "make image"), "--help").CombinedOutput()
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		if !slices.Contains(flagsWithoutValue, m[1]) {
			flags = append(flags, m[1])
		}
	}
	g.Expect(len(flags)).To(BeNumerically(">", 20), "flags parsed from --help:\n%s", help)

	objs := render(t, "--set", "hss.region=ap-southeast-1,hss.projectID=p1,hss.endpoint=https://hss.example,hss.defaultCredentialsSecret=keys",
		"--set", "tenancy.allowedEndpoints={https://a.example},tenancy.platformCredentialsNamespaces={security}",
		"--set", "workloadIdentity.enabled=true,workloadIdentity.idpID=idp,hss.iamEndpoint=https://iam.example")
	deploy := find(objs, "Deployment", "imagescan-operator")
	g.Expect(deploy).NotTo(BeNil())
	args := managerArgs(g, []*unstructured.Unstructured{deploy})
	var given []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		given = append(given, name)
	}
	g.Expect(given).To(ContainElements(flags), "every manager flag has a value")
	g.Expect(args).To(ContainElements("--default-credentials-secret=hss/keys", "--allowed-endpoints=https://a.example", "--workload-identity=true"))
	g.Expect(find(objs, "ClusterRole", "-workload-identity")).NotTo(BeNil(), "the token-request role only with workload identity")
	g.Expect(find(render(t), "ClusterRole", "-workload-identity")).To(BeNil())
}

func TestChartCRDAndRBACAreConfigs(t *testing.T) {
	g := NewWithT(t)
	objs := render(t)
	for _, plural := range []string{"imagescans", "imagereports"} {
		var want apiextensionsv1.CustomResourceDefinition
		data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "crd", "bases", "scan.hss.dev_"+plural+".yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(yaml.Unmarshal(data, &want)).To(Succeed())
		crd := find(objs, "CustomResourceDefinition", plural+".scan.hss.dev")
		g.Expect(crd).NotTo(BeNil(), plural)
		g.Expect(crd.GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"))
		spec, _, _ := unstructured.NestedMap(crd.Object, "spec")
		wantSpec, _ := yaml.Marshal(want.Spec)
		gotSpec, _ := yaml.Marshal(spec)
		g.Expect(string(gotSpec)).To(MatchYAML(string(wantSpec)), plural)
	}

	for file, suffix := range map[string]string{
		"role.yaml": "-manager", "imagescan_admin_role.yaml": "-admin",
		"imagescan_editor_role.yaml": "-editor", "imagescan_viewer_role.yaml": "-viewer",
	} {
		var role struct {
			Rules []map[string]any `json:"rules"`
		}
		data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "rbac", file))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(yaml.Unmarshal(data, &role)).To(Succeed())
		rules, _, _ := unstructured.NestedSlice(find(objs, "ClusterRole", suffix).Object, "rules")
		got, _ := yaml.Marshal(rules)
		wantRules, _ := yaml.Marshal(role.Rules)
		g.Expect(string(got)).To(MatchYAML(string(wantRules)), file)
	}

	g.Expect(find(render(t, "--set", "crds.enabled=false"), "CustomResourceDefinition", "")).To(BeNil())

	// The OpenReports Report CRD, only when asked for: it is the module's.
	g.Expect(find(objs, "CustomResourceDefinition", "reports.openreports.io")).To(BeNil(), "off by default")
	var want apiextensionsv1.CustomResourceDefinition
	data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "openreports", "openreports.io_reports.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(yaml.Unmarshal(data, &want)).To(Succeed())
	crd := find(render(t, "--set", "openreports.enabled=true"), "CustomResourceDefinition", "reports.openreports.io")
	g.Expect(crd).NotTo(BeNil())
	spec, _, _ := unstructured.NestedMap(crd.Object, "spec")
	wantSpec, _ := yaml.Marshal(want.Spec)
	gotSpec, _ := yaml.Marshal(spec)
	g.Expect(string(gotSpec)).To(MatchYAML(string(wantSpec)))
}

func TestChartInstallsUpgradesTheCRDAndKeepsItOnUninstall(t *testing.T) {
	g := NewWithT(t)
	bare, err := testenv.StartEmpty()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = bare.Stop() })
	data, err := bare.AdminKubeConfig("helm")
	kubeconfig := kubeconfigFile(t, t.TempDir(), data, err)
	ctx := context.Background()
	shortNames := func() []string {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("apiextensions.k8s.io/v1")
		u.SetKind("CustomResourceDefinition")
		g.Expect(bare.Client.Get(ctx, client.ObjectKey{Name: "imagescans.scan.hss.dev"}, u)).To(Succeed())
		g.Expect(u.GetDeletionTimestamp()).To(BeNil())
		names, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "names", "shortNames")
		return names
	}

	helm(t, kubeconfig, "install", "scans", chartDir(), "--namespace", "hss-imagescan", "--create-namespace")
	g.Expect(shortNames()).To(Equal([]string{"isc"}))

	// The next version of the chart adds a short name to the CRD.
	next := filepath.Join(t.TempDir(), "imagescan-operator")
	g.Expect(exec.Command("cp", "-r", chartDir(), next).Run()).To(Succeed())
	tpl := filepath.Join(next, "templates", "crd", "imagescans.yaml")
	text, err := os.ReadFile(tpl)
	g.Expect(err).NotTo(HaveOccurred())
	changed := bytes.Replace(text, []byte("    shortNames:\n    - isc\n"), []byte("    shortNames:\n    - isc\n    - iscan\n"), 1)
	g.Expect(changed).NotTo(Equal(text))
	g.Expect(os.WriteFile(tpl, changed, 0o600)).To(Succeed())
	helm(t, kubeconfig, "upgrade", "scans", next, "--namespace", "hss-imagescan")
	g.Expect(shortNames()).To(Equal([]string{"isc", "iscan"}), "helm upgrade upgraded the CRD")

	helm(t, kubeconfig, "uninstall", "scans", "--namespace", "hss-imagescan")
	g.Expect(shortNames()).To(Equal([]string{"isc", "iscan"}), "the CRD is kept")
	g.Expect(helm(t, kubeconfig, "list", "--all-namespaces", "-q")).To(BeEmpty())
}
