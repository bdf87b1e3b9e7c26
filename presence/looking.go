package presence

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/realtime"
)

// LookingSignal is the bus signal of a look: Subject is the conversation.
const LookingSignal = "conversation.looking"

// Looking tells, on every instance, who is looking at a conversation and who
// is typing in it (collision detection), without a database write: a look is
// a signal on the bus (realtime.Signal), renewed every ttl/3 while the
// looker watches and forgotten ttl after the last renewal, or at once when
// they stop watching. Typing lasts typingTTL after the last keystroke told.
//
// Every instance hears every look and keeps them in memory, so a watcher
// who arrives sees who was already there. An instance that starts sees the
// looks of the others within ttl/3 (their next renewal).
type Looking struct {
	bus       realtime.Bus
	ttl       time.Duration
	typingTTL time.Duration
	log       *slog.Logger
	now       func() time.Time

	mu    sync.Mutex
	convs map[lookKey]*watched
	// typed: when this instance last signalled an agent's typing in a
	// conversation, so a keystroke a second costs nothing more.
	typed map[typedKey]time.Time
}

type lookKey struct{ tenantID, conversationID string }

type typedKey struct {
	conv    lookKey
	agentID string
}

// watched is one conversation's looks and the watchers told of them.
type watched struct {
	looks    map[string]map[string]look // agent id → watch id → look
	watchers map[chan struct{}]struct{}
}

type look struct {
	since, until, typingUntil time.Time
}

// Looker is one agent looking at a conversation.
type Looker struct {
	AgentID string
	// Typing: they told they were typing within the last few seconds.
	Typing bool
	// Since: when their look began (as this instance heard it).
	Since time.Time
}

// lookData is a look's signal: the agent, the watch (one agent may look from
// two tabs), and what it says.
type lookData struct {
	Agent  string `json:"a"`
	Watch  string `json:"w,omitempty"`
	Typing bool   `json:"typing,omitempty"`
	Left   bool   `json:"left,omitempty"`
}

// DefaultLookTTL and DefaultTypingTTL are what NewLooking uses for zero.
const (
	DefaultLookTTL   = 15 * time.Second
	DefaultTypingTTL = 6 * time.Second
	// typingEvery: an agent's typing is signalled at most this often from
	// one instance, whatever the keystrokes.
	typingEvery = 2 * time.Second
)

// NewLooking returns the registry and sets it as bus's signal handler. Run
// must run for looks to expire.
func NewLooking(bus realtime.Bus, ttl, typingTTL time.Duration, log *slog.Logger) *Looking {
	if ttl <= 0 {
		ttl = DefaultLookTTL
	}
	if typingTTL <= 0 {
		typingTTL = DefaultTypingTTL
	}
	l := &Looking{bus: bus, ttl: ttl, typingTTL: typingTTL, log: log, now: time.Now,
		convs: map[lookKey]*watched{}, typed: map[typedKey]time.Time{}}
	bus.HandleSignals(l.receive)
	return l
}

// Run forgets expired looks and typing, and tells their watchers, until ctx
// ends.
func (l *Looking) Run(ctx context.Context) {
	tick := time.NewTicker(max(min(l.ttl, l.typingTTL)/6, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.expire()
		}
	}
}

