package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is a message a customer sent (Change.Messages), or one the business
// sent from another client (Change.Echoes). Type is Meta's message type; the
// content field that matches it is set. A type this package does not model
// keeps its name, and its content stays in Raw.
type Message struct {
	ID        string // the wamid: the key for idempotent ingest
	Type      string
	Timestamp time.Time

	From string // sender: the customer's wa_id, or the business on an echo
	To   string // echoes only: the customer

	// The customer, from the change's contacts[]: the sender of an inbound
	// message, the recipient of an echo.
	UserID       string // business-scoped user id (BSUID), when Meta sends one
	ParentUserID string // the parent BSUID, across linked business portfolios
	Username     string // the customer's WhatsApp username, when they adopted one
	ProfileName  string

	GroupID string // set when the message was sent in a group

	Text        string // text
	Media       *Media // image, video, audio, document, sticker
	Location    *Location
	Contacts    []SharedContact
	Interactive *InteractiveReply
	Button      *Button // a template's quick-reply button
	Reaction    *Reaction
	Order       *Order
	System      *System
	Identity    *Identity

	// OriginalID is, for "edit" and "revoke", the message edited or revoked.
	OriginalID string
	// Edited is, for "edit", the new content: Type, its content field, Context
	// and Raw are set, not the ids.
	Edited *Message

	Context  *Context
	Referral *Referral // the ad or post the customer came from
	Errors   []Error   // why Meta could not deliver the content, for "unsupported"

	Raw json.RawMessage // the message as received
}

// Media is an attachment. Download it by ID through the Cloud API; URL, when
// present, is a short-lived link that still needs the access token.
type Media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"` // documents
	URL      string `json:"url"`
	Voice    bool   `json:"voice"`    // audio recorded as a voice note
	Animated bool   `json:"animated"` // stickers
}

// Location is a shared pin: the customer's own position (no name) or a chosen place.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	URL       string  `json:"url"`
}

// SharedContact is a contact card. The name, organisation, emails and phones
// are read; the rest of the card (addresses, urls, birthday) stays in
// Message.Raw.
type SharedContact struct {
	Name   ContactName    `json:"name"`
	Org    ContactOrg     `json:"org"`
	Emails []ContactEmail `json:"emails"`
	Phones []ContactPhone `json:"phones"`
}

// ContactOrg is the organisation on a contact card.
type ContactOrg struct {
	Company    string `json:"company"`
	Department string `json:"department"`
	Title      string `json:"title"`
}

// ContactEmail is an address on a contact card.
type ContactEmail struct {
	Email string `json:"email"`
	Type  string `json:"type"`
}

// ContactName is the name on a contact card.
type ContactName struct {
	Formatted string `json:"formatted_name"`
	First     string `json:"first_name"`
	Last      string `json:"last_name"`
}

// ContactPhone is a number on a contact card; WAID is set when it is on WhatsApp.
type ContactPhone struct {
	Phone string `json:"phone"`
	WAID  string `json:"wa_id"`
	Type  string `json:"type"` // CELL, HOME, WORK, ...
}

// InteractiveReply is the customer's answer to an interactive message.
type InteractiveReply struct {
	Type string // "button_reply", "list_reply" or "nfm_reply"

	// button_reply and list_reply: the option the business defined.
	ID          string
	Title       string
	Description string // list_reply

	// nfm_reply: a completed flow or address form.
	Name         string // "flow", "address_message", ...
	Body         string // what the chat shows, e.g. "Sent"
	ResponseJSON string // the answers, a JSON document as a string
}

// Button is a press on a template's quick-reply button.
type Button struct {
	Payload string `json:"payload"` // set by the business in the template
	Text    string `json:"text"`
}

// Reaction is an emoji on a message. An empty Emoji removes the reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// Order is a cart sent from a catalog.
type Order struct {
	CatalogID string      `json:"catalog_id"`
	Text      string      `json:"text"`
	Items     []OrderItem `json:"product_items"`
}

// OrderItem is one line of an order. ItemPrice is per unit.
type OrderItem struct {
	ProductRetailerID string  `json:"product_retailer_id"`
	Quantity          int     `json:"quantity"`
	ItemPrice         float64 `json:"item_price"`
	Currency          string  `json:"currency"`
}

