// Package httpapi is Vigil's HTTP face: the Anomaly Detector data plane, the
// operational probes and the OpenAPI document on the public listener, and
// the Prometheus metrics on a listener of their own. Handlers return errors;
// one function (writeError) turns them into responses, and one (statusOf)
// maps error codes to statuses.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/internal/adapi"
	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/vigil"
)

// DataPlane authenticates and routes scoring calls (*score.Plane
// satisfies it).
type DataPlane interface {
	// Authenticate checks the presented key or token for endpoint and
	// returns a caller label for logs; errors are *score.AuthError.
	Authenticate(endpoint, presented string) (caller string, err error)
	// Route picks the serving deployment (pin, if set, else the traffic
	// split) and maybe a mirror target.
	Route(endpoint, pin string) (serve, mirror *score.Deployment, err error)
	// Endpoint returns an endpoint's settings and whether it exists.
	Endpoint(name string) (vigil.Endpoint, bool)
}

// DefaultMaxBodyBytes is the largest request body accepted: 4 MiB.
const DefaultMaxBodyBytes = 4 << 20

// Server holds the public handler's dependencies and settings. Zero values
// of the optional fields are valid defaults.
type Server struct {
	// Logger receives request and error logs; it never receives a secret.
	Logger *slog.Logger
	// Plane authenticates and routes scoring calls. Required.
	Plane DataPlane
	// Control carries out management-API calls; without it /api/v1 is not
	// served.
	Control Control
	// Logs reads deployments' request logs for the management API.
	Logs DeploymentLogs
	// AuditLog serves /api/v1/audit; AuditQueue records failed
	// authentications and refused calls.
	AuditLog   AuditLog
	AuditQueue AuditQueue
	// Access authorizes management calls and manages roles and tokens;
	// without it only the bootstrap admin may use /api/v1.
	Access Access
	// AdminTokenFile is rewritten when the admin token is rotated.
	AdminTokenFile string
	// Identities verifies identity-provider tokens on the management API
	// (OIDC users, groups and service principals); nil when none is
	// configured.
	Identities func(ctx context.Context, token string) (vigil.Actor, error)
	// Metrics, when set, are updated on every request.
	Metrics *Metrics
	// OpenAPI is the document served at /swagger.
	OpenAPI []byte
	// MaxBodyBytes limits request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxInFlight limits concurrent scoring requests; more get 429
	// (default 1024).
	MaxInFlight int
	// CORSOrigins lists the browser origins allowed to call the API; none by
	// default, and then no CORS header is ever sent.
	CORSOrigins []string
	// Failures limits failed authentications per source address.
	Failures *FailureLimiter
	// Inbound tells private sources from public ones and whose
	// X-Forwarded-For to believe (default: the default private networks,
	// no trusted proxy).
	Inbound *netpolicy.Inbound

	// detectFn runs a detection (tests replace it); nil means
	// (*adapi.Request).Detect.
	detectFn func(*adapi.Request) ([]byte, error)

	ready    atomic.Bool
	inFlight atomic.Int64
}

func (s *Server) detectOne(req *adapi.Request) ([]byte, error) {
	if s.detectFn != nil {
		return s.detectFn(req)
	}
	return req.Detect()
}

// SetReady marks the server ready (or not) for /ready.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// handlerFunc is a handler that returns an error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handler returns the public listener's handler.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = 1024
	}
	if s.Failures == nil {
		s.Failures = NewFailureLimiter(20, time.Minute, time.Now)
	}
	if s.Inbound == nil {
		s.Inbound, _ = netpolicy.NewInbound(netpolicy.DefaultPrivateNetworks, nil)
	}
	mux := http.NewServeMux()
	route := func(pattern, name string, h handlerFunc) {
		mux.Handle(pattern, s.observe(name, h))
	}
	route("/anomalydetector/{version}/timeseries/{op}/detect", "detect", s.detect)
	route("/endpoints/{endpoint}/anomalydetector/{version}/timeseries/{op}/detect", "detect", s.detect)
	route("/endpoints/{endpoint}/score", "score", s.score)
	if s.Control != nil {
		s.mgmtRoutes(mux)
	}
	route("/status", "status", s.get(s.status))
	route("/ready", "ready", s.get(s.readyz))
	route("/healthz", "healthz", s.get(s.healthz))
	route("/swagger", "swagger", s.get(s.swagger))
	route("/{$}", "home", s.get(s.home))
	route("/", "notfound", func(w http.ResponseWriter, r *http.Request) error {
		return vigil.Errorf(vigil.ENotFound, "No route matches %s %s.", r.Method, clipPath(r.URL.Path))
	})
	return s.headers(mux)
}

