package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, func(e *testenv.Env) { env = e }) }

func validScan() *scanv1.ImageScan {
	return &scanv1.ImageScan{
		ObjectMeta: metav1.ObjectMeta{Name: "scan", Namespace: "default"},
		Spec: scanv1.ImageScanSpec{
			ImageType: scanv1.PrivateImage,
			Images:    []scanv1.ImageReference{{Namespace: "team", Name: "app", Tag: "v1"}},
		},
	}
}

func ptrTime(s string) *metav1.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return &metav1.Time{Time: t}
}

func TestAdmissionRejectsInvalidSpecs(t *testing.T) {
	testenv.Require(t)
	cases := []struct {
		name    string
		mutate  func(*scanv1.ImageScan)
		message string
	}{
		{"neither images nor selector", func(s *scanv1.ImageScan) { s.Spec.Images = nil },
			"set exactly one of spec.images"},
		{"both images and selector", func(s *scanv1.ImageScan) { s.Spec.Selector = &scanv1.ImageSelector{} },
			"set exactly one of spec.images"},
		{"unknown image type", func(s *scanv1.ImageScan) { s.Spec.ImageType = "local_image" },
			`spec.imageType: Unsupported value: "local_image"`},
		{"unknown scan status", func(s *scanv1.ImageScan) {
			s.Spec.Images, s.Spec.Selector = nil, &scanv1.ImageSelector{ScanStatus: "done"}
		}, `spec.selector.scanStatus: Unsupported value: "done"`},
		{"namespace too long", func(s *scanv1.ImageScan) { s.Spec.Images[0].Namespace = strings.Repeat("n", 257) },
			"spec.images[0].namespace: Too long"},
		{"name too long", func(s *scanv1.ImageScan) { s.Spec.Images[0].Name = strings.Repeat("n", 129) },
			"spec.images[0].name: Too long"},
		{"tag too long", func(s *scanv1.ImageScan) { s.Spec.Images[0].Tag = strings.Repeat("t", 65) },
			"spec.images[0].tag: Too long"},
		{"empty tag", func(s *scanv1.ImageScan) { s.Spec.Images[0].Tag = "" },
			"spec.images[0].tag"},
		{"instance image without instanceID", func(s *scanv1.ImageScan) { s.Spec.ImageType = scanv1.InstanceImage },
			"every entry of spec.images needs instanceID when imageType is instance_image"},
		{"updatedAfter not before updatedBefore", func(s *scanv1.ImageScan) {
			s.Spec.Images = nil
			s.Spec.Selector = &scanv1.ImageSelector{
				UpdatedAfter: ptrTime("2026-02-01T00:00:00Z"), UpdatedBefore: ptrTime("2026-01-01T00:00:00Z")}
		}, "selector.updatedAfter must be before selector.updatedBefore"},
		{"lastScannedAfter not before lastScannedBefore", func(s *scanv1.ImageScan) {
			s.Spec.Images = nil
			s.Spec.Selector = &scanv1.ImageSelector{
				LastScannedAfter: ptrTime("2026-02-01T00:00:00Z"), LastScannedBefore: ptrTime("2026-02-01T00:00:00Z")}
		}, "selector.lastScannedAfter must be before selector.lastScannedBefore"},
		{"interval below 5m", func(s *scanv1.ImageScan) { s.Spec.Interval = &metav1.Duration{Duration: time.Minute} },
			"interval must be at least 5m"},
		{"timeout below 30m", func(s *scanv1.ImageScan) { s.Spec.Timeout = &metav1.Duration{Duration: 10 * time.Minute} },
			"timeout must be at least 30m"},
		{"too many images", func(s *scanv1.ImageScan) {
			s.Spec.Images = make([]scanv1.ImageReference, scanv1.MaxImages+1)
			for i := range s.Spec.Images {
				s.Spec.Images[i] = scanv1.ImageReference{Namespace: "n", Name: "a", Tag: fmt.Sprint(i)}
			}
		}, "spec.images: Too many"},
		{"negative image size", func(s *scanv1.ImageScan) {
			size := int64(-1)
			s.Spec.Images, s.Spec.Selector = nil, &scanv1.ImageSelector{ImageSize: &size}
		}, "spec.selector.imageSize"},
		{"endpoint not a URL", func(s *scanv1.ImageScan) { s.Spec.Endpoint = "hss.example.com" },
			"spec.endpoint"},
		{"endpoint with a user", func(s *scanv1.ImageScan) { s.Spec.Endpoint = "https://platform@hss.example.com" },
			"spec.endpoint"},
		{"endpoint with a path", func(s *scanv1.ImageScan) { s.Spec.Endpoint = "https://hss.example.com/metadata" },
			"spec.endpoint"},
		{"endpoint with a query", func(s *scanv1.ImageScan) { s.Spec.Endpoint = "https://hss.example.com?x=1" },
			"spec.endpoint"},
		{"both a Secret and a ServiceAccount", func(s *scanv1.ImageScan) {
			s.Spec.CredentialsRef, s.Spec.ServiceAccountName = &scanv1.SecretReference{Name: "keys"}, "scanner"
		}, "set at most one of spec.credentialsRef"},
		{"a ServiceAccount name that is not a name", func(s *scanv1.ImageScan) { s.Spec.ServiceAccountName = "../etc" },
			"spec.serviceAccountName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := validScan()
			tc.mutate(obj)
			err := env.Client.Create(context.Background(), obj, client.DryRunAll)
			if err == nil {
				t.Fatalf("expected rejection containing %q, got none", tc.message)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("rejection %q does not contain %q", err, tc.message)
			}
		})
	}
}

func TestAdmissionAcceptsValidSpecs(t *testing.T) {
	testenv.Require(t)
	obj := validScan()
	obj.Spec.Interval = &metav1.Duration{Duration: 24 * time.Hour}
	obj.Spec.Timeout = &metav1.Duration{Duration: 30 * time.Minute}
	if err := env.Client.Create(context.Background(), obj, client.DryRunAll); err != nil {
		t.Fatalf("valid object rejected: %v", err)
	}
}

func TestSamplesAreAccepted(t *testing.T) {
	testenv.Require(t)
	dir := filepath.Join(testenv.Root(), "config", "samples")
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	readYAML(t, filepath.Join(dir, "kustomization.yaml"), &kustomization)
	if len(kustomization.Resources) == 0 {
		t.Fatal("config/samples/kustomization.yaml lists no samples")
	}
	for _, name := range kustomization.Resources {
		t.Run(name, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			readYAML(t, filepath.Join(dir, name), &obj.Object)
			obj.SetNamespace("default")
			if err := env.Client.Create(context.Background(), obj, client.DryRunAll); err != nil {
				t.Fatalf("sample rejected: %v", err)
			}
		})
	}
}

func TestNewObjectReadsAsInProgress(t *testing.T) {
	testenv.Require(t)
	obj := validScan()
	obj.Name = "fresh"
	ctx := context.Background()
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got := &scanv1.ImageScan{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.ObservedGeneration != -1 {
		t.Fatalf("status.observedGeneration = %d, want -1 before the controller sees the object", got.Status.ObservedGeneration)
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