// System is a notice about the customer, such as a changed number.
type System struct {
	Type    string `json:"type"` // "user_changed_number", "customer_identity_changed", ...
	Body    string `json:"body"`
	NewWAID string `json:"wa_id"` // user_changed_number: the customer's new wa_id
}

// Identity is the customer's identity key state, sent with identity changes.
type Identity struct {
	Acknowledged bool
	Hash         string
	CreatedAt    time.Time
}

// Context says what a message answers or how it travelled.
type Context struct {
	From                string `json:"from"`
	MessageID           string `json:"id"` // the message replied to
	Forwarded           bool   `json:"forwarded"`
	FrequentlyForwarded bool   `json:"frequently_forwarded"`
	// ReferredProduct is the catalog product the customer asks about, when
	// they wrote from a product.
	ReferredProduct *ReferredProduct `json:"referred_product"`
}

// ReferredProduct names a product of the business's catalog.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id"`
	ProductRetailerID string `json:"product_retailer_id"`
}

// Referral is the click-to-WhatsApp ad or post a conversation started from.
type Referral struct {
	SourceURL    string `json:"source_url"`
	SourceID     string `json:"source_id"`
	SourceType   string `json:"source_type"`
	Headline     string `json:"headline"`
	Body         string `json:"body"`
	MediaType    string `json:"media_type"`
	ImageURL     string `json:"image_url"`
	VideoURL     string `json:"video_url"`
	ThumbnailURL string `json:"thumbnail_url"`
	CTWAClickID  string `json:"ctwa_clid"`
}

type wireMessage struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	Timestamp  unixTime `json:"timestamp"`
	From       string   `json:"from"`
	FromUserID string   `json:"from_user_id"`
	To         string   `json:"to"`
	ToUserID   string   `json:"to_user_id"`
	GroupID    string   `json:"group_id"`

	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image       *Media           `json:"image"`
	Video       *Media           `json:"video"`
	Audio       *Media           `json:"audio"`
	Document    *Media           `json:"document"`
	Sticker     *Media           `json:"sticker"`
	Location    *Location        `json:"location"`
	Contacts    []SharedContact  `json:"contacts"`
	Interactive *wireInteractive `json:"interactive"`
	Button      *Button          `json:"button"`
	Reaction    *Reaction        `json:"reaction"`
	Order       *Order           `json:"order"`
	System      *System          `json:"system"`
	Identity    *struct {
		Acknowledged bool     `json:"acknowledged"`
		Hash         string   `json:"hash"`
		CreatedAt    unixTime `json:"created_timestamp"`
	} `json:"identity"`
	Edit *struct {
		OriginalID string          `json:"original_message_id"`
		Message    json.RawMessage `json:"message"`
	} `json:"edit"`
	Revoke *struct {
		OriginalID string `json:"original_message_id"`
	} `json:"revoke"`

	Context  *Context    `json:"context"`
	Referral *Referral   `json:"referral"`
	Errors   []wireError `json:"errors"`
}

type wireInteractive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"list_reply"`
	NFMReply *struct {
		Name         string `json:"name"`
		Body         string `json:"body"`
		ResponseJSON string `json:"response_json"`
	} `json:"nfm_reply"`
}

type wireProfile struct {
	WAID         string `json:"wa_id"`
	UserID       string `json:"user_id"`
	ParentUserID string `json:"parent_user_id"`
	Profile      struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"profile"`
}

// profiles indexes a change's contacts[] by wa_id and by BSUID.
type profiles map[string]wireProfile

func indexProfiles(contacts []wireProfile) profiles {
	p := make(profiles, 2*len(contacts))
	for _, c := range contacts {
		if c.WAID != "" {
			p[c.WAID] = c
		}
		if c.UserID != "" {
			p[c.UserID] = c
		}
	}
	return p
}

// find prefers the BSUID, which stays when a customer changes number. Empty
// ids are never indexed, so they never match.
func (p profiles) find(waID, userID string) (wireProfile, bool) {
	if c, ok := p[userID]; ok {
		return c, true
	}
	c, ok := p[waID]
	return c, ok
}

var (
	errNoMessageID = errors.New("message without id")
	errNoCustomer  = errors.New("message without its customer: neither a wa_id nor a business-scoped user id")
)

