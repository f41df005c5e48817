package main

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// watchImageScans follows the ImageScans of ns from now on for as long as ctx
// lasts. The API server ends every watch after its request timeout (30 to 60
// minutes), which a long run outlives; the retry watcher reopens it from the
// last version it delivered, so no change is lost, unless the API server no
// longer keeps that version: then the channel closes and the caller lists
// again (relist).
func watchImageScans(ctx context.Context, c client.WithWatch, ns string) (watch.Interface, error) {
	list := &scanv1.ImageScanList{}
	if err := c.List(ctx, list, client.InNamespace(ns), client.Limit(1)); err != nil {
		return nil, fmt.Errorf("list ImageScans: %w", err)
	}
	return watchFrom(ctx, c, ns, list.ResourceVersion)
}

// relist lists the ImageScans of ns as they are and watches them from
// there, for when a watch could not be resumed.
func relist(ctx context.Context, c client.WithWatch, ns string) ([]*scanv1.ImageScan, watch.Interface, error) {
	list := &scanv1.ImageScanList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, nil, fmt.Errorf("list ImageScans: %w", err)
	}
	w, err := watchFrom(ctx, c, ns, list.ResourceVersion)
	if err != nil {
		return nil, nil, err
	}
	objs := make([]*scanv1.ImageScan, len(list.Items))
	for i := range list.Items {
		objs[i] = &list.Items[i]
	}
	return objs, w, nil
}

func watchFrom(ctx context.Context, c client.WithWatch, ns, version string) (watch.Interface, error) {
	lw := &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, &scanv1.ImageScanList{}, &client.ListOptions{Namespace: ns, Raw: &opts})
		},
	}
	return watchtools.NewRetryWatcherWithContext(ctx, version, lw)
}
