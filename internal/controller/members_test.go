package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// largeRound bounds the wait for a round of a thousand images and more: a
// bound, not a speed, so that a loaded machine does not fail the test.
const largeRound = 2 * time.Minute

// Every member of a round is a report, whatever the count: the round is
// Ready only when each has ended, also across a manager restart.
func TestASelectorOverThousandsOfImagesHasAReportEachAndWaitsForEveryMember(t *testing.T) {
	var r *controller.ImageScanReconciler // the running manager's
	h := newHarnessWith(t, simulator.Config{}, func(_ *harness, got *controller.ImageScanReconciler) { r = got })
	h.createSecret(validSecret())
	const n = 2500
	slow := map[string]bool{"v7": true, "v1500": true, "v2499": true}
	h.images("team", "app", n, func(_ int, img *simulator.Image) {
		if slow[img.Tag] {
			img.ScanDuration = 10 * time.Minute
		}
	})
	h.scan("wide", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("wide", 1)
	h.g.Expect(h.reports(h.g, "wide")).To(HaveLen(n))

	h.restart() // the new manager resumes from the reports
	unendedBefore := reportsWalked(h.g, "unended")
	h.finishScans()
	h.eventuallyWithin(largeRound, "wide", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(n - len(slow))))
	})
	h.g.Consistently(func(g Gomega) {
		obj := h.get("wide")
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonScanning)
		g.Expect(obj.Status.Summary.Pending).To(Equal(int32(len(slow))))
	}, 500*time.Millisecond, 50*time.Millisecond).Should(Succeed())

	h.simClock.Step(10 * time.Minute)
	obj := h.eventuallyWithin(largeRound, "wide", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(n)))
	reports := h.reports(h.g, "wide")
	h.g.Expect(reports).To(HaveLen(n))
	var files, size int64
	for ref, rep := range reports {
		h.g.Expect(rep.Status.Round).To(Equal(int64(1)), ref)
		h.g.Expect(rep.Status.EndedRound).To(Equal(int64(1)), ref)
		h.g.Expect(rep.Status.FilesCount).NotTo(BeNil(), ref)
		files += *rep.Status.FilesCount
		size += *rep.Status.FilesSize
	}
	h.g.Expect(obj.Status.Summary.TotalFiles).To(Equal(files))
	h.g.Expect(obj.Status.Summary.TotalFileSize).To(Equal(size))
	h.g.Expect(h.fileStats()).To(Equal(n), "one statistics call per member")
	h.g.Expect(h.batchScans()).To(Equal(1), "the restart sent no second batch-scan")
	h.g.Expect(reportsWalked(h.g, "unended")).To(BeNumerically(">", unendedBefore),
		"passes between counts read only the members still to end")
	h.g.Expect(r.CacheSizes().Counts).To(BeZero(), "a completed round's last count is not kept")
}

// A selector's members are fixed when its round starts. Another ImageScan
// rescanning a non-member of the same organisation during the round adds
// nothing to it, and a member still scanning holds it.
func TestScansOfNonMembersNeverCount(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	outsider := h.images("team", "tools", 1, func(_ int, img *simulator.Image) { img.FilesNum, img.FilesSize = 7, 7<<30 })
	h.scan("outsider", scanv1.ImageScanSpec{Images: outsider})
	h.readyInRound("outsider", 1) // no longer unscan: not a member of the selector below

	const n = 1003
	h.images("team", "app", n, func(_ int, img *simulator.Image) {
		if img.Tag == "v999" {
			img.ScanDuration = 10 * time.Minute
		}
	})
	h.scan("unscanned", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team", ScanStatus: "unscan"}})
	h.accepted("unscanned", 1)
	h.clock.Step(scanv1.MinRescanInterval)
	h.update("outsider", func(o *scanv1.ImageScan) {
		o.Annotations = map[string]string{scanv1.RescanAnnotation: "during"}
	})
	h.readyInRound("outsider", 2) // finishes every scan but v999's
	h.eventuallyWithin(largeRound, "unscanned", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(n - 1)))
	})
	h.g.Consistently(func(g Gomega) {
		obj := h.get("unscanned")
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionUnknown, scanv1.ReasonScanning)
		g.Expect(obj.Status.Summary.Matched).To(Equal(int32(n)))
		g.Expect(obj.Status.Summary.Pending).To(Equal(int32(1)))
	}, 500*time.Millisecond, 50*time.Millisecond).Should(Succeed())

	h.simClock.Step(10 * time.Minute)
	obj := h.eventuallyWithin(largeRound, "unscanned", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
	})
	reports := h.reports(h.g, "unscanned")
	h.g.Expect(reports).To(HaveLen(n))
	h.g.Expect(reports).NotTo(HaveKey("team/tools:v0"))
	var size int64
	for _, rep := range reports {
		size += *rep.Status.FilesSize
	}
	h.g.Expect(obj.Status.Summary.TotalFileSize).To(Equal(size), "the outsider's 7 GiB are not counted")
}