// headers sets the headers every response carries and answers CORS.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		id := newRequestID()
		h.Set("apim-request-id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		if origin := r.Header.Get("Origin"); origin != "" && s.corsAllowed(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Ocp-Apim-Subscription-Key")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.CORSOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logger is the part of *slog.Logger the error writers use.
type logger interface {
	Error(msg string, args ...any)
}

// observe turns a handlerFunc into an http.Handler that writes errors in
// the Anomaly Detector's shapes.
func (s *Server) observe(route string, h handlerFunc) http.Handler {
	return s.observeWith(route, h, writeError)
}

// observeWith turns a handlerFunc into an http.Handler: it writes returned
// errors with writeErr, recovers from panics, and records metrics and a log
// line.
func (s *Server) observeWith(route string, h handlerFunc, writeErr func(http.ResponseWriter, *http.Request, logger, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if s.Metrics != nil {
			s.Metrics.inFlight.Inc()
			defer s.Metrics.inFlight.Dec()
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.Error("panic", "request_id", requestID(r), "panic", p)
				if sw.status == 0 {
					writeErr(sw, r, s.Logger, errors.New("panic in handler"))
				}
			}
			d := time.Since(start)
			if s.Metrics != nil {
				s.Metrics.requests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(sw.status)).Inc()
				s.Metrics.latency.WithLabelValues(route).Observe(d.Seconds())
			}
			s.Logger.Info("request", "request_id", requestID(r), "method", r.Method, "route", route,
				"status", sw.status, "duration_ms", float64(d.Microseconds())/1000, "remote", s.source(r))
		}()
		if err := h(sw, r); err != nil {
			writeErr(sw, r, s.Logger, err)
		}
	})
}

// methodLabel bounds the metric's label values.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch:
		return m
	}
	return "other"
}

// get restricts a handler to GET and HEAD.
func (s *Server) get(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return vigil.Errorf(vigil.EMethodNotAllowed, "Method %s is not allowed here; use GET.", methodLabel(r.Method))
		}
		return h(w, r)
	}
}

// presentedKey returns the key from Ocp-Apim-Subscription-Key, or else
// from "Authorization: Bearer <key>".
func presentedKey(r *http.Request) string {
	if k := r.Header.Get("Ocp-Apim-Subscription-Key"); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// throttled refuses a source that failed authentication too often (429
// with Retry-After). The first refusal of a source in a window is audited
// as a denial of action on scope; later ones are not, so a flood cannot
// fill the audit log.
func (s *Server) throttled(w http.ResponseWriter, src, action, scope string) error {
	retry, limited, first := s.Failures.Limited(src)
	if !limited {
		return nil
	}
	secs := strconv.Itoa(int(retry.Seconds() + 0.999))
	if first {
		s.auditAsync(vigil.AuditEvent{Principal: "anonymous", Action: action, Scope: scope, Source: src, Outcome: vigil.OutcomeDenied,
			Detail: "throttled: too many failed authentications from this source; refused for " + secs + " s"})
	}
	w.Header().Set("Retry-After", secs)
	return &vigil.Error{Code: vigil.ERateLimited, Message: "Too many failed authentications from this address; retry after " + secs + " seconds."}
}

// authenticate checks the request's key or token for endpoint, counting
// failures per source address, and returns the caller's label.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, endpoint string) (string, error) {
	src := s.source(r)
	if err := s.throttled(w, src, "endpoints/score/action", "/endpoints/"+clip(endpoint)); err != nil {
		return "", err
	}
	caller, err := s.Plane.Authenticate(endpoint, presentedKey(r))
	if err == nil {
		return caller, nil
	}
	reason := "error"
	var ae *score.AuthError
	if errors.As(err, &ae) {
		reason = ae.Reason
	} else if c := vigil.ErrorCode(err); c == vigil.EForbidden || c == vigil.EUnavailable {
		// An identity-provider token that verified but lacks the role
		// (recorded by the authorizer), or an unreachable provider.
		return "", err
	}
	s.Failures.Fail(src)
	if s.Metrics != nil {
		s.Metrics.authFailures.WithLabelValues(reason).Inc()
	}
	s.Logger.Warn("authentication failed", "request_id", requestID(r), "endpoint", clip(endpoint), "reason", reason, "remote", src)
	s.auditAsync(vigil.AuditEvent{Principal: "anonymous", Action: "endpoints/score/action", Scope: "/endpoints/" + clip(endpoint), Source: src, Outcome: vigil.OutcomeFailure, Detail: reason})
	return "", vigil.Errorf(vigil.EUnauthorized, "authentication failed")
}

