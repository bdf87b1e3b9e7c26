package broadcast

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/messagetemplate"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// Templates keeps each tenant's copy of its business accounts' templates.
type Templates struct {
	Client *ent.Client
	API    connector.Providers
	Box    *credential.Box
	Clock  interface{ Now() time.Time }
}

// Sync reads the templates of every business account of the viewer's tenant
// from the provider (through one of its numbers' credentials) and stores
// them; templates the provider no longer lists are marked DELETED. It
// returns how many templates the tenant holds.
func (t *Templates) Sync(ctx context.Context) (int, error) {
	nums, err := t.Client.Number.Query().Where(number.WabaIDNEQ(""), number.UnlinkedAtIsNil(), number.CredentialsNotNil()).All(ctx)
	if err != nil {
		return 0, err
	}
	fetched := map[string][]whatsapp.ProviderTemplate{}
	for _, n := range nums {
		if _, done := fetched[n.WabaID]; done {
			continue
		}
		api, err := t.API.For(n)
		if err != nil {
			continue
		}
		creds, err := t.Box.Open(n.Credentials, n.ID)
		if err != nil {
			continue
		}
		list, err := api.Templates(ctx, n.WabaID, creds.AccessToken)
		if err != nil {
			return 0, fmt.Errorf("templates of %s: %w", n.WabaID, err)
		}
		fetched[n.WabaID] = list
	}
	count := 0
	err = store.WithTx(ctx, t.Client, func(ctx context.Context, tx *ent.Tx) error {
		count = 0
		for waba, list := range fetched {
			seen := make([]string, 0, len(list))
			for _, pt := range list {
				if err := t.upsert(ctx, tx, waba, pt); err != nil {
					return err
				}
				seen = append(seen, pt.ID)
			}
			if _, err := tx.MessageTemplate.Update().Where(messagetemplate.WabaID(waba), messagetemplate.ProviderIDNotIn(seen...)).
				SetStatus("DELETED").SetSyncedAt(t.Clock.Now()).Save(ctx); err != nil {
				return err
			}
			count += len(list)
		}
		return audit.Record(ctx, tx, audit.Event{Action: ActionTemplatesSynced, Summary: fmt.Sprintf("synced %d templates", count)})
	})
	return count, err
}

func (t *Templates) upsert(ctx context.Context, tx *ent.Tx, waba string, pt whatsapp.ProviderTemplate) error {
	category := messagetemplate.Category(strings.ToUpper(pt.Category))
	if messagetemplate.CategoryValidator(category) != nil {
		category = messagetemplate.CategoryUTILITY
	}
	body, vars := pt.Body()
	cur, err := tx.MessageTemplate.Query().Where(messagetemplate.WabaID(waba), messagetemplate.Name(pt.Name),
		messagetemplate.Language(pt.Language)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return tx.MessageTemplate.Create().SetWabaID(waba).SetProviderID(pt.ID).SetName(pt.Name).SetLanguage(pt.Language).
			SetCategory(category).SetStatus(pt.Status).SetHeaderFormat(pt.HeaderFormat()).SetBody(body).
			SetBodyVariables(vars).SetComponents(pt.Components).SetSyncedAt(t.Clock.Now()).Exec(ctx)
	case err != nil:
		return err
	}
	return cur.Update().SetProviderID(pt.ID).SetCategory(category).SetStatus(pt.Status).SetHeaderFormat(pt.HeaderFormat()).
		SetBody(body).SetBodyVariables(vars).SetComponents(pt.Components).SetSyncedAt(t.Clock.Now()).Exec(ctx)
}

// TemplateUpdated applies a message_template_status_update of business
// account waba to the tenant of ctx, in the ingest transaction: the status
// (and category) of a template it holds changes at once; one it does not
// hold yet comes with the next sync.
func TemplateUpdated(ctx context.Context, tx *ent.Tx, waba string, u *whatsapp.TemplateUpdate, syncedAt time.Time) error {
	q := tx.MessageTemplate.Update().Where(messagetemplate.WabaID(waba))
	if u.ID != "" {
		q.Where(messagetemplate.ProviderID(u.ID))
	} else {
		q.Where(messagetemplate.Name(u.Name), messagetemplate.Language(u.Language))
	}
	q.SetStatus(u.Event).SetSyncedAt(syncedAt)
	if u.Reason != "" && u.Reason != "NONE" {
		q.SetReason(strings.TrimSpace(u.Reason + " " + u.Detail))
	} else {
		q.SetReason("")
	}
	if c := messagetemplate.Category(strings.ToUpper(u.Category)); u.Category != "" && messagetemplate.CategoryValidator(c) == nil {
		q.SetCategory(c)
	}
	_, err := q.Save(ctx)
	return err
}

// SyncArgs is the periodic job that refreshes every tenant's templates.
type SyncArgs struct{}

// Kind names the job.
func (SyncArgs) Kind() string { return "broadcast.sync_templates" }

// SyncWorker runs SyncArgs.
type SyncWorker struct {
	river.WorkerDefaults[SyncArgs]
	Templates *Templates
}

// Work syncs each tenant with a business account in turn; one tenant's
// failure does not stop the others.
func (w *SyncWorker) Work(ctx context.Context, _ *river.Job[SyncArgs]) error {
	var tenants []string
	if err := w.Templates.Client.Number.Query().Where(number.WabaIDNEQ(""), number.UnlinkedAtIsNil()).
		GroupBy(number.FieldTenantID).Scan(viewer.Platform(ctx), &tenants); err != nil {
		return err
	}
	for _, id := range tenants {
		if _, err := w.Templates.Sync(viewer.System(ctx, id)); err != nil {
			continue // the next period tries again
		}
	}
	return nil
}
