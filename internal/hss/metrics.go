package hss

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hss_requests_total",
		Help: "HSS API calls by operation and outcome (ok or the error class).",
	}, []string{"operation", "outcome"})

	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hss_request_duration_seconds",
		Help:    "HSS API call latency, including time waiting for the rate limiter.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"operation"})

	throttledTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hss_throttled_total",
		Help: "HSS API calls answered with a throttling error.",
	}, []string{"operation"})

	backendSwitches = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hss_backend_switches_total",
		Help: "Endpoints whose clients moved from batch-scan to the task calls, because HSS answered that a deprecated call no longer exists.",
	})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, throttledTotal, backendSwitches)
}
