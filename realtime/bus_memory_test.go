package realtime

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func memoryDriver() busDriver {
	return busDriver{
		name: "memory",
		backend: func(*testing.T) *testBackend {
			return &testBackend{open: func(t *testing.T, opts ...Option) Bus {
				b := NewMemory(opts...)
				t.Cleanup(func() { require.NoError(t, b.Close()) })
				return b
			}}
		},
	}
}
