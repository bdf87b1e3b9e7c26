package sim

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// statusEvent is one status webhook of an accepted message.
type statusEvent struct {
	status      string
	at          time.Duration // after acceptance: the status's timestamp
	postAfter   time.Duration // after acceptance: when it is posted
	participant string        // groups: the member it is about
	failCode    int
	copies      int
	body        []byte
}

// scheduleStatuses posts a message's statuses in the background, with s.mu
// held: sent, delivered (unless skipped) and read, or failed alone. For a
// group, delivered and read come once per member. The reorder fault posts
// them newest first, each keeping its own timestamp.
func (s *Simulator) scheduleStatuses(n *number, e *sentEntry, participants []string) {
	if s.hooks.url == "" {
		return
	}
	d := s.cfg.StatusDelays
	sentAt, deliveredAt, readAt := d.Sent, d.Sent+d.Delivered, d.Sent+d.Delivered+d.Read
	var events []statusEvent
	reply := false
	if code, fails := s.failure(e.To); fails {
		events = append(events, statusEvent{status: whatsapp.StatusFailed, at: sentAt, failCode: code})
	} else {
		members := []string{""}
		if e.RecipientType == "group" {
			members = participants
		}
		events = append(events, statusEvent{status: whatsapp.StatusSent, at: sentAt})
		if !s.chance(s.cfg.SkipDelivered) {
			for _, m := range members {
				events = append(events, statusEvent{status: whatsapp.StatusDelivered, at: deliveredAt, participant: m})
			}
		}
		read, willReply, _ := s.engage(e)
		reply = willReply
		for _, m := range members {
			if read {
				events = append(events, statusEvent{status: whatsapp.StatusRead, at: readAt, participant: m})
			}
		}
	}
	for i := range events {
		events[i].postAfter = events[i].at
	}
	if len(events) > 1 && s.chance(s.faults.ReorderRate) {
		slots := make([]time.Duration, len(events))
		for i, ev := range events {
			slots[i] = ev.postAfter
		}
		slices.Reverse(events)
		for i := range events {
			events[i].postAfter = slots[i]
		}
	}
	accepted := s.now()
	for i := range events {
		events[i].body = s.statusWebhook(n, e, events[i], accepted.Add(events[i].at))
		events[i].copies = s.copies()
	}
	wamid, start := e.WAMID, time.Now()
	s.spawn(func() {
		for _, ev := range events {
			if !s.sleep(time.Until(start.Add(ev.postAfter))) {
				return
			}
			s.recordStatus(wamid, ev.status, s.deliver(ev.body, ev.copies))
		}
		if reply && s.sleep(time.Until(start.Add(readAt+d.Read))) {
			s.answer(e)
		}
	})
}

// failure says, with s.mu held, whether a message to the recipient ends
// failed, and with which code.
func (s *Simulator) failure(to string) (int, bool) {
	if code, ok := s.faults.FailRecipients[to]; ok {
		return code, true
	}
	if s.chance(s.faults.FailRate) {
		return cmp.Or(s.faults.FailCode, whatsapp.CodeUndeliverable), true
	}
	return 0, false
}

// recordStatus notes that the receiver acknowledged acked posts of a status.
func (s *Simulator) recordStatus(wamid, status string, acked int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteOutcome(wamid, status)
	if e, ok := s.log.byWAMID[wamid]; ok {
		for range acked {
			e.Statuses = append(e.Statuses, status)
		}
	}
}

// statusWebhook is the messages change Meta posts for one status.
func (s *Simulator) statusWebhook(n *number, e *sentEntry, ev statusEvent, at time.Time) []byte {
	st := map[string]any{
		"id":           e.WAMID,
		"status":       ev.status,
		"timestamp":    unixString(at),
		"recipient_id": e.To,
	}
	if e.CallbackData != "" {
		st["biz_opaque_callback_data"] = e.CallbackData
	}
	if e.RecipientType == "group" {
		st["recipient_type"] = "group"
		if ev.participant != "" {
			st["recipient_participant_id"] = ev.participant
		}
	}
	if ev.status == whatsapp.StatusFailed {
		st["errors"] = []any{deliveryError(ev.failCode)}
	} else {
		p := e.pricing
		conversation := map[string]any{"id": conversationID(e, p.category), "origin": map[string]string{"type": p.category}}
		if ev.status == whatsapp.StatusSent {
			conversation["expiration_timestamp"] = unixString(at.Add(customerWindow))
		}
		st["conversation"] = conversation
		st["pricing"] = map[string]any{"billable": p.billable, "pricing_model": "PMP", "category": p.category, "type": p.typ}
	}
	value := map[string]any{"statuses": []any{st}}
	if _, known := s.profiles[e.To]; known && e.RecipientType != "group" {
		value["contacts"] = s.contacts(e.To)
	}
	return s.numberWebhook(whatsapp.FieldMessages, n, value)
}

// conversationID is stable for a number, a customer and a category.
func conversationID(e *sentEntry, category string) string {
	sum := sha256.Sum256([]byte(e.Number + "|" + e.To + "|" + category))
	return hex.EncodeToString(sum[:16])
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
