// Package score is the data plane's use case: it authenticates scoring
// calls by the endpoint's auth mode, routes them to a deployment by the
// endpoint's traffic split (or the caller's pin), enforces each
// deployment's concurrency, and keeps each deployment's request log. It
// works from an in-memory view of the store, reloaded after every change,
// so the request path never touches the database.
package score

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/vigil"
)

// Store is what the view is loaded from.
type Store interface {
	Keys(ctx context.Context) ([]vigil.StoredKey, error)
	ListEndpoints(ctx context.Context) ([]vigil.Endpoint, error)
	ListDeployments(ctx context.Context, endpoint string) ([]vigil.SealedDeployment, error)
	SigningKeys(ctx context.Context) ([]vigil.SigningKey, error)
}

// Reasons an authentication fails, for metrics and logs; callers see one
// and the same 401 whatever the reason.
const (
	ReasonMissing     = "missing_key"
	ReasonUnknownKey  = "unknown_key"
	ReasonWrongTarget = "wrong_endpoint"
	ReasonNoEndpoint  = "unknown_endpoint"
	ReasonBadToken    = "bad_token"
	ReasonWrongMode   = "wrong_auth_mode"
)

// AuthError is returned by Authenticate. Reason is for metrics and logs
// only.
type AuthError struct{ Reason string }

// Error implements error.
func (e *AuthError) Error() string { return "authentication failed: " + e.Reason }

type keyRef struct {
	endpoint string
	slot     vigil.KeySlot
}

// Deployment is a deployment's runtime: its settings, its in-flight count
// and its request log. It survives reloads.
type Deployment struct {
	Endpoint string
	Name     string

	settings atomic.Pointer[vigil.Deployment]
	inFlight atomic.Int64

	egress    netpolicy.Egress
	clientMu  sync.Mutex
	client    *http.Client
	clientFor *vigil.Deployment
	// Log holds the deployment's recent requests.
	Log *RequestLog
}

// NewDeployment returns a runtime for d, with an empty request log.
func NewDeployment(d vigil.Deployment) *Deployment {
	rt := &Deployment{Endpoint: d.EndpointName, Name: d.Name, Log: NewRequestLog(1000)}
	rt.settings.Store(&d)
	return rt
}

// HTTPClient returns the one HTTP client through which the deployment may
// fetch anything (models, data, callbacks): it enforces the deployment's
// egress_public_network_access at dial time and logs every refusal. The
// built-in anomaly detector fetches nothing.
func (d *Deployment) HTTPClient() *http.Client {
	s := d.Settings()
	d.clientMu.Lock()
	defer d.clientMu.Unlock()
	if d.client == nil || d.clientFor != s {
		e := d.egress
		e.PublicAccess = s.EgressPublicNetworkAccess != vigil.AccessDisabled
		d.client, d.clientFor = e.Client(time.Duration(s.RequestSettings.RequestTimeoutMS)*time.Millisecond), s
	}
	return d.client
}

// Settings returns the deployment's current settings.
func (d *Deployment) Settings() *vigil.Deployment { return d.settings.Load() }

// Acquire takes one of the deployment's request slots and reports whether
// one was free; each successful Acquire needs a Release.
func (d *Deployment) Acquire() bool {
	if n := d.inFlight.Add(1); n > int64(d.Settings().Capacity()) {
		d.inFlight.Add(-1)
		return false
	}
	return true
}

// Release frees a slot taken by Acquire.
func (d *Deployment) Release() { d.inFlight.Add(-1) }

// Timeout is the deployment's request timeout.
func (d *Deployment) Timeout() time.Duration {
	return time.Duration(d.Settings().RequestSettings.RequestTimeoutMS) * time.Millisecond
}

type endpointView struct {
	e           vigil.Endpoint
	deployments map[string]*Deployment
	// live lists deployments with traffic and their cumulative percents.
	live       []*Deployment
	cumulative []int
	mirror     *Deployment
	mirrorPct  int
}

// AADVerifier checks an identity-provider token presented to an aad_token
// endpoint and that its principal may score there. It returns the caller's
// label, an *AuthError for a token that does not verify, or a *vigil.Error
// (forbidden, unavailable) otherwise.
type AADVerifier func(ctx context.Context, endpoint, token string) (caller string, err error)

