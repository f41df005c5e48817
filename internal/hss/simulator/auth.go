package simulator

import (
	"crypto/subtle"
	"net/http"
	"sync"
)

// authenticate accepts an AK/SK signature (Authorization header) or an IAM
// token (X-Auth-Token). With nothing configured every request passes.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	if !s.authRequired() {
		return nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		return s.authenticateAKSK(r, h, body)
	}
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		for _, want := range s.cfg.Tokens {
			if equal(tok, want) {
				return nil
			}
		}
		return errToken
	}
	return errNoCredentials
}

// authenticateAKSK answers every failure alike so a caller cannot tell an
// unknown key from a wrong secret or token.
func (s *Server) authenticateAKSK(r *http.Request, header string, body []byte) *apiError {
	a, err := parseAuthorization(header)
	if err != nil {
		return errSignature
	}
	cred, ok := s.credential(a.access)
	if !ok {
		return errSignature
	}
	// A temporary AK is only valid with its own security token, and a
	// permanent AK never comes with one.
	if !equal(r.Header.Get("X-Security-Token"), cred.SecurityToken) {
		return errSignature
	}
	if !validSignature(r, body, a, cred.SK) {
		return errSignature
	}
	return nil
}

// credentials are the configured access keys plus the temporary ones IAM
// has issued, behind their own lock.
type credentials struct {
	mu sync.RWMutex
	m  map[string]Credential
}

func (s *Server) credential(ak string) (Credential, bool) {
	s.creds.mu.RLock()
	defer s.creds.mu.RUnlock()
	c, ok := s.creds.m[ak]
	return c, ok
}

// AddCredential accepts a temporary access key from now on, with its
// security token: what IAM's federation issues (package iamsim).
func (s *Server) AddCredential(ak, sk, securityToken string) {
	s.creds.mu.Lock()
	defer s.creds.mu.Unlock()
	s.creds.m[ak] = Credential{SK: sk, SecurityToken: securityToken}
}

func (s *Server) authRequired() bool {
	s.creds.mu.RLock()
	defer s.creds.mu.RUnlock()
	return len(s.creds.m) > 0 || len(s.cfg.Tokens) > 0
}

func equal(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
