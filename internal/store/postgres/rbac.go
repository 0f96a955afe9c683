package postgres

import (
	"context"
	"encoding/json"

	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/vigil"
)

// CreateRole stores a custom role; EConflict when the name is taken.
func (s *DB) CreateRole(ctx context.Context, r rbac.Role) error {
	b, _ := json.Marshal(r)
	_, err := s.exec(ctx, `INSERT INTO roles (name, spec, created_at) VALUES ($1, $2, $3)`, r.Name, string(b), s.stamp())
	if err != nil && isUnique(err) {
		return vigil.Errorf(vigil.EConflict, "role %s already exists", r.Name)
	}
	return formatError("create role", err)
}

// Roles returns the custom roles.
func (s *DB) Roles(ctx context.Context) ([]rbac.Role, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT spec FROM roles ORDER BY lower(name), name`)
	if err != nil {
		return nil, formatError("list roles", err)
	}
	defer rows.Close()
	var out []rbac.Role
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, formatError("list roles", err)
		}
		var r rbac.Role
		if err := json.Unmarshal([]byte(spec), &r); err != nil {
			return nil, formatError("list roles", err)
		}
		out = append(out, r)
	}
	return out, formatError("list roles", rows.Err())
}

// CreateAssignment stores a role assignment; EConflict when the same one
// exists.
func (s *DB) CreateAssignment(ctx context.Context, a rbac.Assignment) error {
	_, err := s.exec(ctx, `INSERT INTO role_assignments (id, principal, role, scope, created_at) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, a.Principal, a.Role, a.Scope, s.stamp())
	if err != nil && isUnique(err) {
		return vigil.Errorf(vigil.EConflict, "%s already has role %s at %s", a.Principal, a.Role, a.Scope)
	}
	return formatError("create role assignment", err)
}

// Assignments returns every role assignment.
func (s *DB) Assignments(ctx context.Context) ([]rbac.Assignment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, principal, role, scope FROM role_assignments ORDER BY created_at, id`)
	if err != nil {
		return nil, formatError("list role assignments", err)
	}
	defer rows.Close()
	var out []rbac.Assignment
	for rows.Next() {
		var a rbac.Assignment
		if err := rows.Scan(&a.ID, &a.Principal, &a.Role, &a.Scope); err != nil {
			return nil, formatError("list role assignments", err)
		}
		out = append(out, a)
	}
	return out, formatError("list role assignments", rows.Err())
}

// DeleteAssignment deletes an assignment by id.
func (s *DB) DeleteAssignment(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM role_assignments WHERE id = $1`, id)
	if err != nil {
		return formatError("delete role assignment", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.Errorf(vigil.ENotFound, "role assignment %s does not exist", id)
	}
	return nil
}

// RevokeAccessToken revokes the live token named name; ENotFound if none.
func (s *DB) RevokeAccessToken(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `UPDATE access_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL AND principal <> 'admin'`, s.stamp(), name)
	if err != nil {
		return formatError("revoke access token", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.Errorf(vigil.ENotFound, "no live access token is named %s", name)
	}
	return nil
}
