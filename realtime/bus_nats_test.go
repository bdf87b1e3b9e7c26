package realtime

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// envNATSURL names the NATS server, with JetStream, the NATS bus tests run
// on, e.g.
//
//	TEST_NATS_URL=nats://127.0.0.1:4222
const envNATSURL = "TEST_NATS_URL"

// natsDriver gives each test a stream and subject prefix of its own, deleted
// when the test ends.
func natsDriver() busDriver {
	return busDriver{
		name:     "nats",
		isShared: true,
		backend: func(t *testing.T) *testBackend {
			natsURL := os.Getenv(envNATSURL)
			if natsURL == "" {
				t.Skip(envNATSURL + " not set: NATS bus tests skipped")
			}
			suffix := randomSuffix(t)
			stream, prefix := "RT_"+strings.ToUpper(suffix), "rt."+suffix
			t.Cleanup(func() { deleteStream(t, natsURL, stream) })

			var (
				mu    sync.Mutex
				buses []*natsBus
			)
			return &testBackend{
				open: func(t *testing.T, opts ...Option) Bus {
					b, err := NewNATS(t.Context(), natsURL, append([]Option{WithNATSStream(stream, prefix)}, opts...)...)
					require.NoError(t, err)
					t.Cleanup(func() { require.NoError(t, b.Close()) })
					mu.Lock()
					buses = append(buses, b.(*natsBus))
					mu.Unlock()
					return b
				},
				interrupt: func(t *testing.T) {
					mu.Lock()
					defer mu.Unlock()
					for _, b := range buses {
						require.NoError(t, b.nc.ForceReconnect())
					}
				},
			}
		},
	}
}

func deleteStream(t *testing.T, natsURL, stream string) {
	nc, err := nats.Connect(natsURL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	err = js.DeleteStream(context.Background(), stream)
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		require.NoError(t, err)
	}
}
