package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/config"
)

const e2eKey = "e2e-key-0123456789abcdef"

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type running struct {
	m      *Main
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func (r *running) url(path string) string { return "http://" + r.m.Addr() + path }

// stop cancels the server and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop")
	}
	r.m.Close()
}

// startMain opens and runs a Main on loopback port 0 with cfg's other
// settings.
func startMain(t *testing.T, cfg config.Config) *running {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.MetricsAddr == "" {
		cfg.MetricsAddr = "127.0.0.1:0"
	}
	if cfg.LogFormat == "" {
		cfg.LogFormat, cfg.LogLevel = "text", "info"
	}
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	r.m = &Main{Config: cfg, Stdout: r.stdout, Stderr: r.stderr, ShutdownTimeout: 10 * time.Second}
	if err := r.m.Open(context.Background()); err != nil {
		r.m.Close()
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.m.Run(ctx) }()
	waitReady(t, "http://"+r.m.Addr())
	return r
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", base)
}

func hourly(n int) string {
	var b strings.Builder
	b.WriteString(`{"granularity":"hourly","series":[`)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		v := 50 + 20*float64((i%24)/12) + float64(i%5)
		if i == n-1 {
			v = 500
		}
		fmt.Fprintf(&b, `{"timestamp":"%s","value":%g}`, t0.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), v)
	}
	b.WriteString("]}")
	return b.String()
}

func post(t *testing.T, url, key, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServeGeneratesKeysOnceAndServesWithThem(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data})
	out := r.stdout.String()
	var primary, secondary string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "primary:" {
			primary = f[1]
		}
		if len(f) == 2 && f[0] == "secondary:" {
			secondary = f[1]
		}
	}
	if len(primary) != 64 || len(secondary) != 64 || primary == secondary {
		t.Fatalf("generated keys not printed as two 64-hex keys; stdout:\n%s", out)
	}
	for _, k := range []string{primary, secondary} {
		if code, body := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), k, hourly(48)); code != 200 {
			t.Errorf("key works: status %d %s", code, body)
		}
	}
	if strings.Contains(r.stderr.String(), primary) || strings.Contains(r.stderr.String(), secondary) {
		t.Error("a key appears in the log")
	}
	r.stop(t)

	r = startMain(t, config.Config{Data: data})
	defer r.stop(t)
	if strings.Contains(r.stdout.String(), primary) || strings.Contains(r.stdout.String(), "Generated") {
		t.Errorf("second start printed keys again:\n%s", r.stdout.String())
	}
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), primary, hourly(48)); code != 200 {
		t.Errorf("stored key after restart: status %d", code)
	}
}

func TestKeysAreNeverStoredOrLoggedInPlaintext(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	post(t, r.url("/anomalydetector/v1.1/timeseries/entire/detect"), e2eKey, hourly(48))
	post(t, r.url("/anomalydetector/v1.1/timeseries/entire/detect"), "wrong-"+e2eKey, hourly(48))
	r.stop(t)
	st, err := os.Stat(data)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(e2eKey)) {
			t.Errorf("%s holds the API key in plaintext", e.Name())
		}
		if info, _ := e.Info(); info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, readable by others", e.Name(), info.Mode().Perm())
		}
	}
	if strings.Contains(r.stderr.String(), e2eKey) || strings.Contains(r.stdout.String(), e2eKey) {
		t.Error("the API key appears in the output")
	}
}

func TestAPIKeySources(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("from-file-0123456789\n"), 0o600)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantKey string
		wantErr string
	}{
		{name: "ok/env", env: map[string]string{"VIGIL_API_KEY": "from-env-0123456789"}, wantKey: "from-env-0123456789"},
		{name: "ok/file", env: map[string]string{"VIGIL_API_KEY_FILE": keyFile}, wantKey: "from-file-0123456789"},
		{name: "ok/container-argument-wins", env: map[string]string{"VIGIL_API_KEY": "from-env-0123456789"}, args: []string{"Eula=accept", "Billing=https://x.invalid", "ApiKey=from-arg-0123456789"}, wantKey: "from-arg-0123456789"},
		{name: "fail/too-short", env: map[string]string{"VIGIL_API_KEY": "short"}, wantErr: "16 to 128"},
		{name: "fail/both-env-and-file", env: map[string]string{"VIGIL_API_KEY": "from-env-0123456789", "VIGIL_API_KEY_FILE": keyFile}, wantErr: "not both"},
		{name: "fail/unknown-argument", args: []string{"Foo=bar"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newServeCmd(io.Discard, io.Discard, func(k string) string { return tt.env[k] })
			cfg := config.Default()
			stderr := &bytes.Buffer{}
			err := applyEnv(cmd, &cfg, func(k string) string { return tt.env[k] })
			if err == nil {
				err = applyContainerArgs(&cfg, tt.args, stderr)
			}
			if err == nil {
				err = cfg.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.APIKey != tt.wantKey {
				t.Errorf("key = %q, want %q", cfg.APIKey, tt.wantKey)
			}
			if len(tt.args) > 1 && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("Eula/Billing should give one log line, got %q", stderr.String())
			}
		})
	}
}

