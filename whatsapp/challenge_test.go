package whatsapp

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVerifyChallenge(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name          string
		query         string
		token         string
		wantChallenge string
		wantOK        bool
	}{
		{name: "subscribe with our token", query: "hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=1158201444", token: "s3cret", wantChallenge: "1158201444", wantOK: true},
		{name: "wrong token", query: "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1", token: "s3cret"},
		{name: "token prefix", query: "hub.mode=subscribe&hub.verify_token=s3c&hub.challenge=1", token: "s3cret"},
		{name: "other mode", query: "hub.mode=unsubscribe&hub.verify_token=s3cret&hub.challenge=1", token: "s3cret"},
		{name: "no challenge", query: "hub.mode=subscribe&hub.verify_token=s3cret", token: "s3cret"},
		{name: "no token configured", query: "hub.mode=subscribe&hub.verify_token=&hub.challenge=1", token: ""},
		{name: "empty query", query: "", token: "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			query, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			challenge, ok := VerifyChallenge(query, tt.token)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.wantChallenge, challenge)
		})
	}
}
