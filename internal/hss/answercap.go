package hss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultMaxAnswerBytes bounds one HSS answer. The largest answer the
// client asks for is a page of 200 images or vulnerabilities, each with
// texts of at most a few KiB: well under 4 MiB. The SDK reads a body
// whole, so without a cap a host (or anything between) that sends an
// endless or huge body would grow the shared manager without limit.
const DefaultMaxAnswerBytes = 4 << 20

// errAnswerTooLarge is what reading a capped body returns past its bound.
// The SDK hands a body's read error back unwrapped, and classify turns it
// into an Undecodable error that names the call.
type errAnswerTooLarge struct{ limit int64 }

func (e errAnswerTooLarge) Error() string {
	return fmt.Sprintf("the answer exceeded %d bytes", e.limit)
}

// cappedTransport bounds an answer in size and time: it refuses answers
// larger than limit (at once when the Content-Length says so, else when
// reading passes the limit) and ends a call, its answer's reading included,
// after timeout. It keeps the timeout itself rather than leaving it to the
// SDK's http.Client: a client with a Timeout over a transport it does not
// know arms a goroutine and a timer per call that only closing the body
// stops, and the SDK, once its response handler has read a body, never
// closes it, so each call's goroutine lived for the whole timeout.
type cappedTransport struct {
	base    http.RoundTripper
	limit   int64
	timeout time.Duration
}

func (t cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	release := context.CancelFunc(func() {})
	if t.timeout > 0 {
		var ctx context.Context
		ctx, release = context.WithTimeout(req.Context(), t.timeout)
		req = req.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		release()
		return nil, errAnswerTooLarge{t.limit}
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.limit, limit: t.limit, release: release}
	return resp, nil
}

// cappedBody reads at most limit bytes of an answer. The call's deadline is
// released when the answer ends (read to its end, failed or closed).
type cappedBody struct {
	rc          io.ReadCloser
	left, limit int64
	release     context.CancelFunc
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *cappedBody) read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errAnswerTooLarge{b.limit}
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	defer b.release()
	return b.rc.Close()
}

// answerTooLarge reports whether err is a capped answer's refusal.
func answerTooLarge(err error) (errAnswerTooLarge, bool) {
	var e errAnswerTooLarge
	return e, errors.As(err, &e)
}
