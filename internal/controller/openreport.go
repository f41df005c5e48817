package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// What an image's OpenReports Report holds, and how it is written, without
// an API server: which step a status to be saved takes, and the Report.

// reportStep is what a status about to be saved does to the image's Report.
type reportStep int

const (
	// keepReport: the Report, if any, stays as it is.
	keepReport reportStep = iota
	// publishReport: a vulnerability list was just read; it goes to the
	// Report, not the ImageReport.
	publishReport
	// withdrawReport: the image's result has no list to show any more (a
	// failed or vanished scan, a new scan without vulnerabilities, another
	// spec.vulnerabilities): its Report goes.
	withdrawReport
)

// reportStepOf decides from the status to be saved and the one last saved,
// whose openReport names the Report that exists.
func reportStepOf(s, written scanv1.ImageReportStatus) reportStep {
	switch {
	case s.Vulnerabilities != nil:
		return publishReport
	case written.OpenReport == nil, rounds.StateOf(s, s.Round) == scanv1.ResultPending:
		return keepReport
	case s.ScanStatus == hss.StatusSuccess && s.Detail == scanv1.VulnerabilitiesDetails &&
		written.Round == s.Round && written.Detail == scanv1.VulnerabilitiesDetails:
		return keepReport // published when this round's list was read
	}
	return withdrawReport
}

// maxReportResults bounds a Report's results, as Kyverno splits its
// reports at 1,000; the byte bound of the kept list comes first in practice.
const maxReportResults = 1000

// Bounds of what a result repeats of its vulnerability: a title, not the
// description, and a few CVE IDs, not their texts. The catalogue and the
// link hold the rest once. A path keeps its last maxResultPath bytes, which
// name the file.
const (
	maxResultMessage = 200
	maxResultCVEs    = 10
	maxResultPath    = 128
)

// reportCategory is every result's category; managedBy marks the Reports
// this controller writes.
const (
	reportCategory = "Vulnerability Scan"
	managedBy      = "imagescan-operator"
)

// openReportOf is the Report of a report's image holding list, most urgent
// first, of severity lowest and above, and saying how many more were left
// out. Listing critical and high ones only, it says that it holds only
// failures (limits.statusFilter). It names nothing of the round (no scan
// time), so that a rescan with the same results is the same Report.
func openReportOf(rep *scanv1.ImageReport, list []scanv1.Vulnerability, omitted int32, lowest scanv1.Severity) *openreports.Report {
	if len(list) > maxReportResults {
		omitted += int32(len(list) - maxReportResults)
		list = list[:maxReportResults]
	}
	out := &openreports.Report{
		TypeMeta: metav1.TypeMeta{APIVersion: openreports.SchemeGroupVersion.String(), Kind: "Report"},
		ObjectMeta: metav1.ObjectMeta{
			Name: rep.Name, Namespace: rep.Namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": managedBy},
		},
		Source: scanv1.ReportSource,
		Scope: &corev1.ObjectReference{
			APIVersion: scanv1.GroupVersion.String(), Kind: "ImageReport", Namespace: rep.Namespace, Name: rep.Name, UID: rep.UID,
		},
		Configuration: &openreports.ReportConfiguration{Limits: openreports.Limits{MaxResults: maxReportResults}},
		Results:       make([]openreports.ReportResult, 0, len(list)),
	}
	if lowest == scanv1.SeverityCritical || lowest == scanv1.SeverityHigh {
		out.Configuration.Limits.StatusFilter = []openreports.StatusFilter{"fail"}
	}
	for k, v := range rep.Labels {
		out.Labels[k] = v
	}
	if omitted > 0 {
		out.Annotations = map[string]string{scanv1.AnnotationResultsOmitted: strconv.Itoa(int(omitted))}
	}
	for _, v := range list {
		out.Results = append(out.Results, resultOfVulnerability(v))
	}
	out.Summary = summaryOf(out.Results)
	return out
}

// resultOfVulnerability maps one vulnerability as peers do: the ID is the
// policy, critical and high fail, medium and low warn; one an exception
// accepts is skipped, and names it.
func resultOfVulnerability(v scanv1.Vulnerability) openreports.ReportResult {
	message := v.Title
	if message == "" {
		message = v.Description
	}
	props := map[string]string{}
	for k, val := range map[string]string{
		"package": v.Package, "installedVersion": v.Version, "path": pathTail(v.Path), "layer": shortDigest(v.Layer),
		"cvss": v.CVSS, "url": v.URL, "cves": cveIDs(v.CVEs),
	} {
		if val != "" {
			props[k] = val
		}
	}
	r := openreports.ReportResult{
		Source: scanv1.ReportSource, Policy: v.ID, Category: reportCategory,
		Severity:    openreports.ResultSeverity(strings.ToLower(string(v.Severity))),
		Description: rounds.Truncate(message, maxResultMessage), Properties: props,
	}
	setResultTriage(&r, v.Severity, v.AcceptedBy, v.FirstSeenRound, timeText(v.FirstSeen), v.IgnoredInHSS)
	return r
}

// pathTail is a path's last maxResultPath bytes, marked as cut.
func pathTail(p string) string {
	if len(p) <= maxResultPath {
		return p
	}
	cut := len(p) - (maxResultPath - len("..."))
	for cut < len(p) && !utf8.RuneStart(p[cut]) {
		cut++
	}
	return "..." + p[cut:]
}

// shortDigest is a layer's digest as people quote it: its algorithm and
// the first 12 hex digits, enough to tell an image's layers apart.
func shortDigest(d string) string {
	algo, hexDigits, ok := strings.Cut(d, ":")
	if !ok || len(hexDigits) <= 12 {
		return d
	}
	return algo + ":" + hexDigits[:12]
}

// cveIDs lists a vulnerability's CVE IDs, at most maxResultCVEs and how
// many more.
func cveIDs(cves []scanv1.CVE) string {
	ids := make([]string, 0, min(len(cves), maxResultCVEs)+1)
	for _, c := range cves[:min(len(cves), maxResultCVEs)] {
		ids = append(ids, c.ID)
	}
	if n := len(cves) - maxResultCVEs; n > 0 {
		ids = append(ids, "+"+strconv.Itoa(n)+" more")
	}
	return strings.Join(ids, ",")
}

// digestOf identifies what a Report says: its results and what it left out.
func digestOf(rep *openreports.Report) string {
	b, _ := json.Marshal(struct { // cannot fail: strings and numbers
		Results []openreports.ReportResult
		Omitted string
	}{rep.Results, rep.Annotations[scanv1.AnnotationResultsOmitted]})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// withoutLeastUrgent drops the entries of the lowest severity in list (most
// urgent first), for a Report the API server would not take.
func withoutLeastUrgent(list []scanv1.Vulnerability) ([]scanv1.Vulnerability, int32) {
	if len(list) == 0 {
		return list, 0
	}
	lowest := list[len(list)-1].Severity
	keep := slices.IndexFunc(list, func(v scanv1.Vulnerability) bool { return v.Severity == lowest })
	return list[:keep], int32(len(list) - keep)
}
