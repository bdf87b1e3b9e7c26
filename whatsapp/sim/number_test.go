package sim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)

	h, err := b.client.HealthCheck(t.Context(), testNumber, testToken)

	require.NoError(t, err)
	require.Equal(t, &whatsapp.NumberHealth{
		ID: testNumber, VerifiedName: "Jasper's Market", DisplayPhone: testDisplay,
		QualityRating: "GREEN", MessagingLimitTier: "TIER_1K", Status: "CONNECTED",
	}, h)
}

func TestHealthFields(t *testing.T) {
	t.Parallel()
	b := setup(t)

	status, out := b.call(t, http.MethodGet, "/v21.0/"+testNumber+"?fields=throughput,platform_type", testToken, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"id": testNumber, "throughput": map[string]any{"level": "STANDARD"}, "platform_type": "CLOUD_API"}, out)

	status, out = b.call(t, http.MethodGet, "/v21.0/"+testNumber+"?fields=favourite_colour", testToken, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))
}

func TestNumberChangesPostWebhooksAndShowInHealth(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		change      func(s *sim.Simulator) error
		wantField   string
		wantAccount *whatsapp.AccountUpdate
		wantQuality *whatsapp.QualityUpdate
		wantHealth  whatsapp.NumberHealth
	}{
		{
			name:        "banned",
			change:      func(s *sim.Simulator) error { return s.SetStatus(testNumber, "BANNED") },
			wantField:   whatsapp.FieldAccountUpdate,
			wantAccount: &whatsapp.AccountUpdate{Event: "DISABLED_UPDATE", BanState: "DISABLE"},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "GREEN", MessagingLimitTier: "TIER_1K", Status: "BANNED"},
		},
		{
			name: "reinstated",
			change: func(s *sim.Simulator) error {
				if err := s.SetStatus(testNumber, "BANNED"); err != nil {
					return err
				}
				return s.SetStatus(testNumber, "CONNECTED")
			},
			wantField:   whatsapp.FieldAccountUpdate,
			wantAccount: &whatsapp.AccountUpdate{Event: "DISABLED_UPDATE", BanState: "REINSTATE"},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "GREEN", MessagingLimitTier: "TIER_1K", Status: "CONNECTED"},
		},
		{
			name:        "restricted",
			change:      func(s *sim.Simulator) error { return s.SetStatus(testNumber, "RESTRICTED") },
			wantField:   whatsapp.FieldAccountUpdate,
			wantAccount: &whatsapp.AccountUpdate{Event: "ACCOUNT_RESTRICTION", Restrictions: []whatsapp.Restriction{{Type: "RESTRICTED_BIZ_INITIATED_MESSAGING"}}},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "GREEN", MessagingLimitTier: "TIER_1K", Status: "RESTRICTED"},
		},
		{
			name:        "quality falls to red",
			change:      func(s *sim.Simulator) error { return s.SetQuality(testNumber, "RED") },
			wantField:   whatsapp.FieldQualityUpdate,
			wantQuality: &whatsapp.QualityUpdate{Event: "FLAGGED", CurrentLimit: "TIER_1K"},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "RED", MessagingLimitTier: "TIER_1K", Status: "FLAGGED"},
		},
		{
			name: "quality recovers",
			change: func(s *sim.Simulator) error {
				if err := s.SetQuality(testNumber, "RED"); err != nil {
					return err
				}
				return s.SetQuality(testNumber, "YELLOW")
			},
			wantField:   whatsapp.FieldQualityUpdate,
			wantQuality: &whatsapp.QualityUpdate{Event: "UNFLAGGED", CurrentLimit: "TIER_1K"},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "YELLOW", MessagingLimitTier: "TIER_1K", Status: "CONNECTED"},
		},
		{
			name:        "tier upgraded",
			change:      func(s *sim.Simulator) error { return s.SetTier(testNumber, "TIER_10K") },
			wantField:   whatsapp.FieldQualityUpdate,
			wantQuality: &whatsapp.QualityUpdate{Event: "UPGRADE", CurrentLimit: "TIER_10K", OldLimit: "TIER_1K"},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "GREEN", MessagingLimitTier: "TIER_10K", Status: "CONNECTED"},
		},
		{
			name:        "tier downgraded",
			change:      func(s *sim.Simulator) error { return s.SetTier(testNumber, "TIER_250") },
			wantField:   whatsapp.FieldQualityUpdate,
			wantQuality: &whatsapp.QualityUpdate{Event: "DOWNGRADE", CurrentLimit: "TIER_250", OldLimit: "TIER_1K"},
			wantHealth:  whatsapp.NumberHealth{QualityRating: "GREEN", MessagingLimitTier: "TIER_250", Status: "CONNECTED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)

			require.NoError(t, tt.change(b.sim))

			// Two changes in a row may arrive in either order, as from Meta.
			var got whatsapp.Change
			require.Eventually(t, func() bool {
				for _, c := range b.hooks.snapshot() {
					if c.Field == tt.wantField && (tt.wantAccount != nil && sameAccountEvent(*tt.wantAccount, c.Account) || tt.wantQuality != nil && *tt.wantQuality == *c.Quality) {
						got = c
						return true
					}
				}
				return false
			}, waitFor, time.Millisecond)
			require.Equal(t, sim.DefaultWABAID, got.WABAID)
			require.WithinDuration(t, b.sim.Now(), got.Time, 2*time.Second)
			if tt.wantQuality != nil {
				require.Equal(t, testDisplay, got.DisplayPhone)
			}
			if got.Account != nil {
				for _, r := range got.Account.Restrictions {
					require.WithinDuration(t, b.sim.Now().Add(24*time.Hour), r.Expires, 2*time.Second)
				}
			}
			h, err := b.client.HealthCheck(t.Context(), testNumber, testToken)
			require.NoError(t, err)
			tt.wantHealth.ID, tt.wantHealth.VerifiedName, tt.wantHealth.DisplayPhone = testNumber, "Jasper's Market", testDisplay
			require.Equal(t, tt.wantHealth, *h)
		})
	}
}

