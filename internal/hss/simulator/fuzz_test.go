package simulator

import (
	"net/url"
	"testing"
)

func FuzzParseListQuery(f *testing.F) {
	for _, seed := range []string{
		"image_type=private_image",
		"image_type=private_image&offset=20&limit=200&latest_version=true",
		"image_type=shared_image&image_size=100&start_latest_scan_time=1&end_latest_scan_time=2",
		"image_type=instance_image&instance_id=x&limit=9",
		"limit=10&offset=-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, e := parseListQuery(q)
		if e != nil {
			if e.status != 400 || e.Code != "HSS.1001" {
				t.Fatalf("parse error is not a bad request: %v", e)
			}
			return
		}
		if !validType(lq.filter.Type) || lq.offset < 0 || lq.offset > maxOffset || lq.limit < minLimit || lq.limit > maxLimit {
			t.Fatalf("accepted out-of-range query %q: %+v", raw, lq)
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=abc")
	f.Add("SDK-HMAC-SHA256 Access=, SignedHeaders=;, Signature=")
	f.Add("SDK-HMAC-SM3 Access=AK")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			return
		}
		if a.access == "" || a.signature == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("accepted incomplete header %q: %+v", h, a)
		}
	})
}
