package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/store/sqlite"
)

// The access-control commands (token, admin-token, role, audit) have their
// golden transcripts in testdata/cli/access/, written by TestAccessCLIGolden
// with the fake server and helpers of cli_test.go. Rewrite them with:
// go test ./cmd/vigil -run TestAccessCLIGolden -update

// Canned access-control answers, in the shapes of docs/management-api.md.
const (
	accNewToken    = `{"name":"ci","principal":"token:tk7f3a9c","token":"vgt_shown-once-0123456789abcdef","expiresAt":"2026-11-22T07:00:00Z"}`
	accTokens      = `{"value":[{"name":"bootstrap-admin","principal":"admin","createdAt":"2026-11-22T05:00:00Z"},{"name":"ci","principal":"token:tk7f3a9c","expiresAt":"2026-11-22T07:00:00Z","createdAt":"2026-11-22T06:00:00Z"}]}`
	accRoleCustom  = `{"name":"Deployer","description":"Roll out deployments, nothing else.","actions":["endpoints/read","deployments/*"],"not_actions":["deployments/delete"],"built_in":false}`
	accRoles       = `{"value":[{"name":"Owner","description":"Everything, including role assignments.","actions":["*"],"built_in":true},{"name":"Reader","description":"Read endpoints, deployments, roles and tokens; no credentials, no audit log.","actions":["*/read"],"not_actions":["audit/read"],"built_in":true},` + accRoleCustom + `]}`
	accAssignment  = `{"id":"ra5d1e","principal":"token:tk7f3a9c","role":"Reader","scope":"/"}`
	accAssignments = `{"value":[{"id":"bootstrap-admin-owner","principal":"admin","role":"Owner","scope":"/"},` + accAssignment + `,{"id":"ra9b2c","principal":"group:ops","role":"Key Manager","scope":"/endpoints/plant-anomalies"}]}`
	accAudit       = `{"value":[` +
		`{"seq":41,"time":"2026-11-22T06:40:00.5Z","principal":"admin","action":"tokens/write","scope":"/tokens/ci","source":"127.0.0.1","outcome":"success"},` +
		`{"seq":42,"time":"2026-11-22T06:41:00Z","principal":"token:tk7f3a9c","action":"endpoints/listKeys/action","scope":"/endpoints/plant-anomalies","source":"10.0.0.7","outcome":"denied"},` +
		`{"seq":43,"time":"2026-11-22T06:42:00Z","principal":"anonymous","action":"management/authenticate","scope":"/","source":"10.0.0.9","outcome":"failure","detail":"bad_access_token"}]}`
	accVerifyOK      = `{"ok":true,"checked":43}`
	accVerifyAltered = `{"ok":false,"checked":43,"problem":{"seq":7,"kind":"altered","text":"record 7 was altered (or one before it was replaced)"}}`
	accVerifyMissing = `{"ok":false,"checked":41,"problem":{"seq":42,"kind":"missing","text":"records 42 to 43 are missing from the end"}}`
)

func accessRoutes() map[string]cliReply {
	ok := func(body string) cliReply { return cliReply{status: 200, body: body} }
	return map[string]cliReply{
		"POST /api/v1/tokens":                                   {status: 201, body: accNewToken},
		"GET /api/v1/tokens":                                    ok(accTokens),
		"DELETE /api/v1/tokens/ci":                              {status: 204},
		"POST /api/v1/admin-token/rotate":                       ok(`{"token":"vgt_new-admin-0123456789abcdef"}`),
		"GET /api/v1/roles":                                     ok(accRoles),
		"POST /api/v1/roles":                                    {status: 201, body: accRoleCustom},
		"GET /api/v1/role-assignments":                          ok(accAssignments),
		"POST /api/v1/role-assignments":                         {status: 201, body: accAssignment},
		"DELETE /api/v1/role-assignments/ra5d1e":                {status: 204},
		"DELETE /api/v1/role-assignments/bootstrap-admin-owner": {status: 409, body: `{"error":{"code":"Conflict","message":"the bootstrap admin's Owner assignment cannot be deleted; rotate the admin token instead"}}`},
		"GET /api/v1/audit":                                     ok(accAudit),
		"GET /api/v1/audit/verify":                              ok(accVerifyOK),
	}
}

