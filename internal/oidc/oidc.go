// Package oidc verifies OAuth 2.0 / OpenID Connect access tokens issued by an
// external identity provider and turns them into Vigil principals.
//
// A [Verifier] is built from a [Config] naming the issuer and the audience
// (the resource Vigil's endpoints are registered as at the provider). It finds
// the provider's keys through OpenID Connect discovery
// (/.well-known/openid-configuration, then jwks_uri) using
// github.com/coreos/go-oidc, which caches the key set and fetches it again
// when a token names a key ID it has not seen.
//
// # Checks
//
// [Verifier.Verify] accepts a token only when all of these hold:
//
//   - it is a compact JWS of at most [MaxTokenSize] bytes with exactly one
//     signature;
//   - its "alg" is in [Config.Algorithms] ("none" and the HMAC algorithms are
//     refused by [Config.Validate], so a public key can never be used as an
//     HMAC secret), and the signature verifies with a key from the
//     provider's JWKS;
//   - its "typ" header, if present, is "at+jwt" or "JWT" (RFC 9068; compared
//     case-insensitively, with an optional "application/" prefix);
//   - "iss" equals [Config.Issuer] exactly, and "aud" contains
//     [Config.Audience];
//   - "exp" is present and not past, "nbf" (if present) is not in the future
//     and "iat" (if present) is not in the future, each with a leeway of
//     [Leeway] for clock skew;
//   - the subject claim is a non-empty string without spaces or control
//     characters, and the groups claim, if present, is a string array or a
//     space-separated string.
//
// Every failure is a *vigil.Error with code vigil.EUnauthorized and the same
// message, "invalid token"; the reason is only in its wrapped Err, for logs.
//
// # Principals
//
// The identity's principal is "sp:<subject>" for a service principal and
// "user:<subject>" for anything else, where subject is the value of
// [Config.SubjectClaim]. A token is a service principal's (a client
// credentials token, with no user behind it) when any of these holds:
//
//   - its "client_id" claim (RFC 9068) equals its "sub" claim, as in
//     client credentials tokens from oidc-provider, Keycloak and Okta;
//   - it has no "client_id" and its "azp" claim equals "sub";
//   - its "idtyp" claim is "app" (Microsoft Entra ID app-only tokens).
//
// Groups become "group:<name>"; see [Identity].
//
// # Starting while the provider is down
//
// Vigil must start even when its identity provider is unreachable, so
// discovery is lazy: [New] tries discovery once and, if that fails, still
// returns a usable Verifier (logging the failure). Each later Verify that finds
// no discovered provider tries again, at most once per backoff interval
// (1 s, doubling up to [MaxBackoff]); in between it fails fast with a
// *vigil.Error of code vigil.EUnavailable. Only configuration errors make New
// fail.
//
// Once discovered, the provider metadata and keys are reused. Discovery is
// repeated in the background every [RefreshInterval], which also drops keys
// the provider no longer publishes; if that refresh fails, the old metadata
// and keys stay in use.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/vigilhq/vigil/internal/vigil"
)

// Tunables. They are constants rather than Config fields because no
// deployment should need to change them.
const (
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// MaxTokenSize bounds the raw token length accepted by Verify.
	MaxTokenSize = 16 << 10
	// MaxBackoff caps the wait between failed discovery attempts.
	MaxBackoff = time.Minute
	// RefreshInterval is how often discovery (and with it the JWKS) is
	// fetched again after a success.
	RefreshInterval = time.Hour

	minBackoff       = time.Second
	discoveryTimeout = 10 * time.Second
	maxGroups        = 512
	maxNameLen       = 250 // keeps "group:<name>" within control's 256
)

// DefaultAlgorithms are the signing algorithms accepted when
// [Config.Algorithms] is empty.
var DefaultAlgorithms = []string{gooidc.RS256, gooidc.ES256, gooidc.PS256, gooidc.EdDSA}

// supportedAlgs are the asymmetric algorithms go-oidc can verify.
var supportedAlgs = map[string]bool{
	gooidc.RS256: true, gooidc.RS384: true, gooidc.RS512: true,
	gooidc.ES256: true, gooidc.ES384: true, gooidc.ES512: true,
	gooidc.PS256: true, gooidc.PS384: true, gooidc.PS512: true,
	gooidc.EdDSA: true,
}

