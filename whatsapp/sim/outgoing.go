package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// outgoing is a POST /{phone_number_id}/messages request, checked the way
// the Cloud API checks it.
type outgoing struct {
	isMarkRead bool
	messageID  string // mark as read: the customer's message

	to           string // as the client wrote it
	waID         string // to, digits only
	isGroup      bool
	kind         string // the message type
	replyTo      string // context.message_id
	callbackData string // biz_opaque_callback_data
	digest       string
	choices      []choice // interactive: what the customer may answer
	template     string   // a template's name
	// a template's language and how many body parameters it gives
	templateLanguage string
	bodyParams       int
}

// choice is an option of an interactive message: a reply button or a list row.
type choice struct {
	id, title, description string
	isListRow              bool
}

// Limits the Cloud API sets on what it accepts.
const (
	maxTextBody        = 4096
	maxCaption         = 1024
	maxInteractiveBody = 1024
	maxReplyButtons    = 3
	maxButtonTitle     = 20
	maxListRows        = 10
	maxListSections    = 10
	maxRowTitle        = 24
	maxCallbackData    = 512
)

func parseOutgoing(body []byte) (*outgoing, *apiError) {
	var head struct {
		MessagingProduct string `json:"messaging_product"`
		RecipientType    string `json:"recipient_type"`
		To               string `json:"to"`
		Recipient        string `json:"recipient"` // a business-scoped user id, instead of to
		Type             string `json:"type"`
		Status           string `json:"status"`
		MessageID        string `json:"message_id"`
		Context          *struct {
			MessageID string `json:"message_id"`
		} `json:"context"`
		CallbackData string `json:"biz_opaque_callback_data"`
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, errInvalidParameter("the request body is not a valid message: %v", err)
	}
	_ = json.Unmarshal(body, &fields)
	if head.MessagingProduct != "whatsapp" {
		return nil, errInvalidParameter("The parameter messaging_product is required and must be 'whatsapp'.")
	}
	if head.Status != "" {
		if head.Status != "read" {
			return nil, errInvalidParameter("status %q is not supported; only 'read' is", head.Status)
		}
		if head.MessageID == "" {
			return nil, errInvalidParameter("The parameter message_id is required.")
		}
		return &outgoing{isMarkRead: true, messageID: head.MessageID}, nil
	}
	o := &outgoing{to: head.To, kind: head.Type, callbackData: head.CallbackData}
	if o.kind == "" {
		o.kind = "text"
	}
	switch head.RecipientType {
	case "", "individual":
		o.waID = digits(head.To)
		if head.To == "" && whatsapp.IsBSUID(head.Recipient) {
			o.to, o.waID = head.Recipient, head.Recipient
		}
		if o.waID == "" {
			return nil, errInvalidParameter("The parameter to is required and must be a phone number or WhatsApp ID.")
		}
	case "group":
		if head.To == "" {
			return nil, errInvalidParameter("The parameter to is required: the group id.")
		}
		o.isGroup, o.waID = true, head.To
	default:
		return nil, errInvalidParameter("recipient_type %q is not 'individual' or 'group'", head.RecipientType)
	}
	if head.Context != nil {
		if head.Context.MessageID == "" {
			return nil, errInvalidParameter("The parameter context['message_id'] is required.")
		}
		o.replyTo = head.Context.MessageID
	}
	if len(o.callbackData) > maxCallbackData {
		return nil, errInvalidParameter("biz_opaque_callback_data is longer than %d characters", maxCallbackData)
	}
	content, ok := fields[o.kind]
	if !ok || string(content) == "null" {
		return nil, errInvalidParameter("The parameter %s is required for a message of type %s.", o.kind, o.kind)
	}
	check, ok := contentChecks[o.kind]
	if !ok {
		return nil, errInvalidParameter("message type %q is not supported", o.kind)
	}
	choices, err := check(o.kind, content)
	if err != nil {
		return nil, err
	}
	o.choices = choices
	o.digest = digest(o.kind, content)
	if o.kind == "template" {
		var t struct {
			Name     string `json:"name"`
			Language struct {
				Code string `json:"code"`
			} `json:"language"`
			Components []struct {
				Type       string            `json:"type"`
				Parameters []json.RawMessage `json:"parameters"`
			} `json:"components"`
		}
		_ = json.Unmarshal(content, &t) // checked above
		o.template, o.templateLanguage = t.Name, t.Language.Code
		for _, c := range t.Components {
			if c.Type == "body" {
				o.bodyParams += len(c.Parameters)
			}
		}
	}
	return o, nil
}