func TestAccessCLIGolden(t *testing.T) {
	errReply := func(status int, code, msg string) cliReply {
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
		return cliReply{status: status, body: string(b)}
	}
	forbidden := func(action string) cliReply { return errReply(403, "Forbidden", "missing permission "+action) }
	const roleFile = "testdata/cli/access/deployer.yml"
	tests := []cliCase{
		// help is part of the interface
		{name: "token-help", args: []string{"token", "--help"}},
		{name: "token-create-help", args: []string{"token", "create", "--help"}},
		{name: "admin-token-rotate-help", args: []string{"admin-token", "rotate", "--help"}},
		{name: "role-help", args: []string{"role", "--help"}},
		{name: "role-definition-create-help", args: []string{"role", "definition", "create", "--help"}},
		{name: "audit-list-help", args: []string{"audit", "list", "--help"}},
		{name: "audit-verify-help", args: []string{"audit", "verify", "--help"}},

		// token create
		{name: "token-create.table", args: []string{"token", "create", "--name", "ci", "--expires", "1h"}},
		{name: "token-create.json", args: []string{"token", "create", "--name", "ci", "--expires", "1h", "-o", "json"}},
		{name: "token-create.yaml", args: []string{"token", "create", "-n", "ci", "--expires", "1h", "-o", "yaml"}},
		{name: "token-create-default-expiry", args: []string{"token", "create", "-n", "ci"}},
		{name: "token-create-bad-expires", args: []string{"token", "create", "-n", "ci", "--expires", "1 day"}},
		{name: "token-create-too-long", args: []string{"token", "create", "-n", "ci", "--expires", "9000h"}},
		{name: "token-create-no-name", args: []string{"token", "create", "--expires", "1h"}},
		{name: "token-create-conflict", args: []string{"token", "create", "-n", "ci"},
			routes: map[string]cliReply{"POST /api/v1/tokens": errReply(409, "Conflict", "a live token is already named ci; revoke it first")}},
		{name: "token-create-forbidden", args: []string{"token", "create", "-n", "ci"},
			routes: map[string]cliReply{"POST /api/v1/tokens": forbidden("tokens/write")}},

		// token list
		{name: "token-list.table", args: []string{"token", "list"}},
		{name: "token-list.json", args: []string{"token", "list", "-o", "json"}},
		{name: "token-list.yaml", args: []string{"token", "list", "-o", "yaml"}},
		{name: "token-list-empty.json", args: []string{"token", "list", "-o", "json"},
			routes: map[string]cliReply{"GET /api/v1/tokens": {status: 200, body: `{"value":[]}`}}},

		// token revoke
		{name: "token-revoke", args: []string{"token", "revoke", "--name", "ci"}},
		{name: "token-revoke-positional", args: []string{"token", "revoke", "ci"}},
		{name: "token-revoke-not-found", args: []string{"token", "revoke", "nope"},
			routes: map[string]cliReply{"DELETE /api/v1/tokens/nope": errReply(404, "NotFound", "no live access token is named nope")}},
		{name: "token-revoke-no-name", args: []string{"token", "revoke"}},
		{name: "token-revoke-two-names", args: []string{"token", "revoke", "-n", "ci", "cd"}},

		// admin-token rotate
		{name: "admin-token-rotate.table", args: []string{"admin-token", "rotate"}},
		{name: "admin-token-rotate.json", args: []string{"admin-token", "rotate", "-o", "json"}},
		{name: "admin-token-rotate.yaml", args: []string{"admin-token", "rotate", "-o", "yaml"}},
		{name: "admin-token-rotate-forbidden", args: []string{"admin-token", "rotate"},
			routes: map[string]cliReply{"POST /api/v1/admin-token/rotate": forbidden("roles/write")}},

		// role assignment
		{name: "role-assignment-create.table", args: []string{"role", "assignment", "create", "--assignee", "token:tk7f3a9c", "--role", "Reader"}},
		{name: "role-assignment-create.json", args: []string{"role", "assignment", "create", "--assignee", "token:tk7f3a9c", "--role", "Reader", "-o", "json"}},
		{name: "role-assignment-create.yaml", args: []string{"role", "assignment", "create", "--assignee", "token:tk7f3a9c", "--role", "Reader", "-o", "yaml"}},
		{name: "role-assignment-create-scope", args: []string{"role", "assignment", "create", "--assignee", "group:ops", "--role", "Key Manager", "--scope", "/endpoints/plant-anomalies"},
			routes: map[string]cliReply{"POST /api/v1/role-assignments": {status: 201, body: `{"id":"ra9b2c","principal":"group:ops","role":"Key Manager","scope":"/endpoints/plant-anomalies"}`}}},
		{name: "role-assignment-create-bad-scope", args: []string{"role", "assignment", "create", "--assignee", "group:ops", "--role", "Reader", "--scope", "/endpoint/plant-anomalies"}},
		{name: "role-assignment-create-unknown-role", args: []string{"role", "assignment", "create", "--assignee", "group:ops", "--role", "Admin"},
			routes: map[string]cliReply{"POST /api/v1/role-assignments": errReply(400, "BadRequest", `role "Admin" does not exist`)}},
		{name: "role-assignment-create-bad-assignee", args: []string{"role", "assignment", "create", "--assignee", "alice", "--role", "Reader"},
			routes: map[string]cliReply{"POST /api/v1/role-assignments": errReply(400, "BadRequest", `assignee "alice" must be user:<subject>, group:<name>, sp:<client id>, token:<id> or admin`)}},
		{name: "role-assignment-create-no-role", args: []string{"role", "assignment", "create", "--assignee", "group:ops"}},
		{name: "role-assignment-list.table", args: []string{"role", "assignment", "list"}},
		{name: "role-assignment-list.json", args: []string{"role", "assignment", "list", "-o", "json"}},
		{name: "role-assignment-list.yaml", args: []string{"role", "assignment", "list", "-o", "yaml"}},
		{name: "role-assignment-list-by-assignee", args: []string{"role", "assignment", "list", "--assignee", "group:ops"}},
		{name: "role-assignment-list-by-role-any-case.json", args: []string{"role", "assignment", "list", "--role", "reader", "-o", "json"}},
		{name: "role-assignment-list-no-match.json", args: []string{"role", "assignment", "list", "--scope", "/endpoints/other", "-o", "json"}},
		{name: "role-assignment-delete", args: []string{"role", "assignment", "delete", "--id", "ra5d1e"}},
		{name: "role-assignment-delete-by-assignee-role-scope", args: []string{"role", "assignment", "delete", "--assignee", "token:tk7f3a9c", "--role", "READER", "--scope", "/"}},
		{name: "role-assignment-delete-by-assignee-no-match", args: []string{"role", "assignment", "delete", "--assignee", "group:ops", "--role", "Reader"}},
		{name: "role-assignment-delete-needs-id-or-assignee", args: []string{"role", "assignment", "delete", "--role", "Reader"}},
		{name: "role-assignment-delete-id-and-assignee", args: []string{"role", "assignment", "delete", "--id", "ra5d1e", "--assignee", "group:ops"}},
		{name: "role-assignment-delete-bootstrap", args: []string{"role", "assignment", "delete", "--id", "bootstrap-admin-owner"}},
		{name: "role-assignment-delete-not-found", args: []string{"role", "assignment", "delete", "--id", "nope"},
			routes: map[string]cliReply{"DELETE /api/v1/role-assignments/nope": errReply(404, "NotFound", "role assignment nope does not exist")}},

		// role definition
		{name: "role-definition-create.table", args: []string{"role", "definition", "create", "-f", roleFile}},
		{name: "role-definition-create.json", args: []string{"role", "definition", "create", "-f", roleFile, "-o", "json"}},
		{name: "role-definition-create.yaml", args: []string{"role", "definition", "create", "-f", roleFile, "-o", "yaml"}},
		{name: "role-definition-create-stdin", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "name: Auditor\nactions:\n  - audit/read\n"},
		{name: "role-definition-create-unknown-key", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "name: Auditor\nactions: [audit/read]\nnotActions: [roles/write]\n"},
		{name: "role-definition-create-bad-action", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "name: Auditor\nactions:\n  - audit/read\n  - endpoint/read\n"},
		{name: "role-definition-create-not-list", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "name: Auditor\nactions: audit/read\n"},
		{name: "role-definition-create-duplicate-key", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "name: Auditor\nactions: [audit/read]\nname: Other\n"},
		{name: "role-definition-create-no-name", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "description: who?\nactions: [audit/read]\n"},
		{name: "role-definition-create-no-actions", args: []string{"role", "definition", "create", "-f", "-"},
			stdin: "name: Auditor\n"},
		{name: "role-definition-create-no-file", args: []string{"role", "definition", "create"}},
		{name: "role-definition-create-builtin-name", args: []string{"role", "definition", "create", "-f", "-"},
			stdin:  "name: reader\nactions: ['*/read']\n",
			routes: map[string]cliReply{"POST /api/v1/roles": errReply(400, "BadRequest", `"reader" is a built-in role`)}},
		{name: "role-definition-list.table", args: []string{"role", "definition", "list"}},
		{name: "role-definition-list.json", args: []string{"role", "definition", "list", "-o", "json"}},
		{name: "role-definition-list.yaml", args: []string{"role", "definition", "list", "-o", "yaml"}},

		// audit list
		{name: "audit-list.table", args: []string{"audit", "list"}},
		{name: "audit-list.json", args: []string{"audit", "list", "-o", "json"}},
		{name: "audit-list.yaml", args: []string{"audit", "list", "-o", "yaml"}},
		{name: "audit-list-filters", args: []string{"audit", "list", "--since", "1h", "--principal", "token:tk7f3a9c", "--action", "endpoints/listKeys/action", "--limit", "10"}},
		{name: "audit-list-since-time", args: []string{"audit", "list", "--since", "2026-11-22T06:00:00Z", "-o", "json"},
			routes: map[string]cliReply{"GET /api/v1/audit": {status: 200, body: `{"value":[]}`}}},
		{name: "audit-list-bad-since", args: []string{"audit", "list", "--since", "yesterday"}},
		{name: "audit-list-bad-limit", args: []string{"audit", "list", "--limit", "0"}},
		{name: "audit-list-forbidden", args: []string{"audit", "list"},
			routes: map[string]cliReply{"GET /api/v1/audit": forbidden("audit/read")}},

		// audit verify
		{name: "audit-verify.table", args: []string{"audit", "verify"}},
		{name: "audit-verify.json", args: []string{"audit", "verify", "-o", "json"}},
		{name: "audit-verify.yaml", args: []string{"audit", "verify", "-o", "yaml"}},
		{name: "audit-verify-altered.table", args: []string{"audit", "verify"},
			routes: map[string]cliReply{"GET /api/v1/audit/verify": {status: 200, body: accVerifyAltered}}},
		{name: "audit-verify-altered.json", args: []string{"audit", "verify", "-o", "json"},
			routes: map[string]cliReply{"GET /api/v1/audit/verify": {status: 200, body: accVerifyAltered}}},
		{name: "audit-verify-missing", args: []string{"audit", "verify"},
			routes: map[string]cliReply{"GET /api/v1/audit/verify": {status: 200, body: accVerifyMissing}}},
		{name: "audit-verify-unauthorized", args: []string{"audit", "verify"},
			routes: map[string]cliReply{"GET /api/v1/audit/verify": errReply(401, "Unauthorized", "A valid bearer token is required (the admin token is in the data directory's admin-token file, or the file VIGIL_ADMIN_TOKEN_FILE names).")}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate case %s", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			routes := accessRoutes()
			for k, v := range tt.routes {
				routes[k] = v
			}
			f := newCLIFake(t, routes)
			code, stdout, stderr := runCLI(t, f, tt.env, tt.stdin, tt.args...)
			if strings.Contains(stdout+stderr, cliAdminToken) {
				t.Errorf("the output shows the admin token:\n%s%s", stdout, stderr)
			}
			got := transcript(tt.args, f.log, stdout, stderr, code)
			checkGolden(t, filepath.Join("testdata", "cli", "access", tt.name+".golden"), got)
		})
	}

	// Every golden file has a case.
	files, _ := filepath.Glob(filepath.Join("testdata", "cli", "access", "*.golden"))
	var stale []string
	for _, f := range files {
		if !seen[strings.TrimSuffix(filepath.Base(f), ".golden")] {
			stale = append(stale, f)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("golden files without a case: %v", stale)
	}
}

