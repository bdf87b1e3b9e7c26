package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	ok, err := CheckPassword(h, "correct horse battery")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = CheckPassword(h, "correct horse battery!")
	require.NoError(t, err)
	require.False(t, ok)
	h2, _ := HashPassword("correct horse battery")
	require.NotEqual(t, h, h2, "salted")
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "plain"} {
		_, err := CheckPassword(bad, "x")
		require.Error(t, err, bad)
	}
}

func TestAccessToken(t *testing.T) {
	t.Parallel()
	tok, err := NewTokens([]byte(strings.Repeat("k", 32)), time.Minute, clock.Real())
	require.NoError(t, err)
	now := time.Now()
	tok.clock = clock.NewFake(now)
	s, exp, err := tok.Issue("ten_1", "agt_1", "ses_1", []string{"agent"})
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Minute).Unix(), exp.Unix())

	v, err := tok.Verify(s)
	require.NoError(t, err)
	require.Equal(t, "ten_1", v.TenantID)
	require.Equal(t, "agt_1", v.AgentID)
	require.Equal(t, []string{"agent"}, v.Roles)

	other, _ := NewTokens([]byte(strings.Repeat("x", 32)), time.Minute, clock.Real())
	_, err = other.Verify(s)
	require.Error(t, err, "signed with another key")

	tok.clock = clock.NewFake(now.Add(2 * time.Minute))
	_, err = tok.Verify(s)
	require.Error(t, err, "expired")

	_, err = NewTokens([]byte(strings.Repeat("k", 32)), 25*time.Hour, clock.Real())
	require.Error(t, err, "longer than revocations are remembered")
	_, err = NewTokens([]byte("short"), time.Minute, clock.Real())
	require.Error(t, err)
}
