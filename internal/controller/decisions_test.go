package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	testingclock "k8s.io/utils/clock/testing"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// The decisions of a pass that need no API server, as tables: whether a
// round is due, the conditions a pass leaves, its requeue, and the events
// it sends.

var decisionsNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func decisionsReconciler() *ImageScanReconciler {
	r := &ImageScanReconciler{Options: Options{Clock: testingclock.NewFakePassiveClock(decisionsNow)}}
	r.setDefaults()
	return r
}

func at(d time.Duration) metav1.Time { return metav1.NewTime(decisionsNow.Add(d)) }

func TestDue(t *testing.T) {
	r := decisionsReconciler()
	hour := &metav1.Duration{Duration: time.Hour}
	done := &scanv1.ScanRequest{Round: 3, Generation: 2, RequestedAt: at(-2 * time.Hour), CompletedAt: ptrTime(at(-90 * time.Minute))}
	recent := &scanv1.ScanRequest{Round: 3, Generation: 2, RequestedAt: at(-time.Minute), CompletedAt: ptrTime(at(-30 * time.Second))}
	for _, c := range []struct {
		name    string
		obj     scanv1.ImageScan
		last    *scanv1.ScanRequest
		want    scanv1.ScanTrigger
		wantDue bool
	}{
		{"the first round", scan(2, nil, nil, ""), nil, scanv1.TriggerCreated, true},
		{"a new generation", scan(3, nil, nil, ""), done, scanv1.TriggerSpecChanged, true},
		{"nothing asked", scan(2, nil, nil, ""), done, "", false},
		{"the interval passed", scan(2, hour, nil, ""), done, scanv1.TriggerInterval, true},
		{"the interval not yet", scan(2, hour, nil, ""), recent, "", false},
		{"a rescan asked", scan(2, nil, map[string]string{scanv1.RescanAnnotation: "x"}, ""), done, scanv1.TriggerRequested, true},
		{"a rescan already handled", scan(2, nil, map[string]string{scanv1.RescanAnnotation: "x"}, "x"), done, "", false},
		{"a rescan within the floor waits", scan(2, nil, map[string]string{scanv1.RescanAnnotation: "y"}, "x"), recent, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.obj.Status.LastScanRequest = c.last
			got, due := r.due(&pass{obj: &c.obj, round: c.last})
			if got != c.want || due != c.wantDue {
				t.Errorf("due = %q, %t; want %q, %t", got, due, c.want, c.wantDue)
			}
		})
	}
}

func ptrTime(t metav1.Time) *metav1.Time { return &t }

func scan(generation int64, interval *metav1.Duration, annotations map[string]string, handled string) scanv1.ImageScan {
	obj := scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team", Generation: generation, Annotations: annotations}}
	obj.Spec.Interval = interval
	obj.Status.LastHandledRescanAt = handled
	return obj
}

