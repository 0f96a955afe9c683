package netpolicy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// secret is put in every request's query string; it must never show up in
// a log line or a refusal.
const secret = "s3cret"

// testServer is an httptest server that counts the requests it receives.
type testServer struct {
	*httptest.Server
	hits atomic.Int64
}

// port returns the server's port.
func (s *testServer) port() string {
	u, _ := url.Parse(s.URL)
	return u.Port()
}

// startServer starts a server on addr (host:port; any loopback address
// works on Linux) answering:
//
//	/ok             200
//	/redirect?to=u  302 to u
//	/hop/{n}        302 to /hop/{n-1}, or 200 when n is 0
func startServer(t *testing.T, addr string, useTLS bool) *testServer {
	t.Helper()
	s := &testServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("GET /hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 {
			http.Error(w, "bad hop", http.StatusBadRequest)
			return
		}
		if n == 0 {
			io.WriteString(w, "ok")
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	srv.Listener.Close()
	srv.Listener = l
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	s.Server = srv
	return s
}

// fakeResolver answers from a table. A host with several answers gets
// them in turn, one per lookup, then the last one forever.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

func newFakeResolver(answers map[string][][]string) *fakeResolver {
	r := &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
	for host, seq := range answers {
		for _, as := range seq {
			var addrs []netip.Addr
			for _, a := range as {
				addrs = append(addrs, netip.MustParseAddr(a))
			}
			r.answers[host] = append(r.answers[host], addrs)
		}
	}
	return r
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.answers[host]
	if len(seq) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := min(r.calls[host], len(seq)-1)
	r.calls[host]++
	return seq[n], nil
}

func (r *fakeResolver) lookups(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

// recorder collects what an Egress reports about refusals.
type recorder struct {
	mu       sync.Mutex
	refusals []Refusal
	log      bytes.Buffer
}

func (rec *recorder) onRefusal(r Refusal) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.refusals = append(rec.refusals, r)
}

func (rec *recorder) Write(p []byte) (int, error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.log.Write(p)
}

// wire sets e's Logger and OnRefusal to rec.
func (rec *recorder) wire(e *Egress) {
	e.Logger = slog.New(slog.NewJSONHandler(rec, nil))
	e.OnRefusal = rec.onRefusal
}

// env holds the servers of one egress test: allowed (127.0.0.1, private
// in the test policy), forbidden (127.0.0.2, "public") and tls (127.0.0.1,
// https). allowed and forbidden listen on the same port, so a client that
// dialed a different address than the one it checked would reach the
// forbidden server rather than fail to connect.
type env struct {
	allowed, forbidden, tls *testServer
}

func newEnv(t *testing.T) env {
	allowed := startServer(t, "127.0.0.1:0", false)
	return env{
		allowed:   allowed,
		forbidden: startServer(t, "127.0.0.2:"+allowed.port(), false),
		tls:       startServer(t, "127.0.0.1:0", true),
	}
}

// client returns e's client, trusting the test TLS server's certificate.
func (v env) client(e *Egress) *http.Client {
	c := e.Client(10 * time.Second)
	c.Transport.(*http.Transport).TLSClientConfig = v.tls.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return c
}

func redirectTo(from *testServer, to string) string {
	return from.URL + "/redirect?to=" + url.QueryEscape(to)
}

// testPrivate makes 127.0.0.1 private and so 127.0.0.2 "public".
var testPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestClient(t *testing.T) {
	tests := []struct {
		name    string
		egress  Egress
		resolve map[string][][]string
		url     func(v env) string
		// wantReason is a substring of the refusal's reason; empty means
		// the request must succeed.
		wantReason string
		// Requests each server must have received.
		wantAllowed, wantForbidden, wantTLS int64
	}{
		{
			name:        "ok/private-destination",
			egress:      Egress{Private: testPrivate},
			url:         func(v env) string { return v.allowed.URL + "/ok" },
			wantAllowed: 1,
		},
		{
			name:       "fail/public-destination",
			egress:     Egress{Private: testPrivate},
			url:        func(v env) string { return v.forbidden.URL + "/ok" },
			wantReason: reasonPublic,
		},
		{
			name:          "ok/public-destination-when-enabled",
			egress:        Egress{PublicAccess: true, Private: testPrivate},
			url:           func(v env) string { return v.forbidden.URL + "/ok" },
			wantForbidden: 1,
		},
		{
			name:          "ok/allowlisted-host",
			egress:        Egress{Private: testPrivate, Allow: []string{"models.hub.test"}},
			resolve:       map[string][][]string{"models.hub.test": {{"127.0.0.2"}}},
			url:           func(v env) string { return "http://models.hub.test:" + v.forbidden.port() + "/ok" },
			wantForbidden: 1,
		},
		{
			name:          "ok/allowlisted-wildcard-host",
			egress:        Egress{Private: testPrivate, Allow: []string{"*.hub.test"}},
			resolve:       map[string][][]string{"cdn.eu.HUB.test.": {{"127.0.0.2"}}},
			url:           func(v env) string { return "http://cdn.eu.HUB.test.:" + v.forbidden.port() + "/ok" },
			wantForbidden: 1,
		},
		{
			name:       "fail/wildcard-does-not-match-its-apex",
			egress:     Egress{Private: testPrivate, Allow: []string{"*.hub.test"}},
			resolve:    map[string][][]string{"hub.test": {{"127.0.0.2"}}},
			url:        func(v env) string { return "http://hub.test:" + v.forbidden.port() + "/ok" },
			wantReason: reasonPublic,
		},
		{
			name:          "ok/allowlisted-cidr",
			egress:        Egress{Private: testPrivate, Allow: []string{"127.0.0.2/32"}},
			url:           func(v env) string { return v.forbidden.URL + "/ok" },
			wantForbidden: 1,
		},
		{
			name:       "fail/hostname-resolving-to-forbidden-address",
			egress:     Egress{Private: testPrivate},
			resolve:    map[string][][]string{"evil.test": {{"127.0.0.2"}}},
			url:        func(v env) string { return "http://evil.test:" + v.forbidden.port() + "/ok" },
			wantReason: reasonPublic,
		},
		{
			name:       "fail/one-of-several-addresses-forbidden",
			egress:     Egress{Private: testPrivate},
			resolve:    map[string][][]string{"mixed.test": {{"127.0.0.1", "127.0.0.2"}}},
			url:        func(v env) string { return "http://mixed.test:" + v.forbidden.port() + "/ok" },
			wantReason: reasonPublic,
		},
		{
			name:       "fail/ipv4-mapped-forbidden-address",
			egress:     Egress{Private: testPrivate},
			resolve:    map[string][][]string{"mapped.test": {{"::ffff:127.0.0.2"}}},
			url:        func(v env) string { return "http://mapped.test:" + v.forbidden.port() + "/ok" },
			wantReason: reasonPublic,
		},
		{
			name:        "ok/ipv4-mapped-private-address",
			egress:      Egress{Private: testPrivate},
			resolve:     map[string][][]string{"mapped.test": {{"::ffff:127.0.0.1"}}},
			url:         func(v env) string { return "http://mapped.test:" + v.allowed.port() + "/ok" },
			wantAllowed: 1,
		},
		{
			name:       "fail/unspecified-address",
			egress:     Egress{PublicAccess: true, Private: testPrivate, Allow: []string{"0.0.0.0/0", "::/0"}},
			url:        func(v env) string { return "http://0.0.0.0:" + v.allowed.port() + "/ok" },
			wantReason: reasonUnspecified,
		},
		{
			name:       "fail/unspecified-ipv6-address",
			egress:     Egress{PublicAccess: true, Allow: []string{"0.0.0.0/0", "::/0"}},
			url:        func(v env) string { return "http://[::]:" + v.allowed.port() + "/ok" },
			wantReason: reasonUnspecified,
		},
		{
			name:       "fail/hostname-resolving-to-unspecified-address",
			egress:     Egress{PublicAccess: true, Allow: []string{"zero.test"}},
			resolve:    map[string][][]string{"zero.test": {{"0.0.0.0"}}},
			url:        func(v env) string { return "http://zero.test:" + v.allowed.port() + "/ok" },
			wantReason: reasonUnspecified,
		},
		{
			name:       "fail/this-network-address",
			egress:     Egress{PublicAccess: true},
			url:        func(v env) string { return "http://0.1.2.3:" + v.allowed.port() + "/ok" },
			wantReason: reasonUnspecified,
		},
		{
			name:       "fail/multicast-address",
			egress:     Egress{PublicAccess: true, Allow: []string{"224.0.0.0/4"}},
			resolve:    map[string][][]string{"group.test": {{"224.0.0.1"}}},
			url:        func(v env) string { return "http://group.test:" + v.allowed.port() + "/ok" },
			wantReason: reasonMulticast,
		},
		{
			name:       "fail/broadcast-address",
			egress:     Egress{PublicAccess: true},
			url:        func(v env) string { return "http://255.255.255.255:" + v.allowed.port() + "/ok" },
			wantReason: reasonBroadcast,
		},
		{
			name:        "ok/redirect-within-policy",
			egress:      Egress{Private: testPrivate},
			url:         func(v env) string { return redirectTo(v.allowed, "/ok") },
			wantAllowed: 2,
		},
		{
			name:          "ok/redirect-to-allowlisted-host",
			egress:        Egress{Private: testPrivate, Allow: []string{"models.hub.test"}},
			resolve:       map[string][][]string{"models.hub.test": {{"127.0.0.2"}}},
			url:           func(v env) string { return redirectTo(v.allowed, "http://models.hub.test:"+v.forbidden.port()+"/ok") },
			wantAllowed:   1,
			wantForbidden: 1,
		},
		{
			name:        "fail/redirect-to-forbidden",
			egress:      Egress{Private: testPrivate},
			url:         func(v env) string { return redirectTo(v.allowed, v.forbidden.URL+"/ok?sig="+secret) },
			wantReason:  reasonPublic,
			wantAllowed: 1,
		},
		{
			name:        "fail/redirect-to-hostname-resolving-to-forbidden-address",
			egress:      Egress{Private: testPrivate},
			resolve:     map[string][][]string{"evil.test": {{"127.0.0.2"}}},
			url:         func(v env) string { return redirectTo(v.allowed, "http://evil.test:"+v.forbidden.port()+"/ok") },
			wantReason:  reasonPublic,
			wantAllowed: 1,
		},
		{
			name:        "fail/redirect-to-unspecified-address-when-enabled",
			egress:      Egress{PublicAccess: true},
			url:         func(v env) string { return redirectTo(v.allowed, "http://0.0.0.0:"+v.allowed.port()+"/ok") },
			wantReason:  reasonUnspecified,
			wantAllowed: 1,
		},
		{
			name:        "fail/redirect-to-other-scheme",
			egress:      Egress{PublicAccess: true},
			url:         func(v env) string { return redirectTo(v.allowed, "ftp://127.0.0.1/ok") },
			wantReason:  reasonScheme,
			wantAllowed: 1,
		},
		{
			name:       "fail/https-to-http-downgrade",
			egress:     Egress{Private: testPrivate},
			url:        func(v env) string { return redirectTo(v.tls, v.allowed.URL+"/ok") },
			wantReason: reasonDowngrade,
			wantTLS:    1,
		},
		{
			name:        "ok/http-to-https-upgrade",
			egress:      Egress{Private: testPrivate},
			url:         func(v env) string { return redirectTo(v.allowed, v.tls.URL+"/ok") },
			wantAllowed: 1,
			wantTLS:     1,
		},
		{
			name:        "ok/five-redirects",
			egress:      Egress{Private: testPrivate},
			url:         func(v env) string { return v.allowed.URL + "/hop/5" },
			wantAllowed: 6,
		},
		{
			name:        "fail/too-many-redirects",
			egress:      Egress{Private: testPrivate},
			url:         func(v env) string { return v.allowed.URL + "/hop/6" },
			wantReason:  "stopped after 5 redirects",
			wantAllowed: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t)
			var rec recorder
			e := tt.egress
			e.Resolver = newFakeResolver(tt.resolve)
			rec.wire(&e)

			u := tt.url(v)
			if strings.Contains(u, "?") {
				u += "&token=" + secret
			} else {
				u += "?token=" + secret
			}
			resp, err := v.client(&e).Get(u)
			if resp != nil {
				resp.Body.Close()
			}

			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status = %d, want 200", resp.StatusCode)
				}
				if len(rec.refusals) != 0 || rec.log.Len() != 0 {
					t.Errorf("refusals %v, log %q; want none", rec.refusals, rec.log.String())
				}
			} else {
				var ref *Refusal
				if !errors.As(err, &ref) {
					t.Fatalf("Get error = %v, want a *Refusal", err)
				}
				if !strings.Contains(ref.Reason, tt.wantReason) {
					t.Errorf("reason = %q, want it to contain %q", ref.Reason, tt.wantReason)
				}
				if len(rec.refusals) != 1 || rec.refusals[0] != *ref {
					t.Errorf("OnRefusal got %v, want exactly [%v]", rec.refusals, *ref)
				}
				if got := strings.Count(rec.log.String(), `"msg":"egress refused"`); got != 1 {
					t.Errorf("%d refusal log lines, want 1: %s", got, rec.log.String())
				}
				if strings.Contains(ref.Error(), secret) {
					t.Errorf("refusal %q holds the query string", ref.Error())
				}
			}
			if strings.Contains(rec.log.String(), secret) {
				t.Errorf("log holds the query string: %s", rec.log.String())
			}
			for _, s := range []struct {
				name string
				got  int64
				want int64
			}{
				{"allowed", v.allowed.hits.Load(), tt.wantAllowed},
				{"forbidden", v.forbidden.hits.Load(), tt.wantForbidden},
				{"tls", v.tls.hits.Load(), tt.wantTLS},
			} {
				if s.got != s.want {
					t.Errorf("%s server got %d requests, want %d", s.name, s.got, s.want)
				}
			}
		})
	}
}

