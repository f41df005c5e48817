package simulator

import (
	"net/url"
	"strconv"
)

// Paging bounds of the list API.
const (
	maxOffset    = 2000000
	minLimit     = 10
	maxLimit     = 200
	defaultLimit = 10
)

// listQuery is a parsed swr-repository query.
type listQuery struct {
	filter        Filter
	offset, limit int
}

// parseListQuery reads the list API's query parameters. instance_name,
// has_vul, has_malicious_file, has_unsafe_setting and enterprise_project_id
// are accepted and ignored: the simulator models no instance names or
// findings.
func parseListQuery(q url.Values) (listQuery, *apiError) {
	return parseQuery(q, minLimit, false)
}

// parseQuery reads a list's filters and paging; lowest is the list's least
// limit, and with anyType an image_type of "any" selects every type.
func parseQuery(q url.Values, lowest int, anyType bool) (listQuery, *apiError) {
	lq := listQuery{limit: defaultLimit}
	f := &lq.filter
	var e *apiError
	if t := q.Get("image_type"); !(anyType && t == "any") {
		if f.Type, e = imageType(t); e != nil {
			return lq, e
		}
	}
	f.Namespace, f.Name, f.Version = q.Get("namespace"), q.Get("image_name"), q.Get("image_version")
	f.ScanStatus, f.InstanceID = q.Get("scan_status"), q.Get("instance_id")
	if v := q.Get("latest_version"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return lq, badRequest("latest_version must be true or false")
		}
		f.LatestVersion = b
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{
		{"image_size", &f.MaxSize},
		{"start_latest_update_time", &f.UpdatedFrom},
		{"end_latest_update_time", &f.UpdatedTo},
		{"start_latest_scan_time", &f.ScannedFrom},
		{"end_latest_scan_time", &f.ScannedTo},
	} {
		if *p.dst, e = optInt64(q, p.name); e != nil {
			return lq, e
		}
	}
	lq.offset, lq.limit, e = paging(q, lowest)
	return lq, e
}

// paging reads a list's offset (0 to 2,000,000) and limit (lowest to 200,
// 10 when absent), as every list of the API takes them.
func paging(q url.Values, lowest int) (offset, limit int, e *apiError) {
	if offset, e = intIn(q, "offset", 0, 0, maxOffset); e != nil {
		return 0, 0, e
	}
	if limit, e = intIn(q, "limit", defaultLimit, lowest, maxLimit); e != nil {
		return 0, 0, e
	}
	return offset, limit, nil
}

func imageType(t string) (string, *apiError) {
	if t == "" {
		return "", badRequest("image_type is required")
	}
	if !validType(t) {
		return "", badRequest("image_type must be %s, %s or %s", TypePrivate, TypeShared, TypeInstance)
	}
	return t, nil
}

func optInt64(q url.Values, name string) (*int64, *apiError) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badRequest("%s must be an integer", name)
	}
	return &n, nil
}

func intIn(q url.Values, name string, def, lo, hi int) (int, *apiError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}
