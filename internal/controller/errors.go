package controller

import (
	"errors"
	"fmt"
	"time"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// stepError is a failed step with the condition reason it maps to. Stalled
// errors need a person to act (fix a Secret, the spec, or IAM); the others
// clear on their own and are retried with backoff.
type stepError struct {
	Reason  string
	Stalled bool
	// RetryAfter, when set, is when to try again: a requeue, not a backoff
	// and never a wait inside the worker.
	RetryAfter time.Duration
	Err        error
}

func (e *stepError) Error() string { return e.Err.Error() }
func (e *stepError) Unwrap() error { return e.Err }

func stalled(reason, format string, args ...any) *stepError {
	return &stepError{Reason: reason, Stalled: true, Err: fmt.Errorf(format, args...)}
}

// policy is what an HSS error class means for a round, decided here once
// for every step: the condition reason; whether a person must act
// (stalled) or the pass is retried after the wait HSS asked for; what a
// member call failing so does to the other member calls; whether HSS, so
// answering, did not take the request (refused: a scan request may then be
// sent again at once, where a lost answer leaves its outcome unknown); and
// whether, building a client, it says the configuration is wrong.
type policy struct {
	reason  string
	stalled bool
	members memberStep
	refused bool
	config  bool
}

// memberStep is what one member call's failure does to the fan-out.
type memberStep int

const (
	// memberFails: the member's own failure, counted as a failed read.
	memberFails memberStep = iota
	// budgetSpent: no further call starts; the pass is retried later.
	budgetSpent
	// allFail: every call would share it; the fan-out stops.
	allFail
)

var policies = map[hss.Class]policy{
	hss.ClassAuth:        {reason: scanv1.ReasonAuthFailed, stalled: true, members: allFail, refused: true},
	hss.ClassInvalid:     {reason: scanv1.ReasonInvalidRequest, stalled: true, members: memberFails, refused: true, config: true},
	hss.ClassNotFound:    {reason: scanv1.ReasonInvalidRequest, stalled: true, members: memberFails, refused: true, config: true},
	hss.ClassThrottled:   {reason: scanv1.ReasonThrottled, members: budgetSpent, refused: true},
	hss.ClassTransient:   {reason: scanv1.ReasonServiceUnavailable, members: memberFails},
	hss.ClassUndecodable: {reason: scanv1.ReasonServiceUnavailable, members: memberFails, config: true},
}

// policyOf is an error's policy; an error of no known class is transient.
func policyOf(err error) policy {
	if p, ok := policies[hss.ClassOf(err)]; ok {
		return p
	}
	return policies[hss.ClassTransient]
}

// fromHSS maps an HSS client error to its condition reason and requeue.
func fromHSS(err error) *stepError {
	var se *stepError
	if errors.As(err, &se) {
		return se
	}
	p := policyOf(err)
	if p.stalled {
		return &stepError{Reason: p.reason, Stalled: true, Err: err}
	}
	return &stepError{Reason: p.reason, RetryAfter: retryAfter(err), Err: err}
}

// retryAfter is the wait an HSS error asks for, if any.
func retryAfter(err error) time.Duration {
	var he *hss.Error
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}
