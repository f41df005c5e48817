package install

import (
	"context"
	"runtime"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

const leased = "Successfully acquired lease"

func TestOfTwoManagersOnlyTheLeaderScansAndTheOtherTakesOver(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "leader-election"}})).To(Succeed())
	data, err := env.AdminKubeConfig("leader-test")
	kubeconfig := kubeconfigFile(t, t.TempDir(), data, err)
	sim, simURL := newSimulator(t, 3, 5*time.Second)
	binary := artefact(t, "dist/bin/manager-linux-"+runtime.GOARCH, "make image")
	args := []string{"--leader-elect", "--leader-election-namespace=leader-election"}

	first := startManager(t, binary, kubeconfig, simURL, args, nil)
	g.Eventually(first.output, 30*time.Second, 100*time.Millisecond).Should(ContainSubstring(leased))
	second := startManager(t, binary, kubeconfig, simURL, args, nil)
	g.Eventually(second.output, 30*time.Second, 100*time.Millisecond).Should(ContainSubstring("Attempting to acquire leader lease"))

	ns := tenant(t, g, "leader-test", 3)
	g.Eventually(func(g Gomega) {
		obj := &scanv1.ImageScan{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "scan"}, obj)).To(Succeed())
		g.Expect(obj.Status.LastScanRequest).NotTo(BeNil())
		g.Expect(obj.Status.LastScanRequest.AcceptedAt).NotTo(BeNil())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(second.output()).NotTo(ContainSubstring(leased), "the second manager waits")
	open := &scanv1.ImageScan{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "scan"}, open)).To(Succeed())
	g.Expect(open.Status.LastScanRequest.CompletedAt).To(BeNil(), "the round is still running when the leader stops")

	first.stop() // releases the lease on the way out
	g.Eventually(second.output, 30*time.Second, 100*time.Millisecond).Should(ContainSubstring(leased))
	waitReady(g, ns)
	g.Expect(sim.Count(simulator.OpBatchScan, simulator.OutcomeOK)).To(Equal(1), "the round was requested once, by the first leader")
}
