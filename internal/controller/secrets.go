package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
)

// Keys of a credentials Secret.
const (
	KeyAccessKey     = "accessKey"
	KeySecretKey     = "secretKey"
	KeySecurityToken = "securityToken"
	KeyProjectID     = "projectID"
)

// refusedKeys were once accepted: idTokenFile named a file in the manager's
// pod, which let whoever wrote the Secret make the manager read, and send to
// IAM, any file it can read, its own ServiceAccount token included.
var refusedKeys = []string{"idpID", "idTokenFile"}

type secretCredentials struct {
	hss.Credentials
	projectID string
	version   string
	used      time.Time
}

// secretCache keeps parsed credentials by Secret and resourceVersion. The
// resourceVersion comes from the metadata-only informer, so the data is read
// (uncached, straight from the API server) only when the Secret changed.
// An entry is one per Secret some ImageScan reads; the janitor drops it
// when its Secret is gone or no ImageScan read it for idleSecret.
type secretCache struct {
	objectMap[secretCredentials]
}

// idleSecret is how long credentials nobody read are kept: a running round
// reads them at least every --max-poll-interval.
const idleSecret = time.Hour

// sweep drops the credentials of Secrets that are gone (as the metadata
// cache shows) or that no ImageScan read lately.
func (s *secretCache) sweep(ctx context.Context, c client.Reader, now time.Time) {
	s.mu.Lock()
	keys := make([]types.NamespacedName, 0, len(s.m)) // one per cached Secret, for this sweep
	for k, e := range s.m {
		if now.Sub(e.used) > idleSecret {
			delete(s.m, k)
			continue
		}
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := c.Get(ctx, k, meta); apierrors.IsNotFound(err) {
			s.forget(k)
		}
	}
}

func (s *secretCache) read(ctx context.Context, c client.Client, key types.NamespacedName, now time.Time) (secretCredentials, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.Get(ctx, key, meta); err != nil {
		if apierrors.IsNotFound(err) {
			s.forget(key)
			return secretCredentials{}, stalled(scanv1.ReasonCredentialsNotFound,
				"Secret %q not found in namespace %q; create it with the keys %s and %s", key.Name, key.Namespace, KeyAccessKey, KeySecretKey)
		}
		return secretCredentials{}, err
	}
	version := string(meta.UID) + "/" + meta.ResourceVersion
	s.mu.Lock()
	cached, ok := s.m[key]
	if ok && cached.version == version {
		cached.used = now
		s.m[key] = cached
		s.mu.Unlock()
		return cached, nil
	}
	s.mu.Unlock()
	secret := &corev1.Secret{}
	if err := c.Get(ctx, key, secret); err != nil { // uncached: Secrets are excluded from the cache
		return secretCredentials{}, err
	}
	creds, err := parseSecret(secret)
	if err != nil {
		return secretCredentials{}, err
	}
	creds.version, creds.used = version, now
	s.set(key, creds)
	return creds, nil
}

// parseSecret reads the documented keys; the error names the missing or
// refused key, never a value.
func parseSecret(secret *corev1.Secret) (secretCredentials, error) {
	for _, k := range refusedKeys {
		if _, ok := secret.Data[k]; ok {
			return secretCredentials{}, stalled(scanv1.ReasonCredentialsInvalid,
				"Secret %q has the key %s, which is not accepted: the manager reads no file a Secret names. "+
					"For key-less access set spec.serviceAccountName instead", secret.Name, k)
		}
	}
	get := func(k string) string { return string(secret.Data[k]) }
	creds := secretCredentials{
		Credentials: hss.Credentials{AccessKey: get(KeyAccessKey), SecretKey: get(KeySecretKey), SecurityToken: get(KeySecurityToken)},
		projectID:   get(KeyProjectID),
	}
	switch {
	case creds.AccessKey == "":
		return creds, stalled(scanv1.ReasonCredentialsInvalid, "Secret %q has no %s key", secret.Name, KeyAccessKey)
	case creds.SecretKey == "":
		return creds, stalled(scanv1.ReasonCredentialsInvalid, "Secret %q has no %s key", secret.Name, KeySecretKey)
	}
	return creds, nil
}
