package postgres_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vigilhq/vigil/internal/store/postgres"
	"github.com/vigilhq/vigil/internal/store/storetest"
	"github.com/vigilhq/vigil/internal/vigil"
)

// adminDSN returns the DSN of a PostgreSQL superuser on a throwaway server
// (VIGIL_TEST_POSTGRES_DSN; scripts/pg start prints it). Without it the
// test is skipped, except in CI (CI=true), where it fails: CI must run the
// PostgreSQL backend against a real server.
func adminDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("VIGIL_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("VIGIL_TEST_POSTGRES_DSN is not set, and CI=true: start a server with scripts/pg start")
		}
		t.Skip("VIGIL_TEST_POSTGRES_DSN is not set (eval \"$(scripts/pg start)\" to run the PostgreSQL tests)")
	}
	return dsn
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func exec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// appRole and appPassword are the least-privilege role of
// docs/operations.md ("PostgreSQL"), which every test here runs as.
const (
	appRole     = "vigil_app"
	appPassword = "vigil-app-test-password"
)

// roleSQL is the setup docs/operations.md gives, word for word (with the
// database name and password filled in): TestRoleSQLIsDocumented keeps the
// two the same, and newCluster runs it.
const roleSQL = `CREATE ROLE vigil_app LOGIN PASSWORD '{{password}}';
CREATE DATABASE {{db}};
REVOKE ALL ON DATABASE {{db}} FROM PUBLIC;
GRANT CONNECT ON DATABASE {{db}} TO vigil_app;
\connect {{db}}
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA vigil_app AUTHORIZATION vigil_app;`

func renderRoleSQL(db, password string) string {
	return strings.NewReplacer("{{db}}", db, "{{password}}", password).Replace(roleSQL)
}

func TestRoleSQLIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := renderRoleSQL("vigil", "change-me"); !strings.Contains(string(doc), want) {
		t.Errorf("docs/operations.md does not give the role setup the tests run:\n%s", want)
	}
}

// cluster is a database made for one test, with the least-privilege role
// allowed to connect to it and nothing more.
type cluster struct {
	admin *pgx.Conn // superuser, connected to the database
	base  *url.URL  // the database, as the app role, without search_path
	db    string
}

// newCluster creates a database for the test by running roleSQL, as an
// operator would with psql; the role is made once per server.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	dsn := adminDSN(t)
	ctx := context.Background()
	name := randomName("vigil_test_")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, dsn)
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	for _, stmt := range strings.Split(renderRoleSQL(name, appPassword), "\n") {
		if db, ok := strings.CutPrefix(stmt, `\connect `); ok {
			u.Path = "/" + db
			conn = connect(t, u.String())
			continue
		}
		_, err := conn.Exec(ctx, stmt)
		if err != nil && strings.HasPrefix(stmt, "CREATE ROLE") && strings.Contains(err.Error(), "already exists") {
			continue // made by an earlier test on this server
		}
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	app := *u
	app.User = url.UserPassword(appRole, appPassword)
	return &cluster{admin: conn, base: &app, db: name}
}

// schema creates a schema owned by the app role and returns the app's DSN
// for it.
func (c *cluster) schema(t *testing.T) string {
	t.Helper()
	s := randomName("s_")
	exec(t, c.admin, `CREATE SCHEMA `+s+` AUTHORIZATION `+appRole)
	u := *c.base
	q := u.Query()
	q.Set("search_path", s)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// The PostgreSQL store passes the conformance suite, as the least-privilege
// role.
func TestConformance(t *testing.T) {
	c := newCluster(t)
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		return open(t, c.schema(t))
	})
}

