package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildVigil builds the static binary once per test run.
func buildVigil(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "vigil")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// cliRunner runs the real binary's client commands against one server.
type cliRunner struct {
	t         *testing.T
	bin, url  string
	data, dir string
}

func (c *cliRunner) run(args ...string) (string, string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "VIGIL_URL="+c.url, "VIGIL_DATA="+c.data, "VIGIL_TOKEN=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = nil
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (c *cliRunner) must(args ...string) string {
	c.t.Helper()
	out, errb, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("vigil %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errb)
	}
	return out
}

// TestBlueGreenRolloutWithTheCLI drives the real binary end to end: an
// endpoint from a real Azure ML endpoint.yml, two deployments, a 90/10
// split checked over 1,000 calls, pinning, 10 % mirroring, a primary-key
// rotation while a client keeps calling with the secondary key, all traffic
// moved back, and everything deleted.
func TestBlueGreenRolloutWithTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real binary")
	}
	bin := buildVigil(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--metrics-addr", "off", "--log-level", "warn")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	url := "http://" + addr
	waitReady(t, url)
	wd, _ := os.Getwd()
	c := &cliRunner{t: t, bin: bin, url: url, data: data, dir: filepath.Join(wd, "testdata", "azure")}

	// Endpoint from Azure's file; Azure-only keys are warned about.
	_, warn, err := c.run("endpoint", "create", "-f", "endpoint.yml")
	if err != nil || !strings.Contains(warn, "identity is an Azure-only setting") {
		t.Fatalf("endpoint create: %v %s", err, warn)
	}
	const ep = "plant-anomalies"
	c.must("deployment", "create", "-f", "deployment.yml", "--set", "model=builtin:anomaly-detector", "--set", "name=blue",
		"--set", "request_settings.max_concurrent_requests_per_instance=64", "--all-traffic")
	c.must("deployment", "create", "-f", "green-deployment.yml", "--set", "request_settings.max_concurrent_requests_per_instance=64")
	c.must("endpoint", "update", "-n", ep, "--traffic", "blue=90 green=10")

	var creds struct{ PrimaryKey, SecondaryKey string }
	if err := json.Unmarshal([]byte(c.must("endpoint", "get-credentials", "-n", ep, "-o", "json")), &creds); err != nil || creds.PrimaryKey == "" {
		t.Fatalf("get-credentials: %v", err)
	}
	body := hourly(100)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	score := func(key, pin string) (int, string) {
		req, _ := http.NewRequest("POST", url+"/endpoints/"+ep+"/score", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if pin != "" {
			req.Header.Set("azureml-model-deployment", pin)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, ""
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("azureml-model-deployment")
	}
	// callMany scores n times from 8 clients and counts answers by deployment.
	callMany := func(n int, key, pin string) (map[string]int, int) {
		var mu sync.Mutex
		served := map[string]int{}
		failed := 0
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					code, dep := score(key, pin)
					mu.Lock()
					if code == 200 {
						served[dep]++
					} else {
						failed++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return served, failed
	}

	// 90/10 split over 1,000 calls: green's share is binomial (sd 9.5).
	served, failed := callMany(1000, creds.PrimaryKey, "")
	t.Logf("split over 1000 calls: blue %d, green %d, failed %d (expected 900/100)", served["blue"], served["green"], failed)
	if failed != 0 || served["blue"]+served["green"] != 1000 || served["green"] < 62 || served["green"] > 138 {
		t.Fatalf("split blue %d green %d failed %d: outside 4 standard deviations of 90/10", served["blue"], served["green"], failed)
	}

	// Pinning reaches a deployment whatever the split, also one at 0 %.
	c.must("endpoint", "update", "-n", ep, "--traffic", "blue=100 green=0")
	if pinned, failed := callMany(50, creds.PrimaryKey, "green"); pinned["green"] != 50 || failed != 0 {
		t.Fatalf("pinned calls: %v, failed %d", pinned, failed)
	}

	// Mirror 10 % to green: callers are always answered by blue; green gets copies.
	c.must("endpoint", "update", "-n", ep, "--mirror-traffic", "green=10")
	before := mirroredCount(t, c, ep)
	served, failed = callMany(1000, creds.PrimaryKey, "")
	time.Sleep(300 * time.Millisecond) // mirrors finish off the request path
	mirrored := mirroredCount(t, c, ep) - before
	t.Logf("mirroring 10%%: callers served by blue %d (failed %d); mirrored copies to green %d of 1000", served["blue"], failed, mirrored)
	if served["blue"] != 1000 || failed != 0 || mirrored < 62 || mirrored > 138 {
		t.Fatalf("mirroring: served %v failed %d mirrored %d", served, failed, mirrored)
	}

	// Rotate the primary key while a client keeps calling with the secondary.
	stop := make(chan struct{})
	var rotCalls, rotFailed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, _ := score(creds.SecondaryKey, "")
				rotCalls.Add(1)
				if code != 200 {
					rotFailed.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	c.must("endpoint", "regenerate-keys", "-n", ep, "--key-type", "primary")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if code, _ := score(creds.PrimaryKey, ""); code != 401 {
		t.Errorf("old primary key after regeneration: %d, want 401", code)
	}
	var after struct{ PrimaryKey, SecondaryKey string }
	json.Unmarshal([]byte(c.must("endpoint", "get-credentials", "-n", ep, "-o", "json")), &after)
	if code, _ := score(after.PrimaryKey, ""); code != 200 || after.PrimaryKey == creds.PrimaryKey || after.SecondaryKey != creds.SecondaryKey {
		t.Errorf("new primary key: %d (changed %v, secondary kept %v)", code, after.PrimaryKey != creds.PrimaryKey, after.SecondaryKey == creds.SecondaryKey)
	}
	t.Logf("key rotation: %d calls with the secondary key during the rotation, %d failed", rotCalls.Load(), rotFailed.Load())
	if rotFailed.Load() != 0 || rotCalls.Load() == 0 {
		t.Fatalf("calls with the secondary key failed during rotation: %d of %d", rotFailed.Load(), rotCalls.Load())
	}

	// A deployment with live traffic cannot be deleted; move traffic back, then delete.
	if _, errb, err := c.run("deployment", "delete", "-e", ep, "-n", "blue", "--yes"); err == nil || !strings.Contains(errb, "live traffic") {
		t.Errorf("deleting blue with live traffic: err %v, %s", err, errb)
	}
	c.must("endpoint", "update", "-n", ep, "--mirror-traffic", "")
	c.must("deployment", "delete", "-e", ep, "-n", "green", "--yes")
	if logs := c.must("deployment", "get-logs", "-e", ep, "-n", "blue", "--lines", "5"); !strings.Contains(logs, "key:") {
		t.Errorf("get-logs shows no caller: %s", logs)
	}
	c.must("endpoint", "delete", "-n", ep, "--yes")
	if list := c.must("endpoint", "list", "-o", "json"); strings.Contains(list, ep) {
		t.Errorf("endpoint still listed after delete: %s", list)
	}
}

func mirroredCount(t *testing.T, c *cliRunner, ep string) int {
	t.Helper()
	out := c.must("deployment", "get-logs", "-e", ep, "-n", "green", "--lines", "5000", "-o", "json")
	var entries []struct{ Mirrored bool }
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		var wrapped struct{ Value []struct{ Mirrored bool } }
		if err2 := json.Unmarshal([]byte(out), &wrapped); err2 != nil {
			t.Fatalf("get-logs -o json: %v: %.200s", err, out)
		}
		entries = wrapped.Value
	}
	n := 0
	for _, e := range entries {
		if e.Mirrored {
			n++
		}
	}
	return n
}
