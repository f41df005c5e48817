package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/triage"
)

// reportsGate says whether the cluster serves openreports.io Reports,
// asking discovery at most once a minute: Reports start within a minute of
// the API appearing (its CRD, or reports-server's APIService), and the
// lists go back to the ImageReports once it is gone.
type reportsGate struct {
	disc    discovery.DiscoveryInterface
	mu      sync.Mutex
	served  bool
	checked time.Time
}

const reportsRecheck = time.Minute

func (g *reportsGate) serves(now time.Time) bool {
	if g == nil || g.disc == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.checked.IsZero() && now.Sub(g.checked) < reportsRecheck && !now.Before(g.checked) {
		return g.served
	}
	g.checked = now
	list, err := g.disc.ServerResourcesForGroupVersion(openreports.SchemeGroupVersion.String())
	g.served = err == nil && slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == "reports" })
	return g.served
}

// forget makes the next caller ask discovery again: a write found the API
// gone.
func (g *reportsGate) forget() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checked, g.served = time.Time{}, false
}

// publish moves a list just read to the image's Report, marked by the
// exceptions that match the image, or withdraws a Report whose result is
// gone (reportStepOf), or marks a Report's results again when those
// exceptions changed, before m's ImageReport is written with the link.
// Where Reports are not served the list stays in the ImageReport.
func (r *ImageScanReconciler) publish(ctx context.Context, p *pass, m *member) error {
	if !r.reports.serves(r.Clock.Now()) {
		if m.status.Vulnerabilities != nil {
			m.status.OpenReport = nil
		}
		return nil
	}
	switch reportStepOf(m.status, m.written) {
	case keepReport:
		m.status.OpenReport = m.written.OpenReport
		if m.status.OpenReport != nil && stale(m.written, p.rulesFor(m.key).Key()) {
			return r.remarkOpenReport(ctx, p, m)
		}
	case withdrawReport:
		old := &openreports.Report{ObjectMeta: metav1.ObjectMeta{Name: m.written.OpenReport.Name, Namespace: m.report.Namespace}}
		if err := r.Delete(ctx, old); client.IgnoreNotFound(err) != nil && !meta.IsNoMatchError(err) {
			return fmt.Errorf("delete Report %s: %w", old.Name, err)
		}
		m.status.OpenReport = nil
	case publishReport:
		link, err := r.writeOpenReport(ctx, p, m)
		if err != nil || link == nil {
			return err // nil link: the API went away; the list stays here
		}
		m.status.OpenReport, m.status.Vulnerabilities, m.status.VulnerabilitiesOmitted = link, nil, 0
	}
	return nil
}

