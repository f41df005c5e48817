package simulator

import "time"

// Filter is the selection shared by list and batch-scan with operate_all, so
// the two always agree on which images a set of criteria names.
//
// Semantics (the simulator's choice where the API reference is silent):
// string fields match exactly when set (an empty Type matches every type,
// as the registry image list allows); LatestVersion keeps only the most
// recently updated tag of each (type, namespace, name) repository; MaxSize
// keeps images no larger than the value; the time bounds are inclusive, in
// Unix milliseconds, on latest_update_time and latest_scan_time, and an image
// never scanned fails any scan-time bound.
type Filter struct {
	Type          string
	Namespace     string
	Name          string
	Version       string
	ScanStatus    string
	InstanceID    string
	LatestVersion bool
	MaxSize       *int64
	UpdatedFrom   *int64
	UpdatedTo     *int64
	ScannedFrom   *int64
	ScannedTo     *int64
}

// view is one visible image with its derived fields at a moment in time.
type view struct {
	Image
	latest bool
}

func (f Filter) match(v view) bool {
	return exact(f.Type, v.Type) &&
		exact(f.Namespace, v.Namespace) &&
		exact(f.Name, v.Name) &&
		exact(f.Version, v.Tag) &&
		exact(f.ScanStatus, string(v.Scan.Status)) &&
		exact(f.InstanceID, v.InstanceID) &&
		(!f.LatestVersion || v.latest) &&
		(f.MaxSize == nil || v.Size <= *f.MaxSize) &&
		within(v.UpdatedAt, f.UpdatedFrom, f.UpdatedTo) &&
		(f.ScannedFrom == nil && f.ScannedTo == nil ||
			!v.Scan.LastScanAt.IsZero() && within(v.Scan.LastScanAt, f.ScannedFrom, f.ScannedTo))
}

// matchFixed is match on the fields that do not change as scans run: a
// record that fails it fails match.
func (f Filter) matchFixed(r *record) bool {
	img := &r.img
	return exact(f.Type, img.Type) &&
		exact(f.Namespace, img.Namespace) &&
		exact(f.Name, img.Name) &&
		exact(f.Version, img.Tag) &&
		exact(f.InstanceID, img.InstanceID) &&
		(!f.LatestVersion || r.latest) &&
		(f.MaxSize == nil || img.Size <= *f.MaxSize) &&
		within(img.UpdatedAt, f.UpdatedFrom, f.UpdatedTo)
}

func exact(want, got string) bool { return want == "" || want == got }

func within(t time.Time, from, to *int64) bool {
	ms := t.UnixMilli()
	return (from == nil || ms >= *from) && (to == nil || ms <= *to)
}

// markLatest sets latest on the most recently updated tag of each
// repository; ties go to the higher id so the answer is stable.
func markLatest(records []*record) {
	type repo struct{ typ, ns, name string }
	best := map[repo]*record{}
	for _, rec := range records {
		rec.latest = false
		v := &rec.img
		r := repo{v.Type, v.Namespace, v.Name}
		b, ok := best[r]
		if !ok || v.UpdatedAt.After(b.img.UpdatedAt) ||
			v.UpdatedAt.Equal(b.img.UpdatedAt) && v.ID > b.img.ID {
			best[r] = rec
		}
	}
	for _, rec := range best {
		rec.latest = true
	}
}
