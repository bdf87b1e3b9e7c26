package outhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
)

// checkURL refuses what an endpoint URL may not be: anything but http(s),
// credentials in the URL, and (unless allowPrivate) a host that names the
// machine or a private network outright. Names that resolve to such
// addresses are refused by the dialer at connect time.
func checkURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, apperr.Invalid("url", "must be an absolute http or https URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, apperr.Invalid("url", "must use https or http, not %q", u.Scheme)
	}
	if u.User != nil {
		return nil, apperr.Invalid("url", "must not carry credentials: sign with the endpoint's secret instead")
	}
	if u.Fragment != "" {
		return nil, apperr.Invalid("url", "must not have a fragment")
	}
	if allowPrivate {
		return u, nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") {
		return nil, apperr.Invalid("url", "must not point at this machine or an internal name")
	}
	if ip, err := netip.ParseAddr(host); err == nil && !public(ip) {
		return nil, apperr.Invalid("url", "must not point at a loopback, private or link-local address")
	}
	return u, nil
}

// public reports whether ip is an address on the internet at large.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() &&
		!ip.IsLinkLocalMulticast() && !ip.IsMulticast() && !ip.IsUnspecified() && !ip.IsInterfaceLocalMulticast() &&
		!cgnat.Contains(ip)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

var errPrivateTarget = errors.New("outhook: refusing to connect to a non-public address")

// newHTTPClient is the client deliveries go through: it checks the address
// it is about to connect to (after DNS), follows no redirects and keeps no
// cookies.
func newHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !public(ap.Addr()) {
				return fmt.Errorf("%w: %s", errPrivateTarget, address)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, unchecked
		DialContext:           d.DialContext,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not a new target
		},
	}
}