func (s *Server) detect(w http.ResponseWriter, r *http.Request) error {
	version, ok := adapi.ParseVersion(r.PathValue("version"))
	if !ok {
		return vigil.Errorf(vigil.ENotFound, "API version %q is not served; use v1.0, v1.1-preview.1 or v1.1.", clip(r.PathValue("version")))
	}
	op, ok := adapi.ParseOperation(r.PathValue("op"))
	if !ok {
		return vigil.Errorf(vigil.ENotFound, "No route matches %s %s.", methodLabel(r.Method), clipPath(r.URL.Path))
	}
	return s.scoreCall(w, r, "detect", version, op)
}

// score serves POST /endpoints/{endpoint}/score, Azure ML's scoring route:
// for an anomaly-detector deployment it takes a v1.1 entire-detect body.
func (s *Server) score(w http.ResponseWriter, r *http.Request) error {
	return s.scoreCall(w, r, "score", adapi.V11, adapi.Entire)
}

// scoreCall is the scoring path: authenticate, route, read and validate the
// body, take a slot of the deployment, detect within its timeout, answer
// with the serving deployment's name, and log the call (and mirror it).
func (s *Server) scoreCall(w http.ResponseWriter, r *http.Request, route string, version adapi.Version, op adapi.Operation) error {
	start := time.Now()
	endpoint := r.PathValue("endpoint")
	if endpoint == "" {
		endpoint = vigil.DefaultEndpoint
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return vigil.Errorf(vigil.EMethodNotAllowed, "Method %s is not allowed here; use POST.", methodLabel(r.Method))
	}
	if ep, ok := s.Plane.Endpoint(endpoint); ok && ep.PublicNetworkAccess == vigil.AccessDisabled {
		if src := s.sourceAddr(r); !s.Inbound.IsPrivate(src) {
			s.Logger.Warn("public network access refused", "request_id", requestID(r), "endpoint", endpoint, "remote", src.String())
			s.auditAsync(vigil.AuditEvent{Principal: "anonymous", Action: "endpoints/score/action", Scope: "/endpoints/" + endpoint, Source: src.String(), Outcome: vigil.OutcomeDenied, Detail: "public_network_access_disabled"})
			return &vigil.Error{Code: vigil.EForbidden, APICode: "PublicNetworkAccessDisabled",
				Message: "Endpoint " + endpoint + " accepts calls from private networks only (public_network_access is disabled)."}
		}
	}
	caller, err := s.authenticate(w, r, endpoint)
	if err != nil {
		return err
	}
	if n := s.inFlight.Add(1); n > int64(s.MaxInFlight) {
		s.inFlight.Add(-1)
		w.Header().Set("Retry-After", "1")
		return vigil.Errorf(vigil.ERateLimited, "Too many concurrent requests; retry shortly.")
	}
	defer s.inFlight.Add(-1)
	pin := r.Header.Get("azureml-model-deployment")
	dep, mirror, err := s.Plane.Route(endpoint, pin)
	if err != nil {
		return err
	}
	w.Header().Set("azureml-model-deployment", dep.Name)
	status := 0
	defer func() {
		dep.Log.Add(score.LogEntry{Time: start.UTC(), RequestID: requestID(r), Route: route, Status: status,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000, Caller: caller, Deployment: dep.Name})
	}()
	if err := checkJSON(r); err != nil {
		status = statusOf(vigil.ErrorCode(err))
		return err
	}
	body, err := readBody(w, r, s.MaxBodyBytes)
	if err != nil {
		status = statusOf(vigil.ErrorCode(err))
		return err
	}
	req, err := adapi.Decode(version, op, body)
	if err != nil {
		status = http.StatusBadRequest
		return err
	}
	if mirror != nil {
		copied := *req
		copied.Values = slices.Clone(req.Values)
		s.mirror(mirror, &copied, route, caller, requestID(r))
	}
	out, err := s.run(dep, req)
	if vigil.ErrorCode(err) == vigil.ERateLimited {
		w.Header().Set("Retry-After", "1")
	}
	if err != nil {
		status = statusOf(vigil.ErrorCode(err))
		return err
	}
	status = http.StatusOK
	if s.Metrics != nil {
		s.Metrics.detection.WithLabelValues(op.String()).Observe(time.Since(start).Seconds())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	if _, err := w.Write(out); err != nil {
		s.Logger.Debug("write response", "request_id", requestID(r), "err", err)
	}
	return nil
}

// run detects on a slot of dep within dep's timeout. Over capacity it
// answers 429; past the timeout 504, while the detection finishes in the
// background still holding its slot.
func (s *Server) run(dep *score.Deployment, req *adapi.Request) ([]byte, error) {
	if !dep.Acquire() {
		return nil, &vigil.Error{Code: vigil.ERateLimited, Message: "Deployment " + dep.Name + " is serving its maximum number of concurrent requests; retry shortly or raise its request_settings.max_concurrent_requests_per_instance."}
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer dep.Release()
		out, err := s.detectOne(req)
		done <- result{out, err}
	}()
	timer := time.NewTimer(dep.Timeout())
	defer timer.Stop()
	select {
	case res := <-done:
		return res.out, res.err
	case <-timer.C:
		return nil, &vigil.Error{Code: vigil.ETimeout, Message: "Deployment " + dep.Name + " did not answer within its request_timeout_ms."}
	}
}

// mirror sends a copy of a call to the mirror target in the background;
// its answer is discarded and it never delays or changes the caller's.
func (s *Server) mirror(dep *score.Deployment, req *adapi.Request, route, caller, id string) {
	if !dep.Acquire() {
		return // a mirror never queues
	}
	go func() {
		defer dep.Release()
		start := time.Now()
		_, err := s.detectOne(req)
		status := http.StatusOK
		if err != nil {
			status = statusOf(vigil.ErrorCode(err))
		}
		dep.Log.Add(score.LogEntry{Time: start.UTC(), RequestID: id, Route: route, Status: status,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000, Caller: caller, Deployment: dep.Name, Mirrored: true})
	}()
}

// checkJSON refuses bodies declared as anything but JSON. A request with no
// Content-Type is read as JSON.
func checkJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json") {
		return nil
	}
	return vigil.Errorf(vigil.EUnsupportedMedia, "The request body must be JSON (Content-Type: application/json).")
}

