// Command bench measures the operator at the scale a platform team runs it
// and prints the figures as markdown on stdout; progress goes to stderr. It
// asserts nothing. docs/benchmarks.md explains the columns.
//
// The manager runs as its own process (the binary built from this tree),
// against a local API server (envtest) and the HSS simulator on loopback,
// whose quota is 10% above the manager's --hss-qps. Each figure stands
// beside its minimum (see minimum.go) and their ratio. Scenarios:
//
//   - scale: one ImageScan over --images images by selector, then a rescan
//     of them unchanged, and one over an explicit list of up to 1000 (the
//     CRD's bound);
//
//   - tasks: the scale scenario's selector on the task calls;
//
//   - details: the same selector reading the vulnerabilities by severity,
//     then in detail with their CVEs;
//
//   - sizes: the details scenario's Summary selector at each of --sizes,
//     side by side, to show what grows with the images and what does not;
//
//   - many: --scans ImageScans of --scan-images images each;
//
//   - restart: the same, with the manager killed (SIGKILL) and started
//     again when half of the rounds are accepted;
//
//   - peer: a naive client of the same API over --peer-images images;
//
//   - triage: the details selector with Details, then a VulnerabilityException
//     of the namespace accepting the vulnerabilities found in most images,
//     applied and deleted.
//
//     make bench
//     make bench ARGS="--scenarios scale --images 2000"
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

type settings struct {
	scenarios                 []string
	images, scans, scanImages int
	sizes                     []int
	peerImages, peerWorkers   int
	quota                     float64
	queueDelay, scanDuration  time.Duration
	latency, peerPoll         time.Duration
	minPoll, maxPoll          time.Duration
	readConcurrency           int
	reconciles                int
	pprof                     string
	metrics                   string
	memoryLimit               string
	timeout                   time.Duration
	manager, workDir          string
}

// maxInFlight is the manager's limit of calls in flight per HSS project
// (--hss-max-inflight).
const maxInFlight = 8

// rate is the most calls a second the manager can make over objects
// ImageScans: the quota, or what its calls in flight allow at the
// simulator's latency, whichever is less.
func (s settings) rate(objects int) float64 {
	perCall := s.latency.Seconds()
	if perCall <= 0 {
		return s.quota
	}
	inFlight := min(maxInFlight, min(objects, s.reconciles)*s.readConcurrency)
	return min(s.quota, float64(inFlight)/perCall)
}

// burst is the limiter's burst where the quota is what limits the rate;
// calls in flight allow none.
func (s settings) burst(objects int) int {
	if s.rate(objects) < s.quota {
		return 0
	}
	return int(s.quota)
}

