package rbac

import (
	"fmt"
	"testing"
)

// expected is written out by hand, not derived from the role definitions,
// so that a change to a built-in role shows up here.
var expected = map[string][]string{
	"Owner":           Actions,
	"Contributor":     without(Actions, RolesWrite),
	"Reader":          {EndpointsRead, DeploymentsRead, RolesRead, TokensRead},
	"Endpoint Scorer": {EndpointsScore, EndpointsRead},
	"Key Manager":     {EndpointsRead, EndpointsListKeys, EndpointsRegenerateKeys, EndpointsToken},
}

func without(all []string, drop string) []string {
	var out []string
	for _, a := range all {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPermissionMatrix walks every built-in role x every action x resources
// inside and outside the assignment's scope, for assignments at the root,
// at an endpoint and at a deployment.
func TestPermissionMatrix(t *testing.T) {
	type place struct {
		resource string
		inside   bool
	}
	scopes := map[string][]place{
		"/": {
			{"/", true}, {"/endpoints/sales", true}, {"/endpoints/sales/deployments/blue", true},
		},
		"/endpoints/sales": {
			{"/endpoints/sales", true}, {"/endpoints/sales/deployments/blue", true},
			{"/endpoints/sales-eu", false}, {"/endpoints/salesx", false}, {"/endpoints/other", false}, {"/", false},
		},
		"/endpoints/sales/deployments/blue": {
			{"/endpoints/sales/deployments/blue", true},
			{"/endpoints/sales", false}, {"/endpoints/sales/deployments/green", false}, {"/endpoints/sales/deployments/blue2", false}, {"/", false},
		},
	}
	cells := 0
	for _, role := range BuiltinRoles {
		for scope, places := range scopes {
			p := NewPolicy(nil, []Assignment{{ID: "a1", Principal: "user:alice", Role: role.Name, Scope: scope}})
			for _, action := range Actions {
				for _, pl := range places {
					want := pl.inside && contains(expected[role.Name], action)
					name := fmt.Sprintf("%s/%s@%s/%s", role.Name, action, scope, pl.resource)
					got := p.Decide([]string{"user:alice"}, action, pl.resource)
					if got.Allowed != want {
						t.Errorf("%s: allowed = %v, want %v", name, got.Allowed, want)
					}
					if other := p.Decide([]string{"user:bob"}, action, pl.resource); other.Allowed {
						t.Errorf("%s: a principal without the assignment was allowed", name)
					}
					cells += 2
				}
			}
		}
	}
	t.Logf("permission matrix: %d roles x %d actions x %d placements (x2 principals) = %d decisions", len(BuiltinRoles), len(Actions), 14, cells)
}

func TestDenyByDefault(t *testing.T) {
	p := NewPolicy(nil, nil)
	for _, a := range Actions {
		if p.Decide([]string{"admin"}, a, "/").Allowed {
			t.Errorf("%s allowed with no assignment", a)
		}
	}
}

func TestGroupsAndCustomRoles(t *testing.T) {
	custom := Role{Name: "Deployer", Actions: []string{"deployments/*", "endpoints/read"}, NotActions: []string{DeploymentsDelete}}
	if err := custom.Validate(); err != nil {
		t.Fatal(err)
	}
	p := NewPolicy([]Role{custom}, []Assignment{{ID: "g", Principal: "group:ml-ops", Role: "deployer", Scope: "/endpoints/sales"}})
	caller := []string{"user:carol", "group:ml-ops"}
	tests := []struct {
		action, resource string
		want             bool
	}{
		{DeploymentsWrite, "/endpoints/sales/deployments/blue", true},
		{DeploymentsRead, "/endpoints/sales", true},
		{DeploymentsDelete, "/endpoints/sales/deployments/blue", false},
		{EndpointsWrite, "/endpoints/sales", false},
		{DeploymentsWrite, "/endpoints/other/deployments/blue", false},
	}
	for _, tt := range tests {
		if got := p.Decide(caller, tt.action, tt.resource).Allowed; got != tt.want {
			t.Errorf("%s on %s: %v, want %v", tt.action, tt.resource, got, tt.want)
		}
	}
}

func TestRoleValidation(t *testing.T) {
	tests := []struct {
		name string
		role Role
		ok   bool
	}{
		{"ok/wildcard", Role{Name: "R", Actions: []string{"endpoints/*"}}, true},
		{"ok/suffix-wildcard", Role{Name: "R", Actions: []string{"*/read"}}, true},
		{"fail/unknown-action", Role{Name: "R", Actions: []string{"endpoints/fly"}}, false},
		{"fail/no-actions", Role{Name: "R"}, false},
		{"fail/builtin-name", Role{Name: "owner", Actions: []string{"*"}}, false},
		{"fail/empty-name", Role{Name: " ", Actions: []string{"*"}}, false},
	}
	for _, tt := range tests {
		if err := tt.role.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func TestScopes(t *testing.T) {
	for _, s := range []string{"/", "/endpoints/a", "/endpoints/a/deployments/b"} {
		if err := ValidateScope(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"", "endpoints/a", "/endpoints", "/endpoints/", "/endpoints/a/", "/things/a", "/endpoints/a/deployments", "/endpoints/a/x/b"} {
		if err := ValidateScope(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("endpoints/*", "endpoints/score/action")
	f.Add("*/read", "deployments/read")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if len(pattern) > 200 || len(action) > 200 {
			return
		}
		if Match(pattern, action) && pattern == action {
			return
		}
		_ = Match(pattern, action)
		if Match(action, action) != true {
			t.Fatalf("an action does not match itself: %q", action)
		}
	})
}
