package connector

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// A throttled health read is an answer, not an outage: the number keeps its
// status. Only a provider that does not answer (5xx) takes it DISCONNECTED.
func TestHealthThrottledReadKeepsStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		httpStatus int
		code       int
		want       number.Status
	}{
		{"throughput, as Meta sends it (400)", http.StatusBadRequest, whatsapp.CodeThroughput, number.StatusCONNECTED},
		{"throughput with a 429", http.StatusTooManyRequests, whatsapp.CodeThroughput, number.StatusCONNECTED},
		{"app call rate", http.StatusBadRequest, whatsapp.CodeTooManyCalls, number.StatusCONNECTED},
		{"business account rate", http.StatusBadRequest, whatsapp.CodeWABARateLimit, number.StatusCONNECTED},
		{"service unavailable", http.StatusServiceUnavailable, whatsapp.CodeAPIService, number.StatusDISCONNECTED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.httpStatus)
				fmt.Fprintf(w, `{"error":{"message":"(#%d) Error","type":"OAuthException","code":%d,"fbtrace_id":"AbC"}}`, tt.code, tt.code)
			}))
			t.Cleanup(api.Close)

			db := storetest.Open(t, "sqlite3")
			ten, _, err := tenant.Create(t.Context(), db.Client, tenant.Input{
				Name: "Acme", Slug: "acme", OwnerName: "O", OwnerEmail: "o@acme.test", OwnerPassword: "long enough pw",
			})
			require.NoError(t, err)
			ctx := viewer.System(t.Context(), ten.ID)
			box, err := credential.NewBox([]byte("secret for tests"))
			require.NoError(t, err)
			num, err := db.Client.Number.Create().SetPhone("+972123456789").SetDisplayName("Main").
				SetPhoneNumberID("1122334455667").SetStatus(number.StatusCONNECTED).Save(ctx)
			require.NoError(t, err)
			sealed, err := box.Seal(credential.Credentials{AccessToken: "token"}, num.ID)
			require.NoError(t, err)
			require.NoError(t, num.Update().SetCredentials(sealed).Exec(ctx))

			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			h := &Health{Client: db.Client, API: Providers{Cloud: &whatsapp.Client{BaseURL: api.URL}}, Box: box,
				Pub: realtime.NewPublisher(realtime.NewMemory(), log), Log: log}
			require.NoError(t, h.Work(t.Context(), &river.Job[HealthArgs]{}))

			got, err := db.Client.Number.Get(ctx, num.ID)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Status)
			require.Empty(t, got.Attention)
		})
	}
}
