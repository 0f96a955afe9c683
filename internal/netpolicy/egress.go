package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// MaxRedirects is how many redirects a client from [Egress.Client] follows
// before it gives up.
const MaxRedirects = 5

// Resolver looks up the addresses of a host name. *net.Resolver satisfies
// it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Egress is the outbound policy of a deployment: where it may connect to,
// and the one HTTP client through which everything it fetches must go.
//
// The zero value refuses everything except destinations on Allow (which is
// empty): PublicAccess is false and no network is private. Fields are read
// at every connection attempt; don't change them while a client is in use.
type Egress struct {
	// PublicAccess is true when the deployment's
	// egress_public_network_access is "enabled": any destination is then
	// allowed, except the addresses that are always refused (see Check).
	PublicAccess bool

	// Private are the networks a deployment may reach when PublicAccess
	// is false, usually [DefaultPrivateNetworks] parsed with
	// [ParsePrefixes]. Nil means none.
	Private []netip.Prefix

	// Allow lists destinations allowed even when PublicAccess is false.
	// An entry is a CIDR or bare address (matched against the address a
	// host resolves to), an exact host name ("models.example.com"), or a
	// suffix pattern ("*.example.com", which matches any name ending in
	// ".example.com" but not example.com itself). Names match without
	// regard to ASCII case or a trailing dot. An allowlisted name may
	// resolve to any address (except those always refused): allow only
	// names whose DNS you trust. Malformed entries match nothing; see
	// [Egress.Validate].
	Allow []string

	// Logger receives one warning per refusal with the host, port,
	// resolved address and reason (never the URL, whose query may hold
	// secrets). Nil discards them.
	Logger *slog.Logger

	// Resolver resolves host names at dial time. Nil means
	// net.DefaultResolver.
	Resolver Resolver

	// OnRefusal, when set, is called with every refusal the client
	// makes (for the audit log). It is called synchronously from the
	// dialing goroutine, possibly concurrently; it must be quick and safe
	// for concurrent use.
	OnRefusal func(Refusal)
}

// Refusal is the error returned when the policy refuses a destination.
// Clients from [Egress.Client] return it wrapped in a *url.Error; find it
// with errors.As.
type Refusal struct {
	Host   string     // host name or address literal as requested
	Port   string     // port, when known
	Addr   netip.Addr // the refused address; invalid when the refusal came before resolution
	Reason string     // why, as a short lowercase phrase
}

// Error describes the refusal without the URL path or query.
func (r *Refusal) Error() string {
	target := r.Host
	if r.Port != "" {
		target = net.JoinHostPort(r.Host, r.Port)
	}
	if r.Addr.IsValid() && r.Addr.String() != r.Host {
		return fmt.Sprintf("egress refused: %s (%s): %s", target, r.Addr, r.Reason)
	}
	return fmt.Sprintf("egress refused: %s: %s", target, r.Reason)
}

// Reasons for refusals.
const (
	reasonInvalid     = "invalid address"
	reasonUnspecified = "unspecified address"
	reasonMulticast   = "multicast address"
	reasonBroadcast   = "broadcast address"
	reasonPublic      = "not a private network or allowlisted destination, and egress public network access is disabled"
	reasonDowngrade   = "redirect from https to http"
	reasonScheme      = "scheme is not http or https"
	reasonMetadata    = "link-local or cloud metadata address (allowlist its CIDR to reach it)"
)

// metadataAddrs are cloud instance-metadata addresses outside link-local
// space (AWS's IPv6 IMDS lies in the ULA range, which counts as private).
// Like link-local addresses they are refused unless a CIDR on the allowlist
// names them: a deployment tricked into fetching one would hand over the
// machine's cloud credentials.
var metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254")}

// isMetadata reports whether a is link-local (169.254.0.0/16, fe80::/10,
// where cloud metadata services such as 169.254.169.254 live) or a known
// metadata address.
func isMetadata(a netip.Addr) bool {
	if a.IsLinkLocalUnicast() {
		return true
	}
	for _, m := range metadataAddrs {
		if a == m {
			return true
		}
	}
	return false
}

