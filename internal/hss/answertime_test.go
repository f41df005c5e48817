package hss

import (
	"bytes"
	"context"
	"net/http"
	"runtime/pprof"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// callTimers counts the goroutines net/http keeps to time out a call of a
// client whose transport it does not know.
func callTimers() int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2) // a stack per goroutine
	return bytes.Count(buf.Bytes(), []byte("net/http.setRequestCancel"))
}

// A finished call leaves nothing behind to time it out. The SDK never closes
// a body its response handler has read, so a timeout kept by http.Client
// held a goroutine and a timer per call for the whole timeout: at the
// manager's call rates, thousands, in proportion to the rate.
func TestAFinishedCallLeavesNoTimerBehind(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, Options{Timeout: time.Hour}, nil)
	e.sim.AddImages(private("payments", "api", "1.0", 1<<30, epoch))
	c := e.client(t)
	before := callTimers()

	for range 50 {
		g.Expect(listPrivate(context.Background(), c)).To(Succeed())
	}

	g.Expect(callTimers()).To(Equal(before), "goroutines timing finished calls")
}

// An answer slower than the timeout fails its call as a transient timeout,
// whether its headers or its body are late.
func TestAnAnswerSlowerThanTheTimeoutFailsAsATimeout(t *testing.T) {
	for _, late := range []string{"headers", "body"} {
		t.Run(late, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, Options{Timeout: 200 * time.Millisecond}, nil)
			e.sim.AddImages(private("payments", "api", "1.0", 1<<30, epoch))
			c := e.client(t) // built before the endpoint slows down
			release := make(chan struct{})
			defer close(release)
			e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if late == "body" {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte(`{"total":1,"data_list":[`))
					w.(http.Flusher).Flush()
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})

			err := listPrivate(context.Background(), c)

			g.Expect(ClassOf(err)).To(Equal(ClassTransient))
			g.Expect(err.Error()).To(ContainSubstring("the call timed out"))
		})
	}
}