// TestAccessCLISecretsStayPut checks where the one-time secrets go: a new
// access token only to stdout of token create; the rotated admin token
// nowhere with table output.
func TestAccessCLISecretsStayPut(t *testing.T) {
	f := newCLIFake(t, accessRoutes())
	_, stdout, stderr := runCLI(t, f, nil, "", "admin-token", "rotate")
	if strings.Contains(stdout+stderr, "vgt_new-admin") {
		t.Errorf("admin-token rotate printed the new token with table output:\n%s%s", stdout, stderr)
	}
	_, stdout, stderr = runCLI(t, f, nil, "", "token", "create", "-n", "ci")
	if !strings.Contains(stdout, "vgt_shown-once") || strings.Contains(stderr, "vgt_shown-once") {
		t.Errorf("token create: the token belongs on stdout only:\nstdout %s\nstderr %s", stdout, stderr)
	}
	for _, format := range []string{"table", "json", "yaml"} {
		_, stdout, _ = runCLI(t, f, nil, "", "token", "list", "-o", format)
		if strings.Contains(stdout, "vgt_") || strings.Contains(stdout, `"token"`) {
			t.Errorf("token list -o %s shows a token:\n%s", format, stdout)
		}
	}
}

// accessCLI drives the commands through run() against a real server.
type accessCLI struct {
	t         *testing.T
	url, data string
}

