package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/vigilhq/vigil/internal/config"
	vcred "github.com/vigilhq/vigil/internal/credential"
)

// auditEvents reads the audit log of r (as the admin token in tok) for
// principal.
func auditEvents(t *testing.T, r *running, tok, principal string) []map[string]string {
	t.Helper()
	code, b := apiAs(t, r, tok, "GET", "/audit?principal="+principal, "")
	if code != 200 {
		t.Fatalf("GET /audit: %d %s", code, b)
	}
	var out struct {
		Value []map[string]any
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var evs []map[string]string
	for _, v := range out.Value {
		ev := map[string]string{}
		for _, k := range []string{"principal", "action", "scope", "source", "outcome", "detail"} {
			ev[k], _ = v[k].(string)
		}
		evs = append(evs, ev)
	}
	return evs
}

func dataToken(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// eventLines renders events as "action scope outcome: detail" for
// comparison, all from system:startup at source local.
func eventLines(t *testing.T, evs []map[string]string) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		if ev["principal"] != "system:startup" || ev["source"] != "local" {
			t.Errorf("event not from system:startup at local: %v", ev)
		}
		out = append(out, ev["action"]+" "+ev["scope"]+" "+ev["outcome"]+": "+ev["detail"])
	}
	return out
}

// TestStartupChangesAreAudited: what serve changes on its own at start (the
// default endpoint's keys, the default deployment, the admin token, the
// bootstrap Owner assignment) is in the audit log as system:startup,
// without a secret; a restart that changes nothing adds nothing.
func TestStartupChangesAreAudited(t *testing.T) {
	tests := []struct {
		name   string
		apiKey string
		want   func(data string) []string
	}{
		{"ok/ApiKey-argument", e2eKey, func(data string) []string {
			return []string{
				"endpoints/regenerateKeys/action /endpoints/default success: primary key set from the ApiKey= argument",
				"endpoints/regenerateKeys/action /endpoints/default success: secondary key generated",
				"deployments/write /endpoints/default/deployments/default success: ",
				"tokens/write /tokens/bootstrap-admin success: bootstrap admin token generated and written to " + filepath.Join(data, "admin-token"),
				"roles/write / success: bootstrap assignment bootstrap-admin-owner: admin is Owner at /",
			}
		}},
		{"ok/generated-keys", "", func(data string) []string {
			return []string{
				"endpoints/regenerateKeys/action /endpoints/default success: primary key generated",
				"endpoints/regenerateKeys/action /endpoints/default success: secondary key generated",
				"deployments/write /endpoints/default/deployments/default success: ",
				"tokens/write /tokens/bootstrap-admin success: bootstrap admin token generated and written to " + filepath.Join(data, "admin-token"),
				"roles/write / success: bootstrap assignment bootstrap-admin-owner: admin is Owner at /",
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			cfg := config.Config{Data: data}
			if tt.apiKey != "" {
				cfg.APIKey, cfg.APIKeySource = tt.apiKey, "the ApiKey= argument"
			}
			r := startMain(t, cfg)
			tok := dataToken(t, data)
			got := eventLines(t, auditEvents(t, r, tok, "system:startup"))
			stdout := r.stdout.String()
			r.stop(t)
			want := tt.want(data)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("startup audit records\n got %q\nwant %q", got, want)
			}
			// No secret: not the configured key, the generated keys
			// (printed once on stdout) nor the admin token.
			secrets := []string{tok}
			if tt.apiKey != "" {
				secrets = append(secrets, tt.apiKey)
			}
			for _, l := range strings.Split(stdout, "\n") {
				if f := strings.Fields(l); len(f) == 2 && strings.HasSuffix(f[0], ":") {
					secrets = append(secrets, f[1])
				}
			}
			if len(secrets) < 2 {
				t.Fatalf("no key found on stdout %q", stdout)
			}
			for _, s := range secrets {
				for _, l := range got {
					if strings.Contains(l, s) {
						t.Errorf("a secret appears in the audit log: %q", l)
					}
				}
			}

			// A restart with the same settings changes nothing.
			r = startMain(t, cfg)
			again := eventLines(t, auditEvents(t, r, tok, "system:startup"))
			r.stop(t)
			if len(again) != len(want) {
				t.Errorf("a restart that changes nothing added audit records: %q", again[len(want):])
			}
			if tt.apiKey == "" {
				return
			}
			// Another key replaces the primary one: audited.
			cfg.APIKey = "another-key-0123456789abcdef"
			r = startMain(t, cfg)
			again = eventLines(t, auditEvents(t, r, tok, "system:startup"))
			r.stop(t)
			if len(again) != len(want)+1 || again[len(want)] != "endpoints/regenerateKeys/action /endpoints/default success: primary key set from the ApiKey= argument" {
				t.Errorf("after a start with another key: %q", again)
			}
		})
	}
}

