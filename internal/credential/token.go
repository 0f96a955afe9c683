package credential

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tokenPrefix marks Vigil's endpoint tokens (aml_token), version 1.
const tokenPrefix = "vat1"

// TokenClaims are what an endpoint token asserts.
type TokenClaims struct {
	// KID names the signing key.
	KID string `json:"kid"`
	// Endpoint is the one endpoint the token is good for.
	Endpoint string `json:"ep"`
	// IssuedAt and ExpiresAt are Unix seconds.
	IssuedAt  int64 `json:"iat"`
	ExpiresAt int64 `json:"exp"`
	// ID is random, for logs.
	ID string `json:"jti"`
}

// ErrBadToken is returned for a token that is malformed, forged, expired or
// meant for another endpoint. Callers show one message whatever the reason.
var ErrBadToken = errors.New("credential: token is not valid")

// NewSigningKey returns a new random token-signing key and its id.
func NewSigningKey() (kid string, key []byte, err error) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", nil, fmt.Errorf("credential: signing key: %w", err)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", nil, fmt.Errorf("credential: signing key id: %w", err)
	}
	return hex.EncodeToString(id[:]), key, nil
}

// SignToken returns a token for endpoint, valid from now for lifetime,
// signed (HMAC-SHA256) with key, whose id is kid.
func SignToken(kid string, key []byte, endpoint string, now time.Time, lifetime time.Duration) (string, TokenClaims, error) {
	var jti [12]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", TokenClaims{}, fmt.Errorf("credential: token id: %w", err)
	}
	c := TokenClaims{KID: kid, Endpoint: endpoint, IssuedAt: now.Unix(), ExpiresAt: now.Add(lifetime).Unix(), ID: hex.EncodeToString(jti[:])}
	payload, _ := json.Marshal(c)
	body := tokenPrefix + "." + base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(key, body)), c, nil
}

func mac(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// LooksLikeToken reports whether s has the shape of an endpoint token.
func LooksLikeToken(s string) bool { return strings.HasPrefix(s, tokenPrefix+".") }

// VerifyToken checks a token: its signature under the key keys(kid) returns,
// its expiry against now, and that it was issued for endpoint.
func VerifyToken(token, endpoint string, now time.Time, keys func(kid string) []byte) (TokenClaims, error) {
	var c TokenClaims
	if len(token) > 1024 {
		return c, ErrBadToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != tokenPrefix {
		return c, ErrBadToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, ErrBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, ErrBadToken
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, ErrBadToken
	}
	key := keys(c.KID)
	if key == nil || !hmac.Equal(sig, mac(key, parts[0]+"."+parts[1])) {
		return c, ErrBadToken
	}
	if now.Unix() >= c.ExpiresAt || c.Endpoint != endpoint {
		return c, ErrBadToken
	}
	return c, nil
}

// accessTokenPrefix marks management-API access tokens.
const accessTokenPrefix = "vgt_"

// NewAccessToken returns a new management-API token and its SHA-256 hash,
// which is all that is stored.
func NewAccessToken() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("credential: access token: %w", err)
	}
	token = accessTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashAccessToken(token), nil
}

// HashAccessToken returns the stored form of an access token.
func HashAccessToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
