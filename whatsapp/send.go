package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Template is an approved message template, the only kind of message that may
// open a conversation outside the customer's 24-hour window.
type Template struct {
	Name       string
	Language   string   // the translation to use, e.g. "en_US"
	BodyParams []string // the values of the body's {{1}}, {{2}}, ... in order
	// HeaderImage is the link of the image of a template whose header is an
	// image; empty for other templates.
	HeaderImage string
}

// OutgoingMedia is an attachment to send, either an uploaded file (ID) or a
// public https link (Link).
type OutgoingMedia struct {
	Kind     string // "image", "video", "audio", "document" or "sticker"
	ID       string
	Link     string
	Caption  string // image, video and document only
	Filename string // document only
}

// Interactive is a message with reply buttons or with a list to pick from:
// set Buttons or List, not both.
type Interactive struct {
	Header  string // optional text header
	Body    string
	Footer  string
	Buttons []ReplyButton // 1 to 3
	List    *List
}

// ReplyButton is a button whose press comes back as an interactive
// button_reply with this ID.
type ReplyButton struct {
	ID    string
	Title string
}

// List is a menu of rows grouped in sections, opened by a button labelled Button.
type List struct {
	Button   string
	Sections []ListSection
}

// ListSection is a titled group of rows; the title may be empty when there is
// one section.
type ListSection struct {
	Title string
	Rows  []ListRow
}

// ListRow is an option whose choice comes back as an interactive list_reply
// with this ID.
type ListRow struct {
	ID          string
	Title       string
	Description string
}

// Limits the Cloud API sets on interactive messages.
const (
	maxReplyButtons = 3
	maxListRows     = 10 // over all sections
)

// SendText sends body as a text message, without link preview. A non-empty
// replyTo quotes that message. It returns the wamid of the message sent.
func (c *Client) SendText(ctx context.Context, phoneNumberID, token, to, body, replyTo string) (string, error) {
	if body == "" {
		return "", fmt.Errorf("whatsapp: send text: %w: empty body", ErrInvalidRequest)
	}
	text := map[string]any{"body": body, "preview_url": false}
	return c.send(ctx, phoneNumberID, token, to, replyTo, "text", text)
}

// SendTemplate sends an approved template. A non-empty replyTo quotes that message.
func (c *Client) SendTemplate(ctx context.Context, phoneNumberID, token, to string, t Template, replyTo string) (string, error) {
	if t.Name == "" || t.Language == "" {
		return "", fmt.Errorf("whatsapp: send template: %w: name and language are required", ErrInvalidRequest)
	}
	return c.send(ctx, phoneNumberID, token, to, replyTo, "template", t.content())
}

// content is the template object of a send.
func (t Template) content() map[string]any {
	template := map[string]any{"name": t.Name, "language": map[string]string{"code": t.Language}}
	var comps []map[string]any
	if t.HeaderImage != "" {
		comps = append(comps, map[string]any{"type": "header", "parameters": []map[string]any{
			{"type": "image", "image": map[string]string{"link": t.HeaderImage}}}})
	}
	if len(t.BodyParams) > 0 {
		params := make([]map[string]string, len(t.BodyParams))
		for i, p := range t.BodyParams {
			params[i] = map[string]string{"type": "text", "text": p}
		}
		comps = append(comps, map[string]any{"type": "body", "parameters": params})
	}
	if len(comps) > 0 {
		template["components"] = comps
	}
	return template
}

// SendTracked sends a template (t not nil) or a text, with callbackData as
// its biz_opaque_callback_data: every status webhook of the message carries
// it back, so a send whose answer was lost (a crash, a timeout) is still
// recognised by its statuses.
func (c *Client) SendTracked(ctx context.Context, phoneNumberID, token, to, callbackData string, t *Template, text string) (string, error) {
	extra := map[string]any{"biz_opaque_callback_data": callbackData}
	if t != nil {
		if t.Name == "" || t.Language == "" {
			return "", fmt.Errorf("whatsapp: send template: %w: name and language are required", ErrInvalidRequest)
		}
		return c.sendWith(ctx, phoneNumberID, token, to, "", "template", t.content(), extra)
	}
	if text == "" {
		return "", fmt.Errorf("whatsapp: send text: %w: empty body", ErrInvalidRequest)
	}
	return c.sendWith(ctx, phoneNumberID, token, to, "", "text", map[string]any{"body": text, "preview_url": false}, extra)
}

// SendMedia sends an attachment. A non-empty replyTo quotes that message.
func (c *Client) SendMedia(ctx context.Context, phoneNumberID, token, to string, m OutgoingMedia, replyTo string) (string, error) {
	if err := m.validate(); err != nil {
		return "", fmt.Errorf("whatsapp: send %s: %w", m.Kind, err)
	}
	media := struct {
		ID       string `json:"id,omitempty"`
		Link     string `json:"link,omitempty"`
		Caption  string `json:"caption,omitempty"`
		Filename string `json:"filename,omitempty"`
	}{m.ID, m.Link, m.Caption, m.Filename}
	return c.send(ctx, phoneNumberID, token, to, replyTo, m.Kind, media)
}

