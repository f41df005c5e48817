// Command bench measures the ImageScan reconciler against the HSS
// simulator, all in one process (see internal/sandbox), and prints the
// figures as markdown on stdout; progress goes to stderr. It reports and
// asserts nothing. docs/benchmarks.md explains the columns.
//
// Two scenarios:
//
//   - size: one selector ImageScan over N private images of one
//     organisation, for each N of --sizes, with unlimited HSS calls;
//   - shared quota: --scans ImageScans of --scan-images images each, all in
//     one HSS project, paced by --hss-qps and --hss-burst, against a
//     simulator whose quota is 10% above that.
//
// Usage:
//
//	make bench
//	make bench ARGS="--sizes 100,10000 --scan-duration 10s --scans 0"
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

// settings are the flags shared by both scenarios.
type settings struct {
	sizes                    []int
	queueDelay, scanDuration time.Duration
	minPoll, timeout         time.Duration
	scans, scanImages        int
	limits                   hss.LimitOptions
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	var (
		s       settings
		sizes   string
		verbose bool
		profile string
	)
	flag.StringVar(&sizes, "sizes", "100,1000,5000", "comma-separated image counts of the size scenario; empty skips it")
	flag.DurationVar(&s.queueDelay, "queue-delay", 0, "time a requested scan waits before it runs")
	flag.DurationVar(&s.scanDuration, "scan-duration", 2*time.Second, "time a scan runs")
	flag.DurationVar(&s.minPoll, "min-poll-interval", time.Second, "the reconciler's first wait between polls of a running scan")
	flag.DurationVar(&s.timeout, "timeout", 3*time.Minute, "longest wait for one run to be Ready")
	flag.IntVar(&s.scans, "scans", 10, "ImageScans of the shared quota scenario; 0 skips it")
	flag.IntVar(&s.scanImages, "scan-images", 50, "images of each ImageScan of the shared quota scenario")
	flag.Float64Var(&s.limits.QPS, "hss-qps", 10, "HSS calls per second per project in the shared quota scenario")
	flag.IntVar(&s.limits.Burst, "hss-burst", 20, "burst of HSS calls per project in the shared quota scenario")
	flag.IntVar(&s.limits.MaxInFlight, "hss-max-inflight", 8, "concurrent HSS calls per project, in both scenarios")
	flag.BoolVar(&verbose, "v", false, "show the controller's logs")
	flag.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	for f := range strings.SplitSeq(sizes, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("--sizes: %q is not a positive number", f)
		}
		s.sizes = append(s.sizes, n)
	}
	if verbose {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	}

	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("%s, %s/%s, %d CPUs (GOMAXPROCS %d)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if len(s.sizes) > 0 {
		if err := benchSizes(s); err != nil {
			return fmt.Errorf("size scenario: %w", err)
		}
	}
	if s.scans > 0 {
		if err := benchSharedQuota(s); err != nil {
			return fmt.Errorf("shared quota scenario: %w", err)
		}
	}
	return nil
}

// benchSizes scans N images with one ImageScan, for each N, each in a
// fresh sandbox.
func benchSizes(s settings) error {
	fmt.Printf("\n## One ImageScan over N images\n\n")
	fmt.Printf("Selector over one organisation; queue delay %s, scan duration %s, min poll interval %s; "+
		"HSS calls unlimited in rate, at most %d in flight.\n\n", s.queueDelay, s.scanDuration, s.minPoll, s.limits.MaxInFlight)
	fmt.Println("| Images | Time to Ready | List pages | List walks | Pages per walk | Batch-scans | File statistics | Status entries | Object size | Peak heap |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range s.sizes {
		if err := benchSize(s, n); err != nil {
			return fmt.Errorf("%d images: %w", n, err)
		}
	}
	return nil
}

