package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

// exceptionExpiryGauge lets an alert warn before accepted risks come back.
var exceptionExpiryGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "imagescan_exception_expiry_timestamp_seconds",
	Help: "When a VulnerabilityException in force expires, in seconds since the epoch; absent once it is not in force.",
}, objectLabels)

func init() { metrics.Registry.MustRegister(exceptionExpiryGauge) }

// exceptionReconciler keeps each VulnerabilityException's status: whether
// it is in force, and what it accepts in the ImageScans of its namespace,
// as their status.exceptions count it. The ImageScan controller applies
// exceptions; this one only reports on them.
type exceptionReconciler struct {
	client.Client
	events      events.EventRecorder
	clock       clock.PassiveClock
	maxDuration time.Duration
}

func (r *exceptionReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("vulnerabilityexception").
		For(&scanv1.VulnerabilityException{}).
		Watches(&scanv1.ImageScan{}, handler.Funcs{
			CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueueUses(q, e.Object)
			},
			UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if !equality.Semantic.DeepEqual(e.ObjectOld.(*scanv1.ImageScan).Status.Exceptions, e.ObjectNew.(*scanv1.ImageScan).Status.Exceptions) {
					enqueueUses(q, e.ObjectOld)
					enqueueUses(q, e.ObjectNew)
				}
			},
			DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueueUses(q, e.Object)
			},
		}).
		Complete(r)
}

// enqueueUses asks for the status of each exception an ImageScan names.
func enqueueUses(q workqueue.TypedRateLimitingInterface[reconcile.Request], obj client.Object) {
	scan, ok := obj.(*scanv1.ImageScan)
	if !ok {
		return
	}
	for _, u := range scan.Status.Exceptions {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: scan.Namespace, Name: u.Name}})
	}
}

func (r *exceptionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	exc := &scanv1.VulnerabilityException{}
	if err := r.Get(ctx, req.NamespacedName, exc); err != nil {
		exceptionExpiryGauge.DeletePartialMatch(prometheus.Labels{"namespace": req.Namespace, "name": req.Name})
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	now := r.clock.Now()
	st := exc.Status.DeepCopy()
	if st.ObservedGeneration != exc.Generation || st.EffectiveSince == nil {
		st.EffectiveSince = &metav1.Time{Time: now}
	}
	st.ObservedGeneration = exc.Generation
	state := triage.StateOf(&scanv1.VulnerabilityException{Spec: exc.Spec, Status: *st, ObjectMeta: exc.ObjectMeta}, now, r.maxDuration)
	if err := r.countUses(ctx, exc, st); err != nil {
		return ctrl.Result{}, err
	}
	status := metav1.ConditionFalse
	if state.InForce() {
		status = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: scanv1.ConditionReady, Status: status, Reason: state.Reason, Message: rounds.Truncate(state.Message, 1024), ObservedGeneration: exc.Generation,
	})
	before := apimeta.FindStatusCondition(exc.Status.Conditions, scanv1.ConditionReady)
	if !equality.Semantic.DeepEqual(*st, exc.Status) {
		next := exc.DeepCopy()
		next.Status = *st
		if err := r.Status().Patch(ctx, next, client.MergeFrom(exc)); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if state.Reason == scanv1.ReasonExpired && before != nil && before.Reason == scanv1.ReasonActive {
		r.events.Eventf(exc, nil, corev1.EventTypeWarning, scanv1.EventExceptionExpired, "Expire",
			"%s", rounds.Truncate(fmt.Sprintf("expired at %s; the results it accepted are open again: %s",
				exc.Spec.ExpiresAt.UTC().Format(time.RFC3339), scanNames(exc.Status.ImageScans)), maxEventNote))
	}
	if !state.InForce() {
		exceptionExpiryGauge.DeletePartialMatch(prometheus.Labels{"namespace": exc.Namespace, "name": exc.Name})
		return ctrl.Result{}, nil
	}
	exceptionExpiryGauge.WithLabelValues(exc.Namespace, exc.Name).Set(float64(exc.Spec.ExpiresAt.Unix()))
	return ctrl.Result{RequeueAfter: exc.Spec.ExpiresAt.Sub(now) + time.Second}, nil
}

// countUses sums what the namespace's ImageScans say the exception accepts.
func (r *exceptionReconciler) countUses(ctx context.Context, exc *scanv1.VulnerabilityException, st *scanv1.VulnerabilityExceptionStatus) error {
	var scans scanv1.ImageScanList
	if err := r.List(ctx, &scans, client.InNamespace(exc.Namespace)); err != nil {
		return err
	}
	st.Results, st.Images, st.ImageScans = 0, 0, nil
	for _, s := range scans.Items {
		i := slices.IndexFunc(s.Status.Exceptions, func(u scanv1.ExceptionUse) bool { return u.Name == exc.Name })
		if i < 0 {
			continue
		}
		u := s.Status.Exceptions[i]
		st.Results += u.Results
		st.Images += u.Images
		st.ImageScans = append(st.ImageScans, scanv1.ExceptionUse{Name: s.Name, Results: u.Results, Images: u.Images, Examples: u.Examples})
	}
	slices.SortFunc(st.ImageScans, func(a, b scanv1.ExceptionUse) int { return strings.Compare(a.Name, b.Name) })
	st.ImageScans = st.ImageScans[:min(len(st.ImageScans), scanv1.MaxExceptionScans)]
	return nil
}

func scanNames(uses []scanv1.ExceptionUse) string {
	if len(uses) == 0 {
		return "none in use"
	}
	names := make([]string, 0, len(uses))
	for _, u := range uses {
		names = append(names, fmt.Sprintf("%d in ImageScan %s", u.Results, u.Name))
	}
	return strings.Join(names, ", ")
}
