package controller

import (
	"cmp"

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

	imagesGauge = objectGauge("imagescan_images",
		"Images of the current or last round by result: succeeded, failed, pending, not_found, statistics_unavailable.", "result")
	findingsGauge = objectGauge("imagescan_findings",
		"What the round's scans found, by kind: vulnerabilities, malicious_files, unsafe_settings.", "kind")
	filesGauge = objectGauge("imagescan_files",
		"Files in the images scanned successfully.")
	fileBytesGauge = objectGauge("imagescan_file_bytes",
		"Bytes of files in the images scanned successfully.")
	readyGauge = objectGauge("imagescan_ready",
		"1 when the Ready condition is True, 0 otherwise.")
	stalledGauge = objectGauge("imagescan_stalled",
		"1 when the Stalled condition is True (a person must act), 0 otherwise.")
	lastCompletionGauge = objectGauge("imagescan_last_completion_timestamp_seconds",
		"When the last round finished, in seconds since the epoch.")
	intervalGauge = objectGauge("imagescan_interval_seconds",
		"The rescan interval of spec.interval; 0 when the object scans only on change.")
	backendGauge = objectGauge("imagescan_backend",
		"1 for the family of HSS calls that serves the ImageScan (batch-scan or tasks).", "backend")
	vulnerabilitiesGauge = objectGauge("imagescan_vulnerabilities",
		"Vulnerabilities the round's scans found, by severity (critical, high, medium, low); absent unless spec.vulnerabilities reads them.", "severity")
	openGauge = objectGauge("imagescan_open_vulnerabilities",
		"Vulnerabilities no VulnerabilityException accepts, by severity; what alerts should follow.", "severity")
	acceptedGauge = objectGauge("imagescan_accepted_vulnerabilities",
		"Vulnerabilities a VulnerabilityException accepts, by severity.", "severity")
	newGauge = objectGauge("imagescan_new_vulnerabilities",
		"Open vulnerabilities first found in the current or last round, by severity (an ImageScan's first round finds none new).", "severity")

	objectGauges = []*prometheus.GaugeVec{
		imagesGauge, findingsGauge, filesGauge, fileBytesGauge, readyGauge, stalledGauge, lastCompletionGauge, intervalGauge,
		vulnerabilitiesGauge, backendGauge, openGauge, acceptedGauge, newGauge,
	}
)

// objectGauge is a gauge per ImageScan, with any extra labels after the
// object's.
func objectGauge(name, help string, extra ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append(append([]string{}, objectLabels...), extra...))
}

// reportsWalked counts the reports passes read, by walk: all of a round's
// members, to count them, or only those still to end.
var reportsWalked = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "imagescan_reports_walked_total",
	Help: "ImageReports read by passes over their rounds, by walk: all (every member, counted for status) or unended (only members whose result is not final).",
}, []string{"walk"})

func init() {
	for _, g := range objectGauges {
		metrics.Registry.MustRegister(g)
	}
	metrics.Registry.MustRegister(reportsWalked)
}

// recordMetrics sets obj's gauges from its status.
func recordMetrics(obj *scanv1.ImageScan, st scanv1.ImageScanStatus) {
	ns, name := obj.Namespace, obj.Name
	s := st.Summary
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
	if s.Severities != nil {
		setSeverities(vulnerabilitiesGauge, ns, name, s.Severities)
		setSeverities(openGauge, ns, name, cmp.Or(s.Open, s.Severities))
		setSeverities(acceptedGauge, ns, name, cmp.Or(s.Accepted, &scanv1.Severities{}))
		setSeverities(newGauge, ns, name, cmp.Or(s.New, &scanv1.Severities{}))
	} else {
		// Not read: no series rather than a zero that reads as "none found".
		for _, g := range []*prometheus.GaugeVec{vulnerabilitiesGauge, openGauge, acceptedGauge, newGauge} {
			g.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
		}
	}
	if st.Backend != "" {
		backendGauge.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
		backendGauge.WithLabelValues(ns, name, st.Backend).Set(1)
	}
	filesGauge.WithLabelValues(ns, name).Set(float64(s.TotalFiles))
	fileBytesGauge.WithLabelValues(ns, name).Set(float64(s.TotalFileSize))
	readyGauge.WithLabelValues(ns, name).Set(boolGauge(apimeta.IsStatusConditionTrue(st.Conditions, scanv1.ConditionReady)))
	stalledGauge.WithLabelValues(ns, name).Set(boolGauge(apimeta.IsStatusConditionTrue(st.Conditions, scanv1.ConditionStalled)))
	if t := st.LastCompletionTime; t != nil {
		lastCompletionGauge.WithLabelValues(ns, name).Set(float64(t.Unix()))
	}
	interval := 0.0
	if obj.Spec.Interval != nil {
		interval = obj.Spec.Interval.Seconds()
	}
	intervalGauge.WithLabelValues(ns, name).Set(interval)
}

func setSeverities(g *prometheus.GaugeVec, ns, name string, sev *scanv1.Severities) {
	for severity, n := range map[string]int64{"critical": sev.Critical, "high": sev.High, "medium": sev.Medium, "low": sev.Low} {
		g.WithLabelValues(ns, name, severity).Set(float64(n))
	}
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
