package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Defaults of a zero Config.
const (
	DefaultWABAID       = "100000000000001"
	DefaultPairInterval = 6 * time.Second // Meta: about one message every 6 s to the same customer
	DefaultThroughput   = 80              // messages per second per number
	defaultRetryBackoff = time.Second
	defaultRetryFor     = 10 * time.Minute
)

// DefaultStatusDelays is what a zero Config.StatusDelays means.
var DefaultStatusDelays = StatusDelays{Sent: 200 * time.Millisecond, Delivered: time.Second, Read: 3 * time.Second}

// customerWindow is how long after a customer's last message the business may
// send anything but a template.
const customerWindow = 24 * time.Hour

// Config sets up a Simulator.
type Config struct {
	WebhookURL string // where webhooks are POSTed; none are sent when empty
	AppSecret  string // signs every webhook (X-Hub-Signature-256)
	WABAID     string // entry.id of every webhook; DefaultWABAID when empty

	Numbers []Number // the business numbers the simulator starts with

	StatusDelays  StatusDelays // DefaultStatusDelays when zero
	SkipDelivered float64      // probability, 0 to 1, that a message's delivered status never comes

	// PairInterval is the least time between two messages from a number to
	// the same customer (error 131056): DefaultPairInterval when zero, no
	// limit when negative, as load tests want.
	PairInterval time.Duration

	// A webhook the receiver does not acknowledge with a 2xx is posted again
	// after RetryBackoff (1 s when zero), doubled each time up to a minute,
	// until RetryFor (10 min when zero) has passed; Meta keeps trying for days.
	RetryBackoff time.Duration
	RetryFor     time.Duration

	// TemplateCategories is the pricing category of each template by name
	// (marketing, utility, authentication), as Meta approved it; a template
	// not named is utility.
	TemplateCategories map[string]string
	// ServiceFreeTier is how many service messages a number sends free each
	// (simulated) month; those beyond are billed, as Meta does since October
	// 2026. Zero: every service message is free.
	ServiceFreeTier int

	// WebhookConnections bounds the webhook POSTs in flight at once
	// (DefaultWebhookConnections when zero); the others wait for one of
	// its connections, within the 10 s timeout of a post. Ignored with
	// HTTPClient.
	WebhookConnections int
	HTTPClient         *http.Client // posts webhooks; a client with a 10 s timeout when nil
	Seed               uint64       // seeds the random choices (skips, faults by rate, customers); random when zero
}

// StatusDelays are the waits before each status of a message is posted:
// Sent after the send was accepted, Delivered after Sent, Read after Delivered.
type StatusDelays struct {
	Sent, Delivered, Read time.Duration
}

// Simulator is an in-memory WhatsApp Cloud API: it answers the Graph API
// routes like Meta, posts signed webhooks back, and fails on demand. It is an
// http.Handler; serve it with httptest.NewServer or http.Server. Close it when
// done.
type Simulator struct {
	cfg    Config
	mux    *http.ServeMux
	ids    ids
	hooks  *poster
	ctx    context.Context // cancelled by Close: stops status timers, retries and customers
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu           sync.Mutex
	isClosed     bool
	offset       time.Duration // simulated time minus real time
	rng          *rand.Rand
	faults       Faults
	outage       outage
	pairInterval time.Duration
	numbers      map[string]*number
	lastInbound  map[pair]time.Time // opens the 24-hour window
	serviceSent  map[string]int     // service messages per number and month ("<id> 2006-01")
	lastSent     map[pair]time.Time // for the pair rate limit
	inbound      inboundIndex       // customers' messages, for mark-as-read
	profiles     map[string]string  // wa_id → profile name
	log          sentLog
	media        map[string]*mediaFile
	groups       map[string]*group
	invites      map[string]string // invite code → group id
	customers    context.CancelFunc
	templates    map[string]*Template  // by name and language
	engagement   map[string]Engagement // by customer wa_id
	outcomes     map[string]*Outcome   // by wamid: what each customer did
}

// pair is a business number and a customer.
type pair struct{ number, customer string }

// New returns a Simulator with cfg's numbers.
func New(cfg Config) (*Simulator, error) {
	if cfg.WABAID == "" {
		cfg.WABAID = DefaultWABAID
	}
	if cfg.StatusDelays == (StatusDelays{}) {
		cfg.StatusDelays = DefaultStatusDelays
	}
	if cfg.SkipDelivered < 0 || cfg.SkipDelivered > 1 {
		return nil, fmt.Errorf("sim: SkipDelivered %v is not a probability", cfg.SkipDelivered)
	}
	if cfg.PairInterval == 0 {
		cfg.PairInterval = DefaultPairInterval
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = defaultRetryBackoff
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = defaultRetryFor
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Simulator{
		cfg:          cfg,
		ids:          newIDs(),
		ctx:          ctx,
		cancel:       cancel,
		rng:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		pairInterval: cfg.PairInterval,
		numbers:      map[string]*number{},
		lastInbound:  map[pair]time.Time{},
		serviceSent:  map[string]int{},
		lastSent:     map[pair]time.Time{},
		inbound:      newInboundIndex(),
		profiles:     map[string]string{},
		log:          newSentLog(),
		media:        map[string]*mediaFile{},
		groups:       map[string]*group{},
		invites:      map[string]string{},
	}
	s.hooks = newPoster(cfg)
	for _, n := range cfg.Numbers {
		if err := s.AddNumber(n); err != nil {
			cancel()
			return nil, err
		}
	}
	s.mux = s.routes()
	return s, nil
}

// ServeHTTP answers the Cloud API routes under /{version}/ and the control
// API under /_sim/.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops pending status webhooks, retries and simulated customers, and
// waits for them to end.
func (s *Simulator) Close() {
	s.mu.Lock()
	s.isClosed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Now is the simulated time: the real time shifted by every Advance. Windows,
// rate limits, outages and webhook timestamps follow it; the delays before
// webhooks are posted do not.
func (s *Simulator) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Advance moves the simulated time forward by d, to close a customer's
// 24-hour window or refill rate limits without waiting.
func (s *Simulator) Advance(d time.Duration) error {
	if d < 0 {
		return errors.New("sim: time only moves forward")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
	return nil
}

// SetPairInterval changes the pair rate limit at run time; see
// Config.PairInterval.
func (s *Simulator) SetPairInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == 0 {
		d = DefaultPairInterval
	}
	s.pairInterval = d
}

// now is Now with s.mu held.
func (s *Simulator) now() time.Time { return time.Now().Add(s.offset) }

// chance reports, with s.mu held, whether an event of probability p happens.
func (s *Simulator) chance(p float64) bool { return p > 0 && s.rng.Float64() < p }

// spawn runs f in a goroutine that Close waits for, with s.mu held; a closed
// simulator starts nothing.
func (s *Simulator) spawn(f func()) {
	if s.isClosed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// sleep waits d, or less when the simulator closes; it reports whether the
// full wait happened.
func (s *Simulator) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
