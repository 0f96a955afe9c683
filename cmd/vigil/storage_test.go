package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/store/sqlite"
)

func runOffline(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	return code, out.String() + errb.String()
}

func TestKEKRotateRewrapsWithoutTouchingData(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	r.stop(t)
	before, _ := os.ReadFile(filepath.Join(data, "master.key"))
	if code, out := runOffline(t, "kek", "rotate", "--data", data); code != 0 || !strings.Contains(out, "rewrapped 1 data key") {
		t.Fatalf("kek rotate: %d %s", code, out)
	}
	after, _ := os.ReadFile(filepath.Join(data, "master.key"))
	if bytes.Equal(before, after) || len(after) != 32 {
		t.Fatal("master.key did not change")
	}
	if _, err := os.Stat(filepath.Join(data, "master.key.new")); err == nil {
		t.Error("master.key.new left behind")
	}
	r = startMain(t, config.Config{Data: data})
	defer r.stop(t)
	if code, b := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Errorf("key after KEK rotation: %d %s", code, b)
	}
	_, v := api(t, r, "GET", "/audit/verify", "")
	_, evs := api(t, r, "GET", "/audit?action=kek/rotate/action", "")
	if !bytes.Contains(v, []byte(`"ok":true`)) || !bytes.Contains(evs, []byte("kek/rotate/action")) {
		t.Errorf("audit after rotation: verify %s, events %s", v, evs)
	}
}

func TestKEKUnavailableFailsClosedAndRecovers(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	r.stop(t)
	keyPath := filepath.Join(data, "master.key")
	saved := filepath.Join(t.TempDir(), "saved.key")
	if err := os.Rename(keyPath, saved); err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: config.Config{Addr: "127.0.0.1:0", MetricsAddr: "off", Data: data, LogFormat: "text", LogLevel: "info"}, Stdout: io.Discard, Stderr: io.Discard}
	err := m.Open(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "key-encryption key is unavailable") {
		t.Fatalf("start without the KEK: err = %v, want a clear fail-closed error", err)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a new master key was made while data is encrypted under the old one")
	}
	// A wrong KEK is refused the same way.
	wrong := filepath.Join(t.TempDir(), "wrong.key")
	os.WriteFile(wrong, bytes.Repeat([]byte{7}, 32), 0o600)
	m = &Main{Config: config.Config{Addr: "127.0.0.1:0", MetricsAddr: "off", Data: data, LogFormat: "text", LogLevel: "info", MasterKeyFile: wrong}, Stdout: io.Discard, Stderr: io.Discard}
	if err := m.Open(context.Background()); err == nil {
		t.Fatal("started with a wrong KEK")
	}
	m.Close()
	// The KEK returns: everything works again, nothing was lost.
	if err := os.Rename(saved, keyPath); err != nil {
		t.Fatal(err)
	}
	r = startMain(t, config.Config{Data: data})
	defer r.stop(t)
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Errorf("key after the KEK returned: %d", code)
	}
}

func TestInterruptedKEKRotationIsFinishedOnStart(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	r.stop(t)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := kek.LoadOrCreate(filepath.Join(data, "master.key"), false)
	next, _ := kek.LoadOrCreate(filepath.Join(data, "master.key.new"), true)
	if _, err := control.RewrapDataKeys(ctx, db, old, next); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Crash here: rewrapped, but master.key not yet replaced.
	r = startMain(t, config.Config{Data: data})
	defer r.stop(t)
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Errorf("after the interrupted rotation: %d", code)
	}
	if _, err := os.Stat(filepath.Join(data, "master.key.new")); err == nil {
		t.Error("master.key.new still there: the rotation was not finished")
	}
}

func TestBackupAndRestore(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	if code, b := api(t, r, "POST", "/endpoints", `{"name":"kept-ep"}`); code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	backup := filepath.Join(t.TempDir(), "vigil.bak")
	if code, out := runOffline(t, "backup", "--data", data, "-o", backup); code != 0 {
		t.Fatalf("backup while running: %d %s", code, out)
	}
	r.stop(t)
	raw, _ := os.ReadFile(backup)
	if bytes.Contains(raw, []byte("kept-ep")) || bytes.Contains(raw, []byte("SQLite format")) {
		t.Error("the backup is not encrypted")
	}
	if code, out := runOffline(t, "restore", "--data", data, "-i", backup); code == 0 || !strings.Contains(out, "--force") {
		t.Errorf("restore over a live store without --force: %d %s", code, out)
	}
	// Corrupt backups are refused and change nothing.
	tampered := filepath.Join(t.TempDir(), "tampered.bak")
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 1
	os.WriteFile(tampered, bad, 0o600)
	truncated := filepath.Join(t.TempDir(), "truncated.bak")
	os.WriteFile(truncated, raw[:len(raw)-100], 0o600)
	for _, f := range []string{tampered, truncated} {
		if code, out := runOffline(t, "restore", "--data", data, "-i", f, "--force"); code == 0 {
			t.Errorf("restore of %s succeeded: %s", filepath.Base(f), out)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(data, "vigil.db"+suffix))
	}
	if code, out := runOffline(t, "restore", "--data", data, "-i", backup); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	r = startMain(t, config.Config{Data: data})
	defer r.stop(t)
	if code, b := api(t, r, "GET", "/endpoints/kept-ep", ""); code != 200 {
		t.Errorf("restored endpoint: %d %s", code, b)
	}
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Errorf("restored key: %d", code)
	}
}

