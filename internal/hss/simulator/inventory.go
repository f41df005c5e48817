package simulator

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"
)

// inventory holds the images and their scan jobs behind one lock.
type inventory struct {
	mu      sync.Mutex
	nextID  int64
	records map[key]*record
	// order is the synchronised records by id, with their latest marks;
	// nil after any change that could reorder or remark them, and rebuilt
	// by the next read, so that a list page costs one pass over the
	// inventory, not a sort of it.
	order []*record
	// byNamespace holds order's records per organisation, built with it:
	// most calls name one, and need not walk the others.
	byNamespace map[string][]*record
}

type record struct {
	img    Image
	job    scanJob
	latest bool
}

// changed drops the cached order; the caller holds mu.
func (inv *inventory) changed() { inv.order, inv.byNamespace = nil, nil }

// AddImages adds images to the inventory. An image with the same type,
// namespace, name and tag as an existing one replaces it but keeps its id and
// scan state.
func (s *Server) AddImages(imgs ...Image) {
	inv := &s.inv
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.changed()
	for _, img := range imgs {
		img = withDefaults(img)
		img.Scan = ScanState{}
		if old, ok := inv.records[img.key()]; ok {
			img.ID = old.img.ID
			old.img = img
			continue
		}
		if img.ID == 0 {
			img.ID = inv.nextID + 1
		}
		inv.nextID = max(inv.nextID, img.ID)
		inv.records[img.key()] = &record{img: img}
	}
}

// RemoveImage deletes an image from the inventory, as when it is deleted
// from SWR: HSS stops listing it. It reports whether the image was there.
func (s *Server) RemoveImage(typ, namespace, name, tag string) bool {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	k := key{typ, namespace, name, tag}
	_, ok := s.inv.records[k]
	delete(s.inv.records, k)
	s.inv.changed()
	return ok
}

// Images returns every image, synchronised or not, with its scan state now,
// ordered by id.
func (s *Server) Images() []Image {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	now := s.clock.Now()
	out := make([]Image, 0, len(s.inv.records))
	for _, r := range s.inv.records {
		img := r.img
		img.Scan = r.job.state(now, s.timing)
		out = append(out, img)
	}
	slices.SortFunc(out, func(a, b Image) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Lookup returns one image with its scan state now.
func (s *Server) Lookup(typ, namespace, name, tag string) (Image, bool) {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	r, ok := s.inv.records[key{typ, namespace, name, tag}]
	if !ok {
		return Image{}, false
	}
	img := r.img
	img.Scan = r.job.state(s.clock.Now(), s.timing)
	return img, true
}

// ordered returns the synchronised records by id, marking each repository's
// latest tag when it rebuilds them. The caller holds inv.mu.
func (s *Server) ordered() []*record {
	inv := &s.inv
	if inv.order != nil {
		return inv.order
	}
	order := make([]*record, 0, len(inv.records))
	for _, r := range inv.records {
		if !r.img.Unsynced {
			order = append(order, r)
		}
	}
	slices.SortFunc(order, func(a, b *record) int { return cmp.Compare(a.img.ID, b.img.ID) })
	markLatest(order)
	inv.order, inv.byNamespace = order, map[string][]*record{}
	for _, r := range order {
		inv.byNamespace[r.img.Namespace] = append(inv.byNamespace[r.img.Namespace], r)
	}
	return order
}

// eachMatch hands fn the visible images f matches, by id, until fn says
// stop. It looks at one organisation's images when f names one, and works
// out an image's scan state only when its fixed fields match, so that a
// call costs what it may match, not the inventory. The caller holds inv.mu.
func (s *Server) eachMatch(f Filter, now time.Time, fn func(*record, view) bool) {
	candidates := s.ordered()
	if f.Namespace != "" {
		candidates = s.inv.byNamespace[f.Namespace]
	}
	for _, r := range candidates {
		if !f.matchFixed(r) {
			continue
		}
		if v := s.viewOf(r, now); f.match(v) && !fn(r, v) {
			return
		}
	}
}

// visibleRecord is the synchronised image k names. The caller holds inv.mu.
func (s *Server) visibleRecord(k key) (*record, bool) {
	r, ok := s.inv.records[k]
	if !ok || r.img.Unsynced {
		return nil, false
	}
	return r, true
}

// viewOf is one record as the API shows it now.
func (s *Server) viewOf(r *record, now time.Time) view {
	v := view{Image: r.img, latest: r.latest}
	v.Scan = r.job.state(now, s.timing)
	if !v.Scan.LastScanAt.IsZero() {
		v.Scan.LastScanAt = v.Scan.LastScanAt.Add(r.img.StampSkew)
	}
	if v.Scan.FailedDesc != "" && r.img.FailureText != "" {
		v.Scan.FailedDesc = r.img.FailureText
	}
	return v
}

// selectImages returns the visible images matching f.
func (s *Server) selectImages(f Filter) []view {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	var out []view
	s.eachMatch(f, s.clock.Now(), func(_ *record, v view) bool {
		out = append(out, v)
		return true
	})
	return out
}

// pageImages returns the limit visible images matching f from offset, and
// how many match in all, keeping only the page.
func (s *Server) pageImages(f Filter, offset, limit int) ([]view, int) {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	var page []view
	total := 0
	s.eachMatch(f, s.clock.Now(), func(_ *record, v view) bool {
		if total >= offset && len(page) < limit {
			page = append(page, v)
		}
		total++
		return true
	})
	return page, total
}

// exactImage returns the visible image f names by type, namespace, name and
// version, without walking the inventory.
func (s *Server) exactImage(f Filter) []view {
	img, ok := s.Lookup(f.Type, f.Namespace, f.Name, f.Version)
	if !ok || img.Unsynced {
		return nil
	}
	return []view{{Image: img}}
}

// withDefaults fills the fields an inventory may leave out.
func withDefaults(img Image) Image {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s:%s", img.Type, img.Namespace, img.Name, img.Tag)))
	if img.ImageID == "" {
		img.ImageID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if img.FilesNum == 0 {
		img.FilesNum = 50 + int64(binary.BigEndian.Uint16(sum[:2])%20000)
	}
	if img.FilesSize == 0 {
		img.FilesSize = max(img.Size, 1)
	}
	return img
}
