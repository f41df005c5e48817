package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// statusPatcher writes status as merge patches carrying the resourceVersion
// they were computed from: a concurrent update makes the patch fail with a
// conflict (and the reconcile retry) instead of being overwritten.
type statusPatcher struct {
	c    client.Client
	base *scanv1.ImageScan
}

func newStatusPatcher(c client.Client, obj *scanv1.ImageScan) *statusPatcher {
	return &statusPatcher{c: c, base: obj.DeepCopy()}
}

// patch writes obj's status, unless nothing changed since the last write.
func (p *statusPatcher) patch(ctx context.Context, obj *scanv1.ImageScan) error {
	if equality.Semantic.DeepEqual(p.base.Status, obj.Status) {
		return nil
	}
	err := p.c.Status().Patch(ctx, obj, client.MergeFromWithOptions(p.base, client.MergeFromWithOptimisticLock{}))
	if err == nil {
		p.base = obj.DeepCopy()
	}
	return err
}
