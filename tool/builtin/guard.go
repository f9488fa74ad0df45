package builtin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"

	"github.com/tessera-run/tessera"
)

// allowKey is the configuration key the refusal message points operators to.
const allowKey = "tools.http.allow"

// RefusedError is returned (wrapped) when the guard refuses to connect to
// an address that is not public.
type RefusedError struct {
	Addr netip.Addr
	// Reason says what kind of address it is: "a loopback address", …
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused: %s is %s; add it to %s to permit it", e.Addr, e.Reason, allowKey)
}

var (
	metadataV4 = netip.MustParseAddr("169.254.169.254")
	metadataV6 = netip.MustParseAddr("fd00:ec2::254")
	cgnat      = netip.MustParsePrefix("100.64.0.0/10")
)

// addressKind names the kind of a refused address for the error message,
// most specific first.
func addressKind(ip netip.Addr) string {
	switch {
	case ip == metadataV4 || ip == metadataV6:
		return "a cloud metadata address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case cgnat.Contains(ip):
		return "a carrier-grade NAT address"
	case ip.IsMulticast():
		return "a multicast address"
	default:
		return "a reserved, non-public address"
	}
}

// guard decides, at connect time, whether a dial may proceed.
type guard struct {
	ssrf       *ssrf.Guardian
	prefixes   []netip.Prefix   // allowed on any port
	addrPorts  []netip.AddrPort // allowed on one port
	hosts      map[string]bool  // host names allowed on any port
	hostPorts  map[string]bool  // "host:port" allowed
	plain      *net.Dialer      // for allowed host names
	controlled *net.Dialer      // for everything else
}

func newGuard(allow []string, d net.Dialer) (*guard, error) {
	g := &guard{
		// Any port: the address class is the boundary; public services on
		// odd ports are legitimate.
		ssrf:      ssrf.New(ssrf.WithAnyPort()),
		hosts:     map[string]bool{},
		hostPorts: map[string]bool{},
	}
	for _, entry := range allow {
		if err := g.allow(strings.TrimSpace(entry)); err != nil {
			return nil, err
		}
	}
	plain, controlled := d, d
	controlled.Control = g.control
	g.plain, g.controlled = &plain, &controlled
	return g, nil
}

// allow adds one allow-list entry: a CIDR, an IP, a host name, or either
// of the last two with a port.
func (g *guard) allow(entry string) error {
	if p, err := netip.ParsePrefix(entry); err == nil {
		g.prefixes = append(g.prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(entry); err == nil {
		g.prefixes = append(g.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		return nil
	}
	if host, port, err := net.SplitHostPort(entry); err == nil && validPort(port) {
		if ip, err := netip.ParseAddr(host); err == nil {
			n, _ := strconv.Atoi(port)
			g.addrPorts = append(g.addrPorts, netip.AddrPortFrom(ip.Unmap(), uint16(n)))
			return nil
		}
		if validHostName(host) {
			g.hostPorts[net.JoinHostPort(normalHost(host), port)] = true
			return nil
		}
	}
	if validHostName(entry) {
		g.hosts[normalHost(entry)] = true
		return nil
	}
	return tessera.Errorf(tessera.EINVALID, "%s: %q is not a CIDR, an IP address, a host name or host:port", allowKey, entry)
}

// dialContext dials allowed host names without the guard (the dialer
// resolves them now, so DNS changes apply) and everything else through it.
func (g *guard) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(address); err == nil {
		host = normalHost(host)
		if g.hosts[host] || g.hostPorts[net.JoinHostPort(host, port)] {
			return g.plain.DialContext(ctx, network, address)
		}
	}
	return g.controlled.DialContext(ctx, network, address)
}

// control runs for every IP the dialer tries, after DNS resolution — the
// only point where the address that will really be connected to is known.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: cannot parse address %q", address)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) // ::ffff:127.0.0.1 is loopback too
	if g.allowed(ap) {
		return nil
	}
	err = g.ssrf.Safe(network, ap.String(), nil)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ssrf.ErrProhibitedNetwork):
		return fmt.Errorf("refused: network %s is not permitted", network)
	default:
		return &RefusedError{Addr: ap.Addr(), Reason: addressKind(ap.Addr())}
	}
}

func (g *guard) allowed(ap netip.AddrPort) bool {
	for _, p := range g.prefixes {
		if p.Contains(ap.Addr()) {
			return true
		}
	}
	for _, a := range g.addrPorts {
		if a == ap {
			return true
		}
	}
	return false
}

func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

// validHostName accepts DNS names (letters, digits, hyphens, dots), which
// keeps typos such as "http://host" out of the allow-list.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}
