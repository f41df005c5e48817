package simulator

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
)

// inventory holds the images and their scan jobs behind one lock.
type inventory struct {
	mu      sync.Mutex
	nextID  int64
	records map[key]*record
}

type record struct {
	img Image
	job scanJob
}

// AddImages adds images to the inventory. An image with the same type,
// namespace, name and tag as an existing one replaces it but keeps its id and
// scan state.
func (s *Server) AddImages(imgs ...Image) {
	inv := &s.inv
	inv.mu.Lock()
	defer inv.mu.Unlock()
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

// visible returns the synchronised images as the API sees them now, ordered
// by id so paging is stable. The caller holds inv.mu.
func (s *Server) visible() ([]view, map[int64]*record) {
	now := s.clock.Now()
	views := make([]view, 0, len(s.inv.records))
	byID := make(map[int64]*record, len(s.inv.records))
	for _, r := range s.inv.records {
		if r.img.Unsynced {
			continue
		}
		v := view{Image: r.img}
		v.Scan = r.job.state(now, s.timing)
		if !v.Scan.LastScanAt.IsZero() {
			v.Scan.LastScanAt = v.Scan.LastScanAt.Add(r.img.StampSkew)
		}
		if v.Scan.FailedDesc != "" && r.img.FailureText != "" {
			v.Scan.FailedDesc = r.img.FailureText
		}
		views = append(views, v)
		byID[v.ID] = r
	}
	slices.SortFunc(views, func(a, b view) int { return cmp.Compare(a.ID, b.ID) })
	markLatest(views)
	return views, byID
}

// selectImages returns the visible images matching f.
func (s *Server) selectImages(f Filter) []view {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	views, _ := s.visible()
	return slices.DeleteFunc(views, func(v view) bool { return !f.match(v) })
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
