package contact

import (
	"context"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/ent/groupjoinrequest"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// ErasedWebhookBody replaces a provider webhook body that named an erased
// person.
var ErasedWebhookBody = []byte(`{"erased":true}`)

// Erase removes every trace of a customer's personal data, in one
// transaction, and keeps what is anonymous: the contact row (its id, opt-in
// state and erasedAt), its conversations and their messages as tombstones
// (direction, kind, status, times), so reports still count them.
//
// What goes: the contact's WhatsApp id (replaced by erased-<id>), phone,
// business-scoped ids and username, profile name, tags, attributes and
// opt-in source; the text, media and raw provider content of every message
// of its conversations (theirs and the
// agents' replies); its group memberships and join requests (in this
// database: the provider's group is not changed); the provider webhook bodies
// that name them (replaced by ErasedWebhookBody); the rendered payloads of
// outbound webhook deliveries about its conversations; the tenant's export
// files already written (their links are refused at once, the export sweep
// removes them). Audit summaries never
// carry a customer's data, so the audit chain stays whole.
//
// It refuses (CONFLICT) while a legal hold applies to the contact or one of
// its conversations. Erasing twice is harmless.
func (s *Service) Erase(ctx context.Context, id string) (*ent.Contact, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
		c, err := tx.Contact.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.ErasedAt != nil {
			audit.Unchanged(ctx)
			return c, nil
		}
		if c.LegalHoldAt != nil {
			return nil, apperr.New(apperr.Conflict, "a legal hold applies to this contact: release it before erasing")
		}
		sctx := viewer.System(ctx, c.TenantID) // the contact's whole history, whoever asks
		convIDs, err := tx.Conversation.Query().Where(conversation.ContactID(c.ID)).IDs(sctx)
		if err != nil {
			return nil, err
		}
		held, err := tx.Conversation.Query().Where(conversation.IDIn(convIDs...), conversation.LegalHoldAtNotNil()).Exist(sctx)
		if err != nil {
			return nil, err
		}
		if held {
			return nil, apperr.New(apperr.Conflict, "a legal hold applies to a conversation of this contact: release it before erasing")
		}
		msgIDs, err := tx.Message.Query().Where(message.ConversationIDIn(convIDs...)).IDs(sctx)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Message.Update().Where(message.IDIn(msgIDs...)).
			ClearBody().ClearMedia().ClearContent().SetErrorText("").Save(sctx); err != nil {
			return nil, fmt.Errorf("erase messages: %w", err)
		}
		if _, err := tx.GroupMember.Delete().Where(groupmember.WaID(c.WaID)).Exec(sctx); err != nil {
			return nil, fmt.Errorf("erase group memberships: %w", err)
		}
		if _, err := tx.GroupJoinRequest.Delete().Where(groupjoinrequest.WaID(c.WaID)).Exec(sctx); err != nil {
			return nil, fmt.Errorf("erase join requests: %w", err)
		}
		subjects := append(append([]string{}, convIDs...), msgIDs...)
		if _, err := tx.OutboundDelivery.Update().Where(outbounddelivery.SubjectIDIn(subjects...)).
			ClearPayload().Save(sctx); err != nil {
			return nil, fmt.Errorf("erase outbound payloads: %w", err)
		}
		scrubbed, err := s.eraseWebhookBodies(sctx, tx, c)
		if err != nil {
			return nil, err
		}
		// Group webhooks kept per number name participants: those naming the
		// person go (they are records of events, immutable, not of state).
		if _, err := tx.GroupWebhookEvent.Delete().Where(func(sel *sql.Selector) {
			sel.Where(textContains(sel, groupwebhookevent.FieldPayload, c.WaID))
		}).Exec(sctx); err != nil {
			return nil, fmt.Errorf("erase group webhook events: %w", err)
		}
		// Export files already written may hold the person: their links are
		// refused from now on and the export sweep removes the files.
		voided, err := tx.ConversationExport.Update().Where(conversationexport.TenantID(c.TenantID),
			conversationexport.StateEQ(conversationexport.StateDONE), conversationexport.Or(
				conversationexport.ExpiresAtIsNil(), conversationexport.ExpiresAtGT(time.Now()))).
			SetExpiresAt(time.Now().UTC()).Save(sctx)
		if err != nil {
			return nil, fmt.Errorf("void export files: %w", err)
		}
		erased, err := c.Update().SetWaID("erased-" + c.ID).ClearUserID().SetParentUserID("").SetUsername("").
			SetPhone("").SetProfileName("").SetTags([]string{}).
			SetAttributes([]schematype.ContactAttribute{}).SetOptInSource("").SetErasedAt(time.Now().UTC()).Save(sctx)
		if err != nil {
			return nil, err
		}
		return erased, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionContactErased, TargetID: c.ID,
			Summary: fmt.Sprintf("erased contact %s: %d conversations, %d messages, %d provider webhooks redacted, %d export files voided",
				c.ID, len(convIDs), len(msgIDs), scrubbed, voided),
		})
	})
}

