package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/config"
)

// Azure ML's own keys in a management request are accepted with a Warning
// header per key, as the CLI accepts them in files; other unknown keys are
// refused, naming the key.
func TestManagementAPIAcceptsAzureOnlyKeysWithAWarning(t *testing.T) {
	r := startMain(t, config.Config{Data: t.TempDir()})
	defer r.stop(t)
	tok, err := os.ReadFile(filepath.Join(r.m.Config.Data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, string, []string) {
		t.Helper()
		req, _ := http.NewRequest(method, r.url("/api/v1"+path), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Values("Warning")
	}
	tests := []struct {
		name         string
		method, path string
		body         string
		wantCode     int
		wantWarnings []string // field names
		wantBody     string
	}{
		{"ok/endpoint-with-azure-keys", "POST", "/endpoints",
			`{"$schema":"https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json","name":"az-ep","auth_mode":"key","identity":{"type":"system_assigned"},"kind":"managed"}`,
			201, []string{"identity", "kind"}, `"name":"az-ep"`},
		{"ok/deployment-with-azure-keys", "POST", "/endpoints/az-ep/deployments",
			`{"name":"blue","instance_type":"Standard_DS3_v2","environment":"azureml:env:1","request_settings":{"request_timeout_ms":3000,"max_queue_wait_ms":500}}`,
			201, []string{"environment", "instance_type", "request_settings.max_queue_wait_ms"}, `"request_timeout_ms":3000`},
		{"ok/update-with-schema-only-no-warning", "PATCH", "/endpoints/az-ep",
			`{"$schema":"x","description":"from Azure"}`, 200, nil, `"description":"from Azure"`},
		{"fail/unknown-key", "POST", "/endpoints", `{"name":"az-two","colour":"red"}`, 400, nil, `unknown field \"colour\"`},
		{"fail/wrong-type-still-named", "POST", "/endpoints/az-ep/deployments", `{"name":"green","instance_type":1,"instance_count":"two"}`, 400, []string{"instance_type"}, "instance_count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, warnings := call(tt.method, tt.path, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("%d %s, want %d with %s", code, body, tt.wantCode, tt.wantBody)
			}
			var fields []string
			for _, w := range warnings {
				if !strings.HasPrefix(w, `299 - "`) || !strings.HasSuffix(w, ` is an Azure-only setting; Vigil ignores it"`) {
					t.Errorf("warning %q not in the 299 form", w)
				}
				fields = append(fields, strings.TrimSuffix(strings.TrimPrefix(w, `299 - "`), ` is an Azure-only setting; Vigil ignores it"`))
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tt.wantWarnings) {
				t.Errorf("warnings for %v, want %v", fields, tt.wantWarnings)
			}
		})
	}
}
