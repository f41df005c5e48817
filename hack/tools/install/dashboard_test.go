package install

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/prometheus/promql/parser"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

// Every query of the chart's Grafana dashboard parses with Prometheus's own
// parser, and every metric it reads is one a running manager exports.
func TestTheDashboardQueriesOnlyMetricsTheManagerExports(t *testing.T) {
	g := NewWithT(t)
	cm := find(render(t, "--set", "grafanaDashboard.enabled=true"), "ConfigMap", "-dashboard")
	g.Expect(cm).NotTo(BeNil())
	g.Expect(cm.GetLabels()).To(HaveKeyWithValue("grafana_dashboard", "1"), "the label Grafana's sidecar selects")
	g.Expect(find(render(t), "ConfigMap", "-dashboard")).To(BeNil(), "off unless asked for")

	used := map[string]bool{}
	for _, expr := range dashboardQueries(t, cm) {
		e, err := parser.NewParser(parser.Options{}).ParseExpr(strings.ReplaceAll(expr, "$namespace", ".*"))
		g.Expect(err).NotTo(HaveOccurred(), expr)
		parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				used[vs.Name] = true
			}
			return nil
		})
	}
	g.Expect(len(used)).To(BeNumerically(">=", 10))

	exported := exportedMetrics(t)
	for name := range used {
		g.Expect(exported).To(HaveKey(name), "the dashboard reads %s", name)
	}
}

// dashboardQueries are the expressions of every panel and variable.
func dashboardQueries(t *testing.T, cm *unstructured.Unstructured) []string {
	t.Helper()
	data, _, _ := unstructured.NestedString(cm.Object, "data", "imagescan-operator.json")
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(data), &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var out []string
	for _, p := range dash.Panels {
		for _, tgt := range p.Targets {
			out = append(out, tgt.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		// label_values(METRIC, LABEL) reads METRIC.
		if rest, ok := strings.CutPrefix(v.Definition, "label_values("); ok {
			metric, _, _ := strings.Cut(rest, ",")
			out = append(out, strings.TrimSpace(metric))
		}
	}
	return out
}

// exportedMetrics runs the operator in a sandbox through a round that
// meets a 429 (so the throttling counter has a series) and returns the
// names of the metric families the manager's registry then serves, with a
// histogram's series names.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	g := NewWithT(t)
	images := simulator.Generate(12, 1)
	sb, err := sandbox.Start(sandbox.Config{Images: images, Controller: controller.Options{MinPoll: 50 * time.Millisecond, MaxPoll: 200 * time.Millisecond}})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = sb.Stop() })
	sb.Simulator.FailNext(simulator.OpListImages, 1, 429)
	obj := &scanv1.ImageScan{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics", Namespace: sandbox.Namespace},
		Spec: scanv1.ImageScanSpec{ImageType: scanv1.PrivateImage, Selector: &scanv1.ImageSelector{},
			CredentialsRef: &scanv1.SecretReference{Name: sandbox.SecretName}},
	}
	g.Expect(sb.Env.Client.Create(context.Background(), obj)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &scanv1.ImageScan{}
		g.Expect(sb.Env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, scanv1.ConditionReady)).To(BeTrue())
	}, time.Minute, 100*time.Millisecond).Should(Succeed())

	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]bool{}
	for _, f := range families {
		out[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[f.GetName()+suffix] = true
			}
		}
	}
	return out
}
