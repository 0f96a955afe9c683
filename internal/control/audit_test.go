package control_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

// TestAuditVerifyNamesTheFirstTamperedRecord writes a chain through the
// service, tampers with the database directly, and expects Verify to name
// the first altered, missing or reordered record.
func TestAuditVerifyNamesTheFirstTamperedRecord(t *testing.T) {
	tests := []struct {
		name     string
		tamper   []string
		wantSeq  int64
		wantKind string
	}{
		{"ok/untouched", nil, 0, ""},
		{"fail/edited-principal", []string{`UPDATE audit_events SET principal = 'mallory' WHERE seq = 4`}, 4, "altered"},
		{"fail/edited-outcome", []string{`UPDATE audit_events SET outcome = 'failure' WHERE seq = 7`}, 7, "altered"},
		{"fail/deleted-middle", []string{`DELETE FROM audit_events WHERE seq = 3`}, 3, "missing"},
		{"fail/deleted-last", []string{`DELETE FROM audit_events WHERE seq = 10`}, 10, "missing"},
		{"fail/deleted-last-and-head-seq-rewound", []string{`DELETE FROM audit_events WHERE seq = 10`, `UPDATE audit_head SET seq = 9`}, 10, "missing"},
		// The head moved back to the remaining last record, seq and MAC:
		// the form heads had before they were keyed, and all an attacker
		// without the key can write.
		{"fail/deleted-last-3-and-head-rewound-to-seq-and-mac", []string{`DELETE FROM audit_events WHERE seq > 7`, `UPDATE audit_head SET seq = 7, mac = (SELECT mac FROM audit_events WHERE seq = 7)`}, 8, "missing"},
		{"fail/head-random-mac", []string{`UPDATE audit_head SET mac = randomblob(32)`}, 11, "missing"},
		{"fail/head-deleted", []string{`DELETE FROM audit_head`}, 11, "missing"},
		{"fail/deleted-last-and-head-deleted", []string{`DELETE FROM audit_events WHERE seq > 7`, `DELETE FROM audit_head`}, 8, "missing"},
		{"fail/reordered", []string{
			`UPDATE audit_events SET seq = -5 WHERE seq = 5`,
			`UPDATE audit_events SET seq = 5 WHERE seq = 6`,
			`UPDATE audit_events SET seq = 6 WHERE seq = -5`,
		}, 5, "altered"},
		{"fail/chain-rebuilt-with-another-key", nil, 1, "altered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t)
			k, _ := kek.New(bytes.Repeat([]byte{1}, 32))
			ring, id, err := control.OpenKeyring(ctx, db, k)
			if err != nil {
				t.Fatal(err)
			}
			chain := audit.NewChain(ring.AuditKey())
			log := audit.NewLog(chain, db, slog.New(slog.DiscardHandler), time.Now)
			svc := &control.Service{Store: db, Ring: ring, DataKeyID: id, Audit: log}
			actx := vigil.WithActor(ctx, vigil.Actor{Principal: "admin", Source: "127.0.0.1"})
			for i := 0; i < 5; i++ {
				name := []string{"aa-one", "bb-two", "cc-three", "dd-four", "ee-five"}[i]
				if _, err := svc.CreateEndpoint(actx, vigil.Endpoint{Name: name}); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.ListKeys(actx, name); err != nil {
					t.Fatal(err)
				}
			}
			log.Close()
			if tt.name == "fail/chain-rebuilt-with-another-key" {
				// Someone with write access recomputes every MAC with a key
				// of their own: the chain no longer verifies under Vigil's.
				evs, _ := db.ListAudit(ctx, vigil.AuditFilter{})
				forged := audit.NewChain(bytes.Repeat([]byte{9}, 32))
				var prev []byte
				for _, ev := range evs {
					m := forged.MAC(prev, ev)
					if err := db.Exec(ctx, `UPDATE audit_events SET mac = ? WHERE seq = ?`, m, ev.Seq); err != nil {
						t.Fatal(err)
					}
					prev = m
				}
				db.Exec(ctx, `UPDATE audit_head SET mac = ?`, prev)
			}
			for _, q := range tt.tamper {
				if err := db.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			v, err := (&control.AuditService{Store: db, Chain: chain}).Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantKind == "" {
				if !v.OK || v.Checked != 10 {
					t.Fatalf("intact chain: %+v", v)
				}
				return
			}
			if v.OK || v.Problem == nil || v.Problem.Seq != tt.wantSeq || v.Problem.Kind != tt.wantKind {
				t.Fatalf("Verify = %+v (problem %+v), want %s at %d", v, v.Problem, tt.wantKind, tt.wantSeq)
			}
			if strings.Contains(tt.name, "rewound-to-seq-and-mac") {
				if want := "audit head does not match: records after seq 7 missing or head forged"; v.Problem.Text != want {
					t.Errorf("problem text %q, want %q", v.Problem.Text, want)
				}
			}
		})
	}
}

