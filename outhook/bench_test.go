package outhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// BenchmarkCommitWithOutbox is what the outbox adds to a transaction that
// publishes a message event (ingest's hot path): without an outbox, with an
// outbox and no endpoint (the common case: one indexed read), and with one
// subscribed endpoint (one more insert). SQLite, in-memory bus.
func BenchmarkCommitWithOutbox(b *testing.B) {
	for _, mode := range []string{"no-outbox", "no-endpoint", "one-endpoint"} {
		b.Run(mode, func(b *testing.B) {
			db := storetest.Open(b, dialect.SQLite)
			w := newBenchWorld(b, db)
			switch mode {
			case "no-outbox":
				w.pub = realtime.NewPublisher(realtime.NewMemory(), slog.Default())
			case "one-endpoint":
				url, role, name := "https://crm.example.com/in", policy.RoleOwner, "CRM"
				_, _, err := w.svc.Create(w.ctx, outhook.EndpointInput{Name: &name, URL: &url, Role: &role, Events: []string{outhook.MessageReceived}})
				require.NoError(b, err)
			}
			c := w.conversationB(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				require.NoError(b, store.WithTx(w.ctx, db.Client, func(ctx context.Context, tx *ent.Tx) error {
					m, err := tx.Message.Create().SetConversationID(c.ID).SetNumberID(c.NumberID).
						SetDirection("INBOUND").SetKind("TEXT").SetBody(fmt.Sprint("hello ", i)).SetStatus("RECEIVED").Save(ctx)
					if err != nil {
						return err
					}
					w.pub.OnCommit(tx, realtime.MessageEvent(m.TenantID, m.ID, c.ID, realtime.KindAdded))
					return nil
				}))
			}
		})
	}
}
