// Command demo runs the operator end to end in one process: a local API
// server, the HSS simulator with a generated inventory, and the manager. It
// applies an ImageScan, prints its Ready condition as it changes until it is
// Ready or Stalled, then `kubectl get imagescans` and `kubectl get
// imagereports` (the API server's own tables, so without kubectl) and the
// HSS calls the simulator answered. It exits 0 when the scan is Ready.
//
//	make demo
//	make demo ARGS="--failure-rate 0.3"
//	make demo ARGS="--keep"                 # then kubectl with the printed kubeconfig
//	make demo ARGS="--file my-scan.yaml"
//
// The control plane binaries come from `make envtest`.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/controller"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

//go:embed imagescan.yaml
var defaultScan []byte

func main() { os.Exit(run()) }

func run() int {
	var (
		images      = flag.Int("images", 60, "number of images the simulator generates, over several organisations")
		seed        = flag.Int64("seed", 1, "seed of the generated images and of scan outcomes")
		failureRate = flag.Float64("failure-rate", 0, "share (0..1) of scans that fail")
		queueDelay  = flag.Duration("queue-delay", time.Second, "time a requested scan waits before it runs")
		scanTime    = flag.Duration("scan-duration", 3*time.Second, "time a scan runs")
		timeout     = flag.Duration("timeout", 2*time.Minute, "how long to wait for Ready")
		keep        = flag.Bool("keep", false, "keep running after the scan ends, for kubectl, until Ctrl-C")
		file        = flag.String("file", "", "ImageScan YAML to apply instead of the built-in one (namespace defaults to "+sandbox.Namespace+", which holds the Secret "+sandbox.SecretName+")")
		verbose     = flag.Bool("v", false, "show the controller's logs")
	)
	flag.Parse()
	if *verbose {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	}

	obj, err := loadScan(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("Starting the API server, the HSS simulator and the manager...")
	sb, err := sandbox.Start(sandbox.Config{
		Simulator: simulator.Config{
			QueueDelay: *queueDelay, ScanDuration: *scanTime, FailureRate: *failureRate, Seed: *seed,
		},
		Images:     simulator.Generate(*images, *seed),
		Controller: controller.Options{MinPoll: time.Second, MaxPoll: 5 * time.Second},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	fmt.Printf("Simulator: %d images, queue delay %s, scan duration %s, failure rate %.2f\n",
		*images, *queueDelay, *scanTime, *failureRate)

	if err := sb.Env.Client.Create(ctx, obj); err != nil {
		fmt.Fprintf(os.Stderr, "apply ImageScan: %v\n", err)
		return 1
	}
	fmt.Printf("Applied imagescan %s/%s\n\n", obj.Namespace, obj.Name)

	last, err := follow(ctx, sb.Env.Client, client.ObjectKeyFromObject(obj), *timeout)
	ready := err == nil && apimeta.IsStatusConditionTrue(last.Status.Conditions, scanv1.ConditionReady)
	if last != nil {
		if perr := printResults(ctx, sb, last); perr != nil {
			fmt.Fprintln(os.Stderr, perr)
		}
	}
	printCalls(os.Stdout, sb.Simulator)
	switch {
	case err != nil:
		fmt.Printf("\nStopped: %v\n", err)
	case ready:
		fmt.Println("\nReady.")
	default:
		c := apimeta.FindStatusCondition(last.Status.Conditions, scanv1.ConditionReady)
		fmt.Printf("\nStalled: %s: %s\n", c.Reason, c.Message)
	}

	if *keep && ctx.Err() == nil {
		if err := keepRunning(ctx, sb); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if !ready {
		return 1
	}
	return 0
}

// loadScan reads the ImageScan to apply: the built-in one, or path's.
func loadScan(path string) (*scanv1.ImageScan, error) {
	data, source := defaultScan, "built-in imagescan.yaml"
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		source = path
	}
	obj := &scanv1.ImageScan{}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	if gvk, want := obj.GroupVersionKind(), scanv1.GroupVersion.WithKind("ImageScan"); gvk != want {
		return nil, fmt.Errorf("read %s: want apiVersion %s and kind %s, got %q and %q",
			source, want.GroupVersion(), want.Kind, obj.APIVersion, obj.Kind)
	}
	if obj.Namespace == "" {
		obj.Namespace = sandbox.Namespace
	}
	return obj, nil
}

// follow prints the ImageScan's Ready condition whenever it changes, polling
// every second, until it is Ready or Stalled, the timeout passes, or ctx
// ends.
func follow(ctx context.Context, c client.Client, key client.ObjectKey, timeout time.Duration) (*scanv1.ImageScan, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("not Ready within %s", timeout))
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	var last *scanv1.ImageScan
	shown := ""
	for {
		obj := &scanv1.ImageScan{}
		if err := c.Get(ctx, key, obj); err != nil {
			if ctx.Err() != nil {
				return last, context.Cause(ctx)
			}
			return last, fmt.Errorf("get imagescan %s: %w", key, err)
		}
		last = obj
		conds := obj.Status.Conditions
		if ready := apimeta.FindStatusCondition(conds, scanv1.ConditionReady); ready != nil {
			line := fmt.Sprintf("Ready=%s %s: %s", ready.Status, ready.Reason, ready.Message)
			if line != shown {
				fmt.Printf("[%4.0fs] %s\n", time.Since(start).Seconds(), line)
				shown = line
			}
		}
		if apimeta.IsStatusConditionTrue(conds, scanv1.ConditionReady) || apimeta.IsStatusConditionTrue(conds, scanv1.ConditionStalled) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// printResults shows the ImageScan and its reports as `kubectl get` would.
func printResults(ctx context.Context, sb *sandbox.Sandbox, obj *scanv1.ImageScan) error {
	t, err := newTables(sb.Env.Config)
	if err != nil {
		return err
	}
	scans, err := t.get(ctx, obj.Namespace, "imagescans", obj.Name, "")
	if err != nil {
		return err
	}
	fmt.Printf("\n$ kubectl get imagescans -n %s\n", obj.Namespace)
	printTable(os.Stdout, scans, true, false, 0)
	selector := scanv1.LabelImageScan + "=" + obj.Name
	reports, err := t.get(ctx, obj.Namespace, "imagereports", "", selector)
	if err != nil {
		return err
	}
	fmt.Printf("\n$ kubectl get imagereports -n %s -l %s\n", obj.Namespace, selector)
	printTable(os.Stdout, reports, true, false, 20)
	return printWorst(ctx, sb, obj, selector)
}

// printWorst shows the first vulnerabilities of the image with the most
// critical and high ones, from its OpenReports Report (or its ImageReport's
// list where Reports are not served).
func printWorst(ctx context.Context, sb *sandbox.Sandbox, obj *scanv1.ImageScan, selector string) error {
	var list scanv1.ImageReportList
	sel, err := labels.Parse(selector)
	if err != nil {
		return err
	}
	if err := sb.Env.Client.List(ctx, &list, client.InNamespace(obj.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return err
	}
	var worst *scanv1.ImageReport
	urgent := func(r *scanv1.ImageReport) int64 {
		if f := r.Status.Findings; f != nil && f.Severities != nil {
			return f.Severities.Critical + f.Severities.High
		}
		return -1
	}
	for i := range list.Items {
		if worst == nil || urgent(&list.Items[i]) > urgent(worst) {
			worst = &list.Items[i]
		}
	}
	if worst == nil {
		return nil
	}
	type row struct{ id, severity, pkg, version, cvss, cves string }
	var rows []row
	if link := worst.Status.OpenReport; link != nil {
		rep := &openreports.Report{}
		if err := sb.Env.Client.Get(ctx, client.ObjectKey{Namespace: worst.Namespace, Name: link.Name}, rep); err != nil {
			return err
		}
		for _, r := range rep.Results {
			p := r.Properties
			rows = append(rows, row{r.Policy, string(r.Severity), p["package"], p["installedVersion"], p["cvss"], p["cves"]})
		}
		fmt.Printf("\nThe first vulnerabilities of %s (%d critical or high), from its Report (kubectl get report %s -o yaml):\n",
			worst.Spec.Reference, urgent(worst), rep.Name)
	} else {
		for _, v := range worst.Status.Vulnerabilities {
			var cves []string
			for _, c := range v.CVEs {
				cves = append(cves, c.ID)
			}
			rows = append(rows, row{v.ID, string(v.Severity), v.Package, v.Version, v.CVSS, strings.Join(cves, ",")})
		}
		fmt.Printf("\nThe first vulnerabilities of %s (%d critical or high), from its report %s:\n", worst.Spec.Reference, urgent(worst), worst.Name)
	}
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tSEVERITY\tPACKAGE\tVERSION\tCVSS\tCVES")
	for _, r := range rows[:min(5, len(rows))] {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.id, r.severity, r.pkg, r.version, r.cvss, r.cves)
	}
	return tw.Flush()
}

// keepRunning leaves the sandbox up for kubectl until ctx ends.
func keepRunning(ctx context.Context, sb *sandbox.Sandbox) error {
	f, err := os.CreateTemp("", "imagescan-demo-*.kubeconfig")
	if err != nil {
		return err
	}
	path := f.Name()
	_ = f.Close()
	defer os.Remove(path)
	if err := sb.WriteKubeConfig(path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	fmt.Printf("\nThe sandbox keeps running; Ctrl-C stops it. Its kubeconfig is %s, e.g.\n\n", path)
	fmt.Printf("  kubectl --kubeconfig %s get imagescans -A\n", path)
	fmt.Printf("  kubectl --kubeconfig %s -n %s annotate imagescan --all %s=\"$(date +%%s)\" --overwrite\n", path, sandbox.Namespace, scanv1.RescanAnnotation)
	<-ctx.Done()
	fmt.Println("\nStopping.")
	return nil
}