// digits keeps the digits of a phone number, as Meta does to make a wa_id.
func digits(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// digest identifies a message body: the same type and content, whatever the
// key order or spacing, give the same digest.
func digest(kind string, content json.RawMessage) string {
	var v any
	_ = json.Unmarshal(content, &v)
	canonical, _ := json.Marshal(v) // map keys come out sorted
	sum := sha256.Sum256(append([]byte(kind+"\x00"), canonical...))
	return hex.EncodeToString(sum[:])
}

// contentChecks validate the content object of each message type; an
// interactive message also yields its choices.
var contentChecks = map[string]func(kind string, content json.RawMessage) ([]choice, *apiError){
	"text":        checkText,
	"template":    checkTemplate,
	"image":       checkMedia,
	"video":       checkMedia,
	"audio":       checkMedia,
	"document":    checkMedia,
	"sticker":     checkMedia,
	"interactive": checkInteractive,
	"reaction":    checkReaction,
	"location":    checkLocation,
	"contacts":    checkContacts,
}

func decodeContent(kind string, content json.RawMessage, v any) *apiError {
	if err := json.Unmarshal(content, v); err != nil {
		return errInvalidParameter("The parameter %s is not valid: %v", kind, err)
	}
	return nil
}

func checkText(kind string, content json.RawMessage) ([]choice, *apiError) {
	var t struct {
		Body string `json:"body"`
	}
	if err := decodeContent(kind, content, &t); err != nil {
		return nil, err
	}
	if strings.TrimSpace(t.Body) == "" {
		return nil, errInvalidParameter("The parameter text['body'] is required.")
	}
	if utf8.RuneCountInString(t.Body) > maxTextBody {
		return nil, errInvalidParameter("text['body'] is longer than %d characters", maxTextBody)
	}
	return nil, nil
}

func checkTemplate(kind string, content json.RawMessage) ([]choice, *apiError) {
	var t struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string  `json:"type"`
				Text *string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := decodeContent(kind, content, &t); err != nil {
		return nil, err
	}
	if t.Name == "" {
		return nil, errInvalidParameter("The parameter template['name'] is required.")
	}
	if t.Language.Code == "" {
		return nil, errInvalidParameter("The parameter template['language']['code'] is required.")
	}
	for i, c := range t.Components {
		switch c.Type {
		case "header", "body", "button", "footer", "carousel", "limited_time_offer":
		default:
			return nil, errInvalidParameter("template['components'][%d]['type'] %q is not a component type", i, c.Type)
		}
		for j, p := range c.Parameters {
			if p.Type == "" {
				return nil, errInvalidParameter("template['components'][%d]['parameters'][%d]['type'] is required", i, j)
			}
			if p.Type == "text" && (p.Text == nil || *p.Text == "") {
				return nil, errInvalidParameter("template['components'][%d]['parameters'][%d]['text'] is required", i, j)
			}
		}
	}
	return nil, nil
}

func checkMedia(kind string, content json.RawMessage) ([]choice, *apiError) {
	var m struct {
		ID       string `json:"id"`
		Link     string `json:"link"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
	}
	if err := decodeContent(kind, content, &m); err != nil {
		return nil, err
	}
	if (m.ID == "") == (m.Link == "") {
		return nil, errInvalidParameter("Either %s['id'] or %s['link'] is required, not both.", kind, kind)
	}
	if m.Link != "" {
		u, err := url.Parse(m.Link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errInvalidParameter("%s['link'] %q is not an http(s) URL", kind, m.Link)
		}
	}
	if m.Caption != "" && (kind == "audio" || kind == "sticker") {
		return nil, errInvalidParameter("%s does not take a caption", kind)
	}
	if utf8.RuneCountInString(m.Caption) > maxCaption {
		return nil, errInvalidParameter("%s['caption'] is longer than %d characters", kind, maxCaption)
	}
	if m.Filename != "" && kind != "document" {
		return nil, errInvalidParameter("only a document takes a filename")
	}
	return nil, nil
}

func checkInteractive(kind string, content json.RawMessage) ([]choice, *apiError) {
	var m struct {
		Type string `json:"type"`
		Body struct {
			Text string `json:"text"`
		} `json:"body"`
		Action struct {
			Button  string `json:"button"`
			Buttons []struct {
				Type  string `json:"type"`
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
			Sections []struct {
				Title string `json:"title"`
				Rows  []struct {
					ID          string `json:"id"`
					Title       string `json:"title"`
					Description string `json:"description"`
				} `json:"rows"`
			} `json:"sections"`
		} `json:"action"`
	}
	if err := decodeContent(kind, content, &m); err != nil {
		return nil, err
	}
	if m.Body.Text == "" {
		return nil, errInvalidParameter("The parameter interactive['body']['text'] is required.")
	}
	if utf8.RuneCountInString(m.Body.Text) > maxInteractiveBody {
		return nil, errInvalidParameter("interactive['body']['text'] is longer than %d characters", maxInteractiveBody)
	}
	var choices []choice
	seen := map[string]bool{}
	add := func(c choice, maxTitle int) *apiError {
		if c.id == "" || c.title == "" {
			return errInvalidParameter("every interactive option needs an id and a title")
		}
		if utf8.RuneCountInString(c.title) > maxTitle {
			return errInvalidParameter("option title %q is longer than %d characters", c.title, maxTitle)
		}
		if seen[c.id] {
			return errInvalidParameter("option id %q is used twice", c.id)
		}
		seen[c.id] = true
		choices = append(choices, c)
		return nil
	}
	switch m.Type {
	case "button":
		n := len(m.Action.Buttons)
		if n == 0 || n > maxReplyButtons {
			return nil, errInvalidParameter("interactive['action']['buttons'] has %d buttons; 1 to %d are allowed", n, maxReplyButtons)
		}
		for _, b := range m.Action.Buttons {
			if b.Type != "reply" {
				return nil, errInvalidParameter("button type %q is not 'reply'", b.Type)
			}
			if err := add(choice{id: b.Reply.ID, title: b.Reply.Title}, maxButtonTitle); err != nil {
				return nil, err
			}
		}
	case "list":
		if m.Action.Button == "" {
			return nil, errInvalidParameter("The parameter interactive['action']['button'] is required.")
		}
		if n := len(m.Action.Sections); n == 0 || n > maxListSections {
			return nil, errInvalidParameter("interactive['action']['sections'] has %d sections; 1 to %d are allowed", n, maxListSections)
		}
		for _, s := range m.Action.Sections {
			if len(m.Action.Sections) > 1 && s.Title == "" {
				return nil, errInvalidParameter("every section needs a title when there are several")
			}
			for _, r := range s.Rows {
				if err := add(choice{id: r.ID, title: r.Title, description: r.Description, isListRow: true}, maxRowTitle); err != nil {
					return nil, err
				}
			}
		}
		if n := len(choices); n == 0 || n > maxListRows {
			return nil, errInvalidParameter("the list has %d rows; 1 to %d are allowed", n, maxListRows)
		}
	default:
		return nil, errInvalidParameter("interactive['type'] %q is not supported; use 'button' or 'list'", m.Type)
	}
	return choices, nil
}

func checkReaction(kind string, content json.RawMessage) ([]choice, *apiError) {
	var m struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeContent(kind, content, &m); err != nil {
		return nil, err
	}
	if m.MessageID == "" {
		return nil, errInvalidParameter("The parameter reaction['message_id'] is required.")
	}
	return nil, nil
}

func checkLocation(kind string, content json.RawMessage) ([]choice, *apiError) {
	var m struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	}
	if err := decodeContent(kind, content, &m); err != nil {
		return nil, err
	}
	if m.Latitude == nil || m.Longitude == nil {
		return nil, errInvalidParameter("location['latitude'] and location['longitude'] are required")
	}
	return nil, nil
}

func checkContacts(kind string, content json.RawMessage) ([]choice, *apiError) {
	var cards []map[string]any
	if err := decodeContent(kind, content, &cards); err != nil {
		return nil, err
	}
	if len(cards) == 0 {
		return nil, errInvalidParameter("contacts needs at least one contact card")
	}
	return nil, nil
}
