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

// fromHSS maps an HSS client error to its condition reason.
func fromHSS(err error) *stepError {
	var se *stepError
	if errors.As(err, &se) {
		return se
	}
	switch hss.ClassOf(err) {
	case hss.ClassAuth:
		return &stepError{Reason: scanv1.ReasonAuthFailed, Stalled: true, Err: err}
	case hss.ClassInvalid, hss.ClassNotFound:
		return &stepError{Reason: scanv1.ReasonInvalidRequest, Stalled: true, Err: err}
	case hss.ClassThrottled:
		return &stepError{Reason: scanv1.ReasonThrottled, RetryAfter: retryAfter(err), Err: err}
	default:
		return &stepError{Reason: scanv1.ReasonServiceUnavailable, RetryAfter: retryAfter(err), Err: err}
	}
}

// retryAfter is the wait an HSS error asks for, if any.
func retryAfter(err error) time.Duration {
	var he *hss.Error
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}
