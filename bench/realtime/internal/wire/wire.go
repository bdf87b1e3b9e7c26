// Package wire is what the realtime benchmark's processes tell each other:
// the server's ready line, its stats, the load generator's result, and the
// one subscription every mode serves.
package wire

import (
	"encoding/json"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/realtime/gateway"
)

// Modes are the three servers measured side by side.
const (
	ModeGateway = "gateway" // realtime/gateway, the API's transport
	ModeStock   = "stock"   // gqlgen's transport.Websocket on the same schema
	ModeRaw     = "raw"     // a coder/websocket broadcast of the same bytes: the floor
)

// Subscription is what every client asks for; the raw server answers with
// bytes shaped like its result.
const Subscription = `subscription { conversationEvents { seq kind at conversation { id status } } }`

// SubscriptionID is the graphql-transport-ws id every client subscribes with.
const SubscriptionID = "1"

// Ready is the server's first stdout line.
type Ready struct {
	Mode         string `json:"mode"`
	URL          string `json:"url"`  // ws://127.0.0.1:port/graphql
	Base         string `json:"base"` // http://127.0.0.1:port, for /bench/…
	Token        string `json:"token"`
	Conversation string `json:"conversation"`
	PID          int    `json:"pid"`
}

// Stats is the server's /bench/stats answer.
type Stats struct {
	Goroutines int     `json:"goroutines"`
	HeapInuse  uint64  `json:"heapInuse"`
	StackInuse uint64  `json:"stackInuse"`
	Sys        uint64  `json:"sys"`
	CPUSeconds float64 `json:"cpuSeconds"` // user + system time of the process so far
	// Subscribed is how many subscriptions the server holds live: the
	// gateway's count, the bus subscriptions of the stock transport's
	// resolvers, the raw server's subscribe messages.
	Subscribed int            `json:"subscribed"`
	Published  int64          `json:"published"`
	Gateway    *gateway.Stats `json:"gateway,omitempty"`
}

// Result is one load generator run.
type Result struct {
	Mode        string    `json:"mode"`
	N           int       `json:"n"`
	Events      int       `json:"events"`
	Rate        float64   `json:"rate"`
	Delivered   int64     `json:"delivered"`
	Expected    int64     `json:"expected"`
	P50ms       float64   `json:"p50ms"`
	P99ms       float64   `json:"p99ms"`
	MaxMs       float64   `json:"maxMs"`
	EventMaxMs  []float64 `json:"eventMaxMs"` // each event's slowest delivery, in order
	MsgBytes    float64   `json:"msgBytes"`   // mean size of a delivered message
	KiBPerConn  float64   `json:"kibPerConn"` // heap + stack in use
	HeapKiBPer  float64   `json:"heapKibPerConn"`
	StackKiBPer float64   `json:"stackKibPerConn"`
	SysKiBPer   float64   `json:"sysKibPerConn"`
	GoroutinesP float64   `json:"goroutinesPerConn"`
	ServerCPUms float64   `json:"serverCpuMsPerEvent"` // server CPU time while measuring, per event
	ClientCPUms float64   `json:"clientCpuMsPerEvent"` // the load generator's
	ConnectSec  float64   `json:"connectSeconds"`
	Pings       int64     `json:"pings"`      // keepalives received while measuring
	Reconnects  int64     `json:"reconnects"` // dial retries
	ServerSent  int64     `json:"serverSent"` // gateway only: messages written
	ServerLoad  string    `json:"serverLoad"` // /proc/loadavg when measuring ended
	Error       string    `json:"error,omitempty"`
}

// RaiseFileLimit lifts RLIMIT_NOFILE to want, or to the hard limit when want
// is above it and the process may not raise that.
func RaiseFileLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	raised := syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
		return want, nil
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit: %w", err)
	}
	return lim.Cur, nil
}

// CPUSeconds is the user and system time this process has used.
func CPUSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

// GetJSON fetches url into v within timeout.
func GetJSON(url string, timeout time.Duration, v any) error {
	c := http.Client{Timeout: timeout}
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(v)
}
