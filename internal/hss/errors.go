package hss

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
	"unicode"

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
	// ClassUndecodable: a 2xx answer the client could not read (a field of
	// the wrong type or range, a truncated body). Retrying rarely helps.
	ClassUndecodable Class = "Undecodable"
)

// Error is an HSS call's failure, classified once at the client boundary.
// It never holds credentials, and its text never quotes what the remote host
// sent beyond a bounded error_msg of a well-formed HSS error: that text ends
// up in status and events, where whoever can read the ImageScan sees it.
type Error struct {
	Class      Class
	Op         string
	StatusCode int
	Code       string // HSS error_code, e.g. APIG.0308
	Message    string // HSS error_msg, bounded and printable; empty unless Code is set
	RequestID  string
	RetryAfter time.Duration
	// Summary describes a failure without an HSS answer (a timeout, a refused
	// connection) or an answer that could not be read, in a few words.
	Summary string
	// Err is the underlying error, for errors.Is and errors.As; its text is
	// never part of Error().
	Err error
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
	switch {
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.Summary != "":
		fmt.Fprintf(&b, ": %s", e.Summary)
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
	if big, ok := answerTooLarge(err); ok {
		e.Class, e.Summary = ClassUndecodable, big.Error()
		return e
	}
	var sre *sdkerr.ServiceResponseError
	if errors.As(err, &sre) {
		e.StatusCode, e.RequestID = sre.StatusCode, boundedText(sre.RequestId, 64)
		if sre.StatusCode >= 200 && sre.StatusCode < 300 {
			// The SDK reports a body it could not decode this way; its text
			// quotes the body, so only the fact is kept.
			e.Class, e.Summary = ClassUndecodable, "the answer could not be decoded"
			return e
		}
		// Without an error_code the SDK's message is the raw body.
		if sre.ErrorCode != "" {
			e.Code, e.Message = boundedText(sre.ErrorCode, 32), boundedText(sre.ErrorMessage, maxMessage)
		} else {
			e.Summary = "the answer was not an HSS error"
		}
		e.Class = classOfStatus(sre.StatusCode, sre.ErrorCode)
		if e.Class == ClassThrottled && retryAfter != nil {
			e.RetryAfter = retryAfter(sre.RequestId)
		}
		return e
	}
	e.Summary = transportSummary(err)
	return e
}

// maxMessage bounds the error_msg kept from an answer.
const maxMessage = 200

// transportSummary names a failure that got no HSS answer without quoting
// addresses or anything the peer sent.
func transportSummary(err error) string {
	var netErr net.Error
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		return "the call was cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "the call timed out"
	case errors.As(err, &dnsErr):
		return "the endpoint's host name could not be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the endpoint refused the connection"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed before an answer"
	case errors.As(err, &certErr):
		return "the endpoint's TLS certificate was not trusted"
	case errors.As(err, &netErr):
		return "network error"
	}
	return "the call failed before an answer"
}

// boundedText keeps at most n bytes of printable text from a remote host.
func boundedText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "..."
	}
	return strings.TrimSpace(s)
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
