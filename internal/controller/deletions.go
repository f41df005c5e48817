package controller

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// reportDeletions tells the controller of ImageReports deleted from outside,
// so that their ImageScan restores them (restoreMembers, due). It watches
// the reports' metadata and keeps none of it: an informer would hold every
// report, and the manager's memory would grow with the images. After a gap
// in the watch (its history expired) every ImageScan is looked at again.
type reportDeletions struct {
	meta   metadata.Interface
	scans  client.Reader
	events chan event.TypedGenericEvent[*scanv1.ImageScan]
	// touched is told of each ImageScan sent, before it is sent.
	touched func(types.NamespacedName)
}

var imageReports = schema.GroupVersionResource{Group: scanv1.GroupVersion.Group, Version: scanv1.GroupVersion.Version, Resource: "imagereports"}

func newReportDeletions(meta metadata.Interface, scans client.Reader, touched func(types.NamespacedName)) *reportDeletions {
	return &reportDeletions{meta: meta, scans: scans, events: make(chan event.TypedGenericEvent[*scanv1.ImageScan], 64), touched: touched}
}

// Start watches until ctx ends, starting again a second after the watch
// ends.
func (d *reportDeletions) Start(ctx context.Context) error {
	first := true
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := d.watch(ctx, !first); err != nil && ctx.Err() == nil {
			ctrl.LoggerFrom(ctx).Error(err, "watch ImageReport deletions; starting again")
		}
		first = false
	}, time.Second)
	return nil
}

// watch follows deletions from now until the watch's history expires.
// After a gap, every ImageScan is sent, as a deletion may have been missed.
func (d *reportDeletions) watch(ctx context.Context, afterGap bool) error {
	now, err := d.meta.Resource(imageReports).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return err
	}
	if afterGap {
		if err := d.sendAll(ctx); err != nil {
			return err
		}
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, now.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return d.meta.Resource(imageReports).Watch(ctx, opts)
		},
	})
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			switch e.Type {
			case watch.Error:
				return nil // the history expired: start again, after a look at every ImageScan
			case watch.Deleted:
				rep, ok := e.Object.(*metav1.PartialObjectMetadata)
				if !ok {
					continue
				}
				if owner := metav1.GetControllerOf(rep); owner != nil && owner.Kind == "ImageScan" && d.watched(ctx, rep.Namespace, owner) {
					d.send(ctx, rep.Namespace, owner.Name)
				}
			}
		}
	}
}

// watched: the report's ImageScan is this manager's to reconcile, as its
// cache shows it (a manager may watch some namespaces only).
func (d *reportDeletions) watched(ctx context.Context, namespace string, owner *metav1.OwnerReference) bool {
	var scan scanv1.ImageScan
	err := d.scans.Get(ctx, client.ObjectKey{Namespace: namespace, Name: owner.Name}, &scan)
	return err == nil && scan.UID == owner.UID
}

func (d *reportDeletions) sendAll(ctx context.Context) error {
	var list scanv1.ImageScanList
	if err := d.scans.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range list.Items {
		d.send(ctx, list.Items[i].Namespace, list.Items[i].Name)
	}
	return nil
}

func (d *reportDeletions) send(ctx context.Context, namespace, name string) {
	d.touched(types.NamespacedName{Namespace: namespace, Name: name})
	obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	select {
	case d.events <- event.TypedGenericEvent[*scanv1.ImageScan]{Object: obj}:
	case <-ctx.Done():
	}
}