// thisNetwork is 0.0.0.0/8, "this network": a destination in it reaches
// the local host on Linux.
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// Check reports, as a *[Refusal], whether the policy refuses a connection
// to addr, which host (a name or an address literal; may be empty)
// resolved to; nil means allowed. Unspecified addresses (0.0.0.0/8, ::),
// multicast and the broadcast address are always refused. Link-local
// addresses and cloud metadata addresses (169.254.169.254, fd00:ec2::254)
// are refused in every mode unless a CIDR or address on Allow contains
// them and is no broader than the link-local range (a catch-all such as
// 0.0.0.0/0 does not count); an allowlisted name is not enough. Otherwise, with PublicAccess
// false, addr must lie in Private or in an allowlisted CIDR, or host must
// be an allowlisted name.
//
// Check has no side effects: it neither logs nor calls OnRefusal.
func (e *Egress) Check(host string, addr netip.Addr) error {
	if r := e.check(host, addr); r != nil {
		return r
	}
	return nil
}

func (e *Egress) check(host string, addr netip.Addr) *Refusal {
	refuse := func(reason string) *Refusal {
		return &Refusal{Host: host, Addr: addr, Reason: reason}
	}
	a := addr.Unmap().WithZone("")
	switch {
	case !a.IsValid():
		return refuse(reasonInvalid)
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return refuse(reasonUnspecified)
	case a.IsMulticast():
		return refuse(reasonMulticast)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return refuse(reasonBroadcast)
	case isMetadata(a):
		if e.allowedMetadata(a) {
			return nil
		}
		return refuse(reasonMetadata)
	}
	if e.PublicAccess || contains(e.Private, a) || e.allowed(host, a) {
		return nil
	}
	return refuse(reasonPublic)
}

// allowedMetadata reports whether a CIDR or address entry of the
// allowlist names addr, a link-local or metadata address: the entry must
// contain it and be no broader than the link-local range (/16 for IPv4,
// /10 for IPv6), so a catch-all such as 0.0.0.0/0 or fd00::/8 does not
// count.
func (e *Egress) allowedMetadata(addr netip.Addr) bool {
	minBits := 10
	if addr.Is4() {
		minBits = 16
	}
	for _, entry := range e.Allow {
		p, _, err := parseAllow(entry)
		if err == nil && p.IsValid() && p.Bits() >= minBits && p.Contains(addr) {
			return true
		}
	}
	return false
}

// allowed reports whether the allowlist admits host or addr.
func (e *Egress) allowed(host string, addr netip.Addr) bool {
	// An address literal is never matched as a name: "*.0.0.1" must not
	// admit 127.0.0.1.
	_, err := netip.ParseAddr(host)
	isName := err != nil
	for _, entry := range e.Allow {
		p, pattern, err := parseAllow(entry)
		switch {
		case err != nil:
			continue
		case p.IsValid():
			if p.Contains(addr) {
				return true
			}
		case isName && matchHost(pattern, host):
			return true
		}
	}
	return false
}

// Validate reports the first malformed allowlist entry. Such entries match
// nothing, so the policy stays closed, but a typo would go unnoticed.
func (e *Egress) Validate() error {
	for _, entry := range e.Allow {
		if _, _, err := parseAllow(entry); err != nil {
			return fmt.Errorf("egress allowlist: %w", err)
		}
	}
	return nil
}

// parseAllow parses an allowlist entry into either a prefix or a host
// pattern.
func parseAllow(entry string) (netip.Prefix, string, error) {
	entry = strings.TrimSpace(entry)
	if _, err := netip.ParseAddr(entry); err == nil || strings.Contains(entry, "/") {
		ps, err := ParsePrefixes([]string{entry})
		if err != nil {
			return netip.Prefix{}, "", err
		}
		return ps[0], "", nil
	}
	name, wild := strings.CutPrefix(entry, "*.")
	if _, ok := normalizeHost(name); !ok {
		if wild {
			return netip.Prefix{}, "", fmt.Errorf("%q is not a host name pattern", entry)
		}
		return netip.Prefix{}, "", fmt.Errorf("%q is not a host name, address or CIDR", entry)
	}
	return netip.Prefix{}, entry, nil
}

// matchHost reports whether host matches an allowlist pattern: an exact
// host name, or "*.suffix" matching any name with at least one more label
// before suffix. Both must be well-formed ASCII host names; comparison
// ignores ASCII case and one trailing dot.
func matchHost(pattern, host string) bool {
	h, ok := normalizeHost(host)
	if !ok {
		return false
	}
	suffix, wild := strings.CutPrefix(pattern, "*.")
	p, ok := normalizeHost(suffix)
	if !ok {
		return false
	}
	if !wild {
		return h == p
	}
	// normalizeHost rejects empty labels, so what precedes "."+p is at
	// least one whole label.
	return len(h) > len(p)+1 && strings.HasSuffix(h, "."+p)
}

