// Package controller reconciles ImageScans: resolve the HSS target, trigger
// a scan round, follow it, collect file statistics and report.
package controller

// The least the controller needs: its own kinds (ImageScans, and the
// ImageReports it creates, owns and deletes; owner references that block
// deletion need update on imagescans/finalizers and
// imagereports/finalizers), the OpenReports Reports it writes (and reads
// back only to mark them again when exceptions change), the
// VulnerabilityExceptions it applies and whose status it writes, read-only
// Secrets
// (metadata watch plus uncached reads of referenced ones) and events.
// +kubebuilder:rbac:groups=scan.hss.dev,resources=imagescans,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=scan.hss.dev,resources=imagescans/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=scan.hss.dev,resources=imagescans/finalizers,verbs=update
// +kubebuilder:rbac:groups=scan.hss.dev,resources=imagereports,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=scan.hss.dev,resources=imagereports/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=scan.hss.dev,resources=imagereports/finalizers,verbs=update
// +kubebuilder:rbac:groups=scan.hss.dev,resources=vulnerabilityexceptions,verbs=get;list;watch
// +kubebuilder:rbac:groups=scan.hss.dev,resources=vulnerabilityexceptions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=openreports.io,resources=reports,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