// TestClientDNSRebinding uses a name that resolves to an allowed address
// first and to a forbidden one afterwards: the client resolves once per
// connection and dials the address it checked, so the forbidden server is
// never reached.
func TestClientDNSRebinding(t *testing.T) {
	v := newEnv(t)
	res := newFakeResolver(map[string][][]string{"rebind.test": {{"127.0.0.1"}, {"127.0.0.2"}}})
	var rec recorder
	e := Egress{Private: testPrivate, Resolver: res}
	rec.wire(&e)
	c := v.client(&e)
	c.Transport.(*http.Transport).DisableKeepAlives = true // a new dial for every request

	target := "http://rebind.test:" + v.allowed.port() + "/ok"
	resp, err := c.Get(target)
	if err != nil {
		t.Fatalf("first Get: %v", err)
	}
	resp.Body.Close()
	if got := res.lookups("rebind.test"); got != 1 {
		t.Errorf("first request looked the name up %d times, want 1 (a second lookup could rebind)", got)
	}
	if got := v.allowed.hits.Load(); got != 1 {
		t.Errorf("allowed server got %d requests, want 1", got)
	}

	// The name now resolves to the forbidden address: the next
	// connection must be refused, not made.
	resp, err = c.Get(target)
	if err == nil {
		resp.Body.Close()
	}
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Addr != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("second Get error = %v, want a refusal of 127.0.0.2", err)
	}
	if got := v.forbidden.hits.Load(); got != 0 {
		t.Errorf("forbidden server got %d requests, want 0", got)
	}
	if len(rec.refusals) != 1 {
		t.Errorf("OnRefusal called %d times, want 1", len(rec.refusals))
	}
}