func TestLeastPrivilegeRole(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	var super, createdb, createrole, bypass bool
	err := c.admin.QueryRow(ctx, `SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = $1`, appRole).Scan(&super, &createdb, &createrole, &bypass)
	if err != nil {
		t.Fatal(err)
	}
	if super || createdb || createrole || bypass {
		t.Fatalf("%s has more than LOGIN: super %v createdb %v createrole %v bypassrls %v", appRole, super, createdb, createrole, bypass)
	}
	// With the documented setup no search_path is needed: the schema is
	// named after the role, which PostgreSQL's default search_path
	// ("$user", public) finds.
	dsn := c.base.String()
	db := open(t, dsn)
	defer db.Close()
	if db.Schema() != appRole {
		t.Errorf("the store is in schema %q, want %q", db.Schema(), appRole)
	}
	if err := db.EnsureEndpoint(ctx, "default"); err != nil {
		t.Fatalf("a write as %s: %v", appRole, err)
	}
	// The role can do nothing outside its schema.
	app := connect(t, dsn)
	for _, q := range []string{
		`CREATE SCHEMA elsewhere`,
		`CREATE TABLE public.x (i int)`,
		`CREATE TEMP TABLE x (i int)`,
	} {
		if _, err := app.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as %s: %v, want permission denied", q, appRole, err)
		}
	}
	// A schema the role may not create in: Open says what is missing.
	s := randomName("s_")
	exec(t, c.admin, `CREATE SCHEMA `+s)
	exec(t, c.admin, `GRANT USAGE ON SCHEMA `+s+` TO `+appRole)
	u := *c.base
	u.RawQuery = "search_path=" + s
	_, err = postgres.Open(ctx, u.String())
	if err == nil || !strings.Contains(err.Error(), "CREATE on the schema") || strings.Contains(err.Error(), appPassword) {
		t.Errorf("Open without CREATE: %v", err)
	}
	// No usable schema at all.
	u.RawQuery = "search_path=doesnotexist"
	if _, err := postgres.Open(ctx, u.String()); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("Open with no schema: %v", err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	dsn := c.schema(t)
	db := open(t, dsn)
	if v := postgres.SchemaVersion(); v != 4 {
		t.Errorf("SchemaVersion = %d, want 4 (the same versions as the SQLite store)", v)
	}
	if err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'now')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := postgres.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v, want a refusal", err)
	}
}

// Replicas starting at once migrate once, and all come up.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	c := newCluster(t)
	dsn := c.schema(t)
	const n = 6
	var wg sync.WaitGroup
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			dbs[i], errs[i] = postgres.Open(context.Background(), dsn)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		} else {
			dbs[i].Close()
		}
	}
	var rows, distinct int
	u, _ := url.Parse(dsn)
	schema := u.Query().Get("search_path")
	if err := c.admin.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT version) FROM `+schema+`.schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != 4 || distinct != 4 {
		t.Errorf("schema_migrations has %d rows (%d versions), want 4", rows, distinct)
	}
}

