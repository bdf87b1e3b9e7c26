package mixed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/bench/internal/benchws"
)

// Config is a benchmark: one run per entry of Agents, each against a fresh
// server.
type Config struct {
	Agents      []int
	Supervisors int
	Numbers     int
	PerAgent    int     // conversations assigned to each agent
	Messages    int     // measured, per run
	Rate        float64 // messages per second
	ConnectRate float64 // new websockets per second
	Drain       time.Duration
	RunTimeout  time.Duration
	// Server returns the command that runs Serve with args in a process of
	// its own (the driver runs itself with "serve"; the test, its binary).
	Server func(ctx context.Context, args []string) *exec.Cmd
	Log    io.Writer // progress
}

// Result is one run.
type Result struct {
	Agents        int `json:"agents"`
	Supervisors   int `json:"supervisors"`
	Numbers       int `json:"numbers"`
	Conversations int `json:"conversations"`
	Posted        int `json:"posted"`     // measured messages
	PostFailed    int `json:"postFailed"` // not answered 200
	// Executions is the gateway's count of distinct executions once every
	// client has subscribed: how far subscriptions share.
	Executions          int     `json:"executions"`
	WindowSeconds       float64 `json:"windowSeconds"` // first post until all arrived or the drain ended
	ServerCPUms         float64 `json:"serverCpuMsPerMessage"`
	ServerCores         float64 `json:"serverCores"` // server CPU over the window: near 2 here, it was saturated
	StatementsPerMsg    float64 `json:"statementsPerMessage"`
	AssigneeP50         float64 `json:"assigneeP50ms"`
	AssigneeP99         float64 `json:"assigneeP99ms"`
	AssigneeDelivered   int     `json:"assigneeDelivered"`
	AssigneeExpected    int     `json:"assigneeExpected"`
	SupervisorP50       float64 `json:"supervisorP50ms"`
	SupervisorP99       float64 `json:"supervisorP99ms"`
	SupervisorDelivered int     `json:"supervisorDelivered"`
	SupervisorExpected  int     `json:"supervisorExpected"`
	PeerDelivered       int     `json:"peerDelivered"` // to the number's other agents
	PeerExpected        int     `json:"peerExpected"`
	ServerErrors        int     `json:"serverErrors"` // lines the server logged at ERROR
	Problems            int64   `json:"problems"`     // error messages, events with errors, closed connections, failed posts
	LastProblem         string  `json:"lastProblem,omitempty"`
	Load                string  `json:"load"` // /proc/loadavg at the end of the window
	Error               string  `json:"error,omitempty"`
}

// Complete tells whether every message reached its assignee, every
// supervisor and the number's other agents within the run.
func (r Result) Complete() bool {
	return r.Error == "" && r.Posted > 0 && r.PostFailed == 0 && r.AssigneeDelivered == r.AssigneeExpected &&
		r.SupervisorDelivered == r.SupervisorExpected && r.PeerDelivered == r.PeerExpected
}