// parseMessages reads inbound messages, or echoes when isEcho: on an echo the
// customer is the recipient. A message it cannot read is left out and added to
// problems, named what (e.g. "message 2").
func parseMessages(raws []json.RawMessage, p profiles, isEcho bool, what string, problems *[]Problem) []Message {
	if len(raws) == 0 {
		return nil
	}
	out := make([]Message, 0, len(raws))
	for i, raw := range raws {
		m, w, err := decodeMessage(raw, true)
		if err == nil && m.ID == "" {
			err = errNoMessageID
		}
		if err != nil {
			*problems = append(*problems, Problem{Where: fmt.Sprintf("%s %d", what, i), ID: itemID(raw), Reason: err.Error()})
			continue
		}
		customer, customerUserID := w.From, w.FromUserID
		if isEcho {
			customer, customerUserID = w.To, w.ToUserID
		}
		if customer == "" && customerUserID == "" {
			*problems = append(*problems, Problem{Where: fmt.Sprintf("%s %d", what, i), ID: m.ID, Reason: errNoCustomer.Error()})
			continue
		}
		m.UserID = customerUserID
		if c, ok := p.find(customer, customerUserID); ok {
			m.ProfileName, m.Username, m.ParentUserID = c.Profile.Name, c.Profile.Username, c.ParentUserID
			if m.UserID == "" {
				m.UserID = c.UserID
			}
		}
		out = append(out, m)
	}
	return out
}

// DecodeMessage reads one message as stored (Message.Raw): its typed content,
// without the profile the change's contacts[] gave it.
func DecodeMessage(raw json.RawMessage) (Message, error) {
	m, _, err := decodeMessage(raw, true)
	return m, err
}

// decodeMessage reads one message. An edit's new content is read one level
// deep only (withEdit), so a crafted chain of nested edits costs no more than
// one.
func decodeMessage(raw json.RawMessage, withEdit bool) (Message, wireMessage, error) {
	var w wireMessage
	if err := json.Unmarshal(raw, &w); err != nil {
		return Message{}, w, err
	}
	m := Message{
		ID:        w.ID,
		Type:      w.Type,
		Timestamp: w.Timestamp.Time,
		From:      w.From,
		To:        w.To,
		GroupID:   w.GroupID,
		Media:     w.media(),
		Location:  w.Location,
		Contacts:  w.Contacts,
		Button:    w.Button,
		Reaction:  w.Reaction,
		Order:     w.Order,
		System:    w.System,
		Context:   w.Context,
		Referral:  w.Referral,
		Errors:    errorsFrom(w.Errors),
		Raw:       raw,
	}
	if w.Text != nil {
		m.Text = w.Text.Body
	}
	if w.Interactive != nil {
		m.Interactive = w.Interactive.reply()
	}
	if w.Identity != nil {
		m.Identity = &Identity{Acknowledged: w.Identity.Acknowledged, Hash: w.Identity.Hash, CreatedAt: w.Identity.CreatedAt.Time}
	}
	if w.Revoke != nil {
		m.OriginalID = w.Revoke.OriginalID
	}
	if w.Edit != nil {
		m.OriginalID = w.Edit.OriginalID
		if withEdit && len(w.Edit.Message) > 0 && string(w.Edit.Message) != "null" {
			edited, _, err := decodeMessage(w.Edit.Message, false)
			if err != nil {
				return Message{}, w, fmt.Errorf("edit: %w", err)
			}
			m.Edited = &edited
		}
	}
	return m, w, nil
}

// media returns the attachment that matches the message type.
func (w *wireMessage) media() *Media {
	switch w.Type {
	case "image":
		return w.Image
	case "video":
		return w.Video
	case "audio":
		return w.Audio
	case "document":
		return w.Document
	case "sticker":
		return w.Sticker
	}
	return nil
}

func (w *wireInteractive) reply() *InteractiveReply {
	r := &InteractiveReply{Type: w.Type}
	switch {
	case w.ButtonReply != nil:
		r.ID, r.Title = w.ButtonReply.ID, w.ButtonReply.Title
	case w.ListReply != nil:
		r.ID, r.Title, r.Description = w.ListReply.ID, w.ListReply.Title, w.ListReply.Description
	case w.NFMReply != nil:
		r.Name, r.Body, r.ResponseJSON = w.NFMReply.Name, w.NFMReply.Body, w.NFMReply.ResponseJSON
	}
	return r
}
