package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Role is a named set of actions, built-in or custom. Actions and
// NotActions are action patterns ("endpoints/read", "*/read", "*").
type Role struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
	NotActions  []string `json:"not_actions,omitempty"`
	BuiltIn     bool     `json:"built_in"`
}

// roleCreate is the body of POST /api/v1/roles: the settable fields.
type roleCreate struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Actions     []string `json:"actions"`
	NotActions  []string `json:"not_actions,omitempty"`
}

// RoleAssignment gives a role to a principal ("user:<subject>",
// "group:<name>", "sp:<client id>", "token:<id>" or "admin") at a scope
// ("/", "/endpoints/{name}" or "/endpoints/{name}/deployments/{name}").
type RoleAssignment struct {
	ID        string `json:"id"`
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Scope     string `json:"scope"`
}

// NewAccessToken is a created access token. Token is shown only in this
// answer; the server keeps its hash.
type NewAccessToken struct {
	Name      string    `json:"name"`
	Principal string    `json:"principal"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// AccessTokenInfo describes a live access token. It never holds the token.
// ExpiresAt is nil for a token that does not expire (the admin token).
type AccessTokenInfo struct {
	Name      string     `json:"name"`
	Principal string     `json:"principal"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
}

// AdminToken is the new admin token a rotation returns.
type AdminToken struct {
	Token string `json:"token"`
}

// AuditEvent is one record of the audit log.
type AuditEvent struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Action    string    `json:"action"`
	Scope     string    `json:"scope"`
	Source    string    `json:"source"`
	Outcome   string    `json:"outcome"`
	Detail    string    `json:"detail,omitempty"`
}

// AuditFilter selects audit events; zero fields select all.
type AuditFilter struct {
	// Since is an RFC 3339 time ("2026-11-22T06:00:00Z") or a Go duration
	// back from the server's clock ("1h").
	Since     string
	Principal string
	Action    string
	// Limit keeps the newest Limit events (1-100000); 0 takes the server's
	// default (1000).
	Limit int
}

// AuditVerification is the result of checking the audit chain: OK, or the
// first Problem found after Checked records.
type AuditVerification struct {
	OK      bool          `json:"ok"`
	Checked int           `json:"checked"`
	Problem *AuditProblem `json:"problem,omitempty"`
}

// AuditProblem is the first break in the audit chain: Kind is "altered",
// "missing" or "reordered"; Text says it in words ("record 7 was
// altered ...").
type AuditProblem struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// ListRoles returns the built-in and custom roles.
func (c *Client) ListRoles(ctx context.Context) ([]Role, error) {
	var out struct {
		Value []Role `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "roles"), nil, &out)
	return out.Value, err
}

// CreateRole creates a custom role from r's name, description, actions and
// not_actions.
func (c *Client) CreateRole(ctx context.Context, r *Role) (*Role, error) {
	body := roleCreate{Name: r.Name, Description: r.Description, Actions: r.Actions, NotActions: r.NotActions}
	var out Role
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "roles"), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAssignments returns every role assignment.
func (c *Client) ListAssignments(ctx context.Context) ([]RoleAssignment, error) {
	var out struct {
		Value []RoleAssignment `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "role-assignments"), nil, &out)
	return out.Value, err
}

// CreateAssignment gives role to principal at scope ("" is "/").
func (c *Client) CreateAssignment(ctx context.Context, principal, role, scope string) (*RoleAssignment, error) {
	if scope == "" {
		scope = "/"
	}
	body := struct {
		Principal string `json:"principal"`
		Role      string `json:"role"`
		Scope     string `json:"scope"`
	}{principal, role, scope}
	var out RoleAssignment
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "role-assignments"), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAssignment removes a role assignment by id. EConflict for the
// bootstrap admin's.
func (c *Client) DeleteAssignment(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.url(nil, "api", "v1", "role-assignments", id), nil, nil)
}

// CreateToken makes an access token named name that expires after expires
// (a Go duration such as "1h"; "" takes the server's default, 24h). The
// token has no role until one is assigned to its principal.
func (c *Client) CreateToken(ctx context.Context, name, expires string) (*NewAccessToken, error) {
	body := struct {
		Name    string `json:"name"`
		Expires string `json:"expires,omitempty"`
	}{name, expires}
	var out NewAccessToken
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "tokens"), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTokens returns the live access tokens, without their values.
func (c *Client) ListTokens(ctx context.Context) ([]AccessTokenInfo, error) {
	var out struct {
		Value []AccessTokenInfo `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "tokens"), nil, &out)
	return out.Value, err
}

// RevokeToken revokes the named access token; it stops working at once.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, c.url(nil, "api", "v1", "tokens", name), nil, nil)
}

// RotateAdminToken replaces the admin token. The server rewrites the
// admin-token file in its data directory; the old token stops working, so
// this client's token does too when it was the admin token.
func (c *Client) RotateAdminToken(ctx context.Context) (*AdminToken, error) {
	var out AdminToken
	if err := c.do(ctx, http.MethodPost, c.url(nil, "api", "v1", "admin-token", "rotate"), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAudit returns the audit events f selects, oldest first.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	q := url.Values{}
	if f.Since != "" {
		q.Set("since", f.Since)
	}
	if f.Principal != "" {
		q.Set("principal", f.Principal)
	}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if len(q) == 0 {
		q = nil
	}
	var out struct {
		Value []AuditEvent `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, c.url(q, "api", "v1", "audit"), nil, &out)
	return out.Value, err
}

// VerifyAudit checks the whole audit chain on the server. A broken chain
// is not an error: it is an answer with OK false and the first Problem.
func (c *Client) VerifyAudit(ctx context.Context) (*AuditVerification, error) {
	var out AuditVerification
	if err := c.do(ctx, http.MethodGet, c.url(nil, "api", "v1", "audit", "verify"), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
