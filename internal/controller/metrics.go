package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Per-ImageScan gauges, written from status after it is saved, so a scrape
// shows what `kubectl get` shows. Each series carries the object's namespace
// and name; they are removed when the object is deleted.
var (
	objectLabels = []string{"namespace", "name"}

	imagesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_images",
		Help: "Images of the current or last round by result: succeeded, failed, pending, not_found, statistics_unavailable.",
	}, append(objectLabels, "result"))
	findingsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_findings",
		Help: "What the round's scans found, by kind: vulnerabilities, malicious_files, unsafe_settings.",
	}, append(objectLabels, "kind"))
	filesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_files",
		Help: "Files in the images scanned successfully.",
	}, objectLabels)
	fileBytesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_file_bytes",
		Help: "Bytes of files in the images scanned successfully.",
	}, objectLabels)
	readyGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_ready",
		Help: "1 when the Ready condition is True, 0 otherwise.",
	}, objectLabels)
	stalledGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_stalled",
		Help: "1 when the Stalled condition is True (a person must act), 0 otherwise.",
	}, objectLabels)
	lastCompletionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_last_completion_timestamp_seconds",
		Help: "When the last round finished, in seconds since the epoch.",
	}, objectLabels)
	intervalGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagescan_interval_seconds",
		Help: "The rescan interval of spec.interval; 0 when the object scans only on change.",
	}, objectLabels)

	objectGauges = []*prometheus.GaugeVec{
		imagesGauge, findingsGauge, filesGauge, fileBytesGauge, readyGauge, stalledGauge, lastCompletionGauge, intervalGauge,
	}
)

func init() {
	for _, g := range objectGauges {
		metrics.Registry.MustRegister(g)
	}
}

// recordMetrics sets obj's gauges from its status.
func recordMetrics(obj *scanv1.ImageScan) {
	ns, name := obj.Namespace, obj.Name
	s := obj.Status.Summary
	for result, n := range map[string]int32{
		"succeeded": s.Succeeded, "failed": s.Failed, "pending": s.Pending,
		"not_found": s.NotFound, "statistics_unavailable": s.StatisticsUnavailable,
	} {
		imagesGauge.WithLabelValues(ns, name, result).Set(float64(n))
	}
	for kind, n := range map[string]int64{
		"vulnerabilities": s.Vulnerabilities, "malicious_files": s.MaliciousFiles, "unsafe_settings": s.UnsafeSettings,
	} {
		findingsGauge.WithLabelValues(ns, name, kind).Set(float64(n))
	}
	filesGauge.WithLabelValues(ns, name).Set(float64(s.TotalFiles))
	fileBytesGauge.WithLabelValues(ns, name).Set(float64(s.TotalFileSize))
	readyGauge.WithLabelValues(ns, name).Set(boolGauge(apimeta.IsStatusConditionTrue(obj.Status.Conditions, scanv1.ConditionReady)))
	stalledGauge.WithLabelValues(ns, name).Set(boolGauge(apimeta.IsStatusConditionTrue(obj.Status.Conditions, scanv1.ConditionStalled)))
	if t := obj.Status.LastCompletionTime; t != nil {
		lastCompletionGauge.WithLabelValues(ns, name).Set(float64(t.Unix()))
	}
	interval := 0.0
	if obj.Spec.Interval != nil {
		interval = obj.Spec.Interval.Seconds()
	}
	intervalGauge.WithLabelValues(ns, name).Set(interval)
}

// forgetMetrics removes every series of a deleted object.
func forgetMetrics(key types.NamespacedName) {
	for _, g := range objectGauges {
		g.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "name": key.Name})
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
