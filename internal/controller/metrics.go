package controller

import (
	"cmp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// Per-ImageScan gauges, written from status after it is saved, so a scrape
// shows what `kubectl get` shows. Each series carries the object's namespace
// and name; they are removed when the object is deleted.
//
// The figures are kept as one small value per ImageScan and turned into
// series only while a scrape runs: a GaugeVec keeps a labelled child per
// series, about 7 KiB for an ImageScan's 31 series, which at thousands of
// ImageScans was the largest thing on the manager's heap.
var objectMetrics = newObjectCollector()

var (
	objectLabels = []string{"namespace", "name"}

	imagesDesc = objectDesc("imagescan_images",
		"Images of the current or last round by result: succeeded, failed, pending, not_found, statistics_unavailable.", "result")
	findingsDesc = objectDesc("imagescan_findings",
		"What the round's scans found, by kind: vulnerabilities, malicious_files, unsafe_settings.", "kind")
	filesDesc = objectDesc("imagescan_files",
		"Files in the images scanned successfully.")
	fileBytesDesc = objectDesc("imagescan_file_bytes",
		"Bytes of files in the images scanned successfully.")
	readyDesc = objectDesc("imagescan_ready",
		"1 when the Ready condition is True, 0 otherwise.")
	stalledDesc = objectDesc("imagescan_stalled",
		"1 when the Stalled condition is True (a person must act), 0 otherwise.")
	lastCompletionDesc = objectDesc("imagescan_last_completion_timestamp_seconds",
		"When the last round finished, in seconds since the epoch.")
	intervalDesc = objectDesc("imagescan_interval_seconds",
		"The rescan interval of spec.interval; 0 when the object scans only on change.")
	backendDesc = objectDesc("imagescan_backend",
		"1 for the family of HSS calls that serves the ImageScan (batch-scan or tasks).", "backend")
	// severityDescs follow the order of objectFigures.severities.
	severityDescs = [...]*prometheus.Desc{
		objectDesc("imagescan_vulnerabilities",
			"Vulnerabilities the round's scans found, by severity (critical, high, medium, low); absent unless spec.vulnerabilities reads them.", "severity"),
		objectDesc("imagescan_open_vulnerabilities",
			"Vulnerabilities no VulnerabilityException accepts, by severity; what alerts should follow.", "severity"),
		objectDesc("imagescan_accepted_vulnerabilities",
			"Vulnerabilities a VulnerabilityException accepts, by severity.", "severity"),
		objectDesc("imagescan_new_vulnerabilities",
			"Open vulnerabilities first found in the current or last round, by severity (an ImageScan's first round finds none new).", "severity"),
	}
)

// The extra label values, in the order objectFigures keeps their figures.
var (
	resultLabels   = [...]string{"succeeded", "failed", "pending", "not_found", "statistics_unavailable"}
	findingLabels  = [...]string{"vulnerabilities", "malicious_files", "unsafe_settings"}
	severityLabels = [...]string{"critical", "high", "medium", "low"}
)

func objectDesc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, objectLabels...), extra...), nil)
}

// objectFigures is what one ImageScan's series show.
type objectFigures struct {
	images         [len(resultLabels)]int32
	findings       [len(findingLabels)]int64
	files, bytes   int64
	ready, stalled bool
	// lastCompletion is Unix seconds; 0 until a round has finished.
	lastCompletion int64
	interval       float64
	backend        string
	// severities are found, open, accepted and new; nil when the
	// ImageScan does not read vulnerabilities, which shows no series rather
	// than zeros that read as "none found".
	severities *[len(severityDescs)][len(severityLabels)]int64
}

// objectCollector serves every ImageScan's series from its figures.
type objectCollector struct {
	mu sync.RWMutex
	// figures has one entry per ImageScan the manager has written status
	// for, about 300 bytes each; forget drops it when the ImageScan goes.
	figures map[types.NamespacedName]*objectFigures
}

func newObjectCollector() *objectCollector {
	return &objectCollector{figures: map[types.NamespacedName]*objectFigures{}}
}