// The statistics bound holds for every member: a malformed answer is tried
// three times, counted on the report, and the round then completes.
func TestUnreadableStatisticsAreTriedThreeTimesForAnyMember(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	const n = 1003
	h.images("team", "app", n, func(_ int, img *simulator.Image) { img.MalformedStats = img.Tag == "v999" })
	h.scan("wide", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("wide", 1)
	h.finishScans()
	obj := h.eventuallyWithin(largeRound, "wide", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonStatsUnavailable)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("team/app:v999"))
	h.g.Expect(obj.Status.Images[0].Tag).To(Equal("v999"), "the image that needs attention comes first")
	bad := h.reports(h.g, "wide")["team/app:v999"]
	h.g.Expect(bad.Status.StatisticsAttempts).To(Equal(int32(scanv1.MaxReadAttempts)))
	want := n - 1 + scanv1.MaxReadAttempts
	h.g.Expect(h.sim.Count(simulator.OpFileStats, simulator.OutcomeOK)).To(Equal(want))
	h.g.Consistently(func() int { return h.sim.Count(simulator.OpFileStats, simulator.OutcomeOK) }, time.Second, 50*time.Millisecond).
		Should(Equal(want), "no call after the third")
}

// A member HSS stops listing ends the round as not found, not as success.
func TestAMemberHSSStopsListingIsNotFound(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	const n = 1003
	h.images("team", "app", n, func(_ int, img *simulator.Image) {
		if img.Tag == "v999" {
			img.ScanDuration = time.Hour
		}
	})
	h.scan("wide", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("wide", 1)
	h.finishScans()
	h.eventuallyWithin(largeRound, "wide", func(g Gomega, obj *scanv1.ImageScan) {
		g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(n - 1)))
	})
	h.g.Expect(h.sim.RemoveImage(simulator.TypePrivate, "team", "app", "v999")).To(BeTrue())
	h.clock.Step(31 * time.Minute) // past the start timeout: the full walk
	obj := h.eventuallyWithin(largeRound, "wide", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonImagesNotFound)
	})
	h.g.Expect(obj.Status.Summary.Pending).To(BeZero())
	h.g.Expect(obj.Status.Summary.NotFound).To(Equal(int32(1)))
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring("team/app:v999"))
	h.g.Expect(h.reports(h.g, "wide")["team/app:v999"].Status.ScanStatus).To(Equal(scanv1.ScanStatusNotFound))
}

// One failed image among a thousand is named in the condition and the
// event, and listed first in status.
func TestOneFailedImageAmongAThousandIsNamed(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	const n = 1003
	h.images("team", "app", n, func(_ int, img *simulator.Image) {
		if img.Tag == "v999" {
			img.ForcedOutcome = simulator.StatusDownloadFailed
		}
	})
	h.scan("wide", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.accepted("wide", 1)
	h.finishScans()
	obj := h.eventuallyWithin(largeRound, "wide", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonImagesFailed)
	})
	msg := condition(obj, scanv1.ConditionReady).Message
	h.g.Expect(msg).To(HavePrefix("1 of 1003 images failed to scan: team/app:v999 (Failed to download"))
	h.g.Expect(obj.Status.Images[0]).To(HaveField("Tag", "v999"))
	h.g.Expect(obj.Status.Images[0]).To(HaveField("Result", scanv1.ResultFailed))
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.eventNotes(g, scanv1.ReasonImagesFailed)).To(ContainElement(ContainSubstring("team/app:v999")))
	}, 10*time.Second).Should(Succeed())
}

