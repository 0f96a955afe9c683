package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/vigilhq/vigil/internal/store/sqlrow"
	"github.com/vigilhq/vigil/internal/vigil"
)

// AppendAudit appends chained events and moves the chain head in one
// transaction (see sqlrow.AppendAudit). A transaction-scoped advisory lock
// serializes appends from every server on the database, so each record
// chains to the one committed before it.
func (s *DB) AppendAudit(ctx context.Context, events []vigil.AuditEvent, mac func(prev []byte, ev vigil.AuditEvent) []byte, head func(seq int64, last []byte) []byte) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return formatError("append audit", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+lockKey+`)`, auditLock); err != nil {
		return formatError("append audit", err)
	}
	if err := sqlrow.AppendAudit(ctx, tx, rebind, events, mac, head); err != nil {
		return formatError("append audit", err)
	}
	return formatError("append audit", tx.Commit())
}

// ListAudit returns events matching f, oldest first.
func (s *DB) ListAudit(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error) {
	q := `SELECT seq, time, principal, action, scope, source, outcome, detail, mac FROM audit_events WHERE 1=1`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !f.Since.IsZero() {
		q += ` AND time >= ` + arg(f.Since.UTC().Format(vigil.StoreTimeLayout))
	}
	if f.Principal != "" {
		q += ` AND principal = ` + arg(f.Principal)
	}
	if f.Action != "" {
		q += ` AND action = ` + arg(f.Action)
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q = `SELECT * FROM (` + q + ` DESC LIMIT ` + arg(f.Limit) + `) AS newest ORDER BY seq`
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, formatError("list audit", err)
	}
	defer rows.Close()
	var out []vigil.AuditEvent
	for rows.Next() {
		var ev vigil.AuditEvent
		var t string
		if err := rows.Scan(&ev.Seq, &t, &ev.Principal, &ev.Action, &ev.Scope, &ev.Source, &ev.Outcome, &ev.Detail, &ev.MAC); err != nil {
			return nil, formatError("list audit", err)
		}
		ev.Time = sqlrow.ParseTime(t)
		out = append(out, ev)
	}
	return out, formatError("list audit", rows.Err())
}

// AuditHead returns the chain head (0, nil when the log is empty).
func (s *DB) AuditHead(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var mac []byte
	err := s.db.QueryRowContext(ctx, `SELECT seq, mac FROM audit_head WHERE id = 1`).Scan(&seq, &mac)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return seq, mac, formatError("audit head", err)
}

// ReplaceAuditHead sets the head's MAC to mac if the head is still seq and
// old (compare and swap), and reports whether it did.
func (s *DB) ReplaceAuditHead(ctx context.Context, seq int64, old, mac []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE audit_head SET mac = $1 WHERE id = 1 AND seq = $2 AND mac = $3`, mac, seq, old)
	if err != nil {
		return false, formatError("replace audit head", err)
	}
	n, err := res.RowsAffected()
	return n == 1, formatError("replace audit head", err)
}
