package rounds

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// ReportName is the ImageReport's name for one image of an ImageScan: the
// readable start of "<imagescan>-<organisation>-<repository>-<tag>" in
// DNS-1123 characters, then a hash of the exact values and the kind of
// repository. The same image of the same ImageScan always gets the same
// name, and two images (the same name in a shared and a private repository
// too) never share one, however long or alike their names are. At most 63
// characters, so it is also a valid label value.
func ReportName(scan string, typ scanv1.ImageType, k Key) string {
	const hashLen, maxLen = 16, validation.DNS1123LabelMaxLength
	sum := sha256.Sum256([]byte(strings.Join([]string{scan, string(typ), k.InstanceID, k.Namespace, k.Name, k.Tag}, "\x00")))
	readable := dnsLabelChars(strings.Join([]string{scan, k.Namespace, k.Name, k.Tag}, "-"))
	readable = strings.Trim(readable[:min(len(readable), maxLen-hashLen-1)], "-")
	if readable == "" {
		readable = "image"
	}
	return readable + "-" + hex.EncodeToString(sum[:])[:hashLen]
}

// dnsLabelChars lowercases s and replaces every character a DNS label may
// not hold, collapsing runs into one dash.
func dnsLabelChars(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return b.String()
}

// LabelValue is v where it is a valid label value, else its readable start
// in label characters followed by a hash of v, so that distinct values stay
// distinct.
func LabelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	const hashLen = 10
	var b strings.Builder
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	readable := b.String()
	readable = readable[:min(len(readable), validation.LabelValueMaxLength-hashLen-1)]
	readable = strings.TrimFunc(readable, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	sum := sha256.Sum256([]byte(v))
	h := hex.EncodeToString(sum[:])[:hashLen]
	if readable == "" {
		return h
	}
	return readable + "-" + h
}

// ReportLabels are the labels that let a user select reports.
func ReportLabels(scan string, k Key) map[string]string {
	return map[string]string{
		scanv1.LabelImageScan:    LabelValue(scan),
		scanv1.LabelOrganization: LabelValue(k.Namespace),
		scanv1.LabelRepository:   LabelValue(k.Name),
		scanv1.LabelTag:          LabelValue(k.Tag),
	}
}
