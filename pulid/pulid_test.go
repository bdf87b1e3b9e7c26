package pulid

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrefix(t *testing.T) {
	t.Parallel()
	id := New("cnv")
	tests := []struct {
		name   string
		id     string
		prefix string
		ok     bool
	}{
		{"fresh", id, "cnv", true},
		{"no separator", "cnv01J", "", false},
		{"short ulid", "cnv_01J", "", false},
		{"empty prefix", "_" + id[4:], "", false},
		{"bad ulid char", "cnv_" + "U" + id[5:], "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := Prefix(tt.id)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.prefix, p)
		})
	}
}

func TestNewSortsByCreation(t *testing.T) {
	t.Parallel()
	a, b := New("msg"), New("msg")
	require.Less(t, a, b)
	require.True(t, Is(a, "msg"))
	require.False(t, Is(a, "cnv"))
}
