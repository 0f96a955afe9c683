package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/vigil"
)

// TestVerifyProvider verifies tokens issued by a real oidc-provider.
func TestVerifyProvider(t *testing.T) {
	op := startOP(t, 0)
	ctx := context.Background()

	// Tokens fetched once and shared by the cases.
	svc := op.Token(t, "svc", "")
	jwks := op.JWKS(t)

	// otherIssuer serves a discovery document with its own issuer and the
	// real provider's keys, so only the iss check can reject op's tokens.
	otherIssuer := httptest.NewServer(nil)
	t.Cleanup(otherIssuer.Close)
	otherIssuer.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                otherIssuer.URL,
			"jwks_uri":                              op.Issuer + "/jwks",
			"authorization_endpoint":                otherIssuer.URL + "/auth",
			"token_endpoint":                        otherIssuer.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})

	tests := []struct {
		name    string
		token   func(t *testing.T) string
		cfg     func(c *Config)
		want    Identity
		wantErr string // substring of the wrapped, logged cause
	}{
		{
			name:  "ok/service-principal",
			token: func(t *testing.T) string { return svc },
			want:  Identity{Subject: "svc", Principal: "sp:svc", Scopes: []string{"endpoints:invoke"}},
		},
		{
			name:  "ok/groups-claim",
			token: func(t *testing.T) string { return op.Token(t, "svc-ops", "") },
			want: Identity{Subject: "svc-ops", Principal: "sp:svc-ops", Groups: []string{"group:ml-ops"},
				Scopes: []string{"endpoints:invoke"}},
		},
		{
			name:  "ok/groups-space-separated",
			token: func(t *testing.T) string { return op.Token(t, "svc-str", "") },
			want: Identity{Subject: "svc-str", Principal: "sp:svc-str",
				Groups: []string{"group:ml-ops", "group:data-sci"}, Scopes: []string{"endpoints:invoke"}},
		},
		{
			name:  "ok/user-principal",
			token: func(t *testing.T) string { return op.Token(t, "as-user", "") },
			want:  Identity{Subject: "alice", Principal: "user:alice", Scopes: []string{"endpoints:invoke"}},
		},
		{
			name:  "ok/expired-within-leeway",
			token: func(t *testing.T) string { return svc },
			cfg: func(c *Config) {
				exp := claimTime(t, svc, "exp")
				c.Now = func() time.Time { return exp.Add(Leeway / 2) }
			},
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: []string{"endpoints:invoke"}},
		},
		{
			name:  "fail/expired",
			token: func(t *testing.T) string { return svc },
			cfg: func(c *Config) {
				exp := claimTime(t, svc, "exp")
				c.Now = func() time.Time { return exp.Add(Leeway + time.Second) }
			},
			wantErr: "expired",
		},
		{
			name:  "fail/issued-in-the-future",
			token: func(t *testing.T) string { return svc },
			cfg: func(c *Config) {
				iat := claimTime(t, svc, "iat")
				c.Now = func() time.Time { return iat.Add(-Leeway - time.Second) }
			},
			wantErr: "future",
		},
		{
			name:    "fail/wrong-audience",
			token:   func(t *testing.T) string { return op.Token(t, "svc", "urn:other") },
			wantErr: "audience",
		},
		{
			name:    "fail/wrong-audience-configured",
			token:   func(t *testing.T) string { return svc },
			cfg:     func(c *Config) { c.Audience = "urn:other" },
			wantErr: "audience",
		},
		{
			name:    "fail/wrong-issuer",
			token:   func(t *testing.T) string { return svc },
			cfg:     func(c *Config) { c.Issuer = otherIssuer.URL },
			wantErr: "different provider",
		},
		{
			name:    "fail/forged-signature",
			token:   func(t *testing.T) string { return alterSignature(t, svc) },
			wantErr: "signature",
		},
		{
			name: "fail/forged-claims",
			token: func(t *testing.T) string {
				h, p, s := split3(t, svc)
				var c map[string]any
				mustJSON(t, b64d(t, p), &c)
				c["sub"], c["client_id"] = "admin", "admin"
				return h + "." + b64e(mustMarshal(t, c)) + "." + s
			},
			wantErr: "signature",
		},
		{
			name:    "fail/forged-other-key-same-kid",
			token:   func(t *testing.T) string { return resignOtherKey(t, svc) },
			wantErr: "signature",
		},
		{
			name: "fail/alg-none",
			token: func(t *testing.T) string {
				_, p, _ := split3(t, svc)
				return b64e([]byte(`{"alg":"none","typ":"at+jwt","kid":"test-es256"}`)) + "." + p + "."
			},
			wantErr: `alg "none"`,
		},
		{
			name:    "fail/hmac-with-public-key-pem",
			token:   func(t *testing.T) string { return hmacToken(t, svc, publicKeyPEM(t, jwks)) },
			wantErr: `alg "HS256"`,
		},
		{
			name:    "fail/hmac-with-public-key-jwk",
			token:   func(t *testing.T) string { return hmacToken(t, svc, jwks) },
			wantErr: `alg "HS256"`,
		},
		{
			name:    "fail/typ-not-access-token",
			token:   func(t *testing.T) string { return resignOtherKeyTyp(t, svc, "dpop+jwt") },
			wantErr: `typ "dpop+jwt"`,
		},
		{
			name:    "fail/garbage",
			token:   func(t *testing.T) string { return "not-a-token" },
			wantErr: "compact",
		},
		{
			name:    "fail/garbage-three-parts",
			token:   func(t *testing.T) string { return "a.b.c" },
			wantErr: "header",
		},
		{
			name:    "fail/empty",
			token:   func(t *testing.T) string { return "" },
			wantErr: "empty",
		},
		{
			name:    "fail/json-serialization",
			token:   func(t *testing.T) string { return `{"payload":"e30","signatures":[]}` },
			wantErr: "compact",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Issuer: op.Issuer, Audience: opAudience}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v, err := New(ctx, cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if !v.Ready() {
				t.Fatal("Ready() = false after New with the provider up")
			}
			got, err := v.Verify(ctx, tt.token(t))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v (cause: %v)", err, errors.Unwrap(err))
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Verify = %+v, want %+v", got, tt.want)
				}
				return
			}
			mustUnauthorized(t, err, tt.wantErr)
			if !reflect.DeepEqual(got, Identity{}) {
				t.Errorf("Verify returned %+v with an error, want zero Identity", got)
			}
		})
	}

	// The identities feed RBAC: a role given to group:ml-ops lets svc-ops
	// score, and svc, a principal without the role, is denied.
	t.Run("rbac", func(t *testing.T) {
		v, err := New(ctx, Config{Issuer: op.Issuer, Audience: opAudience})
		if err != nil {
			t.Fatal(err)
		}
		policy := rbac.NewPolicy(nil, []rbac.Assignment{
			{ID: "a1", Principal: "group:ml-ops", Role: "Endpoint Scorer", Scope: "/endpoints/sales"},
		})
		for _, tt := range []struct {
			client string
			want   bool
		}{
			{"svc-ops", true},
			{"svc-str", true},
			{"svc", false},
			{"as-user", false},
		} {
			id, err := v.Verify(ctx, op.Token(t, tt.client, ""))
			if err != nil {
				t.Fatalf("%s: Verify: %v", tt.client, err)
			}
			actor := vigil.Actor{Principal: id.Principal, Groups: id.Groups}
			got := policy.Decide(actor.Principals(), rbac.EndpointsScore, "/endpoints/sales").Allowed
			if got != tt.want {
				t.Errorf("%s (%v): score allowed = %v, want %v", tt.client, actor.Principals(), got, tt.want)
			}
		}
	})
}

