// Package rounds is the model of an ImageScan's rounds, decided without an
// API server or HSS: an image's key and its report's name, a round's phase,
// an image's result in it, and the tally that turns a round's members into
// status (summary, lines, messages). The controller reads and writes the
// objects; what they mean is decided here, in functions tested as tables.
package rounds

import (
	"fmt"
	"strings"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// Key identifies an image within one image type.
type Key struct {
	Namespace, Name, Tag, InstanceID string
}

func (k Key) String() string {
	if k.InstanceID != "" {
		return fmt.Sprintf("%s/%s/%s:%s", k.InstanceID, k.Namespace, k.Name, k.Tag)
	}
	return fmt.Sprintf("%s/%s:%s", k.Namespace, k.Name, k.Tag)
}

// KeyOfImage is the key of an image HSS lists.
func KeyOfImage(img hss.Image) Key {
	return Key{img.Namespace, img.Name, img.Tag, img.InstanceID}
}

// KeyOfRef is the key of an image a spec names.
func KeyOfRef(r scanv1.ImageReference) Key {
	return Key{r.Namespace, r.Name, r.Tag, r.InstanceID}
}

// KeyOfRequest is the key of an image a scan request names.
func KeyOfRequest(r hss.ImageRef) Key {
	return Key{r.Namespace, r.Name, r.Tag, r.InstanceID}
}

// Index is k's fields joined by a byte no name holds, so that no two keys
// meet: the key of the maps that index images.
func (k Key) Index() string {
	return strings.Join([]string{k.Namespace, k.Name, k.Tag, k.InstanceID}, "\x00")
}
