package control_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
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
		{"fail/deleted-last-and-head-rewound", []string{`DELETE FROM audit_events WHERE seq = 10`, `UPDATE audit_head SET seq = 9`}, 9, "altered"},
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