// simulator is the HSS every run talks to: the scanner's timing, the
// per-call latency, and a quota 10% above the manager's.
func (s settings) simulator() simulator.Config {
	return simulator.Config{
		QueueDelay: s.queueDelay, ScanDuration: s.scanDuration,
		Faults: simulator.Faults{QPS: s.quota * 1.1, Burst: int(s.quota), Latency: s.latency},
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	var s settings
	var scenarios string
	flag.StringVar(&scenarios, "scenarios", "scale,tasks,details,sizes,many,restart,peer,triage", "comma-separated scenarios to run")
	flag.IntVar(&s.images, "images", 10000, "images of the scale scenario's ImageScan")
	flag.Func("sizes", "comma-separated image counts of the sizes scenario (default 1000,10000,100000)", func(v string) error {
		s.sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return fmt.Errorf("not an image count: %q", f)
			}
			s.sizes = append(s.sizes, n)
		}
		return nil
	})
	flag.IntVar(&s.scans, "scans", 500, "ImageScans of the many and restart scenarios")
	flag.IntVar(&s.scanImages, "scan-images", 20, "images of each of those ImageScans")
	flag.IntVar(&s.peerImages, "peer-images", 50, "images the naive peer follows")
	flag.IntVar(&s.peerWorkers, "peer-workers", 10, "images the naive peer follows at once (Terraform's default parallelism)")
	flag.Float64Var(&s.quota, "quota", 50, "HSS calls per second the manager may make to the project")
	flag.DurationVar(&s.queueDelay, "queue-delay", 10*time.Second, "time a requested scan waits before it runs")
	flag.DurationVar(&s.scanDuration, "scan-duration", time.Minute, "time a scan runs")
	flag.DurationVar(&s.latency, "latency", 50*time.Millisecond, "latency of every HSS call")
	flag.DurationVar(&s.peerPoll, "peer-poll", 10*time.Second, "the peer's wait between polls of an image")
	flag.DurationVar(&s.minPoll, "min-poll-interval", 5*time.Second, "the manager's --min-poll-interval")
	flag.DurationVar(&s.maxPoll, "max-poll-interval", 30*time.Second, "the manager's --max-poll-interval")
	flag.IntVar(&s.readConcurrency, "read-concurrency", 4, "the manager's --read-concurrency: calls in flight for one ImageScan")
	flag.IntVar(&s.readConcurrency, "stats-concurrency", 4, "the same, by its earlier name")
	flag.IntVar(&s.reconciles, "reconciles", 4, "the manager's --max-concurrent-reconciles: ImageScans reconciled at once")
	flag.StringVar(&s.memoryLimit, "memory-limit", "", "run the manager as under a container memory limit of this size (e.g. 256Mi): GOMEMLIMIT at 90% of it, as the manager sets it from its cgroup; no limit when empty")
	flag.StringVar(&s.metrics, "metrics", "", "the manager's --metrics-bind-address over plain HTTP, e.g. 127.0.0.1:8080, to read its gauges (imagescan_cache_entries) during a run")
	flag.StringVar(&s.pprof, "pprof", "", "the manager's --pprof-bind-address, e.g. 127.0.0.1:6060, to take its heap profile during a run")
	flag.DurationVar(&s.timeout, "timeout", 30*time.Minute, "longest wait for one run")
	verbose := flag.Bool("v", false, "show the sandbox's logs")
	s.sizes = []int{1000, 10000, 100000}
	flag.Parse()
	s.scenarios = strings.Split(scenarios, ",")
	if *verbose {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	}
	var err error
	if s.workDir, err = os.MkdirTemp("", "imagescan-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.workDir)
	progress("building the manager")
	if s.manager, err = buildManager(s.workDir); err != nil {
		return err
	}

	fmt.Printf("%s, %s/%s, %d CPUs. Simulator: queue delay %s, scan %s, %s a call; manager --hss-qps %g (burst %g, %d in flight), "+
		"--read-concurrency %d, --max-concurrent-reconciles %d, simulator quota %.4g calls/s; polls every %s to %s.\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), s.queueDelay, s.scanDuration, s.latency,
		s.quota, s.quota, maxInFlight, s.readConcurrency, s.reconciles, s.quota*1.1, s.minPoll, s.maxPoll)
	for _, sc := range []struct {
		name string
		fn   func(settings) error
	}{{"scale", benchScale}, {"tasks", benchTasks}, {"details", benchDetails}, {"sizes", benchSizes}, {"many", benchMany}, {"restart", benchRestart}, {"peer", benchPeer}, {"triage", benchTriage}} {
		if slices.Contains(s.scenarios, sc.name) {
			if err := sc.fn(s); err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
		}
	}
	return nil
}

const scaleHeader = "| Spec | Images | Time to Ready (bound) | HSS calls (fewest) | Scan requests | List pages (fewest) | Statistics (fewest) | " +
	"API writes (fewest) | Per image | Status writes (fewest) | 429s | Reports (ImageReports + Reports, bytes) | Object size | Manager RSS | Manager CPU |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

func scaleRow(s settings, spec string, n int, rescan bool, res result) string {
	m := minimumOf(1, n, rescan, s.rate(1), s.burst(1), s.queueDelay, s.scanDuration)
	return fmt.Sprintf("| %s | %d | %s | %s | %d | %s | %s | %s | %.2f | %s | %d | %s | %s | %s | %s |", spec, n,
		vs(res.all, m.time), of(res.calls, m.calls()), res.ok[simulator.OpBatchScan],
		of(res.ok[simulator.OpListImages], m.listPages), of(res.ok[simulator.OpFileStats], m.stats),
		of(res.api.total(), m.apiWrites), float64(res.api.total())/float64(n), statusWrites(res, m.writes),
		res.throttled, reportsCell(res), kib(uint64(res.objectSize)), mib(res.rss), seconds(res.cpu))
}

