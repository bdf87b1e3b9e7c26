package sim

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// placeholders are the bytes of the attachments customers send, by type.
var placeholders = map[string]struct {
	mimeType string
	data     []byte
}{
	"image":    {"image/jpeg", []byte("\xff\xd8\xff\xe0 simulated image \xff\xd9")},
	"video":    {"video/mp4", []byte("simulated video")},
	"audio":    {"audio/ogg; codecs=opus", []byte("OggS simulated voice note")},
	"document": {"application/pdf", []byte("%PDF-1.4 simulated document")},
	"sticker":  {"image/webp", []byte("RIFF simulated sticker WEBP")},
}

// WriteIn is a customer, from, writing to a business number: the business
// gets a signed messages webhook, as Parse reads it back. m says what is
// written: Type (inferred from the content field set when empty), the
// content field that goes with it (an Order too), ProfileName, Context (a
// reply: its MessageID; Forwarded; ReferredProduct), Referral (a
// click-to-WhatsApp ad), GroupID (a message in a group). An attachment
// without Media.ID gets an uploaded placeholder; an interactive reply must
// answer an interactive message sent to the customer, and takes its titles
// from it. The message opens the customer's 24-hour window (not in a group).
// WriteIn returns the message's wamid.
func (s *Simulator) WriteIn(phoneNumberID, from string, m whatsapp.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeIn(phoneNumberID, from, m)
}

// writeIn is WriteIn with s.mu held.
func (s *Simulator) writeIn(phoneNumberID, from string, m whatsapp.Message) (string, error) {
	if !whatsapp.IsBSUID(from) { // a customer with a username writes from their BSUID, no phone
		from = digits(from)
	}
	if from == "" {
		return "", errors.New("sim: a customer writes from a wa_id")
	}
	n, ok := s.numbers[phoneNumberID]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownNumber, phoneNumberID)
	}
	if m.GroupID != "" {
		g, ok := s.groups[m.GroupID]
		switch {
		case !ok || g.number != phoneNumberID:
			return "", fmt.Errorf("%w: %s", ErrUnknownGroup, m.GroupID)
		case !g.isParticipant(from):
			return "", fmt.Errorf("%w: %s", ErrNotParticipant, from)
		case g.isAdminsOnly && !g.admins[from]:
			return "", ErrAdminsOnly
		}
	}
	kind := inboundKind(m)
	content, err := s.inboundContent(n, from, kind, m)
	if err != nil {
		return "", err
	}
	wamid, now := s.ids.wamid(), s.now()
	msg := map[string]any{"from": from, "id": wamid, "timestamp": unixString(now), "type": kind, kind: content}
	if whatsapp.IsBSUID(from) {
		delete(msg, "from")
		msg["from_user_id"] = from
	}
	if c := m.Context; c != nil {
		ctx := map[string]any{}
		if c.MessageID != "" {
			ctx["from"], ctx["id"] = n.DisplayPhone, c.MessageID
		}
		if c.Forwarded {
			ctx["forwarded"] = true
		}
		if c.FrequentlyForwarded {
			ctx["frequently_forwarded"] = true
		}
		if p := c.ReferredProduct; p != nil {
			ctx["referred_product"] = p
		}
		msg["context"] = ctx
	}
	if m.Referral != nil { // the click-to-WhatsApp ad the customer came from
		msg["referral"] = m.Referral
	}
	customer := pair{phoneNumberID, from}
	if m.GroupID != "" {
		msg["group_id"] = m.GroupID
	} else {
		s.lastInbound[customer] = now
	}
	s.inbound.add(wamid, customer)
	s.rememberProfile(from, m.ProfileName)
	s.emit(s.numberWebhook(whatsapp.FieldMessages, n, map[string]any{"contacts": s.contacts(from), "messages": []any{msg}}))
	return wamid, nil
}

