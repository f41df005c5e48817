package hss

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

const (
	testProject = "proj"
	testRegion  = "ap-southeast-1"
	testAK      = "AKCLIENTTEST"
	testSK      = "sk-must-never-appear-4f1c9"
	// The temporary key pair and its security token.
	tempAK    = "AKTEMPORARY"
	tempSK    = "temp-sk-must-never-appear-82b0"
	tempToken = "security-token-must-never-appear-c37e"

	queueDelay = 10 * time.Second
	scanTime   = time.Minute
)

// epoch is the fake clock's start; image times are whole milliseconds.
var epoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// env is a simulator behind a real loopback HTTP server and a Provider whose
// clients talk to it through the SDK.
type env struct {
	sim      *simulator.Server
	srv      *httptest.Server
	clk      *clocktesting.FakeClock
	provider *Provider
}

// newEnv starts a simulator on a fake clock, accepting testAK/testSK and the
// temporary key pair. adjust may change the simulator's configuration.
func newEnv(t *testing.T, opts Options, adjust func(*simulator.Config)) *env {
	t.Helper()
	clk := clocktesting.NewFakeClock(epoch)
	cfg := simulator.Config{
		ProjectID: testProject,
		Credentials: map[string]simulator.Credential{
			testAK: {SK: testSK},
			tempAK: {SK: tempSK, SecurityToken: tempToken},
		},
		QueueDelay:   queueDelay,
		ScanDuration: scanTime,
		Seed:         1,
		Clock:        clk,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	sim := simulator.New(cfg)
	return startEnv(t, sim, sim, clk, opts)
}

// startEnv serves handler (sim, or a wrapper around it).
func startEnv(t *testing.T, sim *simulator.Server, handler http.Handler, clk *clocktesting.FakeClock, opts Options) *env {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, clk: clk, provider: NewProvider(opts)}
}

// target is the simulator's project reached with the permanent key pair.
func (e *env) target() Target {
	return Target{
		Endpoint:           e.srv.URL,
		Region:             testRegion,
		ProjectID:          testProject,
		Credentials:        Credentials{AccessKey: testAK, SecretKey: testSK},
		CredentialsVersion: "v1",
	}
}

// client returns the provider's client of e.target().
func (e *env) client(t *testing.T) Client {
	t.Helper()
	return e.clientFor(t, e.target())
}

func (e *env) clientFor(t *testing.T, tg Target) Client {
	t.Helper()
	c, err := e.provider.Client(tg)
	if err != nil {
		t.Fatalf("build client for %s: %v", tg.Credentials, err)
	}
	return c
}

// scanned adds img to the simulator, has it scanned, and returns it as
// the image list shows it.
func scanned(t *testing.T, e *env, img simulator.Image) Image {
	t.Helper()
	g := NewWithT(t)
	e.sim.AddImages(img)
	c, ctx := e.client(t), context.Background()
	g.Expect(c.BatchScan(ctx, BatchScanRequest{ImageType: simulator.TypePrivate,
		Images: []ImageRef{{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag}}})).To(Succeed())
	e.clk.Step(queueDelay + scanTime)
	images, err := c.ListImages(ctx, Filter{ImageType: simulator.TypePrivate, Namespace: img.Namespace, ImageName: img.Name, Tag: img.Tag})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(images).To(HaveLen(1))
	return images[0]
}

// private is a hand-made private image.
func private(ns, name, tag string, size int64, updated time.Time) simulator.Image {
	return simulator.Image{Type: simulator.TypePrivate, Namespace: ns, Name: name, Tag: tag, Size: size, UpdatedAt: updated}
}

// refOf names an image the way tests compare them.
func refOf(ns, name, tag string) string { return fmt.Sprintf("%s/%s:%s", ns, name, tag) }

func refsOf(imgs []Image) []string {
	out := make([]string, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, refOf(img.Namespace, img.Name, img.Tag))
	}
	return out
}

// metricValue reads a counter (or a histogram's sample count) from the
// manager's registry; 0 when the series does not exist yet.
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}
