package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/oidc/oidctest"
)

// TestIdentityProviderTokens runs a real OpenID provider and checks
// aad_token scoring and the management API with its tokens: a principal
// with the role, one without, a wrong audience, a forged signature, and a
// key on a token endpoint.
func TestIdentityProviderTokens(t *testing.T) {
	op := oidctest.Start(t, 0)
	r := startMain(t, config.Config{Data: t.TempDir(), OIDCIssuer: op.Issuer, OIDCAudience: oidctest.Audience,
		OIDCSubjectClaim: "sub", OIDCGroupsClaim: "groups", OIDCAlgorithms: []string{"ES256", "RS256"}})
	defer r.stop(t)
	for _, step := range []struct{ method, path, body string }{
		{"POST", "/endpoints", `{"name":"aad-ep","auth_mode":"aad_token"}`},
		{"POST", "/endpoints/aad-ep/deployments?all_traffic=true", `{"name":"blue"}`},
		{"POST", "/role-assignments", `{"principal":"group:ml-ops","role":"Endpoint Scorer","scope":"/endpoints/aad-ep"}`},
	} {
		if code, b := api(t, r, step.method, step.path, step.body); code != 201 {
			t.Fatalf("%s %s: %d %s", step.method, step.path, code, b)
		}
	}
	_, keysBody := api(t, r, "POST", "/endpoints/default/listKeys", "")
	var keys struct{ PrimaryKey string }
	if err := json.Unmarshal(keysBody, &keys); err != nil || keys.PrimaryKey == "" {
		t.Fatalf("listKeys: %s", keysBody)
	}
	withRole := op.Token(t, "svc-ops", "")
	withoutRole := op.Token(t, "svc", "")
	wrongAudience := op.Token(t, "svc-ops", "urn:other")
	forged := withRole[:len(withRole)-4] + "AAAA"
	score := func(token string) int {
		req, _ := http.NewRequest("POST", r.url("/endpoints/aad-ep/score"), strings.NewReader(hourly(48)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"ok/group-with-endpoint-scorer", withRole, 200},
		{"fail/principal-without-role", withoutRole, 403},
		{"fail/wrong-audience", wrongAudience, 401},
		{"fail/forged-signature", forged, 401},
		{"fail/garbage", "not-a-token", 401},
		{"fail/endpoint-key-on-aad-endpoint", keys.PrimaryKey, 401},
	}
	for _, tt := range tests {
		if got := score(tt.token); got != tt.want {
			t.Errorf("%s: scoring = %d, want %d", tt.name, got, tt.want)
		}
	}
	// The management API takes the same tokens, with their roles.
	if code, b := apiAs(t, r, withRole, "GET", "/endpoints/aad-ep", ""); code != 200 {
		t.Errorf("read the endpoint its group may read: %d %s", code, b)
	}
	if code, b := apiAs(t, r, withRole, "GET", "/endpoints", ""); code != 403 || !strings.Contains(string(b), "endpoints/read") {
		t.Errorf("list all endpoints (needs endpoints/read at /): %d %s", code, b)
	}
	if code, _ := apiAs(t, r, withoutRole, "GET", "/endpoints/aad-ep", ""); code != 403 {
		t.Errorf("principal without a role on the management API: %d, want 403", code)
	}
	if code, _ := apiAs(t, r, wrongAudience, "GET", "/endpoints/aad-ep", ""); code != 401 {
		t.Errorf("wrong audience on the management API: %d, want 401", code)
	}
	_, audit := api(t, r, "GET", "/audit?action=endpoints/score/action", "")
	if !strings.Contains(string(audit), `"outcome":"denied"`) || !strings.Contains(string(audit), "sp:svc") {
		t.Errorf("the denied score is not in the audit log: %.400s", audit)
	}
}
