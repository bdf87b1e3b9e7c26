package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The status names Meta sends. Statuses arrive out of order and more than
// once; "failed" carries Errors.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusPlayed    = "played" // a voice note was listened to
	StatusFailed    = "failed"
	StatusDeleted   = "deleted"
)

// Status is a delivery update for a message the business sent. The pair
// (MessageID, Status) is the key for idempotent ingest.
type Status struct {
	MessageID string
	Status    string
	Timestamp time.Time

	RecipientID string // the customer's wa_id, or the group id
	// RecipientUserID is the customer's business-scoped user id (BSUID),
	// which Meta adds since 2026 (the only id when the phone is withheld).
	RecipientUserID string
	RecipientType   string // "group" for group messages, else empty or "individual"
	// RecipientParticipantID is, in a group, the member the status is about.
	RecipientParticipantID string

	// BizOpaqueCallbackData is the tracker the business attached when sending.
	BizOpaqueCallbackData string

	Conversation *Conversation
	Pricing      *Pricing
	Errors       []Error

	Raw json.RawMessage // the status as received
}

// Conversation is the billing conversation a message was counted in.
type Conversation struct {
	ID        string
	Origin    string    // "service", "marketing", "utility", "authentication", ...
	ExpiresAt time.Time // zero when not given
}

// Pricing is how a message is billed.
type Pricing struct {
	Billable bool   `json:"billable"`
	Model    string `json:"pricing_model"` // "CBP", "PMP", ...
	Category string `json:"category"`
	Type     string `json:"type"`
}

var errIncompleteStatus = errors.New("status without message id or status")

// parseStatuses reads statuses; one it cannot read is left out and added to
// problems.
func parseStatuses(raws []json.RawMessage, problems *[]Problem) []Status {
	if len(raws) == 0 {
		return nil
	}
	out := make([]Status, 0, len(raws))
	for i, raw := range raws {
		var w struct {
			ID                     string   `json:"id"`
			Status                 string   `json:"status"`
			Timestamp              unixTime `json:"timestamp"`
			RecipientID            string   `json:"recipient_id"`
			RecipientUserID        string   `json:"recipient_user_id"`
			RecipientType          string   `json:"recipient_type"`
			RecipientParticipantID string   `json:"recipient_participant_id"`
			BizOpaqueCallbackData  string   `json:"biz_opaque_callback_data"`
			Conversation           *struct {
				ID        string   `json:"id"`
				ExpiresAt unixTime `json:"expiration_timestamp"`
				Origin    struct {
					Type string `json:"type"`
				} `json:"origin"`
			} `json:"conversation"`
			Pricing *Pricing    `json:"pricing"`
			Errors  []wireError `json:"errors"`
		}
		err := json.Unmarshal(raw, &w)
		if err == nil && (w.ID == "" || w.Status == "") {
			err = errIncompleteStatus
		}
		if err != nil {
			*problems = append(*problems, Problem{Where: fmt.Sprintf("status %d", i), ID: itemID(raw), Reason: err.Error()})
			continue
		}
		s := Status{
			MessageID:              w.ID,
			Status:                 w.Status,
			Timestamp:              w.Timestamp.Time,
			RecipientID:            w.RecipientID,
			RecipientUserID:        w.RecipientUserID,
			RecipientType:          w.RecipientType,
			RecipientParticipantID: w.RecipientParticipantID,
			BizOpaqueCallbackData:  w.BizOpaqueCallbackData,
			Pricing:                w.Pricing,
			Errors:                 errorsFrom(w.Errors),
			Raw:                    raw,
		}
		if w.Conversation != nil {
			s.Conversation = &Conversation{ID: w.Conversation.ID, Origin: w.Conversation.Origin.Type, ExpiresAt: w.Conversation.ExpiresAt.Time}
		}
		out = append(out, s)
	}
	return out
}
