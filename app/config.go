package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/outhook"
)

// Config is read from the environment (LoadConfig); every variable has a
// default that runs the embedded demo. README.md lists them.
type Config struct {
	Addr            string
	DatabaseURL     string
	DataDir         string
	Secret          []byte
	Demo            bool
	CORSOrigins     []string
	API             graph.Config        // limits and switches of the GraphQL endpoint
	Gateway         graph.GatewayConfig // the websocket gateway; zero values take its defaults
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	ShutdownTimeout time.Duration
	BodyTimeout     time.Duration // how long a request may take to deliver its body
	MetricsToken    string        // bearer token for /metrics; empty: loopback callers only
	SimulatorToken  string        // bearer token for the simulator's control API (/sim/_sim/); empty: loopback callers only
	NATSURL         string
	PresenceGrace   time.Duration
	Webhooks        outhook.Config // outbound webhooks; zero values take their defaults
	// ExportDir holds the files of conversation export jobs (default
	// <data dir>/exports; a temporary directory when both are empty).
	ExportDir string
	// ExportLinkTTL is how long a finished export may be downloaded before
	// its file is removed (default 24 h).
	ExportLinkTTL time.Duration

	Simulator bool // run the Cloud API simulator in process (the demo), under /sim/
	// SimURL is the simulator's Cloud API that the simulator's numbers
	// (provider sim) are sent to: this instance's /sim when it runs the
	// simulator, another instance's (SWITCHBOARD_SIM_URL) when it does not.
	// Empty: their messages stay queued; they never go to the real provider.
	SimURL              string
	WhatsAppAPIURL      string
	WhatsAppAPIVersion  string
	WhatsAppAppSecret   []byte
	WhatsAppVerifyToken string
	PairInterval        time.Duration
	HealthInterval      time.Duration
	JobPollInterval     time.Duration
	JobTimeout          time.Duration
	JobRescueAfter      time.Duration
	// BroadcastReconcile is how long a broadcast send whose answer was lost
	// waits for its status webhooks before it is taken as never accepted.
	BroadcastReconcile time.Duration
	SendWorkers        int
	// WebhookMaxPending bounds the WhatsApp webhooks waiting to be stored;
	// beyond it they are answered 503 for the provider to retry
	// (connector.Webhook.MaxPending; DefaultWebhookMaxPending).
	WebhookMaxPending int
	LogLevel          slog.Level
	LogFormat         string
}

// DefaultWebhookMaxPending is how many WhatsApp webhooks may wait to be
// stored before more are answered 503: each holds a connection (a
// descriptor) meanwhile, and a provider retries what it is refused.
const DefaultWebhookMaxPending = 1024

