package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// objectSeries gathers the manager's registry and returns the value of
// every imagescan_* series of one object, keyed by metric name and its
// extra label (result or kind).
func objectSeries(g Gomega, namespace, name string) map[string]float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] != namespace || labels["name"] != name {
				continue
			}
			key := f.GetName()
			if extra := labels["result"] + labels["kind"] + labels["severity"] + labels["backend"]; extra != "" {
				key += "/" + extra
			}
			out[key] = value(m)
		}
	}
	return out
}

// cacheEntries is what imagescan_cache_entries shows for cache.
func cacheEntries(g Gomega, cache string) float64 {
	v, ok := labelled(g, "imagescan_cache_entries", "cache", cache)
	g.Expect(ok).To(BeTrue(), "no imagescan_cache_entries series for cache %q", cache)
	return v
}

// labelled is the value of family's series whose label is want.
func labelled(g Gomega, family, label, want string) (float64, bool) {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == want {
					return value(m), true
				}
			}
		}
	}
	return 0, false
}

// alertMetrics returns the imagescan_* metric names the example
// PrometheusRule's expressions use.
func alertMetrics(g Gomega) []string {
	data, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "prometheus", "rules.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	g.Expect(yaml.Unmarshal(data, &rule)).To(Succeed())
	var names []string
	for _, grp := range rule.Spec.Groups {
		for _, r := range grp.Rules {
			names = append(names, regexp.MustCompile(`imagescan_[a-z_]+`).FindAllString(r.Expr, -1)...)
		}
	}
	g.Expect(names).NotTo(BeEmpty())
	return names
}

// reportsWalked is how many reports the manager's passes have read by walk
// (all or unended), over every test so far.
func reportsWalked(g Gomega, walk string) float64 {
	v, _ := labelled(g, "imagescan_reports_walked_total", "walk", walk)
	return v
}

func value(m *dto.Metric) float64 {
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

func TestMetricsFollowStatusAndDisappearWithTheObject(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("ml", "trainer", 3, func(i int, img *simulator.Image) {
		withRealSizes(i, img)
		img.Vulnerabilities, img.MaliciousFiles = 10, int32(i%2)
	})
	h.scan("watched", scanv1.ImageScanSpec{Images: refs, Interval: &metav1.Duration{Duration: time.Hour}})
	obj := h.readyInRound("watched", 1)
	sev := obj.Status.Summary.Severities
	h.g.Expect(sev).NotTo(BeNil())
	h.g.Expect(sev.Critical + sev.High + sev.Medium + sev.Low).To(Equal(int64(30)))

	h.g.Eventually(func(g Gomega) {
		series := objectSeries(g, h.ns, "watched")
		g.Expect(series).To(Equal(map[string]float64{
			"imagescan_images/succeeded":                  3,
			"imagescan_images/failed":                     0,
			"imagescan_images/pending":                    0,
			"imagescan_images/not_found":                  0,
			"imagescan_images/statistics_unavailable":     0,
			"imagescan_findings/vulnerabilities":          30,
			"imagescan_findings/malicious_files":          1,
			"imagescan_findings/unsafe_settings":          0,
			"imagescan_files":                             float64(obj.Status.Summary.TotalFiles),
			"imagescan_file_bytes":                        float64(1<<10 + 3<<30 + 6<<30 + 7),
			"imagescan_ready":                             1,
			"imagescan_stalled":                           0,
			"imagescan_last_completion_timestamp_seconds": float64(obj.Status.LastCompletionTime.Unix()),
			"imagescan_interval_seconds":                  3600,
			"imagescan_backend/" + backend:                1,
			"imagescan_vulnerabilities/critical":          float64(sev.Critical),
			"imagescan_vulnerabilities/high":              float64(sev.High),
			"imagescan_vulnerabilities/medium":            float64(sev.Medium),
			"imagescan_vulnerabilities/low":               float64(sev.Low),
			"imagescan_open_vulnerabilities/critical":     float64(sev.Critical),
			"imagescan_open_vulnerabilities/high":         float64(sev.High),
			"imagescan_open_vulnerabilities/medium":       float64(sev.Medium),
			"imagescan_open_vulnerabilities/low":          float64(sev.Low),
			"imagescan_accepted_vulnerabilities/critical": 0,
			"imagescan_accepted_vulnerabilities/high":     0,
			"imagescan_accepted_vulnerabilities/medium":   0,
			"imagescan_accepted_vulnerabilities/low":      0,
			"imagescan_new_vulnerabilities/critical":      0,
			"imagescan_new_vulnerabilities/high":          0,
			"imagescan_new_vulnerabilities/medium":        0,
			"imagescan_new_vulnerabilities/low":           0,
		}))
	}, 10*time.Second).Should(Succeed())

	// An exception in force has its expiry as a series, for the alert on
	// those about to end.
	h.createException("watched-exception", h.accepting("HSS-VUL-NONE"))
	expiry := h.exception(h.g, "watched-exception").Spec.ExpiresAt.Unix()
	h.g.Eventually(func(g Gomega) {
		g.Expect(objectSeries(g, h.ns, "watched-exception")).To(Equal(map[string]float64{
			"imagescan_exception_expiry_timestamp_seconds": float64(expiry),
		}))
	}, 10*time.Second).Should(Succeed())

	// The example alerts use only metrics the manager exports.
	exported := map[string]bool{}
	for k := range objectSeries(h.g, h.ns, "watched") {
		name, _, _ := strings.Cut(k, "/")
		exported[name] = true
	}
	for k := range objectSeries(h.g, h.ns, "watched-exception") {
		exported[k] = true
	}
	for _, name := range alertMetrics(h.g) {
		h.g.Expect(exported).To(HaveKey(name), "config/prometheus/rules.yaml uses %s", name)
	}

	h.g.Expect(env.Client.Delete(context.Background(), obj)).To(Succeed())
	h.g.Eventually(func(g Gomega) {
		g.Expect(objectSeries(g, h.ns, "watched")).To(BeEmpty())
	}, 10*time.Second).Should(Succeed())
}
