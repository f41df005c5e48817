package main

import (
	"context"
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// waitReady watches the ImageScans of namespace ns, runs create, and waits
// until every one of names is Ready. It returns when each became Ready; it
// fails when one is Stalled or ctx ends first.
func waitReady(ctx context.Context, c client.WithWatch, ns string, names []string, create func() error) (map[string]time.Time, error) {
	w, err := watchImageScans(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	if err := create(); err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	readyAt := make(map[string]time.Time, len(names))
	for len(readyAt) < len(want) {
		select {
		case <-ctx.Done():
			return readyAt, fmt.Errorf("%d of %d ImageScans Ready: %w", len(readyAt), len(want), context.Cause(ctx))
		case ev, ok := <-w.ResultChan():
			if !ok {
				return readyAt, fmt.Errorf("the watch of ImageScans ended: %w", context.Cause(ctx))
			}
			obj, ok := ev.Object.(*scanv1.ImageScan)
			if !ok || !want[obj.Name] {
				continue
			}
			conds := obj.Status.Conditions
			if _, done := readyAt[obj.Name]; !done && apimeta.IsStatusConditionTrue(conds, scanv1.ConditionReady) {
				readyAt[obj.Name] = time.Now()
			}
			if c := apimeta.FindStatusCondition(conds, scanv1.ConditionStalled); c != nil && c.Status == "True" {
				return readyAt, fmt.Errorf("imagescan %s stalled: %s: %s", obj.Name, c.Reason, c.Message)
			}
		}
	}
	return readyAt, nil
}
