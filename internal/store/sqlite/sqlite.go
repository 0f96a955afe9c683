// Package sqlite is Vigil's embedded store: SQLite through a pure-Go driver
// (no cgo), in WAL mode, with versioned migrations embedded in the binary and
// applied on open. Driver errors are turned into *vigil.Error codes here, at
// the store's boundary.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/store/sqlrow"
	"github.com/vigilhq/vigil/internal/vigil"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is an open store.
type DB struct {
	db *sql.DB
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// Open opens (creating if needed) the database at path and migrates it to
// the schema this binary knows. It refuses a database whose schema is newer.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	if path == ":memory:" {
		dsn = "file::memory:?" + q.Encode()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1)
	}
	s := &DB{db: db, Now: time.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

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

func (s *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if known := SchemaVersion(); current > known {
		return fmt.Errorf("migrate: the database schema is version %d, newer than this binary's %d; run a newer vigil", current, known)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, s.stamp()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

func (s *DB) stamp() string { return s.Now().UTC().Format(vigil.StoreTimeLayout) }

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
	res, err := s.db.ExecContext(ctx, `INSERT INTO data_keys (kek_id, wrapped, created_at) VALUES (?, ?, ?)`, kekID, wrapped, s.stamp())
	if err != nil {
		return 0, fmt.Errorf("create data key: %w", err)
	}
	return res.LastInsertId()
}

// CreateFirstDataKey stores the wrapped data key unless the store already
// holds one, and returns the active data key either way. The insert is one
// statement, which SQLite runs under its write lock.
func (s *DB) CreateFirstDataKey(ctx context.Context, kekID string, wrapped []byte) (vigil.DataKey, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO data_keys (kek_id, wrapped, created_at) SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM data_keys)`, kekID, wrapped, s.stamp()); err != nil {
		return vigil.DataKey{}, fmt.Errorf("create data key: %w", err)
	}
	return s.ActiveDataKey(ctx)
}

// EnsureEndpoint creates the endpoint when it does not exist.
func (s *DB) EnsureEndpoint(ctx context.Context, name string) error {
	now := s.stamp()
	_, err := s.db.ExecContext(ctx, `INSERT INTO endpoints (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, now, now)
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO credentials (endpoint, slot, digest, sealed, data_key_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (endpoint, slot) DO UPDATE SET digest = excluded.digest, sealed = excluded.sealed, data_key_id = excluded.data_key_id, updated_at = excluded.updated_at`,
		k.Endpoint, string(k.Slot), k.Digest, k.Sealed, k.DataKeyID, s.stamp())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed: credentials.digest") {
			return vigil.Errorf(vigil.EConflict, "that key is already in use; choose another")
		}
		return fmt.Errorf("put key: %w", err)
	}
	return nil
}

// Exec runs a statement directly. It exists for tests and maintenance
// commands that must reach below the store's contract.
func (s *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, query, args...)
	return err
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
		res, err := tx.ExecContext(ctx, `UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE id = ?`, k.KEKID, k.Wrapped, k.ID)
		if err != nil {
			return fmt.Errorf("rewrap data key %d: %w", k.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("rewrap data key %d: not found", k.ID)
		}
	}
	return tx.Commit()
}

// IntegrityCheck runs SQLite's integrity check and returns its verdict
// ("ok" when the database is sound).
func (s *DB) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res)
	return res, err
}

// BackupTo writes a consistent copy of the live database to path (which
// must not exist), while the server keeps running.
func (s *DB) BackupTo(ctx context.Context, path string) error {
	_, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
