package simulator

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

const (
	testProject = "0123456789abcdef0123456789abcdef"
	testAK      = "TESTACCESSKEY"
	testSK      = "test-secret-key"
	testToken   = "test-iam-token"
	testRegion  = "cn-north-4"
	queueDelay  = 10 * time.Second
	scanTime    = time.Minute
)

var epoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// env is one simulator behind a real HTTP server, on a fake clock.
type env struct {
	sim *Server
	srv *httptest.Server
	clk *clocktesting.FakeClock
}

func newEnv(t *testing.T, adjust func(*Config)) *env {
	t.Helper()
	clk := clocktesting.NewFakeClock(epoch)
	cfg := Config{
		ProjectID:    testProject,
		Credentials:  map[string]Credential{testAK: {SK: testSK}},
		Tokens:       []string{testToken},
		QueueDelay:   queueDelay,
		ScanDuration: scanTime,
		Seed:         1,
		Clock:        clk,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, clk: clk}
}

// client is an SDK client for the simulator, signing with AK/SK.
func (e *env) client(t *testing.T, ak, sk, securityToken string) *hss.HssClient {
	t.Helper()
	b := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId(testProject)
	if securityToken != "" {
		b = b.WithSecurityToken(securityToken)
	}
	cred, err := b.SafeBuild()
	if err != nil {
		t.Fatalf("build credentials: %v", err)
	}
	hc, err := hss.HssClientBuilder().
		WithEndpoints([]string{e.srv.URL}).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithRetries(0)).
		SafeBuild()
	if err != nil {
		t.Fatalf("build client: %v", err)
	}
	return hss.NewHssClient(hc)
}

func (e *env) sdk(t *testing.T) *hss.HssClient { return e.client(t, testAK, testSK, "") }

func (e *env) scan(t *testing.T, body model.BatchScanPrivateImageRequestInfo) error {
	_, err := e.sdk(t).BatchScanSwrImage(&model.BatchScanSwrImageRequest{Region: ptr(testRegion), Body: &body})
	return err
}

// scanNamed batch-scans private images by namespace/name:tag triples.
func (e *env) scanNamed(t *testing.T, refs ...ImageRef) error {
	list := make([]model.BatchScanSwrImageInfo, 0, len(refs))
	for _, r := range refs {
		list = append(list, model.BatchScanSwrImageInfo{Namespace: ptr(r.Namespace), ImageName: ptr(r.Name), ImageVersion: ptr(r.Tag)})
	}
	return e.scan(t, model.BatchScanPrivateImageRequestInfo{ImageType: TypePrivate, ImageInfoList: &list})
}

func (e *env) list(t *testing.T, req model.ListSwrImageRepositoryRequest) (*model.ListSwrImageRepositoryResponse, error) {
	req.Region = ptr(testRegion)
	return e.sdk(t).ListSwrImageRepository(&req)
}

func (e *env) fileStats(t *testing.T, img Image) (*model.ShowImageFilesStatResponse, error) {
	return e.sdk(t).ShowImageFilesStat(&model.ShowImageFilesStatRequest{
		Region: testRegion, ImageType: img.Type, ImageId: img.ImageID,
		Namespace: ptr(img.Namespace), ImageName: ptr(img.Name), TagName: ptr(img.Tag),
	})
}

// raw sends a plain HTTP request with token auth and a region; a header
// given an empty value is removed instead.
func (e *env) raw(t *testing.T, method, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("X-Auth-Token", testToken)
	req.Header.Set("region", testRegion)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Del(k)
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(data)
}

func path(rest string) string { return "/v5/" + testProject + "/image/" + rest }

// expectAPIError asserts err is the SDK's service error with status and code.
func expectAPIError(g Gomega, err error, status int, code string) *sdkerr.ServiceResponseError {
	var se *sdkerr.ServiceResponseError
	g.ExpectWithOffset(1, errors.As(err, &se)).To(BeTrue(), "want a service error, got %v", err)
	g.ExpectWithOffset(1, se.StatusCode).To(Equal(status))
	g.ExpectWithOffset(1, se.ErrorCode).To(Equal(code))
	g.ExpectWithOffset(1, se.RequestId).NotTo(BeEmpty())
	return se
}

// img is a small hand-made private image.
func img(ns, name, tag string, size int64, updated time.Time) Image {
	return Image{Type: TypePrivate, Namespace: ns, Name: name, Tag: tag, Size: size, UpdatedAt: updated}
}
