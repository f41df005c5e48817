package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/sandbox"
)

// runSpec is one measured run: these images in the simulator, these
// ImageScans created together.
type runSpec struct {
	images     []simulator.Image
	objects    []*scanv1.ImageScan
	imagesEach int
	// restartAfter kills the manager (SIGKILL) once that many ImageScans
	// have their round accepted, and starts a new one; 0 never does.
	restartAfter int
	// rescan asks every ImageScan for a second round once all are Ready,
	// and measures that round on its own.
	rescan bool
	// backend is the manager's --hss-backend; batch-scan when empty.
	backend string
	// after, when set, runs once the first round is Ready, with the
	// manager still running (the triage scenario).
	after func(ctx context.Context, r *sandboxRun) error
}

// result is one round of a run.
type result struct {
	first, median, all time.Duration
	ok                 map[simulator.Op]int
	calls, throttled   int
	// writes are the ImageScans' status writes, as watch events; api every
	// write the API server answered for the operator's kinds.
	writes int
	// reopened counts the watches the API server ended with a version too
	// old to resume from: the ImageScans were listed again, and the status
	// writes in between were not seen.
	reopened int
	api      apiWrites
	// reports are the ImageReports, openReports the OpenReports Reports,
	// and bytes what they occupy together.
	reports, openReports, bytes int
	// detailPages are the fewest pages of the images' vulnerability lists;
	// distinctVulns the
	// distinct vulnerabilities: what the findings' detail needs at least.
	detailPages, distinctVulns, lists int
	rss                               uint64
	cpu                               time.Duration
	objectSize                        int
	restartAt, resume                 time.Duration
}

// sandboxRun is a sandbox with a manager process.
type sandboxRun struct {
	s          settings
	sb         *sandbox.Sandbox
	c          client.WithWatch
	mgr        *process
	kubeconfig string
	args       []string
	env        []string // the manager's environment beyond the bench's own
}

