// Command hss-simulator serves the simulated HSS image API for local runs
// and demos, e.g.
//
//	go run ./hack/hss-simulator --project-id p1 --ak AK --sk SK --images 500 --scan-duration 30s
//
// Point the SDK client at http://127.0.0.1:8088 with the same AK/SK and
// project. With --idp-id it serves IAM's federation calls on the same
// address (package iamsim), so --iam-endpoint can name it too. Requests are
// logged one per line, never with credentials.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
	"github.com/hss-dev/imagescan-operator/internal/iamsim"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	var (
		listen    = flag.String("listen", "127.0.0.1:8088", "address to serve on")
		project   = flag.String("project-id", "", "only project_id accepted in paths (any when empty)")
		ak        = flag.String("ak", "", "access key ID accepted for AK/SK signing")
		sk        = flag.String("sk", "", "secret key of --ak")
		security  = flag.String("security-token", "", "makes --ak temporary: requests must carry this X-Security-Token")
		token     = flag.String("token", "", "X-Auth-Token value accepted")
		images    = flag.Int("images", 100, "number of generated images (ignored with --inventory)")
		inventory = flag.String("inventory", "", "JSON inventory file to serve instead of generated images")
		seed      = flag.Int64("seed", 1, "seed for generated images, scan outcomes and faults")
		queue     = flag.Duration("queue-delay", 5*time.Second, "time a requested scan waits before running")
		scan      = flag.Duration("scan-duration", 30*time.Second, "time a scan runs")
		failRate  = flag.Float64("failure-rate", 0.1, "share of scans that fail (0..1)")
		latency   = flag.Duration("latency", 0, "delay added to every answer")
		qps       = flag.Float64("qps", 0, "request quota per second; 0 means unlimited")
		errRate   = flag.Float64("error-rate", 0, "share of requests answered 500/503 (0..1)")
		dropRate  = flag.Float64("drop-rate", 0, "share of connections closed without an answer (0..1)")
		idpID     = flag.String("idp-id", "", "IAM OIDC identity provider accepted by the federation calls (X-Idp-Id)")
		idpClient = flag.String("idp-client-id", "", "client ID (audience) the provider's ID tokens must carry")
		idpURL    = flag.String("idp-url", "", "issuer the provider's ID tokens must name (any when empty)")
		idpKey    = flag.String("idp-signing-key", "", "JSON Web Key Set file the provider verifies ID tokens with (a Kubernetes issuer's /openid/v1/jwks)")
		retire    = flag.Duration("retire-deprecated-after", -1, "answer batch-scan, the SWR image list and synchronize with 404 APIGW.0101 this long after starting (0: from the start; negative: never)")
	)
	flag.Parse()

	cfg := simulator.Config{
		ProjectID:        *project,
		QueueDelay:       *queue,
		ScanDuration:     *scan,
		FailureRate:      *failRate,
		Seed:             *seed,
		Faults:           simulator.Faults{Latency: *latency, QPS: *qps, ErrorRate: *errRate, DropRate: *dropRate},
		RetireDeprecated: *retire == 0,
		OnRequest: func(r simulator.RequestRecord) {
			log.Printf("%s %s %s op=%s status=%d outcome=%s took=%s",
				r.ID, r.Method, r.Path, r.Op, r.Status, r.Outcome, r.Duration.Round(time.Microsecond))
		},
	}
	if (*ak == "") != (*sk == "") {
		return errors.New("--ak and --sk go together")
	}
	if *ak != "" {
		cfg.Credentials = map[string]simulator.Credential{*ak: {SK: *sk, SecurityToken: *security}}
	}
	if *token != "" {
		cfg.Tokens = []string{*token}
	}
	if cfg.Credentials == nil && cfg.Tokens == nil {
		log.Print("no --ak/--sk or --token: authentication is off")
	}

	sim := simulator.New(cfg)
	if *retire > 0 {
		time.AfterFunc(*retire, func() {
			log.Print("the deprecated calls are retired: they answer 404 APIGW.0101")
			sim.RetireDeprecated()
		})
	}
	imgs := simulator.Generate(*images, *seed)
	if *inventory != "" {
		var err error
		if imgs, err = simulator.LoadInventory(*inventory); err != nil {
			return err
		}
	}
	sim.AddImages(imgs...)
	var handler http.Handler = sim
	if *idpID != "" {
		idp, err := identityProvider(*idpClient, *idpURL, *idpKey)
		if err != nil {
			return err
		}
		handler = iamsim.New(iamsim.Config{
			IdentityProviders: map[string]iamsim.IdentityProvider{*idpID: idp}, Keys: sim,
			OnFederation: func(f iamsim.Federation) { log.Printf("federated idp=%s subject=%s", f.IdpID, f.Subject) },
		}).Beside(sim)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("serving %d images on http://%s", len(imgs), *listen)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", *listen, err)
	}
	return nil
}

// identityProvider is the IAM OIDC provider of the --idp flags: it checks
// the ID tokens' signatures with the signing key file.
func identityProvider(clientID, issuer, keyFile string) (iamsim.IdentityProvider, error) {
	if clientID == "" || keyFile == "" {
		return iamsim.IdentityProvider{}, errors.New("--idp-id needs --idp-client-id and --idp-signing-key")
	}
	jwks, err := os.ReadFile(keyFile)
	if err != nil {
		return iamsim.IdentityProvider{}, err
	}
	verify, err := iamsim.SigningKeyVerifier(jwks, issuer)
	if err != nil {
		return iamsim.IdentityProvider{}, err
	}
	return iamsim.IdentityProvider{Audience: clientID, Verify: verify}, nil
}
