package controller

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

// writesBack: the ImageScan calls HSS with its namespace's own identity (a
// Secret of its namespace other than the platform's default, or its own
// ServiceAccount), so an exception's write-back may act for it. An ignore
// in HSS changes what every user of the project sees: never on the
// platform's shared identity.
func (r *ImageScanReconciler) writesBack(obj *scanv1.ImageScan) bool {
	spec := obj.Spec
	switch {
	case spec.ServiceAccountName != "":
		return true
	case spec.CredentialsRef != nil:
		return types.NamespacedName{Namespace: obj.Namespace, Name: spec.CredentialsRef.Name} != r.Defaults.CredentialsSecret
	}
	return false
}

// handleBatch is one HandleImageVulnerability call: findings of one kind,
// to ignore with one exception's reason, or to unignore.
type handleBatch struct {
	operation, kind, remark string
	findings                []int
}

// writeBack sends the handlings a marking decided, one call per operation,
// exception and kind of vulnerability, and records on the findings what
// HSS took. It returns how many findings are left to write: a failed call
// is tried again on a later pass.
func (r *ImageScanReconciler) writeBack(ctx context.Context, p *pass, m *member, rules triage.Set, fs []triage.Finding, out triage.Outcome) int32 {
	batches := handleBatches(rules, fs, out)
	var pending int32
	for _, b := range batches {
		if p.client == nil || m.status.ImageID == "" {
			pending += int32(len(b.findings))
			continue
		}
		var ids []string
		for _, i := range b.findings {
			if !slices.Contains(ids, fs[i].ID) {
				ids = append(ids, fs[i].ID)
			}
		}
		err := p.client.HandleVulnerabilities(ctx, hss.Handling{
			Operation: b.operation, Kind: b.kind, ImageID: m.status.ImageID, VulIDs: ids, Remark: b.remark,
		})
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "write an exception back to HSS", "image", m.key.String())
			pending += int32(len(b.findings))
			continue
		}
		for _, i := range b.findings {
			fs[i].IgnoredInHSS = b.operation == hss.HandleIgnore
		}
	}
	return pending
}

// handleBatches groups a marking's handlings into calls, in a stable order.
func handleBatches(rules triage.Set, fs []triage.Finding, out triage.Outcome) []handleBatch {
	var batches []handleBatch
	split := func(operation, remark string, idx []int) {
		for _, kind := range []string{hss.KindLinux, hss.KindApp} {
			var mine []int
			for _, i := range idx {
				if fs[i].App == (kind == hss.KindApp) {
					mine = append(mine, i)
				}
			}
			if len(mine) > 0 {
				batches = append(batches, handleBatch{operation: operation, kind: kind, remark: remark, findings: mine})
			}
		}
	}
	for _, rule := range rules {
		if idx := out.Ignore[rule.Name]; len(idx) > 0 {
			split(hss.HandleIgnore, "VulnerabilityException "+rule.Name+": "+rule.Reason, idx)
		}
	}
	split(hss.HandleNotIgnore, "", out.Unignore)
	return batches
}
