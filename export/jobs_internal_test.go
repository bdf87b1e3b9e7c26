package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// jobBundle is a tenant with 3 conversations of 10 messages (33 rows), a
// supervisor who may export but not see phones, and export jobs on a fake
// clock that write a progress every 5 rows.
type jobBundle struct {
	db    *store.DB
	ctx   context.Context // the tenant's system viewer
	clock *clock.Fake
	jobs  *Jobs
	dir   string
	ada   *ent.Agent
}

func setupJobs(t *testing.T, db *store.DB) *jobBundle {
	t.Helper()
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	ctx := viewer.System(t.Context(), ten.ID)
	require.NoError(t, policy.SeedBuiltinRoles(ctx, db.Client))
	require.NoError(t, policy.WriteRules(ctx, db.Client, policy.FieldRuleLines(policy.RoleSupervisor,
		policy.Coordinate{Type: "Contact", Field: "phone"}, policy.Mask)...))
	ada, err := db.Client.Agent.Create().SetName("Ada").SetEmail("ada@acme.test").SetPasswordHash("x").
		SetRoles([]string{policy.RoleSupervisor}).Save(ctx)
	require.NoError(t, err)
	num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").Save(ctx)
	require.NoError(t, err)
	for i := range 3 {
		ct, err := db.Client.Contact.Create().SetWaID(fmt.Sprint(33610000000 + i)).SetPhone(fmt.Sprint("+", 33610000000+i)).Save(ctx)
		require.NoError(t, err)
		c, err := db.Client.Conversation.Create().SetNumberID(num.ID).SetContactID(ct.ID).Save(ctx)
		require.NoError(t, err)
		for j := range 10 {
			require.NoError(t, db.Client.Message.Create().SetConversationID(c.ID).SetNumberID(num.ID).
				SetDirection("INBOUND").SetKind("TEXT").SetStatus("RECEIVED").SetBody(fmt.Sprint("message ", j)).Exec(ctx))
		}
	}
	fake := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	jobs := NewJobs(New(db.Client), nil, policy.NewAuthorizer(db.Client), fake, slog.New(slog.DiscardHandler),
		JobConfig{Dir: dir, Secret: []byte("test link secret"), Stale: 2 * time.Minute})
	jobs.progressEvery = 5
	return &jobBundle{db: db, ctx: ctx, clock: fake, jobs: jobs, dir: dir, ada: ada}
}

// export is a queued export job asked for by Ada.
func (b *jobBundle) export(t *testing.T, format conversationexport.Format) *ent.ConversationExport {
	t.Helper()
	x, err := b.db.Client.ConversationExport.Create().SetRequesterID(b.ada.ID).SetFormat(format).
		SetFilter(schematype.ExportFilter{}).SetFilterText("everything").Save(b.ctx)
	require.NoError(t, err)
	return x
}

func (b *jobBundle) run(t *testing.T, x *ent.ConversationExport) (*ent.ConversationExport, error) {
	t.Helper()
	err := b.jobs.Run(t.Context(), JobArgs{TenantID: x.TenantID, ExportID: x.ID}, false)
	now, gerr := b.db.Client.ConversationExport.Get(b.ctx, x.ID)
	require.NoError(t, gerr)
	return now, err
}

// requireFile checks that x's file exists, holds 33 rows' worth with
// masked phones, and hashes to its sha256.
func (b *jobBundle) requireFile(t *testing.T, x *ent.ConversationExport) {
	t.Helper()
	require.Equal(t, conversationexport.StateDONE, x.State)
	require.Equal(t, 33, x.RowsWritten)
	require.Equal(t, 33, x.RowsTotal)
	body, err := os.ReadFile(filepath.Join(b.dir, x.File))
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	require.Equal(t, hex.EncodeToString(sum[:]), x.Sha256, "the file's hash verifies")
	require.Equal(t, int64(len(body)), x.Bytes)
	if x.Format == conversationexport.FormatJSONL {
		require.Equal(t, 33, strings.Count(string(body), "\n"))
		require.False(t, strings.Contains(string(body), "+3361000000"), "phones are masked for the supervisor")
		require.Equal(t, 3, strings.Count(string(body), `"phone":"+33 •`))
	}
}

