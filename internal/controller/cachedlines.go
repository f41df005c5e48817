package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// The manager's cache keeps every ImageScan, and status.images is most of
// one: about 8 KiB of a 20-image ImageScan's 10, so that thousands of
// ImageScans cost tens of MiB for lines the controller writes and never
// reads. The cache keeps in their place one line that marks them by a
// fingerprint. A pass that counted its round writes new lines only when
// their fingerprint differs; one that did not count keeps the mark, which
// leaves the server's lines as they are (the merge patch has no change to
// them). The mark never reaches the server: a patch is computed against
// the cached object or the pass's last write, and a mark stands for that
// base's own lines.
const linesMark = "lines kept by the API server only; fingerprint "

// markLines replaces obj's status.images with its mark, in the cache.
func markLines(obj *scanv1.ImageScan) {
	if len(obj.Status.Images) == 0 || isMark(obj.Status.Images) {
		return
	}
	obj.Status.Images = []scanv1.ImageStatus{{Message: linesMark + fingerprint(obj.Status.Images)}}
}

// sameLines is what a status write based on base says of its lines: base's
// own when lines is the cache's mark (a pass that did not count keeps what
// the last write left, which may be lines this pass wrote already) or when
// base marks these very lines (a pass that counted the same lines again
// writes nothing); else lines.
func sameLines(base, lines []scanv1.ImageStatus) []scanv1.ImageStatus {
	if isMark(lines) {
		return base
	}
	if isMark(base) && len(lines) > 0 && strings.TrimPrefix(base[0].Message, linesMark) == fingerprint(lines) {
		return base
	}
	return lines
}

func isMark(lines []scanv1.ImageStatus) bool {
	return len(lines) == 1 && lines[0].Name == "" && strings.HasPrefix(lines[0].Message, linesMark)
}

func fingerprint(lines []scanv1.ImageStatus) string {
	b, _ := json.Marshal(lines) // cannot fail: strings and numbers
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
