package simulator

import (
	"net/http"
	"strings"
)

// route is where a request goes: the operation and its path parameters.
type route struct {
	op      Op
	project string
	imageID string
	vulID   string
}

// routeOf matches the paths the SDK's hss/v5 package sends for the calls
// the simulator serves. Anything
// else, including a known path with the wrong method, is OpUnknown.
func routeOf(method, path string) route {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(seg) == 4 && seg[0] == "v5" && seg[1] != "" && seg[2] == "images" && seg[3] == "vulnerabilities" && method == http.MethodGet {
		return route{op: OpCatalogue, project: seg[1]}
	}
	if len(seg) < 4 || seg[0] != "v5" || seg[1] == "" || seg[2] != "image" {
		return route{op: OpUnknown}
	}
	r := route{op: OpUnknown, project: seg[1]}
	switch {
	case len(seg) == 4 && seg[3] == "batch-scan" && method == http.MethodPost:
		r.op = OpBatchScan
	case len(seg) == 4 && seg[3] == "synchronize" && method == http.MethodPost:
		r.op = OpSynchronize
	case len(seg) == 4 && seg[3] == "swr-repository" && method == http.MethodGet:
		r.op = OpListImages
	case len(seg) == 4 && seg[3] == "tasks" && method == http.MethodGet:
		r.op = OpListTasks
	case len(seg) == 5 && seg[3] == "image-scan" && seg[4] == "tasks" && method == http.MethodPost:
		r.op = OpScanTask
	case len(seg) == 5 && seg[3] == "image-sync" && seg[4] == "tasks" && method == http.MethodPost:
		r.op = OpSyncTask
	case len(seg) == 5 && seg[3] == "registries" && seg[4] == "images" && method == http.MethodGet:
		r.op = OpRegistryImages
	case len(seg) == 5 && seg[3] != "" && seg[4] == "files-statistics" && method == http.MethodGet:
		r.op, r.imageID = OpFileStats, seg[3]
	case len(seg) == 5 && seg[3] != "" && seg[4] == "vulnerabilities" && method == http.MethodGet:
		r.op, r.imageID = OpVulnerabilities, seg[3]
	case len(seg) == 5 && seg[3] == "vulnerability" && seg[4] == "handle" && method == http.MethodPost:
		r.op = OpHandle
	case len(seg) == 6 && seg[3] == "vulnerability" && seg[4] != "" && seg[5] == "cve" && method == http.MethodGet:
		r.op, r.vulID = OpCVEs, seg[4]
	}
	return r
}
