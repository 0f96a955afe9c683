package sqlrow

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"

	"github.com/vigilhq/vigil/internal/vigil"
)

// AppendAudit is the body of both stores' AppendAudit, run in tx (which
// the caller opens, locks as its dialect needs, and commits): it stores
// events in order, each chained by mac to the previous record, and moves
// the chain head to head(seq, MAC) of the newest record. A current head
// that is not head(seq, MAC) of the newest stored record (records cut from
// the end, or a head rewritten by someone without the key) is not covered
// up: the new records start one seq further, and the gap stays for verify
// to report. bind turns the "?" placeholders of a query into the
// dialect's own.
func AppendAudit(ctx context.Context, tx *sql.Tx, bind func(string) string, events []vigil.AuditEvent, mac func(prev []byte, ev vigil.AuditEvent) []byte, head func(seq int64, last []byte) []byte) error {
	var seq int64
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
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
		return err
	case headSeq != seq || !hmac.Equal(headMAC, head(seq, prev)):
		seq = max(seq, headSeq) + 1 // leave a gap
	}
	insert := bind(`INSERT INTO audit_events (seq, time, principal, action, scope, source, outcome, detail, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	for _, ev := range events {
		seq++
		ev.Seq = seq
		ev.Time = ev.Time.UTC()
		m := mac(prev, ev)
		if _, err := tx.ExecContext(ctx, insert,
			ev.Seq, ev.Time.Format(vigil.StoreTimeLayout), ev.Principal, ev.Action, ev.Scope, ev.Source, ev.Outcome, ev.Detail, m); err != nil {
			return err
		}
		prev = m
	}
	_, err = tx.ExecContext(ctx, bind(`INSERT INTO audit_head (id, seq, mac) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac`), seq, head(seq, prev))
	return err
}