// Config configures a [Verifier]. Zero values of optional fields get the
// defaults documented on each field.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as it appears in the
	// tokens' "iss" claim and in its discovery document. It must be https,
	// except on a loopback host. Required.
	Issuer string
	// Audience is the value the tokens' "aud" claim must contain: the
	// resource indicator (or application ID URI) Vigil is registered as.
	// Required.
	Audience string
	// SubjectClaim names the claim holding the principal's ID. Default
	// "sub"; Entra ID deployments may prefer "oid".
	SubjectClaim string
	// GroupsClaim names the top-level claim holding the principal's
	// groups. Default "groups".
	GroupsClaim string
	// Algorithms is the allow-list of JWS algorithms. Default
	// [DefaultAlgorithms]. Only asymmetric algorithms are allowed: "none"
	// and HS256/384/512 are rejected by Validate.
	Algorithms []string
	// HTTPClient fetches discovery and JWKS documents. Default: a client
	// with a 10 s timeout.
	HTTPClient *http.Client
	// Now returns the time tokens are checked against. Default time.Now.
	Now func() time.Time
	// Logger receives discovery failures. Default: discard.
	Logger *slog.Logger
}

// Validate reports whether c is usable, after defaults are applied. It
// returns a *vigil.Error with code vigil.EInvalid.
func (c Config) Validate() error {
	if c.Issuer == "" {
		return vigil.Errorf(vigil.EInvalid, "oidc: issuer is required")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return vigil.Errorf(vigil.EInvalid, "oidc: issuer %q must be an absolute URL without query, fragment or user info", c.Issuer)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return vigil.Errorf(vigil.EInvalid, "oidc: issuer %q must use https (http only on a loopback host)", c.Issuer)
	}
	if c.Audience == "" {
		return vigil.Errorf(vigil.EInvalid, "oidc: audience is required")
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		switch {
		case strings.EqualFold(a, "none"):
			return vigil.Errorf(vigil.EInvalid, "oidc: algorithm %q is not allowed: tokens must be signed", a)
		case strings.HasPrefix(strings.ToUpper(a), "HS"):
			return vigil.Errorf(vigil.EInvalid, "oidc: algorithm %q is not allowed: only asymmetric algorithms may be used", a)
		case !supportedAlgs[a]:
			return vigil.Errorf(vigil.EInvalid, "oidc: unsupported algorithm %q", a)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// noDowngrade refuses redirects from https to http and limits their number.
func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("redirect from https to " + req.URL.Scheme)
	}
	return nil
}

// withDefaults returns c with the zero optional fields filled in.
func (c Config) withDefaults() Config {
	if c.SubjectClaim == "" {
		c.SubjectClaim = "sub"
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms
	}
	c.Algorithms = append([]string(nil), c.Algorithms...)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: discoveryTimeout, CheckRedirect: noDowngrade}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Identity is who a verified token speaks for.
type Identity struct {
	// Subject is the value of the configured subject claim.
	Subject string
	// Principal is "user:<Subject>" or "sp:<Subject>"; see the package
	// documentation for the rule.
	Principal string
	// Groups are the token's groups as "group:<name>", in token order
	// and without duplicates. Empty when the token has none, including
	// when the provider sent a groups overage reference (Entra ID's
	// "_claim_names") instead of the list: those are not followed.
	Groups []string
	// Scopes are the token's OAuth scopes (from "scope" or "scp"), for
	// callers that want to require one. Verify does not check them.
	Scopes []string
}

// Verifier verifies access tokens from one provider. It is safe for
// concurrent use.
type Verifier struct {
	cfg   Config
	clock func() time.Time // drives discovery backoff and refresh; not cfg.Now

	mu         sync.Mutex
	idv        *gooidc.IDTokenVerifier // nil until discovery succeeds
	static     bool                    // idv was given, never rediscover
	discovered time.Time
	failures   int
	nextTry    time.Time
	lastErr    error
	inflight   chan struct{} // closed when the running discovery ends
}

// New validates cfg and returns a Verifier for it. It tries discovery once,
// waiting until it ends (at most 10 s) or ctx is done; if that fails New
// still succeeds and discovery is retried by Verify (see the package
// documentation). New returns an error, a *vigil.Error with code
// vigil.EInvalid, only when cfg is invalid.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg.withDefaults(), clock: time.Now}
	_, _ = v.current(ctx) // a failure is logged and retried by Verify
	return v, nil
}

// newStatic returns a Verifier that checks signatures against keys and never
// contacts the issuer. Tests and the fuzz target use it.
func newStatic(cfg Config, keys gooidc.KeySet) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg.withDefaults(), clock: time.Now, static: true}
	v.idv = gooidc.NewVerifier(v.cfg.Issuer, keys, v.goConfig())
	return v, nil
}

