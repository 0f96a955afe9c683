package httpapi

import (
	"bytes"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/adapi"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/vigil"
)

// onePlane routes every call to one deployment.
type onePlane struct {
	fakeAuth
	dep *score.Deployment
}

func (p onePlane) Route(endpoint, pin string) (*score.Deployment, *score.Deployment, error) {
	return p.dep, nil, nil
}

func TestDeploymentConcurrencyAndTimeout(t *testing.T) {
	dep := score.NewDeployment(vigil.Deployment{Name: "small", InstanceCount: 1,
		RequestSettings: vigil.RequestSettings{RequestTimeoutMS: 200, MaxConcurrentRequestsPerInstance: 1}})
	release := make(chan struct{})
	var mu sync.Mutex
	block := true
	s := &Server{Plane: onePlane{dep: dep}}
	s.detectFn = func(r *adapi.Request) ([]byte, error) {
		mu.Lock()
		b := block
		mu.Unlock()
		if b {
			<-release
		}
		return r.Detect()
	}
	h := s.Handler()
	s.SetReady(true)
	call := func() *httptest.ResponseRecorder {
		return do(h, "POST", "/anomalydetector/v1.1/timeseries/last/detect", dailySeries(30), keyed())
	}

	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- call() }()
	time.Sleep(50 * time.Millisecond) // the first call holds the only slot
	second := call()
	if second.Code != 429 || second.Header().Get("Retry-After") == "" {
		t.Errorf("second call while the slot is taken: %d %s (Retry-After %q), want 429", second.Code, second.Body, second.Header().Get("Retry-After"))
	}
	got := <-first // blocked past request_timeout_ms
	if got.Code != 504 || got.Header().Get("x-ms-error-code") != "Timeout" || got.Header().Get("azureml-model-deployment") != "small" {
		t.Errorf("call over the timeout: %d %s %v, want 504 Timeout from small", got.Code, got.Body, got.Header())
	}
	// The timed-out detection still holds its slot until it finishes.
	if again := call(); again.Code != 429 {
		t.Errorf("while the timed-out detection runs: %d, want 429", again.Code)
	}
	mu.Lock()
	block = false
	mu.Unlock()
	close(release)
	time.Sleep(50 * time.Millisecond)
	if ok := call(); ok.Code != 200 || ok.Header().Get("azureml-model-deployment") != "small" {
		t.Errorf("after the slot is free: %d %s", ok.Code, ok.Body)
	}
	log := dep.Log.Last(10)
	statuses := map[int]int{}
	for _, e := range log {
		statuses[e.Status]++
		if bytes.Contains([]byte(e.Caller), []byte(testKey)) {
			t.Error("a key in the request log")
		}
	}
	if statuses[429] != 2 || statuses[504] != 1 || statuses[200] != 1 {
		t.Errorf("request log statuses %v, want two 429, one 504, one 200", statuses)
	}
}