// TestLazyDiscovery starts a Verifier before its provider, then the
// provider, then stops the provider again.
func TestLazyDiscovery(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	issuer := "http://127.0.0.1:" + strconv.Itoa(port)

	start := time.Now()
	v, err := New(ctx, Config{Issuer: issuer, Audience: opAudience})
	if err != nil {
		t.Fatalf("New with the provider down: %v, want a Verifier that retries", err)
	}
	if v.Ready() {
		t.Fatal("Ready() = true with the provider down")
	}
	// The discovery clock stands still unless the test advances it.
	var skew time.Duration
	v.mu.Lock()
	v.clock = func() time.Time { return start.Add(skew) }
	v.mu.Unlock()
	advance := func(d time.Duration) { v.mu.Lock(); skew += d; v.mu.Unlock() }

	// A well-formed token, so Verify gets past the header checks.
	pending := b64e([]byte(`{"alg":"ES256","typ":"at+jwt"}`)) + ".e30.AAAA"
	_, err = v.Verify(ctx, pending)
	if got, want := vigil.ErrorCode(err), vigil.EUnavailable; got != want {
		t.Fatalf("Verify with the provider down: code %q (%v), want %q", got, err, want)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("New + Verify with the provider down took %s; want fast failure", d)
	}

	op := startOP(t, port)
	tok := op.Token(t, "svc", "")
	// Still inside the backoff window: no new attempt yet.
	if _, err := v.Verify(ctx, tok); vigil.ErrorCode(err) != vigil.EUnavailable {
		t.Fatalf("Verify inside the backoff window: %v, want code %q", err, vigil.EUnavailable)
	}
	advance(MaxBackoff + time.Second)
	id, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("Verify after the provider came up: %v (cause: %v)", err, errors.Unwrap(err))
	}
	if got, want := id.Principal, "sp:svc"; got != want {
		t.Errorf("Principal = %q, want %q", got, want)
	}
	if !v.Ready() {
		t.Error("Ready() = false after a successful discovery")
	}

	// The provider goes away: the cached metadata and keys keep working,
	// and a failed background refresh does not drop them.
	op.Stop(t)
	advance(RefreshInterval + time.Second)
	for i := range 3 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify %d with a stale provider and the IdP down: %v (cause: %v)", i, err, errors.Unwrap(err))
		}
		waitIdle(t, v)
	}
	v.mu.Lock()
	failures := v.failures
	v.mu.Unlock()
	if failures == 0 {
		t.Error("failures = 0 after refreshing with the provider down; want the refresh to have been tried")
	}
}

