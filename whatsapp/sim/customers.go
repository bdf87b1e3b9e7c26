package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// customer is one of the simulated customers: the same people write in on
// every run, so a demo's contacts and conversations pile up naturally.
type customer struct{ waID, name string }

var customerNames = []string{
	"Sheena Nelson", "Amir Haddad", "Lucía Fernández", "Kenji Watanabe", "Chiara Rossi", "Tomás Oliveira",
	"Fatima Zahra", "Jonas Becker", "Priya Raman", "Olivia Brown", "Mateus Costa", "Aisha Bello",
	"Noah Dubois", "Elif Yılmaz", "Ivan Petrov", "Grace Kim", "Diego Morales", "Hannah Schmidt",
	"Samuel Mensah", "Yara Haddad", "Lena Novak", "Rafael Silva", "Mei Chen", "Oscar Lindqvist",
}

// Customers are the simulated customers StartCustomers uses, by wa_id.
func Customers() map[string]string {
	out := make(map[string]string, len(customerNames))
	for _, c := range simulatedCustomers() {
		out[c.waID] = c.name
	}
	return out
}

func simulatedCustomers() []customer {
	out := make([]customer, len(customerNames))
	for i, name := range customerNames {
		out[i] = customer{waID: fmt.Sprintf("1555020%04d", i+1), name: name}
	}
	return out
}

var (
	customerTexts = []string{
		"Hi! Is my order on its way?", "Do you deliver on Saturdays?", "Can I change the delivery address?",
		"What are your opening hours?", "I'd like to book a table for two tonight", "Is this still available in blue?",
		"The package arrived damaged 😕", "Thanks, that was quick!", "Can I pay by card on delivery?",
		"How much is shipping to Lisbon?", "I never received the confirmation email", "Can someone call me back?",
		"Do you have it in size M?", "I want to cancel my subscription", "Perfect, see you tomorrow 👍",
	}
	customerReplies = []string{"Yes please", "No, thanks", "Which one do you mean?", "Great, thank you!", "That doesn't work for me"}
	customerEmojis  = []string{"👍", "❤️", "😂", "😮", "🙏"}
	customerPlaces  = []whatsapp.Location{
		{Latitude: 38.7223, Longitude: -9.1393},
		{Latitude: 48.8566, Longitude: 2.3522, Name: "Pickup point", Address: "12 Rue de Rivoli, Paris"},
		{Latitude: 40.4168, Longitude: -3.7038},
	}
)

// StartCustomers has the simulated customers write to the numbers, rate
// messages per second in all (arrivals at random, Poisson-like), until ctx
// ends or the simulator closes. Messages are mostly text, then replies,
// answers to interactive messages, reactions, images, locations and contact
// cards, each answering what the business sent that customer last. About
// one arrival in twenty is instead a customer opening the invite link of a
// number's group (a join request where the group needs approval).
func (s *Simulator) StartCustomers(ctx context.Context, rate float64, phoneNumberIDs ...string) error {
	if rate <= 0 {
		return errors.New("sim: customers write at a positive rate")
	}
	if len(phoneNumberIDs) == 0 {
		return errors.New("sim: customers need a number to write to")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range phoneNumberIDs {
		if _, ok := s.numbers[id]; !ok {
			return fmt.Errorf("%w: %s", ErrUnknownNumber, id)
		}
	}
	people := simulatedCustomers()
	s.spawn(func() {
		for {
			s.mu.Lock()
			wait := time.Duration(s.rng.ExpFloat64() / rate * float64(time.Second))
			s.mu.Unlock()
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			case <-s.ctx.Done():
				return
			}
			s.mu.Lock()
			number := phoneNumberIDs[s.rng.IntN(len(phoneNumberIDs))]
			c := people[s.rng.IntN(len(people))]
			if s.rng.IntN(100) < joinPercent && s.customerJoins(number, c) {
				s.mu.Unlock()
				continue // asked to join a group (or joined) instead of writing
			}
			m := s.customerMessage(pair{number, c.waID})
			m.ProfileName = c.name
			_, _ = s.writeIn(number, c.waID, m)
			s.mu.Unlock()
		}
	})
	return nil
}

// joinPercent is the share of arrivals that are customers asking to join a group.
const joinPercent = 5

// customerMessage picks what a customer writes next, with s.mu held.
func (s *Simulator) customerMessage(p pair) whatsapp.Message {
	pick := func(items []string) string { return items[s.rng.IntN(len(items))] }
	last := s.log.last[p]
	roll := s.rng.IntN(100)
	switch {
	case roll < 12 && s.log.lastInteractive[p] != nil:
		e := s.log.lastInteractive[p]
		c := e.choices[s.rng.IntN(len(e.choices))]
		return whatsapp.Message{Type: "interactive", Interactive: &whatsapp.InteractiveReply{ID: c.id}, Context: &whatsapp.Context{MessageID: e.WAMID}}
	case roll < 22 && last != nil:
		return whatsapp.Message{Type: "text", Text: pick(customerReplies), Context: &whatsapp.Context{MessageID: last.WAMID}}
	case roll < 28 && last != nil:
		return whatsapp.Message{Type: "reaction", Reaction: &whatsapp.Reaction{MessageID: last.WAMID, Emoji: pick(customerEmojis)}}
	case roll < 38:
		return whatsapp.Message{Type: "image", Media: &whatsapp.Media{Caption: "Here's a photo"}}
	case roll < 43:
		place := customerPlaces[s.rng.IntN(len(customerPlaces))]
		return whatsapp.Message{Type: "location", Location: &place}
	case roll < 46:
		friend := customerNames[s.rng.IntN(len(customerNames))]
		return whatsapp.Message{Type: "contacts", Contacts: []whatsapp.SharedContact{{
			Name:   whatsapp.ContactName{Formatted: friend},
			Phones: []whatsapp.ContactPhone{{Phone: "+1 555-0199", Type: "CELL"}},
		}}}
	}
	return whatsapp.Message{Type: "text", Text: pick(customerTexts)}
}
