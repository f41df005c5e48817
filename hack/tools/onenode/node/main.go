// Command node runs the one-node test cluster (package cluster) as root:
//
//	node up          start it and wait for the node to be Ready
//	node down        stop it and remove every trace of it
//	node supervise   the components' parent, as node up starts it
//
// The Kubernetes version is ENVTEST_K8S_VERSION, which the Makefile pins.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/hss-dev/imagescan-operator/hack/tools/onenode/cluster"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: node up|down|supervise")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	state := fs.String("state", "", "state directory (supervise)")
	_ = fs.Parse(os.Args[2:])
	if err := run(os.Args[1], *state); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
}

func run(cmd, state string) error {
	if cmd == "supervise" {
		return cluster.Supervise(state)
	}
	version := os.Getenv("ENVTEST_K8S_VERSION")
	if version == "" {
		return fmt.Errorf("set ENVTEST_K8S_VERSION (the Makefile pins it)")
	}
	c := cluster.Default(root(), version)
	switch cmd {
	case "up":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := c.Up(ctx); err != nil {
			return err
		}
		fmt.Printf("The cluster is up. Its API server is %s inside network namespace %s:\n", c.APIServer(), c.Netns)
		fmt.Printf("  nsenter --net=%s kubectl --kubeconfig %s get nodes\n", c.NetnsPath(), c.AdminKubeconfig())
		return nil
	case "down":
		return c.Down()
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// root is the repository's root: this file is hack/tools/onenode/node/main.go.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}