// goConfig is the go-oidc configuration: it checks the signature, algorithm,
// issuer and audience. Expiry is checked by Verify, with leeway.
func (v *Verifier) goConfig() *gooidc.Config {
	return &gooidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: v.cfg.Algorithms,
		SkipExpiryCheck:      true,
	}
}

// Ready reports whether discovery has succeeded at least once.
func (v *Verifier) Ready() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.idv != nil
}

// current returns the go-oidc verifier, discovering the provider first when
// needed and allowed by the backoff. It returns a vigil.EUnavailable error
// when there is no discovered provider.
func (v *Verifier) current(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	for {
		v.mu.Lock()
		now := v.clock()
		idv := v.idv
		if idv != nil && (v.static || now.Sub(v.discovered) < RefreshInterval) {
			v.mu.Unlock()
			return idv, nil
		}
		if ch := v.inflight; ch != nil {
			v.mu.Unlock()
			if idv != nil {
				return idv, nil // stale but usable while the refresh runs
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, unavailable(ctx.Err())
			}
		}
		if now.Before(v.nextTry) {
			err := v.lastErr
			v.mu.Unlock()
			if idv != nil {
				return idv, nil
			}
			return nil, unavailable(err)
		}
		ch := make(chan struct{})
		v.inflight = ch
		v.mu.Unlock()

		// The attempt runs on its own, bounded by discoveryTimeout, so a
		// caller that gives up neither cancels it nor counts as a failure.
		go v.discover(context.WithoutCancel(ctx), ch, idv != nil)
		if idv != nil {
			return idv, nil // refresh in the background; keep the old keys
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, unavailable(ctx.Err())
		}
	}
}

// discover runs one discovery attempt and records its outcome. ch is the
// inflight channel, closed at the end.
func (v *Verifier) discover(ctx context.Context, ch chan struct{}, refresh bool) {
	idv, err := v.discoverOnce(ctx, refresh)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.inflight = nil
	close(ch)
	now := v.clock()
	if err != nil {
		v.failures++
		backoff := minBackoff << min(v.failures-1, 16)
		backoff = min(backoff, MaxBackoff)
		backoff -= time.Duration(rand.Int64N(int64(backoff) / 5)) // jitter up to -20%
		v.nextTry = now.Add(backoff)
		v.lastErr = err
		v.cfg.Logger.Warn("oidc: discovery failed", "issuer", v.cfg.Issuer,
			"attempt", v.failures, "retry_in", backoff.Round(time.Millisecond), "err", err)
		return
	}
	v.idv, v.discovered = idv, now
	v.failures, v.nextTry, v.lastErr = 0, time.Time{}, nil
}

func (v *Verifier) discoverOnce(ctx context.Context, refresh bool) (*gooidc.IDTokenVerifier, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	ctx = gooidc.ClientContext(ctx, v.cfg.HTTPClient)
	p, err := gooidc.NewProvider(ctx, v.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if refresh {
		// The new provider starts with an empty key cache. Make sure its
		// JWKS answers before dropping the old keys.
		if err := v.probeJWKS(ctx, p); err != nil {
			return nil, err
		}
	}
	return p.VerifierContext(gooidc.ClientContext(context.Background(), v.cfg.HTTPClient), v.goConfig()), nil
}

func (v *Verifier) probeJWKS(ctx context.Context, p *gooidc.Provider) error {
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return fmt.Errorf("discovery: no jwks_uri")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.JWKSURI, nil)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jwks: %s", resp.Status)
	}
	return nil
}

// Verify checks raw, a bearer access token, and returns the identity it
// carries. Errors are *vigil.Error: vigil.EUnauthorized for any token that
// fails a check (message "invalid token"; the reason is in Err), and
// vigil.EUnavailable when the provider has never been discovered and
// discovery fails again.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	if err := v.checkHeader(raw); err != nil {
		return Identity{}, invalid(err)
	}
	idv, err := v.current(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := idv.Verify(ctx, raw)
	if err != nil {
		return Identity{}, invalid(err)
	}
	id, err := v.identity(tok)
	if err != nil {
		return Identity{}, invalid(err)
	}
	return id, nil
}

func invalid(err error) error {
	return &vigil.Error{Code: vigil.EUnauthorized, Message: "invalid token", Err: fmt.Errorf("oidc: %w", err)}
}

func unavailable(err error) error {
	return &vigil.Error{Code: vigil.EUnavailable, Message: "identity provider unavailable", Err: fmt.Errorf("oidc: %w", err)}
}