// TestCrashLosesNoAcknowledgedWrite kills the real server with SIGKILL at
// random points while clients stream writes, and checks after each crash
// and at the end that every acknowledged write is present and the store
// passes its integrity check.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the server many times")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	var mu sync.Mutex
	acked := map[string]bool{}
	kills := 0
	start := func() (string, *exec.Cmd) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--addr", addr, "--data", data, "--metrics-addr", "off", "--log-level", "error")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitReady(t, "http://"+addr)
		return addr, cmd
	}
	token := func() string {
		b, _ := os.ReadFile(filepath.Join(data, "admin-token"))
		return strings.TrimSpace(string(b))
	}
	const target = 1000
	seq := 0
	for len(acked) < target {
		addr, cmd := start()
		tok := token()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 5 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					name := fmt.Sprintf("crash-%d", seq)
					mu.Unlock()
					req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/endpoints", strings.NewReader(`{"name":"`+name+`"}`))
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						return // the server died
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 201 {
						mu.Lock()
						acked[name] = true
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(150+rand.IntN(600)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		close(stop)
		wg.Wait()
	}
	addr, cmd := start()
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/endpoints", nil)
	req.Header.Set("Authorization", "Bearer "+token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Value []struct{ Name string } }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	have := map[string]bool{}
	for _, e := range list.Value {
		have[e.Name] = true
	}
	missing := 0
	for name := range acked {
		if !have[name] {
			missing++
		}
	}
	req, _ = http.NewRequest("GET", "http://"+addr+"/api/v1/audit/verify", nil)
	req.Header.Set("Authorization", "Bearer "+token())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	verify, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	integrity, err := db.IntegrityCheck(context.Background())
	db.Close()
	t.Logf("crash test: %d acknowledged writes over %d SIGKILLs; %d missing; integrity %q; audit %s", len(acked), kills, missing, integrity, verify)
	if missing != 0 || integrity != "ok" || err != nil {
		t.Fatalf("%d acknowledged writes lost; integrity %q (%v)", missing, integrity, err)
	}
	if !bytes.Contains(verify, []byte(`"ok":true`)) {
		t.Errorf("audit chain after crashes: %s", verify)
	}
}

// TestNothingSecretInPlaintextAtRest stores every kind of secret Vigil
// keeps (endpoint keys, an access token, an aml_token and its signing key
// use, a deployment's environment variable) and scans the raw database
// files and the data directory for any of them.
func TestNothingSecretInPlaintextAtRest(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	secrets := []string{e2eKey}
	must := func(code int, b []byte, want int) []byte {
		t.Helper()
		if code != want {
			t.Fatalf("status %d, want %d: %s", code, want, b)
		}
		return b
	}
	code, b := api(t, r, "POST", "/tokens", `{"name":"robot","expires":"1h"}`)
	var tok struct{ Token string }
	json.Unmarshal(must(code, b, 201), &tok)
	secrets = append(secrets, tok.Token)
	code, b = api(t, r, "POST", "/endpoints", `{"name":"tok-ep","auth_mode":"aml_token"}`)
	must(code, b, 201)
	const envSecret = "db-password-Zq9xK2mN8vL4"
	code, b = api(t, r, "POST", "/endpoints/tok-ep/deployments", `{"name":"blue","environment_variables":{"DB_PASSWORD":"`+envSecret+`"}}`)
	must(code, b, 201)
	secrets = append(secrets, envSecret)
	code, b = api(t, r, "POST", "/endpoints/tok-ep/token", "")
	var aml struct{ AccessToken string }
	json.Unmarshal(must(code, b, 200), &aml)
	secrets = append(secrets, aml.AccessToken)
	code, b = api(t, r, "POST", "/endpoints/default/listKeys", "")
	var keys struct{ PrimaryKey, SecondaryKey string }
	json.Unmarshal(must(code, b, 200), &keys)
	secrets = append(secrets, keys.SecondaryKey)
	admin, _ := os.ReadFile(filepath.Join(data, "admin-token"))
	adminTok := strings.TrimSpace(string(admin))
	// The deployment shows its environment to an authorised reader.
	_, dep := api(t, r, "GET", "/endpoints/tok-ep/deployments/blue", "")
	if !bytes.Contains(dep, []byte(envSecret)) {
		t.Errorf("the deployment's environment does not read back: %s", dep)
	}
	r.stop(t)
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s holds secret #%d in plaintext", e.Name(), i)
			}
		}
		if e.Name() != "admin-token" && bytes.Contains(raw, []byte(adminTok)) {
			t.Errorf("%s holds the admin token", e.Name())
		}
		if strings.Contains(e.Name(), "key") && e.Name() != "master.key" {
			t.Errorf("%s: only master.key may have key in its name", e.Name())
		}
	}
	if strings.Contains(r.stderr.String(), envSecret) || strings.Contains(r.stderr.String(), tok.Token) {
		t.Error("a secret in the log")
	}
}
