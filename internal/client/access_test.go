package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/client"
)

func TestAccessRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func(c *client.Client) error
		status int
		answer string
		want   recorded
	}{
		{"create-token", func(c *client.Client) error {
			tok, err := c.CreateToken(ctx, "ci", "1h")
			if err == nil && (tok.Token != "vgt_x" || tok.Principal != "token:t1" || !tok.ExpiresAt.Equal(time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC))) {
				t.Errorf("got %+v", tok)
			}
			return err
		}, 201, `{"name":"ci","principal":"token:t1","token":"vgt_x","expiresAt":"2026-11-22T07:00:00Z"}`,
			recorded{Method: "POST", Path: "/api/v1/tokens", Body: `{"name":"ci","expires":"1h"}`}},
		{"create-token-default-expiry", func(c *client.Client) error { _, err := c.CreateToken(ctx, "ci", ""); return err },
			201, `{}`, recorded{Method: "POST", Path: "/api/v1/tokens", Body: `{"name":"ci"}`}},
		{"list-tokens", func(c *client.Client) error {
			ts, err := c.ListTokens(ctx)
			if err == nil && (len(ts) != 2 || ts[0].ExpiresAt != nil || ts[1].ExpiresAt == nil) {
				t.Errorf("got %+v", ts)
			}
			return err
		}, 200, `{"value":[{"name":"bootstrap-admin","principal":"admin","createdAt":"2026-11-22T05:00:00Z"},{"name":"ci","principal":"token:t1","expiresAt":"2026-11-22T07:00:00Z","createdAt":"2026-11-22T06:00:00Z"}]}`,
			recorded{Method: "GET", Path: "/api/v1/tokens"}},
		{"revoke-token-escaped", func(c *client.Client) error { return c.RevokeToken(ctx, "a/b") },
			204, ``, recorded{Method: "DELETE", Path: "/api/v1/tokens/a/b", RawPath: "/api/v1/tokens/a%2Fb"}},
		{"rotate-admin-token", func(c *client.Client) error {
			a, err := c.RotateAdminToken(ctx)
			if err == nil && a.Token != "vgt_new" {
				t.Errorf("got %+v", a)
			}
			return err
		}, 200, `{"token":"vgt_new"}`, recorded{Method: "POST", Path: "/api/v1/admin-token/rotate"}},
		{"list-roles", func(c *client.Client) error {
			rs, err := c.ListRoles(ctx)
			if err == nil && (len(rs) != 1 || !rs[0].BuiltIn || rs[0].NotActions[0] != "audit/read") {
				t.Errorf("got %+v", rs)
			}
			return err
		}, 200, `{"value":[{"name":"Reader","actions":["*/read"],"not_actions":["audit/read"],"built_in":true}]}`, recorded{Method: "GET", Path: "/api/v1/roles"}},
		{"create-role", func(c *client.Client) error {
			_, err := c.CreateRole(ctx, &client.Role{Name: "Auditor", Actions: []string{"audit/read"}, BuiltIn: true})
			return err
		}, 201, `{"name":"Auditor"}`, recorded{Method: "POST", Path: "/api/v1/roles", Body: `{"name":"Auditor","actions":["audit/read"]}`}},
		{"list-assignments", func(c *client.Client) error {
			as, err := c.ListAssignments(ctx)
			if err == nil && (len(as) != 1 || as[0].ID != "a1" || as[0].Scope != "/") {
				t.Errorf("got %+v", as)
			}
			return err
		}, 200, `{"value":[{"id":"a1","principal":"admin","role":"Owner","scope":"/"}]}`, recorded{Method: "GET", Path: "/api/v1/role-assignments"}},
		{"create-assignment-default-scope", func(c *client.Client) error {
			_, err := c.CreateAssignment(ctx, "token:t1", "Reader", "")
			return err
		}, 201, `{"id":"a2"}`, recorded{Method: "POST", Path: "/api/v1/role-assignments", Body: `{"principal":"token:t1","role":"Reader","scope":"/"}`}},
		{"delete-assignment", func(c *client.Client) error { return c.DeleteAssignment(ctx, "a2") },
			204, ``, recorded{Method: "DELETE", Path: "/api/v1/role-assignments/a2"}},
		{"list-audit", func(c *client.Client) error {
			evs, err := c.ListAudit(ctx, client.AuditFilter{})
			if err == nil && (len(evs) != 1 || evs[0].Seq != 3 || evs[0].Outcome != "denied") {
				t.Errorf("got %+v", evs)
			}
			return err
		}, 200, `{"value":[{"seq":3,"time":"2026-11-22T06:00:00Z","principal":"token:t1","action":"endpoints/listKeys/action","scope":"/endpoints/e","source":"127.0.0.1","outcome":"denied"}]}`,
			recorded{Method: "GET", Path: "/api/v1/audit"}},
		{"list-audit-filter", func(c *client.Client) error {
			_, err := c.ListAudit(ctx, client.AuditFilter{Since: "1h", Principal: "token:t1", Action: "audit/read", Limit: 5})
			return err
		}, 200, `{"value":[]}`, recorded{Method: "GET", Path: "/api/v1/audit", Query: "action=audit%2Fread&limit=5&principal=token%3At1&since=1h"}},
		{"verify-audit-broken", func(c *client.Client) error {
			v, err := c.VerifyAudit(ctx)
			if err == nil && (v.OK || v.Checked != 9 || v.Problem == nil || v.Problem.Seq != 7 || v.Problem.Kind != "altered") {
				t.Errorf("got %+v", v)
			}
			return err
		}, 200, `{"ok":false,"checked":9,"problem":{"seq":7,"kind":"altered","text":"record 7 was altered"}}`, recorded{Method: "GET", Path: "/api/v1/audit/verify"}},
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