func TestClientNeverUsesProxy(t *testing.T) {
	proxy := startServer(t, "127.0.0.1:0", false)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	target := startServer(t, "127.0.0.1:0", false)
	e := Egress{Private: testPrivate, Resolver: newFakeResolver(map[string][][]string{"model.test": {{"127.0.0.1"}}})}
	c := e.Client(10 * time.Second)
	if c.Transport.(*http.Transport).Proxy != nil {
		t.Fatal("Transport.Proxy is set")
	}
	resp, err := c.Get("http://model.test:" + target.port() + "/ok")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	resp.Body.Close()
	if got, want := proxy.hits.Load(), int64(0); got != want {
		t.Errorf("proxy got %d requests, want %d", got, want)
	}
	if got, want := target.hits.Load(), int64(1); got != want {
		t.Errorf("target got %d requests, want %d", got, want)
	}
}

func TestRefusalLoggedWithoutQueryString(t *testing.T) {
	forbidden := startServer(t, "127.0.0.2:0", false)
	var rec recorder
	e := Egress{Private: testPrivate}
	rec.wire(&e)
	_, err := e.Client(10 * time.Second).Get(forbidden.URL + "/models/x?api_key=" + secret + "&sig=" + secret)
	var ref *Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("Get error = %v, want a *Refusal", err)
	}
	want := Refusal{Host: "127.0.0.2", Port: forbidden.port(), Addr: netip.MustParseAddr("127.0.0.2"), Reason: reasonPublic}
	if *ref != want {
		t.Errorf("refusal = %+v, want %+v", *ref, want)
	}
	if len(rec.refusals) != 1 || rec.refusals[0] != want {
		t.Errorf("OnRefusal got %+v, want [%+v]", rec.refusals, want)
	}

	var line map[string]any
	if err := json.Unmarshal(rec.log.Bytes(), &line); err != nil {
		t.Fatalf("log is not one JSON line: %v\n%s", err, rec.log.String())
	}
	for k, v := range map[string]any{
		"level": "WARN", "msg": "egress refused",
		"host": "127.0.0.2", "port": forbidden.port(), "addr": "127.0.0.2", "reason": reasonPublic,
	} {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	for _, leak := range []string{secret, "api_key", "/models/x"} {
		if strings.Contains(rec.log.String(), leak) || strings.Contains(ref.Error(), leak) {
			t.Errorf("%q leaked: log %s, error %q", leak, rec.log.String(), ref.Error())
		}
	}
}

