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
// last version it delivered, so no change is lost and the channel stays open.
func watchImageScans(ctx context.Context, c client.WithWatch, ns string) (watch.Interface, error) {
	list := &scanv1.ImageScanList{}
	if err := c.List(ctx, list, client.InNamespace(ns), client.Limit(1)); err != nil {
		return nil, fmt.Errorf("list ImageScans: %w", err)
	}
	lw := &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, &scanv1.ImageScanList{}, &client.ListOptions{Namespace: ns, Raw: &opts})
		},
	}
	return watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, lw)
}
