package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

// ClientProvider hands out HSS clients; *hss.Provider is the real one.
type ClientProvider interface {
	Client(t hss.Target) (hss.Client, error)
}

// Defaults are the manager-wide settings a spec may override.
type Defaults struct {
	Region    string
	ProjectID string
	Endpoint  string
	// CredentialsSecret is used by ImageScans without credentialsRef or
	// serviceAccountName, where Tenancy allows; empty means the manager's
	// key-less identity.
	CredentialsSecret types.NamespacedName
}

// Options tune the reconciler; zero values take the defaults below.
type Options struct {
	MaxConcurrentReconciles int
	// ReadConcurrency bounds the calls in flight that read what one
	// ImageScan's scans gave: file statistics, vulnerability lists and
	// catalogue lookups.
	ReadConcurrency int
	// MinPoll and MaxPoll bound the wait between polls of a running round.
	MinPoll, MaxPoll time.Duration
	// MaxRequeue caps any wait, e.g. for the next interval round.
	MaxRequeue time.Duration
	// StalledRetry is how long to wait before retrying after an auth or
	// invalid-request error, in case the cause was fixed outside the cluster.
	StalledRetry time.Duration
	// StartTimeout is how long an accepted round waits for HSS to start
	// scanning an image before reporting that image as failed.
	StartTimeout time.Duration
	// EvidenceWindow is how long after a batch-scan call whose outcome is
	// unknown (a timeout, a broken connection, a 500 or gateway error, a
	// manager that stopped) the round waits for HSS to show the request before
	// sending it again.
	EvidenceWindow time.Duration
	// MaxImagesPerScan bounds the images one ImageScan may scan; 0 is no
	// bound. An ImageScan that matches more starts no round and says so.
	MaxImagesPerScan int
	// PassTimeout bounds the HSS calls of one reconcile.
	PassTimeout time.Duration
	// MaxExceptionDuration is how far ahead of its last change a
	// VulnerabilityException may expire; default a year.
	MaxExceptionDuration time.Duration
	// SweepInterval is how often the caches are pruned; default a minute.
	SweepInterval time.Duration
	// Clock is replaced by tests, and so is Ticks, which drives the
	// janitor.
	Clock clock.PassiveClock
	Ticks clock.WithTicker
}

// DefaultOptions are the reconciler's settings where a field is zero, and
// the defaults of the manager's flags.
func DefaultOptions() Options {
	return Options{
		MaxConcurrentReconciles: 4,
		ReadConcurrency:         4,
		MinPoll:                 5 * time.Second,
		MaxPoll:                 2 * time.Minute,
		MaxRequeue:              time.Hour,
		StalledRetry:            10 * time.Minute,
		StartTimeout:            30 * time.Minute,
		EvidenceWindow:          2 * time.Minute,
		PassTimeout:             2 * time.Minute,
		MaxExceptionDuration:    triage.DefaultMaxDuration,
		SweepInterval:           defaultSweepInterval,
	}
}

func (o *Options) setDefaults() {
	d := DefaultOptions()
	for _, f := range []struct{ v, d *int }{{&o.MaxConcurrentReconciles, &d.MaxConcurrentReconciles}, {&o.ReadConcurrency, &d.ReadConcurrency}} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&o.MinPoll, &d.MinPoll}, {&o.MaxPoll, &d.MaxPoll}, {&o.MaxRequeue, &d.MaxRequeue}, {&o.StalledRetry, &d.StalledRetry},
		{&o.StartTimeout, &d.StartTimeout}, {&o.EvidenceWindow, &d.EvidenceWindow}, {&o.PassTimeout, &d.PassTimeout},
		{&o.MaxExceptionDuration, &d.MaxExceptionDuration}, {&o.SweepInterval, &d.SweepInterval},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Ticks == nil {
		o.Ticks = clock.RealClock{}
	}
}

// ImageScanReconciler reconciles ImageScans.
type ImageScanReconciler struct {
	client.Client
	// APIReader reads what the cache may not show yet.
	APIReader client.Reader
	Events    events.EventRecorder
	HSS       ClientProvider
	Defaults  Defaults
	Tenancy   Tenancy
	Options

	stats     statsCache
	secrets   secretCache
	feeds     finishedFeeds
	counts    counts
	waiting   waitingRounds
	catalogue catalogueCache
	reports   reportsGate
}

