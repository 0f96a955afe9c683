// Package oidctest runs a real OpenID provider (npm oidc-provider, the
// script in internal/oidc/testdata/op) for tests: it installs the
// provider's modules on first use, starts node on a loopback port, and gets
// client-credentials access tokens. Tests fail, never skip, when node is
// missing.
package oidctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test provider is testdata/op/op.mjs, run by node. See that file for
// its clients and resources.
const Audience = "urn:ml-endpoints"

// opDir is internal/oidc/testdata/op, found from this file's location so
// that tests in any package can start the provider.
func opDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "op")
}

// Provider is a running oidc-provider.
type Provider struct {
	Issuer string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error // gets cmd.Wait's result

	stopOnce sync.Once
}

// npmOnce installs the provider's node modules once per test binary.
var npmOnce struct {
	sync.Once
	err error
	out []byte
}

// mustNode fails t when node or the provider's modules are not usable. CI
// installs node; the tests never skip.
func mustNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH: these tests run a real OpenID provider (npm oidc-provider, %s); install Node.js >= 20 and npm", opDir())
	}
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(opDir(), "node_modules", "oidc-provider")); err == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			npmOnce.err = fmt.Errorf("npm not found in PATH (needed once to install %s/node_modules): %w", opDir(), err)
			return
		}
		// Test binaries of several packages run at once: take a file lock so
		// only one installs, and look again once it is held.
		lock, err := os.OpenFile(filepath.Join(opDir(), ".npm-install.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			npmOnce.err = err
			return
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			npmOnce.err = err
			return
		}
		defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		if _, err := os.Stat(filepath.Join(opDir(), "node_modules", "oidc-provider")); err == nil {
			return
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = opDir()
		npmOnce.out, npmOnce.err = cmd.CombinedOutput()
	})
	if npmOnce.err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", opDir(), npmOnce.err, npmOnce.out)
	}
	return node
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts the provider on port (0 picks one) and waits until its
// discovery document answers. The process is stopped by t.Cleanup.
func Start(t *testing.T, port int) *Provider {
	t.Helper()
	node := mustNode(t)
	if port == 0 {
		port = FreePort(t)
	}
	op := &Provider{Issuer: "http://127.0.0.1:" + strconv.Itoa(port), out: new(syncBuffer)}
	op.cmd = exec.Command(node, "op.mjs")
	op.cmd.Dir = opDir()
	op.cmd.Env = append(os.Environ(), "OP_PORT="+strconv.Itoa(port), "OP_AUDIENCE="+Audience)
	op.cmd.Stdout, op.cmd.Stderr = op.out, op.out
	if err := op.cmd.Start(); err != nil {
		t.Fatalf("start node op.mjs: %v", err)
	}
	op.exited = make(chan error, 1)
	go func() { op.exited <- op.cmd.Wait() }()
	t.Cleanup(func() {
		op.Stop(t)
		if t.Failed() {
			t.Logf("op.mjs output:\n%s", op.out)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(op.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return op
			}
		}
		select {
		case err := <-op.exited:
			op.exited <- err
			t.Fatalf("op.mjs exited early (%v):\n%s", err, op.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("op.mjs not ready after 20s (last error %v):\n%s", err, op.out)
		}
	}
}

// Stop ends the provider; t.Cleanup calls it too.
func (op *Provider) Stop(t *testing.T) {
	op.stopOnce.Do(func() {
		_ = op.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-op.exited:
		case <-time.After(5 * time.Second):
			_ = op.cmd.Process.Kill()
			<-op.exited
		}
	})
}

// Token gets an access token for client with the client_credentials grant.
// resource picks the audience; "" means the provider's default.
func (op *Provider) Token(t *testing.T, client, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"endpoints:invoke"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, op.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("token for %s: %s: %s %s", client, resp.Status, body.Error, body.Description)
	}
	return body.AccessToken
}

// JWKS returns the provider's key set document.
func (op *Provider) JWKS(t *testing.T) []byte {
	t.Helper()
	resp, err := http.Get(op.Issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// syncBuffer is a bytes.Buffer safe for the writes of a child process and
// reads from the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