// measure runs spec against a fresh sandbox and a manager process: its
// first round, and the rescan when spec asks for it.
func measure(s settings, spec runSpec) ([]result, error) {
	sb, err := sandbox.Start(sandbox.Config{
		Simulator: s.simulator(),
		Images:    append(spec.images, privateImages("warm-up", 1)...),
		NoManager: true,
	})
	if err != nil {
		return nil, err
	}
	defer stop(sb)
	r := &sandboxRun{s: s, sb: sb, kubeconfig: filepath.Join(s.workDir, "kubeconfig")}
	if err := sb.WriteKubeConfig(r.kubeconfig); err != nil {
		return nil, err
	}
	r.args = append(sb.ManagerArgs(),
		"--hss-qps="+strconv.FormatFloat(s.quota, 'f', -1, 64), "--hss-burst="+strconv.Itoa(int(s.quota)),
		"--hss-max-inflight="+strconv.Itoa(maxInFlight), "--read-concurrency="+strconv.Itoa(s.readConcurrency), "--max-concurrent-reconciles="+strconv.Itoa(s.reconciles),
		"--min-poll-interval="+s.minPoll.String(), "--max-poll-interval="+s.maxPoll.String())
	if spec.backend != "" {
		r.args = append(r.args, "--hss-backend="+spec.backend)
	}
	if s.pprof != "" {
		r.args = append(r.args, "--pprof-bind-address="+s.pprof)
	}
	if s.metrics != "" {
		r.args = append(r.args, "--metrics-bind-address="+s.metrics, "--metrics-secure=false")
	}
	if s.memoryLimit != "" {
		limit, err := resource.ParseQuantity(s.memoryLimit)
		if err != nil {
			return nil, fmt.Errorf("--memory-limit: %w", err)
		}
		// What the manager sets from its container's cgroup (main.go).
		r.env = append(r.env, fmt.Sprintf("GOMEMLIMIT=%d", limit.Value()*9/10))
	}
	if r.mgr, err = startProcess(s.manager, r.kubeconfig, r.args, r.env...); err != nil {
		return nil, err
	}
	defer func() { r.mgr.stop(syscall.SIGTERM) }()
	if r.c, err = client.NewWithWatch(sb.Env.Config, client.Options{Scheme: sb.Env.Scheme}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), s.timeout, fmt.Errorf("not Ready within %s", s.timeout))
	defer cancel()
	warm := selectorScan("warm-up", "warm-up")
	if _, err := waitReady(ctx, r.c, sandbox.Namespace, []string{warm.Name}, func() error { return r.c.Create(ctx, warm) }); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	first, err := r.round(ctx, spec, 1, func() error {
		for _, obj := range spec.objects {
			if err := r.c.Create(ctx, obj); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && spec.after != nil {
		err = spec.after(ctx, r)
	}
	if err != nil || !spec.rescan {
		return []result{first}, err
	}
	spec.restartAfter = 0
	second, err := r.round(ctx, spec, 2, func() error {
		// A spec change starts the next round at once, where the rescan
		// annotation would wait for scanv1.MinRescanInterval after the first.
		for _, obj := range spec.objects {
			patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"interval":"24h"}}`))
			if err := r.c.Patch(ctx, obj, patch); err != nil {
				return err
			}
		}
		return nil
	})
	return []result{first, second}, err
}

// round runs start and follows the ImageScans until each is Ready in round
// n, counting from a clean slate: the simulator's counters, the API
// server's writes, the status writes seen.
func (r *sandboxRun) round(ctx context.Context, spec runSpec, n int64, start func() error) (result, error) {
	var res result
	r.sb.Simulator.ResetCounts()
	before, err := readWrites(ctx, r.sb.Env.Config)
	if err != nil {
		return res, err
	}
	w, err := watchImageScans(ctx, r.c, sandbox.Namespace)
	if err != nil {
		return res, err
	}
	defer func() { w.Stop() }() // the watch in use when the round ends
	began := time.Now()
	if err := start(); err != nil {
		return res, err
	}
	want := map[string]bool{}
	for _, obj := range spec.objects {
		want[obj.Name] = true
	}
	ready, accepted := map[string]time.Time{}, map[string]bool{}
	var restarted time.Time
	var seen []*scanv1.ImageScan // listed again after a watch ended
	for len(ready) < len(want) {
		var obj *scanv1.ImageScan
		if len(seen) > 0 {
			obj, seen = seen[0], seen[1:]
		} else {
			var ev watch.Event
			var open bool
			select {
			case <-ctx.Done():
				return res, fmt.Errorf("%d of %d Ready: %w", len(ready), len(want), context.Cause(ctx))
			case ev, open = <-w.ResultChan():
			}
			if !open {
				// The retry watcher gives up on a version the API server no
				// longer keeps (410 Gone): list what is, and watch from there.
				w.Stop()
				if seen, w, err = relist(ctx, r.c, sandbox.Namespace); err != nil {
					return res, fmt.Errorf("%d of %d Ready: the watch ended and could not be reopened: %w", len(ready), len(want), err)
				}
				res.reopened++
				continue
			}
			var ok bool
			if obj, ok = ev.Object.(*scanv1.ImageScan); !ok || ev.Type != watch.Modified {
				continue
			}
			if want[obj.Name] {
				res.writes++
			}
		}
		if !want[obj.Name] {
			continue
		}
		if !restarted.IsZero() && res.resume == 0 {
			res.resume = time.Since(restarted)
		}
		round := obj.Status.LastScanRequest
		if round == nil || round.Round != n {
			continue
		}
		if round.AcceptedAt != nil {
			accepted[obj.Name] = true
		}
		if spec.restartAfter > 0 && restarted.IsZero() && len(accepted) >= spec.restartAfter {
			r.mgr.stop(syscall.SIGKILL)
			if r.mgr, err = startProcess(r.s.manager, r.kubeconfig, r.args, r.env...); err != nil {
				return res, err
			}
			restarted, res.restartAt = time.Now(), time.Since(began)
		}
		if _, done := ready[obj.Name]; !done && round.CompletedAt != nil && apimeta.IsStatusConditionTrue(obj.Status.Conditions, scanv1.ConditionReady) {
			ready[obj.Name] = time.Now()
		}
		if cond := apimeta.FindStatusCondition(obj.Status.Conditions, scanv1.ConditionStalled); cond != nil && cond.Status == "True" {
			return res, fmt.Errorf("imagescan %s stalled: %s", obj.Name, cond.Message)
		}
	}
	if res.rss, res.cpu, err = r.mgr.usage(); err != nil {
		return res, err
	}
	var times []time.Duration
	for _, t := range ready {
		times = append(times, t.Sub(began))
	}
	slices.Sort(times)
	res.first, res.median, res.all = times[0], times[len(times)/2], times[len(times)-1]
	res.ok = map[simulator.Op]int{}
	for op, byOutcome := range r.sb.Simulator.Counts() {
		for outcome, n := range byOutcome {
			res.calls += n
			if outcome == simulator.OutcomeThrottled {
				res.throttled += n
			}
		}
		res.ok[op] = byOutcome[simulator.OutcomeOK]
	}
	// Either family's scan requests and image lists count as such.
	res.ok[simulator.OpBatchScan] += res.ok[simulator.OpScanTask]
	res.ok[simulator.OpListImages] += res.ok[simulator.OpRegistryImages]
	after, err := readWrites(ctx, r.sb.Env.Config)
	if err != nil {
		return res, err
	}
	res.api = after.minus(before)
	if res.bytes, res.reports, res.openReports, err = reportBytes(ctx, r.c); err != nil {
		return res, err
	}
	res.reports-- // the warm-up's
	res.detailPages, res.distinctVulns, res.lists = detailNeeds(r.sb.Simulator, spec.images, detailOf(spec.objects))
	for _, o := range spec.objects {
		got := &scanv1.ImageScan{}
		if err := r.c.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
			return res, err
		}
		data, _ := json.Marshal(got)
		res.objectSize = max(res.objectSize, len(data))
	}
	if len(ready) == 0 {
		return res, errors.New("nothing became Ready")
	}
	return res, nil
}

// urgent: the catalogue rates the vulnerability Critical or High.
func urgent(sim *simulator.Server, vulID string) bool {
	v, ok := sim.Catalogued(vulID)
	return ok && (*v.SeverityLevel == simulator.SeverityCritical || *v.SeverityLevel == simulator.SeverityHigh)
}

// detailOf is the vulnerability detail the run's ImageScans ask for.
func detailOf(objs []*scanv1.ImageScan) scanv1.VulnerabilityDetail {
	if len(objs) == 0 || objs[0].Spec.Vulnerabilities == "" {
		return scanv1.VulnerabilitiesSummary
	}
	return objs[0].Spec.Vulnerabilities
}

// detailNeeds counts, from the simulator's own lists, the fewest pages of
// the images' vulnerability lists and the distinct vulnerabilities to look
// up in the catalogue. A list on one page is one call. A list of up to
// hss.MaxWholeList entries costs its first page and then every page of
// each repair necessity, as every entry is rated. A longer one costs, with
// Summary, its first page and a count of two necessities (the third is the
// rest); with Details, at least a page of each necessity. Only the entries
// of whole lists are sure to be looked up. lists counts the images with a
// critical or high vulnerability: those Details gives a Report by default.
func detailNeeds(sim *simulator.Server, images []simulator.Image, mode scanv1.VulnerabilityDetail) (pages, distinct, lists int) {
	seen := map[string]bool{}
	for _, img := range images {
		got, ok := sim.Lookup(img.Type, img.Namespace, img.Name, img.Tag)
		if !ok || got.Vulnerabilities == 0 {
			continue
		}
		list := sim.Vulnerabilities(got)
		if slices.ContainsFunc(list, func(v model.ImageVulInfo) bool { return urgent(sim, *v.VulId) }) {
			lists++
		}
		switch n := len(list); {
		case n <= hss.PageSize:
			pages++
		case n <= hss.MaxWholeList:
			per := map[string]int{}
			for _, v := range list {
				per[*v.RepairNecessity]++
			}
			pages++
			for _, k := range per {
				pages += (k + hss.PageSize - 1) / hss.PageSize
			}
		case mode == scanv1.VulnerabilitiesSummary:
			pages += 3
			continue
		default:
			pages += 4
			continue
		}
		for _, v := range list {
			seen[*v.VulId] = true
		}
	}
	return pages, len(seen), lists
}
