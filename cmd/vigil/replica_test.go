package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vigilhq/vigil/internal/config"
)

// replicaDSN returns a PostgreSQL DSN on a schema of its own on the server
// VIGIL_TEST_POSTGRES_DSN names (scripts/pg start). Without it the test is
// skipped, except in CI (CI=true), where it fails.
func replicaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("VIGIL_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("VIGIL_TEST_POSTGRES_DSN is not set, and CI=true: start a server with scripts/pg start")
		}
		t.Skip("VIGIL_TEST_POSTGRES_DSN is not set (eval \"$(scripts/pg start)\" to run the PostgreSQL tests)")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "replica_" + hex.EncodeToString(b)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			c.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// startReplicas starts two servers on one PostgreSQL database, sharing the
// master key file and the admin token, as docs/operations.md describes.
func startReplicas(t *testing.T) (a, b *running) {
	t.Helper()
	dsn := replicaDSN(t)
	secrets := t.TempDir()
	mk := filepath.Join(secrets, "master.key")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(mk, key, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(data string) config.Config {
		return config.Config{Data: data, DatabaseURL: dsn, DatabaseURLSource: "test", MasterKeyFile: mk}
	}
	dataA, dataB := t.TempDir(), t.TempDir()
	a = startMain(t, cfg(dataA))
	tok, err := os.ReadFile(filepath.Join(dataA, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataB, "admin-token"), tok, 0o600); err != nil {
		t.Fatal(err)
	}
	b = startMain(t, cfg(dataB))
	if out := b.stdout.String(); strings.Contains(out, "Generated") {
		t.Errorf("the second replica generated keys again:\n%s", out)
	}
	return a, b
}

// until polls cond every 10 ms and returns how long it took to hold; it
// fails the test after limit.
func until(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReplicasShareOnePostgreSQL(t *testing.T) {
	a, b := startReplicas(t)
	defer a.stop(t)
	defer b.stop(t)
	detect := "/anomalydetector/v1.1/timeseries/last/detect"
	series := hourly(48)

	// A key regenerated through A is refused by B within a second.
	_, body := api(t, a, "POST", "/endpoints/default/listKeys", "")
	var keys struct{ PrimaryKey, SecondaryKey string }
	json.Unmarshal(body, &keys)
	if keys.PrimaryKey == "" {
		t.Fatalf("listKeys: %s", body)
	}
	if code, body := post(t, b.url(detect), keys.PrimaryKey, series); code != 200 {
		t.Fatalf("B with the shared key: %d %s", code, body)
	}
	if code, body := api(t, a, "POST", "/endpoints/default/regenerateKeys", `{"keyType":"Primary"}`); code != 204 {
		t.Fatalf("regenerate through A: %d %s", code, body)
	}
	took := until(t, "B refuses the regenerated key", time.Second, func() bool {
		code, _ := post(t, b.url(detect), keys.PrimaryKey, series)
		return code == 401
	})
	t.Logf("invalidation: a key regenerated through replica A was refused by replica B after %v", took)
	_, body = api(t, a, "POST", "/endpoints/default/listKeys", "")
	var fresh struct{ PrimaryKey string }
	json.Unmarshal(body, &fresh)
	if code, _ := post(t, b.url(detect), fresh.PrimaryKey, series); code != 200 {
		t.Errorf("B with the new key: %d", code)
	}

	// A role assignment removed through A stops working on B within a
	// second.
	code, body := api(t, a, "POST", "/tokens", `{"name":"replica-reader","expires":"1h"}`)
	if code != 201 {
		t.Fatalf("token: %d %s", code, body)
	}
	var tok struct{ Principal, Token string }
	json.Unmarshal(body, &tok)
	code, body = api(t, a, "POST", "/role-assignments", fmt.Sprintf(`{"principal":%q,"role":"Reader","scope":"/"}`, tok.Principal))
	if code != 201 {
		t.Fatalf("assign through A: %d %s", code, body)
	}
	var as struct{ ID string }
	json.Unmarshal(body, &as)
	took = until(t, "B grants the role assigned through A", time.Second, func() bool {
		code, _ := apiAs(t, b, tok.Token, "GET", "/endpoints", "")
		return code == 200
	})
	t.Logf("propagation: a role assigned through replica A was honoured by replica B after %v", took)
	if code, body := api(t, a, "DELETE", "/role-assignments/"+as.ID, ""); code != 204 {
		t.Fatalf("remove the assignment through A: %d %s", code, body)
	}
	took = until(t, "B refuses after the assignment was removed through A", time.Second, func() bool {
		code, _ := apiAs(t, b, tok.Token, "GET", "/endpoints", "")
		return code == 403
	})
	t.Logf("invalidation: a role assignment removed through replica A was refused by replica B after %v", took)

	// Concurrent writes through both replicas keep one valid audit chain.
	var wg sync.WaitGroup
	for i, r := range []*running{a, b, a, b} {
		wg.Add(1)
		go func(i int, r *running) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				name := fmt.Sprintf("rep-%d-%d", i, j)
				if code, body := api(t, r, "POST", "/endpoints", fmt.Sprintf(`{"name":%q}`, name)); code != 201 {
					t.Errorf("create %s: %d %s", name, code, body)
				}
				if code, _ := api(t, r, "PATCH", "/endpoints/"+name, `{"description":"x"}`); code != 200 {
					t.Errorf("update %s: %d", name, code)
				}
				// An audited failure, from an address of its own: failures
				// are rate-limited per address.
				req, _ := http.NewRequest("POST", r.url(detect), strings.NewReader(series))
				req.Header.Set("Ocp-Apim-Subscription-Key", "wrong-key-0123456789")
				if resp, err := clientFrom("127.0.0.9").Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}(i, r)
	}
	wg.Wait()
	// Failed authentications are audited in the background, so appends
	// may still be under way. Verify reads the records and then the head in
	// two queries, and an append committed in between looks like a record
	// cut from the end (see the report); so a verification that fails is
	// retried for a while: a chain that is really broken never verifies.
	for _, r := range []*running{a, b} {
		var last []byte
		tries := 0
		until(t, "the audit chain verifies through "+r.m.Addr(), 5*time.Second, func() bool {
			tries++
			code, body := api(t, r, "GET", "/audit/verify", "")
			var v struct {
				OK      bool
				Checked int
			}
			json.Unmarshal(body, &v)
			last = body
			return code == 200 && v.OK && v.Checked >= 80
		})
		if tries > 1 {
			t.Logf("audit verify through %s needed %d tries (a read raced an append); last: %s", r.m.Addr(), tries, last)
		}
	}
	// Each replica sees the other's endpoints.
	_, list := api(t, b, "GET", "/endpoints", "")
	if !bytes.Contains(list, []byte(`"rep-0-9"`)) || !bytes.Contains(list, []byte(`"rep-1-9"`)) {
		t.Errorf("B does not list an endpoint created through A")
	}
}
