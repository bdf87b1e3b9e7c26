package whatsapp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()

	secret := []byte("app-secret")
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	good := Sign(secret, body)

	tests := []struct {
		name    string
		secret  []byte
		body    []byte
		header  string
		wantErr error
	}{
		{name: "valid", secret: secret, body: body, header: good},
		{name: "uppercase hex", secret: secret, body: body, header: "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256="))},
		{name: "missing", secret: secret, body: body, header: "", wantErr: ErrSignatureMissing},
		{name: "sha1 header value", secret: secret, body: body, header: "sha1=" + strings.TrimPrefix(good, "sha256="), wantErr: ErrSignatureMalformed},
		{name: "no prefix", secret: secret, body: body, header: strings.TrimPrefix(good, "sha256="), wantErr: ErrSignatureMalformed},
		{name: "not hex", secret: secret, body: body, header: "sha256=" + strings.Repeat("zz", 32), wantErr: ErrSignatureMalformed},
		{name: "truncated hex", secret: secret, body: body, header: good[:len(good)-2], wantErr: ErrSignatureMalformed},
		{name: "odd length hex", secret: secret, body: body, header: good[:len(good)-1], wantErr: ErrSignatureMalformed},
		{name: "wrong secret", secret: []byte("another-secret"), body: body, header: good, wantErr: ErrSignatureMismatch},
		{name: "body changed", secret: secret, body: append([]byte(" "), body...), header: good, wantErr: ErrSignatureMismatch},
		{name: "forged", secret: secret, body: body, header: "sha256=" + strings.Repeat("ab", 32), wantErr: ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifySignature(tt.secret, tt.body, tt.header)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestVerifySignatureRefusesAnEmptySecret(t *testing.T) {
	t.Parallel()

	body := []byte("{}")
	err := VerifySignature(nil, body, Sign(nil, body))
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrSignatureMismatch)
}

func TestSignIsMetasFormat(t *testing.T) {
	t.Parallel()

	// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a published test vector.
	got := Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog"))
	require.Equal(t, "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", got)
}
