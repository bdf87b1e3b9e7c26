package sim

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// postMessage answers POST /{phone_number_id}/messages: a send or a mark as
// read. A send passes, in order, the token, the shape checks (100), the
// number's ban (131031), its throughput (130429), the customer's 24-hour
// window (131047, templates excepted) and the pair rate (131056).
func (s *Simulator) postMessage(r *http.Request) (any, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return nil, errInvalidParameter("could not read the request body")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, apiErr := s.numberNode(r)
	if apiErr != nil {
		return nil, apiErr
	}
	o, apiErr := parseOutgoing(body)
	if apiErr != nil {
		return nil, apiErr
	}
	if o.isMarkRead {
		if p, ok := s.inbound.byWAMID[o.messageID]; !ok || p.number != n.PhoneNumberID {
			return nil, errInvalidParameter("message_id %q is not a message this number received", o.messageID)
		}
		return success, nil
	}
	var participants []string
	if o.isGroup {
		g := s.groups[o.waID]
		if g == nil || g.number != n.PhoneNumberID {
			return nil, errInvalidParameter("group %q does not exist for this number", o.to)
		}
		if o.kind == "interactive" {
			return nil, errInvalidParameter("interactive messages cannot be sent to groups")
		}
		participants = slices.Clone(g.participants)
	}
	if n.Status == "BANNED" {
		return nil, errAccountLocked()
	}
	if o.kind == "template" {
		if err := s.checkTemplateSend(o); err != nil {
			return nil, err
		}
	}
	now := s.now()
	if !n.bucket.take(now, n.Throughput) {
		return nil, errThroughput()
	}
	customer := pair{n.PhoneNumberID, o.waID}
	if !o.isGroup {
		if last, ok := s.lastInbound[customer]; o.kind != "template" && (!ok || now.Sub(last) >= customerWindow) {
			return nil, errOutsideWindow()
		}
		if last, ok := s.lastSent[customer]; ok && s.pairInterval > 0 && now.Sub(last) < s.pairInterval {
			return nil, errPairRate()
		}
		s.lastSent[customer] = now
	}
	e := s.accept(n, o, now)
	s.scheduleStatuses(n, e, participants)
	message := map[string]string{"id": e.WAMID}
	if o.kind == "template" {
		message["message_status"] = "accepted"
	}
	return map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": o.to, "wa_id": o.waID}},
		"messages":          []map[string]string{message},
	}, nil
}

// accept records a send in the log, with s.mu held.
func (s *Simulator) accept(n *number, o *outgoing, now time.Time) *sentEntry {
	recipientType := "individual"
	if o.isGroup {
		recipientType = "group"
	}
	e := &sentEntry{
		Sent: Sent{
			Number:        n.PhoneNumberID,
			To:            o.waID,
			RecipientType: recipientType,
			Type:          o.kind,
			Digest:        o.digest,
			WAMID:         s.ids.wamid(),
			At:            now,
			ReplyTo:       o.replyTo,
			CallbackData:  o.callbackData,
		},
		choices: o.choices,
		pricing: s.priceOf(n, o, now),
	}
	s.log.add(e)
	return e
}

// priceOf bills a message as Meta's per-message pricing does (since July
// 2025): a free-form answer inside the customer's 24-hour window is a free
// service message (beyond Config.ServiceFreeTier a month, a billed one); a
// template is billed in its category, except a utility
// template sent inside the window, which is free.
func (s *Simulator) priceOf(n *number, o *outgoing, now time.Time) pricing {
	last, ok := s.lastInbound[pair{n.PhoneNumberID, o.waID}]
	inWindow := ok && now.Sub(last) < customerWindow
	if o.kind != "template" {
		month := n.PhoneNumberID + " " + now.UTC().Format("2006-01")
		s.serviceSent[month]++
		if s.cfg.ServiceFreeTier > 0 && s.serviceSent[month] > s.cfg.ServiceFreeTier {
			return pricing{category: "service", typ: "regular", billable: true}
		}
		return pricing{category: "service", typ: "free_customer_service"}
	}
	category := s.cfg.TemplateCategories[o.template]
	if t := s.template(o.template, o.templateLanguage); t != nil && category == "" {
		category = strings.ToLower(t.Category)
	}
	if category == "" {
		category = "utility"
	}
	if category == "utility" && inWindow {
		return pricing{category: category, typ: "free_customer_service"}
	}
	return pricing{category: category, typ: "regular", billable: true}
}