// run runs a command line with token as VIGIL_TOKEN ("" reads
// <data>/admin-token).
func (c *accessCLI) run(token string, args ...string) (int, string, string) {
	c.t.Helper()
	env := map[string]string{"VIGIL_URL": c.url, "VIGIL_DATA": c.data, "VIGIL_TOKEN": token}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

// must runs a command that has to succeed and returns its stdout.
func (c *accessCLI) must(token string, args ...string) string {
	c.t.Helper()
	code, stdout, stderr := c.run(token, args...)
	if code != 0 {
		c.t.Fatalf("vigil %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// TestAccessControlWithTheCLI: an access token is created, listed without
// its value, made Reader, reads endpoints but is refused credentials with a
// message naming the missing action, and is revoked; the audit log shows
// the refusal and verifies, the admin token rotates under the CLI, and an
// UPDATE on audit_events makes audit verify fail naming the record.
func TestAccessControlWithTheCLI(t *testing.T) {
	data := t.TempDir()
	r := startMain(t, config.Config{Data: data})
	defer r.stop(t)
	c := &accessCLI{t: t, url: r.url(""), data: data}
	const admin = "" // the admin token, from <data>/admin-token

	c.must(admin, "endpoint", "create", "-n", "sales")

	// Create: the token is printed once, with its principal.
	var tok struct{ Name, Principal, Token, ExpiresAt string }
	out := c.must(admin, "token", "create", "--name", "ci", "--expires", "1h", "-o", "json")
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Name != "ci" || !strings.HasPrefix(tok.Principal, "token:") || tok.Token == "" || tok.ExpiresAt == "" {
		t.Fatalf("token create -o json: %v\n%s", err, out)
	}

	// List: names and principals, never a token.
	out = c.must(admin, "token", "list", "-o", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("token list -o json: %v\n%s", err, out)
	}
	found := false
	for _, x := range list {
		if _, ok := x["token"]; ok {
			t.Errorf("token list shows a token field: %v", x)
		}
		if x["name"] == "ci" && x["principal"] == tok.Principal {
			found = true
		}
	}
	if !found || strings.Contains(out, tok.Token) {
		t.Errorf("token list lacks ci/%s or shows its value:\n%s", tok.Principal, out)
	}

	// No role yet: refused, naming the action.
	code, _, stderr := c.run(tok.Token, "endpoint", "list")
	if code != 1 || !strings.Contains(stderr, "missing permission endpoints/read") {
		t.Errorf("endpoint list without a role: exit %d, stderr %q", code, stderr)
	}

	// Reader at /: lists endpoints, but cannot get credentials.
	out = c.must(admin, "role", "assignment", "create", "--assignee", tok.Principal, "--role", "Reader", "-o", "json")
	var asg struct{ ID, Principal, Role, Scope string }
	if err := json.Unmarshal([]byte(out), &asg); err != nil || asg.ID == "" || asg.Role != "Reader" || asg.Scope != "/" {
		t.Fatalf("role assignment create: %v\n%s", err, out)
	}
	if out := c.must(admin, "role", "assignment", "list"); !strings.Contains(out, asg.ID) || !strings.Contains(out, tok.Principal) {
		t.Errorf("role assignment list lacks %s:\n%s", asg.ID, out)
	}
	if out := c.must(tok.Token, "endpoint", "list"); !strings.Contains(out, "sales") {
		t.Errorf("endpoint list as Reader:\n%s", out)
	}
	code, stdout, stderr := c.run(tok.Token, "endpoint", "get-credentials", "-n", "sales")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "missing permission endpoints/listKeys/action") {
		t.Errorf("get-credentials as Reader: exit %d, stdout %q, stderr %q; want exit 1 naming endpoints/listKeys/action", code, stdout, stderr)
	}

	// Revoke: the token stops working.
	c.must(admin, "token", "revoke", "ci")
	if code, _, stderr := c.run(tok.Token, "endpoint", "list"); code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("revoked token: exit %d, stderr %q; want 401", code, stderr)
	}
	if out := c.must(admin, "token", "list"); strings.Contains(out, tok.Principal) {
		t.Errorf("token list still shows the revoked token:\n%s", out)
	}

	// The audit log shows the denied call.
	out = c.must(admin, "audit", "list", "--principal", tok.Principal, "--action", "endpoints/listKeys/action", "-o", "json")
	var evs []struct {
		Seq                               int64
		Principal, Action, Scope, Outcome string
	}
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) != 1 || evs[0].Outcome != "denied" || evs[0].Scope != "/endpoints/sales" {
		t.Fatalf("audit list: %v\n%s", err, out)
	}
	denied := evs[0].Seq
	if strings.Contains(c.must(admin, "audit", "list", "-o", "yaml"), tok.Token) {
		t.Error("the audit log holds the access token")
	}
	out = c.must(admin, "audit", "verify")
	if !strings.HasPrefix(out, "audit chain intact: ") || !strings.HasSuffix(out, " records\n") {
		t.Errorf("audit verify: %q", out)
	}

	// Rotating the admin token: the server rewrites the file the CLI reads;
	// table output does not show the new token.
	old, _ := os.ReadFile(filepath.Join(data, "admin-token"))
	code, stdout, stderr = c.run(admin, "admin-token", "rotate")
	now, _ := os.ReadFile(filepath.Join(data, "admin-token"))
	if code != 0 || bytes.Equal(old, now) || strings.Contains(stdout+stderr, strings.TrimSpace(string(now))) ||
		!strings.Contains(stderr, "the new one is in "+filepath.Join(data, "admin-token")) {
		t.Fatalf("admin-token rotate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := c.run(strings.TrimSpace(string(old)), "endpoint", "list"); code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("old admin token after rotation: exit %d, stderr %q", code, stderr)
	}
	c.must(admin, "audit", "verify")

	// Tamper with the denied call's record in the database.
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec(context.Background(), `UPDATE audit_events SET outcome = 'success' WHERE seq = ?`, denied)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = c.run(admin, "audit", "verify")
	want := "record " + strconv.FormatInt(denied, 10) + " was altered"
	if code != exitAuditBroken || stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "audit chain broken at record "+strconv.FormatInt(denied, 10)+" (altered)") {
		t.Errorf("audit verify after tampering: exit %d, stdout %q, stderr %q; want exit %d naming %q", code, stdout, stderr, exitAuditBroken, want)
	}
	code, stdout, _ = c.run(admin, "audit", "verify", "-o", "json")
	var v struct {
		OK      bool
		Problem struct {
			Seq  int64
			Kind string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != exitAuditBroken || v.OK || v.Problem.Seq != denied || v.Problem.Kind != "altered" {
		t.Errorf("audit verify -o json after tampering: exit %d, %v, %s", code, err, stdout)
	}
}
