package hss

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Class says how a caller should react to an error.
type Class string

const (
	// ClassThrottled: the quota was exceeded; retry after RetryAfter.
	ClassThrottled Class = "Throttled"
	// ClassTransient: a 5xx, timeout or broken connection; retry with backoff.
	ClassTransient Class = "Transient"
	// ClassAuth: credentials rejected (401/403) or unusable; retrying will
	// not help until they change.
	ClassAuth Class = "Auth"
	// ClassInvalid: the service refused the request as malformed (other 4xx).
	ClassInvalid Class = "InvalidRequest"
	// ClassNotFound: the addressed object does not exist (404).
	ClassNotFound Class = "NotFound"
)

// Error is an HSS call's failure, classified once at the client boundary.
// It never holds credentials.
type Error struct {
	Class      Class
	Op         string
	StatusCode int
	Code       string // HSS error_code, e.g. APIG.0308
	Message    string // HSS error_msg
	RequestID  string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hss %s: %s", e.Op, e.Class)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err, ClassTransient for an unclassified error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassTransient
}

// throttleCode is what API Gateway answers when a quota is exceeded.
const throttleCode = "APIG.0308"

// classify turns whatever the SDK returned into an *Error. retryAfter looks
// up the Retry-After header the response with a request ID carried.
func classify(op string, err error, retryAfter func(requestID string) time.Duration) *Error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	e := &Error{Op: op, Err: err, Class: ClassTransient}
	var sre *sdkerr.ServiceResponseError
	if errors.As(err, &sre) {
		e.StatusCode, e.Code, e.Message, e.RequestID = sre.StatusCode, sre.ErrorCode, sre.ErrorMessage, sre.RequestId
		e.Class = classOfStatus(sre.StatusCode, sre.ErrorCode)
		if e.Class == ClassThrottled && retryAfter != nil {
			e.RetryAfter = retryAfter(sre.RequestId)
		}
		return e
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		e.Class = ClassTransient
	}
	return e
}

func classOfStatus(status int, code string) Class {
	switch {
	case status == http.StatusTooManyRequests || code == throttleCode:
		return ClassThrottled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ClassAuth
	case status == http.StatusNotFound:
		return ClassNotFound
	case status >= 500 || status == http.StatusRequestTimeout:
		return ClassTransient
	default:
		return ClassInvalid
	}
}
