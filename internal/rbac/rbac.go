// Package rbac decides who may do what where: roles grant actions (with
// wildcards), assignments give a role to a principal at a scope, and Decide
// allows an action on a resource only when some assignment of one of the
// caller's principals, at a scope containing the resource, grants it. Deny
// by default; no I/O.
package rbac

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The actions Vigil checks.
const (
	EndpointsRead           = "endpoints/read"
	EndpointsWrite          = "endpoints/write"
	EndpointsDelete         = "endpoints/delete"
	EndpointsScore          = "endpoints/score/action"
	EndpointsToken          = "endpoints/token/action"
	EndpointsListKeys       = "endpoints/listKeys/action"
	EndpointsRegenerateKeys = "endpoints/regenerateKeys/action"
	DeploymentsRead         = "deployments/read"
	DeploymentsWrite        = "deployments/write"
	DeploymentsDelete       = "deployments/delete"
	RolesRead               = "roles/read"
	RolesWrite              = "roles/write"
	TokensRead              = "tokens/read"
	TokensWrite             = "tokens/write"
	AuditRead               = "audit/read"
	SigningKeysRotate       = "signingKeys/rotate/action"
)

// Actions lists every action, for tables and validation.
var Actions = []string{
	EndpointsRead, EndpointsWrite, EndpointsDelete, EndpointsScore, EndpointsToken, EndpointsListKeys, EndpointsRegenerateKeys,
	DeploymentsRead, DeploymentsWrite, DeploymentsDelete,
	RolesRead, RolesWrite, TokensRead, TokensWrite, AuditRead, SigningKeysRotate,
}

// Role is a named set of action patterns. A pattern is an action, or has
// "*" standing for any one or more path segments ("endpoints/*", "*/read",
// "*"). NotActions are removed from what Actions grant.
type Role struct {
	Name        string   `json:"name" yaml:"name"`
	Description string   `json:"description" yaml:"description"`
	Actions     []string `json:"actions" yaml:"actions"`
	NotActions  []string `json:"not_actions,omitempty" yaml:"not_actions"`
	BuiltIn     bool     `json:"built_in" yaml:"-"`
}

// The built-in roles.
var BuiltinRoles = []Role{
	{Name: "Owner", Description: "Everything, including role assignments.", Actions: []string{"*"}, BuiltIn: true},
	{Name: "Contributor", Description: "Everything except role assignments.", Actions: []string{"*"}, NotActions: []string{RolesWrite}, BuiltIn: true},
	{Name: "Reader", Description: "Read endpoints, deployments, roles and tokens; no credentials, no audit log.", Actions: []string{"*/read"}, NotActions: []string{AuditRead}, BuiltIn: true},
	{Name: "Endpoint Scorer", Description: "Score an endpoint with an identity-provider token, and read it.", Actions: []string{EndpointsScore, EndpointsRead}, BuiltIn: true},
	{Name: "Key Manager", Description: "Read, regenerate and issue an endpoint's credentials.", Actions: []string{EndpointsRead, EndpointsListKeys, EndpointsRegenerateKeys, EndpointsToken}, BuiltIn: true},
}

// Validate checks a custom role.
func (r Role) Validate() error {
	if strings.TrimSpace(r.Name) == "" || len(r.Name) > 64 {
		return fmt.Errorf("name must be 1 to 64 characters")
	}
	for _, b := range BuiltinRoles {
		if strings.EqualFold(b.Name, r.Name) {
			return fmt.Errorf("%q is a built-in role", r.Name)
		}
	}
	if len(r.Actions) == 0 {
		return fmt.Errorf("actions must list at least one action")
	}
	for _, list := range [][]string{r.Actions, r.NotActions} {
		for _, p := range list {
			if !patternMatchesSome(p) {
				return fmt.Errorf("action %q matches no action Vigil knows (known: %s)", p, strings.Join(Actions, ", "))
			}
		}
	}
	return nil
}

func patternMatchesSome(p string) bool {
	for _, a := range Actions {
		if Match(p, a) {
			return true
		}
	}
	return false
}

// Match reports whether pattern grants action. "*" in a pattern stands for
// one or more whole segments.
func Match(pattern, action string) bool {
	ps, as := strings.Split(pattern, "/"), strings.Split(action, "/")
	return matchSegs(ps, as)
}

func matchSegs(ps, as []string) bool {
	if len(ps) == 0 {
		return len(as) == 0
	}
	if ps[0] == "*" {
		for n := 1; n <= len(as); n++ {
			if matchSegs(ps[1:], as[n:]) {
				return true
			}
		}
		return false
	}
	return len(as) > 0 && strings.EqualFold(ps[0], as[0]) && matchSegs(ps[1:], as[1:])
}

// Grants reports whether the role grants action.
func (r Role) Grants(action string) bool {
	for _, n := range r.NotActions {
		if Match(n, action) {
			return false
		}
	}
	for _, a := range r.Actions {
		if Match(a, action) {
			return true
		}
	}
	return false
}

// Assignment gives Role to Principal at Scope.
type Assignment struct {
	ID        string `json:"id"`
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Scope     string `json:"scope"`
}

// ValidateScope checks a scope: "/", "/endpoints/{name}" or
// "/endpoints/{name}/deployments/{name}".
func ValidateScope(scope string) error {
	if scope == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if !strings.HasPrefix(scope, "/") || (len(parts) != 2 && len(parts) != 4) || parts[0] != "endpoints" || (len(parts) == 4 && parts[2] != "deployments") || slices.Contains(parts, "") {
		return fmt.Errorf("scope %q must be /, /endpoints/{name} or /endpoints/{name}/deployments/{name}", scope)
	}
	return nil
}

// Contains reports whether scope contains resource: they are equal, or
// resource lies below scope at a segment boundary.
func Contains(scope, resource string) bool {
	if scope == "/" {
		return true
	}
	return resource == scope || strings.HasPrefix(resource, scope+"/")
}

// Policy is the set of roles and assignments a decision reads.
type Policy struct {
	Roles       map[string]Role
	Assignments []Assignment
}

// NewPolicy returns a policy of the built-in roles, the custom roles and
// the assignments.
func NewPolicy(custom []Role, assignments []Assignment) *Policy {
	p := &Policy{Roles: map[string]Role{}, Assignments: assignments}
	for _, r := range BuiltinRoles {
		p.Roles[strings.ToLower(r.Name)] = r
	}
	for _, r := range custom {
		p.Roles[strings.ToLower(r.Name)] = r
	}
	return p
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	// Action is the action checked, which a 403 names.
	Action string
	// By names the assignment that allowed it.
	By string
}

// Decide reports whether any of principals (a caller's own id and its
// groups) may do action on resource.
func (p *Policy) Decide(principals []string, action, resource string) Decision {
	for _, a := range p.Assignments {
		if !slices.Contains(principals, a.Principal) || !Contains(a.Scope, resource) {
			continue
		}
		if r, ok := p.Roles[strings.ToLower(a.Role)]; ok && r.Grants(action) {
			return Decision{Allowed: true, Action: action, By: a.ID}
		}
	}
	return Decision{Action: action}
}

// RoleNames returns the policy's role names, sorted.
func (p *Policy) RoleNames() []string {
	var out []string
	for _, r := range p.Roles {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}
