package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Timeouts every listener applies, so a slow or idle client cannot hold the
// server: headers within 10 s, the whole request within 60 s, the response
// within 120 s, idle keep-alive connections closed after 90 s.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 120 * time.Second
	IdleTimeout       = 90 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// Listener serves a handler on one address with Vigil's timeouts, with TLS
// when a certificate is configured.
type Listener struct {
	// Handler is what the listener serves.
	Handler http.Handler
	// TLS, when set, makes the listener serve HTTPS.
	TLS *tls.Config
	// Logger receives the server's own errors (TLS handshakes and the like).
	Logger *slog.Logger

	mu  sync.Mutex
	srv *http.Server
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// clean shutdown.
func (l *Listener) Serve(ln net.Listener) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           l.Handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	l.mu.Lock()
	l.srv = srv
	l.mu.Unlock()
	if l.TLS != nil {
		ln = tls.NewListener(ln, l.TLS)
	}
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for requests in flight to
// finish, or for ctx to end.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	srv := l.srv
	l.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// CertReloader serves a certificate from files and reloads it when either
// file changes, checking at most once a second.
type CertReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modCert time.Time
	modKey  time.Time
	checked time.Time
	now     func() time.Time
}

// NewCertReloader loads the certificate and key, failing at once when they
// do not load.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile, now: time.Now}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertReloader) load() error {
	sc, err := os.Stat(c.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	sk, err := os.Stat(c.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls key pair: %w", err)
	}
	c.cert, c.modCert, c.modKey = &cert, sc.ModTime(), sk.ModTime()
	return nil
}

// GetCertificate implements tls.Config.GetCertificate. When the files have
// changed and the new pair does not load, it keeps serving the old one.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.checked) >= time.Second {
		c.checked = now
		sc, err1 := os.Stat(c.certFile)
		sk, err2 := os.Stat(c.keyFile)
		if err1 == nil && err2 == nil && (!sc.ModTime().Equal(c.modCert) || !sk.ModTime().Equal(c.modKey)) {
			old := c.cert
			if err := c.load(); err != nil {
				c.cert = old
			}
		}
	}
	return c.cert, nil
}

// TLSConfig returns a server TLS configuration (TLS 1.2 and up) that
// serves the reloader's certificate.
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