func TestBannedNumberCannotSend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.sim.SetStatus(testNumber, "BANNED"))

	_, err := b.client.SendTemplate(t.Context(), testNumber, testToken, testCustomer, helloWorld, "")

	requireAPIError(t, err, http.StatusBadRequest, 131031)
}

func TestNumberSettersRefuseUnknownValues(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.Error(t, b.sim.SetStatus(testNumber, "ASLEEP"))
	require.Error(t, b.sim.SetQuality(testNumber, "BLUE"))
	require.Error(t, b.sim.SetTier(testNumber, "TIER_7"))
	require.Error(t, b.sim.SetThroughput(testNumber, 0))
	require.ErrorIs(t, b.sim.SetStatus("999", "CONNECTED"), sim.ErrUnknownNumber)
	require.Error(t, b.sim.AddNumber(sim.Number{PhoneNumberID: testNumber, Token: "again"}))
}

func TestAddNumberServesIt(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.NoError(t, b.sim.AddNumber(sim.Number{PhoneNumberID: "3001234567", Token: "second"}))

	h, err := b.client.HealthCheck(t.Context(), "3001234567", "second")
	require.NoError(t, err)
	require.Equal(t, "15551234567", h.DisplayPhone, "derived from the id")
	require.Equal(t, "CONNECTED", h.Status)
	require.Len(t, b.sim.Numbers(), 2)
}

// sameAccountEvent compares the event, ban state and restriction types:
// dates and expiries depend on the clock.
func sameAccountEvent(want whatsapp.AccountUpdate, got *whatsapp.AccountUpdate) bool {
	if got == nil || got.Event != want.Event || got.BanState != want.BanState || len(got.Restrictions) != len(want.Restrictions) {
		return false
	}
	for i := range want.Restrictions {
		if got.Restrictions[i].Type != want.Restrictions[i].Type {
			return false
		}
	}
	return true
}

// TestHealthReadOnlyWithTheNumbersToken: GET /{phone-number-id}, what
// Switchboard asks to prove that a tenant's token reads a number (issue 9,
// M8), answers only the tokens that own the number. A business's token reads
// all its numbers; another's token, a made-up one and an id nobody serves
// are refused.
func TestHealthReadOnlyWithTheNumbersToken(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sim.Config) {
		c.Numbers = append(c.Numbers,
			sim.Number{PhoneNumberID: "3001234567", Token: testToken, DisplayPhone: "15550001111"},
			sim.Number{PhoneNumberID: "3007654321", Token: "another business", DisplayPhone: "15550002222"})
	})

	for id, phone := range map[string]string{testNumber: testDisplay, "3001234567": "15550001111"} {
		h, err := b.client.HealthCheck(t.Context(), id, testToken)
		require.NoError(t, err)
		require.Equal(t, id, h.ID)
		require.Equal(t, phone, h.DisplayPhone)
	}
	for _, c := range []struct{ id, token string }{
		{"3007654321", testToken},        // another business's number
		{testNumber, "another business"}, // another business's token
		{testNumber, "made up"},
		{"3009999999", testToken}, // nobody's
	} {
		_, err := b.client.HealthCheck(t.Context(), c.id, c.token)
		var apiErr *whatsapp.APIError
		require.ErrorAs(t, err, &apiErr, "%s with %q", c.id, c.token)
		require.False(t, apiErr.Retryable())
	}
}

// TestBusinessNumbersListTheTokensOwn: GET /{waba-id}/phone_numbers lists the
// business account's numbers the token owns (Switchboard proves a number's
// business account with it); a token that owns none, and an account the
// simulator does not serve, are refused.
func TestBusinessNumbersListTheTokensOwn(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sim.Config) {
		c.Numbers = append(c.Numbers,
			sim.Number{PhoneNumberID: "3001234567", Token: testToken, DisplayPhone: "15550001111"},
			sim.Number{PhoneNumberID: "3007654321", Token: "another business", DisplayPhone: "15550002222"})
	})

	ids := func(token string) []string {
		t.Helper()
		numbers, err := b.client.BusinessNumbers(t.Context(), sim.DefaultWABAID, token)
		require.NoError(t, err)
		var out []string
		for _, n := range numbers {
			out = append(out, n.ID)
		}
		return out
	}
	require.Equal(t, []string{testNumber, "3001234567"}, ids(testToken))
	require.Equal(t, []string{"3007654321"}, ids("another business"))
	for _, c := range []struct{ waba, token string }{{sim.DefaultWABAID, "made up"}, {"999888777", testToken}} {
		_, err := b.client.BusinessNumbers(t.Context(), c.waba, c.token)
		var apiErr *whatsapp.APIError
		require.ErrorAs(t, err, &apiErr, "%s with %q", c.waba, c.token)
	}
}
