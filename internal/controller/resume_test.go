package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// A manager that recorded a round's intent and died before recording the
// outcome leaves status as seeded here. The next manager must find out
// whether the call reached HSS instead of calling again blindly.
func TestIntentWithoutOutcomeIsResolvedBeforeCallingAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reached bool
	}{{"call reached HSS", true}, {"call never reached HSS", false}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, simulator.Config{})
			h.stop()
			h.createSecret(validSecret())
			refs := h.images("team", "app", 2, nil)
			obj := h.scan("app", scanv1.ImageScanSpec{Images: refs})

			h.seedReports(obj, refs)
			now := metav1.NewTime(h.clock.Now())
			obj.Status.LastScanRequest = &scanv1.ScanRequest{
				Round: 1, Trigger: scanv1.TriggerCreated, Generation: obj.Generation,
				RequestedAt: now, Attempts: 1, UnconfirmedSince: &now,
			}
			h.g.Expect(env.Client.Status().Update(context.Background(), obj)).To(Succeed())
			if tc.reached {
				h.g.Expect(h.hssClient().BatchScan(context.Background(), hss.BatchScanRequest{ImageType: "private_image",
					Images: []hss.ImageRef{{Namespace: "team", Name: "app", Tag: "v0"}, {Namespace: "team", Name: "app", Tag: "v1"}}})).To(Succeed())
			}

			h.start()
			if !tc.reached {
				// Nothing shows in HSS: the manager waits out the evidence
				// window before asking again.
				h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
					haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonProgressing)
				})
				h.g.Expect(h.batchScans()).To(BeZero())
				h.clock.Step(3 * time.Minute)
			}
			done := h.readyInRound("app", 1)
			h.g.Expect(h.batchScans()).To(Equal(1), "exactly one batch-scan reached HSS for the round")
			h.g.Expect(done.Status.Summary.Succeeded).To(Equal(int32(2)))
			wantAttempts := int32(1)
			if !tc.reached {
				wantAttempts = 2
			}
			h.g.Expect(done.Status.LastScanRequest.Attempts).To(Equal(wantAttempts))
		})
	}
}

func TestImageScansShareTheProjectRateLimit(t *testing.T) {
	// Real time here: the simulator's quota and the client's limiter are
	// both token buckets, and the point is how they meet.
	h := newHarness(t, simulator.Config{
		Clock: clock.RealClock{}, QueueDelay: 200 * time.Millisecond, ScanDuration: time.Second,
		Faults: simulator.Faults{QPS: 25, Burst: 8},
	}, hss.LimitOptions{QPS: 20, Burst: 5, MaxInFlight: 2})
	refs := h.images("team", "app", 4, nil)
	names := []string{"one", "two", "three", "four"}
	for _, name := range names {
		// Each reads its own Secret, so each has its own client and its own
		// walks, and only the project is shared.
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}, StringData: validSecret()}
		h.g.Expect(env.Client.Create(context.Background(), secret)).To(Succeed())
		h.scan(name, scanv1.ImageScanSpec{Images: refs, CredentialsRef: &scanv1.SecretReference{Name: name}})
	}
	for _, name := range names {
		h.eventually(name, func(g Gomega, obj *scanv1.ImageScan) {
			haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionTrue, scanv1.ReasonSucceeded)
		})
	}
	// Each client polls every 20ms: together they ask for far more than the
	// quota, and only the limiter they share keeps them under it.
	h.g.Expect(h.sim.Count(h.listOp(), simulator.OutcomeOK)).To(BeNumerically(">", 25))
	h.g.Expect(h.sim.Count(h.listOp(), simulator.OutcomeThrottled)).To(Equal(0))
	h.g.Expect(h.sim.Count(h.scanOp(), simulator.OutcomeThrottled)).To(Equal(0))
	h.g.Expect(h.sim.Count(simulator.OpFileStats, simulator.OutcomeThrottled)).To(Equal(0))
}

// A list longer than one batch-scan request is sent in chunks; if a manager
// dies between chunks, the next one sends only the images HSS has not got.
func TestInterruptedChunkedSendResumesWithTheRest(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.stop()
	h.createSecret(validSecret())
	refs := h.images("team", "big", hss.MaxBatchScanImages+50, nil)
	obj := h.scan("big", scanv1.ImageScanSpec{Images: refs})
	h.seedReports(obj, refs)
	now := metav1.NewTime(h.clock.Now())
	obj.Status.LastScanRequest = &scanv1.ScanRequest{
		Round: 1, Trigger: scanv1.TriggerCreated, Generation: obj.Generation,
		RequestedAt: now, Attempts: 1, UnconfirmedSince: &now,
	}
	var first []hss.ImageRef
	for i, r := range refs {
		if i < hss.MaxBatchScanImages {
			first = append(first, hss.ImageRef{Namespace: r.Namespace, Name: r.Name, Tag: r.Tag})
		}
	}
	h.g.Expect(env.Client.Status().Update(context.Background(), obj)).To(Succeed())
	h.g.Expect(h.hssClient().BatchScan(context.Background(), hss.BatchScanRequest{ImageType: "private_image", Images: first})).To(Succeed())

	h.start()
	h.eventually("big", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonProgressing)
	})
	h.clock.Step(3 * time.Minute) // the lost chunk never shows in HSS
	done := h.readyInRound("big", 1)
	h.g.Expect(done.Status.Summary.Succeeded).To(Equal(int32(len(refs))))
	scans := h.scanRequests()
	h.g.Expect(scans).To(HaveLen(2))
	h.g.Expect(scans[1].named).To(Equal(50), "only the images of the lost chunk")
}

