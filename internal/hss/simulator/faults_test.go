package simulator

import (
	"net/http"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

var listPath = path("swr-repository?image_type=private_image")

func TestQuotaThrottlesWithRetryAfterUntilTheBucketRefills(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.Faults = Faults{QPS: 0.5, Burst: 2} })
	for range 2 {
		resp, _ := e.raw(t, http.MethodGet, listPath, "", nil)
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}
	resp, body := e.raw(t, http.MethodGet, listPath, "", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusTooManyRequests))
	g.Expect(resp.Header.Get("Retry-After")).To(Equal("2"))
	g.Expect(body).To(MatchJSON(`{"error_code":"APIG.0308","error_msg":"The request is throttled."}`))

	e.clk.Step(2 * time.Second)
	resp, _ = e.raw(t, http.MethodGet, listPath, "", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(e.sim.Count(OpListImages, OutcomeThrottled)).To(Equal(1))
	g.Expect(e.sim.Count(OpListImages, OutcomeOK)).To(Equal(3))
}

func TestThrottlingReachesTheSDKAsAServiceError(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.Faults = Faults{QPS: 1} })
	_, err := e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
	expectAPIError(g, err, http.StatusTooManyRequests, "APIG.0308")

	e.sim.SetFaults(Faults{})
	_, err = e.list(t, model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
	g.Expect(err).NotTo(HaveOccurred(), "clearing the faults lifts the quota")
}

func TestFailNextFailsOnlyTheNamedOperationNTimes(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.FailNext(OpListImages, 2, http.StatusServiceUnavailable)

	scanBody := `{"image_type":"private_image","operate_all":true}`
	resp, _ := e.raw(t, http.MethodPost, path("batch-scan"), scanBody, nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	for range 2 {
		resp, body := e.raw(t, http.MethodGet, listPath, "", nil)
		g.Expect(resp.StatusCode).To(Equal(http.StatusServiceUnavailable))
		g.Expect(body).To(ContainSubstring("HSS.0503"))
	}
	resp, _ = e.raw(t, http.MethodGet, listPath, "", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(e.sim.Count(OpListImages, OutcomeServerError)).To(Equal(2))
}

func TestFailNextOnAnyOperationWithThrottling(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	e.sim.FailNext("", 1, http.StatusTooManyRequests)
	resp, _ := e.raw(t, http.MethodPost, path("synchronize"), `{"image_type":"private_image"}`, nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusTooManyRequests))
	g.Expect(resp.Header.Get("Retry-After")).To(Equal("1"))
	resp, _ = e.raw(t, http.MethodPost, path("synchronize"), `{"image_type":"private_image"}`, nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
}

func TestDroppedConnectionsGetNoAnswer(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.Faults = Faults{DropRate: 1} })
	_, err := e.srv.Client().Get(e.srv.URL + listPath)
	g.Expect(err).To(HaveOccurred())
	g.Expect(e.sim.Count(OpListImages, OutcomeDropped)).To(Equal(1))

	e.sim.SetFaults(Faults{})
	resp, _ := e.raw(t, http.MethodGet, listPath, "", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
}

func TestErrorRateAnswersServerErrors(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.Faults = Faults{ErrorRate: 1} })
	statuses := map[int]int{}
	for range 20 {
		resp, _ := e.raw(t, http.MethodGet, listPath, "", nil)
		statuses[resp.StatusCode]++
	}
	g.Expect(statuses).To(HaveLen(2))
	g.Expect(statuses).To(HaveKey(http.StatusInternalServerError))
	g.Expect(statuses).To(HaveKey(http.StatusServiceUnavailable))
	g.Expect(e.sim.Count(OpListImages, OutcomeServerError)).To(Equal(20))
}

func TestLatencyDelaysButStillAnswers(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.Faults = Faults{Latency: time.Millisecond} })
	resp, _ := e.raw(t, http.MethodGet, listPath, "", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
}
