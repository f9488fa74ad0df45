package builtin

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestGuardControl(t *testing.T) {
	t.Parallel()

	g, err := newGuard(nil, net.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		address string
		want    string // "" means allowed
	}{
		{"93.184.215.14:443", ""},
		{"8.8.8.8:53", ""},
		{"[2606:4700:4700::1111]:443", ""},
		{"127.0.0.1:80", "refused: 127.0.0.1 is a loopback address; add it to tools.http.allow to permit it"},
		{"127.8.9.10:8080", "127.8.9.10 is a loopback address"},
		{"[::1]:80", "::1 is a loopback address"},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1 is a loopback address"},
		{"10.1.2.3:80", "10.1.2.3 is a private address"},
		{"172.16.0.1:80", "172.16.0.1 is a private address"},
		{"192.168.1.1:80", "192.168.1.1 is a private address"},
		{"[fd12::1]:80", "fd12::1 is a private address"},
		{"169.254.169.254:80", "169.254.169.254 is a cloud metadata address"},
		{"[fd00:ec2::254]:80", "fd00:ec2::254 is a cloud metadata address"},
		{"169.254.1.1:80", "169.254.1.1 is a link-local address"},
		{"[fe80::1]:80", "fe80::1 is a link-local address"},
		{"100.64.0.1:80", "100.64.0.1 is a carrier-grade NAT address"},
		{"0.0.0.0:80", "0.0.0.0 is an unspecified address"},
		{"[::]:80", ":: is an unspecified address"},
		{"224.0.0.1:80", "224.0.0.1 is a multicast address"},
		{"[ff02::1]:80", "ff02::1 is a multicast address"},
		{"192.0.2.1:80", "192.0.2.1 is a reserved, non-public address"},
		{"240.0.0.1:80", "240.0.0.1 is a reserved, non-public address"},
		{"[64:ff9b::7f00:1]:80", "is a reserved, non-public address"},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			t.Parallel()
			network := "tcp4"
			if tt.address[0] == '[' {
				network = "tcp6"
			}
			err := g.control(network, tt.address, nil)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("control(%s) = %v, want allowed", tt.address, err)
			case tt.want != "" && (err == nil || !contains(err.Error(), tt.want)):
				t.Errorf("control(%s) = %v, want %q", tt.address, err, tt.want)
			}
			var refused *RefusedError
			if tt.want != "" && !errors.As(err, &refused) {
				t.Errorf("control(%s) error is %T, want *RefusedError", tt.address, err)
			}
		})
	}
}

func TestGuardAllowList(t *testing.T) {
	t.Parallel()

	g, err := newGuard([]string{"10.0.0.0/8", "192.168.1.7", "127.0.0.1:8080", "[::1]:9090", "Wiki.Intranet.", "db.local:5432"}, net.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	for address, allowed := range map[string]bool{
		"10.200.3.4:80":   true,
		"192.168.1.7:443": true,
		"192.168.1.8:443": false,
		"127.0.0.1:8080":  true,
		"127.0.0.1:8081":  false,
		"[::1]:9090":      true,
		"[::1]:9091":      false,
	} {
		network := map[bool]string{true: "tcp6", false: "tcp4"}[address[0] == '[']
		if err := g.control(network, address, nil); (err == nil) != allowed {
			t.Errorf("control(%s) = %v, want allowed=%v", address, err, allowed)
		}
	}
	if !g.hosts["wiki.intranet"] || !g.hostPorts["db.local:5432"] {
		t.Errorf("host names not normalised: hosts=%v hostPorts=%v", g.hosts, g.hostPorts)
	}
}

func TestGuardAllowListErrors(t *testing.T) {
	t.Parallel()

	for _, entry := range []string{"http://example.com", "10.0.0.0/33", "host:0", "host:99999", "bad host", ""} {
		if _, err := newGuard([]string{entry}, net.Dialer{}); err == nil || !contains(err.Error(), "tools.http.allow") {
			t.Errorf("newGuard(%q) error = %v, want one naming tools.http.allow", entry, err)
		}
	}
}

func TestGuardRefusesOtherNetworks(t *testing.T) {
	t.Parallel()

	g, _ := newGuard(nil, net.Dialer{})
	if err := g.control("udp4", "8.8.8.8:53", nil); err == nil || !contains(err.Error(), "network udp4 is not permitted") {
		t.Errorf("control(udp4) = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