// reportsCell is the reports' count (ImageReports, and the OpenReports
// Reports beside them) and the bytes they occupy, in all and per image.
func reportsCell(res result) string {
	per := 0.0
	if res.reports > 0 {
		per = float64(res.bytes) / float64(res.reports) / 1024
	}
	return fmt.Sprintf("%d + %d, %.1f MiB (%.1f KiB each)", res.reports, res.openReports, float64(res.bytes)/(1<<20), per)
}

func benchScale(s settings) error {
	fmt.Printf("\n## One ImageScan over many images\n\n%s\n", scaleHeader)
	listed := min(s.images, scanv1.MaxImages)
	progress("scale: selector over %d images, then a rescan", s.images)
	rounds, err := measure(s, runSpec{images: privateImages("scale", s.images),
		objects: []*scanv1.ImageScan{selectorScan("scale", "scale")}, imagesEach: s.images, rescan: true})
	if err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	fmt.Println(scaleRow(s, "selector", s.images, false, rounds[0]))
	fmt.Println(scaleRow(s, "selector, rescan of unchanged images", s.images, true, rounds[1]))
	progress("scale: explicit list of %d images", listed)
	rounds, err = measure(s, runSpec{images: privateImages("scale", listed),
		objects: []*scanv1.ImageScan{listScan("scale", "scale", listed)}, imagesEach: listed})
	if err != nil {
		return fmt.Errorf("explicit list: %w", err)
	}
	fmt.Println(scaleRow(s, "explicit list", listed, false, rounds[0]))
	return nil
}

// benchTasks runs the scale scenario's selector on the task calls that
// succeed batch-scan.
func benchTasks(s settings) error {
	fmt.Printf("\n## On the task calls (--hss-backend=tasks)\n\n%s\n", scaleHeader)
	progress("tasks: selector over %d images on the task calls", s.images)
	rounds, err := measure(s, runSpec{images: privateImages("scale", s.images),
		objects: []*scanv1.ImageScan{selectorScan("scale", "scale")}, imagesEach: s.images, backend: "tasks"})
	if err != nil {
		return err
	}
	fmt.Println(scaleRow(s, "selector, tasks", s.images, false, rounds[0]))
	return nil
}

// benchDetails runs the selector over the same images with the
// vulnerabilities read by severity, then in detail with their CVEs.
func benchDetails(s settings) error {
	fmt.Printf("\n## Vulnerability detail over many images\n\n%s\n", detailHeader)
	for _, mode := range []scanv1.VulnerabilityDetail{scanv1.VulnerabilitiesSummary, scanv1.VulnerabilitiesDetails} {
		progress("details: selector over %d images, vulnerabilities %s", s.images, mode)
		obj := scan("details", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "details"}, Vulnerabilities: mode})
		rounds, err := measure(s, runSpec{images: privateImages("details", s.images), objects: []*scanv1.ImageScan{obj}, imagesEach: s.images})
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		fmt.Println(detailRow(s, mode, rounds[0]))
	}
	return nil
}

// benchSizes runs the Summary selector at each size, each on a fresh
// sandbox.
func benchSizes(s settings) error {
	fmt.Printf("\n## One ImageScan at 1,000 to 100,000 images\n\n%s\n", detailHeader)
	for _, n := range s.sizes {
		progress("sizes: selector over %d images, vulnerabilities Summary", n)
		at := s
		at.images = n
		obj := scan("sizes", scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: "sizes"}, Vulnerabilities: scanv1.VulnerabilitiesSummary})
		rounds, err := measure(at, runSpec{images: privateImages("sizes", n), objects: []*scanv1.ImageScan{obj}, imagesEach: n})
		if err != nil {
			return fmt.Errorf("%d images: %w", n, err)
		}
		fmt.Println(detailRow(at, scanv1.VulnerabilitiesSummary, rounds[0]))
	}
	return nil
}

const detailHeader = "| Vulnerabilities | Images | Time to Ready (bound) | HSS calls (fewest) | List pages | Statistics | " +
	"Vulnerability pages (fewest) | Catalogue calls (fewest: distinct) | API writes (fewest) | Reports (ImageReports + Reports, bytes) | Manager RSS | Manager CPU |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