func TestRefusalError(t *testing.T) {
	tests := []struct {
		name string
		r    Refusal
		want string
	}{
		{"ok/name-and-address", Refusal{Host: "evil.test", Port: "443", Addr: netip.MustParseAddr("203.0.113.9"), Reason: "why"},
			"egress refused: evil.test:443 (203.0.113.9): why"},
		{"ok/address-literal", Refusal{Host: "203.0.113.9", Port: "80", Addr: netip.MustParseAddr("203.0.113.9"), Reason: "why"},
			"egress refused: 203.0.113.9:80: why"},
		{"ok/ipv6-literal", Refusal{Host: "2001:db8::1", Port: "80", Addr: netip.MustParseAddr("2001:db8::1"), Reason: "why"},
			"egress refused: [2001:db8::1]:80: why"},
		{"ok/before-resolution", Refusal{Host: "evil.test", Port: "80", Reason: "why"},
			"egress refused: evil.test:80: why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	private, err := ParsePrefixes(DefaultPrivateNetworks)
	if err != nil {
		t.Fatal(err)
	}
	disabled := Egress{Private: private, Allow: []string{"203.0.113.0/24", "2001:db8::1", "models.example.com", "*.hub.example"}}
	enabled := Egress{PublicAccess: true, Private: private, Allow: []string{"0.0.0.0/0", "::/0"}}
	tests := []struct {
		name       string
		e          Egress
		host, addr string
		wantReason string // empty: allowed
	}{
		{"ok/private", disabled, "db.internal", "10.1.2.3", ""},
		{"ok/private-ipv6", disabled, "", "fd00::1", ""},
		{"fail/zoned-link-local", disabled, "", "fe80::1%eth0", reasonMetadata},
		{"fail/metadata-disabled", disabled, "", "169.254.169.254", reasonMetadata},
		{"fail/metadata-public-access", enabled, "", "169.254.169.254", reasonMetadata},
		{"fail/metadata-by-allowlisted-name", Egress{Allow: []string{"metadata.google.internal"}}, "metadata.google.internal", "169.254.169.254", reasonMetadata},
		{"fail/aws-ipv6-metadata-in-ula", disabled, "", "fd00:ec2::254", reasonMetadata},
		{"fail/ipv4-mapped-metadata", enabled, "", "::ffff:169.254.169.254", reasonMetadata},
		{"ok/link-local-allowlisted-cidr", Egress{Allow: []string{"169.254.0.0/16"}}, "", "169.254.10.1", ""},
		{"fail/metadata-under-broad-cidr", Egress{Allow: []string{"169.0.0.0/8", "fd00::/8"}}, "", "169.254.169.254", reasonMetadata},
		{"fail/aws-metadata-under-ula-cidr", Egress{Allow: []string{"fd00::/8"}}, "", "fd00:ec2::254", reasonMetadata},
		{"ok/metadata-allowlisted-address", Egress{Allow: []string{"fd00:ec2::254"}}, "", "fd00:ec2::254", ""},
		{"ok/ipv4-mapped-private", disabled, "", "::ffff:192.168.1.1", ""},
		{"fail/public", disabled, "example.org", "8.8.8.8", reasonPublic},
		{"fail/public-ipv6", disabled, "", "2001:db8::2", reasonPublic},
		{"fail/ipv4-mapped-public", disabled, "", "::ffff:8.8.8.8", reasonPublic},
		{"fail/nat64-of-private", disabled, "", "64:ff9b::a00:1", reasonPublic},
		{"ok/allowlisted-cidr", disabled, "", "203.0.113.7", ""},
		{"ok/allowlisted-address", disabled, "", "2001:db8::1", ""},
		{"ok/allowlisted-name", disabled, "models.example.com", "8.8.8.8", ""},
		{"ok/allowlisted-name-any-case", disabled, "Models.Example.COM.", "8.8.8.8", ""},
		{"ok/allowlisted-suffix", disabled, "a.b.hub.example", "8.8.8.8", ""},
		{"fail/suffix-is-not-apex", disabled, "hub.example", "8.8.8.8", reasonPublic},
		{"fail/suffix-needs-a-dot", disabled, "evilhub.example", "8.8.8.8", reasonPublic},
		{"fail/name-is-not-a-suffix-pattern", disabled, "x.models.example.com", "8.8.8.8", reasonPublic},
		{"fail/address-literal-is-not-a-name", Egress{Allow: []string{"*.example.com"}}, "8.8.8.8", "8.8.8.8", reasonPublic},
		{"fail/kelvin-sign-is-not-k", Egress{Allow: []string{"k.example.com"}}, "\u212a.example.com", "8.8.8.8", reasonPublic},
		{"fail/no-private-networks-by-default", Egress{}, "", "10.0.0.1", reasonPublic},
		{"ok/public-when-enabled", enabled, "example.org", "8.8.8.8", ""},
		{"fail/unspecified-ipv4", enabled, "", "0.0.0.0", reasonUnspecified},
		{"fail/unspecified-ipv6", enabled, "", "::", reasonUnspecified},
		{"fail/ipv4-mapped-unspecified", enabled, "", "::ffff:0.0.0.0", reasonUnspecified},
		{"fail/this-network", enabled, "", "0.255.0.1", reasonUnspecified},
		{"fail/multicast-ipv4", enabled, "", "239.1.2.3", reasonMulticast},
		{"fail/multicast-ipv6", enabled, "", "ff02::1", reasonMulticast},
		{"fail/broadcast", enabled, "", "255.255.255.255", reasonBroadcast},
		{"fail/unspecified-allowlisted-name", Egress{PublicAccess: true, Allow: []string{"zero.test"}}, "zero.test", "0.0.0.0", reasonUnspecified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			err := tt.e.Check(tt.host, addr)
			if tt.wantReason == "" {
				if err != nil {
					t.Errorf("Check(%q, %s) = %v, want nil", tt.host, addr, err)
				}
				return
			}
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Reason != tt.wantReason || ref.Host != tt.host || ref.Addr != addr {
				t.Errorf("Check(%q, %s) = %v, want a refusal for %q", tt.host, addr, err, tt.wantReason)
			}
		})
	}

	t.Run("fail/invalid-address", func(t *testing.T) {
		if err := enabled.Check("", netip.Addr{}); err == nil {
			t.Error("Check of the zero Addr = nil, want a refusal")
		}
	})
	t.Run("ok/no-side-effects", func(t *testing.T) {
		var rec recorder
		e := Egress{}
		rec.wire(&e)
		if e.Check("", netip.MustParseAddr("8.8.8.8")) == nil {
			t.Fatal("Check = nil, want a refusal")
		}
		if len(rec.refusals) != 0 || rec.log.Len() != 0 {
			t.Errorf("Check logged %q and reported %v; want neither", rec.log.String(), rec.refusals)
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		ok    bool
	}{
		{"ok/empty", nil, true},
		{"ok/entries", []string{"10.0.0.0/8", " 203.0.113.9 ", "::1", "2001:db8::/32", "example.com", "*.example.com", "EXAMPLE.com.", "_svc.example.com"}, true},
		{"fail/bad-cidr", []string{"10.0.0.0/33"}, false},
		{"fail/bad-address-with-prefix", []string{"nonsense/8"}, false},
		{"fail/bare-star", []string{"*"}, false},
		{"fail/star-dot", []string{"*."}, false},
		{"fail/star-in-middle", []string{"a.*.example.com"}, false},
		{"fail/double-star", []string{"*.*.example.com"}, false},
		{"fail/star-without-dot", []string{"*example.com"}, false},
		{"fail/empty-label", []string{"a..example.com"}, false},
		{"fail/url-not-host", []string{"https://example.com"}, false},
		{"fail/host-with-port", []string{"example.com:443"}, false},
		{"fail/numeric-tld", []string{"127.1"}, false},
		{"fail/non-ascii", []string{"bücher.example"}, false},
		{"fail/empty-entry", []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Egress{Allow: tt.allow}).Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate(%q) = %v, want ok=%v", tt.allow, err, tt.ok)
			}
		})
	}
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "EXAMPLE.COM.", true},
		{"Example.com.", "example.com", true},
		{"example.com", "www.example.com", false},
		{"example.com", "example.co", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "badexample.com", false},
		{"*.example.com", "a.example.com.evil.test", false},
		{"*", "example.com", false},
		{"*.", "example.com", false},
		{"*.com", "example.com", true},
		{"a.*.com", "a.b.com", false},
		{"", "", false},
		{"example.com", "", false},
		{"*.0.1", "127.0.0.1", false},
		{"k.example.com", "\u212a.example.com", false},
	}
	for _, tt := range tests {
		if got := matchHost(tt.pattern, tt.host); got != tt.want {
			t.Errorf("matchHost(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func FuzzMatchHost(f *testing.F) {
	for _, s := range [][2]string{
		{"example.com", "example.com"}, {"*.example.com", "a.example.com"}, {"*.example.com", "example.com"},
		{"*", "x"}, {"*.", "."}, {"EXAMPLE.com.", "example.COM"}, {"*.a", "..a"}, {"k.x", "\u212a.x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, host string) {
		got := matchHost(pattern, host)
		if got != matchHost(asciiUpper(pattern), asciiUpper(host)) {
			t.Fatalf("matchHost(%q, %q) depends on ASCII case", pattern, host)
		}
		if !got {
			return
		}
		h := strings.ToLower(strings.TrimSuffix(host, "."))
		for _, c := range []byte(h) {
			if c >= 0x80 || c <= ' ' || c == '*' || c == '/' || c == ':' || c == '%' || c == '@' {
				t.Fatalf("matchHost(%q, %q) matched a host with byte %q", pattern, host, c)
			}
		}
		if h == "" || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
			t.Fatalf("matchHost(%q, %q) matched a host with an empty label", pattern, host)
		}
		if _, err := netip.ParseAddr(h); err == nil {
			t.Fatalf("matchHost(%q, %q) matched an address literal", pattern, host)
		}
		p := strings.ToLower(strings.TrimSuffix(pattern, "."))
		if suffix, wild := strings.CutPrefix(p, "*."); wild {
			if strings.Contains(suffix, "*") || !strings.HasSuffix(h, "."+suffix) || h == suffix {
				t.Fatalf("matchHost(%q, %q): host is not a proper subdomain of %q", pattern, host, suffix)
			}
		} else if strings.Contains(p, "*") || p != h {
			t.Fatalf("matchHost(%q, %q): exact pattern matched a different host", pattern, host)
		}
		// What matches through matchHost must also pass through Check.
		e := Egress{Allow: []string{pattern}}
		if err := e.Check(host, netip.MustParseAddr("8.8.8.8")); err != nil {
			t.Fatalf("matchHost(%q, %q) but Check refuses: %v", pattern, host, err)
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
