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

// patch writes st, unless nothing changed since the last write.
func (p *statusPatcher) patch(ctx context.Context, st scanv1.ImageScanStatus) error {
	st.Images = sameLines(p.base.Status.Images, st.Images)
	if equality.Semantic.DeepEqual(p.base.Status, st) {
		return nil
	}
	next := p.base.DeepCopy()
	next.Status = st
	if err := p.c.Status().Patch(ctx, next, client.MergeFromWithOptions(p.base, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	p.base = next
	return nil
}
