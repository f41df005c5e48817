package hss

import (
	"reflect"
	"strings"
)

// criteria is a Filter in the API's words. Every call that takes selection
// criteria (the two image lists, batch-scan's operate_all body and the scan
// task's query) names each criterion the same way, with the same type, so
// one mapping serves them all: into copies each criterion to the request's
// field of the same JSON name.
type criteria struct {
	Namespace             *string `json:"namespace"`
	ImageName             *string `json:"image_name"`
	ImageVersion          *string `json:"image_version"`
	ScanStatus            *string `json:"scan_status"`
	InstanceID            *string `json:"instance_id"`
	LatestVersion         *bool   `json:"latest_version"`
	ImageSize             *int64  `json:"image_size"`
	StartLatestUpdateTime *int64  `json:"start_latest_update_time"`
	EndLatestUpdateTime   *int64  `json:"end_latest_update_time"`
	StartLatestScanTime   *int64  `json:"start_latest_scan_time"`
	EndLatestScanTime     *int64  `json:"end_latest_scan_time"`
}

func criteriaOf(f Filter) criteria {
	return criteria{
		Namespace: optString(f.Namespace), ImageName: optString(f.ImageName), ImageVersion: optString(f.Tag),
		ScanStatus: optString(f.ScanStatus), InstanceID: optString(f.InstanceID), LatestVersion: optTrue(f.LatestVersionOnly),
		ImageSize:             f.ImageSize,
		StartLatestUpdateTime: millis(f.UpdatedAfter), EndLatestUpdateTime: millis(f.UpdatedBefore),
		StartLatestScanTime: millis(f.ScannedAfter), EndLatestScanTime: millis(f.ScannedBefore),
	}
}

// into sets, on the SDK request or body dst points to, each criterion c
// holds, and returns the JSON names of those dst has no field for: a call
// must not widen its selection by dropping one unseen.
func (c criteria) into(dst any) (unexpressed []string) {
	src, out := reflect.ValueOf(c), reflect.ValueOf(dst).Elem()
	fields := jsonFields(out.Type())
	for i := range src.NumField() {
		v := src.Field(i)
		if v.IsNil() {
			continue
		}
		name := jsonName(src.Type().Field(i))
		j, ok := fields[name]
		if !ok || out.Field(j).Type() != v.Type() {
			unexpressed = append(unexpressed, name)
			continue
		}
		out.Field(j).Set(v)
	}
	return unexpressed
}

// jsonFields indexes a struct's fields by their JSON name.
func jsonFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		fields[jsonName(t.Field(i))] = i
	}
	return fields
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}
