package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

// acceptedIDs is how many vulnerabilities the triage scenario's exception
// accepts: those listed in most images.
const acceptedIDs = 10

const triageHeader = "| Images | Exception | Results accepted | Images affected | Time to take effect | Report reads | API writes | HSS calls |\n" +
	"|---:|---|---:|---:|---:|---:|---:|---:|"

// benchTriage measures what an exception costs once a Details round is
// Ready: applying one that accepts the vulnerabilities listed in most
// images, and deleting it, each until the ImageScan counts what it
// accepts. Neither should call HSS.
func benchTriage(s settings) error {
	fmt.Printf("\n## Triage: one exception over many images\n\n%s\n", triageHeader)
	progress("triage: Details selector over %d images, then an exception applied and deleted", s.images)
	images := privateImages("triage", s.images)
	obj := scan("triage", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "triage"}, Vulnerabilities: scanv1.VulnerabilitiesDetails})
	_, err := measure(s, runSpec{images: images, objects: []*scanv1.ImageScan{obj}, imagesEach: s.images,
		after: func(ctx context.Context, r *sandboxRun) error {
			ids := mostListed(r.sb.Simulator, images)
			results, affected, err := listedIn(ctx, r.c, ids)
			if err != nil {
				return err
			}
			exc := &scanv1.VulnerabilityException{
				ObjectMeta: metav1.ObjectMeta{Name: "most-listed", Namespace: sandbox.Namespace},
				Spec: scanv1.VulnerabilityExceptionSpec{Vulnerabilities: ids, Reason: "benchmark",
					ExpiresAt: metav1.NewTime(time.Now().Add(30 * 24 * time.Hour))},
			}
			want := []scanv1.ExceptionUse{{Name: exc.Name, Results: int32(results), Images: int32(affected)}}
			for _, step := range []struct {
				name  string
				do    func() error
				until []scanv1.ExceptionUse
			}{
				{"applied", func() error { return r.c.Create(ctx, exc) }, want},
				{"deleted", func() error { return r.c.Delete(ctx, exc) }, nil},
			} {
				row, err := r.triageStep(ctx, obj, step.do, step.until)
				if err != nil {
					return fmt.Errorf("%s: %w", step.name, err)
				}
				fmt.Printf("| %d | %s | %d | %d | %s |\n", s.images, step.name, results, affected, row)
			}
			return nil
		}})
	return err
}

// triageStep does one change and waits until the ImageScan's
// status.exceptions reads until, then says how long that took and what it
// cost.
func (r *sandboxRun) triageStep(ctx context.Context, obj *scanv1.ImageScan, do func() error, until []scanv1.ExceptionUse) (string, error) {
	r.sb.Simulator.ResetCounts()
	before, err := readWrites(ctx, r.sb.Env.Config)
	if err != nil {
		return "", err
	}
	began := time.Now()
	if err := do(); err != nil {
		return "", err
	}
	for {
		got := &scanv1.ImageScan{}
		if err := r.c.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
			return "", err
		}
		if slices.EqualFunc(got.Status.Exceptions, until, func(a, b scanv1.ExceptionUse) bool {
			return a.Name == b.Name && a.Results == b.Results && a.Images == b.Images
		}) {
			break
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("status.exceptions %v, want %v: %w", got.Status.Exceptions, until, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
	took := time.Since(began)
	after, err := readWrites(ctx, r.sb.Env.Config)
	if err != nil {
		return "", err
	}
	d := after.minus(before)
	calls := 0
	for _, byOutcome := range r.sb.Simulator.Counts() {
		for _, n := range byOutcome {
			calls += n
		}
	}
	return fmt.Sprintf("%s | %d | %d | %d", seconds(took), d.openReportReads, d.total(), calls), nil
}

// mostListed picks the vulnerabilities the images' Reports list most
// often: Critical and High, the default minSeverity.
func mostListed(sim *simulator.Server, images []simulator.Image) []string {
	perID := map[string]int{}
	for _, img := range images {
		img, _ = sim.Lookup(img.Type, img.Namespace, img.Name, img.Tag)
		for _, v := range sim.Vulnerabilities(img) {
			if urgent(sim, *v.VulId) {
				perID[*v.VulId]++
			}
		}
	}
	ids := make([]string, 0, len(perID))
	for id := range perID {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(perID[b]-perID[a], cmp.Compare(a, b)) })
	return ids[:min(len(ids), acceptedIDs)]
}

// listedIn counts the Reports' results of the vulnerabilities ids, and the
// Reports that have any: what an exception of them accepts.
func listedIn(ctx context.Context, c client.Client, ids []string) (results, reports int, err error) {
	next := ""
	for {
		var list openreports.ReportList
		if err := c.List(ctx, &list, client.InNamespace(sandbox.Namespace), client.Limit(200), client.Continue(next)); err != nil {
			return 0, 0, err
		}
		for _, rep := range list.Items {
			n := 0
			for _, res := range rep.Results {
				if slices.Contains(ids, res.Policy) {
					n++
				}
			}
			results += n
			if n > 0 {
				reports++
			}
		}
		if next = list.Continue; next == "" {
			return results, reports, nil
		}
	}
}