func benchSize(s settings, n int) error {
	org := fmt.Sprintf("bench-%d", n)
	walks := &listWalks{}
	progress("size scenario: %d images", n)
	sb, c, err := start(sandbox.Config{
		Simulator:  simulator.Config{QueueDelay: s.queueDelay, ScanDuration: s.scanDuration},
		Images:     privateImages(org, n),
		Limits:     hss.LimitOptions{MaxInFlight: s.limits.MaxInFlight},
		Controller: controller.Options{MinPoll: s.minPoll},
		Wrap:       walks.wrap,
	})
	if err != nil {
		return err
	}
	defer stop(sb)
	walks.n.Store(0)

	obj := selectorScan(org, org)
	peak := sampleHeap()
	began := time.Now()
	ctx, cancel := context.WithTimeoutCause(context.Background(), s.timeout, fmt.Errorf("not Ready within %s", s.timeout))
	defer cancel()
	readyAt, err := waitReady(ctx, c, sandbox.Namespace, []string{obj.Name}, func() error { return c.Create(ctx, obj) })
	heap := peak()
	if err != nil {
		return err
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	size, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	pages, w := sb.Simulator.Count(simulator.OpListImages, simulator.OutcomeOK), walks.n.Load()
	fmt.Printf("| %d | %s | %d | %d | %.1f | %d | %d | %d | %s | %s |\n",
		n, seconds(readyAt[obj.Name].Sub(began)), pages, w, float64(pages)/float64(max(w, 1)),
		sb.Simulator.Count(simulator.OpBatchScan, simulator.OutcomeOK),
		sb.Simulator.Count(simulator.OpFileStats, simulator.OutcomeOK),
		len(obj.Status.Images), kib(uint64(len(size))), mib(heap))
	return nil
}

// benchSharedQuota runs many ImageScans at once through one HSS project's
// limiter, against a simulator quota slightly above it.
func benchSharedQuota(s settings) error {
	quota := simulator.Faults{QPS: s.limits.QPS * 1.1, Burst: s.limits.Burst}
	var images []simulator.Image
	var scans []*scanv1.ImageScan
	var names []string
	for i := range s.scans {
		org := fmt.Sprintf("team-%02d", i+1)
		images = append(images, privateImages(org, s.scanImages)...)
		scans = append(scans, selectorScan(org, org))
		names = append(names, org)
	}
	progress("shared quota scenario: %d ImageScans of %d images", s.scans, s.scanImages)
	sb, c, err := start(sandbox.Config{
		Simulator:  simulator.Config{QueueDelay: s.queueDelay, ScanDuration: s.scanDuration, Faults: quota},
		Images:     images,
		Limits:     s.limits,
		Controller: controller.Options{MinPoll: s.minPoll},
	})
	if err != nil {
		return err
	}
	defer stop(sb)

	peak := sampleHeap()
	began := time.Now()
	ctx, cancel := context.WithTimeoutCause(context.Background(), s.timeout, fmt.Errorf("not Ready within %s", s.timeout))
	defer cancel()
	readyAt, err := waitReady(ctx, c, sandbox.Namespace, names, func() error {
		for _, obj := range scans {
			if err := c.Create(ctx, obj); err != nil {
				return err
			}
		}
		return nil
	})
	heap := peak()
	if err != nil {
		return err
	}
	var times []time.Duration
	for _, t := range readyAt {
		times = append(times, t.Sub(began))
	}
	slices.Sort(times)
	total := times[len(times)-1]
	calls, throttled := 0, 0
	for _, byOutcome := range sb.Simulator.Counts() {
		for outcome, n := range byOutcome {
			calls += n
			if outcome == simulator.OutcomeThrottled {
				throttled += n
			}
		}
	}

	fmt.Printf("\n## Many ImageScans sharing one HSS project\n\n")
	fmt.Printf("%d ImageScans of %d images each, created together; queue delay %s, scan duration %s, min poll interval %s; "+
		"the manager allows %g calls/s (burst %d, %d in flight) per project, the simulator's quota is %g calls/s (burst %d).\n\n",
		s.scans, s.scanImages, s.queueDelay, s.scanDuration, s.minPoll,
		s.limits.QPS, s.limits.Burst, s.limits.MaxInFlight, quota.QPS, quota.Burst)
	fmt.Println("| ImageScans × images | First Ready | Median Ready | All Ready | HSS calls | List pages | Batch-scans | File statistics | Calls/s | 429 answers | Peak heap |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Printf("| %d × %d | %s | %s | %s | %d | %d | %d | %d | %.1f | %d | %s |\n",
		s.scans, s.scanImages, seconds(times[0]), seconds(times[len(times)/2]), seconds(total), calls,
		sb.Simulator.Count(simulator.OpListImages, simulator.OutcomeOK),
		sb.Simulator.Count(simulator.OpBatchScan, simulator.OutcomeOK),
		sb.Simulator.Count(simulator.OpFileStats, simulator.OutcomeOK),
		float64(calls)/total.Seconds(), throttled, mib(heap))
	return nil
}

// start starts a sandbox and runs a one-image warm-up scan through it, so
// that the measured runs find the manager started and its HSS client built;
// the simulator's counts are reset after it.
func start(cfg sandbox.Config) (*sandbox.Sandbox, client.WithWatch, error) {
	cfg.Images = append(cfg.Images, privateImages("warm-up", 1)...)
	sb, err := sandbox.Start(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.NewWithWatch(sb.Env.Config, client.Options{Scheme: sb.Env.Scheme})
	if err != nil {
		stop(sb)
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obj := selectorScan("warm-up", "warm-up")
	if _, err := waitReady(ctx, c, sandbox.Namespace, []string{obj.Name}, func() error { return c.Create(ctx, obj) }); err != nil {
		stop(sb)
		return nil, nil, fmt.Errorf("warm-up scan: %w", err)
	}
	sb.Simulator.ResetCounts()
	return sb, c, nil
}

// privateImages are n private images of one organisation, 50 tags a
// repository.
func privateImages(org string, n int) []simulator.Image {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	imgs := make([]simulator.Image, n)
	for i := range imgs {
		imgs[i] = simulator.Image{
			Type: simulator.TypePrivate, Namespace: org,
			Name: fmt.Sprintf("app-%03d", i/50), Tag: fmt.Sprintf("1.0.%d", i%50),
			Size: int64(100+i%400) << 20, UpdatedAt: epoch.Add(time.Duration(i) * time.Minute),
		}
	}
	return imgs
}

// selectorScan scans every private image of org.
func selectorScan(name, org string) *scanv1.ImageScan {
	return &scanv1.ImageScan{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: sandbox.Namespace},
		Spec: scanv1.ImageScanSpec{
			ImageType:      scanv1.PrivateImage,
			Selector:       &scanv1.ImageSelector{Namespace: org},
			CredentialsRef: &scanv1.SecretReference{Name: sandbox.SecretName},
		},
	}
}

func stop(sb *sandbox.Sandbox) {
	if err := sb.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
func kib(n uint64) string            { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }
func mib(n uint64) string            { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