func TestAuditRecordsChangesWithActorAndNoSecrets(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	k, _ := kek.New(bytes.Repeat([]byte{1}, 32))
	ring, id, _ := control.OpenKeyring(ctx, db, k)
	log := audit.NewLog(audit.NewChain(ring.AuditKey()), db, slog.New(slog.DiscardHandler), time.Now)
	svc := &control.Service{Store: db, Ring: ring, DataKeyID: id, Audit: log}
	actx := vigil.WithActor(ctx, vigil.Actor{Principal: "alice", Source: "10.0.0.5"})
	svc.CreateEndpoint(actx, vigil.Endpoint{Name: "ep-one"})
	svc.RegenerateKey(actx, "ep-one", vigil.PrimaryKey, "chosen-secret-value-123")
	svc.CreateEndpoint(actx, vigil.Endpoint{Name: "ep-one"}) // conflict: recorded as a failure
	log.Close()
	evs, _ := db.ListAudit(ctx, vigil.AuditFilter{})
	want := []struct{ action, outcome string }{
		{"endpoints/write", "success"}, {"endpoints/regenerateKeys/action", "success"}, {"endpoints/write", "failure"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.Action != w.action || e.Outcome != w.outcome || e.Principal != "alice" || e.Source != "10.0.0.5" || e.Scope != "/endpoints/ep-one" {
			t.Errorf("event %d = %+v, want %s %s by alice from 10.0.0.5", i, e, w.action, w.outcome)
		}
		if bytes.Contains([]byte(e.Detail), []byte("chosen-secret")) {
			t.Errorf("event %d holds the key", i)
		}
	}
}

// legacyMAC is the record MAC as versions before the keyed head computed it
// (no domain-separation label); with a head holding the newest record's raw
// MAC, it makes a log as those versions left it.
func legacyMAC(key []byte) func(prev []byte, ev vigil.AuditEvent) []byte {
	return func(prev []byte, ev vigil.AuditEvent) []byte {
		m := hmac.New(sha256.New, key)
		for _, s := range []string{string(prev), fmt.Sprint(ev.Seq), ev.Time.UTC().Format(time.RFC3339Nano), ev.Principal, ev.Action, ev.Scope, ev.Source, ev.Outcome, ev.Detail} {
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(s)))
			m.Write(n[:])
			m.Write([]byte(s))
		}
		return m.Sum(nil)
	}
}

func legacyHead(seq int64, last []byte) []byte { return last }

