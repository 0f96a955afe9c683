package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/openapi"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/vigil"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const testKey = "0123456789abcdef0123456789abcdef"

// fakeAuth accepts testKey for the default endpoint and "other-endpoint",
// and routes every call to one deployment, "blue".
type fakeAuth struct{}

var blue = score.NewDeployment(vigil.Deployment{Name: "blue", InstanceCount: 1,
	RequestSettings: vigil.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 100}})

func (fakeAuth) Authenticate(endpoint, key string) (string, error) {
	if endpoint != vigil.DefaultEndpoint && endpoint != "other-endpoint" {
		return "", &score.AuthError{Reason: score.ReasonNoEndpoint}
	}
	if key == "" {
		return "", &score.AuthError{Reason: score.ReasonMissing}
	}
	if key != testKey {
		return "", &score.AuthError{Reason: score.ReasonUnknownKey}
	}
	return "key:primary", nil
}

func (fakeAuth) Endpoint(name string) (vigil.Endpoint, bool) {
	switch name {
	case vigil.DefaultEndpoint:
		return vigil.Endpoint{Name: name, PublicNetworkAccess: vigil.AccessEnabled}, true
	case "other-endpoint":
		return vigil.Endpoint{Name: name, PublicNetworkAccess: vigil.AccessDisabled}, true
	}
	return vigil.Endpoint{}, false
}

func (fakeAuth) Route(endpoint, pin string) (*score.Deployment, *score.Deployment, error) {
	return blue, nil, nil
}

func newTestServer(t *testing.T, configure ...func(*Server)) (*Server, http.Handler) {
	t.Helper()
	s := &Server{Plane: fakeAuth{}, Metrics: NewMetrics(), OpenAPI: openapi.JSON()}
	for _, c := range configure {
		c(s)
	}
	h := s.Handler()
	s.SetReady(true)
	return s, h
}

