package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Tokens signs and verifies access tokens.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	clock  clock.Clock
}

// NewTokens returns a signer using secret (at least 32 bytes) and ttl, that
// reads issue and expiry times from clk.
func NewTokens(secret []byte, ttl time.Duration, clk clock.Clock) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("auth: the token secret must be at least 32 bytes")
	}
	if ttl <= 0 || ttl > policy.MaxAccessTokenTTL {
		// revoked sessions are remembered for MaxAccessTokenTTL: a token that
		// lived longer would work again once its session's revocation is forgotten
		return nil, fmt.Errorf("auth: the access token lifetime must be between 0 and %s", policy.MaxAccessTokenTTL)
	}
	return &Tokens{secret: secret, ttl: ttl, clock: clk}, nil
}

type claims struct {
	jwt.RegisteredClaims
	TenantID  string   `json:"tid"`
	SessionID string   `json:"sid"`
	Roles     []string `json:"roles"`
}

const issuer = "switchboard"

func init() {
	// Revocation compares a token's iat with an instant kept to the
	// microsecond; whole seconds would let a token issued in the same second
	// as a revocation through, or refuse its replacement.
	jwt.TimePrecision = time.Microsecond
}

// Issue returns an access token for an agent's session and its expiry.
func (t *Tokens) Issue(tenantID, agentID, sessionID string, roles []string) (string, time.Time, error) {
	now := t.clock.Now().Truncate(time.Microsecond)
	exp := now.Add(t.ttl)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   agentID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		TenantID:  tenantID,
		SessionID: sessionID,
		Roles:     roles,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// Verify checks an access token and returns its viewer.
func (t *Tokens) Verify(token string) (*viewer.Viewer, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.clock.Now),
	)
	if err != nil {
		return nil, fmt.Errorf("access token: %w", err)
	}
	if c.Subject == "" || c.TenantID == "" {
		return nil, errors.New("access token: missing subject or tenant")
	}
	return &viewer.Viewer{
		Kind:      viewer.KindAgent,
		TenantID:  c.TenantID,
		AgentID:   c.Subject,
		SessionID: c.SessionID,
		Roles:     c.Roles,
		IssuedAt:  c.IssuedAt.Time,
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// randomToken returns prefix followed by 32 random bytes, base64url.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("auth: no randomness: %v", err)) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// digest is how refresh tokens and API keys are stored: a SHA-256 hex digest.
// They are random 256-bit values, so a fast hash is enough.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newRefreshToken returns a new refresh token of a session's family: every
// token of the session carries the family part, so that presenting an old
// one is recognised as a reuse however many rotations ago it was issued.
func newRefreshToken(family string) string {
	return "rt_" + family + "." + randomToken("")
}

// familyOf returns the family part of a refresh token (tokens issued before
// families have none).
func familyOf(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, "rt_")
	if !ok {
		return "", false
	}
	family, _, ok := strings.Cut(rest, ".")
	return family, ok && family != ""
}
