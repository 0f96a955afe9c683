// Package audit keeps Vigil's tamper-evident audit log: each record carries
// an HMAC over itself and the previous record's MAC, under a key derived
// from the data key (which only the key-encryption key unwraps), so someone
// who can write to the database can neither alter, drop nor reorder records
// without Verify naming the first one, nor rebuild the chain. The chain head
// (the newest record's seq) is kept with a MAC under the same key over that
// seq and the newest record's MAC, so records cut from the end cannot be
// hidden by moving the head back either.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

// Domain-separation labels: the first field of every MAC, so that a record
// MAC can never pass for a head MAC or the other way round. Records written
// before labels existed (legacy, "v1") start with the previous record's MAC
// instead, whose length (0 or 32) no label has.
const (
	recordLabel = "vigil audit record v2"
	headLabel   = "vigil audit head v1"
)

// Chain computes and checks record and head MACs.
type Chain struct{ key []byte }

// NewChain returns a chain keyed by key (32 bytes).
func NewChain(key []byte) *Chain { return &Chain{key: key} }

func field(m hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	m.Write(n[:])
	m.Write([]byte(s))
}

// MAC returns the MAC of ev chained to prev (the previous record's MAC, or
// nil for the first record).
func (c *Chain) MAC(prev []byte, ev vigil.AuditEvent) []byte {
	return c.recordMAC(true, prev, ev)
}

// recordMAC is the record MAC, labelled (what this version writes) or in the
// legacy form that versions before the keyed head wrote.
func (c *Chain) recordMAC(labelled bool, prev []byte, ev vigil.AuditEvent) []byte {
	m := hmac.New(sha256.New, c.key)
	if labelled {
		field(m, recordLabel)
	}
	field(m, string(prev))
	field(m, fmt.Sprint(ev.Seq))
	field(m, ev.Time.UTC().Format(time.RFC3339Nano))
	field(m, ev.Principal)
	field(m, ev.Action)
	field(m, ev.Scope)
	field(m, ev.Source)
	field(m, ev.Outcome)
	field(m, ev.Detail)
	return m.Sum(nil)
}

// HeadMAC returns the MAC the chain head stores for a log whose newest
// record is seq with MAC last. Without the key, nobody can move the head
// back to an earlier record.
func (c *Chain) HeadMAC(seq int64, last []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	field(m, headLabel)
	field(m, strconv.FormatInt(seq, 10))
	field(m, string(last))
	return m.Sum(nil)
}

// Problem describes the first break in a chain.
type Problem struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"` // "altered", "missing" or "reordered"
	Text string `json:"text"`
}

// Verify walks records in storage order and returns the first problem, or
// nil when the chain is intact. The head (headSeq and headMAC as the store
// returned them, read before the records so that appends in between do no
// harm; 0 and nil when there is no head) must be the HeadMAC of the record
// at headSeq: that catches records cut from the end, with or without the
// head moved back.
func (c *Chain) Verify(records []vigil.AuditEvent, headSeq int64, headMAC []byte) *Problem {
	return c.verify(records, headSeq, func(last []byte) bool {
		return hmac.Equal(headMAC, c.HeadMAC(headSeq, last))
	}, headMAC == nil)
}

// verifyLegacy is Verify for a head in the legacy form (the raw MAC of the
// newest record), which versions before the keyed head wrote.
func (c *Chain) verifyLegacy(records []vigil.AuditEvent, headSeq int64, headMAC []byte) *Problem {
	return c.verify(records, headSeq, func(last []byte) bool { return hmac.Equal(headMAC, last) }, headMAC == nil)
}