func TestImageHSSNeverStartsScanningFailsAfterTheStartTimeout(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.stop()
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, nil)
	obj := h.scan("app", scanv1.ImageScanSpec{Images: refs})
	// HSS accepted the round (as status records) but never queued the image.
	obj = h.acceptedRoundHSSNeverRan(obj, refs, nil)
	h.g.Expect(obj.Status.Images[0].Message).To(ContainSubstring("did not start scanning"))
	h.g.Expect(h.reports(h.g, "app")["team/app:v0"].Status.ScanStatus).To(Equal("failed"))
	h.g.Expect(h.batchScans()).To(Equal(0))
}

// A round HSS accepted but never ran does not relabel an earlier scan as
// its own: at the start timeout the image is failed as not scanned in the
// round, and the earlier scan's findings are not reported as the round's.
func TestARoundHSSNeverRanDoesNotReportAnEarlierScanAsItsOwn(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.stop()
	h.createSecret(validSecret())
	refs := h.images("team", "app", 1, func(_ int, img *simulator.Image) { img.MaliciousFiles = 5 })
	h.g.Expect(h.hssClient().BatchScan(context.Background(), hss.BatchScanRequest{ImageType: "private_image",
		Images: []hss.ImageRef{{Namespace: "team", Name: "app", Tag: "v0"}}})).To(Succeed())
	h.finishScans()
	h.clock.Step(2 * time.Minute) // the round starts after that scan ended, on both clocks

	obj := h.scan("app", scanv1.ImageScanSpec{Images: refs})
	hssNow := metav1.NewTime(h.simClock.Now())
	obj = h.acceptedRoundHSSNeverRan(obj, refs, &hssNow)
	h.g.Expect(obj.Status.Summary.Succeeded).To(BeZero())
	h.g.Expect(obj.Status.Summary.MaliciousFiles).To(BeZero(), "the earlier scan's findings are not this round's")
	h.g.Expect(obj.Status.Images[0].Message).To(ContainSubstring("before this round"))
	rep := h.reports(h.g, "app")["team/app:v0"].Status
	h.g.Expect(rep.ScanStatus).To(Equal("failed"))
	h.g.Expect(rep.Findings).To(BeNil())
	h.g.Expect(h.batchScans()).To(Equal(1), "only the scan before the round")
}

// acceptedRoundHSSNeverRan records round 1 of the stopped manager's obj as
// accepted by HSS (at hssStart on its clock, when set), which then never
// queues its images; it starts the manager and returns the ImageScan once
// the start timeout has failed them.
func (h *harness) acceptedRoundHSSNeverRan(obj *scanv1.ImageScan, refs []scanv1.ImageReference, hssStart *metav1.Time) *scanv1.ImageScan {
	h.t.Helper()
	h.seedReports(obj, refs)
	now := metav1.NewTime(h.clock.Now())
	obj.Status.LastScanRequest = &scanv1.ScanRequest{
		Round: 1, Trigger: scanv1.TriggerCreated, Generation: obj.Generation,
		RequestedAt: now, HSSRequestedAt: hssStart, Attempts: 1, AcceptedAt: &now,
	}
	h.g.Expect(env.Client.Status().Update(context.Background(), obj)).To(Succeed())
	h.start()
	h.eventually(obj.Name, func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReconciling, metav1.ConditionTrue, scanv1.ReasonScanning)
	})
	h.clock.Step(31 * time.Minute)
	return h.eventually(obj.Name, func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonImagesFailed)
	})
}

// hssClient is a client of the harness's simulator outside any manager,
// to act on HSS as someone else would.
func (h *harness) hssClient() hss.Client {
	h.t.Helper()
	c, err := h.provider.Client(hss.Target{Endpoint: h.url, Region: testRegion, ProjectID: testProject,
		Credentials: hss.Credentials{AccessKey: testAK, SecretKey: testSK}, CredentialsVersion: "direct"})
	h.g.Expect(err).NotTo(HaveOccurred())
	return c
}

// seedReports creates the reports a manager creates when a round starts,
// before it records the intent: controlled by obj, with no result yet.
func (h *harness) seedReports(obj *scanv1.ImageScan, refs []scanv1.ImageReference) {
	h.t.Helper()
	for i, ref := range refs {
		rep := &scanv1.ImageReport{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d", obj.Name, i), Namespace: obj.Namespace,
				Labels: map[string]string{scanv1.LabelImageScan: obj.Name},
			},
			Spec: scanv1.ImageReportSpec{
				ImageScanName: obj.Name, ImageType: obj.Spec.ImageType, Image: ref,
				Reference: ref.Namespace + "/" + ref.Name + ":" + ref.Tag,
			},
		}
		h.g.Expect(controllerutil.SetControllerReference(obj, rep, env.Scheme)).To(Succeed())
		h.g.Expect(env.Client.Create(context.Background(), rep)).To(Succeed())
	}
}
