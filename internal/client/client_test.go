package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/client"
	"github.com/vigilhq/vigil/internal/vigil"
)

const testToken = "admin-token-0123456789abcdef"

// recorded is one request the fake server saw.
type recorded struct {
	Method, Path, RawPath, Query, Auth, Pin, Body string
}

// mustServe starts a server answering every request with status and body,
// and records the requests.
func mustServe(t *testing.T, status int, body string, header map[string]string) (*client.Client, *[]recorded) {
	t.Helper()
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("azureml-model-deployment"), string(b)})
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, testToken)
	if err != nil {
		t.Fatal(err)
	}
	return c, &got
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		code    vigil.Code
		apiCode string
		msg     string
	}{
		{"ok/bad-request", 400, `{"error":{"code":"BadRequest","message":"traffic.blue: 120 is not a percent"}}`, vigil.EInvalid, "", "traffic.blue: 120 is not a percent"},
		{"ok/unauthorized", 401, `{"error":{"code":"Unauthorized","message":"missing or wrong token"}}`, vigil.EUnauthorized, "", "missing or wrong token"},
		{"ok/unauthorized-numeric", 401, `{"error":{"code":"401","message":"Access denied"}}`, vigil.EUnauthorized, "", "Access denied"},
		{"ok/forbidden", 403, `{"error":{"code":"Forbidden","message":"no"}}`, vigil.EForbidden, "", "no"},
		{"ok/not-found", 404, `{"error":{"code":"NotFound","message":"no endpoint x"}}`, vigil.ENotFound, "", "no endpoint x"},
		{"ok/method", 405, `{"error":{"code":"MethodNotAllowed","message":"m"}}`, vigil.EMethodNotAllowed, "", "m"},
		{"ok/conflict", 409, `{"error":{"code":"Conflict","message":"exists"}}`, vigil.EConflict, "", "exists"},
		{"ok/too-large", 413, `{"error":{"code":"RequestEntityTooLarge","message":"big"}}`, vigil.ETooLarge, "", "big"},
		{"ok/media", 415, `{"error":{"code":"UnsupportedMediaType","message":"json"}}`, vigil.EUnsupportedMedia, "", "json"},
		{"ok/rate-limited", 429, `{"error":{"code":"TooManyRequests","message":"slow down"}}`, vigil.ERateLimited, "", "slow down"},
		{"ok/internal", 500, `{"error":{"code":"InternalServerError","message":"quote request id x"}}`, vigil.EInternal, "", "quote request id x"},
		{"ok/flat-api-code", 404, `{"code":"NoDeployment","message":"no traffic"}`, vigil.ENotFound, "NoDeployment", "no traffic"},
		{"ok/flat-bad-argument", 400, `{"code":"BadArgument","message":"series"}`, vigil.EInvalid, "", "series"},
		{"ok/timeout-api-code", 504, `{"code":"Timeout","message":"slow"}`, vigil.EUnavailable, "Timeout", "slow"},
		{"fail/not-json", 502, `<html>bad gateway</html>`, vigil.EUnavailable, "", "the server answered 502 Bad Gateway"},
		{"fail/empty", 403, ``, vigil.EForbidden, "", "the server answered 403 Forbidden"},
		{"fail/control-chars", 400, `{"error":{"code":"BadRequest","message":"a\u001b[31mred\nline"}}`, vigil.EInvalid, "", "a [31mred line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustServe(t, tt.status, tt.body, nil)
			_, err := c.GetEndpoint(context.Background(), "my-endpoint")
			var e *vigil.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want *vigil.Error", err, err)
			}
			if e.Code != tt.code || e.APICode != tt.apiCode || e.Message != tt.msg {
				t.Errorf("got {%s %q %q}, want {%s %q %q}", e.Code, e.APICode, e.Message, tt.code, tt.apiCode, tt.msg)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func(c *client.Client) error
		status int
		answer string
		want   recorded
	}{
		{"list-endpoints", func(c *client.Client) error {
			eps, err := c.ListEndpoints(ctx)
			if err == nil && (len(eps) != 1 || eps[0].Traffic["blue"] != 100) {
				t.Errorf("got %+v", eps)
			}
			return err
		}, 200, `{"value":[{"name":"ep1","traffic":{"blue":100}}]}`, recorded{Method: "GET", Path: "/api/v1/endpoints"}},
		{"create-endpoint", func(c *client.Client) error {
			_, err := c.CreateEndpoint(ctx, &client.Endpoint{Name: "ep1", AuthMode: "aml_token", ScoringURI: "ignored", Traffic: map[string]int{"x": 1}})
			return err
		}, 201, `{"name":"ep1"}`, recorded{Method: "POST", Path: "/api/v1/endpoints", Body: `{"name":"ep1","auth_mode":"aml_token"}`}},
		{"escaped-name", func(c *client.Client) error {
			_, err := c.GetEndpoint(ctx, "a/b?c")
			return err
		}, 200, `{}`, recorded{Method: "GET", Path: "/api/v1/endpoints/a/b?c", RawPath: "/api/v1/endpoints/a%2Fb%3Fc"}},
		{"update-endpoint", func(c *client.Client) error {
			_, err := c.UpdateEndpoint(ctx, "ep1", map[string]any{"traffic": map[string]int{}})
			return err
		}, 200, `{}`, recorded{Method: "PATCH", Path: "/api/v1/endpoints/ep1", Body: `{"traffic":{}}`}},
		{"delete-endpoint", func(c *client.Client) error { return c.DeleteEndpoint(ctx, "ep1") },
			204, ``, recorded{Method: "DELETE", Path: "/api/v1/endpoints/ep1"}},
		{"list-keys", func(c *client.Client) error {
			k, err := c.ListKeys(ctx, "ep1")
			if err == nil && k.PrimaryKey != "p" {
				t.Errorf("got %+v", k)
			}
			return err
		}, 200, `{"primaryKey":"p","secondaryKey":"s"}`, recorded{Method: "POST", Path: "/api/v1/endpoints/ep1/listKeys"}},
		{"regenerate-keys", func(c *client.Client) error { return c.RegenerateKeys(ctx, "ep1", "secondary", "") },
			204, ``, recorded{Method: "POST", Path: "/api/v1/endpoints/ep1/regenerateKeys", Body: `{"keyType":"secondary"}`}},
		{"regenerate-keys-value", func(c *client.Client) error { return c.RegenerateKeys(ctx, "ep1", "primary", "0123456789abcdef") },
			204, ``, recorded{Method: "POST", Path: "/api/v1/endpoints/ep1/regenerateKeys", Body: `{"keyType":"primary","keyValue":"0123456789abcdef"}`}},
		{"token", func(c *client.Client) error {
			tok, err := c.GetToken(ctx, "ep1")
			if err == nil && (tok.AccessToken != "t" || !tok.ExpiryTimeUTC.Equal(time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC))) {
				t.Errorf("got %+v", tok)
			}
			return err
		}, 200, `{"accessToken":"t","tokenType":"Bearer","expiryTimeUtc":"2026-11-22T07:00:00Z","refreshAfterTimeUtc":"2026-11-22T06:30:00Z"}`, recorded{Method: "POST", Path: "/api/v1/endpoints/ep1/token"}},
		{"rotate", func(c *client.Client) error { _, err := c.RotateSigningKey(ctx); return err },
			200, `{"kid":"k2"}`, recorded{Method: "POST", Path: "/api/v1/signing-keys/rotate"}},
		{"create-deployment-all-traffic", func(c *client.Client) error {
			_, err := c.CreateDeployment(ctx, "ep1", &client.Deployment{Name: "blue", InstanceCount: 2, LivenessProbe: &client.Probe{Period: 5, SuccessThreshold: 1, FailureThreshold: 3}}, true)
			return err
		}, 201, `{"name":"blue"}`, recorded{Method: "POST", Path: "/api/v1/endpoints/ep1/deployments", Query: "all_traffic=true",
			Body: `{"name":"blue","instance_count":2,"liveness_probe":{"initial_delay":0,"period":5,"timeout":0,"success_threshold":1,"failure_threshold":3}}`}},
		{"update-deployment", func(c *client.Client) error {
			_, err := c.UpdateDeployment(ctx, "ep1", "blue", map[string]any{"instance_count": 3})
			return err
		}, 200, `{}`, recorded{Method: "PATCH", Path: "/api/v1/endpoints/ep1/deployments/blue", Body: `{"instance_count":3}`}},
		{"delete-deployment", func(c *client.Client) error { return c.DeleteDeployment(ctx, "ep1", "blue") },
			204, ``, recorded{Method: "DELETE", Path: "/api/v1/endpoints/ep1/deployments/blue"}},
		{"logs", func(c *client.Client) error {
			l, err := c.DeploymentLogs(ctx, "ep1", "blue", 20)
			if err == nil && (len(l) != 1 || l[0].LatencyMS != 1.5 || l[0].Status != 200) {
				t.Errorf("got %+v", l)
			}
			return err
		}, 200, `{"value":[{"time":"2026-11-22T06:00:00Z","status":200,"latency_ms":1.5}]}`, recorded{Method: "GET", Path: "/api/v1/endpoints/ep1/deployments/blue/logs", Query: "lines=20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := mustServe(t, tt.status, tt.answer, nil)
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			if len(*got) != 1 {
				t.Fatalf("got %d requests, want 1", len(*got))
			}
			r := (*got)[0]
			tt.want.Auth = "Bearer " + testToken
			if r != tt.want {
				t.Errorf("got  %+v\nwant %+v", r, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	c, got := mustServe(t, 200, `{"isAnomaly":[false]}`, map[string]string{"azureml-model-deployment": "green"})
	res, err := c.Score(context.Background(), "ep1", []byte(`{"series":[]}`), "endpoint-key", "green")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || res.Deployment != "green" || string(res.Body) != `{"isAnomaly":[false]}` {
		t.Errorf("got %+v", res)
	}
	want := recorded{Method: "POST", Path: "/endpoints/ep1/score", Auth: "Bearer endpoint-key", Pin: "green", Body: `{"series":[]}`}
	if (*got)[0] != want {
		t.Errorf("got  %+v\nwant %+v", (*got)[0], want)
	}

	c, _ = mustServe(t, 404, `{"code":"NoDeployment","message":"endpoint ep1 has no traffic"}`, nil)
	res, err = c.Score(context.Background(), "ep1", nil, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	if e := client.ErrorFromResponse(res.Status, res.Body); e.Code != vigil.ENotFound || e.APICode != "NoDeployment" {
		t.Errorf("got %+v", e)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" means ok
	}{
		{"http://127.0.0.1:5000", ""},
		{"https://vigil.example.com/prefix/", ""},
		{"127.0.0.1:5000", "must be http://host:port"},
		{"ftp://x", "must be http://host:port"},
		{"http://user:secret@host", "must not hold credentials"},
		{"http://host/?token=x", "must not have a query"},
	}
	for _, tt := range tests {
		_, err := client.New(tt.url, "t")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(%q): %v", tt.url, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("New(%q) = %v, want an error with %q", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%q) error shows the password: %v", tt.url, err)
		}
	}
}

func TestPrefixAndRedirect(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		if r.URL.Path == "/vigil/api/v1/endpoints/moved" {
			http.Redirect(w, r, "http://elsewhere.example/steal", http.StatusFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"name": "ep1"})
	}))
	defer srv.Close()
	c, err := client.New(srv.URL+"/vigil/", testToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEndpoint(context.Background(), "ep1"); err != nil || path != "/vigil/api/v1/endpoints/ep1" {
		t.Errorf("path %q, err %v", path, err)
	}
	_, err = c.GetEndpoint(context.Background(), "moved")
	if err == nil || !strings.Contains(err.Error(), "redirect") || strings.Contains(err.Error(), testToken) {
		t.Errorf("got %v, want a redirect error without the token", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, _ := client.New(srv.URL, testToken)
	_, err := c.ListEndpoints(context.Background())
	if vigil.ErrorCode(err) != vigil.EUnavailable || !strings.Contains(err.Error(), "cannot reach the server") || strings.Contains(err.Error(), testToken) {
		t.Errorf("got %v", err)
	}
}

func TestNotJSONAnswer(t *testing.T) {
	c, _ := mustServe(t, 200, `<html></html>`, nil)
	_, err := c.ListEndpoints(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is --url a Vigil server?") {
		t.Errorf("got %v", err)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, _ := client.New(srv.URL, testToken)
	c.HTTPClient.Timeout = 50 * time.Millisecond
	_, err := c.ListEndpoints(context.Background())
	if vigil.ErrorCode(err) != vigil.EUnavailable || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("timeout: got %v", err)
	}
	c.HTTPClient.Timeout = time.Minute
	c.ScoreTimeout = 50 * time.Millisecond
	if _, err := c.Score(context.Background(), "ep1", nil, "k", ""); vigil.ErrorCode(err) != vigil.EUnavailable {
		t.Errorf("score timeout: got %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.ListEndpoints(ctx); vigil.ErrorCode(err) != vigil.EUnavailable {
		t.Errorf("context: got %v", err)
	}
}
