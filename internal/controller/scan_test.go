package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

func TestExplicitListScanEndsReadyWithFileStatistics(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "web", 3, nil)
	h.images("team", "web-other", 2, nil) // not asked for

	h.scan("web", scanv1.ImageScanSpec{Images: refs})

	inProgress := h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.LastScanRequest).NotTo(BeNil())
		g.Expect(obj.Status.LastScanRequest.AcceptedAt).NotTo(BeNil())
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonScanning)
		g.Expect(kstatus(g, obj)).To(Equal(status.InProgressStatus))
	})
	h.g.Expect(inProgress.Status.Summary.Pending).To(Equal(int32(3)))

	h.finishScans()
	obj := h.eventually("web", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
		g.Expect(kstatus(g, obj)).To(Equal(status.CurrentStatus))
	})

	h.g.Expect(condition(obj, scanv1.ConditionReconciling)).To(BeNil())
	h.g.Expect(condition(obj, scanv1.ConditionStalled)).To(BeNil())
	h.g.Expect(obj.Status.ObservedGeneration).To(Equal(obj.Generation))
	h.g.Expect(obj.Status.LastCompletionTime).NotTo(BeNil())
	h.g.Expect(obj.Status.Images).To(HaveLen(3))
	for _, e := range obj.Status.Images {
		h.g.Expect(e.Result).To(Equal(scanv1.ResultSucceeded))
		h.g.Expect(e.Report).NotTo(BeEmpty())
	}
	reports := h.reports(h.g, "web")
	h.g.Expect(reports).To(HaveLen(3))
	var files, size int64
	for ref, rep := range reports {
		img, ok := h.sim.Lookup(simulator.TypePrivate, rep.Spec.Image.Namespace, rep.Spec.Image.Name, rep.Spec.Image.Tag)
		h.g.Expect(ok).To(BeTrue())
		h.g.Expect(rep.Spec.ImageScanName).To(Equal("web"))
		h.g.Expect(ref).To(Equal("team/web:" + rep.Spec.Image.Tag))
		h.g.Expect(rep.Status.Round).To(Equal(int64(1)))
		h.g.Expect(rep.Status.ScanStatus).To(Equal("success"))
		h.g.Expect(rep.Status.ImageID).To(Equal(img.ImageID))
		h.g.Expect(*rep.Status.FilesCount).To(Equal(img.FilesNum))
		h.g.Expect(*rep.Status.FilesSize).To(Equal(img.FilesSize))
		h.g.Expect(rep.Status.LastScanTime).NotTo(BeNil())
		files += img.FilesNum
		size += img.FilesSize
	}
	h.g.Expect(obj.Status.Summary).To(Equal(scanv1.ScanSummary{
		Matched: 3, Succeeded: 3, TotalFiles: files, TotalFileSize: size, TotalSize: obj.Status.Summary.TotalSize,
		Findings: scanv1.Findings{Severities: &scanv1.Severities{}, Open: &scanv1.Severities{}}, // no vulnerability, none to read
	}))
	h.g.Expect(h.batchScans()).To(Equal(1))
	h.g.Expect(h.fileStats()).To(Equal(3))
	h.g.Expect(h.scanRequests()[0].named).To(Equal(3))

	var events eventsv1.EventList
	h.g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(h.ns))).To(Succeed())
	reasons := map[string]bool{}
	for _, e := range events.Items {
		reasons[e.Reason] = true
	}
	h.g.Expect(reasons).To(HaveKey("ScanRequested"))
	h.g.Expect(reasons).To(HaveKey("ScanCompleted"))
}

func TestSelectorScanCoversEveryMatchingImage(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	h.images("payments", "api", 4, nil)
	h.images("payments", "worker", 2, nil)
	h.images("other", "api", 3, nil)

	h.scan("payments", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{
		Namespace:    "payments",
		UpdatedAfter: &metav1.Time{Time: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)},
	}})
	h.accepted("payments", 1)
	h.finishScans()
	obj := h.eventually("payments", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	// v0 of each repository was updated on June 1st, before the selector's bound.
	h.g.Expect(obj.Status.Summary.Matched).To(Equal(int32(4)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(4)))
	for _, e := range obj.Status.Images {
		h.g.Expect(e.Namespace).To(Equal("payments"))
		h.g.Expect(e.Tag).NotTo(Equal("v0"))
		h.g.Expect(e.FilesCount).NotTo(BeNil())
	}
	h.g.Expect(h.reports(h.g, "payments")).To(HaveLen(4))
	h.g.Expect(h.batchScans()).To(Equal(1))
	req := h.scanRequests()[0]
	h.g.Expect(req.all).To(BeTrue())
	h.g.Expect(req.namespace).To(Equal("payments"))
	h.g.Expect(req.updatedFrom).To(HaveValue(Equal(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC).UnixMilli())))
	h.g.Expect(h.fileStats()).To(Equal(4))
}

func TestScanSurvivesManagerRestartWithOneBatchScan(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)

	h.restart()
	h.readyInRound("app", 1)
	h.g.Expect(h.batchScans()).To(Equal(1))
	h.g.Expect(h.fileStats()).To(Equal(2))
}

func TestFailedImagesStallTheRoundAndAreNamed(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, func(i int, img *simulator.Image) {
		if i == 1 {
			img.ForcedOutcome = simulator.StatusDownloadFailed
		}
	})
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	h.finishScans()
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonImagesFailed)
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImagesFailed)
		g.Expect(kstatus(g, obj)).To(Equal(status.FailedStatus))
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("team/app:v1"))
	h.g.Expect(obj.Status.Summary.Failed).To(Equal(int32(1)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	h.g.Expect(obj.Status.Images[0].Tag).To(Equal("v1"), "the failed image comes first")
	h.g.Expect(obj.Status.Images[0].Result).To(Equal(scanv1.ResultFailed))
	h.g.Expect(obj.Status.Images[0].ScanStatus).To(Equal("download_failed"))
	h.g.Expect(obj.Status.Images[0].Message).NotTo(BeEmpty())
	h.g.Expect(h.reports(h.g, "app")["team/app:v1"].Status.Message).To(Equal(obj.Status.Images[0].Message))
	h.g.Expect(h.fileStats()).To(Equal(2), "statistics only for successful scans")
}

func TestImagesUnknownToHSSAreReportedNotRetried(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	refs = append(refs, scanv1.ImageReference{Namespace: "team", Name: "app", Tag: "missing"})
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	h.finishScans()
	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonImagesNotFound)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("team/app:missing"))
	h.g.Expect(obj.Status.Summary.NotFound).To(Equal(int32(1)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(1)))
}

func TestSyncFromSWRRevealsImagesBeforeTheRound(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "fresh", 2, func(_ int, img *simulator.Image) { img.Unsynced = true })
	h.scan("fresh", scanv1.ImageScanSpec{Images: refs, SyncFromSWR: true})
	h.accepted("fresh", 1)
	h.finishScans()
	h.eventually("fresh", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
		g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	})
	h.g.Expect(h.sim.Count(h.syncOp(), simulator.OutcomeOK)).To(Equal(1))
}
