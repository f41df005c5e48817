package controller

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// reportsIndex indexes ImageReports by the ImageScan they belong to.
const reportsIndex = "spec.imageScanName"

// loadMembers reads the ImageScan's reports: they are the members of its
// current round, whatever their number. It leaves p.loaded false while the
// cache has not caught up with this manager's own creations and deletions.
func (r *ImageScanReconciler) loadMembers(ctx context.Context, p *pass) error {
	var list scanv1.ImageReportList
	// The cache's objects are shared, never changed here: saveReports
	// patches copies.
	err := r.List(ctx, &list, client.InNamespace(p.obj.Namespace),
		client.MatchingFields{reportsIndex: p.obj.Name}, client.UnsafeDisableDeepCopy)
	if err != nil {
		return fmt.Errorf("list ImageReports: %w", err)
	}
	seen := make(map[string]string, len(list.Items))
	var reports []*scanv1.ImageReport
	for i := range list.Items {
		rep := &list.Items[i]
		if !ownedBy(rep, p.obj) {
			continue // a report of an earlier ImageScan of the same name, awaiting collection
		}
		seen[rep.Name] = rep.ResourceVersion
		reports = append(reports, rep)
	}
	synced, newer := r.lag.reconcile(keyOf(p.obj), seen, r.Clock.Now())
	if !synced {
		return nil
	}
	p.members = make([]*member, 0, len(reports))
	for _, rep := range reports {
		_, stripped := rep.Annotations[cachedWithoutVulnerabilities]
		m := &member{key: keyOfReport(rep), report: rep, status: rep.Status, listElsewhere: stripped}
		if w, ok := newer[rep.Name]; ok {
			m.status, m.listElsewhere = w.status, m.listElsewhere || w.listElsewhere
		}
		m.written = m.status
		p.members = append(p.members, m)
	}
	sortMembers(p.members)
	p.loaded = true
	return nil
}

// ownedBy: obj is the report's controller.
func ownedBy(rep *scanv1.ImageReport, obj *scanv1.ImageScan) bool {
	for _, ref := range rep.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			return ref.UID == obj.UID
		}
	}
	return false
}

func sortMembers(ms []*member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].key.String() < ms[j].key.String() })
}

// membership is the list of a new round's images: an explicit list in its
// own order, or what the selector's listing returned.
func membership(spec scanv1.ImageScanSpec, listed map[imageKey]hss.Image) []imageKey {
	if spec.Selector != nil {
		return sortedKeys(listed)
	}
	seen := map[imageKey]bool{}
	var keys []imageKey
	for _, ref := range spec.Images {
		k := keyOfRef(ref)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// fixMembers makes the reports the new round's members: existing reports
// of members stay as they are (their results are the previous round's until
// this round replaces them), new members get a report, and reports of
// images that left are deleted. A member HSS does not list has its result
// at once.
func (r *ImageScanReconciler) fixMembers(ctx context.Context, p *pass, keys []imageKey, listed map[imageKey]hss.Image, round int64) error {
	existing := make(map[imageKey]*member, len(p.members))
	for _, m := range p.members {
		existing[m.key] = m
	}
	members := make([]*member, 0, len(keys))
	var create []*member
	for _, k := range keys {
		m, ok := existing[k]
		// A report is of one kind of repository: one of another kind is
		// another image's, and goes.
		ok = ok && m.report != nil && m.report.Spec.ImageType == p.obj.Spec.ImageType
		if ok {
			delete(existing, k)
		} else {
			m = &member{key: k}
			create = append(create, m)
		}
		_, ok = listed[k]
		switch {
		case !ok:
			m.status = scanv1.ImageReportStatus{Round: round, ScanStatus: scanv1.ScanStatusNotFound, Message: notListed(p.obj.Spec)}
		case m.status.Round >= round:
			// A result of this round number from a start whose status was
			// never saved: that start's view, not this one's.
			m.status = scanv1.ImageReportStatus{}
		}
		members = append(members, m)
	}
	if err := r.createReports(ctx, p.obj, create); err != nil {
		return err
	}
	var gone []*member
	for _, m := range existing {
		gone = append(gone, m)
	}
	if err := r.deleteReports(ctx, p.obj, gone); err != nil {
		return err
	}
	p.members = members
	return nil
}

// notListed is the message of a member HSS does not list.
func notListed(spec scanv1.ImageScanSpec) string {
	if spec.SyncFromSWR {
		return "HSS does not list this image. " + syncMayLag
	}
	return "HSS does not list this image; is it synchronised from SWR?"
}

// restoreMembers makes again the reports of an explicit list's current
// round that were deleted from outside: a member stays one until its round
// ends, and its result is read again from HSS, in a completed round
// reopened for it. (A selector's deleted members are known only by their
// number; due starts a new round for them.)
func (r *ImageScanReconciler) restoreMembers(ctx context.Context, p *pass) error {
	round := p.round
	if round == nil || round.Generation != p.obj.Generation || p.obj.Spec.Selector != nil {
		return nil
	}
	present := make(map[imageKey]bool, len(p.members))
	for _, m := range p.members {
		present[m.key] = true
	}
	var lost []*member
	for _, k := range membership(p.obj.Spec, nil) {
		if !present[k] {
			lost = append(lost, &member{key: k})
		}
	}
	if len(lost) == 0 {
		return nil
	}
	if err := r.createReports(ctx, p.obj, lost); err != nil {
		return err
	}
	p.members = append(p.members, lost...)
	sortMembers(p.members)
	if round.CompletedAt != nil && round.AcceptedAt != nil {
		round.CompletedAt = nil
	}
	r.Events.Eventf(p.obj, nil, corev1.EventTypeWarning, scanv1.EventReportsDeleted, "Restore", "%s",
		truncate(fmt.Sprintf("Round %d: %d reports were deleted from outside; they were made again and their images are read again from HSS",
			round.Round, len(lost)), maxEventNote))
	return nil
}
