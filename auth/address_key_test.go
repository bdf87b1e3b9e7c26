package auth

import "testing"

// An IPv6 guesser holds a /64 at least: every address of it shares one
// counter, and addresses of other /64s do not.
func TestAddressKeyCountsIPv6ByItsSlash64(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"fe80::1%eth0", "fe80::2", true},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
	} {
		if got := addressKey(tc.a) == addressKey(tc.b); got != tc.same {
			t.Errorf("addressKey(%q) = %q, addressKey(%q) = %q: same = %v, want %v",
				tc.a, addressKey(tc.a), tc.b, addressKey(tc.b), got, tc.same)
		}
	}
	if got := addressKey("not an address"); got != "addr:not an address" {
		t.Errorf("an unparsable address keeps its text: %q", got)
	}
}
