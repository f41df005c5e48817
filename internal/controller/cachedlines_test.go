package controller

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

// The cache keeps a mark for status.images, and the status patch computed
// against it writes the lines when they changed, clears them when a
// counted round has none, and leaves them alone otherwise.
func TestMarkedLinesPatchOnlyWhatChanged(t *testing.T) {
	lines := []scanv1.ImageStatus{
		{Namespace: "team", Name: "app", Tag: "v1", Result: scanv1.ResultFailed, Message: "download failed"},
		{Namespace: "team", Name: "app", Tag: "v2", Result: scanv1.ResultSucceeded},
	}
	other := append([]scanv1.ImageStatus{}, lines...)
	other[1].Result = scanv1.ResultPending

	cached := &scanv1.ImageScan{Status: scanv1.ImageScanStatus{Images: append([]scanv1.ImageStatus{}, lines...)}}
	markLines(cached)
	if !isMark(cached.Status.Images) {
		t.Fatalf("cached lines: %+v", cached.Status.Images)
	}

	for _, tc := range []struct {
		name   string
		images []scanv1.ImageStatus // what the pass writes
		want   string               // the patch's images, "" when it has none
	}{
		{"a pass that did not count keeps the mark", cached.Status.Images, ""},
		{"the same lines counted again", lines, ""},
		{"changed lines", other, "changed"},
		{"a counted round with no lines", nil, "null"},
	} {
		next := cached.DeepCopy()
		next.Status.Images = sameLines(cached.Status.Images, tc.images)
		data, err := client.MergeFrom(cached).Data(next)
		if err != nil {
			t.Fatal(err)
		}
		var patch struct {
			Status map[string]json.RawMessage `json:"status"`
		}
		if err := json.Unmarshal(data, &patch); err != nil {
			t.Fatal(err)
		}
		got, ok := patch.Status["images"]
		switch {
		case tc.want == "" && ok, tc.want != "" && !ok:
			t.Errorf("%s: patch %s", tc.name, data)
		case tc.want == "null" && string(got) != "null":
			t.Errorf("%s: images %s, want null", tc.name, got)
		case tc.want == "changed" && isMark(next.Status.Images):
			t.Errorf("%s: the mark would be written", tc.name)
		}
	}

	// A pass that wrote lines and then writes without counting keeps them:
	// the mark stands for what its last write left.
	written := cached.DeepCopy()
	written.Status.Images = other
	next := written.DeepCopy()
	next.Status.Images = sameLines(written.Status.Images, cached.Status.Images)
	if data, err := client.MergeFrom(written).Data(next); err != nil || string(data) != "{}" {
		t.Errorf("keeping the lines of the pass's own write: patch %s, %v", data, err)
	}

	empty := &scanv1.ImageScan{}
	markLines(empty)
	if empty.Status.Images != nil {
		t.Errorf("no lines are marked as none: %+v", empty.Status.Images)
	}
}
