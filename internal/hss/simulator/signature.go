package simulator

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

const signAlgorithm = "SDK-HMAC-SHA256"

// authorization is a parsed "SDK-HMAC-SHA256 Access=..., SignedHeaders=...,
// Signature=..." header.
type authorization struct {
	access        string
	signedHeaders []string
	signature     string
}

func parseAuthorization(h string) (authorization, error) {
	alg, rest, _ := strings.Cut(h, " ")
	if alg != signAlgorithm {
		return authorization{}, errors.New("unsupported signing algorithm")
	}
	var a authorization
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			a.access = v
		case "SignedHeaders":
			for name := range strings.SplitSeq(v, ";") {
				if name != "" {
					a.signedHeaders = append(a.signedHeaders, strings.ToLower(name))
				}
			}
		case "Signature":
			a.signature = v
		}
	}
	if a.access == "" || a.signature == "" || len(a.signedHeaders) == 0 {
		return authorization{}, errors.New("incomplete authorization header")
	}
	return a, nil
}

// validSignature rebuilds the request the client signed and signs it again
// with the SDK's own signer, so the simulator and the SDK cannot drift apart.
func validSignature(r *http.Request, body []byte, a authorization, sk string) bool {
	if _, err := time.Parse(signer.BasicDateFormat, r.Header.Get(signer.HeaderXDate)); err != nil {
		return false // the signer would fall back to time.Now
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	b := request.NewHttpRequestBuilder().
		WithEndpoint(scheme + "://" + r.Host).
		WithMethod(r.Method).
		WithPath(r.URL.Path)
	for k, vs := range r.URL.Query() {
		if len(vs) == 1 {
			b.AddQueryParam(k, reflect.ValueOf(vs[0]))
		} else {
			b.AddQueryParam(k, reflect.ValueOf(vs))
		}
	}
	for _, name := range a.signedHeaders {
		v := r.Header.Get(name)
		if name == "host" {
			v = r.Host
		}
		b.AddHeaderParam(http.CanonicalHeaderKey(name), v)
	}
	// Unsigned, but it decides whether the payload is hashed.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		b.AddHeaderParam("Content-Type", ct)
	}
	if len(body) > 0 {
		b.WithBody("", string(body))
	}
	headers, err := signer.Signer{}.Sign(b.Build(), a.access, sk)
	if err != nil {
		return false
	}
	_, want, _ := strings.Cut(headers[signer.HeaderAuthorization], "Signature=")
	return hmac.Equal([]byte(a.signature), []byte(want))
}
