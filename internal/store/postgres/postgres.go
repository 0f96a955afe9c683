// Package postgres is Vigil's PostgreSQL store: the same contract as the
// embedded SQLite store (package sqlite), through pgx, with its own
// versioned migrations embedded in the binary and applied on open under an
// advisory lock, so replicas starting together migrate once. Driver errors
// are turned into *vigil.Error codes here, at the store's boundary.
//
// Several Vigil servers may share one database. Every change is announced
// with NOTIFY on the channel vigil_changes, in the changing transaction (so
// only committed changes are announced); Listen delivers them, and the
// server reloads what it caches.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/vigilhq/vigil/internal/store/sqlrow"
	"github.com/vigilhq/vigil/internal/vigil"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Channel is the LISTEN/NOTIFY channel on which changes are announced. The
// payload is the schema that changed, so installations sharing a database
// in different schemas ignore each other.
const Channel = "vigil_changes"

// DB is an open store.
type DB struct {
	db     *sql.DB
	config *pgx.ConnConfig
	schema string
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// OnListenError, when set before Listen, is told why the listening
	// connection failed (its message holds no password).
	OnListenError func(error)
}

// Open connects to the database dsn names (a postgres:// URL or a
// key=value connection string, as libpq takes) and migrates it to the
// schema this binary knows. It refuses a database whose schema is newer.
// Errors never contain the DSN's password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, redact(fmt.Errorf("database URL: %w", err), dsn)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &DB{db: db, config: cfg, Now: time.Now}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, redact(err, dsn, cfg.Password)
	}
	return s, nil
}

func (s *DB) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	var schema sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s.schema = schema.String
	if s.schema == "" {
		return errors.New("PostgreSQL: no schema to use: the search_path names no schema that exists; create one (see docs/operations.md)")
	}
	return s.migrate(ctx)
}

// redact removes secrets (the DSN, its password) from err's message.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, sec := range secrets {
		if sec != "" && strings.Contains(msg, sec) {
			if strings.Contains(sec, "://") || strings.Contains(sec, "=") {
				msg = strings.ReplaceAll(msg, sec, RedactDSN(sec))
			} else {
				msg = strings.ReplaceAll(msg, sec, "xxxxx")
			}
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}

// RedactDSN returns dsn with its password replaced by "xxxxx", for logs and
// messages; a DSN it cannot parse becomes "(unparsable database URL)".
func RedactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable database URL)"
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	// key=value form: hide the value of password=..., quoted or not.
	var out []string
	for _, f := range splitKV(dsn) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "password" {
			f = "password=xxxxx"
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

// splitKV splits a key=value connection string into its settings, keeping
// single-quoted values (which may hold spaces) whole.
func splitKV(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			b.WriteByte(s[i])
			continue
		case c == '\'':
			quoted = !quoted
		case c == ' ' && !quoted:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Schema returns the PostgreSQL schema the store lives in.
func (s *DB) Schema() string { return s.schema }

// migrations are this store's embedded migration files, in order.
func migrations() ([]sqlrow.Migration, error) { return sqlrow.Migrations(migrationFS, "migrations") }

// SchemaVersion is the newest schema version this binary knows.
func SchemaVersion() int {
	ms, _ := migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Advisory lock names; the key is hashed with the schema, so installations
// in different schemas of one database do not wait for each other.
const (
	migrateLock = "vigil.migrate"
	auditLock   = "vigil.audit"
	dataKeyLock = "vigil.first-data-key"
)

// lockKey is the SQL expression of an advisory lock's key.
const lockKey = `hashtextextended(current_schema() || '/' || $1, 0)`

func (s *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// One connection holds a session advisory lock for the whole migration:
	// a replica starting at the same time waits here, then finds the schema
	// current.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`, migrateLock); err != nil {
		return fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+lockKey+`)`, migrateLock)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", mapPrivilege(err))
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if known := SchemaVersion(); current > known {
		return fmt.Errorf("migrate: the database schema is version %d, newer than this binary's %d; run a newer vigil", current, known)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.Name, mapPrivilege(err))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, m.Name, s.stamp()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

// mapPrivilege explains a permission error during migration.
func mapPrivilege(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return fmt.Errorf("%w (Vigil's role needs USAGE and CREATE on the schema it uses, best as the schema's owner; see docs/operations.md)", err)
	}
	return err
}

func (s *DB) stamp() string { return s.Now().UTC().Format(vigil.StoreTimeLayout) }

// notify announces a change; inside a transaction the notification is sent
// when (and only if) it commits.
func notify(ctx context.Context, x execer) error {
	_, err := x.ExecContext(ctx, `SELECT pg_notify('`+Channel+`', current_schema())`)
	return err
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Notify announces a change made outside the store's methods (through Exec,
// say) to every server listening on the database.
func (s *DB) Notify(ctx context.Context) error {
	return formatError("notify", notify(ctx, s.db))
}

// exec runs one changing statement and announces it, in one transaction.
func (s *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := notify(ctx, tx); err != nil {
			return nil, err
		}
	}
	return res, tx.Commit()
}

// ActiveDataKey returns the newest data key, or a not_found error when the
// store has none yet.
func (s *DB) ActiveDataKey(ctx context.Context) (vigil.DataKey, error) {
	var k vigil.DataKey
	err := s.db.QueryRowContext(ctx, `SELECT id, kek_id, wrapped FROM data_keys ORDER BY id DESC LIMIT 1`).Scan(&k.ID, &k.KEKID, &k.Wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return k, vigil.Errorf(vigil.ENotFound, "no data key")
	}
	if err != nil {
		return k, fmt.Errorf("read data key: %w", err)
	}
	return k, nil
}

// CreateDataKey stores a new wrapped data key and returns its id.
func (s *DB) CreateDataKey(ctx context.Context, kekID string, wrapped []byte) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO data_keys (kek_id, wrapped, created_at) VALUES ($1, $2, $3) RETURNING id`, kekID, wrapped, s.stamp()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create data key: %w", err)
	}
	return id, nil
}

// CreateFirstDataKey stores the wrapped data key unless the store already
// holds one, and returns the active data key either way. An advisory lock
// makes servers that start together on an empty database agree on one key.
func (s *DB) CreateFirstDataKey(ctx context.Context, kekID string, wrapped []byte) (vigil.DataKey, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return vigil.DataKey{}, fmt.Errorf("create data key: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+lockKey+`)`, dataKeyLock); err != nil {
		return vigil.DataKey{}, fmt.Errorf("create data key: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO data_keys (kek_id, wrapped, created_at) SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM data_keys)`, kekID, wrapped, s.stamp()); err != nil {
		return vigil.DataKey{}, fmt.Errorf("create data key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return vigil.DataKey{}, fmt.Errorf("create data key: %w", err)
	}
	return s.ActiveDataKey(ctx)
}