func (c *objectCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{imagesDesc, findingsDesc, filesDesc, fileBytesDesc, readyDesc, stalledDesc, lastCompletionDesc, intervalDesc, backendDesc} {
		ch <- d
	}
	for _, d := range severityDescs {
		ch <- d
	}
}

func (c *objectCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for key, f := range c.figures {
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{key.Namespace, key.Name}, extra...)...)
		}
		for i, n := range f.images {
			gauge(imagesDesc, float64(n), resultLabels[i])
		}
		for i, n := range f.findings {
			gauge(findingsDesc, float64(n), findingLabels[i])
		}
		gauge(filesDesc, float64(f.files))
		gauge(fileBytesDesc, float64(f.bytes))
		gauge(readyDesc, boolGauge(f.ready))
		gauge(stalledDesc, boolGauge(f.stalled))
		if f.lastCompletion != 0 {
			gauge(lastCompletionDesc, float64(f.lastCompletion))
		}
		gauge(intervalDesc, f.interval)
		if f.backend != "" {
			gauge(backendDesc, 1, f.backend)
		}
		if f.severities != nil {
			for i, counts := range f.severities {
				for j, n := range counts {
					gauge(severityDescs[i], float64(n), severityLabels[j])
				}
			}
		}
	}
}

// record replaces key's figures with those of st, keeping the backend and
// the last completion a status without them does not say.
func (c *objectCollector) record(obj *scanv1.ImageScan, st scanv1.ImageScanStatus) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	s := st.Summary
	f := &objectFigures{
		images:   [...]int32{s.Succeeded, s.Failed, s.Pending, s.NotFound, s.StatisticsUnavailable},
		findings: [...]int64{s.Vulnerabilities, s.MaliciousFiles, s.UnsafeSettings},
		files:    s.TotalFiles, bytes: s.TotalFileSize,
		ready:   apimeta.IsStatusConditionTrue(st.Conditions, scanv1.ConditionReady),
		stalled: apimeta.IsStatusConditionTrue(st.Conditions, scanv1.ConditionStalled),
		backend: st.Backend,
	}
	if t := st.LastCompletionTime; t != nil {
		f.lastCompletion = t.Unix()
	}
	if obj.Spec.Interval != nil {
		f.interval = obj.Spec.Interval.Seconds()
	}
	if s.Severities != nil {
		f.severities = &[len(severityDescs)][len(severityLabels)]int64{
			severityCounts(s.Severities),
			severityCounts(cmp.Or(s.Open, s.Severities)),
			severityCounts(s.Accepted),
			severityCounts(s.New),
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.figures[key]; old != nil {
		f.backend = cmp.Or(f.backend, old.backend)
		f.lastCompletion = cmp.Or(f.lastCompletion, old.lastCompletion)
	}
	c.figures[key] = f
}

func (c *objectCollector) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.figures, key)
}

func (c *objectCollector) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.figures)
}

// severityCounts is sev in severityLabels' order; nil counts none.
func severityCounts(sev *scanv1.Severities) [len(severityLabels)]int64 {
	if sev == nil {
		return [len(severityLabels)]int64{}
	}
	return [...]int64{sev.Critical, sev.High, sev.Medium, sev.Low}
}

// reportsWalked counts the reports passes read, by walk: all of a round's
// members, to count them, or only those still to end.
var reportsWalked = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "imagescan_reports_walked_total",
	Help: "ImageReports read by passes over their rounds, by walk: all (every member, counted for status) or unended (only members whose result is not final).",
}, []string{"walk"})

func init() {
	metrics.Registry.MustRegister(objectMetrics, reportsWalked, cacheMetrics)
}

// recordMetrics sets obj's series from its status.
func recordMetrics(obj *scanv1.ImageScan, st scanv1.ImageScanStatus) {
	objectMetrics.record(obj, st)
}

// forgetMetrics removes every series of a deleted object.
func forgetMetrics(key types.NamespacedName) { objectMetrics.forget(key) }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
