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

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
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
}

type result struct {
	first, median, all time.Duration
	ok                 map[simulator.Op]int
	calls, throttled   int
	writes             int
	rss                uint64
	cpu                time.Duration
	objectSize         int
	restartAt, resume  time.Duration
}

// measure runs spec against a fresh sandbox and a manager process.
func measure(s settings, spec runSpec) (result, error) {
	var res result
	sb, err := sandbox.Start(sandbox.Config{
		Simulator: s.simulator(),
		Images:    append(spec.images, privateImages("warm-up", 1)...),
		NoManager: true,
	})
	if err != nil {
		return res, err
	}
	defer stop(sb)
	kubeconfig := filepath.Join(s.workDir, "kubeconfig")
	if err := sb.WriteKubeConfig(kubeconfig); err != nil {
		return res, err
	}
	args := append(sb.ManagerArgs(),
		"--hss-qps="+strconv.FormatFloat(s.quota, 'f', -1, 64), "--hss-burst="+strconv.Itoa(int(s.quota)),
		"--hss-max-inflight=8", "--min-poll-interval="+s.minPoll.String(), "--max-poll-interval="+s.maxPoll.String())
	mgr, err := startProcess(s.manager, kubeconfig, args)
	if err != nil {
		return res, err
	}
	defer func() { mgr.stop(syscall.SIGTERM) }()

	c, err := client.NewWithWatch(sb.Env.Config, client.Options{Scheme: sb.Env.Scheme})
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), s.timeout, fmt.Errorf("not Ready within %s", s.timeout))
	defer cancel()
	warm := selectorScan("warm-up", "warm-up")
	if _, err := waitReady(ctx, c, sandbox.Namespace, []string{warm.Name}, func() error { return c.Create(ctx, warm) }); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	sb.Simulator.ResetCounts()

	w, err := c.Watch(ctx, &scanv1.ImageScanList{}, client.InNamespace(sandbox.Namespace))
	if err != nil {
		return res, err
	}
	defer w.Stop()
	began := time.Now()
	for _, obj := range spec.objects {
		if err := c.Create(ctx, obj); err != nil {
			return res, err
		}
	}
	want := map[string]bool{}
	for _, obj := range spec.objects {
		want[obj.Name] = true
	}
	ready, accepted := map[string]time.Time{}, map[string]bool{}
	var restarted time.Time
	for len(ready) < len(want) {
		var ev watch.Event
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%d of %d Ready: %w", len(ready), len(want), context.Cause(ctx))
		case ev = <-w.ResultChan():
		}
		obj, ok := ev.Object.(*scanv1.ImageScan)
		if !ok || !want[obj.Name] || ev.Type != watch.Modified {
			continue
		}
		res.writes++
		if !restarted.IsZero() && res.resume == 0 {
			res.resume = time.Since(restarted)
		}
		if r := obj.Status.LastScanRequest; r != nil && r.AcceptedAt != nil {
			accepted[obj.Name] = true
		}
		if spec.restartAfter > 0 && restarted.IsZero() && len(accepted) >= spec.restartAfter {
			mgr.stop(syscall.SIGKILL)
			if mgr, err = startProcess(s.manager, kubeconfig, args); err != nil {
				return res, err
			}
			restarted, res.restartAt = time.Now(), time.Since(began)
		}
		if _, done := ready[obj.Name]; !done && apimeta.IsStatusConditionTrue(obj.Status.Conditions, scanv1.ConditionReady) {
			ready[obj.Name] = time.Now()
		}
		if cond := apimeta.FindStatusCondition(obj.Status.Conditions, scanv1.ConditionStalled); cond != nil && cond.Status == "True" {
			return res, fmt.Errorf("imagescan %s stalled: %s", obj.Name, cond.Message)
		}
	}
	if res.rss, res.cpu, err = mgr.usage(); err != nil {
		return res, err
	}
	var times []time.Duration
	for _, t := range ready {
		times = append(times, t.Sub(began))
	}
	slices.Sort(times)
	res.first, res.median, res.all = times[0], times[len(times)/2], times[len(times)-1]
	res.ok = map[simulator.Op]int{}
	for op, byOutcome := range sb.Simulator.Counts() {
		for outcome, n := range byOutcome {
			res.calls += n
			if outcome == simulator.OutcomeThrottled {
				res.throttled += n
			}
		}
		res.ok[op] = byOutcome[simulator.OutcomeOK]
	}
	for _, o := range spec.objects {
		got := &scanv1.ImageScan{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
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
