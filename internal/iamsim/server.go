// Package iamsim is a fake of IAM's two federation calls, as the SDK's OIDC
// credentials make them, served over real HTTP:
//
//	POST /v3.0/OS-AUTH/id-token/tokens         X-Idp-Id, {"auth":{"id_token":{"id":JWT}}}
//	  → 201, X-Subject-Token header, {"token":{"expires_at":...}}
//	POST /v3.0/OS-CREDENTIAL/securitytokens    {"auth":{"identity":{"methods":["token"],"token":{"id":T,"duration_seconds":N}}}}
//	  → 201, {"credential":{"access","secret","securitytoken","expires_at"}}
//
// The temporary access key goes to Config.Keys (the HSS simulator), which
// then accepts it with its security token. Neither call is signed: the ID
// token and then the subject token are the credentials.
package iamsim

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

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

// Keys is where the temporary access keys IAM issues go: the HSS
// simulator, which then accepts them with their security token.
type Keys interface {
	AddCredential(ak, sk, securityToken string)
}

// Config is what the IAM simulator trusts and where its keys go.
type Config struct {
	// IdentityProviders are the identity providers the exchange accepts,
	// by ID.
	IdentityProviders map[string]IdentityProvider
	// Keys receives each temporary access key issued.
	Keys Keys
	// Clock decides tokens' expiry; real time when nil.
	Clock clock.PassiveClock
	// OnFederation, when set, is called once per temporary credential
	// issued to a federated identity.
	OnFederation func(Federation)
}

// Server is the simulated IAM federation. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	cfg   Config
	clock clock.PassiveClock

	mu sync.Mutex
	// subjects and done grow by one entry per exchange for the life of the
	// simulator, which serves tests and demos: a few exchanges an hour.
	subjects map[string]subjectToken // X-Subject-Token → who
	done     []Federation
}

// New returns a Server that trusts cfg's identity providers.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, clock: cfg.Clock, subjects: map[string]subjectToken{}}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	return s
}

// maxBody bounds request bodies: an ID token is a few kB.
const maxBody = 64 << 10

// ServeHTTP answers the two federation calls; any other request is 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", newRequestID())
	w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat))
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var a answer
	var e *apiError
	switch {
	case err != nil:
		e = badRequest("the body is unreadable or larger than %d bytes", maxBody)
	case r.Method == http.MethodPost && r.URL.Path == IDTokenPath:
		a, e = s.exchangeIDToken(r, body)
	case r.Method == http.MethodPost && r.URL.Path == SecurityTokenPath:
		a, e = s.issueSecurityToken(r, body)
	default:
		e = errNoAPI
	}
	if e != nil {
		a = answer{status: e.status, body: e}
	}
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

// Beside serves IAM's calls and hands every other request to next: one
// endpoint for both, as a test or a demo gives the manager one URL.
func (s *Server) Beside(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v3.0/") {
			s.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// The paths of the two calls.
const (
	IDTokenPath       = "/v3.0/OS-AUTH/id-token/tokens"
	SecurityTokenPath = "/v3.0/OS-CREDENTIAL/securitytokens"
)

// answer is a response decided but not yet written.
type answer struct {
	status  int
	body    any
	headers map[string]string
}

// apiError is an error answer in the Huawei Cloud shape
// {"error_code": "...", "error_msg": "..."}.
type apiError struct {
	status int
	Code   string `json:"error_code"`
	Msg    string `json:"error_msg"`
}

var (
	errNoAPI = &apiError{http.StatusNotFound, "APIGW.0101",
		"The API does not exist or has not been published in the environment"}
	errToken = &apiError{http.StatusUnauthorized, "APIGW.0301",
		"Incorrect IAM authentication information: decrypt token fail"}
)

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "IAM.0009", "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type subjectToken struct {
	idp, subject string
	audiences    []string
	expires      time.Time
}

var errIDToken = &apiError{http.StatusUnauthorized, "IAM.0057", "The ID token is invalid or expired."}

// exchangeIDToken answers POST /v3.0/OS-AUTH/id-token/tokens.
func (s *Server) exchangeIDToken(r *http.Request, raw []byte) (answer, *apiError) {
	idpID := r.Header.Get("X-Idp-Id")
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
	if err := json.Unmarshal(raw, &body); err != nil || body.Auth.IDToken.ID == "" {
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
	s.mu.Lock()
	s.subjects[token] = subjectToken{idp: idpID, subject: claims.Subject, audiences: claims.Audiences, expires: expires}
	s.mu.Unlock()
	return answer{status: http.StatusCreated, headers: map[string]string{"X-Subject-Token": token}, body: map[string]any{
		"token": map[string]any{
			"expires_at": expires.UTC().Format(iamTime), "issued_at": s.clock.Now().UTC().Format(iamTime),
			"methods": []string{"mapped"}, "user": map[string]any{"name": claims.Subject},
		},
	}}, nil
}

// issueSecurityToken answers POST /v3.0/OS-CREDENTIAL/securitytokens.
func (s *Server) issueSecurityToken(r *http.Request, raw []byte) (answer, *apiError) {
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
	if err := json.Unmarshal(raw, &body); err != nil {
		return answer{}, badRequest("the body is not JSON")
	}
	token := cmp.Or(r.Header.Get("X-Auth-Token"), body.Auth.Identity.Token.ID)
	s.mu.Lock()
	sub, ok := s.subjects[token]
	s.mu.Unlock()
	if !ok || !s.clock.Now().Before(sub.expires) {
		return answer{}, errToken
	}
	duration := time.Duration(max(body.Auth.Identity.Token.Duration, 900)) * time.Second
	ak, sk, st := "SIMTMP"+strings.ToUpper(newRequestID()[:14]), newRequestID(), "sim-security-token-"+newRequestID()
	if s.cfg.Keys != nil {
		s.cfg.Keys.AddCredential(ak, sk, st)
	}
	s.mu.Lock()
	fed := Federation{IdpID: sub.idp, Subject: sub.subject, Audiences: sub.audiences, AccessKey: ak}
	s.done = append(s.done, fed)
	s.mu.Unlock()
	if s.cfg.OnFederation != nil {
		s.cfg.OnFederation(fed)
	}
	return answer{status: http.StatusCreated, body: map[string]any{"credential": map[string]string{
		"access": ak, "secret": sk, "securitytoken": st, "expires_at": s.clock.Now().Add(duration).UTC().Format(iamTime),
	}}}, nil
}

// Federations returns the exchanges completed so far.
func (s *Server) Federations() []Federation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.done)
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
