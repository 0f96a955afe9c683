package httpbench

// In-process benchmarks of one last-detect request on 100 hourly points,
// the request bench/http/run.sh sends with wrk. They build the server as
// cmd/vigil's Main.Open does (data directory, master key, SQLite store,
// keyring, data plane with the default key and deployment, httpapi.Server
// with metrics and an info-level text logger) and split the request into its parts, to show where the time goes:
//
//	go test -run '^$' -bench . -benchmem ./bench/http
//	go test -run '^$' -bench 'LastDetect100$' -cpuprofile cpu.out ./bench/http
//	go tool pprof -top cpu.out

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/adapi"
	"github.com/vigilhq/vigil/internal/anomaly"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/httpapi"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/openapi"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

const (
	benchKey  = "bench-0123456789abcdef0123456789abcdef"
	benchPath = "/anomalydetector/v1.1/timeseries/last/detect"
)

// body returns a request like run.sh's: 100 hourly points from
// 2026-01-01T00:00:00Z, a daily cycle plus noise, a spike on the last point.
func body() []byte {
	rng := rand.New(rand.NewPCG(2026, 1))
	var b bytes.Buffer
	b.WriteString(`{"series":[`)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 100
	for i := range n {
		v := 1000 + 250*math.Sin(2*math.Pi*float64(i-6)/24) + 60*math.Sin(4*math.Pi*float64(i)/24) +
			(rng.Float64()+rng.Float64()+rng.Float64()-1.5)*40
		if i == n-1 {
			v += 900
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"timestamp":%q,"value":%.2f}`, start.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), v)
	}
	b.WriteString(`],"granularity":"hourly"}`)
	return b.Bytes()
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f as the benchmark's body and reports, besides ns/op, the
// process's CPU time per op (cpu-ns/op, GC included), which is steadier
// than wall time on a machine shared with other work.
func loop(b *testing.B, f func()) {
	b.Helper()
	n := 0
	start := cpuTime()
	for b.Loop() {
		f()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}

// setup holds a server built the way Main.Open builds it.
type setup struct {
	plane  *score.Plane
	server *httpapi.Server
}

// newSetup mirrors cmd/vigil's Main.Open (and its bootstrap of the default
// deployment) minus the listeners and the admin token; keep it in step.
func newSetup(b *testing.B, logger *slog.Logger, metrics bool) *setup {
	b.Helper()
	ctx := context.Background()
	cfg := config.Default()
	dir := b.TempDir()
	kk, err := kek.LoadOrCreate(filepath.Join(dir, "master.key"), true)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ring, dkID, err := control.OpenKeyring(ctx, db, kk)
	if err != nil {
		b.Fatal(err)
	}
	plane := score.NewPlane(ring, db)
	svc := &control.Service{Store: db, Ring: ring, DataKeyID: dkID, Changed: plane.Reload}
	keys := &control.Keys{Store: db, Ring: ring, DataKeyID: dkID}
	if err := keys.Set(ctx, vigil.DefaultEndpoint, vigil.PrimaryKey, benchKey); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateDeployment(ctx, vigil.Deployment{
		Name:         vigil.DefaultEndpoint,
		EndpointName: vigil.DefaultEndpoint,
		Model:        vigil.BuiltinAnomalyDetector,
		RequestSettings: vigil.RequestSettings{
			RequestTimeoutMS:                 60000,
			MaxConcurrentRequestsPerInstance: 256,
		},
	}, true); err != nil {
		b.Fatal(err)
	}
	if err := plane.Reload(ctx); err != nil {
		b.Fatal(err)
	}
	inbound, err := netpolicy.NewInbound(cfg.PrivateNetworks, cfg.TrustedProxies)
	if err != nil {
		b.Fatal(err)
	}
	srv := &httpapi.Server{Inbound: inbound, Logger: logger, Plane: plane, Control: svc, Logs: plane, OpenAPI: openapi.JSON()}
	if metrics {
		srv.Metrics = httpapi.NewMetrics()
	}
	srv.SetReady(true)
	return &setup{plane: plane, server: srv}
}

// infoLogger is the logger `vigil serve` makes by default (text, info),
// writing to io.Discard: formatting is paid, the write is not.
func infoLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// serveOne sends one request through h and fails unless it answers 200.
func serveOne(b *testing.B, h http.Handler, data []byte) {
	r := httptest.NewRequest(http.MethodPost, benchPath, bytes.NewReader(data))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Ocp-Apim-Subscription-Key", benchKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkLastDetect100 is the whole public handler, as vigil serve runs
// it (metrics on, info-level text log to io.Discard).
func BenchmarkLastDetect100(b *testing.B) {
	data := body()
	h := newSetup(b, infoLogger(), true).server.Handler()
	loop(b, func() {
		serveOne(b, h, data)
	})
}

// BenchmarkLastDetect100Variants is the whole handler without the request
// log or without metrics, to price them.
func BenchmarkLastDetect100Variants(b *testing.B) {
	data := body()
	for _, c := range []struct {
		name    string
		logger  *slog.Logger
		metrics bool
	}{
		{"full", infoLogger(), true},
		{"nolog", slog.New(slog.DiscardHandler), true},
		{"nometrics", infoLogger(), false},
		{"bare", slog.New(slog.DiscardHandler), false},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := newSetup(b, c.logger, c.metrics).server.Handler()
			loop(b, func() {
				serveOne(b, h, data)
			})
		})
	}
}

// baselineRequest is what bench/http/baseline decodes.
type baselineRequest struct {
	Series []struct {
		Timestamp string  `json:"timestamp"`
		Value     float64 `json:"value"`
	} `json:"series"`
	Granularity      string   `json:"granularity"`
	CustomInterval   *int     `json:"customInterval,omitempty"`
	Period           *int     `json:"period,omitempty"`
	MaxAnomalyRatio  *float64 `json:"maxAnomalyRatio,omitempty"`
	Sensitivity      *int     `json:"sensitivity,omitempty"`
	ImputeMode       string   `json:"imputeMode,omitempty"`
	ImputeFixedValue *float64 `json:"imputeFixedValue,omitempty"`
}

// BenchmarkLastDetect100Parts times the steps of one request on their own.
func BenchmarkLastDetect100Parts(b *testing.B) {
	data := body()
	s := newSetup(b, infoLogger(), true)
	b.Run("baseline-decode", func(b *testing.B) {
		loop(b, func() {
			var r baselineRequest
			if err := json.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("authenticate", func(b *testing.B) {
		loop(b, func() {
			if _, err := s.plane.Authenticate(vigil.DefaultEndpoint, benchKey); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode", func(b *testing.B) {
		loop(b, func() {
			if _, err := adapi.Decode(adapi.V11, adapi.Last, data); err != nil {
				b.Fatal(err)
			}
		})
	})
	req, err := adapi.Decode(adapi.V11, adapi.Last, data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("detect+encode", func(b *testing.B) {
		loop(b, func() {
			if _, err := req.Detect(); err != nil {
				b.Fatal(err)
			}
		})
	})
	opt := anomaly.Options{Sensitivity: adapi.DefaultSensitivity, MaxAnomalyRatio: adapi.DefaultMaxAnomalyRatio, Style: anomaly.StyleV11}
	b.Run("anomaly.DetectLast", func(b *testing.B) {
		loop(b, func() {
			if _, err := anomaly.DetectLast(req.Values, opt); err != nil {
				b.Fatal(err)
			}
		})
	})
	h := s.server.Handler()
	b.Run("middleware-healthz", func(b *testing.B) {
		// The middleware alone (request id, headers, metrics, log line):
		// a GET /healthz.
		loop(b, func() {
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ok") {
				b.Fatalf("status %d", w.Code)
			}
		})
	})
}

// plaintextPlane is the data plane as it would be if keys were kept in
// plaintext: the presented key is compared with the stored one directly,
// with no keyed digest. It exists only to price Vigil's key protection.
type plaintextPlane struct{ *score.Plane }

func (p plaintextPlane) Authenticate(endpoint, presented string) (string, error) {
	if subtle.ConstantTimeCompare([]byte(presented), []byte(benchKey)) == 1 {
		return "key:primary", nil
	}
	return "", &score.AuthError{Reason: score.ReasonUnknownKey}
}

// BenchmarkEncryptionOverhead prices encryption at rest on the scoring
// path: the same request through the real handler (keys looked up by their
// HMAC digest; sealed keys never opened on this path) and through one that
// compares plaintext keys, alternated within one run. It reports each
// handler's time per request and the throughput ratio sealed/plaintext
// (1.0 means no cost).
func BenchmarkEncryptionOverhead(b *testing.B) {
	data := body()
	st := newSetup(b, infoLogger(), true)
	sealed := st.server.Handler()
	plainSrv := &httpapi.Server{Inbound: st.server.Inbound, Logger: infoLogger(), Plane: plaintextPlane{st.plane},
		Logs: st.plane, OpenAPI: openapi.JSON(), Metrics: httpapi.NewMetrics()}
	plainSrv.SetReady(true)
	plain := plainSrv.Handler()
	var tSealed, tPlain time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		serveOne(b, sealed, data)
		t1 := time.Now()
		serveOne(b, plain, data)
		tSealed += t1.Sub(t0)
		tPlain += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tSealed.Nanoseconds())/n, "sealed-ns/req")
	b.ReportMetric(float64(tPlain.Nanoseconds())/n, "plaintext-ns/req")
	b.ReportMetric(float64(tPlain)/float64(tSealed), "throughput-ratio")
}
