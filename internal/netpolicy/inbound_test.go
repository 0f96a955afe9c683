package netpolicy

import (
	"net/netip"
	"testing"
)

func TestIsPrivateDefaults(t *testing.T) {
	in, err := NewInbound(DefaultPrivateNetworks, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true}, {"127.9.9.9", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"fd00::1", true}, {"169.254.1.1", true}, {"fe80::1", true}, {"::ffff:10.0.0.1", true},
		{"172.32.0.1", false}, {"8.8.8.8", false}, {"2001:db8::1", false}, {"100.64.0.1", false}, {"11.0.0.1", false},
	}
	for _, tt := range tests {
		if got := in.IsPrivate(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("IsPrivate(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestSource(t *testing.T) {
	in, _ := NewInbound(DefaultPrivateNetworks, []string{"10.0.0.0/24", "10.0.1.5"})
	tests := []struct {
		name, remote, xff, want string
	}{
		{"ok/no-header", "8.8.8.8", "", "8.8.8.8"},
		{"fail/untrusted-peer-header-ignored", "8.8.8.8", "10.9.9.9", "8.8.8.8"},
		{"ok/one-proxy", "10.0.0.7", "203.0.113.9", "203.0.113.9"},
		{"ok/chain-of-proxies", "10.0.0.7", "203.0.113.9, 10.0.1.5", "203.0.113.9"},
		{"fail/spoofed-left-entries-ignored", "10.0.0.7", "10.1.1.1, 203.0.113.9", "203.0.113.9"},
		{"fail/garbage-hop", "10.0.0.7", "203.0.113.9, nonsense", "10.0.0.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := in.Source(netip.MustParseAddr(tt.remote), tt.xff); got.String() != tt.want {
				t.Errorf("Source = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParsePrefixesRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "nope", "1.2.3"} {
		if _, err := ParsePrefixes([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzSource(f *testing.F) {
	in, _ := NewInbound(DefaultPrivateNetworks, []string{"10.0.0.0/8"})
	f.Add("10.0.0.1", "1.2.3.4, 10.0.0.2")
	f.Add("8.8.8.8", "")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		a, err := netip.ParseAddr(remote)
		if err != nil {
			return
		}
		if got := in.Source(a, xff); !got.IsValid() {
			t.Fatalf("Source(%q, %q) is invalid", remote, xff)
		}
	})
}
