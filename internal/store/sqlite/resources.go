package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/store/sqlrow"
	"github.com/vigilhq/vigil/internal/vigil"
)

// formatError turns driver errors into domain errors at the store boundary.
func formatError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *vigil.Error
	if errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.Errorf(vigil.ENotFound, "%s: not found", op)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "PRIMARY KEY") {
		return &vigil.Error{Code: vigil.EConflict, Message: op + ": already exists", Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// CreateEndpoint stores a new endpoint; EConflict when the name is taken.
func (s *DB) CreateEndpoint(ctx context.Context, e *vigil.Endpoint) error {
	now := s.Now().UTC()
	e.CreatedAt, e.UpdatedAt = now, now
	_, err := s.db.ExecContext(ctx, `INSERT INTO endpoints (`+sqlrow.EndpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Name, e.Description, e.AuthMode, e.PublicNetworkAccess, sqlrow.JSONText(e.Tags), sqlrow.JSONText(e.Traffic), sqlrow.JSONText(e.MirrorTraffic),
		now.Format(vigil.StoreTimeLayout), now.Format(vigil.StoreTimeLayout))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return vigil.Errorf(vigil.EConflict, "endpoint %s already exists; use update to change it", e.Name)
	}
	return formatError("create endpoint", err)
}

// GetEndpoint returns the named endpoint; ENotFound when there is none.
func (s *DB) GetEndpoint(ctx context.Context, name string) (vigil.Endpoint, error) {
	e, err := sqlrow.ScanEndpoint(s.db.QueryRowContext(ctx, `SELECT `+sqlrow.EndpointColumns+` FROM endpoints WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return e, vigil.Errorf(vigil.ENotFound, "endpoint %s does not exist", name)
	}
	return e, formatError("get endpoint", err)
}

// ListEndpoints returns every endpoint, sorted by name.
func (s *DB) ListEndpoints(ctx context.Context) ([]vigil.Endpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlrow.EndpointColumns+` FROM endpoints ORDER BY name`)
	if err != nil {
		return nil, formatError("list endpoints", err)
	}
	defer rows.Close()
	var out []vigil.Endpoint
	for rows.Next() {
		e, err := sqlrow.ScanEndpoint(rows)
		if err != nil {
			return nil, formatError("list endpoints", err)
		}
		out = append(out, e)
	}
	return out, formatError("list endpoints", rows.Err())
}

// UpdateEndpoint reads the endpoint and the names of its deployments, lets
// update change the endpoint (returning an error to abort), and stores the
// result, all in one transaction.
func (s *DB) UpdateEndpoint(ctx context.Context, name string, update func(e *vigil.Endpoint, deployments []string) error) (vigil.Endpoint, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return vigil.Endpoint{}, formatError("update endpoint", err)
	}
	defer tx.Rollback()
	e, err := sqlrow.ScanEndpoint(tx.QueryRowContext(ctx, `SELECT `+sqlrow.EndpointColumns+` FROM endpoints WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return e, vigil.Errorf(vigil.ENotFound, "endpoint %s does not exist", name)
	}
	if err != nil {
		return e, formatError("update endpoint", err)
	}
	deps, err := deploymentNames(ctx, tx, name)
	if err != nil {
		return e, err
	}
	if err := update(&e, deps); err != nil {
		return e, err
	}
	e.UpdatedAt = s.Now().UTC()
	_, err = tx.ExecContext(ctx, `UPDATE endpoints SET description = ?, auth_mode = ?, public_network_access = ?, tags = ?, traffic = ?, mirror_traffic = ?, updated_at = ? WHERE name = ?`,
		e.Description, e.AuthMode, e.PublicNetworkAccess, sqlrow.JSONText(e.Tags), sqlrow.JSONText(e.Traffic), sqlrow.JSONText(e.MirrorTraffic), e.UpdatedAt.Format(vigil.StoreTimeLayout), name)
	if err != nil {
		return e, formatError("update endpoint", err)
	}
	return e, formatError("update endpoint", tx.Commit())
}

// DeleteEndpoint deletes the endpoint with its deployments and keys.
func (s *DB) DeleteEndpoint(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM endpoints WHERE name = ?`, name)
	if err != nil {
		return formatError("delete endpoint", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.Errorf(vigil.ENotFound, "endpoint %s does not exist", name)
	}
	return nil
}

func deploymentNames(ctx context.Context, tx *sql.Tx, endpoint string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM deployments WHERE endpoint = ? ORDER BY name`, endpoint)
	if err != nil {
		return nil, formatError("list deployments", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, formatError("list deployments", err)
		}
		names = append(names, n)
	}
	return names, formatError("list deployments", rows.Err())
}

// CreateDeployment stores a new deployment of an existing endpoint. With
// allTraffic, the endpoint's traffic becomes {d.Name: 100} in the same
// transaction.
func (s *DB) CreateDeployment(ctx context.Context, d *vigil.SealedDeployment, allTraffic bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return formatError("create deployment", err)
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM endpoints WHERE name = ?`, d.EndpointName).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return vigil.Errorf(vigil.ENotFound, "endpoint %s does not exist; create it first", d.EndpointName)
	} else if err != nil {
		return formatError("create deployment", err)
	}
	now := s.Now().UTC()
	d.CreatedAt, d.UpdatedAt = now, now
	_, err = tx.ExecContext(ctx, `INSERT INTO deployments (endpoint, name, spec, env_sealed, data_key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.EndpointName, d.Name, sqlrow.DeploymentSpec(d.Deployment), d.EnvSealed, sqlrow.NullID(d.DataKeyID), now.Format(vigil.StoreTimeLayout), now.Format(vigil.StoreTimeLayout))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return vigil.Errorf(vigil.EConflict, "deployment %s of endpoint %s already exists; use update to change it", d.Name, d.EndpointName)
	}
	if err != nil {
		return formatError("create deployment", err)
	}
	if allTraffic {
		_, err = tx.ExecContext(ctx, `UPDATE endpoints SET traffic = ?, updated_at = ? WHERE name = ?`,
			sqlrow.JSONText(map[string]int{d.Name: 100}), now.Format(vigil.StoreTimeLayout), d.EndpointName)
		if err != nil {
			return formatError("create deployment", err)
		}
	}
	return formatError("create deployment", tx.Commit())
}