func TestConfiguredKeyReplacesThePrimaryAtOnce(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	r.stop(t)
	r = startMain(t, config.Config{Data: data, APIKey: "another-key-0123456789", APIKeySource: "test"})
	defer r.stop(t)
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 401 {
		t.Errorf("old primary key: status %d, want 401", code)
	}
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), "another-key-0123456789", hourly(48)); code != 200 {
		t.Errorf("new primary key: status %d, want 200", code)
	}
}

func TestRefusesPlainHTTPOffLoopback(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Config
		wantErr bool
	}{
		{"fail/all-interfaces", config.Config{Addr: "0.0.0.0:0"}, true},
		{"fail/empty-host", config.Config{Addr: ":0"}, true},
		{"ok/insecure-allowed", config.Config{Addr: "0.0.0.0:0", AllowInsecureHTTP: true}, false},
		{"ok/loopback", config.Config{Addr: "127.0.0.1:0"}, false},
		{"ok/localhost", config.Config{Addr: "localhost:0"}, false},
		{"ok/ipv6-loopback", config.Config{Addr: "[::1]:0"}, false},
		{"ok/tls", config.Config{Addr: "0.0.0.0:0", TLSCert: "c.pem", TLSKey: "k.pem"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.Addr, c.AllowInsecureHTTP, c.TLSCert, c.TLSKey = tt.cfg.Addr, tt.cfg.AllowInsecureHTTP, tt.cfg.TLSCert, tt.cfg.TLSKey
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "--allow-insecure-http") {
				t.Errorf("error does not say what to do: %v", err)
			}
		})
	}
}

func TestMetricsOnlyOnTheirOwnListener(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir(), APIKey: e2eKey, APIKeySource: "test"})
	defer r.stop(t)
	post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48))
	resp, err := http.Get(r.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("public /metrics = %d, want 404", resp.StatusCode)
	}
	resp, err = http.Get("http://" + r.m.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"vigil_http_requests_total", "vigil_detection_duration_seconds_bucket", "vigil_http_request_duration_seconds_bucket"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestServes64ConcurrentRequests(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir(), APIKey: e2eKey, APIKeySource: "test"})
	defer r.stop(t)
	body := hourly(673)
	var wg sync.WaitGroup
	codes := make([]int, 64)
	start := make(chan struct{})
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			codes[i], _ = post(t, r.url("/anomalydetector/v1.1/timeseries/entire/detect"), e2eKey, body)
		}(i)
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("request %d: status %d", i, c)
		}
	}
}

func TestIdleConnectionsDoNotBlockOthers(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir(), APIKey: e2eKey, APIKeySource: "test"})
	defer r.stop(t)
	var conns []net.Conn
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", r.m.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("POST /anomalydetector/v1.1/timeseries/last/detect HTTP/1.1\r\nHost: x\r\n")) // headers never finished
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest("POST", r.url("/anomalydetector/v1.1/timeseries/last/detect"), strings.NewReader(hourly(48)))
	req.Header.Set("Ocp-Apim-Subscription-Key", e2eKey)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a normal request behind 200 stalled connections: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestGracefulShutdownFinishesInFlightRequests sends a request whose body
// arrives slowly, stops the server while it is in flight, and expects the
// answer to arrive complete.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir(), APIKey: e2eKey, APIKeySource: "test"})
	body := hourly(200)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", r.url("/anomalydetector/v1.1/timeseries/entire/detect"), pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Ocp-Apim-Subscription-Key", e2eKey)
	type result struct {
		code int
		body []byte
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{resp.StatusCode, b, err}
	}()
	pw.Write([]byte(body[:len(body)/2]))
	time.Sleep(200 * time.Millisecond)
	r.cancel() // SIGTERM's effect: the context ends
	time.Sleep(300 * time.Millisecond)
	if resp, err := http.Get(r.url("/ready")); err == nil {
		resp.Body.Close()
		t.Errorf("new connections still accepted during shutdown (/ready = %d)", resp.StatusCode)
	}
	pw.Write([]byte(body[len(body)/2:]))
	pw.Close()
	got := <-res
	if got.err != nil || got.code != 200 || !json.Valid(got.body) {
		t.Fatalf("in-flight request: code %d err %v body %.200s", got.code, got.err, got.body)
	}
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.m.Close()
}

