//go:build pkcs11

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/kek/softhsmtest"
)

// TestServeOnTheHSM moves a running installation's data keys from the local
// master key to a SoftHSM2 key with `vigil kek rotate --to pkcs11`, serves
// with the HSM, backs up and restores under it, fails closed when the HSM
// key is gone and works again when it returns, and moves back to a local key.
func TestServeOnTheHSM(t *testing.T) {
	h := softhsmtest.New(t)
	data := t.TempDir()
	env := map[string]string{
		"VIGIL_PKCS11_MODULE": h.Module, "VIGIL_PKCS11_TOKEN_LABEL": softhsmtest.Token,
		"VIGIL_PKCS11_PIN": softhsmtest.PIN, "VIGIL_PKCS11_KEY_LABEL": "vigil-kek",
	}
	getenv := func(k string) string { return env[k] }
	cli := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
		return code, out.String() + errb.String()
	}
	r := startMain(t, config.Config{Data: data, APIKey: e2eKey, APIKeySource: "test"})
	r.stop(t)
	if code, out := cli("kek", "rotate", "--data", data, "--to", "pkcs11"); code != 0 || !strings.Contains(out, "pkcs11:") {
		t.Fatalf("rotate to the HSM: %d %s", code, out)
	}
	env["VIGIL_KEK_PROVIDER"] = "pkcs11"
	os.Rename(filepath.Join(data, "master.key"), filepath.Join(t.TempDir(), "destroyed.key"))
	p11, err := kek.PKCS11ConfigFromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	onHSM := config.Config{Data: data, KEKProvider: kek.ProviderPKCS11, PKCS11: p11}
	r = startMain(t, onHSM)
	if code, b := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Fatalf("key on the HSM: %d %s", code, b)
	}
	backup := filepath.Join(t.TempDir(), "hsm.bak")
	if code, out := cli("backup", "--data", data, "-o", backup); code != 0 {
		t.Fatalf("backup under the HSM: %d %s", code, out)
	}
	r.stop(t)
	if code, out := cli("restore", "--data", data, "-i", backup, "--force"); code != 0 {
		t.Fatalf("restore under the HSM: %d %s", code, out)
	}
	// The HSM key disappears (another label stands in for a deleted key):
	// Vigil refuses to start and changes nothing.
	gone := onHSM
	gone.PKCS11.KeyLabel = "no-such-key"
	m := &Main{Config: gone}
	m.Config.Addr, m.Config.MetricsAddr, m.Config.LogFormat, m.Config.LogLevel = "127.0.0.1:0", "off", "text", "info"
	m.Stdout, m.Stderr = os.Stderr, os.Stderr
	if err := m.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("start without the HSM key: %v", err)
	}
	m.Close()
	r = startMain(t, onHSM)
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Errorf("after the HSM key is back: %d", code)
	}
	r.stop(t)
	if code, out := cli("kek", "rotate", "--data", data, "--to", "local"); code != 0 || !strings.Contains(out, "VIGIL_KEK_PROVIDER=local") {
		t.Fatalf("rotate back to a local key: %d %s", code, out)
	}
	r = startMain(t, config.Config{Data: data})
	defer r.stop(t)
	if code, _ := post(t, r.url("/anomalydetector/v1.1/timeseries/last/detect"), e2eKey, hourly(48)); code != 200 {
		t.Errorf("back on a local key: %d", code)
	}
}