func (c *Chain) verify(records []vigil.AuditEvent, headSeq int64, headOK func(last []byte) bool, noHead bool) *Problem {
	var prev []byte
	var want int64 = 1
	for _, r := range records {
		switch {
		case r.Seq > want:
			return &Problem{Seq: want, Kind: "missing", Text: fmt.Sprintf("record %d is missing (the next record is %d)", want, r.Seq)}
		case r.Seq < want:
			return &Problem{Seq: r.Seq, Kind: "reordered", Text: fmt.Sprintf("record %d appears after record %d", r.Seq, want-1)}
		}
		if !hmac.Equal(r.MAC, c.recordMAC(true, prev, r)) && !hmac.Equal(r.MAC, c.recordMAC(false, prev, r)) {
			return &Problem{Seq: r.Seq, Kind: "altered", Text: fmt.Sprintf("record %d was altered (or one before it was replaced)", r.Seq)}
		}
		if r.Seq == headSeq && !noHead && !headOK(r.MAC) {
			return &Problem{Seq: headSeq + 1, Kind: "missing", Text: fmt.Sprintf("audit head does not match: records after seq %d missing or head forged", headSeq)}
		}
		prev = r.MAC
		want++
	}
	switch {
	case noHead && want > 1:
		// Every append moves the head in its transaction: records without
		// a head mean the head row was deleted.
		return &Problem{Seq: want, Kind: "missing", Text: fmt.Sprintf("audit head is missing: records after seq %d may be missing", want-1)}
	case headSeq >= want:
		return &Problem{Seq: want, Kind: "missing", Text: fmt.Sprintf("records %d to %d are missing from the end", want, headSeq)}
	}
	return nil
}

// Store appends chained records and keeps the chain head.
type Store interface {
	// AppendAudit stores events in order, each chained by mac to the one
	// before, in one transaction that also moves the chain head to
	// head(seq, MAC) of the newest record. It first checks the current head
	// against head(seq, MAC) of the newest stored record; when they differ
	// (records were cut, or the head was forged) it leaves a gap in seq, so
	// that the break stays visible to Verify instead of being covered by the
	// new head. Appending no events changes nothing.
	AppendAudit(ctx context.Context, events []vigil.AuditEvent, mac func(prev []byte, ev vigil.AuditEvent) []byte, head func(seq int64, last []byte) []byte) error
	// ListAudit returns events matching f, oldest first.
	ListAudit(ctx context.Context, f vigil.AuditFilter) ([]vigil.AuditEvent, error)
	// AuditHead returns the chain head's seq and MAC (0, nil when there is
	// no head).
	AuditHead(ctx context.Context) (int64, []byte, error)
	// ReplaceAuditHead sets the head's MAC to mac if the head is still seq
	// and old, and reports whether it did.
	ReplaceAuditHead(ctx context.Context, seq int64, old, mac []byte) (bool, error)
}

// UpgradeHead rewrites a chain head in the legacy form (the raw MAC of the
// newest record, as versions before the keyed head stored it) in the keyed
// form, if the whole chain verifies and every record is in the legacy form
// too, i.e. no record was written since the keyed head exists. It records the
// upgrade in the log, and reports whether it upgraded. A head already in the
// keyed form, or no head, is left alone (nil error); any other head is left
// for Verify to report, with an error saying why.
func UpgradeHead(ctx context.Context, c *Chain, s Store) (bool, error) {
	seq, mac, err := s.AuditHead(ctx)
	if err != nil || mac == nil {
		return false, err
	}
	newest, err := s.ListAudit(ctx, vigil.AuditFilter{Limit: 1})
	if err != nil {
		return false, err
	}
	if len(newest) != 1 || newest[0].Seq != seq {
		if s2, m2, err := s.AuditHead(ctx); err == nil && (s2 != seq || !hmac.Equal(m2, mac)) {
			return false, nil // another server appended meanwhile
		}
		return false, errors.New("audit head does not point at the newest record; left for verify to report")
	}
	last := newest[0].MAC
	if hmac.Equal(mac, c.HeadMAC(seq, last)) {
		return false, nil
	}
	if !hmac.Equal(mac, last) {
		return false, errors.New("audit head is neither in the keyed nor in the legacy form; left for verify to report")
	}
	evs, err := s.ListAudit(ctx, vigil.AuditFilter{})
	if err != nil {
		return false, err
	}
	if p := c.verifyLegacy(evs, seq, mac); p != nil {
		return false, fmt.Errorf("audit head in the legacy form not upgraded: %s", p.Text)
	}
	var prev []byte
	for _, r := range evs {
		if !hmac.Equal(r.MAC, c.recordMAC(false, prev, r)) {
			// A record written by this version, and yet a head in the
			// legacy form: only someone without the key writes that.
			return false, fmt.Errorf("audit head in the legacy form, but record %d was written since the keyed head exists: head forged; left for verify to report", r.Seq)
		}
		prev = r.MAC
	}
	ok, err := s.ReplaceAuditHead(ctx, seq, mac, c.HeadMAC(seq, last))
	if err != nil || !ok {
		// Lost to another server upgrading (or appending) at once.
		return false, err
	}
	ev := vigil.AuditEvent{Time: time.Now().UTC(), Principal: "system", Action: "audit/upgradeHead/action", Scope: "/", Source: "local",
		Outcome: vigil.OutcomeSuccess, Detail: fmt.Sprintf("chain head at record %d rewritten in the keyed form", seq)}
	return true, s.AppendAudit(ctx, []vigil.AuditEvent{ev}, c.MAC, c.HeadMAC)
}

