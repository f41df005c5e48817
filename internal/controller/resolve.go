package controller

import (
	"context"
	"sync"

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
	KeyIdpID         = "idpID"
	KeyIDTokenFile   = "idTokenFile"
)

// resolve finds the HSS client of obj: its target from spec and defaults,
// its credentials from the referenced Secret, the default Secret, or the
// manager's key-less identity.
func (r *ImageScanReconciler) resolve(ctx context.Context, obj *scanv1.ImageScan) (hss.Client, error) {
	spec := obj.Spec
	t := hss.Target{
		Region:              firstOf(spec.Region, r.Defaults.Region),
		ProjectID:           firstOf(spec.ProjectID, r.Defaults.ProjectID),
		Endpoint:            firstOf(spec.Endpoint, r.Defaults.Endpoint),
		EnterpriseProjectID: spec.EnterpriseProjectID,
		CredentialsVersion:  "keyless",
	}
	secret := r.Defaults.CredentialsSecret
	if spec.CredentialsRef != nil {
		secret = types.NamespacedName{Namespace: obj.Namespace, Name: spec.CredentialsRef.Name}
	}
	if secret.Name != "" {
		creds, err := r.secrets.read(ctx, r.Client, secret)
		if err != nil {
			return nil, err
		}
		t.Credentials, t.CredentialsSource, t.CredentialsVersion = creds.Credentials, secret.String(), creds.version
		t.ProjectID = firstOf(t.ProjectID, creds.projectID)
	}
	c, err := r.HSS.Client(t)
	if err != nil {
		if hss.ClassOf(err) == hss.ClassAuth {
			return nil, &stepError{Reason: scanv1.ReasonAuthFailed, Stalled: true, Err: err}
		}
		return nil, &stepError{Reason: scanv1.ReasonInvalidConfig, Stalled: true, Err: err}
	}
	return c, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

type secretCredentials struct {
	hss.Credentials
	projectID string
	version   string
}

// secretCache keeps parsed credentials by Secret and resourceVersion. The
// resourceVersion comes from the metadata-only informer, so the data is read
// (uncached, straight from the API server) only when the Secret changed.
type secretCache struct {
	mu sync.Mutex
	m  map[types.NamespacedName]secretCredentials
}

func (s *secretCache) read(ctx context.Context, c client.Client, key types.NamespacedName) (secretCredentials, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.Get(ctx, key, meta); err != nil {
		if apierrors.IsNotFound(err) {
			return secretCredentials{}, stalled(scanv1.ReasonCredentialsNotFound,
				"Secret %q not found in namespace %q; create it with the keys %s and %s", key.Name, key.Namespace, KeyAccessKey, KeySecretKey)
		}
		return secretCredentials{}, err
	}
	version := string(meta.UID) + "/" + meta.ResourceVersion
	s.mu.Lock()
	cached, ok := s.m[key]
	s.mu.Unlock()
	if ok && cached.version == version {
		return cached, nil
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, key, secret); err != nil { // uncached: Secrets are excluded from the cache
		return secretCredentials{}, err
	}
	creds, err := parseSecret(secret)
	if err != nil {
		return secretCredentials{}, err
	}
	creds.version = version
	s.mu.Lock()
	if s.m == nil {
		s.m = map[types.NamespacedName]secretCredentials{}
	}
	s.m[key] = creds
	s.mu.Unlock()
	return creds, nil
}

// parseSecret reads the documented keys; the error names the missing key,
// never a value.
func parseSecret(secret *corev1.Secret) (secretCredentials, error) {
	get := func(k string) string { return string(secret.Data[k]) }
	creds := secretCredentials{
		Credentials: hss.Credentials{
			AccessKey: get(KeyAccessKey), SecretKey: get(KeySecretKey), SecurityToken: get(KeySecurityToken),
			IdpID: get(KeyIdpID), IDTokenFile: get(KeyIDTokenFile),
		},
		projectID: get(KeyProjectID),
	}
	switch {
	case creds.IdpID != "" && creds.IDTokenFile == "":
		return creds, stalled(scanv1.ReasonCredentialsInvalid, "Secret %q has %s but no %s key", secret.Name, KeyIdpID, KeyIDTokenFile)
	case creds.IdpID != "":
	case creds.AccessKey == "":
		return creds, stalled(scanv1.ReasonCredentialsInvalid, "Secret %q has no %s key", secret.Name, KeyAccessKey)
	case creds.SecretKey == "":
		return creds, stalled(scanv1.ReasonCredentialsInvalid, "Secret %q has no %s key", secret.Name, KeySecretKey)
	}
	return creds, nil
}
