package connector

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// batch is what the deliveries ingested in one transaction share, so that a
// batch costs a statement where each delivery cost one: the numbers of a
// phone number id, which of the batch's messages a number already has, the
// customers' contacts, and the deliveries' outcomes, written together before
// the commit. Everything in it was read or is written in the batch's
// transaction.
type batch struct {
	numbers map[string][]*ent.Number // by phone number id
	// ids are the provider ids of the batch's messages, echoes and history,
	// by phone number id; stored, by number, which of them it has (read
	// once, then kept as the batch stores more).
	ids    map[string][]string
	stored map[string]storedIDs
	// customers are the wa_ids and BSUIDs the batch's messages name;
	// contacts, by tenant, what a read of them found.
	customers []string
	contacts  map[string]*knownContacts
	// outcomes are the deliveries processed, to be marked so together.
	outcomes map[outcomeKey]*deferredOutcome
	locked   []string // the tenants lockTenant locked
}

// lockTenant takes, in tx, the lock of the tenant's batches (Postgres's
// pg_advisory_xact_lock, released at the commit) once per batch, before
// the batch first writes an agent's row (schema.TouchAgents: routing
// claims the agent; a reopened conversation counts in its agent's load).
// Everything the batch held before is its customers' own, which no other
// batch holds (shareKey), so two batches never wait for each other in a
// cycle: one holds the lock and rows the other never asks for.
func (b *batch) lockTenant(ctx context.Context, tx *ent.Tx, tenantID string) error {
	if slices.Contains(b.locked, tenantID) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('switchboard.ingest.' || $1))`, tenantID); err != nil {
		return fmt.Errorf("lock tenant %s for a batch: %w", tenantID, err)
	}
	b.locked = append(b.locked, tenantID)
	return nil
}

// knownContacts are a tenant's contacts that the batch's customers name, as
// the batch's transaction has them; stale once the batch changed one other
// than by creating it (then every lookup reads the database again).
type knownContacts struct {
	all   []*ent.Contact
	stale bool
}

// outcomeKey is what deliveries marked by one UPDATE share.
type outcomeKey struct {
	state, ids, unrouted string
}

// deferredOutcome is the outcome of deliveries: processed with state, for the
// phone number ids ids of which unrouted had no number.
//
// Each delivery is marked only under the claim it is held by: a claim is
// a token of the store or the sweep that took a delivery, and the one that
// takes it next gets a new one, so a delivery whose claim passed matches
// none of the claims the batch holds.
type deferredOutcome struct {
	state              webhookdelivery.State
	ids, unrouted      []string
	deliveries, claims []string
}

type batchKey struct{}

// withBatch returns ctx carrying the batch of the deliveries ds.
func withBatch(ctx context.Context, ds []delivery) (context.Context, *batch) {
	b := &batch{numbers: map[string][]*ent.Number{}, ids: map[string][]string{}, stored: map[string]storedIDs{},
		contacts: map[string]*knownContacts{}, outcomes: map[outcomeKey]*deferredOutcome{}}
	for _, d := range ds {
		for _, ch := range d.n.Changes {
			for _, items := range [][]whatsapp.Message{ch.Messages, ch.Echoes, ch.History} {
				for _, m := range items {
					b.ids[ch.PhoneNumberID] = append(b.ids[ch.PhoneNumberID], m.ID)
					for _, id := range []string{m.From, m.To, m.UserID} {
						if id != "" && !slices.Contains(b.customers, id) {
							b.customers = append(b.customers, id)
						}
					}
				}
			}
		}
	}
	return context.WithValue(ctx, batchKey{}, b), b
}

func batchOf(ctx context.Context) *batch {
	b, _ := ctx.Value(batchKey{}).(*batch)
	return b
}

// numbersOf are the verified numbers of a phone number id, read through tx
// (once per batch).
func numbersOf(ctx context.Context, tx *ent.Tx, phoneNumberID string) ([]*ent.Number, error) {
	b := batchOf(ctx)
	if b != nil {
		if nums, ok := b.numbers[phoneNumberID]; ok {
			return nums, nil
		}
	}
	nums, err := tx.Number.Query().Where(number.PhoneNumberID(phoneNumberID), number.VerifiedAtNotNil()).All(viewer.Platform(ctx))
	if err == nil && b != nil {
		b.numbers[phoneNumberID] = nums
	}
	return nums, err
}

// storedOf reads, in one query for the whole change (for the whole batch
// in a batch), which of its messages, echoes and history items num already
// has; the change's ingest adds those it stores.
func storedOf(ctx context.Context, tx *ent.Tx, num *ent.Number, ch whatsapp.Change) (storedIDs, error) {
	var ids []string
	b := batchOf(ctx)
	if b != nil {
		if stored, ok := b.stored[num.ID]; ok {
			return stored, nil
		}
		ids = b.ids[ch.PhoneNumberID]
	} else {
		for _, items := range [][]whatsapp.Message{ch.Messages, ch.Echoes, ch.History} {
			for _, m := range items {
				ids = append(ids, m.ID)
			}
		}
	}
	stored := storedIDs{}
	if len(ids) == 0 {
		return stored, nil
	}
	var found []string
	err := tx.Message.Query().Where(message.NumberID(num.ID), message.ProviderMessageIDIn(ids...)).
		Select(message.FieldProviderMessageID).Scan(ctx, &found)
	if err != nil {
		return nil, err
	}
	for _, id := range found {
		stored[id] = true
	}
	if b != nil {
		b.stored[num.ID] = stored
	}
	return stored, nil
}

// knownContacts returns the contacts of the viewer's tenant that the
// batch's customers name (read in one query, the first time), or nil
// outside a batch or once stale.
func (b *batch) knownContacts(ctx context.Context, tx *ent.Tx) (*knownContacts, error) {
	if b == nil {
		return nil, nil
	}
	tenantID := viewer.FromContext(ctx).TenantID
	if k, ok := b.contacts[tenantID]; ok {
		if k.stale {
			return nil, nil
		}
		return k, nil
	}
	all, err := tx.Contact.Query().Where(entcontact.Or(entcontact.WaIDIn(b.customers...), entcontact.UserIDIn(b.customers...))).
		Order(ent.Asc(entcontact.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, err
	}
	k := &knownContacts{all: all}
	b.contacts[tenantID] = k
	return k, nil
}

// covers tells whether the batch read the contacts id names.
func (b *batch) covers(id string) bool { return b != nil && slices.Contains(b.customers, id) }

// byPhone is the contact whose wa_id is waID; byUser the oldest whose BSUID
// or wa_id is userID (as contact's queries find them).
func (k *knownContacts) byPhone(waID string) *ent.Contact {
	for _, c := range k.all {
		if c.WaID == waID {
			return c
		}
	}
	return nil
}

func (k *knownContacts) byUser(userID string) *ent.Contact {
	for _, c := range k.all { // oldest first
		if (c.UserID != nil && *c.UserID == userID) || c.WaID == userID {
			return c
		}
	}
	return nil
}

// created keeps c, new in the batch; changed makes every later lookup of
// the tenant read the database (a contact was updated, merged or
// readdressed).
func (b *batch) created(ctx context.Context, c *ent.Contact) {
	if b == nil {
		return
	}
	if k := b.contacts[viewer.FromContext(ctx).TenantID]; k != nil {
		k.all = append(k.all, c)
	}
}

func (b *batch) changed(ctx context.Context) {
	if b == nil {
		return
	}
	tenantID := viewer.FromContext(ctx).TenantID
	if k := b.contacts[tenantID]; k != nil {
		k.stale = true
	} else {
		b.contacts[tenantID] = &knownContacts{stale: true}
	}
}

// processed defers marking d processed with state (and its phone number
// ids) to the batch's end (mark): deliveries marked alike are marked by one
// UPDATE.
func (b *batch) processed(d *ent.WebhookDelivery, claim string, state webhookdelivery.State, ids, unrouted []string) {
	k := outcomeKey{state: state.String(), ids: fmt.Sprint(ids), unrouted: fmt.Sprint(unrouted)}
	o := b.outcomes[k]
	if o == nil {
		o = &deferredOutcome{state: state, ids: ids, unrouted: unrouted}
		b.outcomes[k] = o
	}
	o.deliveries = append(o.deliveries, d.ID)
	if !slices.Contains(o.claims, claim) {
		o.claims = append(o.claims, claim)
	}
}

// mark marks the deferred outcomes in tx, at now: errClaimLost when a
// claim no longer holds one of its deliveries (the batch is then rolled
// back and each delivery ingested alone).
func (b *batch) mark(ctx context.Context, tx *ent.Tx, now time.Time) error {
	keys := slices.SortedFunc(maps.Keys(b.outcomes), func(x, y outcomeKey) int { // one order for every batch
		return cmp.Or(strings.Compare(x.state, y.state), strings.Compare(x.ids, y.ids), strings.Compare(x.unrouted, y.unrouted))
	})
	for _, k := range keys {
		o := b.outcomes[k]
		slices.Sort(o.deliveries)
		n, err := tx.WebhookDelivery.Update().Where(webhookdelivery.IDIn(o.deliveries...), webhookdelivery.ClaimIn(o.claims...)).
			ClearClaim().SetPhoneNumberIds(o.ids).SetUnroutedPhoneNumberIds(o.unrouted).AddAttempts(1).
			SetState(o.state).SetProcessedAt(now).ClearDueAt().Save(viewer.Platform(ctx))
		if err != nil {
			return err
		}
		if n != len(o.deliveries) {
			return errClaimLost
		}
	}
	return nil
}
