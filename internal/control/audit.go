package control

import (
	"context"

	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/vigil"
)

// AuditReader reads the audit log.
type AuditReader interface {
	ListAudit(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error)
	AuditHead(ctx context.Context) (int64, []byte, error)
}

// AuditService lists and verifies the audit log.
type AuditService struct {
	Store AuditReader
	Chain *audit.Chain
}

// List returns the events f selects, oldest first.
func (a *AuditService) List(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error) {
	return a.Store.ListAudit(ctx, f)
}

// Verification is the result of checking the whole chain.
type Verification struct {
	OK      bool           `json:"ok"`
	Checked int            `json:"checked"`
	Problem *audit.Problem `json:"problem,omitempty"`
}

// Verify checks every record of the chain and its head: the head's MAC,
// keyed like the records', must match the record it names, so records cut
// from the end are reported even when the head was moved back to the last
// remaining record.
func (a *AuditService) Verify(ctx context.Context) (Verification, error) {
	// The head first: records appended after it are still checked, and
	// cannot be mistaken for a cut.
	seq, mac, err := a.Store.AuditHead(ctx)
	if err != nil {
		return Verification{}, err
	}
	evs, err := a.Store.ListAudit(ctx, vigil.AuditFilter{})
	if err != nil {
		return Verification{}, err
	}
	if mac == nil && len(evs) > 0 {
		// No head yet when it was read: the first records may have been
		// appended since, with their head.
		if seq, mac, err = a.Store.AuditHead(ctx); err != nil {
			return Verification{}, err
		}
	}
	p := a.Chain.Verify(evs, seq, mac)
	return Verification{OK: p == nil, Checked: len(evs), Problem: p}, nil
}
