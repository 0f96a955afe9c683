package sqlite

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"

	"github.com/vigilhq/vigil/internal/store/sqlrow"
	"github.com/vigilhq/vigil/internal/vigil"
)

// AppendAudit stores events in order, each chained by mac to the previous
// record, and moves the chain head to head(seq, MAC) of the newest record,
// in one transaction. A current head that is not head(seq, MAC) of the
// newest stored record (records cut from the end, or a head rewritten by
// someone without the key) is not covered up: the new records start one seq
// further, and the gap stays for verify to report.
func (s *DB) AppendAudit(ctx context.Context, events []vigil.AuditEvent, mac func(prev []byte, ev vigil.AuditEvent) []byte, head func(seq int64, last []byte) []byte) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return formatError("append audit", err)
	}
	defer tx.Rollback()
	var seq int64
	var prev []byte
	err = tx.QueryRowContext(ctx, `SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return formatError("append audit", err)
	}
	var headSeq int64
	var headMAC []byte
	err = tx.QueryRowContext(ctx, `SELECT seq, mac FROM audit_head WHERE id = 1`).Scan(&headSeq, &headMAC)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if seq != 0 {
			seq++ // records without a head: leave a gap
		}
	case err != nil:
		return formatError("append audit", err)
	case headSeq != seq || !hmac.Equal(headMAC, head(seq, prev)):
		seq = max(seq, headSeq) + 1 // leave a gap
	}
	for _, ev := range events {
		seq++
		ev.Seq = seq
		ev.Time = ev.Time.UTC()
		m := mac(prev, ev)
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (seq, time, principal, action, scope, source, outcome, detail, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ev.Seq, ev.Time.Format(vigil.StoreTimeLayout), ev.Principal, ev.Action, ev.Scope, ev.Source, ev.Outcome, ev.Detail, m); err != nil {
			return formatError("append audit", err)
		}
		prev = m
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_head (id, seq, mac) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac`, seq, head(seq, prev)); err != nil {
		return formatError("append audit", err)
	}
	return formatError("append audit", tx.Commit())
}

// ListAudit returns events matching f, oldest first.
func (s *DB) ListAudit(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error) {
	q := `SELECT seq, time, principal, action, scope, source, outcome, detail, mac FROM audit_events WHERE 1=1`
	var args []any
	if !f.Since.IsZero() {
		q += ` AND time >= ?`
		args = append(args, f.Since.UTC().Format(vigil.StoreTimeLayout))
	}
	if f.Principal != "" {
		q += ` AND principal = ?`
		args = append(args, f.Principal)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q = `SELECT * FROM (` + q + ` DESC LIMIT ?) ORDER BY seq`
		args = append(args, f.Limit)
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
	res, err := s.db.ExecContext(ctx, `UPDATE audit_head SET mac = ? WHERE id = 1 AND seq = ? AND mac = ?`, mac, seq, old)
	if err != nil {
		return false, formatError("replace audit head", err)
	}
	n, err := res.RowsAffected()
	return n == 1, formatError("replace audit head", err)
}