// Log records audit events. Record is synchronous; Async queues events from
// hot paths (failed authentications) for a background writer, dropping and
// counting them only if the queue is full. A new Log first upgrades a chain
// head in the legacy form (see UpgradeHead), in the background; appends wait
// for that.
type Log struct {
	chain  *Chain
	store  Store
	logger *slog.Logger
	now    func() time.Time

	queue   chan vigil.AuditEvent
	wg      sync.WaitGroup
	dropped atomic.Int64
	once    sync.Once
	upgrade sync.Once
}

// NewLog returns a log writing to store; call Close to flush the queue.
func NewLog(chain *Chain, store Store, logger *slog.Logger, now func() time.Time) *Log {
	l := &Log{chain: chain, store: store, logger: logger, now: now, queue: make(chan vigil.AuditEvent, 4096)}
	l.wg.Add(1)
	go l.drain()
	return l
}

// upgraded runs UpgradeHead once, before the log's first append.
func (l *Log) upgraded() {
	l.upgrade.Do(func() {
		ok, err := UpgradeHead(context.Background(), l.chain, l.store)
		switch {
		case err != nil:
			l.logger.Warn("audit head not upgraded; vigil audit verify reports the chain", "err", err)
		case ok:
			l.logger.Warn("audit head rewritten in the keyed form (a one-time upgrade; it is recorded in the audit log, and should happen once per database)")
		}
	})
}

func (l *Log) stamp(ev *vigil.AuditEvent) {
	if ev.Time.IsZero() {
		ev.Time = l.now().UTC()
	}
}

// Record stores an event now.
func (l *Log) Record(ctx context.Context, ev vigil.AuditEvent) error {
	l.stamp(&ev)
	l.upgraded()
	if err := l.store.AppendAudit(ctx, []vigil.AuditEvent{ev}, l.chain.MAC, l.chain.HeadMAC); err != nil {
		l.logger.Error("audit write failed", "action", ev.Action, "err", err)
		return err
	}
	return nil
}

// Async queues an event for the background writer.
func (l *Log) Async(ev vigil.AuditEvent) {
	l.stamp(&ev)
	select {
	case l.queue <- ev:
	default:
		if n := l.dropped.Add(1); n == 1 || n%1000 == 0 {
			l.logger.Error("audit queue full; events dropped", "dropped", n)
		}
	}
}

// Dropped returns how many queued events were dropped.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

func (l *Log) drain() {
	defer l.wg.Done()
	l.upgraded()
	batch := make([]vigil.AuditEvent, 0, 256)
	for ev := range l.queue {
		batch = append(batch[:0], ev)
	more:
		for len(batch) < cap(batch) {
			select {
			case e, ok := <-l.queue:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		if err := l.store.AppendAudit(context.Background(), batch, l.chain.MAC, l.chain.HeadMAC); err != nil {
			l.logger.Error("audit write failed", "events", len(batch), "err", err)
		}
	}
}

// Close flushes queued events and stops the writer.
func (l *Log) Close() {
	l.once.Do(func() { close(l.queue) })
	l.wg.Wait()
}
