package credential

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	box, err := NewBox([]byte("a secret of the server, 32+ chars"))
	require.NoError(t, err)
	sealed, err := box.Seal(Credentials{AccessToken: "EAAG-token"}, "num_1")
	require.NoError(t, err)
	require.False(t, bytes.Contains(sealed, []byte("EAAG-token")), "the token is not stored in the clear")

	c, err := box.Open(sealed, "num_1")
	require.NoError(t, err)
	require.Equal(t, "EAAG-token", c.AccessToken)

	_, err = box.Open(sealed, "num_2")
	require.Error(t, err, "a sealed value moved to another number does not open")
	other, _ := NewBox([]byte("another secret of another server"))
	_, err = other.Open(sealed, "num_1")
	require.Error(t, err)
	_, err = box.Open(nil, "num_1")
	require.ErrorIs(t, err, ErrNone)
}