func TestExportJobRun(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupJobs(t, db)

		t.Run("progress", func(t *testing.T) {
			x := b.export(t, conversationexport.FormatJSONL)
			var seen []int
			b.jobs.afterProgress = func(ctx context.Context, rows int) error {
				now, err := b.db.Client.ConversationExport.Get(ctx, x.ID)
				require.NoError(t, err)
				require.Equal(t, conversationexport.StateRUNNING, now.State)
				require.Equal(t, 33, now.RowsTotal)
				seen = append(seen, now.RowsWritten)
				return nil
			}
			defer func() { b.jobs.afterProgress = nil }()
			x, err := b.run(t, x)
			require.NoError(t, err)
			require.Equal(t, []int{0, 5, 10, 15, 20, 25, 30}, seen, "the row tells how far the export is as it runs")
			b.requireFile(t, x)
			require.Equal(t, b.clock.Now().Add(24*time.Hour), *x.ExpiresAt)
		})

		t.Run("csv", func(t *testing.T) {
			x, err := b.run(t, b.export(t, conversationexport.FormatCSV))
			require.NoError(t, err)
			b.requireFile(t, x)
		})

		t.Run("a failed run is queued again and the next one starts over", func(t *testing.T) {
			x := b.export(t, conversationexport.FormatJSONL)
			b.jobs.afterProgress = func(_ context.Context, rows int) error {
				if rows >= 10 {
					return errors.New("instance stopping")
				}
				return nil
			}
			x, err := b.run(t, x)
			b.jobs.afterProgress = nil
			require.Error(t, err)
			require.Equal(t, conversationexport.StateQUEUED, x.State)
			require.Contains(t, x.Error, "instance stopping")
			_, serr := os.Stat(filepath.Join(b.dir, x.File))
			require.True(t, os.IsNotExist(serr), "half a file does not stay")
			x, err = b.run(t, x)
			require.NoError(t, err)
			b.requireFile(t, x)
		})

		t.Run("a run killed mid-job is taken over once its progress stands still", func(t *testing.T) {
			x := b.export(t, conversationexport.FormatJSONL)
			// What a killed instance leaves: RUNNING, its own file half written.
			require.NoError(t, x.Update().SetState(conversationexport.StateRUNNING).SetFile(x.ID+"-dead.jsonl").
				SetRowsWritten(10).SetUpdatedAt(b.clock.Now()).Exec(b.ctx))
			require.NoError(t, os.WriteFile(filepath.Join(b.dir, x.ID+"-dead.jsonl"), []byte("{half"), 0o600))
			x, err := b.run(t, x)
			var snooze *river.JobSnoozeError
			require.ErrorAs(t, err, &snooze, "a run whose progress moves is left alone")
			require.Equal(t, conversationexport.StateRUNNING, x.State)
			b.clock.Advance(3 * time.Minute)
			x, err = b.run(t, x)
			require.NoError(t, err)
			b.requireFile(t, x)
			again, err := b.run(t, x)
			require.NoError(t, err, "a DONE export's job has nothing left to do")
			require.Equal(t, x.Sha256, again.Sha256)
		})

		t.Run("the requester is checked again when the job runs", func(t *testing.T) {
			x := b.export(t, conversationexport.FormatJSONL)
			require.NoError(t, b.ada.Update().SetDisabledAt(b.clock.Now()).Exec(b.ctx))
			x, err := b.run(t, x)
			require.NoError(t, err, "running again would fail alike")
			require.Equal(t, conversationexport.StateFAILED, x.State)
			require.Contains(t, x.Error, "disabled")

			require.NoError(t, b.ada.Update().ClearDisabledAt().SetRoles([]string{policy.RoleAgent}).Exec(b.ctx))
			y, err := b.run(t, b.export(t, conversationexport.FormatJSONL))
			require.NoError(t, err)
			require.Equal(t, conversationexport.StateFAILED, y.State)
			require.Contains(t, y.Error, "conversation.export")
			require.NoError(t, b.ada.Update().SetRoles([]string{policy.RoleSupervisor}).Exec(b.ctx))
		})

		t.Run("links", func(t *testing.T) {
			x, err := b.run(t, b.export(t, conversationexport.FormatJSONL))
			require.NoError(t, err)
			link := b.jobs.Link(x)
			require.True(t, strings.HasPrefix(link, DownloadPath+x.ID+"?"), link)
			b.clock.Advance(24 * time.Hour)
			require.Empty(t, b.jobs.Link(x), "no link past the expiry")
			n, err := b.jobs.Sweep(t.Context())
			require.NoError(t, err)
			require.Positive(t, n)
			entries, err := os.ReadDir(b.dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotContains(t, e.Name(), x.ID, "the expired file is gone")
			}
		})
	})
}