func detailRow(s settings, mode scanv1.VulnerabilityDetail, res result) string {
	m := minimumOf(1, s.images, false, s.rate(1), s.burst(1), s.queueDelay, s.scanDuration)
	lookups := res.distinctVulns
	if mode == scanv1.VulnerabilitiesNone {
		lookups = 0
	}
	m = m.withDetail(res.detailPages, lookups)
	if mode == scanv1.VulnerabilitiesDetails && res.openReports > 0 {
		m.apiWrites += res.lists // a Report for each image with a list, where Reports are served
	}
	return fmt.Sprintf("| %s | %d | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |", mode, s.images,
		vs(res.all, m.time), of(res.calls, m.calls()), res.ok[simulator.OpListImages], res.ok[simulator.OpFileStats],
		of(res.ok[simulator.OpVulnerabilities], m.detailPages), of(res.ok[simulator.OpCatalogue], m.lookups),
		of(res.api.total(), m.apiWrites), reportsCell(res), mib(res.rss), seconds(res.cpu))
}

// manyScans are k selector ImageScans over m images of their own
// organisation each.
func manyScans(k, m int) ([]simulator.Image, []*scanv1.ImageScan) {
	var images []simulator.Image
	var objs []*scanv1.ImageScan
	for i := range k {
		org := fmt.Sprintf("team-%03d", i+1)
		images = append(images, privateImages(org, m)...)
		objs = append(objs, selectorScan(org, org))
	}
	return images, objs
}

func manyRow(s settings, res result) string {
	m := minimumOf(s.scans, s.scanImages, false, s.rate(s.scans), s.burst(s.scans), s.queueDelay, s.scanDuration)
	images := s.scans * s.scanImages
	return fmt.Sprintf("| %d × %d | %s | %s | %s | %s | %s | %s | %d | %s | %.2f | %s | %.1f | %d | %s | %s | %s |", s.scans, s.scanImages,
		seconds(res.first), seconds(res.median), vs(res.all, m.time), of(res.calls, m.calls()),
		of(res.ok[simulator.OpBatchScan], m.batchScans), of(res.ok[simulator.OpListImages], m.listPages),
		res.ok[simulator.OpFileStats], of(res.api.total(), m.apiWrites), float64(res.api.total())/float64(images),
		statusWrites(res, m.writes), float64(res.calls)/res.all.Seconds(), res.throttled, reportsCell(res),
		mib(res.rss), seconds(res.cpu))
}

const manyHeader = "| ImageScans × images | First Ready | Median Ready | All Ready (bound) | HSS calls (fewest) | Batch-scans (fewest) | " +
	"List pages (fewest) | Statistics | API writes (fewest) | Per image | Status writes (fewest) | Calls/s | 429s | Reports (ImageReports + Reports, bytes) | Manager RSS | Manager CPU |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

func benchMany(s settings) error {
	progress("many: %d ImageScans of %d images", s.scans, s.scanImages)
	images, objs := manyScans(s.scans, s.scanImages)
	rounds, err := measure(s, runSpec{images: images, objects: objs, imagesEach: s.scanImages})
	if err != nil {
		return err
	}
	fmt.Printf("\n## Many ImageScans sharing one HSS project\n\n%s\n%s\n", manyHeader, manyRow(s, rounds[0]))
	return nil
}

func benchRestart(s settings) error {
	progress("restart: %d ImageScans of %d images, manager killed at half", s.scans, s.scanImages)
	images, objs := manyScans(s.scans, s.scanImages)
	rounds, err := measure(s, runSpec{images: images, objects: objs, imagesEach: s.scanImages, restartAfter: s.scans / 2})
	if err != nil {
		return err
	}
	res := rounds[0]
	fmt.Printf("\n## The manager killed and restarted mid-run\n\n")
	fmt.Printf("Killed (SIGKILL) %s after the ImageScans were created, once %d rounds were accepted; "+
		"the new manager's first status write came %s after its start. Batch-scans repeated: %d.\n\n%s\n%s\n",
		seconds(res.restartAt), s.scans/2, seconds(res.resume), res.ok[simulator.OpBatchScan]-s.scans, manyHeader, manyRow(s, res))
	return nil
}