func writeTokenFile(t *testing.T, dir string, mode os.FileMode) (path, tok string) {
	t.Helper()
	tok, _, err := vcred.NewAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path, tok
}

// TestAdminTokenFile: with VIGIL_ADMIN_TOKEN_FILE the file's token becomes
// the admin token and revokes the one generated before (audited); Vigil
// writes neither that file nor <data>/admin-token, and refuses rotation.
func TestAdminTokenFile(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data})
	generated := dataToken(t, data)
	r.stop(t)

	secretDir := t.TempDir()
	path, tok := writeTokenFile(t, secretDir, 0o440) // as Kubernetes mounts a Secret with an fsGroup
	os.Chmod(secretDir, 0o500)
	defer os.Chmod(secretDir, 0o700)
	before, _ := os.Stat(path)
	startFile := func() *running { return startMainWith(t, config.Config{Data: data}, path) }
	r = startFile()
	if code, b := apiAs(t, r, tok, "GET", "/endpoints", ""); code != 200 {
		t.Errorf("the file's token: %d %s", code, b)
	}
	if code, _ := apiAs(t, r, generated, "GET", "/endpoints", ""); code != 401 {
		t.Errorf("the token generated before: %d, want 401 (revoked)", code)
	}
	if got := dataToken(t, data); got != generated {
		t.Error("<data>/admin-token was rewritten")
	}
	if after, err := os.Stat(path); err != nil || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
		t.Error("the admin token file was touched")
	}
	if !strings.Contains(r.stderr.String(), "the data directory's admin-token file holds an admin token that no longer works") {
		t.Errorf("no warning about the stale <data>/admin-token:\n%s", r.stderr.String())
	}
	code, b := apiAs(t, r, tok, "POST", "/admin-token/rotate", "")
	if code != 409 || !strings.Contains(string(b), "VIGIL_ADMIN_TOKEN_FILE ("+path+")") || !strings.Contains(string(b), "vigil admin-token generate") {
		t.Errorf("rotate with a file-managed token: %d %s, want 409 naming the file", code, b)
	}
	if code, _ := apiAs(t, r, tok, "GET", "/endpoints", ""); code != 200 {
		t.Errorf("the file's token after the refused rotation: %d", code)
	}
	evs := auditEvents(t, r, tok, "")
	var lines []string
	for _, ev := range evs {
		if ev["scope"] == "/tokens/bootstrap-admin" {
			lines = append(lines, ev["principal"]+" "+ev["outcome"]+": "+ev["detail"])
		}
		for _, s := range []string{tok, generated} {
			if strings.Contains(ev["detail"], s) {
				t.Errorf("a token appears in the audit log: %v", ev)
			}
		}
	}
	want := []string{
		"system:startup success: bootstrap admin token generated and written to " + filepath.Join(data, "admin-token"),
		"system:startup success: bootstrap admin token set from VIGIL_ADMIN_TOKEN_FILE " + path + "; revoked the earlier admin token",
		"admin failure: conflict: the admin token comes from VIGIL_ADMIN_TOKEN_FILE (" + path + "), which Vigil does not write: put a new token (vigil admin-token generate) into that file or its Secret, then restart every server",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("admin token audit records\n got %q\nwant %q", lines, want)
	}
	r.stop(t)

	// A restart with the same file changes nothing; a new token in the
	// file replaces the old at the next start.
	r = startFile()
	n := len(auditEvents(t, r, tok, "system:startup"))
	r.stop(t)
	r = startFile()
	if m := len(auditEvents(t, r, tok, "system:startup")); m != n {
		t.Errorf("a restart with the same token file added %d audit records", m-n)
	}
	r.stop(t)
	os.Chmod(secretDir, 0o700)
	newTok, _, _ := vcred.NewAccessToken()
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte(newTok), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ = os.Stat(path)
	r = startFile()
	if code, _ := apiAs(t, r, tok, "GET", "/endpoints", ""); code != 401 {
		t.Errorf("the old file token after the file changed: %d, want 401", code)
	}
	if code, _ := apiAs(t, r, newTok, "GET", "/endpoints", ""); code != 200 {
		t.Errorf("the new file token: %d, want 200", code)
	}
	r.stop(t)
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
		t.Error("the admin token file was written")
	}
}

