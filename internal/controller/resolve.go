package controller

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss"
	"github.com/hss-dev/imagescan-operator/internal/identity"
)

// Tenancy is what the platform grants namespaced ImageScans. Every spec
// field and Secret key is a tenant's input; these decide which of them the
// manager acts on.
type Tenancy struct {
	// Endpoints allows spec.endpoint values besides the region's official
	// endpoint; nil allows none.
	Endpoints *hss.EndpointPolicy
	// RestrictPlatformCredentials limits the platform's credentials (the
	// default Secret and the manager's own key-less identity) to
	// PlatformCredentialsNamespaces.
	RestrictPlatformCredentials   bool
	PlatformCredentialsNamespaces []string
	// WorkloadIdentity exchanges ServiceAccount tokens for credentials;
	// nil while the feature is off.
	WorkloadIdentity *identity.Federator
}

// resolve finds the HSS client of the pass's ImageScan. It is the one place
// where the spec's endpoint and credential choices meet the platform's
// grants: a refusal stalls the object before any client exists, so nothing
// is sent.
func (r *ImageScanReconciler) resolve(ctx context.Context, p *pass) error {
	t, err := r.target(p.obj)
	if err != nil {
		return err
	}
	if err := r.credentials(ctx, p.obj, &t); err != nil {
		return err
	}
	c, err := r.HSS.Client(t)
	if err != nil {
		// Status gets the manager's own words; the SDK's text, which names
		// addresses, goes only to the platform's log.
		var he *hss.Error
		if errors.As(err, &he) && he.Err != nil {
			ctrl.LoggerFrom(ctx).Info("HSS client could not be configured", "reason", he.Summary, "cause", he.Err.Error())
		}
		if policyOf(err).config {
			return &stepError{Reason: scanv1.ReasonInvalidConfig, Stalled: true, Err: err}
		}
		return fromHSS(err) // IAM unreachable, the client still being built, or refused keys
	}
	p.client = c
	return nil
}

// target is where the calls go. The manager's own --hss-endpoint is the
// platform's choice; an endpoint from the spec must pass the policy.
func (r *ImageScanReconciler) target(obj *scanv1.ImageScan) (hss.Target, error) {
	spec := obj.Spec
	t := hss.Target{
		Region:              cmp.Or(spec.Region, r.Defaults.Region),
		ProjectID:           cmp.Or(spec.ProjectID, r.Defaults.ProjectID),
		Endpoint:            r.Defaults.Endpoint,
		EnterpriseProjectID: spec.EnterpriseProjectID,
	}
	if spec.Endpoint != "" && spec.Endpoint != r.Defaults.Endpoint {
		if err := r.Tenancy.Endpoints.Check(spec.Endpoint, t.Region); err != nil {
			return t, stalled(scanv1.ReasonEndpointNotAllowed, "%v", err)
		}
		t.Endpoint = spec.Endpoint
	}
	return t, nil
}

// credentials picks the identity of the calls: the namespace's own Secret,
// its own ServiceAccount, or, where the platform allows the namespace, the
// platform's default Secret or the manager's key-less identity.
func (r *ImageScanReconciler) credentials(ctx context.Context, obj *scanv1.ImageScan, t *hss.Target) error {
	spec := obj.Spec
	switch {
	case spec.CredentialsRef != nil:
		return r.fromSecret(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: spec.CredentialsRef.Name}, t)
	case spec.ServiceAccountName != "":
		return r.fromServiceAccount(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: spec.ServiceAccountName}, t)
	}
	if r.Tenancy.RestrictPlatformCredentials && !slices.Contains(r.Tenancy.PlatformCredentialsNamespaces, obj.Namespace) {
		return stalled(scanv1.ReasonCredentialsNotAllowed,
			"namespace %q may not use the platform's HSS credentials; set spec.credentialsRef to a Secret of this namespace, or spec.serviceAccountName",
			obj.Namespace)
	}
	if r.Defaults.CredentialsSecret.Name != "" {
		return r.fromSecret(ctx, r.Defaults.CredentialsSecret, t)
	}
	t.CredentialsVersion = "keyless"
	return nil
}

func (r *ImageScanReconciler) fromSecret(ctx context.Context, key types.NamespacedName, t *hss.Target) error {
	creds, err := r.secrets.read(ctx, r.Client, key, r.Clock.Now())
	if err != nil {
		return err
	}
	t.Credentials, t.CredentialsSource, t.CredentialsVersion = creds.Credentials, "secret:"+key.String(), creds.version
	t.ProjectID = cmp.Or(t.ProjectID, creds.projectID)
	return nil
}

func (r *ImageScanReconciler) fromServiceAccount(ctx context.Context, sa types.NamespacedName, t *hss.Target) error {
	if r.Tenancy.WorkloadIdentity == nil {
		return stalled(scanv1.ReasonCredentialsNotAllowed,
			"spec.serviceAccountName needs workload identity, which this manager does not enable (--workload-identity); use spec.credentialsRef")
	}
	creds, err := r.Tenancy.WorkloadIdentity.Credentials(ctx, sa)
	switch {
	case errors.Is(err, identity.ErrServiceAccountNotFound):
		return stalled(scanv1.ReasonCredentialsNotFound, "%v", err)
	case errors.Is(err, identity.ErrTokenForbidden):
		return stalled(scanv1.ReasonCredentialsNotAllowed, "%v", err)
	case err != nil:
		return err
	}
	// One client per ServiceAccount: the SDK re-reads the token file when
	// its temporary keys expire.
	t.Credentials, t.CredentialsSource, t.CredentialsVersion = creds, "serviceaccount:"+sa.String(), "federated"
	return nil
}
