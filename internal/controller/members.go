package controller

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// Reports per read from the API server: a pass holds one page of the
// round's reports at a time, whatever their number. With Details a report
// may hold MaxReportVulnerabilitiesBytes of entries, so its pages are short.
const (
	reportPage        = 500
	detailsReportPage = 16
)

// eachPage reads the ImageScan's reports, the members of its current
// round, from the API server a page at a time (one consistent list, its
// pages chained by continue tokens) and hands each page to fn; only those
// matching sel, where given. A member keeps its vulnerability list apart,
// for triage, only while its page is worked on: the server keeps it.
func (r *ImageScanReconciler) eachPage(ctx context.Context, p *pass, fn func([]*member) error, sel ...client.ListOption) error {
	limit := int64(reportPage)
	if detailOf(p.obj.Spec) == scanv1.VulnerabilitiesDetails {
		limit = detailsReportPage
	}
	opts := []client.ListOption{
		client.InNamespace(p.obj.Namespace),
		client.MatchingLabels{scanv1.LabelImageScan: rounds.LabelValue(p.obj.Name)},
		client.Limit(limit),
	}
	opts = append(opts, sel...)
	next := ""
	for {
		var list scanv1.ImageReportList
		began := time.Now()
		if err := r.APIReader.List(ctx, &list, append(opts, client.Continue(next))...); err != nil {
			return fmt.Errorf("list ImageReports: %w", err)
		}
		p.listing += time.Since(began)
		page := make([]*member, 0, len(list.Items))
		for i := range list.Items {
			rep := &list.Items[i]
			if !ownedBy(rep, p.obj) {
				continue // a report of an earlier ImageScan of the same name, awaiting collection
			}
			page = append(page, memberOf(rep))
		}
		sortMembers(page)
		if err := fn(page); err != nil {
			return err
		}
		if next = list.Continue; next == "" {
			return nil
		}
	}
}

// unended selects the reports whose result in round is not final.
func unended(round int64) client.ListOption {
	return client.MatchingFieldsSelector{Selector: fields.OneTermNotEqualSelector("status.endedRound", strconv.FormatInt(round, 10))}
}

// memberOf is a member as its report shows it.
func memberOf(rep *scanv1.ImageReport) *member {
	rep.ManagedFields = nil
	m := &member{key: keyOfReport(rep), report: rep, listElsewhere: rep.Status.Vulnerabilities != nil, previous: rep.Status.Vulnerabilities}
	rep.Status.Vulnerabilities = nil
	m.status, m.written = rep.Status, rep.Status
	return m
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
func membership(spec scanv1.ImageScanSpec, listed keySet) []rounds.Key {
	if spec.Selector != nil {
		return listed
	}
	seen := map[rounds.Key]bool{}
	var keys []rounds.Key
	for _, ref := range spec.Images {
		k := rounds.KeyOfRef(ref)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// fixMembers makes the reports the new round's members, a page at a time:
// existing reports of members stay (their results are the previous round's
// until this round replaces them), reports of images that left, or of
// another kind of repository, are deleted, and new members get a report. A
// member HSS does not list has its result at once. It holds the new
// membership's keys, and a bit for each, not their reports.
func (r *ImageScanReconciler) fixMembers(ctx context.Context, p *pass, keys []rounds.Key, listed keySet, round int64) error {
	wanted := keySet(keys) // a selector's keys are sorted; an explicit list's are few
	if p.obj.Spec.Selector == nil {
		wanted = slices.SortedFunc(slices.Values(keys), compareKeys)
	}
	// kept[i]: wanted[i] has a report already.
	kept := make([]bool, len(wanted))
	start := func(m *member) {
		switch {
		case !listed.has(m.key):
			m.status = scanv1.ImageReportStatus{Round: round, ScanStatus: scanv1.ScanStatusNotFound, Message: notListed(p.obj.Spec)}
		case m.status.Round >= round:
			// A result of this round number from a start whose status was
			// never saved: that start's view, not this one's.
			m.status = scanv1.ImageReportStatus{}
		}
	}
	err := r.eachPage(ctx, p, func(page []*member) error {
		var gone, stay []*member
		for _, m := range page {
			i, ok := slices.BinarySearchFunc(wanted, m.key, compareKeys)
			// A report is of one kind of repository: one of another kind is
			// another image's, and goes.
			if !ok || m.report.Spec.ImageType != p.obj.Spec.ImageType {
				gone = append(gone, m)
				continue
			}
			kept[i] = true
			start(m)
			stay = append(stay, m)
		}
		if err := r.deleteReports(ctx, gone); err != nil {
			return err
		}
		return r.saveMembers(ctx, p, stay, round)
	})
	if err != nil {
		return err
	}
	var create []*member
	for _, k := range keys {
		if i, _ := slices.BinarySearchFunc(wanted, k, compareKeys); kept[i] {
			continue
		}
		m := &member{key: k}
		start(m)
		create = append(create, m)
		if len(create) == reportPage {
			if err := r.createMembers(ctx, p, create, round); err != nil {
				return err
			}
			create = create[:0]
		}
	}
	return r.createMembers(ctx, p, create, round)
}

// createMembers creates the reports of new members and saves the results
// they already have.
func (r *ImageScanReconciler) createMembers(ctx context.Context, p *pass, ms []*member, round int64) error {
	if err := r.createReports(ctx, p.obj, ms); err != nil {
		return err
	}
	return r.saveMembers(ctx, p, ms, round)
}

// notListed is the message of a member HSS does not list.
func notListed(spec scanv1.ImageScanSpec) string {
	if spec.SyncFromSWR {
		return "HSS does not list this image. " + rounds.SyncMayLag
	}
	return "HSS does not list this image; is it synchronised from SWR?"
}

// restoreMembers makes again the reports of an explicit list's current
// round that were deleted from outside: a member stays one until its round
// ends, and its result is read again from HSS, in a completed round
// reopened for it. It runs after the pass's walk, whose tally says which
// members are present; the restored ones join it as pending. (A selector's
// deleted members are known only by their number; due starts a new round
// for them.)
func (r *ImageScanReconciler) restoreMembers(ctx context.Context, p *pass) error {
	round, t := p.round, p.tally
	if round == nil || t == nil || t.Present == nil || round.Generation != p.obj.Generation {
		return nil
	}
	var lost []*member
	for _, k := range membership(p.obj.Spec, nil) {
		if !t.Present[k] {
			lost = append(lost, &member{key: k})
		}
	}
	if len(lost) == 0 {
		return nil
	}
	p.restored = len(lost)
	if err := r.createReports(ctx, p.obj, lost); err != nil {
		return err
	}
	for _, m := range lost {
		m.countIn(t)
	}
	if rounds.PhaseOf(round) == rounds.Completed {
		round.CompletedAt = nil
	}
	r.Events.Eventf(p.obj, nil, corev1.EventTypeWarning, scanv1.EventReportsDeleted, "Restore", "%s",
		rounds.Truncate(fmt.Sprintf("Round %d: %d reports were deleted from outside; they were made again and their images are read again from HSS",
			round.Round, len(lost)), maxEventNote))
	return nil
}