func benchPeer(s settings) error {
	progress("peer: %d images, %d at a time", s.peerImages, s.peerWorkers)
	images, _ := manyScans(max(s.peerImages/s.scanImages, 1), s.scanImages)
	res, err := runPeer(s, images)
	if err != nil {
		return err
	}
	perImage := float64(res.calls) / float64(res.images)
	rate := float64(res.images) / res.elapsed.Seconds()
	total := s.scans * s.scanImages
	m := minimumOf(s.scans, s.scanImages, false, s.rate(s.scans), s.burst(s.scans), s.queueDelay, s.scanDuration)
	fmt.Printf("\n## A naive peer\n\n")
	fmt.Printf("Per image: batch-scan it, poll the list for it every %s until its scan ends, fetch its statistics; "+
		"%d images at a time, through the same SDK client, limiter and quota.\n\n", s.peerPoll, s.peerWorkers)
	fmt.Println("| Client | Images | HSS calls | Calls per image | Time | Images/s | 429s | At this rate, " + fmt.Sprint(total) + " images |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Printf("| naive peer | %d | %d | %.2f | %s | %.2f | %d | %s, %d calls |\n", res.images, res.calls, perImage,
		seconds(res.elapsed), rate, res.throttled, seconds(time.Duration(float64(total)/rate*float64(time.Second))), int(perImage*float64(total)))
	fmt.Printf("| fewest possible | %d | %d | %.2f | | | | %s, %d calls |\n", total, m.calls(), float64(m.calls())/float64(total), seconds(m.time), m.calls())
	return nil
}

// privateImages are n private images of one organisation, 50 tags a
// repository, with the simulator's generated findings: 70% of them with
// vulnerabilities, a few with several pages of them.
func privateImages(org string, n int) []simulator.Image {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	findings := simulator.Generate(n, 7)
	imgs := make([]simulator.Image, n)
	for i := range imgs {
		imgs[i] = simulator.Image{
			Type: simulator.TypePrivate, Namespace: org,
			Name: fmt.Sprintf("app-%03d", i/50), Tag: fmt.Sprintf("1.0.%d", i%50),
			Size: int64(100+i%400) << 20, UpdatedAt: epoch.Add(time.Duration(i) * time.Minute),
			Vulnerabilities: findings[i].Vulnerabilities, UnsafeSettings: findings[i].UnsafeSettings,
		}
	}
	return imgs
}

func selectorScan(name, org string) *scanv1.ImageScan {
	return scan(name, scanv1.ImageScanSpec{Selector: &scanv1.ImageSelector{Namespace: org}})
}

// listScan names the first n images of privateImages(org, n).
func listScan(name, org string, n int) *scanv1.ImageScan {
	var refs []scanv1.ImageReference
	for _, img := range privateImages(org, n) {
		refs = append(refs, scanv1.ImageReference{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag})
	}
	return scan(name+"-list", scanv1.ImageScanSpec{Images: refs})
}

// scan is an ImageScan of the sandbox's; it reads no vulnerability detail
// unless the spec asks for it (the details scenario).
func scan(name string, spec scanv1.ImageScanSpec) *scanv1.ImageScan {
	spec.ImageType = scanv1.PrivateImage
	if spec.Vulnerabilities == "" {
		spec.Vulnerabilities = scanv1.VulnerabilitiesNone
	}
	spec.CredentialsRef = &scanv1.SecretReference{Name: sandbox.SecretName}
	return &scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: sandbox.Namespace}, Spec: spec}
}

func stop(sb *sandbox.Sandbox) {
	if err := sb.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// of writes a figure beside its minimum and their ratio.
// statusWrites is of for the status writes the watch saw, saying when it
// had to list again and so missed some.
func statusWrites(res result, least int) string {
	if res.reopened > 0 {
		return fmt.Sprintf("%s; listed again %d times, writes between unseen", of(res.writes, least), res.reopened)
	}
	return of(res.writes, least)
}

func of(got, least int) string { return fmt.Sprintf("%d (%d, ×%.2f)", got, least, ratio(got, least)) }

// vs writes a duration beside its bound and their ratio.
func vs(got, bound time.Duration) string {
	return fmt.Sprintf("%s (%s, ×%.2f)", seconds(got), seconds(bound), got.Seconds()/bound.Seconds())
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
func kib(n uint64) string            { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }
func mib(n uint64) string            { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
