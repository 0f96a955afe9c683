package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/httpapi"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/oidc"
	"github.com/vigilhq/vigil/internal/openapi"
	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/store/postgres"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

func newServeCmd(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	cfg := config.Default()
	var shutdownTimeout time.Duration
	var adminTokenFile string
	cmd := &cobra.Command{
		Use:   "serve [ApiKey=KEY] [Eula=accept] [Billing=URL]",
		Short: "Run the Vigil server",
		Long: `Run the Vigil server: the Anomaly Detector API for the built-in "default"
endpoint at /anomalydetector/{version}/..., probes at /status, /ready and
/healthz, the OpenAPI document at /swagger, and Prometheus metrics on a
separate listener.

Every flag has an environment variable (VIGIL_ADDR for --addr, and so on);
a flag given on the command line wins. Secrets never come from flags:
  VIGIL_API_KEY        the default endpoint's primary key (16-128 printable characters)
  VIGIL_API_KEY_FILE   a file holding that key
  VIGIL_MASTER_KEY_FILE the key-encryption key file (default <data>/master.key)
  VIGIL_DATABASE_URL   a PostgreSQL URL, instead of the embedded SQLite store
  VIGIL_DATABASE_URL_FILE a file holding that URL
When no key is given and none is stored, keys are generated on first start
and printed once.

The bootstrap admin token (the management API's first Owner) is generated
into <data>/admin-token on first start, unless --admin-token-file
(VIGIL_ADMIN_TOKEN_FILE) names a file, such as a mounted Kubernetes Secret,
holding one made with "vigil admin-token generate": Vigil then takes that
token (revoking any other admin token), never writes the file nor
<data>/admin-token, and refuses "vigil admin-token rotate". The file must
not be writable by its group nor open to others.

The store is embedded SQLite in the data directory unless a PostgreSQL URL
is given (--database-url, VIGIL_DATABASE_URL or VIGIL_DATABASE_URL_FILE;
keep a password out of the flag, which other users can see). Several
servers may share one PostgreSQL database, and then must share the
master key file (VIGIL_MASTER_KEY_FILE) and the admin token
(VIGIL_ADMIN_TOKEN_FILE); each sees the others' changes within a second.
See docs/operations.md.

As the Azure container did, the arguments ApiKey=<key>, Eula=... and
Billing=... are accepted; Eula and Billing are ignored.

Plain HTTP on a non-loopback address is refused unless --allow-insecure-http
is given; serve TLS with --tls-cert and --tls-key (reloaded when the files
change). SIGINT or SIGTERM stops the server after requests in flight finish.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, &cfg, getenv); err != nil {
				return err
			}
			if err := applyContainerArgs(&cfg, args, stderr); err != nil {
				return err
			}
			m := &Main{Config: cfg, Stdout: stdout, Stderr: stderr, ShutdownTimeout: shutdownTimeout, AdminTokenFile: adminTokenFile}
			if err := m.Open(cmd.Context()); err != nil {
				m.Close()
				return err
			}
			defer m.Close()
			return m.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "public listener address, host:port (env VIGIL_ADDR)")
	f.StringVar(&cfg.Data, "data", cfg.Data, "data directory, created 0700 (env VIGIL_DATA)")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://user@host/db?sslmode=verify-full); the embedded SQLite store when empty (env VIGIL_DATABASE_URL, VIGIL_DATABASE_URL_FILE)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, `Prometheus metrics listener address, or "off" (env VIGIL_METRICS_ADDR)`)
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate PEM file (env VIGIL_TLS_CERT)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "TLS private key PEM file (env VIGIL_TLS_KEY)")
	f.BoolVar(&cfg.AllowInsecureHTTP, "allow-insecure-http", false, "allow plain HTTP on a non-loopback address (env VIGIL_ALLOW_INSECURE_HTTP)")
	f.StringSliceVar(&cfg.CORSOrigins, "cors-origins", nil, "browser origins allowed to call the API, comma-separated; none by default (env VIGIL_CORS_ORIGINS)")
	f.StringSliceVar(&cfg.PrivateNetworks, "private-networks", cfg.PrivateNetworks, "CIDRs whose callers count as private, for endpoints with public_network_access disabled (env VIGIL_PRIVATE_NETWORKS)")
	f.StringSliceVar(&cfg.TrustedProxies, "trusted-proxies", nil, "CIDRs of proxies whose X-Forwarded-For is believed; none by default (env VIGIL_TRUSTED_PROXIES)")
	f.StringVar(&cfg.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer URL whose access tokens Vigil accepts (env VIGIL_OIDC_ISSUER)")
	f.StringVar(&cfg.OIDCAudience, "oidc-audience", "", "audience those tokens must carry, e.g. api://vigil (env VIGIL_OIDC_AUDIENCE)")
	f.StringVar(&cfg.OIDCSubjectClaim, "oidc-subject-claim", "sub", "claim naming the principal (env VIGIL_OIDC_SUBJECT_CLAIM)")
	f.StringVar(&cfg.OIDCGroupsClaim, "oidc-groups-claim", "groups", "claim listing the principal's groups (env VIGIL_OIDC_GROUPS_CLAIM)")
	f.StringSliceVar(&cfg.OIDCAlgorithms, "oidc-algorithms", []string{"RS256", "ES256", "PS256", "EdDSA"}, "allowed token signing algorithms; never none or HS* (env VIGIL_OIDC_ALGORITHMS)")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json (env VIGIL_LOG_FORMAT)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn or error (env VIGIL_LOG_LEVEL)")
	f.StringVar(&adminTokenFile, "admin-token-file", "", "file holding the bootstrap admin token, e.g. a mounted Secret; Vigil never writes it (env VIGIL_ADMIN_TOKEN_FILE; default: generated into <data>/admin-token)")
	f.DurationVar(&shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to wait for requests in flight on shutdown (env VIGIL_SHUTDOWN_TIMEOUT)")
	return cmd
}

// envFlags maps flags to their environment variables.
var envFlags = map[string]string{
	"addr":                "VIGIL_ADDR",
	"data":                "VIGIL_DATA",
	"metrics-addr":        "VIGIL_METRICS_ADDR",
	"tls-cert":            "VIGIL_TLS_CERT",
	"tls-key":             "VIGIL_TLS_KEY",
	"allow-insecure-http": "VIGIL_ALLOW_INSECURE_HTTP",
	"cors-origins":        "VIGIL_CORS_ORIGINS",
	"private-networks":    "VIGIL_PRIVATE_NETWORKS",
	"trusted-proxies":     "VIGIL_TRUSTED_PROXIES",
	"oidc-issuer":         "VIGIL_OIDC_ISSUER",
	"oidc-audience":       "VIGIL_OIDC_AUDIENCE",
	"oidc-subject-claim":  "VIGIL_OIDC_SUBJECT_CLAIM",
	"oidc-groups-claim":   "VIGIL_OIDC_GROUPS_CLAIM",
	"oidc-algorithms":     "VIGIL_OIDC_ALGORITHMS",
	"log-format":          "VIGIL_LOG_FORMAT",
	"log-level":           "VIGIL_LOG_LEVEL",
	"admin-token-file":    "VIGIL_ADMIN_TOKEN_FILE",
	"shutdown-timeout":    "VIGIL_SHUTDOWN_TIMEOUT",
}

// applyEnv sets every flag not given on the command line from its
// environment variable, and reads the secrets from the environment.
func applyEnv(cmd *cobra.Command, cfg *config.Config, getenv func(string) string) error {
	for flag, env := range envFlags {
		v := getenv(env)
		if v == "" || cmd.Flags().Changed(flag) {
			continue
		}
		if err := cmd.Flags().Set(flag, v); err != nil {
			return fmt.Errorf("%s=%q: %v", env, v, err)
		}
	}
	key, file := getenv("VIGIL_API_KEY"), getenv("VIGIL_API_KEY_FILE")
	switch {
	case key != "" && file != "":
		return errors.New("set VIGIL_API_KEY or VIGIL_API_KEY_FILE, not both")
	case key != "":
		cfg.APIKey, cfg.APIKeySource = key, "VIGIL_API_KEY"
	case file != "":
		k, err := config.ReadSecretFile(file)
		if err != nil {
			return fmt.Errorf("VIGIL_API_KEY_FILE: %v", err)
		}
		cfg.APIKey, cfg.APIKeySource = k, "VIGIL_API_KEY_FILE"
	}
	cfg.MasterKeyFile = getenv("VIGIL_MASTER_KEY_FILE")
	prov, err := kek.ProviderFromEnv(getenv)
	if err != nil {
		return err
	}
	cfg.KEKProvider = prov
	if prov == kek.ProviderPKCS11 {
		if cfg.PKCS11, err = kek.PKCS11ConfigFromEnv(getenv); err != nil {
			return err
		}
	}
	return applyDatabaseURL(cmd, cfg, getenv)
}

// applyDatabaseURL takes the PostgreSQL URL from --database-url,
// VIGIL_DATABASE_URL or the file VIGIL_DATABASE_URL_FILE names. The URL
// may hold a password, so no message here quotes it.
func applyDatabaseURL(cmd *cobra.Command, cfg *config.Config, getenv func(string) string) error {
	if cmd.Flags().Changed("database-url") {
		if cfg.DatabaseURL == "" {
			return errors.New("--database-url is empty; leave it out for the embedded SQLite store")
		}
		cfg.DatabaseURLSource = "--database-url"
		return nil
	}
	u, file := getenv("VIGIL_DATABASE_URL"), getenv("VIGIL_DATABASE_URL_FILE")
	switch {
	case u != "" && file != "":
		return errors.New("set VIGIL_DATABASE_URL or VIGIL_DATABASE_URL_FILE, not both")
	case u != "":
		cfg.DatabaseURL, cfg.DatabaseURLSource = u, "VIGIL_DATABASE_URL"
	case file != "":
		v, err := config.ReadSecretFile(file)
		if err != nil {
			return fmt.Errorf("VIGIL_DATABASE_URL_FILE: %v", err)
		}
		cfg.DatabaseURL, cfg.DatabaseURLSource = strings.TrimSpace(v), "VIGIL_DATABASE_URL_FILE"
	}
	return nil
}

// store is everything Main needs of a store; the embedded SQLite store and
// the PostgreSQL store both satisfy it.
type store interface {
	control.Store
	control.AccessStore
	control.AuditReader
	control.DataKeyStore
	control.DataKeyRewrapper
	audit.Store
	IntegrityCheck(ctx context.Context) (string, error)
	Close() error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// storeReloadInterval is how often a server on PostgreSQL reloads what it
// caches (keys, deployments, the access policy) even without a change
// notification: the bound on staleness should notifications be lost in a
// way the listener cannot see.
const storeReloadInterval = 30 * time.Second

// isContainerSetting reports whether arg is one of the Azure container's
// Key=Value settings.
func isContainerSetting(arg string) bool {
	k, _, ok := strings.Cut(arg, "=")
	if !ok {
		return false
	}
	switch strings.ToLower(k) {
	case "apikey", "eula", "billing":
		return true
	}
	return false
}

// applyContainerArgs takes the Azure container's arguments: ApiKey=<key>
// sets the primary key (overriding the environment), Eula= and Billing= are
// ignored with one log line. Anything else is an error.
func applyContainerArgs(cfg *config.Config, args []string, stderr io.Writer) error {
	var ignored []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !isContainerSetting(a) {
			return fmt.Errorf("unexpected argument %q: serve takes flags, and the container settings ApiKey=, Eula= and Billing=", clipArg(a))
		}
		switch strings.ToLower(k) {
		case "apikey":
			cfg.APIKey, cfg.APIKeySource = v, "the ApiKey= argument"
		default:
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(stderr, "vigil: ignoring the Azure container settings %s: Vigil needs no licence acceptance and sends no billing data\n", strings.Join(ignored, ", "))
	}
	return nil
}

func clipArg(s string) string {
	if k, _, ok := strings.Cut(s, "="); ok {
		return k + "=..."
	}
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// Main is the server's composition root: it opens the data directory and
// store, builds the services, and runs the listeners until its context ends.
type Main struct {
	Config          config.Config
	Stdout, Stderr  io.Writer
	ShutdownTimeout time.Duration
	// AdminTokenFile, when set, holds the bootstrap admin token, managed by
	// the operator (--admin-token-file, VIGIL_ADMIN_TOKEN_FILE): Vigil
	// reads it and writes neither it nor <data>/admin-token.
	AdminTokenFile string

	logger *slog.Logger
	db     store
	pg     *postgres.DB // also db, when the store is PostgreSQL
	plane  *score.Plane
	access *control.Access
	// kekCloser closes an HSM session (nil for the local KEK).
	kekCloser interface{ Close() error }
	audit     *audit.Log
	server    *httpapi.Server
	public    net.Listener
	metrics   net.Listener
	tlsCerts  *httpapi.CertReloader
}

// Open validates the configuration, prepares the data directory, the store
// and the keys, and binds the listeners. After Open, Addr and MetricsAddr
// return the bound addresses.
func (m *Main) Open(ctx context.Context) error {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	m.logger = newLogger(m.Stderr, cfg.LogFormat, cfg.LogLevel)
	// A bad admin token file stops the start before anything is changed.
	var adminToken string
	if m.AdminTokenFile != "" {
		var err error
		if adminToken, err = control.ReadAdminTokenFile(m.AdminTokenFile); err != nil {
			return fmt.Errorf("VIGIL_ADMIN_TOKEN_FILE: %w", err)
		}
	}
	restrictUmask()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// Bind first: a server that cannot listen must not get as far as
	// generating (and printing) keys.
	var err error
	if m.public, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.MetricsAddr != "off" {
		if m.metrics, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s (metrics): %w", cfg.MetricsAddr, err)
		}
	}
	masterPath := cfg.MasterKeyFile
	if masterPath == "" {
		masterPath = filepath.Join(cfg.Data, "master.key")
	}
	if err := m.openStore(ctx); err != nil {
		return err
	}
	// A new master key is made only for a store with no data key yet: with
	// data encrypted under a KEK that is now missing, Vigil fails closed.
	existing, err := m.db.DataKeys(ctx)
	if err != nil {
		return err
	}
	var kk control.KEK
	if cfg.KEKProvider == kek.ProviderPKCS11 {
		p11 := cfg.PKCS11
		p11.Create = len(existing) == 0
		hsm, err := kek.OpenPKCS11(p11)
		if err != nil {
			return fmt.Errorf("the key-encryption key (PKCS#11) is unavailable; nothing was changed: %w", err)
		}
		m.kekCloser = hsm
		kk = hsm
	} else {
		local, err := openLocalKEK(ctx, m.db, masterPath, cfg.MasterKeyFile == "" && len(existing) == 0)
		if err != nil {
			if len(existing) > 0 {
				return fmt.Errorf("the key-encryption key is unavailable, and the store's data is encrypted under it; restore %s (nothing was changed): %w", masterPath, err)
			}
			return err
		}
		kk = local
	}
	ring, dkID, err := control.OpenKeyring(ctx, m.db, kk)
	if err != nil {
		return err
	}
	plane := score.NewPlane(ring, m.db)
	m.plane = plane
	private, err := netpolicy.ParsePrefixes(cfg.PrivateNetworks)
	if err != nil {
		return err
	}
	plane.Egress = netpolicy.Egress{Private: private, Logger: m.logger}
	chain := audit.NewChain(ring.AuditKey())
	m.audit = audit.NewLog(chain, m.db, m.logger, time.Now)
	plane.OnEgressRefusal = func(scope string, r netpolicy.Refusal) {
		m.audit.Async(vigil.AuditEvent{Principal: "deployment", Action: "deployments/egress/connect", Scope: scope,
			Source: "local", Outcome: vigil.OutcomeDenied, Detail: r.Error()})
	}
	svc := &control.Service{Store: m.db, Ring: ring, DataKeyID: dkID, Changed: plane.Reload, Audit: m.audit}
	keys := &control.Keys{Store: m.db, Ring: ring, DataKeyID: dkID}
	// What the server changes on its own at start is audited as
	// system:startup.
	sctx := control.StartupContext(ctx)
	if err := m.bootstrapKeys(sctx, keys); err != nil {
		return err
	}
	if err := bootstrapDefaultDeployment(sctx, svc); err != nil {
		return err
	}
	if err := m.bootstrapAdminToken(sctx, svc, adminToken); err != nil {
		return err
	}
	access := &control.Access{Store: m.db, Audit: m.audit, Changed: plane.Reload}
	m.access = access
	identities, err := m.openIdentities(ctx, plane, access)
	if err != nil {
		return err
	}
	if err := access.EnsureBootstrapAssignmentAudited(sctx); err != nil {
		return err
	}
	var mgmtAccess httpapi.Access = access
	tokenFile := filepath.Join(cfg.Data, adminTokenFile)
	if m.AdminTokenFile != "" {
		mgmtAccess = fileAdminToken{Access: access, source: "VIGIL_ADMIN_TOKEN_FILE (" + m.AdminTokenFile + ")"}
		tokenFile = ""
	}
	if err := plane.Reload(ctx); err != nil {
		return err
	}
	inbound, err := netpolicy.NewInbound(cfg.PrivateNetworks, cfg.TrustedProxies)
	if err != nil {
		return err
	}
	m.server = &httpapi.Server{
		Inbound:        inbound,
		Logger:         m.logger,
		Plane:          plane,
		Control:        svc,
		Logs:           plane,
		AuditLog:       &control.AuditService{Store: m.db, Chain: chain},
		AuditQueue:     m.audit,
		Access:         mgmtAccess,
		Identities:     identities,
		AdminTokenFile: tokenFile,
		Metrics:        httpapi.NewMetrics(),
		OpenAPI:        openapi.JSON(),
		CORSOrigins:    cfg.CORSOrigins,
	}
	if cfg.TLSCert != "" {
		if m.tlsCerts, err = httpapi.NewCertReloader(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}
	return nil
}

// openStore opens the PostgreSQL store when a database URL is configured,
// and the embedded SQLite store in the data directory otherwise.
func (m *Main) openStore(ctx context.Context) error {
	cfg := &m.Config
	if cfg.DatabaseURL == "" {
		db, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "vigil.db"))
		if err != nil {
			return err
		}
		m.db = db
		return nil
	}
	where := postgres.RedactDSN(cfg.DatabaseURL)
	if cfg.DatabaseURLSource == "--database-url" && hasPassword(cfg.DatabaseURL) {
		m.logger.Warn("the --database-url holds a password, which other local users can see in the process list; use VIGIL_DATABASE_URL_FILE or a .pgpass file")
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open the PostgreSQL store %s (from %s): %w", where, cfg.DatabaseURLSource, err)
	}
	db.OnListenError = func(err error) {
		m.logger.Warn("PostgreSQL change notifications interrupted; reconnecting (changes by other servers are seen within 30 s meanwhile)", "err", err)
	}
	m.db, m.pg = db, db
	m.logger.Info("store: PostgreSQL", "database", where, "schema", db.Schema())
	return nil
}

// hasPassword reports whether a database URL carries a password.
func hasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, set := u.User.Password()
		return set || u.Query().Has("password")
	}
	return strings.Contains(dsn, "password=")
}

// reload reloads what the server caches from the store: the data plane's
// keys, endpoints and deployments, and the access policy. It runs when
// another server changed the store.
func (m *Main) reload(ctx context.Context, why string) {
	if err := m.plane.Reload(ctx); err != nil && ctx.Err() == nil {
		m.logger.Error("reload the data plane", "why", why, "err", err)
	}
	if err := m.access.Reload(ctx); err != nil && ctx.Err() == nil {
		m.logger.Error("reload the access policy", "why", why, "err", err)
	}
}

// watchStore keeps the caches current with changes other servers make to a
// shared store: at once on a change notification, and every
// storeReloadInterval in any case. It returns when ctx ends.
func (m *Main) watchStore(ctx context.Context) {
	if m.pg == nil {
		return // the embedded store has one server
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		m.pg.Listen(ctx, func() { m.reload(ctx, "change notification") })
	})
	wg.Go(func() {
		t := time.NewTicker(storeReloadInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.reload(ctx, "periodic")
			}
		}
	})
	wg.Wait()
}

// fileAdminToken is the access service when the operator manages the
// admin token in a file (VIGIL_ADMIN_TOKEN_FILE): rotation through the API
// is refused, since Vigil does not write that file.
type fileAdminToken struct {
	*control.Access
	source string
}

func (f fileAdminToken) RotateAdminToken(ctx context.Context, _ string) (string, error) {
	return "", f.Access.RefuseAdminTokenRotation(ctx, f.source)
}

// bootstrapAdminToken makes sure the store holds the bootstrap admin token:
// the operator's (token, from VIGIL_ADMIN_TOKEN_FILE) when given, else the
// one in <data>/admin-token, generated when missing. Changes are audited.
func (m *Main) bootstrapAdminToken(ctx context.Context, svc *control.Service, token string) error {
	dataFile := filepath.Join(m.Config.Data, adminTokenFile)
	if token == "" {
		if made, err := svc.EnsureAdminToken(ctx, dataFile); err != nil {
			return err
		} else if made {
			m.logger.Info("bootstrap admin token generated; earlier admin tokens revoked", "file", dataFile)
		}
		return nil
	}
	changed, err := svc.SetAdminToken(ctx, token, "VIGIL_ADMIN_TOKEN_FILE "+m.AdminTokenFile)
	if err != nil {
		return err
	}
	if changed {
		m.logger.Info("bootstrap admin token set from the admin token file; other admin tokens revoked", "file", m.AdminTokenFile)
	}
	if b, err := os.ReadFile(dataFile); err == nil && strings.TrimSpace(string(b)) != token {
		m.logger.Warn("the data directory's admin-token file holds an admin token that no longer works (VIGIL_ADMIN_TOKEN_FILE names the admin token); delete it", "file", dataFile)
	}
	return nil
}

// bootstrapKeys makes sure the default endpoint has both keys: the
// configured key becomes the primary one; missing keys are generated and
// printed once, on the start that creates them. Each key stored is audited
// (never its value).
func (m *Main) bootstrapKeys(ctx context.Context, keys *control.Keys) error {
	cfg := &m.Config
	scope := "/endpoints/" + vigil.DefaultEndpoint
	stored, err := keys.Store.Keys(ctx)
	if err != nil {
		return err
	}
	if cfg.APIKey != "" {
		// The same key given again (every start of a server configured
		// with one) changes nothing, and is not audited again.
		d := keys.Ring.Digest(cfg.APIKey)
		same := slices.ContainsFunc(stored, func(k vigil.StoredKey) bool {
			return k.Endpoint == vigil.DefaultEndpoint && k.Slot == vigil.PrimaryKey && k.DataKeyID == keys.DataKeyID && bytes.Equal(k.Digest, d[:])
		})
		if !same {
			err := keys.Set(ctx, vigil.DefaultEndpoint, vigil.PrimaryKey, cfg.APIKey)
			if err := control.RecordChange(ctx, m.audit, rbac.EndpointsRegenerateKeys, scope, "primary key set from "+cfg.APIKeySource, err); err != nil {
				return fmt.Errorf("set the primary key from %s: %w", cfg.APIKeySource, err)
			}
			if stored, err = keys.Store.Keys(ctx); err != nil {
				return err
			}
		}
		m.logger.Info("primary key of the default endpoint set", "source", cfg.APIKeySource, "changed", !same)
	}
	have := map[vigil.KeySlot]bool{}
	for _, k := range stored {
		if k.Endpoint == vigil.DefaultEndpoint {
			have[k.Slot] = true
		}
	}
	var generated []string
	for _, slot := range []vigil.KeySlot{vigil.PrimaryKey, vigil.SecondaryKey} {
		if have[slot] {
			continue
		}
		v, err := keys.Generate(ctx, vigil.DefaultEndpoint, slot)
		if err := control.RecordChange(ctx, m.audit, rbac.EndpointsRegenerateKeys, scope, string(slot)+" key generated", err); err != nil {
			return err
		}
		generated = append(generated, fmt.Sprintf("  %-9s %s", string(slot)+":", v))
	}
	if len(generated) > 0 {
		fmt.Fprintf(m.Stdout, "Generated API keys for the default endpoint (shown this once; Vigil stores them encrypted):\n%s\n", strings.Join(generated, "\n"))
	}
	return nil
}

// openIdentities sets up identity-provider tokens when --oidc-issuer is
// given: aad_token endpoints accept them for principals holding
// endpoints/score/action there, and the management API accepts them for
// whatever their roles allow. Vigil starts even while the provider is
// unreachable; such tokens are refused until discovery succeeds.
func (m *Main) openIdentities(ctx context.Context, plane *score.Plane, access *control.Access) (func(context.Context, string) (vigil.Actor, error), error) {
	cfg := m.Config
	if cfg.OIDCIssuer == "" {
		return nil, nil
	}
	v, err := oidc.New(ctx, oidc.Config{
		Issuer: cfg.OIDCIssuer, Audience: cfg.OIDCAudience,
		SubjectClaim: cfg.OIDCSubjectClaim, GroupsClaim: cfg.OIDCGroupsClaim,
		Algorithms: cfg.OIDCAlgorithms, Logger: m.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("--oidc-issuer: %w", err)
	}
	identify := func(ctx context.Context, token string) (vigil.Actor, error) {
		id, err := v.Verify(ctx, token)
		if err != nil {
			return vigil.Actor{}, err
		}
		return vigil.Actor{Principal: id.Principal, Groups: id.Groups}, nil
	}
	plane.AAD = func(ctx context.Context, endpoint, token string) (string, error) {
		actor, err := identify(ctx, token)
		if err != nil {
			if vigil.ErrorCode(err) == vigil.EUnavailable {
				return "", err
			}
			return "", &score.AuthError{Reason: score.ReasonBadToken}
		}
		if err := access.Authorize(vigil.WithActor(ctx, actor), rbac.EndpointsScore, "/endpoints/"+endpoint); err != nil {
			return "", err
		}
		return actor.Principal, nil
	}
	return identify, nil
}

// bootstrapDefaultDeployment gives the built-in default endpoint its
// built-in deployment, "default", with all traffic, when the endpoint has no
// deployment at all (first start). It serves at least 256 requests at once.
func bootstrapDefaultDeployment(ctx context.Context, svc *control.Service) error {
	deps, err := svc.ListDeployments(ctx, vigil.DefaultEndpoint)
	if err != nil || len(deps) > 0 {
		return err
	}
	d := vigil.Deployment{
		Name:         vigil.DefaultEndpoint,
		EndpointName: vigil.DefaultEndpoint,
		Description:  "The built-in anomaly detector.",
		Model:        vigil.BuiltinAnomalyDetector,
		RequestSettings: vigil.RequestSettings{
			RequestTimeoutMS:                 60000,
			MaxConcurrentRequestsPerInstance: 256,
		},
	}
	_, err = svc.CreateDeployment(ctx, d, true)
	return err
}

// Addr returns the public listener's address.
func (m *Main) Addr() string { return m.public.Addr().String() }

// MetricsAddr returns the metrics listener's address, or "" when off.
func (m *Main) MetricsAddr() string {
	if m.metrics == nil {
		return ""
	}
	return m.metrics.Addr().String()
}

// Run serves until ctx ends, then shuts down gracefully: it stops accepting
// connections and waits for requests in flight.
func (m *Main) Run(ctx context.Context) error {
	pub := &httpapi.Listener{Handler: m.server.Handler(), Logger: m.logger}
	scheme := "http"
	if m.tlsCerts != nil {
		pub.TLS = m.tlsCerts.TLSConfig()
		scheme = "https"
	} else if !config.IsLoopback(m.Config.Addr) {
		m.logger.Warn("serving plain HTTP on a non-loopback address, as --allow-insecure-http permits; terminate TLS in front of Vigil", "addr", m.Addr())
	}
	errc := make(chan error, 2)
	watchCtx, stopWatching := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		m.watchStore(watchCtx)
	}()
	defer func() {
		stopWatching()
		<-watching
	}()
	go func() { errc <- pub.Serve(m.public) }()
	var met *httpapi.Listener
	if m.metrics != nil {
		met = &httpapi.Listener{Handler: m.server.Metrics.Handler(), Logger: m.logger}
		go func() { errc <- met.Serve(m.metrics) }()
	}
	m.server.SetReady(true)
	m.logger.Info("vigil serving", "version", version, "url", scheme+"://"+m.Addr(), "metrics", m.MetricsAddr(), "data", m.Config.Data, "store", m.storeKind())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	m.server.SetReady(false)
	m.logger.Info("shutting down; finishing requests in flight")
	timeout := m.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if e := pub.Shutdown(sctx); e != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", e)
	}
	if met != nil {
		met.Shutdown(sctx)
	}
	m.logger.Info("stopped")
	return err
}

// Close releases the store and any listener Run did not take over.
func (m *Main) Close() error {
	for _, ln := range []net.Listener{m.public, m.metrics} {
		if ln != nil {
			ln.Close() // already closed after Run; then this is a no-op error
		}
	}
	if m.audit != nil {
		m.audit.Close()
	}
	if m.kekCloser != nil {
		m.kekCloser.Close()
	}
	if m.db != nil {
		return m.db.Close()
	}
	return nil
}

// storeKind names the store for the log.
func (m *Main) storeKind() string {
	if m.pg != nil {
		return "postgres"
	}
	return "sqlite"
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