// TestAuditLegacyHeadIsUpgradedOnStart: a log written before the head was
// keyed (its head the raw MAC of the newest record) verifies after the next
// start, which rewrites the head in the keyed form once and records that; a
// head put back in the legacy form afterwards is not upgraded again, and a
// legacy log that does not verify is left for verify to report.
func TestAuditLegacyHeadIsUpgradedOnStart(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*sqlite.DB, *audit.Chain, *control.AuditService) {
		db := openDB(t)
		k, _ := kek.New(bytes.Repeat([]byte{1}, 32))
		ring, _, err := control.OpenKeyring(ctx, db, k)
		if err != nil {
			t.Fatal(err)
		}
		var evs []vigil.AuditEvent
		for i := 0; i < 3; i++ {
			evs = append(evs, vigil.AuditEvent{Time: time.Now(), Principal: "admin", Action: "endpoints/write", Scope: "/endpoints/e", Source: "127.0.0.1", Outcome: vigil.OutcomeSuccess})
		}
		if err := db.AppendAudit(ctx, evs, legacyMAC(ring.AuditKey()), legacyHead); err != nil {
			t.Fatal(err)
		}
		chain := audit.NewChain(ring.AuditKey())
		return db, chain, &control.AuditService{Store: db, Chain: chain}
	}
	start := func(db *sqlite.DB, chain *audit.Chain) {
		audit.NewLog(chain, db, slog.New(slog.DiscardHandler), time.Now).Close()
	}
	verify := func(t *testing.T, svc *control.AuditService) control.Verification {
		t.Helper()
		v, err := svc.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("upgraded-once", func(t *testing.T) {
		db, chain, svc := setup(t)
		if v := verify(t, svc); v.OK || v.Problem.Seq != 4 || v.Problem.Kind != "missing" {
			t.Fatalf("a legacy head before the upgrade: %+v %+v", v, v.Problem)
		}
		start(db, chain)
		v := verify(t, svc)
		if !v.OK || v.Checked != 4 {
			t.Fatalf("after the upgrade: %+v %+v", v, v.Problem)
		}
		evs, _ := db.ListAudit(ctx, vigil.AuditFilter{})
		seq, mac, _ := db.AuditHead(ctx)
		if seq != 4 || !bytes.Equal(mac, chain.HeadMAC(4, evs[3].MAC)) || evs[3].Action != "audit/upgradeHead/action" || evs[3].Principal != "system" {
			t.Fatalf("head %d %x, newest record %+v; want the keyed head over the upgrade record", seq, mac, evs[3])
		}
		start(db, chain) // nothing more to do
		if v := verify(t, svc); !v.OK || v.Checked != 4 {
			t.Fatalf("after a second start: %+v %+v", v, v.Problem)
		}

		// Later, records are cut and the head is put back in the legacy
		// form on the last remaining one: the next start does not bless it.
		l := audit.NewLog(chain, db, slog.New(slog.DiscardHandler), time.Now)
		if err := l.Record(ctx, vigil.AuditEvent{Principal: "admin", Action: "roles/write", Scope: "/", Source: "127.0.0.1", Outcome: vigil.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		for _, q := range []string{`DELETE FROM audit_events WHERE seq = 5`, `UPDATE audit_head SET seq = 4, mac = (SELECT mac FROM audit_events WHERE seq = 4)`} {
			if err := db.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		start(db, chain)
		if v := verify(t, svc); v.OK || v.Problem.Seq != 5 || v.Problem.Kind != "missing" || !strings.Contains(v.Problem.Text, "head forged") {
			t.Fatalf("a head forged in the legacy form after the upgrade: %+v %+v", v, v.Problem)
		}
	})

	t.Run("not-upgraded-when-the-chain-is-broken", func(t *testing.T) {
		db, chain, svc := setup(t)
		if err := db.Exec(ctx, `UPDATE audit_events SET principal = 'mallory' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		start(db, chain)
		if v := verify(t, svc); v.OK || v.Problem.Seq != 2 || v.Problem.Kind != "altered" {
			t.Fatalf("%+v %+v", v, v.Problem)
		}
		if seq, mac, _ := db.AuditHead(ctx); seq != 3 {
			t.Fatalf("head moved: %d %x", seq, mac)
		}
	})

	t.Run("upgraded-at-the-first-append", func(t *testing.T) {
		db, chain, svc := setup(t)
		l := audit.NewLog(chain, db, slog.New(slog.DiscardHandler), time.Now)
		if err := l.Record(ctx, vigil.AuditEvent{Principal: "admin", Action: "roles/write", Scope: "/", Source: "127.0.0.1", Outcome: vigil.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		if v := verify(t, svc); !v.OK || v.Checked != 5 {
			t.Fatalf("%+v %+v", v, v.Problem)
		}
	})
}
