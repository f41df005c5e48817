package hss

import (
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/provider"
)

// Credentials say how to authenticate. Exactly one way is used, in this
// order: an access key pair (optionally temporary, with a security token);
// OIDC federation, where the SDK exchanges an ID token with IAM for
// temporary keys; else the manager's own key-less identity, found by the
// SDK's provider chain.
type Credentials struct {
	AccessKey     string
	SecretKey     string
	SecurityToken string
	// IdpID names the IAM identity provider of a federation, and
	// IDTokenFile the token the SDK reads and exchanges. The file is always
	// one the manager wrote itself; never a path from a Secret or a spec.
	IdpID       string
	IDTokenFile string
	// IAMEndpoint overrides the IAM endpoint of the exchange and of the
	// project-ID lookup (the manager's --iam-endpoint); empty is the SDK's
	// default.
	IAMEndpoint string
}

// String, GoString and MarshalJSON never print a secret, whatever logs them.
func (c Credentials) String() string { return c.kind() }

func (c Credentials) GoString() string { return "hss.Credentials(" + c.kind() + ")" }

func (c Credentials) MarshalJSON() ([]byte, error) { return []byte(`"` + c.kind() + `"`), nil }

// refreshing reports whether the SDK's credential object renews itself
// (temporary keys from IAM or metadata). It then mutates without a lock, so
// its client must not be used by two calls at once.
func (c Credentials) refreshing() bool {
	k := c.kind()
	return k == "oidc" || k == "keyless"
}

func (c Credentials) kind() string {
	switch {
	case c.AccessKey != "" && c.SecurityToken != "":
		return "temporary-aksk"
	case c.AccessKey != "":
		return "aksk"
	case c.IdpID != "":
		return "oidc"
	default:
		return "keyless"
	}
}

// sdkCredentials builds the SDK's credential for c and a project ID.
func sdkCredentials(c Credentials, projectID string) (auth.ICredential, error) {
	switch c.kind() {
	case "aksk", "temporary-aksk":
		if c.SecretKey == "" {
			return nil, fmt.Errorf("an access key needs its secret key")
		}
		b := basic.NewCredentialsBuilder().WithAk(c.AccessKey).WithSk(c.SecretKey).WithProjectId(projectID)
		if c.SecurityToken != "" {
			b = b.WithSecurityToken(c.SecurityToken)
		}
		if c.IAMEndpoint != "" { // where the SDK looks the project ID up
			b = b.WithIamEndpointOverride(c.IAMEndpoint)
		}
		return b.SafeBuild()
	case "oidc":
		if c.IDTokenFile == "" {
			return nil, fmt.Errorf("an OIDC identity provider needs an ID token file")
		}
		b := basic.NewCredentialsBuilder().WithIdpId(c.IdpID).WithIdTokenFile(c.IDTokenFile).WithProjectId(projectID)
		if c.IAMEndpoint != "" {
			b = b.WithIamEndpointOverride(c.IAMEndpoint)
		}
		return b.SafeBuild()
	}
	// The SDK's chain tries environment, profile, ECS metadata and CCE pod
	// identity in turn.
	cred, err := provider.BasicCredentialProviderChain().GetCredentials()
	if err != nil {
		return nil, fmt.Errorf("no key-less identity available to the manager: %w", err)
	}
	if b, ok := cred.(*auth.BasicCredentials); ok && projectID != "" {
		b.ProjectId = projectID
	}
	return cred, nil
}
