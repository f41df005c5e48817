package controller

import (
	"encoding/hex"
	"maps"
	"strings"
	"time"
	"unique"

	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/rounds"
)

// scanIndex is what a walk of HSS's image list keeps of each image it
// lists: its latest scan, packed, under its identity. A walk may list every
// image of a registry, so an entry keeps only what a member's result is made
// of, in about a third of the bytes of an hss.Image: digests as their 32
// bytes, the few words HSS uses for states and ratings shared, no names
// beyond the key. The feed and an ImageScan's own walk own one each.
type scanIndex map[string]scanEntry

type scanEntry struct {
	imageID, digest packedDigest
	// status, severity and failCode take few values: one copy each is
	// shared by every entry.
	status, severity, failCode unique.Handle[string]
	failDesc                   string
	lastScanAt                 int64 // Unix nanoseconds; 0: never scanned
	findings                   hss.Findings
}

func (x scanIndex) put(img hss.Image) { x.putAt(rounds.KeyOfImage(img).Index(), img) }

// putAt is put under img's index key, computed by the caller.
func (x scanIndex) putAt(index string, img hss.Image) {
	e := scanEntry{
		imageID: packDigest(img.ImageID), digest: packDigest(img.Digest),
		status: unique.Make(img.ScanStatus), severity: unique.Make(img.SeverityLevel), failCode: unique.Make(img.ScanFailedCode),
		failDesc: img.ScanFailedDesc, findings: img.Findings,
	}
	if !img.LastScanAt.IsZero() {
		e.lastScanAt = img.LastScanAt.UnixNano()
	}
	x[index] = e
}

// get returns what the index holds of k's image as an hss.Image: its key,
// its identity and its latest scan.
func (x scanIndex) get(k rounds.Key) (hss.Image, bool) {
	e, ok := x[k.Index()]
	if !ok {
		return hss.Image{}, false
	}
	return hss.Image{
		Namespace: k.Namespace, Name: k.Name, Tag: k.Tag, InstanceID: k.InstanceID,
		ImageID: e.imageID.String(), Digest: e.digest.String(),
		ScanStatus: e.status.Value(), SeverityLevel: e.severity.Value(), ScanFailedCode: e.failCode.Value(),
		ScanFailedDesc: e.failDesc, LastScanAt: e.scanTime(), Findings: e.findings,
	}, true
}

func (e scanEntry) scanTime() time.Time {
	if e.lastScanAt == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.lastScanAt).UTC()
}

// packedDigest holds "sha256:" and 64 lowercase hex digits as the 32 bytes
// they spell, and anything else as it came.
type packedDigest struct {
	sum  [32]byte
	text string
}

const sha256Prefix = "sha256:"

func packDigest(s string) packedDigest {
	var d packedDigest
	digits, ok := strings.CutPrefix(s, sha256Prefix)
	if ok && len(digits) == 2*len(d.sum) {
		if _, err := hex.Decode(d.sum[:], []byte(digits)); err == nil && d.sum != [32]byte{} && hex.EncodeToString(d.sum[:]) == digits {
			return d
		}
	}
	return packedDigest{text: s}
}

func (d packedDigest) String() string {
	if d.sum == [32]byte{} {
		return d.text
	}
	return sha256Prefix + hex.EncodeToString(d.sum[:])
}

// scanIndexes are indexes listed at different times, newest first: a key's
// newest listing is its latest scan. The feed publishes each walk's listing
// as one, so that a walk copies nothing it kept and a reader may hold the
// answer it got while the feed moves on.
type scanIndexes []scanIndex

func (xs scanIndexes) get(k rounds.Key) (hss.Image, bool) {
	for _, x := range xs {
		if img, ok := x.get(k); ok {
			return img, true
		}
	}
	return hss.Image{}, false
}

// has says whether an index key is listed in any of them.
func (xs scanIndexes) has(index string) bool {
	for _, x := range xs {
		if _, ok := x[index]; ok {
			return true
		}
	}
	return false
}

// merged is one index of older and newer, newer's listing winning.
func merged(older, newer scanIndex) scanIndex {
	out := make(scanIndex, len(older)+len(newer))
	maps.Copy(out, older)
	maps.Copy(out, newer)
	return out
}
