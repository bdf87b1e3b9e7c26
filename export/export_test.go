package export_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/auditevent"
	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

var exportMessages = flag.Int("export-messages", 100_000, "messages TestExportStreamsInBoundedMemory exports")

// TestExportStreamsInBoundedMemory is must-show 2 of issue 14: an export of
// 100,000 messages streams with the heap growing by less than 50 MB (sampled
// every millisecond while it runs), a masking role's phones stay masked in
// it, the audit record names it, and its SHA-256 is the hash of the bytes.
func TestExportStreamsInBoundedMemory(t *testing.T) {
	db := storetest.Open(t, dialect.SQLite)
	ctx, convs := seed(t, db, *exportMessages)

	var peak, peakRSS atomic.Uint64
	baseRSS := rss()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			if r := rss(); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	h := sha256.New()
	w := &scanner{needle: "+3361", w: h}
	began := time.Now()
	res, err := export.New(db.Client).Write(ctx, w, export.JSONL, export.Filter{})
	took := time.Since(began)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.Equal(t, convs, res.Conversations)
	require.Equal(t, *exportMessages, res.Messages)
	require.Equal(t, hex.EncodeToString(h.Sum(nil)), res.SHA256)
	require.Zero(t, w.found.n, "a phone in the clear: the role masks Contact.phone")
	require.Equal(t, convs, w.phones.n, "every conversation carries its contact's (masked) phone")
	growth := int64(peak.Load()) - int64(base)
	rssGrowth := int64(peakRSS.Load()) - int64(baseRSS)
	t.Logf("exported %d conversations, %d messages, %d bytes in %s; peak growth: heap in use %.1f MB, RSS %.1f MB",
		res.Conversations, res.Messages, res.Bytes, took.Round(time.Millisecond), float64(growth)/(1<<20), float64(rssGrowth)/(1<<20))
	require.Less(t, growth, int64(50<<20), "bounded memory")
	require.Less(t, rssGrowth, int64(50<<20), "bounded memory")

	ev, err := db.Client.AuditEvent.Query().Where(auditevent.Action("conversation.export")).Only(viewer.Platform(ctx))
	require.NoError(t, err)
	require.Contains(t, ev.Summary, res.SHA256)
	require.Contains(t, ev.Summary, fmt.Sprintf("%d messages", res.Messages))
}

// seed makes n messages in conversations of 100, and returns the context of
// a supervisor whose role masks Contact.phone, admitted like a request.
func seed(t testing.TB, db *store.DB, n int) (context.Context, int) {
	t.Helper()
	pctx := viewer.Platform(t.Context())
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").Save(pctx)
	require.NoError(t, err)
	sctx := viewer.System(t.Context(), ten.ID)
	require.NoError(t, policy.SeedBuiltinRoles(sctx, db.Client))
	require.NoError(t, policy.WriteRules(sctx, db.Client, policy.FieldRuleLines(policy.RoleSupervisor,
		policy.Coordinate{Type: "Contact", Field: "phone"}, policy.Mask)...))
	num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").Save(sctx)
	require.NoError(t, err)
	convs := 0
	body := strings.Repeat("a customer's message of some length, ", 4)
	for i := 0; i < n; i += 100 {
		require.NoError(t, store.WithTx(sctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
			ct, err := tx.Contact.Create().SetWaID(fmt.Sprint(33610000000 + i)).SetPhone(fmt.Sprint("+", 33610000000+i)).
				SetProfileName(fmt.Sprint("Customer ", i)).Save(ctx)
			if err != nil {
				return err
			}
			c, err := tx.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).Save(ctx)
			if err != nil {
				return err
			}
			msgs := make([]*ent.MessageCreate, 0, 100)
			for j := 0; j < 100 && i+j < n; j++ {
				msgs = append(msgs, tx.Message.Create().SetConversationID(c.ID).SetNumberID(num.ID).
					SetDirection("INBOUND").SetKind("TEXT").SetStatus("RECEIVED").SetBody(fmt.Sprint(body, j)))
			}
			return tx.Message.CreateBulk(msgs...).Exec(ctx)
		}))
		convs++
	}
	authz := policy.NewAuthorizer(db.Client)
	v := &viewer.Viewer{Kind: viewer.KindAPIKey, TenantID: ten.ID, APIKeyID: "key_export", Roles: []string{policy.RoleSupervisor}}
	ctx, err := authz.Admit(viewer.NewContext(t.Context(), v), v)
	require.NoError(t, err)
	return ctx, convs
}

// scanner passes bytes on and counts needle and phone keys, across writes
// (a buffered writer cuts lines anywhere).
type scanner struct {
	needle string
	w      io.Writer
	found  counter
	phones counter
}

const phoneKey = `"phone":"`

func (s *scanner) Write(p []byte) (int, error) {
	s.found.add(s.needle, p)
	s.phones.add(phoneKey, p)
	return s.w.Write(p)
}

// counter counts a needle in a stream of chunks: it keeps the previous
// chunk's last len(needle)-1 bytes, too short to hold it whole.
type counter struct {
	n    int
	tail string
}

func (c *counter) add(needle string, p []byte) {
	text := c.tail + string(p)
	c.n += strings.Count(text, needle)
	c.tail = text[max(0, len(text)-(len(needle)-1)):]
}

// rss is the process's resident set size in bytes (Linux), 0 elsewhere.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident uint64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		return 0
	}
	return resident * uint64(os.Getpagesize())
}