// eraseWebhookBodies redacts the stored provider webhooks of the tenant's
// numbers that name the person (by WhatsApp id or phone). They are platform
// records: the tenant is known by the numbers they name.
func (s *Service) eraseWebhookBodies(ctx context.Context, tx *ent.Tx, c *ent.Contact) (int, error) {
	// only ids the tenant proved: a claimed id is not theirs to redact
	ids, err := tx.Number.Query().Where(number.PhoneNumberIDNotNil(), number.VerifiedAtNotNil()).Select(number.FieldPhoneNumberID).Strings(ctx)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	needles := []string{c.WaID}
	if p := strings.TrimPrefix(c.Phone, "+"); p != "" && p != c.WaID {
		needles = append(needles, p)
	}
	if c.UserID != nil && *c.UserID != c.WaID {
		needles = append(needles, *c.UserID) // a BSUID names the person as surely
	}
	pctx := viewer.Platform(ctx)
	var total int
	for _, needle := range needles {
		n, err := tx.WebhookDelivery.Update().Where(bodyContains(needle), namesNumber(ids)).
			SetBody(ErasedWebhookBody).Save(pctx)
		if err != nil {
			return 0, fmt.Errorf("erase webhook bodies: %w", err)
		}
		total += n
	}
	return total, nil
}

// bodyContains matches deliveries whose raw body contains s.
func bodyContains(s string) predicate.WebhookDelivery {
	return func(sel *sql.Selector) { sel.Where(bytesContain(sel, s)) }
}

// namesNumber matches deliveries about one of the phone number ids (a body
// naming none of them is another tenant's, or nobody's yet).
func namesNumber(ids []string) predicate.WebhookDelivery {
	return func(sel *sql.Selector) {
		ors := make([]*sql.Predicate, len(ids))
		for i, id := range ids {
			ors[i] = bytesContain(sel, `"`+id+`"`)
		}
		sel.Where(sql.Or(ors...))
	}
}

// textContains is "column field, read as text, contains s", on either
// dialect. A bytea column (Postgres) is decoded as UTF-8 bytes rather than
// cast, which would give its hex form.
func textContains(sel *sql.Selector, field, s string) *sql.Predicate {
	col := sel.C(field)
	postgres := sel.Dialect() == dialect.Postgres
	bytea := field == webhookdelivery.FieldBody
	return sql.P(func(b *sql.Builder) {
		switch {
		case postgres && bytea:
			b.WriteString("position(convert_to(").Arg(s).WriteString(", 'UTF8') in " + col + ") > 0")
		case postgres:
			b.WriteString("position(").Arg(s).WriteString(" in CAST(" + col + " AS TEXT)) > 0")
		default:
			b.WriteString("instr(CAST(" + col + " AS TEXT), ").Arg(s).WriteString(") > 0")
		}
	})
}

// bytesContain is "the body column contains s".
func bytesContain(sel *sql.Selector, s string) *sql.Predicate {
	return textContains(sel, webhookdelivery.FieldBody, s)
}

// SetContactLegalHold puts a contact under legal hold with reason, or
// releases it when reason is empty: while held, neither erasure nor
// retention touches it. Audited.
func (s *Service) SetContactLegalHold(ctx context.Context, id, reason string) (*ent.Contact, error) {
	reason, err := holdReason(reason)
	if err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Contact, error) {
		c, err := tx.Contact.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		u := c.Update().SetLegalHoldReason(reason).SetLegalHoldAt(time.Now().UTC())
		if reason == "" {
			u = c.Update().ClearLegalHoldAt().SetLegalHoldReason("")
		}
		if c, err = u.Save(ctx); err != nil {
			return nil, err
		}
		return c, recordHold(ctx, tx, id, reason, c.LegalHoldAt != nil)
	})
}

// SetConversationLegalHold is SetContactLegalHold for one conversation.
func (s *Service) SetConversationLegalHold(ctx context.Context, id, reason string) (*ent.Conversation, error) {
	reason, err := holdReason(reason)
	if err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Conversation, error) {
		c, err := tx.Conversation.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		u := c.Update().SetLegalHoldReason(reason).SetLegalHoldAt(time.Now().UTC())
		if reason == "" {
			u = c.Update().ClearLegalHoldAt().SetLegalHoldReason("")
		}
		if c, err = u.Save(ctx); err != nil {
			return nil, err
		}
		return c, recordHold(ctx, tx, id, reason, c.LegalHoldAt != nil)
	})
}

func holdReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > 500 {
		return "", apperr.Invalid("reason", "must be at most 500 characters")
	}
	return reason, nil
}

// recordHold audits a hold set or released.
func recordHold(ctx context.Context, tx *ent.Tx, id, reason string, held bool) error {
	summary := fmt.Sprintf("legal hold on %s: %s", id, reason)
	if !held {
		summary = "no legal hold on " + id
	}
	return audit.Record(ctx, tx, audit.Event{Action: audit.ActionLegalHold, TargetID: id, Summary: summary})
}
