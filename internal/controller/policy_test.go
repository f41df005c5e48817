package controller

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// What each class of HSS error means for a round, read from the one table
// every step uses.
func TestErrorPolicyByClass(t *testing.T) {
	wait := 7 * time.Second
	for _, c := range []struct {
		class   hss.Class
		reason  string
		stalled bool
		retry   time.Duration
		members memberStep
		refused bool
		config  bool
	}{
		{hss.ClassAuth, scanv1.ReasonAuthFailed, true, 0, allFail, true, false},
		{hss.ClassInvalid, scanv1.ReasonInvalidRequest, true, 0, memberFails, true, true},
		{hss.ClassNotFound, scanv1.ReasonInvalidRequest, true, 0, memberFails, true, true},
		{hss.ClassThrottled, scanv1.ReasonThrottled, false, wait, budgetSpent, true, false},
		{hss.ClassTransient, scanv1.ReasonServiceUnavailable, false, wait, memberFails, false, false},
		{hss.ClassUndecodable, scanv1.ReasonServiceUnavailable, false, wait, memberFails, false, true},
	} {
		t.Run(string(c.class), func(t *testing.T) {
			err := error(&hss.Error{Class: c.class, Op: "op", StatusCode: 400, RetryAfter: wait})
			se := fromHSS(err)
			if se.Reason != c.reason || se.Stalled != c.stalled || se.RetryAfter != c.retry {
				t.Errorf("fromHSS = %+v, want reason %s, stalled %t, retry after %s", se, c.reason, c.stalled, c.retry)
			}
			p := policyOf(err)
			if p.members != c.members || refused(err) != c.refused || p.config != c.config {
				t.Errorf("policy %+v, refused %t; want members %d, refused %t, config %t", p, refused(err), c.members, c.refused, c.config)
			}
		})
	}
}

func TestErrorPolicyEdges(t *testing.T) {
	if p := policyOf(context.DeadlineExceeded); p.reason != scanv1.ReasonServiceUnavailable || p.refused {
		t.Errorf("an error of no class is transient, its outcome unknown: %+v", p)
	}
	unavailable := &hss.Error{Class: hss.ClassTransient, StatusCode: http.StatusServiceUnavailable}
	if !refused(unavailable) {
		t.Error("a 503 says HSS did not take the request")
	}
	if refused(&hss.Error{Class: hss.ClassTransient, StatusCode: http.StatusBadGateway}) {
		t.Error("a gateway error leaves the outcome unknown")
	}
	own := stalled(scanv1.ReasonInvalidConfig, "bad")
	if got := fromHSS(errors.Join(own)); got != own {
		t.Errorf("a step's own error passes through: %+v", got)
	}
}