// credentialsIndex indexes ImageScans by the Secret they read credentials
// from; defaultCredentials stands for the manager's default Secret.
const (
	credentialsIndex   = ".spec.credentialsRef.name"
	defaultCredentials = "\x00default"
)

// SetupWithManager registers the controller. Secrets are watched as metadata
// only, so the cache never holds their data.
func (r *ImageScanReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	r.setDefaults()
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	err := mgr.GetFieldIndexer().IndexField(ctx, &scanv1.ImageScan{}, credentialsIndex, func(o client.Object) []string {
		spec := o.(*scanv1.ImageScan).Spec
		switch {
		case spec.CredentialsRef != nil:
			return []string{spec.CredentialsRef.Name}
		case spec.ServiceAccountName != "":
			return nil
		}
		return []string{defaultCredentials}
	})
	if err != nil {
		return err
	}
	if r.reports.disc, err = discovery.NewDiscoveryClientForConfig(mgr.GetConfig()); err != nil {
		return err
	}
	if err := mgr.Add(manager.RunnableFunc(r.janitor)); err != nil {
		return err
	}
	cacheMetrics.follow(r.CacheSizes)
	// The controller reads reports from the API server a page at a time and
	// caches none; it learns of a report deleted from outside by a watch
	// that keeps nothing.
	meta, err := metadata.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	deletions := newReportDeletions(meta, mgr.GetClient(), r.waiting.forget)
	if err := mgr.Add(deletions); err != nil {
		return err
	}
	excs := &exceptionReconciler{Client: mgr.GetClient(), events: r.Events, clock: r.Clock, maxDuration: r.MaxExceptionDuration}
	if err := excs.setup(mgr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&scanv1.ImageScan{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(source.Channel(deletions.events, &handler.TypedEnqueueRequestForObject[*scanv1.ImageScan]{})).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.scansForSecret)).
		Watches(&scanv1.VulnerabilityException{}, handler.EnqueueRequestsFromMapFunc(r.scansInNamespace),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// scansForSecret finds the ImageScans that read a Secret.
func (r *ImageScanReconciler) scansForSecret(ctx context.Context, secret client.Object) []ctrl.Request {
	var list scanv1.ImageScanList
	opts := []client.ListOption{client.InNamespace(secret.GetNamespace()), client.MatchingFields{credentialsIndex: secret.GetName()}}
	if client.ObjectKeyFromObject(secret) == r.Defaults.CredentialsSecret {
		opts = []client.ListOption{client.MatchingFields{credentialsIndex: defaultCredentials}}
	}
	if err := r.List(ctx, &list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list ImageScans for Secret", "secret", client.ObjectKeyFromObject(secret))
		return nil
	}
	return requestsFor(list)
}

// requestsFor asks for a reconcile of each ImageScan of list.
func requestsFor(list scanv1.ImageScanList) []ctrl.Request {
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, s := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
	}
	return reqs
}

// scansInNamespace finds the ImageScans an exception may apply to: those
// of its namespace. A change of its status is not one of its rules.
func (r *ImageScanReconciler) scansInNamespace(ctx context.Context, exc client.Object) []ctrl.Request {
	var list scanv1.ImageScanList
	if err := r.List(ctx, &list, client.InNamespace(exc.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list ImageScans for VulnerabilityException", "exception", client.ObjectKeyFromObject(exc))
		return nil
	}
	return requestsFor(list)
}

// ConfigureCache sets the manager options the controller relies on: the
// cache strips managedFields (memory stays flat as objects grow) and keeps
// an ImageScan's status.images as a mark (cachedlines.go), and
// Secrets are never cached: the controller watches their metadata only, and
// of that metadata keeps only what names them and their version, because
// annotations can hold a Secret's data (client-side kubectl apply stores the
// whole object in kubectl.kubernetes.io/last-applied-configuration). It
// reads the referenced ones directly.
func ConfigureCache(o *ctrl.Options) {
	stripManagedFields := cache.TransformStripManagedFields()
	o.Cache.DefaultTransform = func(obj any) (any, error) {
		switch o := obj.(type) {
		case *metav1.PartialObjectMetadata:
			return identityOnly(o), nil
		case *scanv1.ImageScan:
			markLines(o)
		}
		return stripManagedFields(obj)
	}
	o.Client.Cache = &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}
}

// identityOnly keeps an object's kind, name, namespace, UID and versions.
func identityOnly(m *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, Generation: m.Generation,
			CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
		},
	}
}
