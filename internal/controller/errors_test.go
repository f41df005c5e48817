package controller_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

func (h *harness) requests() int {
	n := 0
	for _, byOutcome := range h.sim.Counts() {
		for _, c := range byOutcome {
			n += c
		}
	}
	return n
}

func TestWrongCredentialsStallWithoutHotLoop(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	h.createSecret(map[string]string{"accessKey": testAK, "secretKey": "wrong"})
	refs := h.images("team", "app", 1, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})

	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonAuthFailed)
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonAuthFailed)
		g.Expect(kstatus(g, obj)).To(Equal(status.FailedStatus))
	})
	msg := condition(obj, scanv1.ConditionReady).Message
	h.g.Expect(msg).To(ContainSubstring("APIGW.0301"))
	h.g.Expect(msg).NotTo(ContainSubstring("wrong"), "no secret in status")
	h.g.Expect(h.sim.Count(h.listOp(), simulator.OutcomeUnauthorized)).To(Equal(1))
	h.g.Consistently(h.requests, time.Second, 50*time.Millisecond).Should(Equal(1), "a stalled object is not retried in a loop")
	h.g.Expect(h.batchScans()).To(Equal(0))
}

func TestMissingSecretIsReportedThenPickedUpWhenCreated(t *testing.T) {
	h := newHarness(t, simulator.Config{})
	refs := h.images("team", "app", 1, nil)
	h.scan("app", scanv1.ImageScanSpec{Images: refs})

	obj := h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonCredentialsNotFound)
		haveCondition(g, obj, scanv1.ConditionStalled, metav1.ConditionTrue, scanv1.ReasonCredentialsNotFound)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring(`Secret "hss-credentials" not found`))
	h.g.Expect(h.requests()).To(Equal(0))

	// A Secret missing a key names the key.
	h.createSecret(map[string]string{"accessKey": testAK})
	obj = h.eventually("app", func(g Gomega, obj *scanv1.ImageScan) {
		haveCondition(g, obj, scanv1.ConditionReady, metav1.ConditionFalse, scanv1.ReasonCredentialsInvalid)
	})
	h.g.Expect(condition(obj, scanv1.ConditionReady).Message).To(ContainSubstring(`no secretKey key`))

	// Completing the Secret is noticed through the watch, with no polling.
	secret := &corev1.Secret{}
	h.g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: secretName}, secret)).To(Succeed())
	secret.StringData = validSecret()
	h.g.Expect(env.Client.Update(context.Background(), secret)).To(Succeed())
	h.readyInRound("app", 1)
	h.g.Expect(h.batchScans()).To(Equal(1))
}

func TestThrottlingAndServerErrorBurstsAreRetriedWithoutLosingResults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		reason string
	}{
		{"throttled", http.StatusTooManyRequests, scanv1.ReasonThrottled},
		{"server errors", http.StatusServiceUnavailable, scanv1.ReasonServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, simulator.Config{})
			h.createSecret(validSecret())
			refs := h.images("team", "app", 2, nil)
			h.scan("app", scanv1.ImageScanSpec{Images: refs})
			before := h.readyInRound("app", 1)

			// A burst hits the next round's batch-scan and then its polls.
			writes := h.recordWrites()
			h.sim.FailNext(h.scanOp(), 2, tc.status)
			h.requestRescan("app")
			h.accepted("app", 2)
			// The retries were reported as such, and the previous results
			// stayed while retrying.
			h.g.Eventually(func(g Gomega) {
				retrying := 0
				for _, obj := range writes() {
					if c := condition(obj, scanv1.ConditionReconciling); c != nil && c.Reason == tc.reason {
						retrying++
						g.Expect(obj.Status.Images[0].FilesCount).To(Equal(before.Status.Images[0].FilesCount))
					}
				}
				g.Expect(retrying).To(BeNumerically(">=", 1))
			}, 10*time.Second).Should(Succeed())
			h.sim.FailNext(h.listOp(), 3, tc.status)
			obj := h.readyInRound("app", 2)

			h.g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
			h.g.Expect(h.batchScans()).To(Equal(2), "one accepted batch-scan per round")
			h.g.Expect(h.scanRequests()).To(HaveLen(2))
			h.g.Expect(h.fileStats()).To(Equal(2), "the rescan of unchanged images reads no statistics")
			h.g.Expect(h.requests()).To(BeNumerically("<", 60), "retries are bounded")
		})
	}
}