// readBody reads the whole body, refusing more than limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, vigil.Errorf(vigil.ETooLarge, "The request body is larger than the limit of %d bytes.", limit)
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	size := r.ContentLength
	if size < 0 || size > limit {
		size = 64 << 10
	}
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, vigil.Errorf(vigil.ETooLarge, "The request body is larger than the limit of %d bytes.", limit)
			}
			return nil, vigil.Errorf(vigil.EInvalid, "The request body could not be read.")
		}
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authenticate(w, r, vigil.DefaultEndpoint); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, `{"status":"ok","apiStatus":"Valid","apiStatusMessage":"Api Key is valid, no action needed."}`)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		return vigil.Errorf(vigil.EUnavailable, "Vigil is starting or stopping.")
	}
	return writeJSON(w, http.StatusOK, `{"status":"ready"}`)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, `{"status":"ok"}`)
}

func (s *Server) swagger(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(s.OpenAPI)
	return err
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	_, err := io.WriteString(w, homePage)
	return err
}

func writeJSON(w http.ResponseWriter, status int, body string) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, err := io.WriteString(w, body)
	return err
}

type requestIDKey struct{}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// newRequestID returns a random UUID (version 4).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// sourceAddr returns the address the request comes from: the connection's
// peer, or, behind a trusted proxy, the client X-Forwarded-For names.
func (s *Server) sourceAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return s.Inbound.Source(ap.Addr(), r.Header.Get("X-Forwarded-For"))
}

// source is sourceAddr as a string, for logs and the failure limiter.
func (s *Server) source(r *http.Request) string {
	if a := s.sourceAddr(r); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func clipPath(p string) string { return clip(p) }

const homePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>
<h1>Vigil</h1>
<p>This server runs the Anomaly Detector API. Point an Azure Anomaly Detector client at this address and give it your Vigil key.</p>
<ul>
<li><code>POST /anomalydetector/v1.1/timeseries/entire/detect</code></li>
<li><code>POST /anomalydetector/v1.1/timeseries/last/detect</code></li>
<li><code>POST /anomalydetector/v1.1/timeseries/changepoint/detect</code></li>
</ul>
<p>The API description is at <a href="/swagger">/swagger</a>. Probes: <code>/ready</code>, <code>/healthz</code>, <code>/status</code>.</p>
</body></html>
`
