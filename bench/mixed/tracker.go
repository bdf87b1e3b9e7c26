package mixed

import (
	"math"
	"slices"
	"sync"
	"time"
)

// tracker matches the events the clients receive to the messages posted.
// Receivers are numbered agents first (0…N-1), then supervisors.
type tracker struct {
	seed   *Seed
	agents int
	// onNumber counts the agents of each number: they all see its
	// conversations.
	onNumber []int
	convs    map[string]int // conversation id → index in seed.Conversations

	mu       sync.Mutex
	messages []*message
	posts    [][]int       // per conversation, its messages in order: the k-th raised unreadCount to k
	seen     []map[int]int // per receiver, per conversation, the highest unreadCount shown
	closed   bool          // the run is over: later deliveries do not count
}

// message is one inbound customer message and what became of it.
type message struct {
	conv     int
	at       time.Time // just before its webhook was posted
	measured bool      // false for the warm-up
	failed   bool      // the webhook was not answered 200

	expected, got int // deliveries, to everyone who may see the conversation
	assignee      time.Duration
	toAssignee    bool
	supervisors   []time.Duration
	peers         int // the number's other agents reached
}

func newTracker(seed *Seed) *tracker {
	t := &tracker{seed: seed, agents: len(seed.Agents), onNumber: make([]int, len(seed.Numbers)),
		convs: map[string]int{}, posts: make([][]int, len(seed.Conversations)),
		seen: make([]map[int]int, len(seed.Agents)+len(seed.Supervisors))}
	for _, a := range seed.Agents {
		t.onNumber[a.Number]++
	}
	for i, c := range seed.Conversations {
		t.convs[c.ID] = i
	}
	for i := range t.seen {
		t.seen[i] = map[int]int{}
	}
	return t
}

// post records a message about to be posted to conversation conv and
// returns its index.
func (t *tracker) post(conv int, measured bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.seed.Conversations[conv]
	m := &message{conv: conv, at: time.Now(), measured: measured,
		expected: t.onNumber[c.Number] + len(t.seed.Supervisors)}
	t.messages = append(t.messages, m)
	t.posts[conv] = append(t.posts[conv], len(t.messages)-1)
	return len(t.messages) - 1
}

func (t *tracker) fail(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.messages[i].failed = true
}

// receive accounts for an event shown to receiver r at time at: the
// conversation conversationID with unreadCount unread.
func (t *tracker) receive(r int, conversationID string, unread int, at time.Time) {
	conv, ok := t.convs[conversationID]
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	seen := t.seen[r][conv]
	posts := t.posts[conv]
	for k := seen; k < min(unread, len(posts)); k++ {
		m := t.messages[posts[k]]
		m.got++
		lat := at.Sub(m.at)
		switch {
		case r >= t.agents:
			m.supervisors = append(m.supervisors, lat)
		case r == t.seed.Conversations[conv].Assignee:
			m.assignee, m.toAssignee = lat, true
		default:
			m.peers++
		}
	}
	if unread > seen {
		t.seen[r][conv] = unread
	}
}

// complete tells whether every message posted so far (the measured ones, or
// the warm-up) has reached everyone who may see it.
func (t *tracker) complete(measured bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.messages {
		if m.measured == measured && m.got < m.expected {
			return false
		}
	}
	return true
}

// close ends the run: deliveries from now on are late.
func (t *tracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
}

// fill writes the measured messages' deliveries and latencies into res.
func (t *tracker) fill(res *Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var toAssignee, toSupervisors []time.Duration
	for _, m := range t.messages {
		if !m.measured {
			continue
		}
		res.Posted++
		if m.failed {
			res.PostFailed++
		}
		res.AssigneeExpected++
		if m.toAssignee {
			res.AssigneeDelivered++
			toAssignee = append(toAssignee, m.assignee)
		}
		res.SupervisorExpected += len(t.seed.Supervisors)
		res.SupervisorDelivered += len(m.supervisors)
		toSupervisors = append(toSupervisors, m.supervisors...)
		res.PeerExpected += m.expected - 1 - len(t.seed.Supervisors)
		res.PeerDelivered += m.peers
	}
	slices.Sort(toAssignee)
	slices.Sort(toSupervisors)
	res.AssigneeP50, res.AssigneeP99 = ms(percentile(toAssignee, 0.50)), ms(percentile(toAssignee, 0.99))
	res.SupervisorP50, res.SupervisorP99 = ms(percentile(toSupervisors, 0.50)), ms(percentile(toSupervisors, 0.99))
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(k, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
