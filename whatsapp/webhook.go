package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The webhook fields this package reads into typed events. Any other field
// still yields a Change, with only Field, WABAID, Time and Raw set.
const (
	FieldMessages       = "messages"
	FieldMessageEchoes  = "smb_message_echoes"
	FieldAccountUpdate  = "account_update"
	FieldQualityUpdate  = "phone_number_quality_update"
	FieldTemplateStatus = "message_template_status_update"
	// FieldHistory carries, for a number onboarded from the WhatsApp
	// Business app (coexistence), the chats it had there, in chunks.
	FieldHistory = "history"

	// Group webhooks: each value names the number (metadata.phone_number_id)
	// and lists events in groups[].
	FieldGroupLifecycle    = "group_lifecycle_update"
	FieldGroupParticipants = "group_participants_update"
	FieldGroupSettings     = "group_settings_update"
	FieldGroupStatus       = "group_status_update"
)

// IsGroupField tells whether field is one of the group webhooks.
func IsGroupField(field string) bool {
	switch field {
	case FieldGroupLifecycle, FieldGroupParticipants, FieldGroupSettings, FieldGroupStatus:
		return true
	}
	return false
}

// ErrNotWhatsApp is returned by Parse for a body whose object is not
// "whatsapp_business_account": another product's webhook, or not one at all.
var ErrNotWhatsApp = errors.New("whatsapp: not a whatsapp_business_account webhook")

// Notification is one webhook POST, flattened: one Change per entry.changes[]
// item, in the order Meta sent them.
type Notification struct {
	Changes []Change
	// Problems are the items that could not be read (a message with a
	// non-numeric timestamp, a status without id, a change of the wrong
	// shape): each is left out with its reason, the rest is read.
	Problems []Problem
}

// Problem is an item of a webhook left out because it could not be read.
type Problem struct {
	Where  string // "entry 0, change 1 (messages), message 2"
	ID     string // the item's id (a wamid), when it could be read
	Reason string
}

func (p Problem) String() string {
	if p.ID != "" {
		return p.Where + " (" + p.ID + "): " + p.Reason
	}
	return p.Where + ": " + p.Reason
}

// Change is one change of one entry. Which of the event fields is set depends
// on Field.
type Change struct {
	Field  string
	WABAID string    // entry.id: the WhatsApp Business Account
	Time   time.Time // entry.time; zero when Meta leaves it out, as on messages

	// The business number the change is about. Message notifications carry
	// both; quality updates carry only the display number.
	PhoneNumberID string
	DisplayPhone  string

	Messages []Message // inbound, from customers
	Echoes   []Message // sent by the business from another client (smb_message_echoes)
	Statuses []Status  // of messages the business sent
	Errors   []Error   // problems Meta reports about the change as a whole

	Account  *AccountUpdate
	Quality  *QualityUpdate
	Template *TemplateUpdate
	Groups   []GroupEvent // group webhooks: groups[]
	// History are the past messages of a history change, oldest chunks
	// first: the customer's (From set) and the business's (To set, like an
	// echo), each with Context's thread customer in From or To.
	History []Message

	Raw json.RawMessage // the change's value, as received
}

// Error is a problem Meta reports inside a webhook: on an unsupported inbound
// message, a failed status or a whole change.
type Error struct {
	Code    int
	Title   string
	Message string
	Details string // error_data.details: the most specific explanation
}

// Parse reads a webhook POST body. It fails only on malformed JSON and on a
// body that is not a WhatsApp Business Account webhook. An item it cannot read
// (a message or status without the ids an idempotent ingest needs, or with a
// field of the wrong type; an entry's time; a change of the wrong shape) is
// left out and listed in Problems, so one odd item never costs the others.
// Fields it does not know are kept in the Raw of their change, message or
// status.
func Parse(body []byte) (*Notification, error) {
	var envelope struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string          `json:"id"`
			Time    json.RawMessage `json:"time"`
			Changes []struct {
				Field string          `json:"field"`
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return nil, fmt.Errorf("whatsapp: parse webhook: %w", err)
	}
	if envelope.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("%w: object %q", ErrNotWhatsApp, envelope.Object)
	}
	n := &Notification{}
	for i, entry := range envelope.Entry {
		var at unixTime
		if len(entry.Time) > 0 {
			if err := json.Unmarshal(entry.Time, &at); err != nil {
				n.Problems = append(n.Problems, Problem{Where: fmt.Sprintf("entry %d, time", i), Reason: err.Error()})
			}
		}
		for j, raw := range entry.Changes {
			where := fmt.Sprintf("entry %d, change %d (%s)", i, j, raw.Field)
			change, problems, err := parseChange(raw.Field, raw.Value)
			for _, p := range problems {
				p.Where = where + ", " + p.Where
				n.Problems = append(n.Problems, p)
			}
			if err != nil {
				n.Problems = append(n.Problems, Problem{Where: where, Reason: err.Error()})
				continue
			}
			change.WABAID = entry.ID
			change.Time = at.Time
			n.Changes = append(n.Changes, change)
		}
	}
	return n, nil
}