// GetDeployment returns one deployment; ENotFound when there is none.
func (s *DB) GetDeployment(ctx context.Context, endpoint, name string) (vigil.SealedDeployment, error) {
	d, err := sqlrow.ScanDeployment(s.db.QueryRowContext(ctx, `SELECT `+sqlrow.DeploymentColumns+` FROM deployments WHERE endpoint = ? AND name = ?`, endpoint, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, vigil.Errorf(vigil.ENotFound, "endpoint %s has no deployment %s", endpoint, name)
	}
	return d, formatError("get deployment", err)
}

// ListDeployments returns the endpoint's deployments sorted by name, or
// every deployment when endpoint is "".
func (s *DB) ListDeployments(ctx context.Context, endpoint string) ([]vigil.SealedDeployment, error) {
	q, args := `SELECT `+sqlrow.DeploymentColumns+` FROM deployments ORDER BY endpoint, name`, []any{}
	if endpoint != "" {
		q, args = `SELECT `+sqlrow.DeploymentColumns+` FROM deployments WHERE endpoint = ? ORDER BY name`, []any{endpoint}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, formatError("list deployments", err)
	}
	defer rows.Close()
	var out []vigil.SealedDeployment
	for rows.Next() {
		d, err := sqlrow.ScanDeployment(rows)
		if err != nil {
			return nil, formatError("list deployments", err)
		}
		out = append(out, d)
	}
	return out, formatError("list deployments", rows.Err())
}

// UpdateDeployment reads, changes (through update) and stores a deployment in
// one transaction.
func (s *DB) UpdateDeployment(ctx context.Context, endpoint, name string, update func(d *vigil.SealedDeployment) error) (vigil.SealedDeployment, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return vigil.SealedDeployment{}, formatError("update deployment", err)
	}
	defer tx.Rollback()
	d, err := sqlrow.ScanDeployment(tx.QueryRowContext(ctx, `SELECT `+sqlrow.DeploymentColumns+` FROM deployments WHERE endpoint = ? AND name = ?`, endpoint, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, vigil.Errorf(vigil.ENotFound, "endpoint %s has no deployment %s", endpoint, name)
	}
	if err != nil {
		return d, formatError("update deployment", err)
	}
	if err := update(&d); err != nil {
		return d, err
	}
	d.UpdatedAt = s.Now().UTC()
	_, err = tx.ExecContext(ctx, `UPDATE deployments SET spec = ?, env_sealed = ?, data_key_id = ?, updated_at = ? WHERE endpoint = ? AND name = ?`,
		sqlrow.DeploymentSpec(d.Deployment), d.EnvSealed, sqlrow.NullID(d.DataKeyID), d.UpdatedAt.Format(vigil.StoreTimeLayout), endpoint, name)
	if err != nil {
		return d, formatError("update deployment", err)
	}
	return d, formatError("update deployment", tx.Commit())
}

// DeleteDeployment deletes a deployment that takes no live traffic and is
// not the endpoint's mirror target (EConflict otherwise).
func (s *DB) DeleteDeployment(ctx context.Context, endpoint, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return formatError("delete deployment", err)
	}
	defer tx.Rollback()
	e, err := sqlrow.ScanEndpoint(tx.QueryRowContext(ctx, `SELECT `+sqlrow.EndpointColumns+` FROM endpoints WHERE name = ?`, endpoint))
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.Errorf(vigil.ENotFound, "endpoint %s does not exist", endpoint)
	}
	if err != nil {
		return formatError("delete deployment", err)
	}
	if p := e.Traffic[name]; p > 0 {
		return vigil.Errorf(vigil.EConflict, "deployment %s takes %d %% of endpoint %s's live traffic; move its traffic to another deployment first (vigil endpoint update -n %s --traffic ...)", name, p, endpoint, endpoint)
	}
	if _, ok := e.MirrorTraffic[name]; ok && e.MirrorTraffic[name] > 0 {
		return vigil.Errorf(vigil.EConflict, "deployment %s receives mirrored traffic of endpoint %s; clear mirror_traffic first", name, endpoint)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE endpoint = ? AND name = ?`, endpoint, name)
	if err != nil {
		return formatError("delete deployment", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.Errorf(vigil.ENotFound, "endpoint %s has no deployment %s", endpoint, name)
	}
	// Drop zero-percent entries naming the deployment.
	delete(e.Traffic, name)
	delete(e.MirrorTraffic, name)
	if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET traffic = ?, mirror_traffic = ? WHERE name = ?`, sqlrow.JSONText(e.Traffic), sqlrow.JSONText(e.MirrorTraffic), endpoint); err != nil {
		return formatError("delete deployment", err)
	}
	return formatError("delete deployment", tx.Commit())
}

