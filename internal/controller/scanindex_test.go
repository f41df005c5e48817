package controller

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// What a walk keeps of an image must give back, for a member's result,
// exactly what HSS listed, whatever form its digests and times take.
func TestAScanIndexGivesBackWhatHSSListed(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	scanned := time.Date(2026, 12, 6, 21, 30, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		img  hss.Image
	}{
		{"a scanned image", hss.Image{
			Namespace: "team", Name: "app/api", Tag: "v1", ImageID: digest, Digest: digest,
			ScanStatus: hss.StatusSuccess, SeverityLevel: "High", LastScanAt: scanned,
			Findings: hss.Findings{Vulnerabilities: 40000, MaliciousFiles: 2, UnsafeSettings: 1},
		}},
		{"a failed scan in an enterprise instance", hss.Image{
			Namespace: "team", Name: "app", Tag: "v2", InstanceID: "ins-1", ImageID: "not a digest",
			Digest: "sha256:" + strings.Repeat("AB", 32), ScanStatus: hss.StatusFailed,
			ScanFailedCode: "image_oversized", ScanFailedDesc: "the image is over 15 GiB", LastScanAt: scanned,
		}},
		{"an image never scanned", hss.Image{Namespace: "team", Name: "app", Tag: "v3", ScanStatus: "unscan"}},
		{"a digest of zeros", hss.Image{Namespace: "team", Name: "app", Tag: "v4", Digest: "sha256:" + strings.Repeat("0", 64)}},
		{"a short digest", hss.Image{Namespace: "team", Name: "app", Tag: "v5", Digest: "sha256:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			x := scanIndex{}
			x.put(tc.img)
			got, ok := x.get(rounds.KeyOfImage(tc.img))
			g.Expect(ok).To(BeTrue())
			g.Expect(got).To(Equal(tc.img))
		})
	}
}

func TestAScanIndexKeepsKeysThatJoinAlikeApart(t *testing.T) {
	g := NewWithT(t)
	x := scanIndex{}
	x.put(hss.Image{Namespace: "a/b", Name: "c", Tag: "v1", ScanStatus: hss.StatusSuccess})
	x.put(hss.Image{Namespace: "a", Name: "b/c", Tag: "v1", ScanStatus: hss.StatusFailed})
	g.Expect(x).To(HaveLen(2))
	img, ok := x.get(rounds.Key{Namespace: "a", Name: "b/c", Tag: "v1"})
	g.Expect(ok).To(BeTrue())
	g.Expect(img.ScanStatus).To(Equal(hss.StatusFailed))
	_, ok = x.get(rounds.Key{Namespace: "a", Name: "b/c", Tag: "v1", InstanceID: "ins-1"})
	g.Expect(ok).To(BeFalse())
}

// An overdue round's own walk keeps the images whose scan has not ended in
// the round: those the feed does not answer for.
func TestAnOverdueWalkKeepsOnlyTheScansNotEndedInTheRound(t *testing.T) {
	start := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	hssStart := metav1.NewTime(start)
	round := &scanv1.ScanRequest{Round: 2, RequestedAt: hssStart, HSSRequestedAt: &hssStart}
	for _, tc := range []struct {
		name  string
		img   hss.Image
		ended bool
	}{
		{"scanned in the round", hss.Image{ScanStatus: hss.StatusSuccess, LastScanAt: start.Add(time.Minute)}, true},
		{"failed in the round", hss.Image{ScanStatus: hss.StatusFailed, LastScanAt: start.Add(time.Minute)}, true},
		{"ended within the precision of HSS's clock", hss.Image{ScanStatus: hss.StatusSuccess, LastScanAt: start.Add(-datePrecision / 2)}, true},
		{"scanned before the round", hss.Image{ScanStatus: hss.StatusSuccess, LastScanAt: start.Add(-time.Hour)}, false},
		{"scanning again after a scan in the round", hss.Image{ScanStatus: "scanning", LastScanAt: start.Add(time.Minute)}, false},
		{"never scanned", hss.Image{ScanStatus: "unscan"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(endedInRound(tc.img, round)).To(Equal(tc.ended))
		})
	}
}
