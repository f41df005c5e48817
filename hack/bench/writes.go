package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

// apiWrites are the write requests the API server answered for the
// operator's kinds, counted by the API server itself
// (apiserver_request_total), so that a write that changed nothing counts
// too. The benchmark itself only creates ImageScans, which are not counted.
type apiWrites struct {
	reportCreates, reportPatches, reportDeletes, scanPatches int
	// openReports are the creations, patches and deletions of OpenReports
	// Reports; openReportReads their reads (triage marking them again).
	openReports, openReportReads int
}

func (w apiWrites) total() int {
	return w.reportCreates + w.reportPatches + w.reportDeletes + w.scanPatches + w.openReports
}

func (w apiWrites) minus(o apiWrites) apiWrites {
	return apiWrites{w.reportCreates - o.reportCreates, w.reportPatches - o.reportPatches,
		w.reportDeletes - o.reportDeletes, w.scanPatches - o.scanPatches, w.openReports - o.openReports, w.openReportReads - o.openReportReads}
}

// readWrites scrapes the API server's metrics.
func readWrites(ctx context.Context, cfg *rest.Config) (apiWrites, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return apiWrites{}, err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return apiWrites{}, fmt.Errorf("scrape the API server: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return apiWrites{}, fmt.Errorf("parse the API server's metrics: %w", err)
	}
	var w apiWrites
	for _, m := range families["apiserver_request_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		n := int(m.GetCounter().GetValue())
		if labels["group"] == openreports.GroupName && labels["verb"] != "GET" && labels["verb"] != "LIST" && labels["verb"] != "WATCH" {
			w.openReports += n
		}
		if labels["group"] == openreports.GroupName && labels["verb"] == "GET" {
			w.openReportReads += n
		}
		if labels["group"] != scanv1.GroupVersion.Group {
			continue
		}
		switch res, sub, verb := labels["resource"], labels["subresource"], labels["verb"]; {
		case res == "imagereports" && verb == "POST", res == "imagereports" && verb == "CREATE":
			w.reportCreates += n
		case res == "imagereports" && (verb == "PATCH" || verb == "UPDATE" || verb == "APPLY"):
			w.reportPatches += n
		case res == "imagereports" && (verb == "DELETE" || verb == "DELETECOLLECTION"):
			w.reportDeletes += n
		case res == "imagescans" && sub == "status" && (verb == "PATCH" || verb == "UPDATE" || verb == "APPLY"):
			w.scanPatches += n
		}
	}
	return w, nil
}

// reportBytes is the size of every ImageReport and OpenReports Report as
// the API server returns it (managedFields included), about what etcd
// stores, and their counts. Each list is read a page at a time.
func reportBytes(ctx context.Context, c client.Client) (total, images, reports int, err error) {
	for _, list := range []client.ObjectList{&scanv1.ImageReportList{}, &openreports.ReportList{}} {
		next := ""
		for {
			if err := c.List(ctx, list, client.InNamespace(sandbox.Namespace), client.Limit(500), client.Continue(next)); err != nil {
				return 0, 0, 0, err
			}
			items, _ := meta.ExtractList(list)
			for _, o := range items {
				data, _ := json.Marshal(o)
				total += len(data)
			}
			if _, ok := list.(*openreports.ReportList); ok {
				reports += len(items)
			} else {
				images += len(items)
			}
			if next = list.(metav1.ListInterface).GetContinue(); next == "" {
				break
			}
		}
	}
	return total, images, reports, nil
}