// A change committed through one handle (one server) reaches Listen on
// another, within a second; a change in another schema does not.
func TestListenSeesOtherServersChanges(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := c.schema(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	other := open(t, c.schema(t))
	defer other.Close()
	var calls atomic.Int64
	ch := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- b.Listen(ctx, func() {
			calls.Add(1)
			ch <- struct{}{}
		})
	}()
	wait := func(what string) time.Duration {
		t.Helper()
		start := time.Now()
		select {
		case <-ch:
			return time.Since(start)
		case <-time.After(time.Second):
			t.Fatalf("%s: no change seen within 1 s", what)
			return 0
		}
	}
	wait("first connection") // Listen reloads once when it starts listening
	steps := []struct {
		name string
		do   func() error
	}{
		{"EnsureEndpoint", func() error { return a.EnsureEndpoint(ctx, "default") }},
		{"CreateEndpoint", func() error { return a.CreateEndpoint(ctx, &vigil.Endpoint{Name: "sales"}) }},
		{"UpdateEndpoint", func() error {
			_, err := a.UpdateEndpoint(ctx, "sales", func(e *vigil.Endpoint, _ []string) error { e.Description = "x"; return nil })
			return err
		}},
		{"DeleteEndpoint", func() error { return a.DeleteEndpoint(ctx, "sales") }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		t.Logf("%s seen by the other handle after %v", st.name, wait(st.name))
	}
	// Nothing is announced for an update that an aborted callback undid,
	// nor for another schema's change.
	a.UpdateEndpoint(ctx, "default", func(*vigil.Endpoint, []string) error { return vigil.Errorf(vigil.EInvalid, "no") })
	other.EnsureEndpoint(ctx, "default")
	select {
	case <-ch:
		t.Error("Listen reported a change that was rolled back, or made in another schema")
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Listen returned %v, want context.Canceled", err)
	}
}

// When its connection is killed, Listen reconnects and reports a change,
// since it may have missed some.
func TestListenReconnects(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := c.schema(t)
	db := open(t, dsn)
	defer db.Close()
	var failures atomic.Int64
	db.OnListenError = func(err error) {
		failures.Add(1)
		if strings.Contains(err.Error(), appPassword) {
			t.Errorf("a listen error shows the password: %v", err)
		}
	}
	ch := make(chan struct{}, 100)
	go db.Listen(ctx, func() { ch <- struct{}{} })
	<-ch
	var killed int
	err := c.admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'`, c.db).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the listening backend: %d killed, %v", killed, err)
	}
	start := time.Now()
	select {
	case <-ch:
		t.Logf("reconnected and reloaded after %v", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not reconnect within 5 s")
	}
	if failures.Load() == 0 {
		t.Error("the connection failure was not reported")
	}
	// And it listens again.
	if err := db.EnsureEndpoint(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("no change seen after reconnecting")
	}
}

func TestErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const pw = "s3cret-Passw0rd"
	for _, dsn := range []string{
		"postgres://vigil:" + pw + "@127.0.0.1:1/vigil?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=vigil password=" + pw + " dbname=vigil sslmode=disable connect_timeout=2",
		"postgres://vigil:" + pw + "@127.0.0.1:1/vigil?sslmode=bogus",
		"host=127.0.0.1 port=notaport password='" + pw + "'",
	} {
		_, err := postgres.Open(ctx, dsn)
		if err == nil {
			t.Errorf("Open(%s) succeeded", postgres.RedactDSN(dsn))
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://vigil:pw@db:5432/vigil?sslmode=verify-full", "postgres://vigil:xxxxx@db:5432/vigil?sslmode=verify-full"},
		{"postgresql://vigil@db/vigil", "postgresql://vigil@db/vigil"},
		{"postgres://db/vigil?user=v&password=pw", "postgres://db/vigil?password=xxxxx&user=v"},
		{"host=db user=vigil password=pw dbname=vigil", "host=db user=vigil password=xxxxx dbname=vigil"},
		{"host=db password='p w' dbname=vigil", "host=db password=xxxxx dbname=vigil"},
	}
	for _, tt := range tests {
		if got := postgres.RedactDSN(tt.in); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// With sslmode=verify-full the store talks TLS to a server whose
// certificate the given CA signed for the host in the URL, and refuses a
// server it cannot verify. scripts/pg start runs the test server with TLS
// and exports its CA as VIGIL_TEST_POSTGRES_CA.
func TestTLSVerifyFull(t *testing.T) {
	c := newCluster(t)
	ca := os.Getenv("VIGIL_TEST_POSTGRES_CA")
	if ca == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("VIGIL_TEST_POSTGRES_CA is not set, and CI=true: start the server with scripts/pg start")
		}
		t.Skip("VIGIL_TEST_POSTGRES_CA is not set")
	}
	ctx := context.Background()
	u := *c.base
	u.Host = "localhost:" + u.Port()
	u.RawQuery = url.Values{"sslmode": {"verify-full"}, "sslrootcert": {ca}}.Encode()
	db := open(t, u.String())
	defer db.Close()
	if err := db.EnsureEndpoint(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	app := connect(t, u.String())
	var ssl bool
	var version string
	if err := app.QueryRow(ctx, `SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil || !ssl {
		t.Fatalf("connection not encrypted: ssl %v, %v", ssl, err)
	}
	t.Logf("verify-full: %s", version)

	// Another CA: refused.
	other := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(other, selfSignedPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	u.RawQuery = url.Values{"sslmode": {"verify-full"}, "sslrootcert": {other}, "connect_timeout": {"5"}}.Encode()
	if _, err := postgres.Open(ctx, u.String()); err == nil || strings.Contains(err.Error(), appPassword) {
		t.Errorf("Open with the wrong CA: %v, want a refusal without the password", err)
	} else {
		t.Logf("wrong CA: %v", err)
	}
}

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
