// Package config holds the server's configuration: one struct with useful
// defaults, filled from flags and VIGIL_* environment variables by the
// command, checked by Validate. Secrets are read from the environment or
// from files, never from flags, and never printed.
package config

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/netpolicy"
	"github.com/vigilhq/vigil/internal/vigil"
)

// Config is the configuration of `vigil serve`.
type Config struct {
	// Addr is the public listener's address (VIGIL_ADDR).
	Addr string
	// Data is the data directory (VIGIL_DATA), created 0700.
	Data string
	// MetricsAddr is the metrics listener's address (VIGIL_METRICS_ADDR);
	// "off" disables it.
	MetricsAddr string
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert, TLSKey string
	// AllowInsecureHTTP permits plain HTTP on a non-loopback address.
	AllowInsecureHTTP bool
	// CORSOrigins are the browser origins allowed to call the API.
	CORSOrigins []string
	// PrivateNetworks are the CIDRs whose sources count as private, for
	// endpoints with public network access disabled.
	PrivateNetworks []string
	// TrustedProxies are the CIDRs of proxies whose X-Forwarded-For is
	// believed; none by default.
	TrustedProxies []string
	// LogFormat is "text" or "json"; LogLevel "debug", "info", "warn" or
	// "error".
	LogFormat, LogLevel string
	// APIKey is the default endpoint's primary key (VIGIL_API_KEY,
	// VIGIL_API_KEY_FILE or the container's ApiKey= argument); empty keeps
	// the stored key, or generates one on first start.
	APIKey string `json:"-"`
	// APIKeySource says where APIKey came from, for logs.
	APIKeySource string
	// KEKProvider is "local" (default) or "pkcs11" (VIGIL_KEK_PROVIDER);
	// PKCS11 configures the latter from VIGIL_PKCS11_* variables.
	KEKProvider string
	PKCS11      kek.PKCS11Config `json:"-"`
	// OIDCIssuer and OIDCAudience turn on identity-provider tokens (for
	// aad_token endpoints and the management API); OIDCSubjectClaim,
	// OIDCGroupsClaim and OIDCAlgorithms refine them.
	OIDCIssuer, OIDCAudience          string
	OIDCSubjectClaim, OIDCGroupsClaim string
	OIDCAlgorithms                    []string
	// MasterKeyFile is the key-encryption key's file
	// (VIGIL_MASTER_KEY_FILE); empty means <Data>/master.key.
	MasterKeyFile string
	// DatabaseURL selects the PostgreSQL store (--database-url,
	// VIGIL_DATABASE_URL or VIGIL_DATABASE_URL_FILE); empty means the
	// embedded SQLite store in Data. It may hold a password: never log it
	// unredacted.
	DatabaseURL string `json:"-"`
	// DatabaseURLSource says where DatabaseURL came from, for messages.
	DatabaseURLSource string
}

// Default returns the defaults: loopback on the Azure container's port, the
// data directory beside the working directory, metrics on loopback.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:5000",
		Data:            "./vigil-data",
		MetricsAddr:     "127.0.0.1:9090",
		LogFormat:       "text",
		LogLevel:        "info",
		PrivateNetworks: slices.Clone(netpolicy.DefaultPrivateNetworks),
	}
}

// Validate checks the configuration and reports the first problem in words
// that say what to do.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q is not host:port: %v", c.Addr, err)
	}
	if c.MetricsAddr != "off" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q is not host:port (or \"off\"): %v", c.MetricsAddr, err)
		}
		if c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0") {
			return fmt.Errorf("--metrics-addr must differ from --addr: metrics are never served on the public port")
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.Data == "" {
		return fmt.Errorf("--data must name a directory")
	}
	if c.APIKey != "" {
		if err := vigil.ValidateAPIKey(c.APIKey); err != nil {
			return fmt.Errorf("the API key from %s is not acceptable: %s", c.APIKeySource, err.(*vigil.Error).Message)
		}
	}
	if c.TLSCert == "" && !c.AllowInsecureHTTP && !IsLoopback(c.Addr) {
		return fmt.Errorf("refusing plain HTTP on non-loopback address %s: give --tls-cert and --tls-key, or --allow-insecure-http if TLS ends in front of Vigil", c.Addr)
	}
	if _, err := netpolicy.NewInbound(c.PrivateNetworks, c.TrustedProxies); err != nil {
		return fmt.Errorf("--private-networks / --trusted-proxies: %v", err)
	}
	if (c.OIDCIssuer == "") != (c.OIDCAudience == "") {
		return fmt.Errorf("--oidc-issuer and --oidc-audience go together: give both or neither")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level must be debug, info, warn or error")
	}
	return nil
}

// IsLoopback reports whether addr's host only ever reaches this machine:
// "localhost" or a loopback IP. An empty host or 0.0.0.0 listens everywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReadSecretFile reads a secret from a file, trimming one trailing newline
// (as editors and `echo` add), and refusing an empty file.
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}
