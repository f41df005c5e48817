package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// table prints ImageScans as `kubectl get imagescans -w` would: the header
// once, then a row per call, in fixed-width columns.
type table struct {
	w         io.Writer
	nameWidth int
}

const rowFormat = "%-*s  %-13s  %6s  %9s  %6s  %8s  %8s  %5s  %-7s  %-40s  %s\n"

func newTable(w io.Writer) *table { return &table{w: w} }

func (t *table) row(obj *scanv1.ImageScan) {
	if t.nameWidth == 0 {
		t.nameWidth = max(len(obj.Name), len("NAME"))
		fmt.Fprintf(t.w, rowFormat, t.nameWidth, "NAME", "TYPE", "IMAGES", "SUCCEEDED", "FAILED", "FILES", "SIZE", "VULNS", "READY", "STATUS", "AGE")
	}
	s := obj.Status.Summary
	var ready, msg string
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, scanv1.ConditionReady); c != nil {
		ready, msg = string(c.Status), c.Message
	}
	fmt.Fprintf(t.w, rowFormat, t.nameWidth, obj.Name, obj.Spec.ImageType,
		itoa(int64(s.Matched)), itoa(int64(s.Succeeded)), itoa(int64(s.Failed)), itoa(s.TotalFiles), s.TotalSize,
		itoa(s.Vulnerabilities), ready, truncate(msg, 40), duration.HumanDuration(time.Since(obj.CreationTimestamp.Time)))
}

// printImages lists the per-image results of the last round.
func printImages(w io.Writer, obj *scanv1.ImageScan) {
	round := int64(0)
	if obj.Status.LastScanRequest != nil {
		round = obj.Status.LastScanRequest.Round
	}
	fmt.Fprintf(w, "\nImages of imagescan %s/%s, round %d:\n", obj.Namespace, obj.Name, round)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	messages := slices.ContainsFunc(obj.Status.Images, func(e scanv1.ImageResult) bool { return e.Message != "" })
	fmt.Fprint(tw, "  IMAGE\tSTATUS\tFILES\tSIZE\tVULNS\tMALICIOUS\tUNSAFE")
	if messages {
		fmt.Fprint(tw, "\tMESSAGE")
	}
	fmt.Fprintln(tw)
	for _, e := range obj.Status.Images {
		files, size := "-", "-"
		if e.FilesCount != nil {
			files = itoa(*e.FilesCount)
		}
		if e.FilesSize != nil {
			size = controller.HumanBytes(*e.FilesSize)
		}
		vulns, malicious, unsafe := "-", "-", "-"
		if f := e.Findings; f != nil {
			vulns, malicious, unsafe = itoa(f.Vulnerabilities), itoa(f.MaliciousFiles), itoa(f.UnsafeSettings)
		}
		fmt.Fprintf(tw, "  %s/%s:%s\t%s\t%s\t%s\t%s\t%s\t%s", e.Namespace, e.Name, e.Tag, e.ScanStatus, files, size, vulns, malicious, unsafe)
		if messages {
			fmt.Fprintf(tw, "\t%s", e.Message)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	if n := obj.Status.ImagesOmitted; n > 0 {
		fmt.Fprintf(w, "  (%d more images counted in the summary only)\n", n)
	}
}

// printCalls lists the requests the simulator answered, by operation and
// outcome.
func printCalls(w io.Writer, sim *simulator.Server) {
	fmt.Fprintln(w, "\nHSS calls answered by the simulator:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  OPERATION\tOUTCOME\tCALLS")
	counts := sim.Counts()
	for _, op := range slices.Sorted(maps.Keys(counts)) {
		for _, outcome := range slices.Sorted(maps.Keys(counts[op])) {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", op, outcome, counts[op][outcome])
		}
	}
	_ = tw.Flush()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// truncate keeps a table cell to n characters, as kubectl's columns do not.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
