// Package identity lets an ImageScan reach HSS as its own namespace's
// ServiceAccount, without keys: the manager requests a short-lived token for
// that ServiceAccount (the TokenRequest API), writes it to a file whose name
// the manager derives itself, and the SDK's OIDC federation exchanges the
// file with IAM for temporary credentials. No tenant ever names a file.
//
// The RBAC this needs (creating serviceaccounts/token) is generated into its
// own role, config/workload-identity, bound only where the platform enables
// the feature.
package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create

// Config is the platform's federation with IAM.
type Config struct {
	// IdpID is the IAM identity provider that trusts the cluster's
	// ServiceAccount token issuer.
	IdpID string
	// Audience is the token's audience: the client ID configured on that
	// identity provider.
	Audience string
	// IAMEndpoint overrides the SDK's IAM endpoint for the exchange.
	IAMEndpoint string
	// TokenDir holds the minted tokens, one file per ServiceAccount; the
	// manager creates it with mode 0700.
	TokenDir string
	// TokenTTL is the lifetime requested for each token; default 1h.
	TokenTTL time.Duration
	// Clock is replaced by tests.
	Clock clock.PassiveClock
}

// Federator mints ServiceAccount tokens and hands out the credentials that
// exchange them.
type Federator struct {
	cfg Config
	c   client.Client

	mu      sync.Mutex
	expires map[types.NamespacedName]time.Time // of the token on disk
}

// New checks cfg and prepares TokenDir.
func New(cfg Config, c client.Client) (*Federator, error) {
	switch {
	case cfg.IdpID == "":
		return nil, fmt.Errorf("workload identity needs the IAM identity provider's ID")
	case cfg.Audience == "":
		return nil, fmt.Errorf("workload identity needs the tokens' audience")
	case cfg.TokenDir == "":
		return nil, fmt.Errorf("workload identity needs a directory for tokens")
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if err := os.MkdirAll(cfg.TokenDir, 0o700); err != nil {
		return nil, fmt.Errorf("token directory: %w", err)
	}
	// Tokens an earlier run left (an emptyDir outlives a container) are
	// not this run's to keep.
	old, _ := filepath.Glob(filepath.Join(cfg.TokenDir, "*.jwt"))
	for _, file := range old {
		_ = os.Remove(file)
	}
	return &Federator{cfg: cfg, c: c, expires: map[types.NamespacedName]time.Time{}}, nil
}

// Credentials returns the federation credentials of a ServiceAccount,
// first minting a new token when the one on disk has less than half its
// life left. The SDK reads the file whenever its temporary keys expire, and
// every reconcile passes here first, so the file it reads is fresh.
func (f *Federator) Credentials(ctx context.Context, sa types.NamespacedName) (hss.Credentials, error) {
	file := f.tokenFile(sa)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.cfg.Clock.Now()
	f.sweep(now)
	if exp, ok := f.expires[sa]; !ok || exp.Sub(now) < f.cfg.TokenTTL/2 {
		token, exp, err := f.mint(ctx, sa)
		if err != nil {
			return hss.Credentials{}, err
		}
		if err := writeToken(file, token); err != nil {
			return hss.Credentials{}, err
		}
		f.expires[sa] = exp
	}
	return hss.Credentials{IdpID: f.cfg.IdpID, IDTokenFile: file, IAMEndpoint: f.cfg.IAMEndpoint}, nil
}

// sweep deletes the tokens that have expired: a ServiceAccount still in use
// gets a new one before its token is half way through its life, so an
// expired token is one nobody uses. The caller holds f.mu.
func (f *Federator) sweep(now time.Time) {
	for sa, exp := range f.expires {
		if now.After(exp) {
			_ = os.Remove(f.tokenFile(sa))
			delete(f.expires, sa)
		}
	}
}

// Tokens reports how many token files the federator keeps.
func (f *Federator) Tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.expires)
}

// ErrServiceAccountNotFound and ErrTokenForbidden wrap the API server's
// answers a user can act on.
var (
	ErrServiceAccountNotFound = errors.New("ServiceAccount not found")
	ErrTokenForbidden         = errors.New("the manager may not request tokens")
)

func (f *Federator) mint(ctx context.Context, sa types.NamespacedName) (string, time.Time, error) {
	seconds := int64(f.cfg.TokenTTL.Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences: []string{f.cfg.Audience}, ExpirationSeconds: &seconds,
	}}
	obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: sa.Namespace, Name: sa.Name}}
	if err := f.c.SubResource("token").Create(ctx, obj, tr); err != nil {
		return "", time.Time{}, classify(sa, err)
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}

// tokenFile is the ServiceAccount's file: a digest of its name, so no part
// of the path comes from an object.
func (f *Federator) tokenFile(sa types.NamespacedName) string {
	sum := sha256.Sum256([]byte(sa.String()))
	return filepath.Join(f.cfg.TokenDir, hex.EncodeToString(sum[:16])+".jwt")
}

// writeToken replaces the file atomically, readable by the manager only.
func writeToken(file, token string) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".token-*")
	if err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(token); err != nil {
		tmp.Close()
		return fmt.Errorf("write token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	return nil
}
