package simulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// IAM's two federation calls, as the SDK's OIDC credentials make them:
//
//	POST /v3.0/OS-AUTH/id-token/tokens         X-Idp-Id, {"auth":{"id_token":{"id":JWT}}}
//	  → 201, X-Subject-Token header, {"token":{"expires_at":...}}
//	POST /v3.0/OS-CREDENTIAL/securitytokens    {"auth":{"identity":{"methods":["token"],"token":{"id":T,"duration_seconds":N}}}}
//	  → 201, {"credential":{"access","secret","securitytoken","expires_at"}}
//
// The temporary access key is then accepted, with its security token, by
// the HSS calls. Neither call is signed: the ID token and then the subject
// token are the credentials.

// IdentityProvider is an IAM identity provider that trusts a token issuer.
type IdentityProvider struct {
	// Audience the ID token must carry (the provider's client ID).
	Audience string
	// Verify checks the token's signature and returns its subject. When
	// nil, the claims are read without checking the signature.
	Verify func(token string) (subject string, err error)
}

// Federation records one completed exchange.
type Federation struct {
	IdpID     string
	Subject   string
	Audiences []string
	AccessKey string
}

// iam holds the federation state behind its own lock.
type iam struct {
	mu       sync.Mutex
	subjects map[string]subjectToken // X-Subject-Token → who
	done     []Federation
}

type subjectToken struct {
	idp, subject string
	audiences    []string
	expires      time.Time
}

var errIDToken = &apiError{http.StatusUnauthorized, "IAM.0057", "The ID token is invalid or expired."}

// exchangeIDToken answers POST /v3.0/OS-AUTH/id-token/tokens.
func (s *Server) exchangeIDToken(c *call) (answer, *apiError) {
	idpID := c.r.Header.Get("X-Idp-Id")
	idp, ok := s.cfg.IdentityProviders[idpID]
	if !ok {
		return answer{}, &apiError{http.StatusNotFound, "IAM.0001", "The identity provider does not exist."}
	}
	var body struct {
		Auth struct {
			IDToken struct {
				ID string `json:"id"`
			} `json:"id_token"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || body.Auth.IDToken.ID == "" {
		return answer{}, badRequest("auth.id_token.id is required")
	}
	claims, err := readClaims(body.Auth.IDToken.ID)
	if err != nil || !slices.Contains(claims.Audiences, idp.Audience) || !s.clock.Now().Before(claims.Expires) {
		return answer{}, errIDToken
	}
	if idp.Verify != nil {
		if claims.Subject, err = idp.Verify(body.Auth.IDToken.ID); err != nil {
			return answer{}, errIDToken
		}
	}
	token, expires := "sim-subject-"+newRequestID(), s.clock.Now().Add(time.Hour)
	s.iam.mu.Lock()
	if s.iam.subjects == nil {
		s.iam.subjects = map[string]subjectToken{}
	}
	s.iam.subjects[token] = subjectToken{idp: idpID, subject: claims.Subject, audiences: claims.Audiences, expires: expires}
	s.iam.mu.Unlock()
	return answer{status: http.StatusCreated, headers: map[string]string{"X-Subject-Token": token}, body: map[string]any{
		"token": map[string]any{
			"expires_at": expires.UTC().Format(iamTime), "issued_at": s.clock.Now().UTC().Format(iamTime),
			"methods": []string{"mapped"}, "user": map[string]any{"name": claims.Subject},
		},
	}}, nil
}

// issueSecurityToken answers POST /v3.0/OS-CREDENTIAL/securitytokens.
func (s *Server) issueSecurityToken(c *call) (answer, *apiError) {
	var body struct {
		Auth struct {
			Identity struct {
				Token struct {
					ID       string `json:"id"`
					Duration int64  `json:"duration_seconds"`
				} `json:"token"`
			} `json:"identity"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		return answer{}, badRequest("the body is not JSON")
	}
	token := firstNonEmpty(c.r.Header.Get("X-Auth-Token"), body.Auth.Identity.Token.ID)
	s.iam.mu.Lock()
	sub, ok := s.iam.subjects[token]
	s.iam.mu.Unlock()
	if !ok || !s.clock.Now().Before(sub.expires) {
		return answer{}, errToken
	}
	duration := time.Duration(max(body.Auth.Identity.Token.Duration, 900)) * time.Second
	ak, sk, st := "SIMTMP"+strings.ToUpper(newRequestID()[:14]), newRequestID(), "sim-security-token-"+newRequestID()
	s.addCredential(ak, Credential{SK: sk, SecurityToken: st})
	s.iam.mu.Lock()
	fed := Federation{IdpID: sub.idp, Subject: sub.subject, Audiences: sub.audiences, AccessKey: ak}
	s.iam.done = append(s.iam.done, fed)
	s.iam.mu.Unlock()
	if s.cfg.OnFederation != nil {
		s.cfg.OnFederation(fed)
	}
	return answer{status: http.StatusCreated, body: map[string]any{"credential": map[string]string{
		"access": ak, "secret": sk, "securitytoken": st, "expires_at": s.clock.Now().Add(duration).UTC().Format(iamTime),
	}}}, nil
}

// Federations returns the exchanges completed so far.
func (s *Server) Federations() []Federation {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	return slices.Clone(s.iam.done)
}

const iamTime = "2006-01-02T15:04:05.000000Z"

type idClaims struct {
	Subject   string
	Audiences []string
	Expires   time.Time
}

// readClaims decodes a JWT's payload: sub, aud (a string or a list), exp.
func readClaims(jwt string) (idClaims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return idClaims{}, fmt.Errorf("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return idClaims{}, err
	}
	var raw struct {
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return idClaims{}, err
	}
	c := idClaims{Subject: raw.Sub, Expires: time.Unix(raw.Exp, 0)}
	var one string
	if json.Unmarshal(raw.Aud, &one) == nil {
		c.Audiences = []string{one}
	} else if err := json.Unmarshal(raw.Aud, &c.Audiences); err != nil {
		return idClaims{}, fmt.Errorf("aud: %w", err)
	}
	return c, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