// Watch follows the looks at a conversation: the list at once, then a new
// list whenever it changes, until ctx ends (then the channel closes). When
// agentID is not empty the watcher looks too, for as long as ctx lives. The
// caller checks that the watcher may see the conversation.
func (l *Looking) Watch(ctx context.Context, tenantID, conversationID, agentID string) <-chan []Looker {
	k := lookKey{tenantID, conversationID}
	wake := make(chan struct{}, 1)
	wake <- struct{}{} // the list at once
	l.mu.Lock()
	w := l.conv(k)
	w.watchers[wake] = struct{}{}
	l.mu.Unlock()

	watch := ""
	if agentID != "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		watch = hex.EncodeToString(b)
		l.signal(ctx, k, lookData{Agent: agentID, Watch: watch})
	}
	out := make(chan []Looker, 1)
	go func() {
		defer close(out)
		renew := time.NewTicker(l.ttl / 3)
		defer renew.Stop()
		defer func() {
			l.mu.Lock()
			if w := l.convs[k]; w != nil {
				delete(w.watchers, wake)
				l.drop(k, w)
			}
			l.mu.Unlock()
			if watch != "" {
				// The watcher left: tell everyone now rather than at expiry.
				l.signal(context.WithoutCancel(ctx), k, lookData{Agent: agentID, Watch: watch, Left: true})
			}
		}()
		var sent []Looker
		first := true
		for {
			select {
			case <-ctx.Done():
				return
			case <-renew.C:
				if watch != "" {
					l.signal(ctx, k, lookData{Agent: agentID, Watch: watch})
				}
			case <-wake:
				list := l.List(tenantID, conversationID)
				if !first && slices.EqualFunc(list, sent, sameLooker) {
					continue
				}
				first, sent = false, list
				select {
				case out <- list:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// sameLooker compares what a watcher is shown.
func sameLooker(a, b Looker) bool {
	return a.AgentID == b.AgentID && a.Typing == b.Typing && a.Since.Equal(b.Since)
}

// Typing tells the conversation's watchers that agentID is typing in it. It
// signals at most every couple of seconds per agent and conversation from
// one instance; sent reports whether this call did. The caller checks that
// the agent may see the conversation (only when sent: checkFirst runs
// before the signal, so a keystroke that sends nothing costs nothing).
func (l *Looking) Typing(ctx context.Context, tenantID, conversationID, agentID string, checkFirst func() error) (sent bool, err error) {
	k := typedKey{lookKey{tenantID, conversationID}, agentID}
	now := l.now()
	l.mu.Lock()
	last, ok := l.typed[k]
	if ok && now.Sub(last) < typingEvery {
		l.mu.Unlock()
		return false, nil
	}
	l.typed[k] = now
	l.mu.Unlock()
	if checkFirst != nil {
		if err := checkFirst(); err != nil {
			l.mu.Lock()
			delete(l.typed, k)
			l.mu.Unlock()
			return false, err
		}
	}
	return true, l.signalErr(ctx, k.conv, lookData{Agent: agentID, Typing: true})
}

// List is who looks at the conversation now, by the start of their look.
func (l *Looking) List(tenantID, conversationID string) []Looker {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.convs[lookKey{tenantID, conversationID}]
	if w == nil {
		return nil
	}
	var out []Looker
	for agentID, watches := range w.looks {
		var lk Looker
		for _, lo := range watches {
			if !lo.until.After(now) && !lo.typingUntil.After(now) {
				continue
			}
			if lk.AgentID == "" || lo.since.Before(lk.Since) {
				lk.Since = lo.since
			}
			lk.AgentID = agentID
			lk.Typing = lk.Typing || lo.typingUntil.After(now)
		}
		if lk.AgentID != "" {
			out = append(out, lk)
		}
	}
	slices.SortFunc(out, func(a, b Looker) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.AgentID, b.AgentID)
	})
	return out
}

func (l *Looking) signal(ctx context.Context, k lookKey, d lookData) {
	if err := l.signalErr(ctx, k, d); err != nil && ctx.Err() == nil {
		l.log.Warn("presence: a look was not signalled", "conversation", k.conversationID, "err", err)
	}
}

func (l *Looking) signalErr(ctx context.Context, k lookKey, d lookData) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return l.bus.Signal(ctx, realtime.Signal{TenantID: k.tenantID, Type: LookingSignal, Subject: k.conversationID, Data: data})
}

// receive applies a look signal from any instance (this one's too).
func (l *Looking) receive(s realtime.Signal) {
	if s.Type != LookingSignal || s.Subject == "" {
		return
	}
	var d lookData
	if err := json.Unmarshal(s.Data, &d); err != nil || d.Agent == "" {
		return
	}
	k := lookKey{s.TenantID, s.Subject}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.conv(k)
	watches := w.looks[d.Agent]
	if watches == nil {
		watches = map[string]look{}
		w.looks[d.Agent] = watches
	}
	lo, seen := watches[d.Watch]
	switch {
	case d.Left:
		delete(watches, d.Watch)
	case d.Typing:
		if !seen {
			lo.since = now
		}
		lo.typingUntil = now.Add(l.typingTTL)
		watches[d.Watch] = lo
	default:
		if !seen || !lo.until.After(now) && !lo.typingUntil.After(now) {
			lo.since = now
		}
		lo.until = now.Add(l.ttl)
		watches[d.Watch] = lo
	}
	if len(watches) == 0 {
		delete(w.looks, d.Agent)
	}
	w.wake()
	l.drop(k, w)
}

// expire forgets lapsed looks and typing and wakes the watchers of the
// conversations that changed.
func (l *Looking) expire() {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, w := range l.convs {
		changed := false
		for agentID, watches := range w.looks {
			for id, lo := range watches {
				if lo.until.After(now) || lo.typingUntil.After(now) {
					if !lo.typingUntil.IsZero() && !lo.typingUntil.After(now) {
						lo.typingUntil = time.Time{} // typing ended, the look goes on
						watches[id] = lo
						changed = true
					}
					continue
				}
				delete(watches, id)
				changed = true
			}
			if len(watches) == 0 {
				delete(w.looks, agentID)
			}
		}
		if changed {
			w.wake()
		}
		l.drop(k, w)
	}
	for k, at := range l.typed {
		if now.Sub(at) >= typingEvery {
			delete(l.typed, k)
		}
	}
}

// conv returns k's entry, creating it; the caller holds mu.
func (l *Looking) conv(k lookKey) *watched {
	w := l.convs[k]
	if w == nil {
		w = &watched{looks: map[string]map[string]look{}, watchers: map[chan struct{}]struct{}{}}
		l.convs[k] = w
	}
	return w
}

// drop forgets k once nobody looks or watches; the caller holds mu.
func (l *Looking) drop(k lookKey, w *watched) {
	if len(w.looks) == 0 && len(w.watchers) == 0 {
		delete(l.convs, k)
	}
}

// wake tells every watcher the list may have changed; the caller holds mu.
func (w *watched) wake() {
	for c := range w.watchers {
		select {
		case c <- struct{}{}:
		default: // already told
		}
	}
}