func (m OutgoingMedia) validate() error {
	switch m.Kind {
	case "image", "video", "audio", "document", "sticker":
	default:
		return fmt.Errorf("%w: media kind %q", ErrInvalidRequest, m.Kind)
	}
	if (m.ID == "") == (m.Link == "") {
		return fmt.Errorf("%w: give either the media id or its link", ErrInvalidRequest)
	}
	if m.Caption != "" && (m.Kind == "audio" || m.Kind == "sticker") {
		return fmt.Errorf("%w: %s takes no caption", ErrInvalidRequest, m.Kind)
	}
	if m.Filename != "" && m.Kind != "document" {
		return fmt.Errorf("%w: only a document has a filename", ErrInvalidRequest)
	}
	return nil
}

// SendInteractive sends reply buttons or a list. A non-empty replyTo quotes
// that message.
func (c *Client) SendInteractive(ctx context.Context, phoneNumberID, token, to string, m Interactive, replyTo string) (string, error) {
	if err := m.validate(); err != nil {
		return "", fmt.Errorf("whatsapp: send interactive: %w", err)
	}
	interactive := map[string]any{"body": map[string]string{"text": m.Body}}
	if m.Header != "" {
		interactive["header"] = map[string]string{"type": "text", "text": m.Header}
	}
	if m.Footer != "" {
		interactive["footer"] = map[string]string{"text": m.Footer}
	}
	if m.List == nil {
		buttons := make([]map[string]any, len(m.Buttons))
		for i, b := range m.Buttons {
			buttons[i] = map[string]any{"type": "reply", "reply": map[string]string{"id": b.ID, "title": b.Title}}
		}
		interactive["type"] = "button"
		interactive["action"] = map[string]any{"buttons": buttons}
	} else {
		sections := make([]map[string]any, len(m.List.Sections))
		for i, s := range m.List.Sections {
			rows := make([]map[string]string, len(s.Rows))
			for j, r := range s.Rows {
				rows[j] = map[string]string{"id": r.ID, "title": r.Title}
				if r.Description != "" {
					rows[j]["description"] = r.Description
				}
			}
			sections[i] = map[string]any{"rows": rows}
			if s.Title != "" {
				sections[i]["title"] = s.Title
			}
		}
		interactive["type"] = "list"
		interactive["action"] = map[string]any{"button": m.List.Button, "sections": sections}
	}
	return c.send(ctx, phoneNumberID, token, to, replyTo, "interactive", interactive)
}

func (m Interactive) validate() error {
	if m.Body == "" {
		return fmt.Errorf("%w: empty body", ErrInvalidRequest)
	}
	if (len(m.Buttons) == 0) == (m.List == nil) {
		return fmt.Errorf("%w: give either buttons or a list", ErrInvalidRequest)
	}
	if len(m.Buttons) > maxReplyButtons {
		return fmt.Errorf("%w: %d buttons, at most %d", ErrInvalidRequest, len(m.Buttons), maxReplyButtons)
	}
	if m.List == nil {
		return nil
	}
	if m.List.Button == "" {
		return fmt.Errorf("%w: the list has no button label", ErrInvalidRequest)
	}
	rows := 0
	for _, s := range m.List.Sections {
		rows += len(s.Rows)
	}
	if rows == 0 || rows > maxListRows {
		return fmt.Errorf("%w: %d list rows, 1 to %d", ErrInvalidRequest, rows, maxListRows)
	}
	return nil
}

// send posts one message of the given type to /{phone_number_id}/messages and
// returns its wamid.
func (c *Client) send(ctx context.Context, phoneNumberID, token, to, replyTo, kind string, content any) (string, error) {
	return c.sendWith(ctx, phoneNumberID, token, to, replyTo, kind, content, nil)
}

// sendWith is send with extra top-level fields.
func (c *Client) sendWith(ctx context.Context, phoneNumberID, token, to, replyTo, kind string, content any, extra map[string]any) (string, error) {
	if to == "" {
		return "", fmt.Errorf("whatsapp: send %s: %w: no recipient", kind, ErrInvalidRequest)
	}
	in := map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"type":              kind,
		kind:                content,
	}
	if group, ok := strings.CutPrefix(to, groupRecipient); ok {
		if !isGroupID(group) {
			return "", fmt.Errorf("whatsapp: send %s: %w: %w", kind, ErrInvalidRequest, errGroupRecipient)
		}
		in["recipient_type"], in["to"] = "group", group
	} else if IsBSUID(to) {
		in["recipient"] = to // a customer known only by their business-scoped id
	} else {
		in["to"] = to
	}
	if replyTo != "" {
		in["context"] = map[string]string{"message_id": replyTo}
	}
	for k, v := range extra {
		in[k] = v
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	err := c.call(ctx, http.MethodPost, phoneNumberID, "messages", token, nil, in, &out)
	if err == nil && (len(out.Messages) == 0 || out.Messages[0].ID == "") {
		err = errNoWamid
	}
	if err != nil {
		return "", fmt.Errorf("whatsapp: send %s from %s: %w", kind, phoneNumberID, err)
	}
	return out.Messages[0].ID, nil
}

// errNoWamid is a 2xx answer without a message id. The message may have
// been sent, so it is not retryable.
var errNoWamid = errors.New("the answer carries no message id")

// IsBSUID tells whether id is a business-scoped user id (BSUID) rather than a
// phone's wa_id: an ISO country code, a period, then letters and digits
// ("US.13491208655302741918", a parent one "US.ENT.1181…").
func IsBSUID(id string) bool {
	if len(id) < 4 || id[2] != '.' {
		return false
	}
	for i, r := range id {
		switch {
		case i < 2 && r >= 'A' && r <= 'Z', i == 2:
		case i > 2 && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.'):
		default:
			return false
		}
	}
	return true
}