// normalizeHost lowercases a host name and drops one trailing dot,
// reporting whether it is well-formed: ASCII letters, digits, '-' and '_'
// in non-empty labels of at most 63 bytes, at most 253 bytes in all, and
// a last label that is not all digits (so that no IPv4 spelling, such as
// "127.1", passes for a name).
func normalizeHost(s string) (string, bool) {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return "", false
	}
	b := []byte(s)
	label, digits := 0, true
	for i, c := range b {
		switch {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label, digits = 0, true
			continue
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
			digits = false
		case 'a' <= c && c <= 'z', c == '-', c == '_':
			digits = false
		case '0' <= c && c <= '9':
		default:
			return "", false
		}
		if label++; label > 63 {
			return "", false
		}
	}
	if label == 0 || digits {
		return "", false
	}
	return string(b), true
}

// refuse logs r and reports it to OnRefusal, then returns it.
func (e *Egress) refuse(r *Refusal) *Refusal {
	if e.Logger != nil {
		addr := ""
		if r.Addr.IsValid() {
			addr = r.Addr.String()
		}
		e.Logger.Warn("egress refused", "host", r.Host, "port", r.Port, "addr", addr, "reason", r.Reason)
	}
	if e.OnRefusal != nil {
		e.OnRefusal(*r)
	}
	return r
}

// Client returns the HTTP client for everything a deployment fetches.
// timeout bounds each request including redirects and reading the body;
// zero means none.
//
// Every connection is checked at dial time: the client resolves the host
// itself, refuses the connection when the policy refuses any of its
// addresses (see [Egress.Check]), and then dials the checked address
// literally, so a second DNS answer cannot rebind the name to a forbidden
// address. TLS still verifies the certificate against the host name.
//
// The client never uses a proxy, whatever HTTP_PROXY and friends say: a
// proxy would make the connection, so the dial-time check would see only
// the proxy's address. Redirects are followed at most [MaxRedirects]
// times, never from https to http, never to a scheme other than http and
// https, and never to a host the policy refuses (the dial check applies
// to redirects too; checking them here too gives a clearer error).
//
// Refused requests fail with a *url.Error wrapping a *[Refusal]. Note that
// *url.Error's message includes the request URL, query string and all:
// log the Refusal, not the error.
func (e *Egress) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil, // never from the environment: see above
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			return e.dial(ctx, d, network, address)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: e.checkRedirect}
}

func (e *Egress) resolver() Resolver {
	if e.Resolver != nil {
		return e.Resolver
	}
	return net.DefaultResolver
}

// dial resolves address once, checks every address it resolves to, and
// connects to the first checked address that answers.
func (e *Egress) dial(ctx context.Context, d *net.Dialer, network, address string) (net.Conn, error) {
	var ipNetwork string
	switch network {
	case "tcp":
		ipNetwork = "ip"
	case "tcp4":
		ipNetwork = "ip4"
	case "tcp6":
		ipNetwork = "ip6"
	default:
		return nil, fmt.Errorf("egress: network %q not supported", network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	addrs, err := e.lookup(ctx, ipNetwork, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if r := e.check(host, a); r != nil {
			r.Port = port
			return nil, e.refuse(r)
		}
	}
	var errs []error
	for _, a := range addrs {
		// The literal address: the dialer must not resolve anything.
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// lookup returns the addresses of host: itself when it is an address
// literal, else what the resolver answers.
func (e *Egress) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := e.resolver().LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, fmt.Errorf("egress: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("egress: resolve %s: no addresses", host)
	}
	return addrs, nil
}

// checkRedirect refuses redirects that leave the policy.
func (e *Egress) checkRedirect(req *http.Request, via []*http.Request) error {
	u := req.URL
	host, port := u.Hostname(), u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	refuse := func(reason string) error {
		return e.refuse(&Refusal{Host: host, Port: port, Reason: reason})
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return refuse(reasonScheme)
	case len(via) > MaxRedirects:
		return refuse(fmt.Sprintf("stopped after %d redirects", MaxRedirects))
	case len(via) > 0 && via[len(via)-1].URL.Scheme == "https" && u.Scheme == "http":
		return refuse(reasonDowngrade)
	}
	if _, err := netip.ParseAddr(host); err != nil && e.PublicAccess {
		return nil // any name is allowed; the dial checks what it resolves to
	}
	addrs, err := e.lookup(req.Context(), "ip", host)
	if err != nil {
		return nil // the dial fails the same way and reports it
	}
	for _, a := range addrs {
		if r := e.check(host, a); r != nil {
			r.Port = port
			return e.refuse(r)
		}
	}
	return nil
}