func TestConditionsAndRequeueOfAPass(t *testing.T) {
	r := decisionsReconciler()
	running := &scanv1.ScanRequest{Round: 2, Generation: 1, RequestedAt: at(-4 * time.Minute), AcceptedAt: ptrTime(at(-4 * time.Minute))}
	completed := &scanv1.ScanRequest{Round: 2, Generation: 1, RequestedAt: at(-4 * time.Minute), AcceptedAt: ptrTime(at(-4 * time.Minute)), CompletedAt: ptrTime(at(-time.Minute))}
	// counted is round 2's tally of members with these results.
	counted := func(succeeded, failed, pending int) *rounds.Tally {
		t := rounds.NewTally(2, false)
		add := func(n int, s scanv1.ImageReportStatus) {
			for range n {
				t.Add(rounds.Key{Namespace: "team", Name: "app", Tag: fmt.Sprint(t.Count)}, s, "")
			}
		}
		add(succeeded, scanv1.ImageReportStatus{Round: 2, ScanStatus: hss.StatusSuccess, FilesCount: new(int64), FilesSize: new(int64), Detail: "None"})
		add(failed, scanv1.ImageReportStatus{Round: 2, ScanStatus: "failed"})
		add(pending, scanv1.ImageReportStatus{Round: 1})
		return t
	}
	for _, c := range []struct {
		name                 string
		round                *scanv1.ScanRequest
		tally                *rounds.Tally
		err                  error
		suspend              bool
		ready                metav1.ConditionStatus
		reason               string
		reconciling, stalled bool
		requeue              time.Duration
		wantErr              bool
	}{
		{"stalled on credentials", running, nil, stalled(scanv1.ReasonCredentialsNotFound, "no Secret"), false,
			metav1.ConditionFalse, scanv1.ReasonCredentialsNotFound, false, true, r.StalledRetry, false},
		{"throttled: retried after HSS's wait", running, nil, &stepError{Reason: scanv1.ReasonThrottled, RetryAfter: 9 * time.Second, Err: errors.New("429")}, false,
			metav1.ConditionUnknown, scanv1.ReasonThrottled, true, false, 9 * time.Second, false},
		{"an API server error: backoff", running, nil, errors.New("etcd"), false,
			metav1.ConditionUnknown, scanv1.ReasonKubernetesAPIError, true, false, 0, true},
		{"suspended before any round", nil, nil, nil, true, metav1.ConditionFalse, scanv1.ReasonSuspended, false, false, 0, false},
		{"scanning: polled", running, counted(3, 0, 1), nil, false,
			metav1.ConditionUnknown, scanv1.ReasonScanning, true, false, time.Minute, false},
		{"completed with a failed image", completed, counted(3, 1, 0), nil, false,
			metav1.ConditionFalse, scanv1.ReasonImagesFailed, false, true, 0, false},
		{"completed", completed, counted(4, 0, 0), nil, false,
			metav1.ConditionTrue, scanv1.ReasonSucceeded, false, false, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 1}, Spec: scanv1.ImageScanSpec{Suspend: c.suspend}}
			p := &pass{obj: obj, round: c.round, tally: c.tally}
			st := r.statusOf(p, c.err)
			ready := apimeta.FindStatusCondition(st.Conditions, scanv1.ConditionReady)
			if ready == nil || ready.Status != c.ready || ready.Reason != c.reason || ready.ObservedGeneration != 1 {
				t.Fatalf("Ready %+v, want %s %s", ready, c.ready, c.reason)
			}
			if got := apimeta.IsStatusConditionTrue(st.Conditions, scanv1.ConditionReconciling); got != c.reconciling {
				t.Errorf("Reconciling %t, want %t", got, c.reconciling)
			}
			if got := apimeta.IsStatusConditionTrue(st.Conditions, scanv1.ConditionStalled); got != c.stalled {
				t.Errorf("Stalled %t, want %t", got, c.stalled)
			}
			res, err := r.result(p, st, c.err)
			if (err != nil) != c.wantErr || res.RequeueAfter != c.requeue {
				t.Errorf("result %+v, %v; want requeue %s, error %t", res, err, c.requeue, c.wantErr)
			}
		})
	}
}

// Events follow what changed between the status a pass started from and
// the one it saved, once.
func TestNotifySendsWhatChangedOnce(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := decisionsReconciler()
	r.Events = rec
	obj := &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 1}}
	accepted := &scanv1.ScanRequest{Round: 2, RequestedAt: at(-time.Hour), AcceptedAt: ptrTime(at(-time.Hour))}
	done := accepted.DeepCopy()
	done.CompletedAt = ptrTime(at(0))
	summary := scanv1.ScanSummary{Matched: 2, Succeeded: 2, Findings: scanv1.Findings{New: &scanv1.Severities{High: 2, Low: 1}}}
	p := &pass{obj: obj, tally: rounds.NewTally(2, false), expired: map[string]bool{"gone": true}}
	old := scanv1.ImageScanStatus{LastScanRequest: accepted, Exceptions: []scanv1.ExceptionUse{{Name: "gone", Results: 4, Images: 2}, {Name: "kept", Results: 1, Images: 1}}}
	st := scanv1.ImageScanStatus{LastScanRequest: done, Summary: summary, Exceptions: []scanv1.ExceptionUse{{Name: "kept", Results: 1, Images: 1}}}
	r.notify(p, old, st)
	var got []string
	for len(rec.Events) > 0 {
		got = append(got, <-rec.Events)
	}
	want := []string{
		"Normal ScanCompleted Round 2: Scanned 2 images: 0 files, ; vulnerabilities: 3 new since the last round (0 critical, 2 high)",
		"Warning NewVulnerabilities Round 2 found 3 open vulnerabilities its images did not have before: 0 critical, 2 high, 0 medium, 1 low",
		"Warning ExceptionExpired VulnerabilityException gone expired: the 4 results it accepted in 2 images are open again",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events:\n%q\nwant\n%q", got, want)
	}
	r.notify(p, st, st)
	if len(rec.Events) != 0 {
		t.Errorf("a pass that changed nothing sent %q", <-rec.Events)
	}
}