// A thousand images whose names are at the CRD's maximum lengths are
// admitted, and the ImageScan still gets its status: status.images is
// bounded by bytes, not by count.
func TestAThousandImagesAtMaximumNameLengthsGetAStatus(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	org, repo := strings.Repeat("o", 256), strings.Repeat("r", 128)
	refs := h.images(org, repo, scanv1.MaxImages, func(i int, img *simulator.Image) {
		img.Tag = fmt.Sprintf("%s%04d", strings.Repeat("t", 60), i)
		if i%100 == 0 {
			img.ForcedOutcome = simulator.StatusFailed
		}
	})
	h.scan("long", scanv1.ImageScanSpec{Images: refs})
	h.accepted("long", 1)
	h.finishScans()
	obj := h.eventuallyWithin(largeRound, "long", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonImagesFailed)
	})
	h.g.Expect(obj.Status.Summary.Matched).To(Equal(int32(scanv1.MaxImages)))
	h.g.Expect(obj.Status.Summary.Failed).To(Equal(int32(10)))
	msg := condition(obj, scanv1.ConditionReady).Message
	h.g.Expect(msg).To(HavePrefix("10 of 1000 images failed to scan: " + org + "/" + repo + ":"))
	h.g.Expect(msg).To(HaveSuffix(" and 9 more"), "one name at its maximum length, and the rest counted")
	h.g.Expect(obj.Status.Images).NotTo(BeEmpty())
	for _, e := range obj.Status.Images[:10] {
		h.g.Expect(e.Result).To(Equal(scanv1.ResultFailed), "the failed images come first")
	}
	images, err := json.Marshal(obj.Status.Images)
	h.g.Expect(err).NotTo(HaveOccurred())
	h.g.Expect(len(images)).To(BeNumerically("<=", scanv1.MaxStatusImagesBytes))
	whole, err := json.Marshal(obj)
	h.g.Expect(err).NotTo(HaveOccurred())
	h.g.Expect(len(whole)).To(BeNumerically("<", 1<<20), "far below etcd's 1.5 MiB")
	h.g.Expect(h.reports(h.g, "long")).To(HaveLen(scanv1.MaxImages))
}

// A rescan of images whose image IDs did not change keeps their statistics:
// no statistics call, and one status write per report for its new round.
func TestARescanOfUnchangedImagesReadsNoStatistics(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	const n = 50
	h.images("team", "app", n, nil)
	h.scan("app", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.readyInRound("app", 1)
	h.g.Expect(h.fileStats()).To(Equal(n))
	before := h.reports(h.g, "app")

	writes := h.recordReportWrites()
	h.requestRescan("app")
	obj := h.readyInRound("app", 2)
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(n)))
	h.g.Expect(h.fileStats()).To(Equal(n), "no statistics call in round 2")
	after := h.reports(h.g, "app")
	for ref, rep := range after {
		h.g.Expect(rep.Status.Round).To(Equal(int64(2)))
		h.g.Expect(rep.Status.FilesSize).To(Equal(before[ref].Status.FilesSize))
		h.g.Expect(rep.Status.LastScanTime.After(before[ref].Status.LastScanTime.Time)).To(BeTrue())
	}
	h.g.Eventually(func() map[watch.EventType]int { return writes() }, 10*time.Second).
		Should(Equal(map[watch.EventType]int{watch.Modified: n}), "one write per report, no creation")
}

