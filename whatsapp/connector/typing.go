package connector

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TypingEvery is how often a conversation's typing indicator reaches the
// provider at most: WhatsApp shows one for 25 seconds, so a client calling
// on every keystroke costs one call per 10 seconds.
const TypingEvery = 10 * time.Second

// Typing shows customers that an agent is typing. It publishes nothing and
// writes nothing: the only effect is the provider call, at most once per
// TypingEvery per conversation on this instance.
type Typing struct {
	Client *ent.Client
	API    Providers
	Box    *credential.Box
	Clock  clock.Clock
	Log    *slog.Logger

	mu   sync.Mutex
	last map[string]time.Time // conversation → last call
}

// Indicate shows the typing indicator in the conversation id, which the
// viewer of ctx must see (NOT_FOUND otherwise). It reports whether the
// provider was called and took it: false when absorbed by the rate limit,
// when the customer wrote nothing yet, or when the provider refused.
func (t *Typing) Indicate(ctx context.Context, id string) (bool, error) {
	conv, err := t.Client.Conversation.Get(ctx, id)
	if err != nil {
		return false, err
	}
	if !t.admit(conv.ID) {
		return false, nil
	}
	sctx := viewer.System(ctx, conv.TenantID)
	m, err := t.Client.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionINBOUND),
		message.ProviderMessageIDNotNil()).Order(ent.Desc(message.FieldCreatedAt)).WithNumber().First(sctx)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	num := m.Edges.Number
	api, err := t.API.For(num)
	if err != nil || num.PhoneNumberID == nil {
		return false, nil
	}
	creds, err := t.Box.Open(num.Credentials, num.ID)
	if err != nil {
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := api.ShowTyping(cctx, *num.PhoneNumberID, creds.AccessToken, *m.ProviderMessageID); err != nil {
		t.Log.Warn("whatsapp: typing indicator not shown", "conversation", conv.ID, "err", err)
		return false, nil
	}
	return true, nil
}

// admit takes the conversation's slot if TypingEvery passed since the last.
func (t *Typing) admit(id string) bool {
	now := t.Clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	if at, ok := t.last[id]; ok && now.Sub(at) < TypingEvery {
		return false
	}
	if len(t.last) >= 10_000 { // forget the conversations nobody types in any more
		for k, at := range t.last {
			if now.Sub(at) >= TypingEvery {
				delete(t.last, k)
			}
		}
	}
	t.last[id] = now
	return true
}