// Plane is the data plane's view.
type Plane struct {
	ring  *credential.Keyring
	store Store
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// AAD verifies tokens for aad_token endpoints; without it they refuse
	// every call.
	AAD AADVerifier
	// Egress is the template of every deployment's outbound client: its
	// private networks, allowlist, logger and refusal hook. PublicAccess is
	// set per deployment from egress_public_network_access.
	Egress netpolicy.Egress
	// OnEgressRefusal hears of every connection a deployment's client
	// refused, with the deployment's scope (for the audit log).
	OnEgressRefusal func(scope string, r netpolicy.Refusal)

	mu        sync.RWMutex
	endpoints map[string]*endpointView
	keys      map[credential.Digest]keyRef
	signing   map[string][]byte
	runtimes  map[string]*Deployment // endpoint + "/" + name
}

// NewPlane returns a data plane view; call Reload before use.
func NewPlane(ring *credential.Keyring, store Store) *Plane {
	return &Plane{ring: ring, store: store, Now: time.Now, runtimes: map[string]*Deployment{}}
}

// SigningKeyOwner must match control.SigningKeyOwner.
func signingKeyOwner(kid string) string { return "signing-key/" + kid }

// Reload replaces the view with the store's endpoints, deployments, keys
// and signing keys.
func (p *Plane) Reload(ctx context.Context) error {
	ks, err := p.store.Keys(ctx)
	if err != nil {
		return err
	}
	eps, err := p.store.ListEndpoints(ctx)
	if err != nil {
		return err
	}
	deps, err := p.store.ListDeployments(ctx, "")
	if err != nil {
		return err
	}
	sks, err := p.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	keys := make(map[credential.Digest]keyRef, len(ks))
	for _, k := range ks {
		var d credential.Digest
		copy(d[:], k.Digest)
		keys[d] = keyRef{endpoint: k.Endpoint, slot: k.Slot}
	}
	signing := make(map[string][]byte, len(sks))
	for _, sk := range sks {
		secret, err := p.ring.Open(sk.Sealed, signingKeyOwner(sk.KID))
		if err != nil {
			return err
		}
		signing[sk.KID] = secret
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	views := make(map[string]*endpointView, len(eps))
	for _, e := range eps {
		views[e.Name] = &endpointView{e: e, deployments: map[string]*Deployment{}}
	}
	runtimes := make(map[string]*Deployment, len(deps))
	for i := range deps {
		d := deps[i].Deployment
		v := views[d.EndpointName]
		if v == nil {
			continue
		}
		id := d.EndpointName + "/" + d.Name
		rt := p.runtimes[id]
		if rt == nil {
			rt = NewDeployment(d)
			rt.egress = p.Egress
			if hook := p.OnEgressRefusal; hook != nil {
				scope := "/endpoints/" + d.EndpointName + "/deployments/" + d.Name
				rt.egress.OnRefusal = func(r netpolicy.Refusal) { hook(scope, r) }
			}
		} else {
			rt.settings.Store(&d)
		}
		runtimes[id] = rt
		v.deployments[d.Name] = rt
	}
	for _, v := range views {
		sum := 0
		for _, name := range vigil.SortedKeys(v.e.Traffic) {
			pct := v.e.Traffic[name]
			if rt := v.deployments[name]; rt != nil && pct > 0 {
				sum += pct
				v.live = append(v.live, rt)
				v.cumulative = append(v.cumulative, sum)
			}
		}
		for name, pct := range v.e.MirrorTraffic {
			if rt := v.deployments[name]; rt != nil && pct > 0 {
				v.mirror, v.mirrorPct = rt, pct
			}
		}
	}
	p.endpoints, p.keys, p.signing, p.runtimes = views, keys, signing, runtimes
	return nil
}

// Endpoint returns the endpoint's settings and reports whether it exists.
func (p *Plane) Endpoint(name string) (vigil.Endpoint, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	v := p.endpoints[name]
	if v == nil {
		return vigil.Endpoint{}, false
	}
	return v.e, true
}

// Authenticate checks the credential presented for endpoint by the
// endpoint's auth mode and returns a caller label for logs ("key:primary",
// "token:<id prefix>"). A key never works on a token endpoint and the
// reverse. Keys are looked up by their keyed digest, never compared in
// plaintext.
func (p *Plane) Authenticate(endpoint, presented string) (string, error) {
	p.mu.RLock()
	v := p.endpoints[endpoint]
	p.mu.RUnlock()
	if v == nil {
		return "", &AuthError{Reason: ReasonNoEndpoint}
	}
	if presented == "" {
		return "", &AuthError{Reason: ReasonMissing}
	}
	switch v.e.AuthMode {
	case vigil.AuthKey:
		d := p.ring.Digest(presented)
		p.mu.RLock()
		ref, ok := p.keys[d]
		p.mu.RUnlock()
		switch {
		case !ok && credential.LooksLikeToken(presented):
			return "", &AuthError{Reason: ReasonWrongMode}
		case !ok:
			return "", &AuthError{Reason: ReasonUnknownKey}
		case ref.endpoint != endpoint:
			return "", &AuthError{Reason: ReasonWrongTarget}
		}
		return "key:" + string(ref.slot), nil
	case vigil.AuthAMLToken:
		if !credential.LooksLikeToken(presented) {
			return "", &AuthError{Reason: ReasonWrongMode}
		}
		c, err := credential.VerifyToken(presented, endpoint, p.Now(), func(kid string) []byte {
			p.mu.RLock()
			defer p.mu.RUnlock()
			return p.signing[kid]
		})
		if err != nil {
			return "", &AuthError{Reason: ReasonBadToken}
		}
		return "token:" + c.ID[:8], nil
	}
	if p.AAD == nil || credential.LooksLikeToken(presented) {
		return "", &AuthError{Reason: ReasonWrongMode}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return p.AAD(ctx, endpoint, presented)
}

// Route picks the deployment that serves a call: the pinned one when pin is
// set (any deployment of the endpoint, also one at 0 %), else one drawn by
// the traffic split. Without a pin it may also return a mirror target that
// should get a copy of the call.
func (p *Plane) Route(endpoint, pin string) (serve, mirror *Deployment, err error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	v := p.endpoints[endpoint]
	if v == nil {
		return nil, nil, vigil.Errorf(vigil.ENotFound, "endpoint %s does not exist", endpoint)
	}
	if pin != "" {
		d := v.deployments[pin]
		if d == nil {
			return nil, nil, &vigil.Error{Code: vigil.ENotFound, APICode: "DeploymentNotFound", Message: "Endpoint " + endpoint + " has no deployment named in the azureml-model-deployment header."}
		}
		return d, nil, nil
	}
	if len(v.live) == 0 {
		return nil, nil, &vigil.Error{Code: vigil.ENotFound, APICode: "NoDeployment", Message: "No deployment of endpoint " + endpoint + " takes traffic; set its traffic, or pin a deployment with the azureml-model-deployment header."}
	}
	n := rand.IntN(v.cumulative[len(v.cumulative)-1])
	i := sort.SearchInts(v.cumulative, n+1)
	serve = v.live[i]
	if v.mirror != nil && rand.IntN(100) < v.mirrorPct {
		mirror = v.mirror
	}
	return serve, mirror, nil
}

// Deployment returns a deployment's runtime, or nil.
func (p *Plane) Deployment(endpoint, name string) *Deployment {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.runtimes[endpoint+"/"+name]
}

// LogEntry is one request in a deployment's log: never a payload, never a
// secret.
type LogEntry struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id"`
	Route      string    `json:"route"`
	Status     int       `json:"status"`
	LatencyMS  float64   `json:"latency_ms"`
	Caller     string    `json:"caller"`
	Deployment string    `json:"deployment"`
	Mirrored   bool      `json:"mirrored"`
}

// RequestLog is a fixed-size ring of a deployment's recent requests.
type RequestLog struct {
	mu    sync.Mutex
	buf   []LogEntry
	next  int
	count int
}

// NewRequestLog keeps the last size entries.
func NewRequestLog(size int) *RequestLog { return &RequestLog{buf: make([]LogEntry, size)} }

// Add appends an entry, dropping the oldest when full.
func (l *RequestLog) Add(e LogEntry) {
	e.Caller = strings.ToValidUTF8(e.Caller, "?")
	l.mu.Lock()
	l.buf[l.next] = e
	l.next = (l.next + 1) % len(l.buf)
	if l.count < len(l.buf) {
		l.count++
	}
	l.mu.Unlock()
}

// Last returns up to n entries, oldest first.
func (l *RequestLog) Last(n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > l.count {
		n = l.count
	}
	out := make([]LogEntry, 0, n)
	start := (l.next - n + len(l.buf)) % len(l.buf)
	for i := 0; i < n; i++ {
		out = append(out, l.buf[(start+i)%len(l.buf)])
	}
	return out
}
