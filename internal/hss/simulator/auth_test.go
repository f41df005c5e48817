package simulator

import (
	"net/http"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	. "github.com/onsi/gomega"
)

const signatureMsg = "Incorrect IAM authentication information: verify aksk signature fail"

func TestAKSKSignatures(t *testing.T) {
	const tempAK, tempSK, tempToken = "TEMPACCESSKEY", "temp-secret", "temp-security-token"
	cases := []struct {
		name             string
		ak, sk, security string
		ok               bool
	}{
		{"right secret", testAK, testSK, "", true},
		{"wrong secret", testAK, "not-the-secret", "", false},
		{"unknown access key", "UNKNOWNKEY", testSK, "", false},
		{"permanent key with a security token", testAK, testSK, tempToken, false},
		{"temporary key with its token", tempAK, tempSK, tempToken, true},
		{"temporary key without its token", tempAK, tempSK, "", false},
		{"temporary key with another token", tempAK, tempSK, "other-token", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, func(c *Config) {
				c.Credentials[tempAK] = Credential{SK: tempSK, SecurityToken: tempToken}
			})
			_, err := e.client(t, tc.ak, tc.sk, tc.security).ListSwrImageRepository(
				&model.ListSwrImageRepositoryRequest{Region: ptr(testRegion), ImageType: TypePrivate, Namespace: ptr("a b+c")})
			if tc.ok {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			se := expectAPIError(g, err, http.StatusUnauthorized, "APIGW.0301")
			g.Expect(se.ErrorMessage).To(Equal(signatureMsg))
			g.Expect(e.sim.Count(OpListImages, OutcomeUnauthorized)).To(Equal(1))
		})
	}
}

// tamper changes the query after the SDK has signed the request.
type tamper struct{ next http.RoundTripper }

func (tr tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	q.Set("namespace", "someone-else")
	r.URL.RawQuery = q.Encode()
	return tr.next.RoundTrip(r)
}

func TestSignatureCoversTheQuery(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	cred, err := basic.NewCredentialsBuilder().WithAk(testAK).WithSk(testSK).WithProjectId(testProject).SafeBuild()
	g.Expect(err).NotTo(HaveOccurred())
	hc, err := hss.HssClientBuilder().WithEndpoints([]string{e.srv.URL}).WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithHttpRoundTripper(tamper{http.DefaultTransport})).SafeBuild()
	g.Expect(err).NotTo(HaveOccurred())
	_, err = hss.NewHssClient(hc).ListSwrImageRepository(
		&model.ListSwrImageRepositoryRequest{Region: ptr(testRegion), ImageType: TypePrivate, Namespace: ptr("mine")})
	expectAPIError(g, err, http.StatusUnauthorized, "APIGW.0301")
}

func TestAuthErrorBodiesAreExactAndCarryNoSecrets(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		body    string
	}{
		{"bad signature", map[string]string{"X-Auth-Token": "", "X-Sdk-Date": "20260601T120000Z",
			"Authorization": "SDK-HMAC-SHA256 Access=" + testAK + ", SignedHeaders=x-sdk-date, Signature=00"},
			`{"error_code":"APIGW.0301","error_msg":"` + signatureMsg + `"}`},
		{"wrong token", map[string]string{"X-Auth-Token": "not-a-token"},
			`{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: decrypt token fail"}`},
		{"no credentials", map[string]string{"X-Auth-Token": ""},
			`{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: the request carries no credentials"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, nil)
			resp, body := e.raw(t, http.MethodGet, path("swr-repository?image_type=private_image"), "", tc.headers)
			g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
			g.Expect(body).To(MatchJSON(tc.body))
			g.Expect(body).NotTo(ContainSubstring(testSK))
			g.Expect(body).NotTo(ContainSubstring(testToken))
		})
	}
}

func TestTokenAuthAcceptsAConfiguredToken(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	resp, body := e.raw(t, http.MethodGet, path("swr-repository?image_type=private_image"), "", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), body)
	g.Expect(body).To(MatchJSON(`{"total_num":0,"data_list":[]}`))
}

func TestRequestChecksAfterAuthentication(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		code    string
	}{
		{"missing region", http.MethodGet, path("swr-repository?image_type=private_image"), map[string]string{"region": ""}, http.StatusBadRequest, "HSS.1001"},
		{"other project", http.MethodGet, "/v5/other-project/image/swr-repository?image_type=private_image", nil, http.StatusForbidden, "HSS.1006"},
		{"unknown path", http.MethodGet, path("vulnerabilities"), nil, http.StatusNotFound, "APIGW.0101"},
		{"wrong method", http.MethodGet, path("batch-scan"), nil, http.StatusNotFound, "APIGW.0101"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, nil)
			resp, body := e.raw(t, tc.method, tc.path, "", tc.headers)
			g.Expect(resp.StatusCode).To(Equal(tc.status))
			g.Expect(body).To(ContainSubstring(`"error_code":"` + tc.code + `"`))
		})
	}
}

func TestMissingRegionThroughTheSDK(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	_, err := e.sdk(t).ListSwrImageRepository(&model.ListSwrImageRepositoryRequest{ImageType: TypePrivate})
	expectAPIError(g, err, http.StatusBadRequest, "HSS.1001")
}

func TestEveryAnswerHasItsOwnRequestID(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, nil)
	seen := map[string]bool{}
	for _, p := range []string{path("swr-repository?image_type=private_image"), path("nowhere"), path("swr-repository")} {
		resp, _ := e.raw(t, http.MethodGet, p, "", nil)
		id := resp.Header.Get("X-Request-Id")
		g.Expect(id).NotTo(BeEmpty())
		g.Expect(seen).NotTo(HaveKey(id))
		seen[id] = true
	}
}

func TestNoCredentialsConfiguredMeansNoAuthentication(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(c *Config) { c.Credentials, c.Tokens = nil, nil })
	resp, body := e.raw(t, http.MethodGet, path("swr-repository?image_type=private_image"), "", map[string]string{"X-Auth-Token": ""})
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), body)
}