// EnsureEndpoint creates the endpoint when it does not exist.
func (s *DB) EnsureEndpoint(ctx context.Context, name string) error {
	now := s.stamp()
	_, err := s.exec(ctx, `INSERT INTO endpoints (name, created_at, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`, name, now, now)
	if err != nil {
		return fmt.Errorf("ensure endpoint: %w", err)
	}
	return nil
}

// Keys returns every stored endpoint key.
func (s *DB) Keys(ctx context.Context) ([]vigil.StoredKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT endpoint, slot, digest, sealed, data_key_id FROM credentials ORDER BY endpoint, slot`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var ks []vigil.StoredKey
	for rows.Next() {
		var k vigil.StoredKey
		var slot string
		if err := rows.Scan(&k.Endpoint, &slot, &k.Digest, &k.Sealed, &k.DataKeyID); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		k.Slot = vigil.KeySlot(slot)
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

// PutKey stores (or replaces) the key in an endpoint's slot.
func (s *DB) PutKey(ctx context.Context, k vigil.StoredKey) error {
	_, err := s.exec(ctx, `INSERT INTO credentials (endpoint, slot, digest, sealed, data_key_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (endpoint, slot) DO UPDATE SET digest = excluded.digest, sealed = excluded.sealed, data_key_id = excluded.data_key_id, updated_at = excluded.updated_at`,
		k.Endpoint, string(k.Slot), k.Digest, k.Sealed, k.DataKeyID, s.stamp())
	if err != nil {
		if constraint(err, "23505") == "credentials_digest_key" {
			return vigil.Errorf(vigil.EConflict, "that key is already in use; choose another")
		}
		return fmt.Errorf("put key: %w", err)
	}
	return nil
}

// Exec runs a statement directly and announces a change. It exists for
// tests and maintenance commands that must reach below the store's
// contract. Like the SQLite store's, it takes ? placeholders ($1... work
// too).
func (s *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.exec(ctx, rebind(query), args...)
	return err
}

// rebind turns ? placeholders outside quotes into $1, $2, ...
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// DataKeys returns every data key, oldest first.
func (s *DB) DataKeys(ctx context.Context) ([]vigil.DataKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, kek_id, wrapped FROM data_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list data keys: %w", err)
	}
	defer rows.Close()
	var out []vigil.DataKey
	for rows.Next() {
		var k vigil.DataKey
		if err := rows.Scan(&k.ID, &k.KEKID, &k.Wrapped); err != nil {
			return nil, fmt.Errorf("list data keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RewrapDataKeys replaces the wrapped form of data keys in one
// transaction: every key is rewrapped, or none is.
func (s *DB) RewrapDataKeys(ctx context.Context, keys []vigil.DataKey) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rewrap data keys: %w", err)
	}
	defer tx.Rollback()
	for _, k := range keys {
		res, err := tx.ExecContext(ctx, `UPDATE data_keys SET kek_id = $1, wrapped = $2 WHERE id = $3`, k.KEKID, k.Wrapped, k.ID)
		if err != nil {
			return fmt.Errorf("rewrap data key %d: %w", k.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("rewrap data key %d: not found", k.ID)
		}
	}
	if err := notify(ctx, tx); err != nil {
		return fmt.Errorf("rewrap data keys: %w", err)
	}
	return tx.Commit()
}

// IntegrityCheck returns "ok" when the server answers and the store's
// schema is the one this binary knows. PostgreSQL checks its own pages
// (with data checksums when the cluster has them); a full check is
// pg_amcheck's job, not the server's.
func (s *DB) IntegrityCheck(ctx context.Context) (string, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return "", fmt.Errorf("integrity check: %w", err)
	}
	if v != SchemaVersion() {
		return fmt.Sprintf("schema version %d, want %d", v, SchemaVersion()), nil
	}
	return "ok", nil
}

// constraint returns the constraint named by err when err is a PostgreSQL
// error with the given SQLSTATE, and "" otherwise.
func constraint(err error, code string) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == code {
		if pe.ConstraintName == "" {
			return "?"
		}
		return pe.ConstraintName
	}
	return ""
}

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool { return constraint(err, "23505") != "" }
