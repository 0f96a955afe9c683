// Package netpolicy decides what may cross the network: which callers count
// as private (for endpoints with public network access disabled), whose
// X-Forwarded-For to believe, and where a deployment may connect out to.
package netpolicy

import (
	"fmt"
	"net/netip"
	"strings"
)

// DefaultPrivateNetworks are the networks whose sources count as private
// unless configured otherwise: loopback, RFC 1918, IPv6 unique-local, and
// link-local.
var DefaultPrivateNetworks = []string{
	"127.0.0.0/8", "::1/128",
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"fc00::/7",
	"169.254.0.0/16", "fe80::/10",
}

// Inbound classifies the sources of requests.
type Inbound struct {
	private []netip.Prefix
	proxies []netip.Prefix
}

// ParsePrefixes parses CIDRs (a bare address counts as a single host).
func ParsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", c)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %v", c, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// NewInbound returns a classifier: sources in private are private; the
// X-Forwarded-For header is read only when the connection comes from one
// of proxies.
func NewInbound(private, proxies []string) (*Inbound, error) {
	pv, err := ParsePrefixes(private)
	if err != nil {
		return nil, fmt.Errorf("private networks: %w", err)
	}
	px, err := ParsePrefixes(proxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	return &Inbound{private: pv, proxies: px}, nil
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IsPrivate reports whether addr lies in a private network.
func (in *Inbound) IsPrivate(addr netip.Addr) bool {
	return addr.IsValid() && contains(in.private, addr)
}

// Source returns the address a request comes from. remote is the
// connection's peer address; forwarded the X-Forwarded-For header. Only
// when the peer is a trusted proxy is the header read, from the right,
// skipping trusted proxies: the first address that is not one is the
// client. An unparseable hop ends the walk at the last trusted hop.
func (in *Inbound) Source(remote netip.Addr, forwarded string) netip.Addr {
	remote = remote.Unmap()
	if forwarded == "" || !contains(in.proxies, remote) {
		return remote
	}
	hops := strings.Split(forwarded, ",")
	src := remote
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return src
		}
		src = a.Unmap()
		if !contains(in.proxies, src) {
			return src
		}
	}
	return src
}