// CreateSigningKey stores a new signing key.
func (s *DB) CreateSigningKey(ctx context.Context, k vigil.SigningKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO signing_keys (kid, sealed, data_key_id, created_at) VALUES (?, ?, ?, ?)`,
		k.KID, k.Sealed, k.DataKeyID, s.stamp())
	return formatError("create signing key", err)
}

// SigningKeys returns the signing keys that are not retired, newest first.
func (s *DB) SigningKeys(ctx context.Context) ([]vigil.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kid, sealed, data_key_id, created_at FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, rowid DESC`)
	if err != nil {
		return nil, formatError("list signing keys", err)
	}
	defer rows.Close()
	var out []vigil.SigningKey
	for rows.Next() {
		var k vigil.SigningKey
		var created string
		if err := rows.Scan(&k.KID, &k.Sealed, &k.DataKeyID, &created); err != nil {
			return nil, formatError("list signing keys", err)
		}
		k.CreatedAt = sqlrow.ParseTime(created)
		out = append(out, k)
	}
	return out, formatError("list signing keys", rows.Err())
}

// RetireSigningKeys retires every key created before cutoff except keep.
func (s *DB) RetireSigningKeys(ctx context.Context, before time.Time, keep string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL AND created_at < ? AND kid <> ?`,
		s.stamp(), before.UTC().Format(vigil.StoreTimeLayout), keep)
	return formatError("retire signing keys", err)
}

// CreateAccessToken stores a token's hash.
func (s *DB) CreateAccessToken(ctx context.Context, t vigil.AccessToken) error {
	var exp any
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.UTC().Format(vigil.StoreTimeLayout)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO access_tokens (id, name, principal, hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Principal, t.Hash, exp, s.stamp())
	return formatError("create access token", err)
}

// RevokeAccessTokens revokes every live token of principal.
func (s *DB) RevokeAccessTokens(ctx context.Context, principal string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = ? WHERE principal = ? AND revoked_at IS NULL`, s.stamp(), principal)
	return formatError("revoke access tokens", err)
}

// AccessTokens returns the tokens that are not revoked.
func (s *DB) AccessTokens(ctx context.Context) ([]vigil.AccessToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, principal, hash, COALESCE(expires_at, ''), created_at FROM access_tokens WHERE revoked_at IS NULL ORDER BY created_at`)
	if err != nil {
		return nil, formatError("list access tokens", err)
	}
	defer rows.Close()
	var out []vigil.AccessToken
	for rows.Next() {
		var t vigil.AccessToken
		var exp, created string
		if err := rows.Scan(&t.ID, &t.Name, &t.Principal, &t.Hash, &exp, &created); err != nil {
			return nil, formatError("list access tokens", err)
		}
		if exp != "" {
			t.ExpiresAt = sqlrow.ParseTime(exp)
		}
		t.CreatedAt = sqlrow.ParseTime(created)
		out = append(out, t)
	}
	return out, formatError("list access tokens", rows.Err())
}