// LoadConfig reads the configuration through getenv (os.Getenv in the
// server, a map in tests).
func LoadConfig(getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	c := Config{
		Addr:        env("SWITCHBOARD_ADDR", ":8080"),
		DataDir:     env("SWITCHBOARD_DATA_DIR", "./data"),
		DatabaseURL: getenv("DATABASE_URL"),
		LogFormat:   env("SWITCHBOARD_LOG_FORMAT", "text"),
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "switchboard.db")
	}
	embedded := !isPostgres(c.DatabaseURL)
	c.Demo = parseBool(env("SWITCHBOARD_DEMO", strconv.FormatBool(embedded)), "SWITCHBOARD_DEMO", &errs)
	c.API.Introspection = parseBool(env("SWITCHBOARD_INTROSPECTION", "true"), "SWITCHBOARD_INTROSPECTION", &errs)
	if o := env("SWITCHBOARD_CORS_ORIGINS", ""); o != "" {
		for _, s := range strings.Split(o, ",") {
			c.CORSOrigins = append(c.CORSOrigins, strings.TrimSpace(s))
		}
	}
	c.Gateway.OriginPatterns = c.CORSOrigins
	c.API.MaxBodyBytes = int64(parseInt(env("SWITCHBOARD_MAX_BODY_BYTES", strconv.FormatInt(graph.DefaultConfig.MaxBodyBytes, 10)), "SWITCHBOARD_MAX_BODY_BYTES", &errs))
	c.API.MaxDepth = parseInt(env("SWITCHBOARD_MAX_QUERY_DEPTH", strconv.Itoa(graph.DefaultConfig.MaxDepth)), "SWITCHBOARD_MAX_QUERY_DEPTH", &errs)
	c.API.MaxComplexity = parseInt(env("SWITCHBOARD_MAX_QUERY_COMPLEXITY", strconv.Itoa(graph.DefaultConfig.MaxComplexity)), "SWITCHBOARD_MAX_QUERY_COMPLEXITY", &errs)
	c.AccessTokenTTL = parseDuration(env("SWITCHBOARD_ACCESS_TOKEN_TTL", "15m"), "SWITCHBOARD_ACCESS_TOKEN_TTL", &errs)
	c.RefreshTokenTTL = parseDuration(env("SWITCHBOARD_REFRESH_TOKEN_TTL", "720h"), "SWITCHBOARD_REFRESH_TOKEN_TTL", &errs)
	c.ShutdownTimeout = parseDuration(env("SWITCHBOARD_SHUTDOWN_TIMEOUT", "20s"), "SWITCHBOARD_SHUTDOWN_TIMEOUT", &errs)
	c.BodyTimeout = parseDuration(env("SWITCHBOARD_BODY_TIMEOUT", "30s"), "SWITCHBOARD_BODY_TIMEOUT", &errs)
	c.MetricsToken = getenv("SWITCHBOARD_METRICS_TOKEN")
	c.SimulatorToken = getenv("SWITCHBOARD_SIMULATOR_TOKEN")
	c.NATSURL = getenv("NATS_URL")
	c.PresenceGrace = parseDuration(env("SWITCHBOARD_PRESENCE_GRACE", "15s"), "SWITCHBOARD_PRESENCE_GRACE", &errs)
	c.Webhooks.AllowPrivate = parseBool(env("SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", "false"), "SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE", &errs)
	c.Webhooks.Poll = parseDuration(env("SWITCHBOARD_WEBHOOK_POLL", "1s"), "SWITCHBOARD_WEBHOOK_POLL", &errs)
	c.Webhooks.Timeout = parseDuration(env("SWITCHBOARD_WEBHOOK_TIMEOUT", "10s"), "SWITCHBOARD_WEBHOOK_TIMEOUT", &errs)
	// One instance runs the simulator; the others point at it (README, "More
	// than one instance").
	c.SimURL = strings.TrimSuffix(getenv("SWITCHBOARD_SIM_URL"), "/")
	c.Simulator = parseBool(env("SWITCHBOARD_SIMULATOR", strconv.FormatBool(c.Demo && c.SimURL == "")), "SWITCHBOARD_SIMULATOR", &errs)
	if c.Simulator && c.SimURL != "" {
		errs = append(errs, errors.New("SWITCHBOARD_SIMULATOR and SWITCHBOARD_SIM_URL: run the simulator here, or point at another instance's, not both"))
	}
	if c.Simulator {
		c.SimURL = baseURL(c.Addr) + "/sim"
	}
	defaultAPI, defaultSecret, defaultHealth := "https://graph.facebook.com", "", "5m"
	if c.SimURL != "" {
		// A demo: numbers linked without a provider go to the simulator too.
		defaultAPI, defaultHealth = c.SimURL, "15s"
	}
	c.WhatsAppAPIURL = env("SWITCHBOARD_WHATSAPP_API_URL", defaultAPI)
	c.WhatsAppAPIVersion = env("SWITCHBOARD_WHATSAPP_API_VERSION", "v21.0")
	c.WhatsAppAppSecret = []byte(env("SWITCHBOARD_WHATSAPP_APP_SECRET", defaultSecret))
	c.WhatsAppVerifyToken = getenv("SWITCHBOARD_WHATSAPP_VERIFY_TOKEN")
	c.PairInterval = parseDuration(env("SWITCHBOARD_PAIR_INTERVAL", "6s"), "SWITCHBOARD_PAIR_INTERVAL", &errs)
	c.HealthInterval = parseDuration(env("SWITCHBOARD_HEALTH_INTERVAL", defaultHealth), "SWITCHBOARD_HEALTH_INTERVAL", &errs)
	c.JobPollInterval = parseDuration(env("SWITCHBOARD_JOB_POLL_INTERVAL", "100ms"), "SWITCHBOARD_JOB_POLL_INTERVAL", &errs)
	c.JobTimeout = parseDuration(env("SWITCHBOARD_JOB_TIMEOUT", "1m"), "SWITCHBOARD_JOB_TIMEOUT", &errs)
	c.JobRescueAfter = parseDuration(env("SWITCHBOARD_JOB_RESCUE_AFTER", "6m"), "SWITCHBOARD_JOB_RESCUE_AFTER", &errs)
	c.BroadcastReconcile = parseDuration(env("SWITCHBOARD_BROADCAST_RECONCILE", "2m"), "SWITCHBOARD_BROADCAST_RECONCILE", &errs)
	c.SendWorkers = parseInt(env("SWITCHBOARD_SEND_WORKERS", "8"), "SWITCHBOARD_SEND_WORKERS", &errs)
	c.WebhookMaxPending = parseInt(env("SWITCHBOARD_WEBHOOK_MAX_PENDING", strconv.Itoa(DefaultWebhookMaxPending)), "SWITCHBOARD_WEBHOOK_MAX_PENDING", &errs)
	if c.WebhookMaxPending < 1 {
		errs = append(errs, errors.New("SWITCHBOARD_WEBHOOK_MAX_PENDING must be at least 1"))
	}
	c.ExportDir = env("SWITCHBOARD_EXPORT_DIR", filepath.Join(c.DataDir, "exports"))
	c.ExportLinkTTL = parseDuration(env("SWITCHBOARD_EXPORT_LINK_TTL", "24h"), "SWITCHBOARD_EXPORT_LINK_TTL", &errs)
	if c.JobRescueAfter <= c.JobTimeout {
		errs = append(errs, errors.New("SWITCHBOARD_JOB_RESCUE_AFTER must exceed SWITCHBOARD_JOB_TIMEOUT, or running jobs would be run twice"))
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("SWITCHBOARD_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("SWITCHBOARD_LOG_LEVEL: %w", err))
	}
	secret, err := loadSecret(getenv("SWITCHBOARD_SECRET"), c.DataDir, embedded)
	if err != nil {
		errs = append(errs, err)
	}
	c.Secret = secret
	if c.SimURL != "" && len(c.WhatsAppAppSecret) == 0 && len(secret) > 0 {
		c.WhatsAppAppSecret = simulatorAppSecret(secret)
	}
	return c, errors.Join(errs...)
}

