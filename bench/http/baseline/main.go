// Command baseline is the yardstick of Vigil's HTTP benchmark: a bare
// net/http server whose one handler reads the request body, decodes it with
// encoding/json into a struct shaped like the Anomaly Detector's univariate
// request, and writes a small fixed JSON answer. It does no authentication,
// no validation, no detection and no logging, so the ratio of Vigil's
// throughput to this server's is the share of a "do-nothing" JSON service
// that Vigil keeps. bench/http/run.sh starts it; to run it by hand:
//
//	go run ./bench/http/baseline -addr 127.0.0.1:8081
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// point is one element of the request's series.
type point struct {
	Timestamp string  `json:"timestamp"`
	Value     float64 `json:"value"`
}

// request mirrors UnivariateDetectionOptions (the spec's §2.1).
type request struct {
	Series           []point  `json:"series"`
	Granularity      string   `json:"granularity"`
	CustomInterval   *int     `json:"customInterval,omitempty"`
	Period           *int     `json:"period,omitempty"`
	MaxAnomalyRatio  *float64 `json:"maxAnomalyRatio,omitempty"`
	Sensitivity      *int     `json:"sensitivity,omitempty"`
	ImputeMode       string   `json:"imputeMode,omitempty"`
	ImputeFixedValue *float64 `json:"imputeFixedValue,omitempty"`
}

// answer is a fixed response about the size of a last-detect result.
const answer = `{"expectedValue":0,"isAnomaly":false,"isNegativeAnomaly":false,"isPositiveAnomaly":false,"lowerMargin":0,"period":0,"severity":0,"suggestedWindow":13,"upperMargin":0}`

// maxBody matches Vigil's request body limit (4 MiB).
const maxBody = 4 << 20

func handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, `{"error":"use POST"}`, http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, `{"error":"body"}`, http.StatusBadRequest)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil || len(req.Series) == 0 {
		http.Error(w, `{"error":"json"}`, http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(answer)))
	io.WriteString(w, answer)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address, host:port")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	// The same timeouts as Vigil's listeners (internal/httpapi/listen.go).
	srv := &http.Server{
		Handler:           http.HandlerFunc(handle),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Fatal(srv.Serve(ln))
}