func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	os.Rename(certFile+".tmp", certFile)
	os.Rename(keyFile+".tmp", keyFile)
	return certFile, keyFile
}

func servedCN(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSCertificateReloadsWhenFilesChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	r.m = &Main{Config: config.Config{Addr: "127.0.0.1:0", MetricsAddr: "off", Data: t.TempDir(), TLSCert: certFile, TLSKey: keyFile,
		LogFormat: "text", LogLevel: "info", APIKey: e2eKey, APIKeySource: "test"}, Stdout: r.stdout, Stderr: r.stderr}
	if err := r.m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.m.Run(ctx) }()
	defer r.stop(t)
	time.Sleep(100 * time.Millisecond)
	if cn := servedCN(t, r.m.Addr()); cn != "first" {
		t.Fatalf("served CN %q, want first", cn)
	}
	time.Sleep(1100 * time.Millisecond)
	writeCert(t, dir, "second")
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(certFile, future, future)
	os.Chtimes(keyFile, future, future)
	deadline := time.Now().Add(5 * time.Second)
	for servedCN(t, r.m.Addr()) != "second" {
		if time.Now().After(deadline) {
			t.Fatal("certificate not reloaded within 5 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBinaryServesAndStopsOnSIGTERM drives the real static binary with the
// Azure container's argument form and stops it with SIGTERM.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "ApiKey="+e2eKey, "Eula=accept", "Billing=https://example.invalid")
	cmd.Env = append(os.Environ(), "VIGIL_ADDR="+addr, "VIGIL_DATA="+t.TempDir(), "VIGIL_METRICS_ADDR=off")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "http://"+addr)
	if code, body := post(t, "http://"+addr+"/anomalydetector/v1.0/timeseries/entire/detect", e2eKey, hourly(48)); code != 200 {
		t.Errorf("status %d %s", code, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not stop on SIGTERM")
	}
	if !strings.Contains(stderr.String(), "ignoring the Azure container settings Eula, Billing") {
		t.Errorf("no log line for Eula/Billing:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), e2eKey) {
		t.Error("the key appears in the log")
	}
}

// api calls the management API of r with its admin token.
func api(t *testing.T, r *running, method, path, body string) (int, []byte) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(r.m.Config.Data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, r.url("/api/v1"+path), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// clientFrom returns an HTTP client whose connections leave from the given
// loopback address.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func TestPublicNetworkAccessDisabledByLoopbackSource(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir(), PrivateNetworks: []string{"127.0.0.2/32", "127.0.0.1/32"}})
	defer r.stop(t)
	if code, b := api(t, r, "POST", "/endpoints", `{"name":"iso-ep","public_network_access":"disabled"}`); code != 201 {
		t.Fatalf("create endpoint: %d %s", code, b)
	}
	if code, b := api(t, r, "POST", "/endpoints/iso-ep/deployments?all_traffic=true", `{"name":"blue"}`); code != 201 {
		t.Fatalf("create deployment: %d %s", code, b)
	}
	_, b := api(t, r, "POST", "/endpoints/iso-ep/listKeys", "")
	var keys struct{ PrimaryKey string }
	json.Unmarshal(b, &keys)
	call := func(from string) int {
		req, _ := http.NewRequest("POST", r.url("/endpoints/iso-ep/anomalydetector/v1.1/timeseries/last/detect"), strings.NewReader(hourly(48)))
		req.Header.Set("Ocp-Apim-Subscription-Key", keys.PrimaryKey)
		req.Header.Set("X-Forwarded-For", "127.0.0.2") // not believed: no trusted proxy
		resp, err := clientFrom(from).Do(req)
		if err != nil {
			t.Fatalf("from %s: %v", from, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		from string
		want int
	}{{"127.0.0.2", 200}, {"127.0.0.3", 403}, {"127.0.0.4", 403}}
	for _, tt := range tests {
		if got := call(tt.from); got != tt.want {
			t.Errorf("scoring from %s: status %d, want %d", tt.from, got, tt.want)
		}
	}
	// Management still works for an authorised principal from anywhere.
	req, _ := http.NewRequest("GET", r.url("/api/v1/endpoints/iso-ep"), nil)
	tok, _ := os.ReadFile(filepath.Join(r.m.Config.Data, "admin-token"))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := clientFrom("127.0.0.3").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("management from a public source: %d, want 200", resp.StatusCode)
	}
}

// apiAs calls the management API with the given bearer token.
func apiAs(t *testing.T, r *running, token, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, r.url("/api/v1"+path), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAccessTokensRolesAndAdminRotation(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir()})
	defer r.stop(t)
	if code, b := api(t, r, "POST", "/endpoints", `{"name":"sales"}`); code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	code, b := api(t, r, "POST", "/tokens", `{"name":"ci","expires":"1h"}`)
	if code != 201 {
		t.Fatalf("token create: %d %s", code, b)
	}
	var tok struct{ Name, Principal, Token, ExpiresAt string }
	json.Unmarshal(b, &tok)
	if !strings.HasPrefix(tok.Principal, "token:") || tok.Token == "" || tok.ExpiresAt == "" {
		t.Fatalf("token create answer: %s", b)
	}
	_, list := api(t, r, "GET", "/tokens", "")
	if bytes.Contains(list, []byte(tok.Token)) || !bytes.Contains(list, []byte(tok.Principal)) {
		t.Errorf("token list shows the token, or lacks the principal: %s", list)
	}
	steps := []struct {
		name         string
		assign       string // role@scope to assign before the call
		method, path string
		want         int
		wantMissing  string
	}{
		{"fail/no-role-yet", "", "GET", "/endpoints", 403, "endpoints/read"},
		{"ok/reader", "Reader@/", "GET", "/endpoints", 200, ""},
		{"fail/reader-cannot-list-keys", "", "POST", "/endpoints/sales/listKeys", 403, "endpoints/listKeys/action"},
		{"fail/reader-cannot-write", "", "PATCH", "/endpoints/sales", 403, "endpoints/write"},
		{"fail/reader-cannot-read-audit", "", "GET", "/audit", 403, "audit/read"},
		{"ok/key-manager-at-endpoint", "Key Manager@/endpoints/sales", "POST", "/endpoints/sales/listKeys", 200, ""},
		{"fail/key-manager-outside-scope", "", "POST", "/endpoints/default/listKeys", 403, "endpoints/listKeys/action"},
		{"fail/cannot-assign-roles", "", "POST", "/role-assignments", 403, "roles/write"},
	}
	for _, st := range steps {
		if st.assign != "" {
			role, scope, _ := strings.Cut(st.assign, "@")
			body := fmt.Sprintf(`{"principal":%q,"role":%q,"scope":%q}`, tok.Principal, role, scope)
			if code, b := api(t, r, "POST", "/role-assignments", body); code != 201 {
				t.Fatalf("%s: assign: %d %s", st.name, code, b)
			}
		}
		body := ""
		if st.method == "PATCH" {
			body = `{"description":"x"}`
		}
		if st.method == "POST" && st.path == "/role-assignments" {
			body = fmt.Sprintf(`{"principal":%q,"role":"Owner","scope":"/"}`, tok.Principal)
		}
		code, b := apiAs(t, r, tok.Token, st.method, st.path, body)
		if code != st.want {
			t.Errorf("%s: %s %s = %d %s, want %d", st.name, st.method, st.path, code, b, st.want)
			continue
		}
		if st.want == 403 {
			var e struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(b, &e)
			if e.Error.Message != "missing permission "+st.wantMissing {
				t.Errorf("%s: 403 message %q, want it to name %s and nothing more", st.name, e.Error.Message, st.wantMissing)
			}
		}
	}
	if code, _ := api(t, r, "DELETE", "/tokens/ci", ""); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := apiAs(t, r, tok.Token, "GET", "/endpoints", ""); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}
	old, _ := os.ReadFile(filepath.Join(r.m.Config.Data, "admin-token"))
	code, b = api(t, r, "POST", "/admin-token/rotate", "")
	var rot struct{ Token string }
	json.Unmarshal(b, &rot)
	if code != 200 || rot.Token == "" {
		t.Fatalf("rotate: %d %s", code, b)
	}
	if code, _ := apiAs(t, r, strings.TrimSpace(string(old)), "GET", "/endpoints", ""); code != 401 {
		t.Errorf("old admin token after rotation: %d, want 401", code)
	}
	if code, _ := api(t, r, "GET", "/endpoints", ""); code != 200 {
		t.Errorf("new admin token from the rewritten file: %d, want 200", code)
	}
	_, audit := api(t, r, "GET", "/audit?action=endpoints/listKeys/action", "")
	if !bytes.Contains(audit, []byte(`"outcome":"denied"`)) || !bytes.Contains(audit, []byte(tok.Principal)) {
		t.Errorf("denied listKeys not in the audit log: %s", audit)
	}
	_, v := api(t, r, "GET", "/audit/verify", "")
	if !bytes.Contains(v, []byte(`"ok":true`)) {
		t.Errorf("audit verify: %s", v)
	}
	if bytes.Contains(audit, []byte(tok.Token)) || bytes.Contains(audit, []byte(rot.Token)) {
		t.Error("a token appears in the audit log")
	}
}
