package rounds

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
)

func TestReportNamesAreValidStableAndDistinct(t *testing.T) {
	long := Key{Namespace: strings.Repeat("Org_", 64), Name: strings.Repeat("r", 128), Tag: strings.Repeat("T.", 32)}
	cases := []struct {
		scan string
		typ  scanv1.ImageType
		k    Key
	}{
		{"web", "", Key{Namespace: "payments", Name: "api", Tag: "1.0.0"}},
		{"web", scanv1.SharedImage, Key{Namespace: "payments", Name: "api", Tag: "1.0.0"}},
		{"web", "", Key{Namespace: "payments", Name: "api", Tag: "1_0_0"}},
		{"web", "", Key{Namespace: "payments", Name: "api", Tag: "1.0.0", InstanceID: "inst"}},
		{"web", "", Key{Namespace: "payments-api", Name: "1", Tag: "0.0"}},
		{strings.Repeat("s", 253), "", long},
		{strings.Repeat("s", 253), "", Key{Namespace: long.Namespace, Name: long.Name, Tag: long.Tag + "x"}},
		{"--", "", Key{Namespace: "_", Name: "_", Tag: "_"}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		name := ReportName(tc.scan, tc.typ, tc.k)
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("%q is not a DNS label: %v", name, errs)
		}
		if seen[name] {
			t.Errorf("%q twice", name)
		}
		seen[name] = true
		if ReportName(tc.scan, tc.typ, tc.k) != name {
			t.Errorf("%q is not stable", name)
		}
		for k, v := range ReportLabels(tc.scan, tc.k) {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("label %s=%q: %v", k, v, errs)
			}
		}
	}
	if got := ReportName("web", scanv1.PrivateImage, Key{Namespace: "payments", Name: "api", Tag: "1.0.0"}); !strings.HasPrefix(got, "web-payments-api-1-0-0-") {
		t.Errorf("readable start: %q", got)
	}
	if LabelValue("web") != "web" || LabelValue(strings.Repeat("a", 64)) == LabelValue(strings.Repeat("a", 65)) {
		t.Error("labels: valid values are kept as they are, long ones stay distinct")
	}
}