// Run runs cfg: one server and one load per agent count, in order. It
// returns every run's result, failed ones with their Error set.
func Run(ctx context.Context, cfg Config) []Result {
	var results []Result
	for _, n := range cfg.Agents {
		fmt.Fprintf(cfg.Log, "bench-mixed: %d agents, %d supervisors (load %s)\n", n, cfg.Supervisors, benchws.LoadAvg())
		res, err := runOne(ctx, cfg, n)
		if err != nil {
			res.Error = err.Error()
			fmt.Fprintf(cfg.Log, "bench-mixed: %d agents: %v\n", n, err)
		}
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	return results
}

// runOne starts a server seeded for n agents, connects every client, warms
// up with one message per number, then posts the measured messages and
// waits for their deliveries.
func runOne(ctx context.Context, cfg Config, n int) (res Result, err error) {
	shape := Shape{Agents: n, Supervisors: cfg.Supervisors, Numbers: min(cfg.Numbers, n), PerAgent: cfg.PerAgent}
	res = Result{Agents: n, Supervisors: shape.Supervisors, Numbers: shape.Numbers, Conversations: n * shape.PerAgent}
	ctx, cancel := context.WithTimeout(ctx, cfg.RunTimeout)
	defer cancel()

	srv, err := startServer(ctx, cfg, shape)
	if err != nil {
		return res, err
	}
	defer func() {
		srv.stop()
		res.ServerErrors = srv.errorLines()
	}()
	l := newLoad(srv.ready, srv.seed)
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()

	step := func(limit time.Duration, what string, f func(ctx context.Context) error) error {
		sctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		if err := f(sctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	people := n + shape.Supervisors
	connectLimit := time.Minute + time.Duration(float64(people)/cfg.ConnectRate*float64(time.Second))
	if err := step(connectLimit, "connect", func(ctx context.Context) error { return l.connect(ctx, readCtx, cfg.ConnectRate) }); err != nil {
		return res, err
	}
	var st Stats
	if err := step(time.Minute, "subscriptions", func(ctx context.Context) error {
		return waitFor(ctx, func() bool { return srv.stats(&st) == nil && st.Subscriptions >= people })
	}); err != nil {
		return res, fmt.Errorf("%w (the server holds %d of %d)", err, st.Subscriptions, people)
	}
	res.Executions = st.Executions
	// One message per number, each to its first conversation: every client
	// must see one before anything is measured.
	if err := step(2*time.Minute, "warm-up", func(ctx context.Context) error {
		l.postAll(ctx, shape.Numbers, cfg.Rate, false, firstOfEachNumber(srv.seed))
		return waitFor(ctx, func() bool { return l.track.complete(false) })
	}); err != nil {
		return res, fmt.Errorf("%w%s", err, srv.tail())
	}
	time.Sleep(time.Second) // let the warm-up's tail (routing, jobs) pass

	var before, after Stats
	if err := srv.stats(&before); err != nil {
		return res, err
	}
	cpu0, err := processCPU(srv.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	start := time.Now()
	order := make([]int, len(srv.seed.Conversations))
	for i := range order {
		order[i] = i
	}
	postLimit := time.Duration(float64(cfg.Messages)/cfg.Rate*float64(time.Second)) + time.Minute
	_ = step(postLimit, "posting", func(ctx context.Context) error {
		l.postAll(ctx, cfg.Messages, cfg.Rate, true, order)
		return nil
	})
	_ = step(cfg.Drain, "drain", func(ctx context.Context) error {
		return waitFor(ctx, func() bool { return l.track.complete(true) })
	})
	l.track.close()
	res.WindowSeconds = time.Since(start).Seconds()
	cpu1, err := processCPU(srv.cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	if err := srv.stats(&after); err != nil {
		return res, err
	}
	res.Load = benchws.LoadAvg()
	l.track.fill(&res)
	res.ServerCPUms = (cpu1 - cpu0).Seconds() * 1000 / float64(max(res.Posted, 1))
	res.ServerCores = (cpu1 - cpu0).Seconds() / res.WindowSeconds
	res.StatementsPerMsg = float64(after.Statements-before.Statements) / float64(max(res.Posted, 1))
	res.Problems = l.errors.Load() + l.dropped.Load() + after.TooSlow
	if p, ok := l.lastError.Load().(string); ok {
		res.LastProblem = p
	}
	return res, ctx.Err()
}

// firstOfEachNumber lists, per number, the index of its first conversation.
func firstOfEachNumber(seed *Seed) []int {
	first := make([]int, len(seed.Numbers))
	for i := range first {
		first[i] = -1
	}
	for i, c := range seed.Conversations {
		if first[c.Number] < 0 {
			first[c.Number] = i
		}
	}
	return first
}

// server is a running server process.
type server struct {
	cmd   *exec.Cmd
	log   *os.File // its stderr
	ready Ready
	seed  *Seed
	http  *http.Client
}

// startServer starts the server process and waits for its Ready line (at
// most three minutes: migrating and seeding).
func startServer(ctx context.Context, cfg Config, shape Shape) (*server, error) {
	log, err := os.CreateTemp("", "bench-mixed-log-*.log")
	if err != nil {
		return nil, err
	}
	s := &server{log: log, http: &http.Client{Timeout: 30 * time.Second}}
	s.cmd = cfg.Server(ctx, append(shape.args(), "-lifetime", cfg.RunTimeout.String()))
	s.cmd.Stderr = log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the load
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		s.discard()
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		s.discard()
		return nil, fmt.Errorf("start server: %w", err)
	}
	line, err := readyLine(ctx, out, 3*time.Minute)
	if err == nil {
		err = json.Unmarshal([]byte(line), &s.ready)
	}
	if err == nil {
		err = readJSON(s.ready.Seed, &s.seed)
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("server: %w%s", err, s.tail())
	}
	return s, nil
}

// readyLine returns the first line of out.
func readyLine(ctx context.Context, out io.Reader, limit time.Duration) (string, error) {
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out) // the server must never block on stdout
	}()
	select {
	case l, ok := <-line:
		if !ok {
			return "", errors.New("exited before it was ready")
		}
		return l, nil
	case <-time.After(limit):
		return "", fmt.Errorf("not ready after %s", limit)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (s *server) stats(st *Stats) error {
	res, err := s.http.Get(s.ready.Base + "/bench/stats")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("stats: %s", res.Status)
	}
	return json.NewDecoder(res.Body).Decode(st)
}

// stop asks the server to exit, kills it after 15 s, and removes its
// directory if it could not (killed).
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	if dir := filepath.Dir(s.ready.Seed); s.ready.Seed != "" && strings.HasPrefix(filepath.Base(dir), serverDirPrefix) {
		_ = os.RemoveAll(dir)
	}
}

// errorLines counts what the server logged at ERROR, then removes its log.
func (s *server) errorLines() int {
	defer s.discard()
	b, err := os.ReadFile(s.log.Name())
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("level=ERROR"))
}

// tail is the end of the server's log, for an error message.
func (s *server) tail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) == 0 {
		return ""
	}
	return "; server log ends: " + string(b[max(0, len(b)-1500):])
}

func (s *server) discard() {
	s.log.Close()
	os.Remove(s.log.Name())
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux that Go runs on.
const clockTicks = 100

// processCPU is the user and system time process pid has used, from
// /proc/<pid>/stat (fields 14 and 15).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// the command name, in parentheses, may hold spaces: count from its end
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime: fields 14 and 15 of the whole line
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// waitFor polls done every 20 ms until it holds or ctx ends.
func waitFor(ctx context.Context, done func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
