package iamsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	. "github.com/onsi/gomega"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

func signingKey(t *testing.T, kid string) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return key, jwks
}

func idToken(t *testing.T, key *ecdsa.PrivateKey, kid, issuer, subject string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: issuer, Subject: subject, Audience: jwt.Audience{"hss"}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestTheSigningKeyVerifierAcceptsOnlyTheIssuersKeys(t *testing.T) {
	g := NewWithT(t)
	key, jwks := signingKey(t, "k1")
	other, _ := signingKey(t, "k1")
	verify, err := SigningKeyVerifier(jwks, testIssuer)
	g.Expect(err).NotTo(HaveOccurred())

	sub, err := verify(idToken(t, key, "k1", testIssuer, "system:serviceaccount:team:scanner"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(sub).To(Equal("system:serviceaccount:team:scanner"))

	_, err = verify(idToken(t, other, "k1", testIssuer, "system:serviceaccount:team:scanner"))
	g.Expect(err).To(HaveOccurred(), "signed by a key not in the set")
	_, err = verify(idToken(t, key, "k1", "https://elsewhere.example", "system:serviceaccount:team:scanner"))
	g.Expect(err).To(MatchError(ContainSubstring("issuer")))
	_, err = verify("not.a.token")
	g.Expect(err).To(HaveOccurred())

	_, err = SigningKeyVerifier([]byte(`{"keys":[]}`), testIssuer)
	g.Expect(err).To(MatchError(ContainSubstring("empty")))
}
