package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The identity install.yaml gives the manager: its ServiceAccount.
const (
	installNamespace = "hss-imagescan-system"
	managerAccount   = "system:serviceaccount:" + installNamespace + ":hss-imagescan-controller-manager"
)

// readManifests decodes every object of a multi-document YAML file.
func readManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// applyServerSide applies objs in order, as kubectl apply --server-side does.
func applyServerSide(g Gomega, objs []*unstructured.Unstructured) {
	for _, u := range objs {
		g.Expect(env.Client.Patch(context.Background(), u, client.Apply, client.FieldOwner("install-test"), client.ForceOwnership)).
			To(Succeed(), "apply %s %s", u.GetKind(), u.GetName())
	}
}

// managerArgs are the manager container's arguments in the Deployment.
func managerArgs(g Gomega, objs []*unstructured.Unstructured) []string {
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		g.Expect(err).NotTo(HaveOccurred())
		for _, c := range containers {
			c := c.(map[string]any)
			if c["name"] == "manager" {
				args, _, err := unstructured.NestedStringSlice(c, "args")
				g.Expect(err).NotTo(HaveOccurred())
				return args
			}
		}
	}
	g.Expect("a manager container").To(BeEmpty(), "install.yaml has no manager Deployment")
	return nil
}

func TestInstallYAMLGrantsTheManagerEverythingAScanNeeds(t *testing.T) {
	g := NewWithT(t)
	objs := readManifests(t, artefact(t, "dist/install.yaml", "make installer"))
	applyServerSide(g, objs)

	data, err := env.UserKubeConfig(managerAccount) // no groups: only what install.yaml binds
	kubeconfig := kubeconfigFile(t, t.TempDir(), data, err)
	_, simURL := newSimulator(t, 2, 500*time.Millisecond)
	ns := tenant(t, g, "installer-test", 2)

	// The Deployment's own arguments; addresses moved off fixed ports, and
	// the Lease namespace given, as the pod's namespace is unknown here.
	args := append(managerArgs(g, objs), "--leader-election-namespace="+installNamespace,
		"--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0")
	binary := artefact(t, "dist/bin/manager-linux-"+runtime.GOARCH, "make image")
	m := startManager(t, binary, kubeconfig, simURL, args, nil)

	obj := waitReady(g, ns)
	g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(2)))
	g.Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
		var reasons []string
		for _, e := range events.Items {
			reasons = append(reasons, e.Reason)
		}
		g.Expect(reasons).To(ContainElements("ScanRequested", "ScanCompleted"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(strings.ToLower(m.output())).NotTo(ContainSubstring("forbidden"))
	g.Expect(m.output()).To(ContainSubstring("Successfully acquired lease"))
}