// loadSecret returns the key access tokens are signed with. Every instance of
// a deployment must share it, so with Postgres it must be configured; the
// embedded default keeps a generated one in the data directory.
func loadSecret(configured, dataDir string, embedded bool) ([]byte, error) {
	if configured != "" {
		if len(configured) < 32 {
			return nil, errors.New("SWITCHBOARD_SECRET must be at least 32 characters")
		}
		return []byte(configured), nil
	}
	if !embedded {
		return nil, errors.New("SWITCHBOARD_SECRET is required with Postgres, so that every instance signs tokens alike (try: openssl rand -hex 32)")
	}
	path := filepath.Join(dataDir, "secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(b)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(s), nil
}

// IsPostgres reports whether the configuration runs on PostgreSQL (the
// deployment of more than one instance) rather than embedded SQLite.
func (c Config) IsPostgres() bool { return isPostgres(c.DatabaseURL) }

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func parseBool(s, key string, errs *[]error) bool {
	b, err := strconv.ParseBool(s)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %q is not true or false", key, s))
	}
	return b
}

func parseInt(s, key string, errs *[]error) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a non-negative integer", key, s))
	}
	return n
}

func parseDuration(s, key string, errs *[]error) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a positive duration such as 15m", key, s))
	}
	return d
}

// BaseURL is how a person on this machine reaches the server (":8080" →
// http://localhost:8080).
func (c Config) BaseURL() string { return baseURL(c.Addr) }

func baseURL(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "http://localhost" + addr
	}
	return "http://" + addr
}

// exportLinkSecret signs the download links of export jobs: derived from
// the installation's secret, which every instance shares, so a link made by
// one instance is good on all.
func exportLinkSecret(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("switchboard export links"))
	return mac.Sum(nil)
}

// simulatorAppSecret is the app secret the demo simulator signs its webhooks
// with when none is configured: derived from the installation's own secret
// (generated in the data directory, or SWITCHBOARD_SECRET, which every
// instance of a deployment shares), so it is never one published in the
// source, and instances pointing at one simulator agree on it.
func simulatorAppSecret(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("switchboard simulator app secret"))
	return []byte(hex.EncodeToString(mac.Sum(nil)))
}
