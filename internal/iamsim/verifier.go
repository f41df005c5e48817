package iamsim

import (
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// SigningKeyVerifier checks an ID token the way an IAM OIDC identity
// provider does with the signing key it was configured with: the token's
// signature against a JSON Web Key Set (for a Kubernetes issuer, what its
// /openid/v1/jwks serves) and, when issuer is set, its iss claim. It
// returns the token's subject. Expiry and audience are checked by the
// exchange itself, on the simulator's clock.
func SigningKeyVerifier(jwks []byte, issuer string) (func(token string) (string, error), error) {
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &keys); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if len(keys.Keys) == 0 {
		return nil, errors.New("signing key: the key set is empty")
	}
	algorithms := []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}
	return func(token string) (string, error) {
		parsed, err := jwt.ParseSigned(token, algorithms)
		if err != nil {
			return "", err
		}
		var claims jwt.Claims
		if err := parsed.Claims(keys, &claims); err != nil {
			return "", err
		}
		if issuer != "" && claims.Issuer != issuer {
			return "", fmt.Errorf("issuer %q is not %q", claims.Issuer, issuer)
		}
		return claims.Subject, nil
	}, nil
}