func do(h http.Handler, method, path string, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.1:1234"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func keyed(extra ...string) map[string]string {
	h := map[string]string{"Ocp-Apim-Subscription-Key": testKey, "Content-Type": "application/json"}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

func dailySeries(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"granularity":"daily","series":[`)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		v := 100 + 10*float64(i%7)
		if i == n-3 {
			v = 400
		}
		fmt.Fprintf(&b, `{"timestamp":%q,"value":%g}`, start.AddDate(0, 0, i).Format(time.RFC3339), v)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestErrorShapes(t *testing.T) {
	_, h := newTestServer(t)
	big := bytes.Repeat([]byte(" "), DefaultMaxBodyBytes+1)
	tests := []struct {
		name       string
		method     string
		path       string
		body       []byte
		hdr        map[string]string
		wantStatus int
		wantCode   string // flat body code, or "401"/"429" for wrapped bodies
	}{
		{"fail/missing-key", "POST", "/anomalydetector/v1.1/timeseries/entire/detect", dailySeries(30), map[string]string{}, 401, "401"},
		{"fail/wrong-key", "POST", "/anomalydetector/v1.1/timeseries/entire/detect", dailySeries(30), map[string]string{"Ocp-Apim-Subscription-Key": "wrong-key-wrong-key"}, 401, "401"},
		{"fail/key-with-trailing-byte", "POST", "/anomalydetector/v1.1/timeseries/last/detect", dailySeries(30), map[string]string{"Ocp-Apim-Subscription-Key": testKey + "x"}, 401, "401"},
		{"fail/unknown-endpoint-is-401", "POST", "/endpoints/nope-nope/anomalydetector/v1.1/timeseries/entire/detect", dailySeries(30), keyed(), 401, "401"},
		{"fail/validation-is-flat-400", "POST", "/anomalydetector/v1.1/timeseries/entire/detect", []byte(`{"series":[]}`), keyed(), 400, "InvalidSeries"},
		{"fail/malformed-json", "POST", "/anomalydetector/v1.1/timeseries/entire/detect", []byte(`{"series":[`), keyed(), 400, "InvalidJsonFormat"},
		{"fail/unknown-version", "POST", "/anomalydetector/v2.0/timeseries/entire/detect", dailySeries(30), keyed(), 404, "NotFound"},
		{"fail/unknown-operation", "POST", "/anomalydetector/v1.1/timeseries/middle/detect", dailySeries(30), keyed(), 404, "NotFound"},
		{"fail/unknown-route", "GET", "/nothing/here", nil, nil, 404, "NotFound"},
		{"fail/get-on-detect", "GET", "/anomalydetector/v1.1/timeseries/entire/detect", nil, keyed(), 405, "MethodNotAllowed"},
		{"fail/post-on-probe", "POST", "/healthz", nil, nil, 405, "MethodNotAllowed"},
		{"fail/form-body", "POST", "/anomalydetector/v1.1/timeseries/entire/detect", []byte(`series=1`), keyed("Content-Type", "application/x-www-form-urlencoded"), 415, "UnsupportedMediaType"},
		{"fail/body-over-4MiB", "POST", "/anomalydetector/v1.1/timeseries/entire/detect", big, keyed(), 413, "RequestEntityTooLarge"},
		{"fail/status-without-key", "GET", "/status", nil, nil, 401, "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.path, tt.body, tt.hdr)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if !uuidRE.MatchString(rec.Header().Get("apim-request-id")) {
				t.Errorf("apim-request-id = %q, want a v4 uuid", rec.Header().Get("apim-request-id"))
			}
			var flat struct{ Code, Message string }
			var wrapped struct {
				Error struct{ Code, Message string }
			}
			if tt.wantCode == "401" || tt.wantCode == "429" {
				if err := json.Unmarshal(rec.Body.Bytes(), &wrapped); err != nil {
					t.Fatalf("body %s: %v", rec.Body, err)
				}
				if wrapped.Error.Code != tt.wantCode || wrapped.Error.Message == "" {
					t.Errorf("wrapped error = %+v, want code %s", wrapped.Error, tt.wantCode)
				}
				if tt.wantCode == "401" && wrapped.Error.Message != unauthorizedMessage {
					t.Errorf("401 message = %q, want Azure's text", wrapped.Error.Message)
				}
				return
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &flat); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if flat.Code != tt.wantCode || flat.Message == "" {
				t.Errorf("error = %+v, want code %s", flat, tt.wantCode)
			}
			if got := rec.Header().Get("x-ms-error-code"); got != tt.wantCode {
				t.Errorf("x-ms-error-code = %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestWrongKeyLooksTheSameWhateverTheReason(t *testing.T) {
	_, h := newTestServer(t)
	var bodies []string
	for _, hdr := range []map[string]string{
		{},
		{"Ocp-Apim-Subscription-Key": "wrong-key-wrong-key"},
		{"Authorization": "Bearer wrong-key-wrong-key"},
	} {
		rec := do(h, "POST", "/anomalydetector/v1.1/timeseries/entire/detect", dailySeries(30), hdr)
		bodies = append(bodies, rec.Body.String())
	}
	rec := do(h, "POST", "/endpoints/unknown-one/anomalydetector/v1.1/timeseries/entire/detect", dailySeries(30), keyed())
	bodies = append(bodies, rec.Body.String())
	for i := 1; i < len(bodies); i++ {
		if bodies[i] != bodies[0] {
			t.Errorf("401 body %d = %s, differs from %s", i, bodies[i], bodies[0])
		}
	}
}

func TestBearerKeyIsAccepted(t *testing.T) {
	_, h := newTestServer(t)
	rec := do(h, "GET", "/status", nil, map[string]string{"Authorization": "Bearer " + testKey})
	if rec.Code != 200 {
		t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
	}
}

func TestChunkedBodyOverLimitIs413(t *testing.T) {
	_, h := newTestServer(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for written := 0; written <= DefaultMaxBodyBytes; written += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/anomalydetector/v1.1/timeseries/entire/detect", pr)
	req.Header.Set("Ocp-Apim-Subscription-Key", testKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
	pr.Close()
}

func TestFailedAuthenticationsAreRateLimitedPerSource(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var audited recordedAudit
	_, h := newTestServer(t, func(s *Server) {
		s.Failures = NewFailureLimiter(20, time.Minute, clock)
		s.AuditQueue = &audited
	})
	bad := map[string]string{"Ocp-Apim-Subscription-Key": "wrong-key-wrong-key"}
	for i := 0; i < 21; i++ {
		if rec := do(h, "GET", "/status", nil, bad); rec.Code != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, rec.Code)
		}
	}
	rec := do(h, "GET", "/status", nil, keyed())
	if rec.Code != 429 {
		t.Fatalf("after 21 failures even a good key gets %d, want 429", rec.Code)
	}
	var wrapped struct{ Error struct{ Code string } }
	json.Unmarshal(rec.Body.Bytes(), &wrapped)
	if wrapped.Error.Code != "429" {
		t.Errorf("429 body = %s", rec.Body)
	}
	// The throttling is audited once per source and window, not per
	// refused request.
	for range 5 {
		do(h, "GET", "/status", nil, keyed())
	}
	throttled := 0
	for _, ev := range audited.events() {
		if strings.HasPrefix(ev.Detail, "throttled:") {
			throttled++
			if ev.Outcome != vigil.OutcomeDenied || ev.Principal != "anonymous" || ev.Action != "endpoints/score/action" || ev.Scope != "/endpoints/default" {
				t.Errorf("throttling record %+v", ev)
			}
		}
	}
	if throttled != 1 {
		t.Errorf("%d throttling records after 6 refused requests, want 1", throttled)
	}
	// Another source is not affected.
	req := httptest.NewRequest("GET", "/status", nil)
	req.RemoteAddr = "192.0.2.99:1"
	req.Header.Set("Ocp-Apim-Subscription-Key", testKey)
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, req)
	if rec2.Code != 200 {
		t.Errorf("other source: status %d, want 200", rec2.Code)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if rec := do(h, "GET", "/status", nil, keyed()); rec.Code != 200 {
		t.Errorf("after the window: status %d, want 200", rec.Code)
	}
}

func TestProbes(t *testing.T) {
	s, h := newTestServer(t)
	tests := []struct {
		name, path string
		hdr        map[string]string
		want       int
		wantBody   string
	}{
		{"ok/ready", "/ready", nil, 200, `{"status":"ready"}`},
		{"ok/healthz", "/healthz", nil, 200, `{"status":"ok"}`},
		{"ok/status-with-key", "/status", keyed(), 200, ""},
		{"ok/home", "/", nil, 200, ""},
		{"ok/swagger", "/swagger", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, "GET", tt.path, nil, tt.hdr)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tt.wantBody)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
		})
	}
	s.SetReady(false)
	if rec := do(h, "GET", "/ready", nil, nil); rec.Code != 503 {
		t.Errorf("not ready: /ready = %d, want 503", rec.Code)
	}
}

func TestNoCORSUnlessConfigured(t *testing.T) {
	_, h := newTestServer(t)
	rec := do(h, "GET", "/healthz", nil, map[string]string{"Origin": "https://evil.example"})
	if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("Access-Control-Allow-Origin = %q with no CORS configured", v)
	}
	_, h = newTestServer(t, func(s *Server) { s.CORSOrigins = []string{"https://console.example"} })
	rec = do(h, "OPTIONS", "/anomalydetector/v1.1/timeseries/entire/detect", nil, map[string]string{"Origin": "https://console.example", "Access-Control-Request-Method": "POST"})
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "https://console.example" {
		t.Errorf("preflight from allowed origin: %d %v", rec.Code, rec.Header())
	}
	rec = do(h, "GET", "/healthz", nil, map[string]string{"Origin": "https://evil.example"})
	if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("other origin got Access-Control-Allow-Origin = %q", v)
	}
}

func TestSwaggerGolden(t *testing.T) {
	_, h := newTestServer(t)
	rec := do(h, "GET", "/swagger", nil, nil)
	golden := "testdata/swagger.golden.json"
	if *update {
		if err := os.WriteFile(golden, rec.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(rec.Body.Bytes(), want) {
		t.Errorf("GET /swagger differs from %s; run go test ./internal/httpapi -update and review the diff", golden)
	}
}

// TestServesExactlyTheDocumentedRoutes walks the OpenAPI route table: each
// documented route is served (no "no route" 404), and the server's mux
// patterns are the documented ones.
// fakeControl refuses every management token; the rest of the interface
// is nil and must not be reached.
type fakeControl struct{ Control }

func (fakeControl) VerifyAccessToken(context.Context, string) (string, error) {
	return "", vigil.Errorf(vigil.EUnauthorized, "no")
}

type fakeAudit struct{ AuditLog }

type fakeAccess struct{ Access }

func TestServesExactlyTheDocumentedRoutes(t *testing.T) {
	_, h := newTestServer(t, func(s *Server) {
		s.Control, s.AuditLog, s.Access = fakeControl{}, fakeAudit{}, fakeAccess{}
	})
	fill := strings.NewReplacer("{apiVersion}", "v1.1", "{endpointName}", "other-endpoint", "{deploymentName}", "blue", "{assignmentId}", "a1", "{tokenName}", "t1", "{id}", "a1", "{name}", "t1")
	for _, r := range openapi.Routes {
		path := fill.Replace(r.Path)
		rec := do(h, r.Method, path, dailySeries(30), keyed())
		if rec.Code == 404 || rec.Code == 405 {
			t.Errorf("%s %s: status %d, body %s", r.Method, path, rec.Code, rec.Body)
		}
	}
}

func TestPanicIsA500WithoutDetails(t *testing.T) {
	s := &Server{Plane: fakeAuth{}}
	s.Handler()
	h := s.observe("boom", func(w http.ResponseWriter, r *http.Request) error { panic("secret detail") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
}

func TestMetricsCountAuthFailuresByReason(t *testing.T) {
	s, h := newTestServer(t)
	do(h, "GET", "/status", nil, map[string]string{"Ocp-Apim-Subscription-Key": "wrong-key-wrong-key"})
	do(h, "GET", "/status", nil, nil)
	rec := httptest.NewRecorder()
	s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`vigil_auth_failures_total{reason="unknown_key"} 1`,
		`vigil_auth_failures_total{reason="missing_key"} 1`,
		`vigil_http_requests_total{code="401",method="GET",route="status"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "wrong-key") {
		t.Error("a presented key appears in the metrics")
	}
}

func TestDetectAnswers(t *testing.T) {
	_, h := newTestServer(t)
	for _, op := range []string{"entire", "last", "changepoint"} {
		for _, v := range []string{"v1.0", "v1.1", "v1.1-preview.1"} {
			path := "/anomalydetector/" + v + "/timeseries/" + op + "/detect"
			rec := do(h, "POST", path, dailySeries(40), keyed())
			if rec.Code != 200 {
				t.Errorf("%s: status %d, body %s", path, rec.Code, rec.Body)
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			_, hasSeverity := m["severity"]
			if op != "changepoint" && hasSeverity != (v != "v1.0") {
				t.Errorf("%s: severity present = %v", path, hasSeverity)
			}
		}
	}
}

func TestPublicNetworkAccessDisabled(t *testing.T) {
	in, err := netpolicy.NewInbound(netpolicy.DefaultPrivateNetworks, []string{"10.9.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	_, h := newTestServer(t, func(s *Server) { s.Inbound = in })
	tests := []struct {
		name, remote, xff string
		endpoint          string
		want              int
	}{
		{"fail/public-source", "192.0.2.1:1", "", "other-endpoint", 403},
		{"fail/public-source-spoofing-xff", "192.0.2.1:1", "10.0.0.1", "other-endpoint", 403},
		{"fail/public-client-behind-trusted-proxy", "10.9.0.1:1", "198.51.100.7", "other-endpoint", 403},
		{"ok/private-source", "10.1.2.3:1", "", "other-endpoint", 200},
		{"ok/private-client-behind-trusted-proxy", "10.9.0.1:1", "192.168.4.4", "other-endpoint", 200},
		{"ok/enabled-endpoint-public-source", "192.0.2.1:1", "", "default", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/endpoints/" + tt.endpoint + "/anomalydetector/v1.1/timeseries/last/detect"
			req := httptest.NewRequest("POST", path, bytes.NewReader(dailySeries(30)))
			req.RemoteAddr = tt.remote
			req.Header.Set("Ocp-Apim-Subscription-Key", testKey)
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 403 && rec.Header().Get("x-ms-error-code") != "PublicNetworkAccessDisabled" {
				t.Errorf("code %q", rec.Header().Get("x-ms-error-code"))
			}
		})
	}
}

// recordedAudit is an AuditQueue that keeps the events.
type recordedAudit struct {
	mu  sync.Mutex
	evs []vigil.AuditEvent
}

func (a *recordedAudit) Async(ev vigil.AuditEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, ev)
}

func (a *recordedAudit) events() []vigil.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]vigil.AuditEvent(nil), a.evs...)
}