// startMainWith is startMain with an admin token file
// (VIGIL_ADMIN_TOKEN_FILE).
func startMainWith(t *testing.T, cfg config.Config, tokenFile string) *running {
	t.Helper()
	cfg.Addr, cfg.MetricsAddr = "127.0.0.1:0", "off"
	cfg.LogFormat, cfg.LogLevel = "text", "info"
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	r.m = &Main{Config: cfg, Stdout: r.stdout, Stderr: r.stderr, ShutdownTimeout: 10 * time.Second, AdminTokenFile: tokenFile}
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

func TestAdminTokenFileIsRefused(t *testing.T) {
	good, _, _ := vcred.NewAccessToken()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"fail/other-readable", good, 0o644, "VIGIL_ADMIN_TOKEN_FILE: admin token file %s is open to others (mode -rw-r--r--)"},
		{"fail/group-writable", good, 0o660, "is open to others (mode -rw-rw----)"},
		{"fail/malformed", "hunter2-is-not-a-token-at-all", 0o600, "must be \"vgt_\" followed by 43 base64url characters"},
		{"fail/empty", "", 0o600, "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			path := filepath.Join(t.TempDir(), "token")
			os.WriteFile(path, []byte(tt.content), 0o600)
			os.Chmod(path, tt.mode)
			m := &Main{Config: config.Config{Data: data, Addr: "127.0.0.1:0", MetricsAddr: "off", LogFormat: "text", LogLevel: "info"},
				Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, AdminTokenFile: path}
			err := m.Open(t.Context())
			m.Close()
			want := strings.Replace(tt.wantErr, "%s", path, 1)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Open: %v, want %q", err, want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), good) {
				t.Errorf("the error quotes the file: %v", err)
			}
			// Refused before anything was made.
			if _, err := os.Stat(filepath.Join(data, "vigil.db")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the store was created: %v", err)
			}
		})
	}
}

// TestServeEnvFlags: --shutdown-timeout and --admin-token-file have their
// environment variables, and a flag wins.
func TestServeEnvFlags(t *testing.T) {
	env := map[string]string{"VIGIL_SHUTDOWN_TIMEOUT": "7s", "VIGIL_ADMIN_TOKEN_FILE": "/run/secrets/vigil-admin/token"}
	getenv := func(k string) string { return env[k] }
	for _, tt := range []struct {
		args             []string
		timeout, tokFile string
	}{
		{nil, "7s", "/run/secrets/vigil-admin/token"},
		{[]string{"--shutdown-timeout", "3s", "--admin-token-file", "/etc/vigil/token"}, "3s", "/etc/vigil/token"},
	} {
		cmd := newServeCmd(os.Stdout, os.Stderr, getenv)
		if err := cmd.ParseFlags(tt.args); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		if err := applyEnv(cmd, &cfg, getenv); err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags()
		if got := f.Lookup("shutdown-timeout").Value.String(); got != tt.timeout {
			t.Errorf("%v: shutdown timeout %s, want %s", tt.args, got, tt.timeout)
		}
		if got := f.Lookup("admin-token-file").Value.String(); got != tt.tokFile {
			t.Errorf("%v: admin token file %q, want %q", tt.args, got, tt.tokFile)
		}
	}
	for flag, env := range envFlags {
		if !strings.Contains(newServeCmd(os.Stdout, os.Stderr, getenv).Flags().Lookup(flag).Usage, "env "+env) {
			t.Errorf("--%s's help does not name %s", flag, env)
		}
	}
	cmd := newServeCmd(os.Stdout, os.Stderr, getenv)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "database-url" && envFlags[f.Name] == "" {
			t.Errorf("--%s has no environment variable", f.Name)
		}
	})
}

