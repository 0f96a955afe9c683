package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/vigilhq/vigil/internal/vigil"
)

// These tests need no network: the Verifier checks signatures against a
// static key set and tokens are signed here.

const (
	staticIssuer   = "https://idp.example.com"
	staticAudience = "urn:ml-endpoints"
)

var staticNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var staticKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

var staticRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newStaticVerifier returns a Verifier trusting staticKey, at staticNow.
func newStaticVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = staticIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = staticAudience
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return staticNow }
	}
	v, err := newStatic(cfg, &gooidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&staticKey().PublicKey, &staticRSAKey().PublicKey}})
	if err != nil {
		t.Fatalf("newStatic: %v", err)
	}
	return v
}

// baseClaims are the claims of a valid client credentials token.
func baseClaims() map[string]any {
	return map[string]any{
		"iss": staticIssuer, "aud": staticAudience, "sub": "svc", "client_id": "svc",
		"iat": staticNow.Add(-time.Minute).Unix(), "exp": staticNow.Add(4 * time.Minute).Unix(),
		"scope": "endpoints:invoke",
	}
}

// sign makes a compact JWS of claims with key (staticKey when nil) and the
// given header fields ("typ" defaults to at+jwt; an explicit nil drops it).
func sign(t testing.TB, claims map[string]any, alg jose.SignatureAlgorithm, key any, hdr map[string]any) string {
	t.Helper()
	if key == nil {
		key = staticKey()
	}
	opts := &jose.SignerOptions{}
	typ, ok := hdr["typ"]
	if !ok {
		typ = "at+jwt"
	}
	if typ != nil {
		opts = opts.WithHeader("typ", typ)
	}
	for k, v := range hdr {
		if k != "typ" {
			opts = opts.WithHeader(jose.HeaderKey(k), v)
		}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func with(edit func(c map[string]any)) map[string]any {
	c := baseClaims()
	edit(c)
	return c
}

func TestVerifyStatic(t *testing.T) {
	rsaKey := staticRSAKey()
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{"endpoints:invoke"}
	tests := []struct {
		name    string
		cfg     Config
		claims  map[string]any
		alg     jose.SignatureAlgorithm // default ES256
		key     any
		hdr     map[string]any
		want    Identity
		wantErr string
	}{
		{name: "ok/service-principal-client-id", claims: baseClaims(),
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/user-with-client-id", claims: with(func(c map[string]any) { c["sub"] = "alice"; c["client_id"] = "webapp" }),
			want: Identity{Subject: "alice", Principal: "user:alice", Scopes: scopes}},
		{name: "ok/user-without-client-claims", claims: with(func(c map[string]any) { c["sub"] = "alice"; delete(c, "client_id") }),
			want: Identity{Subject: "alice", Principal: "user:alice", Scopes: scopes}},
		{name: "ok/service-principal-azp", claims: with(func(c map[string]any) { delete(c, "client_id"); c["azp"] = "svc" }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/user-azp-ignored-when-client-id-differs",
			claims: with(func(c map[string]any) { c["sub"] = "alice"; c["client_id"] = "webapp"; c["azp"] = "alice" }),
			want:   Identity{Subject: "alice", Principal: "user:alice", Scopes: scopes}},
		{name: "ok/service-principal-entra-idtyp", cfg: Config{SubjectClaim: "oid"},
			claims: with(func(c map[string]any) {
				delete(c, "client_id")
				delete(c, "scope")
				c["sub"], c["oid"], c["azp"], c["idtyp"] = "obj-1", "obj-1", "app-1", "app"
				c["roles"] = []string{"Score"}
			}),
			want: Identity{Subject: "obj-1", Principal: "sp:obj-1"}},
		{name: "ok/user-subject-claim-oid", cfg: Config{SubjectClaim: "oid"},
			claims: with(func(c map[string]any) { c["sub"], c["oid"], c["client_id"] = "pairwise-x", "obj-2", "webapp" }),
			want:   Identity{Subject: "obj-2", Principal: "user:obj-2", Scopes: scopes}},
		{name: "ok/groups-array-deduplicated",
			claims: with(func(c map[string]any) { c["groups"] = []string{"ml-ops", "data sci", "ml-ops"} }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Groups: []string{"group:ml-ops", "group:data sci"},
				Scopes: scopes}},
		{name: "ok/groups-string", claims: with(func(c map[string]any) { c["groups"] = " ml-ops  data-sci " }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Groups: []string{"group:ml-ops", "group:data-sci"},
				Scopes: scopes}},
		{name: "ok/groups-custom-claim", cfg: Config{GroupsClaim: "roles"},
			claims: with(func(c map[string]any) { c["roles"] = []string{"scorer"}; c["groups"] = []string{"ignored"} }),
			want:   Identity{Subject: "svc", Principal: "sp:svc", Groups: []string{"group:scorer"}, Scopes: scopes}},
		{name: "ok/groups-null", claims: with(func(c map[string]any) { c["groups"] = nil }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/scp-array", claims: with(func(c map[string]any) { delete(c, "scope"); c["scp"] = []string{"a", "b"} }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: []string{"a", "b"}}},
		{name: "ok/aud-array", claims: with(func(c map[string]any) { c["aud"] = []string{"other", staticAudience} }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/typ-jwt", claims: baseClaims(), hdr: map[string]any{"typ": "JWT"},
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/typ-application-at-jwt", claims: baseClaims(), hdr: map[string]any{"typ": "application/AT+JWT"},
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/typ-absent", claims: baseClaims(), hdr: map[string]any{"typ": nil},
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/nbf-within-leeway", claims: with(func(c map[string]any) { c["nbf"] = staticNow.Add(Leeway / 2).Unix() }),
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},
		{name: "ok/rs256", cfg: Config{Algorithms: []string{"RS256"}}, claims: baseClaims(), alg: jose.RS256, key: rsaKey,
			want: Identity{Subject: "svc", Principal: "sp:svc", Scopes: scopes}},

		{name: "fail/expired", claims: with(func(c map[string]any) { c["exp"] = staticNow.Add(-Leeway - time.Second).Unix() }),
			wantErr: "expired"},
		{name: "fail/no-exp", claims: with(func(c map[string]any) { delete(c, "exp") }), wantErr: "exp"},
		{name: "fail/exp-string", claims: with(func(c map[string]any) { c["exp"] = "tomorrow" }), wantErr: "claims"},
		{name: "fail/nbf-future", claims: with(func(c map[string]any) { c["nbf"] = staticNow.Add(Leeway + time.Second).Unix() }),
			wantErr: "not valid before"},
		{name: "fail/iat-future", claims: with(func(c map[string]any) { c["iat"] = staticNow.Add(time.Hour).Unix() }),
			wantErr: "future"},
		{name: "fail/wrong-issuer", claims: with(func(c map[string]any) { c["iss"] = staticIssuer + "/" }),
			wantErr: "different provider"},
		{name: "fail/wrong-audience", claims: with(func(c map[string]any) { c["aud"] = "urn:other" }), wantErr: "audience"},
		{name: "fail/no-audience", claims: with(func(c map[string]any) { delete(c, "aud") }), wantErr: "audience"},
		{name: "fail/no-subject", claims: with(func(c map[string]any) { delete(c, "sub") }), wantErr: `no "sub"`},
		{name: "fail/subject-not-string", claims: with(func(c map[string]any) { c["sub"] = 42 }), wantErr: "sub"},
		{name: "fail/subject-empty", claims: with(func(c map[string]any) { c["sub"] = "" }), wantErr: "bad subject"},
		{name: "fail/subject-space", claims: with(func(c map[string]any) { c["sub"] = "a b" }), wantErr: "bad subject"},
		{name: "fail/subject-control", claims: with(func(c map[string]any) { c["sub"] = "a\nb" }), wantErr: "bad subject"},
		{name: "fail/groups-number", claims: with(func(c map[string]any) { c["groups"] = 7 }), wantErr: "groups"},
		{name: "fail/groups-mixed-array", claims: with(func(c map[string]any) { c["groups"] = []any{"a", 1} }), wantErr: "groups"},
		{name: "fail/groups-control", claims: with(func(c map[string]any) { c["groups"] = []string{"ok", "bad\x00"} }),
			wantErr: "control"},
		{name: "fail/typ-dpop", claims: baseClaims(), hdr: map[string]any{"typ": "dpop+jwt"}, wantErr: "typ"},
		{name: "fail/typ-not-string", claims: baseClaims(), hdr: map[string]any{"typ": 1}, wantErr: "typ"},
		{name: "fail/alg-not-allowed", cfg: Config{Algorithms: []string{"ES256"}}, claims: baseClaims(), alg: jose.RS256,
			key: rsaKey, wantErr: `alg "RS256"`},
		{name: "fail/unknown-key", claims: baseClaims(), key: otherKey, wantErr: "signature"},
		{name: "fail/hmac", claims: baseClaims(), alg: jose.HS256, key: []byte("0123456789abcdef0123456789abcdef"),
			wantErr: `alg "HS256"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newStaticVerifier(t, tt.cfg)
			alg := tt.alg
			if alg == "" {
				alg = jose.ES256
			}
			got, err := v.Verify(context.Background(), sign(t, tt.claims, alg, tt.key, tt.hdr))
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
		})
	}
}

func TestVerifyStaticTooLarge(t *testing.T) {
	v := newStaticVerifier(t, Config{})
	tok := sign(t, with(func(c map[string]any) { c["pad"] = strings.Repeat("x", MaxTokenSize) }), jose.ES256, nil, nil)
	_, err := v.Verify(context.Background(), tok)
	mustUnauthorized(t, err, "bytes")
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Issuer: "https://idp.example.com/tenant", Audience: "urn:ml"}
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string
	}{
		{name: "ok/defaults", edit: func(c *Config) {}},
		{name: "ok/http-loopback", edit: func(c *Config) { c.Issuer = "http://127.0.0.1:4444" }},
		{name: "ok/http-localhost", edit: func(c *Config) { c.Issuer = "http://localhost:4444" }},
		{name: "ok/http-ipv6-loopback", edit: func(c *Config) { c.Issuer = "http://[::1]:4444" }},
		{name: "ok/all-asymmetric", edit: func(c *Config) {
			c.Algorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
		}},
		{name: "fail/no-issuer", edit: func(c *Config) { c.Issuer = "" }, wantErr: "issuer is required"},
		{name: "fail/relative-issuer", edit: func(c *Config) { c.Issuer = "idp.example.com" }, wantErr: "absolute"},
		{name: "fail/issuer-query", edit: func(c *Config) { c.Issuer = "https://idp.example.com/?x=1" }, wantErr: "absolute"},
		{name: "fail/http-remote", edit: func(c *Config) { c.Issuer = "http://idp.example.com" }, wantErr: "https"},
		{name: "fail/no-audience", edit: func(c *Config) { c.Audience = "" }, wantErr: "audience"},
		{name: "fail/alg-none", edit: func(c *Config) { c.Algorithms = []string{"ES256", "none"} }, wantErr: "must be signed"},
		{name: "fail/alg-None", edit: func(c *Config) { c.Algorithms = []string{"None"} }, wantErr: "must be signed"},
		{name: "fail/alg-hs256", edit: func(c *Config) { c.Algorithms = []string{"HS256"} }, wantErr: "asymmetric"},
		{name: "fail/alg-hs512-lower", edit: func(c *Config) { c.Algorithms = []string{"hs512"} }, wantErr: "asymmetric"},
		{name: "fail/alg-unknown", edit: func(c *Config) { c.Algorithms = []string{"ES256K"} }, wantErr: "unsupported"},
		{name: "fail/alg-case", edit: func(c *Config) { c.Algorithms = []string{"es256"} }, wantErr: "unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tt.wantErr)
			}
			if got := vigil.ErrorCode(err); got != vigil.EInvalid {
				t.Errorf("code = %q, want %q", got, vigil.EInvalid)
			}
			if _, err := New(context.Background(), c); err == nil {
				t.Error("New accepted the invalid config")
			}
		})
	}
}

// FuzzVerify throws arbitrary strings at Verify's parse path. Verify must
// not panic, must fail with EUnauthorized, and may only succeed for a
// token that carries a well-formed principal.
func FuzzVerify(f *testing.F) {
	v := newStaticVerifier(f, Config{})
	good := sign(f, with(func(c map[string]any) { c["groups"] = []string{"ml-ops"} }), jose.ES256, nil, nil)
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good,
		sign(f, with(func(c map[string]any) { c["groups"] = "a b" }), jose.ES256, nil, map[string]any{"typ": nil}),
		"", ".", "..", "a.b.c", "not-a-token",
		parts[0] + "." + parts[1] + ".",
		b64e([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		b64e([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2],
		b64e([]byte(`{"alg":"ES256","typ":["at+jwt"]}`)) + "." + parts[1] + "." + parts[2],
		b64e([]byte(`{"alg":"ES256","crit":["exp"],"exp":1}`)) + "." + parts[1] + "." + parts[2],
		`{"payload":"e30","signatures":[{"protected":"e30","signature":""}]}`,
		parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[2] + "." + parts[2],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := v.Verify(context.Background(), raw)
		if err != nil {
			if got := vigil.ErrorCode(err); got != vigil.EUnauthorized {
				t.Fatalf("code %q (%v), want %q", got, err, vigil.EUnauthorized)
			}
			if !reflect.DeepEqual(id, Identity{}) {
				t.Fatalf("non-zero Identity %+v with error", id)
			}
			return
		}
		if id.Subject == "" || (id.Principal != "sp:"+id.Subject && id.Principal != "user:"+id.Subject) {
			t.Fatalf("accepted token with bad identity %+v", id)
		}
		for _, g := range id.Groups {
			if !strings.HasPrefix(g, "group:") || len(g) == len("group:") {
				t.Fatalf("bad group %q", g)
			}
		}
	})
}
