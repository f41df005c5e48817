package controller

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// reportWriters bounds the report writes of one pass in flight at once.
const reportWriters = 8

func keyOfReport(rep *scanv1.ImageReport) rounds.Key { return rounds.KeyOfRef(rep.Spec.Image) }

// newReport is a member's report as created: who it is about, controlled by
// the ImageScan. Its status comes with its first result.
func (r *ImageScanReconciler) newReport(obj *scanv1.ImageScan, k rounds.Key) (*scanv1.ImageReport, error) {
	rep := &scanv1.ImageReport{
		ObjectMeta: metav1.ObjectMeta{
			Name: rounds.ReportName(obj.Name, obj.Spec.ImageType, k), Namespace: obj.Namespace, Labels: rounds.ReportLabels(obj.Name, k),
		},
		Spec: scanv1.ImageReportSpec{
			ImageScanName: obj.Name, ImageType: obj.Spec.ImageType, Reference: k.String(),
			Image: scanv1.ImageReference{Namespace: k.Namespace, Name: k.Name, Tag: k.Tag, InstanceID: k.InstanceID},
		},
	}
	for _, ref := range obj.Spec.Images {
		if rounds.KeyOfRef(ref) == k {
			rep.Spec.Image.InstanceURL = ref.InstanceURL
		}
	}
	if err := controllerutil.SetControllerReference(obj, rep, r.Scheme()); err != nil {
		return nil, err
	}
	return rep, nil
}

// createReports creates the reports of new members, a few at a time.
func (r *ImageScanReconciler) createReports(ctx context.Context, obj *scanv1.ImageScan, ms []*member) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reportWriters)
	for _, m := range ms {
		g.Go(func() error {
			rep, err := r.newReport(obj, m.key)
			if err != nil {
				return err
			}
			if err := r.createReport(gctx, obj, rep); err != nil {
				if quotaExceeded(err) {
					return stalled(scanv1.ReasonReportQuotaExceeded,
						"the namespace's ResourceQuota allows no more ImageReports (one per image) and this ImageScan needs %d more; "+
							"ask the platform team to raise count/imagereports.scan.hss.dev, or scan fewer images", len(ms))
				}
				return fmt.Errorf("create ImageReport %s: %w", rep.Name, err)
			}
			m.report, m.written = rep, rep.Status
			if equality.Semantic.DeepEqual(m.status, scanv1.ImageReportStatus{}) {
				m.status = rep.Status // a report taken over keeps its result
			}
			return nil
		})
	}
	return g.Wait()
}

// quotaExceeded: the API server refused a creation because a
// ResourceQuota of the namespace is used up.
func quotaExceeded(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota")
}

// createReport creates rep. A report of that name left by an earlier
// ImageScan of the same name (the garbage collector has yet to remove it)
// is deleted first; one of this ImageScan, made meanwhile (a restore racing
// a round's start), is taken as it is.
func (r *ImageScanReconciler) createReport(ctx context.Context, obj *scanv1.ImageScan, rep *scanv1.ImageReport) error {
	err := r.Create(ctx, rep)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	old := &scanv1.ImageReport{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rep), old); err != nil {
		return err
	}
	if ownedBy(old, obj) {
		*rep = *old
		return nil
	}
	if err := r.Delete(ctx, old, client.Preconditions{UID: &old.UID}); client.IgnoreNotFound(err) != nil {
		return err
	}
	return r.Create(ctx, rep)
}

// deleteReports deletes the reports of images that left the ImageScan.
func (r *ImageScanReconciler) deleteReports(ctx context.Context, ms []*member) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reportWriters)
	for _, m := range ms {
		g.Go(func() error {
			uid := m.report.UID
			err := r.Delete(gctx, m.report, client.Preconditions{UID: &uid})
			if client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete ImageReport %s: %w", m.report.Name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// saveMembers writes the report of each of ms whose status the pass
// changed, as a merge patch of the difference, once triage has brought its
// counts up to date with the exceptions: a rescan with the same result
// writes a report once, for its new round and scan time. A member
// only waiting for its statistics or vulnerabilities is not written until
// they come, or a read fails. Once written, a member lets go of its
// vulnerability list: the server holds it, and nothing reads it back.
func (r *ImageScanReconciler) saveMembers(ctx context.Context, p *pass, ms []*member, round int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reportWriters)
	for _, m := range ms {
		r.triageMember(ctx, p, m)
		if m.report == nil || equality.Semantic.DeepEqual(m.status, m.written) {
			continue
		}
		// A scan whose statistics or vulnerabilities are still to come is
		// written with them, unless a failed read must be counted.
		if m.status.Round == round && rounds.StateOf(m.status, round) == scanv1.ResultPending &&
			m.status.StatisticsAttempts == m.written.StatisticsAttempts && m.status.DetailAttempts == m.written.DetailAttempts {
			continue
		}
		g.Go(func() error {
			err := r.writeReport(gctx, p, m)
			if unwritable(err) && m.status.Round == round {
				// The API server will not hold this result: it is the
				// image's failure, named, and the round goes on.
				m.status = refusedReport(m.status, err)
				err = r.writeReport(gctx, p, m)
			}
			return err
		})
	}
	return g.Wait()
}

// writeReport patches m's report from what was last written to its status,
// once its OpenReports Report says what the status links to (publish).
func (r *ImageScanReconciler) writeReport(ctx context.Context, p *pass, m *member) error {
	if err := r.publish(ctx, p, m); err != nil {
		return err
	}
	m.status.EndedRound = endedRound(m.status)
	base := *m.report // a shallow copy, whose status is replaced
	base.Status = m.written
	if m.listElsewhere && base.Status.Vulnerabilities == nil {
		// The server holds a list this manager let go of: a base with one
		// makes the patch replace it, or clear it.
		base.Status.Vulnerabilities = []scanv1.Vulnerability{{}}
	}
	next := base.DeepCopy()
	next.Status = m.status
	if err := r.Status().Patch(ctx, next, client.MergeFrom(&base)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile: the image left the round
		}
		return fmt.Errorf("write ImageReport %s: %w", next.Name, err)
	}
	m.saved()
	return nil
}

// endedRound is s.EndedRound as it must be written: its round once its
// result is final, else none.
func endedRound(s scanv1.ImageReportStatus) int64 {
	if s.Round == 0 || rounds.StateOf(s, s.Round) == scanv1.ResultPending {
		return 0
	}
	return s.Round
}

// unwritable: the API server refused a report's content (invalid, too
// large for it or for etcd, or denied by admission), so writing the same
// again would fail again.
func unwritable(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsForbidden(err) || apierrors.IsInternalError(err) && tooLargeForEtcd(err)
}

// tooLargeForEtcd: etcd refused the object's size, in the words its server
// ("request is too large") or its gRPC transport ("larger than max") use.
func tooLargeForEtcd(err error) bool {
	return strings.Contains(err.Error(), "request is too large") || strings.Contains(err.Error(), "larger than max")
}

// refusedReport is the result of an image whose report the API server
// refused: failed, with the refusal, and nothing of what could not be held.
func refusedReport(s scanv1.ImageReportStatus, err error) scanv1.ImageReportStatus {
	return scanv1.ImageReportStatus{
		Round: s.Round, ImageID: s.ImageID, Digest: s.Digest, ScanStatus: hss.StatusFailed, LastScanTime: s.LastScanTime,
		Message: rounds.Truncate("HSS's result for this image could not be saved: "+err.Error(), maxReportMessage),
	}
}

// maxReportMessage bounds a report's message written by the manager.
const maxReportMessage = 1024