// TestCLIReadsAdminTokenFile: the client verbs take the token from
// VIGIL_ADMIN_TOKEN_FILE (the server's setting, present in its container
// or pod) when neither --token nor VIGIL_TOKEN gives one; --data wins.
func TestCLIReadsAdminTokenFile(t *testing.T) {
	f := newCLIFake(t, nil)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(cliAdminToken+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	os.WriteFile(filepath.Join(dataDir, "admin-token"), []byte("from-data-dir\n"), 0o600)
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantAuth string
		wantErr  string
	}{
		{"ok/token-file", map[string]string{"VIGIL_TOKEN": "", "VIGIL_ADMIN_TOKEN_FILE": tokenFile, "VIGIL_DATA": dataDir}, nil, "[admin token]", ""},
		{"ok/env-token-wins", map[string]string{"VIGIL_TOKEN": "from-env", "VIGIL_ADMIN_TOKEN_FILE": tokenFile}, nil, "[Bearer from-env]", ""},
		{"ok/data-flag-wins", map[string]string{"VIGIL_TOKEN": "", "VIGIL_ADMIN_TOKEN_FILE": tokenFile}, []string{"--data", dataDir}, "[Bearer from-data-dir]", ""},
		{"fail/missing-token-file", map[string]string{"VIGIL_TOKEN": "", "VIGIL_ADMIN_TOKEN_FILE": filepath.Join(dir, "nope")}, nil, "", "no admin token: " + filepath.Join(dir, "nope") + " cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.log = nil
			code, _, stderr := runCLI(t, f, tt.env, "", append([]string{"endpoint", "list"}, tt.args...)...)
			if tt.wantErr != "" {
				if code != 1 || !strings.Contains(stderr, tt.wantErr) || !strings.Contains(stderr, "VIGIL_ADMIN_TOKEN_FILE") {
					t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tt.wantErr)
				}
				return
			}
			if code != 0 || len(f.log) != 1 || !strings.Contains(f.log[0], tt.wantAuth) || strings.Contains(stderr, "warning") {
				t.Errorf("exit %d, stderr %q, requests %q; want %s and no warning", code, stderr, f.log, tt.wantAuth)
			}
		})
	}
}

// TestBinaryWithAdminTokenFile runs the real binary as the Helm chart does
// with several replicas: the admin token from VIGIL_ADMIN_TOKEN_FILE, the
// CLI beside it finding the token through the same variable, rotation
// refused with a hint.
func TestBinaryWithAdminTokenFile(t *testing.T) {
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
	data := t.TempDir()
	path, tok := writeTokenFile(t, t.TempDir(), 0o400)
	env := append(os.Environ(), "VIGIL_ADDR="+addr, "VIGIL_DATA="+data, "VIGIL_METRICS_ADDR=off",
		"VIGIL_ADMIN_TOKEN_FILE="+path, "VIGIL_SHUTDOWN_TIMEOUT=5s", "VIGIL_URL=http://"+addr, "VIGIL_TOKEN=")
	srv := exec.Command(bin, "serve", "ApiKey="+e2eKey)
	srv.Env = env
	var stderr syncBuffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	waitReady(t, "http://"+addr)
	if _, err := os.Stat(filepath.Join(data, "admin-token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("<data>/admin-token was written: %v", err)
	}
	cli := func(args ...string) (string, error) {
		c := exec.Command(bin, args...)
		c.Env = env
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := cli("endpoint", "list"); err != nil || !strings.Contains(out, "default") {
		t.Errorf("vigil endpoint list with VIGIL_ADMIN_TOKEN_FILE: %v\n%s", err, out)
	}
	out, err := cli("admin-token", "rotate")
	if err == nil || !strings.Contains(out, "the admin token comes from VIGIL_ADMIN_TOKEN_FILE ("+path+")") || !strings.Contains(out, "hint: this server's admin token is managed in a file") {
		t.Errorf("vigil admin-token rotate: %v\n%s", err, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the rotate error shows the token")
	}
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
	if strings.Contains(stderr.String(), tok) {
		t.Error("the admin token appears in the log")
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != tok {
		t.Error("the admin token file changed")
	}
}