func parseChange(field string, value json.RawMessage) (Change, []Problem, error) {
	c := Change{Field: field, Raw: value}
	if len(value) == 0 {
		return c, nil, nil
	}
	var err error
	var problems []Problem
	switch field {
	case FieldMessages, FieldMessageEchoes:
		problems, err = c.readMessagingValue(value)
	case FieldAccountUpdate:
		c.Account, err = parseAccountUpdate(value)
	case FieldQualityUpdate:
		c.Quality, c.DisplayPhone, err = parseQualityUpdate(value)
	case FieldTemplateStatus:
		c.Template, err = parseTemplateUpdate(value)
	case FieldGroupLifecycle, FieldGroupParticipants, FieldGroupSettings, FieldGroupStatus:
		problems, err = c.readGroupValue(value)
	case FieldHistory:
		problems, err = c.readHistoryValue(value)
	}
	return c, problems, err
}

// readMessagingValue reads the value of a messages or echoes change: the
// number's metadata, the customers' profiles, and messages, echoes and
// statuses, each kept with its raw JSON. The items it cannot read are
// returned as problems; the error is for a value of the wrong shape.
func (c *Change) readMessagingValue(value json.RawMessage) ([]Problem, error) {
	var v struct {
		Metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []wireProfile     `json:"contacts"`
		Messages []json.RawMessage `json:"messages"`
		Echoes   []json.RawMessage `json:"message_echoes"`
		Statuses []json.RawMessage `json:"statuses"`
		Errors   []wireError       `json:"errors"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, err
	}
	c.PhoneNumberID = v.Metadata.PhoneNumberID
	c.DisplayPhone = v.Metadata.DisplayPhoneNumber
	c.Errors = errorsFrom(v.Errors)
	profiles := indexProfiles(v.Contacts)
	var problems []Problem
	c.Messages = parseMessages(v.Messages, profiles, false, "message", &problems)
	c.Echoes = parseMessages(v.Echoes, profiles, true, "echo", &problems)
	c.Statuses = parseStatuses(v.Statuses, &problems)
	return problems, nil
}

// itemID reads an item's id for a Problem, when the item has one.
func itemID(raw json.RawMessage) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	if s, ok := v.ID.(string); ok {
		return s
	}
	return ""
}

type wireError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func errorsFrom(ws []wireError) []Error {
	if len(ws) == 0 {
		return nil
	}
	out := make([]Error, len(ws))
	for i, w := range ws {
		out[i] = Error{Code: w.Code, Title: w.Title, Message: w.Message, Details: w.ErrorData.Details}
	}
	return out
}

// unixTime reads Meta's timestamps: unix seconds, as a JSON string in message
// payloads and as a number in entry.time and account payloads.
type unixTime struct{ time.Time }

func (t *unixTime) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %s is not unix seconds", b)
	}
	t.Time = time.Unix(sec, 0).UTC()
	return nil
}

// GroupEvent is one item of a group webhook's groups[]. Only what routes and
// identifies it is read; the rest (participants, settings, errors) stays in
// Raw.
type GroupEvent struct {
	GroupID   string
	Type      string // e.g. group_create, group_participants_add
	RequestID string // the business's request the event answers, when any
	Timestamp time.Time
	Raw       json.RawMessage
}

// readGroupValue reads a group webhook's value: the number it is for and its
// events. An event it cannot read is a problem; the others are kept.
func (c *Change) readGroupValue(value json.RawMessage) ([]Problem, error) {
	var v struct {
		Metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Groups []json.RawMessage `json:"groups"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, err
	}
	c.PhoneNumberID = v.Metadata.PhoneNumberID
	c.DisplayPhone = v.Metadata.DisplayPhoneNumber
	var problems []Problem
	for i, raw := range v.Groups {
		var w struct {
			GroupID   string   `json:"group_id"`
			Type      string   `json:"type"`
			RequestID string   `json:"request_id"`
			Timestamp unixTime `json:"timestamp"`
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			problems = append(problems, Problem{Where: fmt.Sprintf("group %d", i), Reason: err.Error()})
			continue
		}
		c.Groups = append(c.Groups, GroupEvent{GroupID: w.GroupID, Type: w.Type, RequestID: w.RequestID, Timestamp: w.Timestamp.Time, Raw: raw})
	}
	return problems, nil
}

// readHistoryValue reads a history change: per chunk, threads of one customer
// each (thread id: their wa_id), with the messages both sides sent. A message
// from the customer keeps From; one the business sent gets To = the customer.
func (c *Change) readHistoryValue(value json.RawMessage) ([]Problem, error) {
	var v struct {
		Metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		History []struct {
			Threads []struct {
				ID       string            `json:"id"`
				Messages []json.RawMessage `json:"messages"`
			} `json:"threads"`
			Errors []wireError `json:"errors"`
		} `json:"history"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, err
	}
	c.PhoneNumberID = v.Metadata.PhoneNumberID
	c.DisplayPhone = v.Metadata.DisplayPhoneNumber
	var problems []Problem
	for i, chunk := range v.History {
		c.Errors = append(c.Errors, errorsFrom(chunk.Errors)...)
		for j, thread := range chunk.Threads {
			for k, raw := range thread.Messages {
				where := fmt.Sprintf("history %d, thread %d, message %d", i, j, k)
				m, _, err := decodeMessage(raw, false)
				if err == nil && m.ID == "" {
					err = errNoMessageID
				}
				if err == nil && thread.ID == "" {
					err = errNoCustomer
				}
				if err != nil {
					problems = append(problems, Problem{Where: where, ID: itemID(raw), Reason: err.Error()})
					continue
				}
				if m.From != thread.ID {
					m.To = thread.ID // the business wrote it
				}
				c.History = append(c.History, m)
			}
		}
	}
	return problems, nil
}