// waitIdle waits for a background discovery of v to finish.
func waitIdle(t *testing.T, v *Verifier) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		busy := v.inflight != nil
		v.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("background discovery still running after 15s")
}

// mustUnauthorized checks err is the generic unauthorized error and that
// its logged cause mentions want.
func mustUnauthorized(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("Verify succeeded, want an error")
	}
	var ve *vigil.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v, want *vigil.Error", err, err)
	}
	if ve.Code != vigil.EUnauthorized || ve.Message != "invalid token" {
		t.Errorf("error = {%q, %q}, want {%q, %q}", ve.Code, ve.Message, vigil.EUnauthorized, "invalid token")
	}
	if ve.Err == nil || !strings.Contains(ve.Err.Error(), want) {
		t.Errorf("cause = %v, want it to mention %q", ve.Err, want)
	}
	if strings.Contains(err.Error(), want) && want != "" {
		t.Errorf("caller-visible text %q leaks the reason %q", err.Error(), want)
	}
}

func split3(t *testing.T, tok string) (h, p, s string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

func b64e(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64d(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claimTime returns the NumericDate claim name of tok.
func claimTime(t *testing.T, tok, name string) time.Time {
	t.Helper()
	_, p, _ := split3(t, tok)
	var c map[string]any
	mustJSON(t, b64d(t, p), &c)
	f, ok := c[name].(float64)
	if !ok {
		t.Fatalf("token has no numeric %q", name)
	}
	return time.Unix(int64(f), 0)
}

// alterSignature flips one bit of tok's signature.
func alterSignature(t *testing.T, tok string) string {
	t.Helper()
	h, p, s := split3(t, tok)
	sig := b64d(t, s)
	sig[len(sig)/2] ^= 0x01
	return h + "." + p + "." + b64e(sig)
}

// resignOtherKey signs tok's claims with a fresh P-256 key under tok's kid.
func resignOtherKey(t *testing.T, tok string) string {
	t.Helper()
	return resignOtherKeyTyp(t, tok, "at+jwt")
}

func resignOtherKeyTyp(t *testing.T, tok, typ string) string {
	t.Helper()
	h, p, _ := split3(t, tok)
	var hdr struct {
		Kid string `json:"kid"`
	}
	mustJSON(t, b64d(t, h), &hdr)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", hdr.Kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(b64d(t, p))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hmacToken makes an HS256 token with tok's claims and kid, using secret
// as the HMAC key: the classic "public key as HMAC secret" confusion.
func hmacToken(t *testing.T, tok string, secret []byte) string {
	t.Helper()
	h, p, _ := split3(t, tok)
	var hdr map[string]any
	mustJSON(t, b64d(t, h), &hdr)
	hdr["alg"] = "HS256"
	input := b64e(mustMarshal(t, hdr)) + "." + p
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64e(mac.Sum(nil))
}

// publicKeyPEM returns the PEM (SPKI) encoding of the first key in jwks.
func publicKeyPEM(t *testing.T, jwks []byte) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	mustJSON(t, jwks, &set)
	if len(set.Keys) == 0 {
		t.Fatal("empty JWKS")
	}
	der, err := x509.MarshalPKIXPublicKey(set.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