// rememberProfile keeps a customer's profile name, with s.mu held; a
// customer who never gave one gets a made-up name.
func (s *Simulator) rememberProfile(waID, name string) {
	switch {
	case name != "":
		s.profiles[waID] = name
	case s.profiles[waID] == "":
		s.profiles[waID] = "Customer " + waID[max(0, len(waID)-4):]
	}
}

func inboundKind(m whatsapp.Message) string {
	switch {
	case m.Type != "":
		return m.Type
	case m.Text != "":
		return "text"
	case m.Media != nil:
		return "image"
	case m.Location != nil:
		return "location"
	case len(m.Contacts) > 0:
		return "contacts"
	case m.Interactive != nil:
		return "interactive"
	case m.Button != nil:
		return "button"
	case m.Reaction != nil:
		return "reaction"
	case m.Order != nil:
		return "order"
	}
	return ""
}

// inboundContent is the content object of a customer's message, with s.mu held.
func (s *Simulator) inboundContent(n *number, from, kind string, m whatsapp.Message) (any, error) {
	missing := fmt.Errorf("sim: a %s message needs its content", kind)
	switch kind {
	case "text":
		if m.Text == "" {
			return nil, missing
		}
		return map[string]string{"body": m.Text}, nil
	case "image", "video", "audio", "document", "sticker":
		return s.inboundMedia(n, kind, m.Media), nil
	case "location":
		if m.Location == nil {
			return nil, missing
		}
		return m.Location, nil
	case "contacts":
		if len(m.Contacts) == 0 {
			return nil, missing
		}
		return m.Contacts, nil
	case "interactive":
		if m.Interactive == nil {
			return nil, missing
		}
		return s.interactiveReply(n, from, m)
	case "button":
		if m.Button == nil {
			return nil, missing
		}
		return m.Button, nil
	case "reaction":
		if m.Reaction == nil || m.Reaction.MessageID == "" {
			return nil, errors.New("sim: a reaction needs the id of the message it reacts to")
		}
		return m.Reaction, nil
	case "order":
		if m.Order == nil || len(m.Order.Items) == 0 {
			return nil, errors.New("sim: an order needs its catalog and items")
		}
		return m.Order, nil
	}
	return nil, fmt.Errorf("sim: customers cannot send %q messages", kind)
}

func (s *Simulator) inboundMedia(n *number, kind string, given *whatsapp.Media) map[string]any {
	var media whatsapp.Media
	if given != nil {
		media = *given
	}
	file, ok := s.media[media.ID]
	if !ok {
		p := placeholders[kind]
		media.ID, file = s.addMedia(n.PhoneNumberID, cmp.Or(media.MimeType, p.mimeType), p.data)
	}
	out := map[string]any{"id": media.ID, "mime_type": file.mimeType, "sha256": file.sha256}
	if media.Caption != "" {
		out["caption"] = media.Caption
	}
	if media.Filename != "" {
		out["filename"] = media.Filename
	}
	if media.Voice {
		out["voice"] = true
	}
	if media.Animated {
		out["animated"] = true
	}
	return out
}

// interactiveReply checks a button or list reply against the interactive
// message it answers, with s.mu held.
func (s *Simulator) interactiveReply(n *number, from string, m whatsapp.Message) (any, error) {
	if m.Context == nil || m.Context.MessageID == "" {
		return nil, errors.New("sim: an interactive reply answers a message: set Context.MessageID")
	}
	e, ok := s.log.byWAMID[m.Context.MessageID]
	if !ok || e.Number != n.PhoneNumberID || e.To != from || len(e.choices) == 0 {
		return nil, fmt.Errorf("sim: %s is not an interactive message sent to %s", m.Context.MessageID, from)
	}
	for _, c := range e.choices {
		if c.id != m.Interactive.ID {
			continue
		}
		if c.isListRow {
			return map[string]any{"type": "list_reply", "list_reply": map[string]string{"id": c.id, "title": c.title, "description": c.description}}, nil
		}
		return map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": c.id, "title": c.title}}, nil
	}
	return nil, fmt.Errorf("sim: message %s offers no option %q", m.Context.MessageID, m.Interactive.ID)
}
