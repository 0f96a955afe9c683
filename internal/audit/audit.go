// Package audit keeps Vigil's tamper-evident audit log: each record carries
// an HMAC over itself and the previous record's MAC, under a key derived
// from the data key (which only the key-encryption key unwraps), so someone
// who can write to the database can neither alter, drop nor reorder records
// without Verify naming the first one, nor rebuild the chain.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

// Chain computes and checks record MACs.
type Chain struct{ key []byte }

// NewChain returns a chain keyed by key (32 bytes).
func NewChain(key []byte) *Chain { return &Chain{key: key} }

// MAC returns the MAC of ev chained to prev (the previous record's MAC, or
// nil for the first record).
func (c *Chain) MAC(prev []byte, ev vigil.AuditEvent) []byte {
	m := hmac.New(sha256.New, c.key)
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	field(string(prev))
	field(fmt.Sprint(ev.Seq))
	field(ev.Time.UTC().Format(time.RFC3339Nano))
	field(ev.Principal)
	field(ev.Action)
	field(ev.Scope)
	field(ev.Source)
	field(ev.Outcome)
	field(ev.Detail)
	return m.Sum(nil)
}

// Problem describes the first break in a chain.
type Problem struct {
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"` // "altered", "missing" or "reordered"
	Text string `json:"text"`
}

// Verify walks records in storage order and returns the first problem, or
// nil when the chain is intact. The head (seq and MAC of the newest record
// when it was read, read before the records so that appends in between do
// no harm) also catches records cut from the end.
func (c *Chain) Verify(records []vigil.AuditEvent, headSeq int64, headMAC []byte) *Problem {
	var prev []byte
	var want int64 = 1
	for _, r := range records {
		switch {
		case r.Seq > want:
			return &Problem{Seq: want, Kind: "missing", Text: fmt.Sprintf("record %d is missing (the next record is %d)", want, r.Seq)}
		case r.Seq < want:
			return &Problem{Seq: r.Seq, Kind: "reordered", Text: fmt.Sprintf("record %d appears after record %d", r.Seq, want-1)}
		}
		if !hmac.Equal(r.MAC, c.MAC(prev, r)) {
			return &Problem{Seq: r.Seq, Kind: "altered", Text: fmt.Sprintf("record %d was altered (or one before it was replaced)", r.Seq)}
		}
		if r.Seq == headSeq && headMAC != nil && !hmac.Equal(headMAC, r.MAC) {
			return &Problem{Seq: headSeq, Kind: "altered", Text: fmt.Sprintf("record %d does not match the chain head", headSeq)}
		}
		prev = r.MAC
		want++
	}
	if headSeq >= want {
		return &Problem{Seq: want, Kind: "missing", Text: fmt.Sprintf("records %d to %d are missing from the end", want, headSeq)}
	}
	return nil
}

// Store appends chained records.
type Store interface {
	// AppendAudit stores events in order, each chained by mac to the one
	// before, in one transaction that also moves the chain head.
	AppendAudit(ctx context.Context, events []vigil.AuditEvent, mac func(prev []byte, ev vigil.AuditEvent) []byte) error
}

// Log records audit events. Record is synchronous; Async queues events from
// hot paths (failed authentications) for a background writer, dropping and
// counting them only if the queue is full.
type Log struct {
	chain  *Chain
	store  Store
	logger *slog.Logger
	now    func() time.Time

	queue   chan vigil.AuditEvent
	wg      sync.WaitGroup
	dropped atomic.Int64
	once    sync.Once
}

// NewLog returns a log writing to store; call Close to flush the queue.
func NewLog(chain *Chain, store Store, logger *slog.Logger, now func() time.Time) *Log {
	l := &Log{chain: chain, store: store, logger: logger, now: now, queue: make(chan vigil.AuditEvent, 4096)}
	l.wg.Add(1)
	go l.drain()
	return l
}

func (l *Log) stamp(ev *vigil.AuditEvent) {
	if ev.Time.IsZero() {
		ev.Time = l.now().UTC()
	}
}

// Record stores an event now.
func (l *Log) Record(ctx context.Context, ev vigil.AuditEvent) error {
	l.stamp(&ev)
	if err := l.store.AppendAudit(ctx, []vigil.AuditEvent{ev}, l.chain.MAC); err != nil {
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
		if err := l.store.AppendAudit(context.Background(), batch, l.chain.MAC); err != nil {
			l.logger.Error("audit write failed", "events", len(batch), "err", err)
		}
	}
}

// Close flushes queued events and stops the writer.
func (l *Log) Close() {
	l.once.Do(func() { close(l.queue) })
	l.wg.Wait()
}