// writeOpenReport writes m's list as its Report, marked, unless the
// Report already says the same under the same exceptions: its link's
// digest is of the list as HSS gave it, so a rescan that finds the same
// costs no read of the Report. When the API server refuses it (too large
// for it or for etcd, or denied by a policy), the lowest severity is
// dropped and counted as omitted, until it is taken or nothing is left.
func (r *ImageScanReconciler) writeOpenReport(ctx context.Context, p *pass, m *member) (*scanv1.OpenReportLink, error) {
	s := &m.status
	list, omitted, lowest := s.Vulnerabilities, s.VulnerabilitiesOmitted, minSeverityOf(p.obj.Spec)
	rules := p.rulesFor(m.key)
	digest := digestOf(openReportOf(m.report, list, omitted, lowest))
	if old := m.written.OpenReport; old != nil && old.Digest == digest && !stale(m.written, rules.Key()) {
		// The same results under the same exceptions: nothing is new
		// unless this round already found it.
		f, was := ownFindings(s), m.written.Findings
		if f.Accepted, f.New = nil, nil; was != nil {
			f.Accepted = was.Accepted
			if m.written.Round == s.Round {
				f.New = was.New
			}
		}
		f.Open, s.Triage = triage.Open(f.Severities, ptrValue(f.Accepted)), m.written.Triage
		return old, nil
	}
	sameImage := m.written.ImageID == s.ImageID
	seen := seenOfList(m.previous, sameImage)
	if m.written.OpenReport != nil {
		old, err := r.readOpenReport(ctx, m.report.Namespace, m.written.OpenReport.Name)
		if err != nil {
			return nil, err
		}
		seen = seenOfResults(ptrValue(old).Results, sameImage)
	}
	fs := findingsOfList(list)
	out, pending := r.mark(ctx, p, m, fs, seen)
	applyToList(list, fs)
	setTriage(s, rules.Key(), out, pending)
	for {
		rep := openReportOf(m.report, list, omitted, lowest)
		link := &scanv1.OpenReportLink{Name: rep.Name, Results: int32(len(rep.Results)), Digest: digest}
		link.Omitted = omitted + int32(len(list)-len(rep.Results))
		err := r.saveOpenReport(ctx, m.report, rep, m.written.OpenReport == nil)
		switch {
		case err == nil:
			return link, nil
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			r.reports.forget()
			return nil, nil
		case !unwritable(err) || len(list) == 0:
			return nil, fmt.Errorf("write Report %s: %w", rep.Name, err)
		}
		var dropped int32
		list, dropped = withoutLeastUrgent(list)
		omitted += dropped
	}
}

// remarkOpenReport marks the results of m's Report again, for the
// exceptions that match the image now, and counts them. A Report gone
// from outside leaves the counts as they were, until the next round.
func (r *ImageScanReconciler) remarkOpenReport(ctx context.Context, p *pass, m *member) error {
	rep, err := r.readOpenReport(ctx, m.report.Namespace, m.written.OpenReport.Name)
	if err != nil || rep == nil {
		return err
	}
	fs := findingsOfResults(rep.Results)
	out, pending := r.mark(ctx, p, m, fs, nil)
	applyToResults(rep.Results, fs)
	rep.Summary = summaryOf(rep.Results)
	if err := r.saveOpenReport(ctx, m.report, rep, false); err != nil {
		return fmt.Errorf("write Report %s: %w", rep.Name, err)
	}
	setTriage(&m.status, p.rulesFor(m.key).Key(), out, pending)
	return nil
}

// readOpenReport reads a Report from the API server; nil when it is gone.
func (r *ImageScanReconciler) readOpenReport(ctx context.Context, namespace, name string) (*openreports.Report, error) {
	rep := &openreports.Report{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, rep)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Report %s: %w", name, err)
	}
	return rep, nil
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// saveOpenReport creates or replaces rep, owned by the ImageReport: a
// creation when none is known (fresh), else one merge patch of everything
// it says; either falls back to the other when the server says so. The
// manager never reads Reports back, so none is cached.
func (r *ImageScanReconciler) saveOpenReport(ctx context.Context, owner *scanv1.ImageReport, rep *openreports.Report, fresh bool) error {
	if err := controllerutil.SetControllerReference(owner, rep, r.Scheme()); err != nil {
		return err
	}
	annotations := map[string]any{scanv1.AnnotationResultsOmitted: nil} // nil clears an earlier count
	for k, v := range rep.Annotations {
		annotations[k] = v
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"labels": rep.Labels, "annotations": annotations, "ownerReferences": rep.OwnerReferences},
		"source":   rep.Source, "scope": rep.Scope, "configuration": rep.Configuration, "summary": rep.Summary, "results": rep.Results,
	})
	if err != nil {
		return err
	}
	patch := func() error { return r.Patch(ctx, rep.DeepCopy(), client.RawPatch(types.MergePatchType, body)) }
	if fresh {
		if err = r.Create(ctx, rep.DeepCopy()); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return patch()
	}
	if err = patch(); apierrors.IsNotFound(err) {
		err = r.Create(ctx, rep)
	}
	return err
}
