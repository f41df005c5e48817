package rounds

import (
	"strings"
	"testing"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

func TestNameImagesCountsWhatItCannotName(t *testing.T) {
	failed := scanv1.ImageReportStatus{Round: 1, ScanStatus: "failed", Message: "boom"}
	why := func(ms []member) string {
		t := tallyOf(ms, 1)
		return nameImages(t.named[troubleFailed], int(t.Summary().Failed))
	}
	ms := members(failed, failed, failed, failed, failed, failed, failed)
	if got := why(ms); got != "org/app:a (boom), org/app:b (boom), org/app:c (boom), org/app:d (boom), org/app:e (boom) and 2 more" {
		t.Errorf("seven: %q", got)
	}
	long := []member{
		{key: Key{Namespace: strings.Repeat("o", 256), Name: strings.Repeat("r", 128), Tag: strings.Repeat("t", 64)}, status: failed},
		{key: Key{Namespace: strings.Repeat("p", 256), Name: strings.Repeat("r", 128), Tag: strings.Repeat("t", 64)}, status: failed},
		{key: Key{Namespace: strings.Repeat("q", 256), Name: strings.Repeat("r", 128), Tag: strings.Repeat("t", 64)}, status: failed},
	}
	got := why(long)
	if !strings.HasPrefix(got, strings.Repeat("o", 256)) || !strings.HasSuffix(got, " and 2 more") || len(got) > 800 {
		t.Errorf("names at maximum length: %d bytes, %q...", len(got), got[len(got)-20:])
	}
}
func TestTruncateCutsOnACharacterBoundary(t *testing.T) {
	s := strings.Repeat("é", 600) // two bytes each
	got := Truncate(s, 1024)
	if len(got) > 1024 || !strings.HasSuffix(got, "...") || !utf8Valid(got) {
		t.Errorf("%d bytes, valid %v", len(got), utf8Valid(got))
	}
	if Truncate("short", 10) != "short" {
		t.Error("a short text is kept")
	}
}
func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
