package ratelimit

import "net/netip"

// AddressKey is the key a client address spends from in every per-address
// budget (the throttles' and the Platform API's): an IPv4 address as it
// is; an IPv6 address as its /64 network, the smallest block a provider
// hands a single customer (RFC 6177), so that one customer cannot take a
// fresh budget with each of its 2^64 addresses; an IPv4-mapped IPv6
// address (::ffff:192.0.2.1) as the IPv4 address it maps. Anything that
// is not an address (such as "") is its own key.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a.Is4() {
		// ParseAddr takes IPv4 only as the canonical dotted quad.
		return ip
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // strips a zone (fe80::1%eth0)
	return p.String()
}