// recordReportWrites counts the namespace's ImageReport watch events by
// type from now on.
func (h *harness) recordReportWrites() func() map[watch.EventType]int {
	h.t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	h.g.Expect(err).NotTo(HaveOccurred())
	var list scanv1.ImageReportList
	h.g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(h.ns))).To(Succeed())
	// From the list's version: only what happens after it.
	w, err := wc.Watch(context.Background(), &scanv1.ImageReportList{}, client.InNamespace(h.ns),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	h.g.Expect(err).NotTo(HaveOccurred())
	h.t.Cleanup(w.Stop)
	var mu sync.Mutex
	counts := map[watch.EventType]int{}
	go func() {
		for ev := range w.ResultChan() {
			mu.Lock()
			counts[ev.Type]++
			mu.Unlock()
		}
	}()
	return func() map[watch.EventType]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(counts)
	}
}

// A report deleted from outside is made again: its image is still a member
// of the round, and its findings come back from HSS, without a new scan
// request.
func TestADeletedReportIsMadeAgainWithItsFindings(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 3, func(i int, img *simulator.Image) {
		if i == 1 {
			img.MaliciousFiles = 5
		}
	})
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.readyInRound("app", 1)
	rep := h.reports(h.g, "app")["team/app:v1"]
	h.g.Expect(env.Client.Delete(context.Background(), &rep)).To(Succeed())

	h.g.Eventually(func(g Gomega) {
		again := h.reports(g, "app")["team/app:v1"]
		g.Expect(again.UID).NotTo(Equal(rep.UID))
		g.Expect(again.Status.Round).To(Equal(int64(1)))
		g.Expect(again.Status.Findings).NotTo(BeNil())
		g.Expect(again.Status.Findings.MaliciousFiles).To(Equal(int64(5)))
	}, 30*time.Second, 20*time.Millisecond).Should(Succeed())
	obj := h.eventuallyWithin(largeRound, "app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
		g.Expect(obj.Status.Summary.MaliciousFiles).To(Equal(int64(5)))
	})
	h.g.Expect(round(obj)).To(Equal(int64(1)))
	h.g.Expect(obj.Status.Summary.Matched).To(Equal(int32(3)))
	h.g.Expect(h.batchScans()).To(Equal(1), "no new scan request")
	h.g.Eventually(func(g Gomega) {
		g.Expect(h.eventNotes(g, scanv1.EventReportsDeleted)).To(ContainElement(ContainSubstring("1 reports were deleted")))
	}, 30*time.Second, 20*time.Millisecond).Should(Succeed())
}

// Deleting every report mid-round does not complete the round over no
// images: the reports are made again and the round ends with every member.
func TestDeletingEveryReportMidRoundLosesNoMember(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	refs := h.images("team", "app", 2, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})
	h.accepted("app", 1)
	h.g.Expect(env.Client.DeleteAllOf(context.Background(), &scanv1.ImageReport{}, client.InNamespace(h.ns),
		client.MatchingLabels{scanv1.LabelImageScan: "app"})).To(Succeed())
	// The manager may not have seen its own creations yet; it waits that
	// long for them before it takes the reports as they are.
	h.clock.Step(3 * time.Minute)

	obj := h.readyInRound("app", 1)
	h.g.Expect(obj.Status.Summary.Matched).To(Equal(int32(2)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	h.g.Expect(h.reports(h.g, "app")).To(HaveLen(2))
}

// A selector's deleted reports are known only by their number, as the
// criteria may no longer match the images they chose (scanStatus: unscan
// after the scan): a new round lists the images again.
func TestADeletedReportOfASelectorStartsANewRound(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(validSecret())
	h.images("team", "app", 3, nil)
	h.scan("app", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "team"}})
	h.readyInRound("app", 1)
	rep := h.reports(h.g, "app")["team/app:v2"]
	h.g.Expect(env.Client.Delete(context.Background(), &rep)).To(Succeed())

	obj := h.readyInRound("app", 2)
	h.g.Expect(obj.Status.LastScanRequest.Trigger).To(Equal(scanv1.TriggerReportsDeleted))
	h.g.Expect(obj.Status.LastScanRequest.Members).To(Equal(int32(3)))
	h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(3)))
}
