package mixed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serveEnv makes the test binary the benchmark's server process.
const serveEnv = "BENCH_MIXED_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := Serve(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-mixed server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestHarnessDeliversEveryMessage runs the benchmark at the smallest scale
// that has every kind of receiver (an assignee, a number's other agent, a
// supervisor), so that the harness cannot rot unnoticed: every message must
// reach its assignee, the other agent of its number and the supervisor, and
// the figures must be filled in.
func TestHarnessDeliversEveryMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	var log bytes.Buffer
	cfg := Config{Agents: []int{3}, Supervisors: 1, Numbers: 2, PerAgent: 2, Messages: 5, Rate: 20,
		ConnectRate: 100, Drain: 20 * time.Second, RunTimeout: time.Minute, Log: &log,
		Server: func(ctx context.Context, args []string) *exec.Cmd {
			cmd := exec.CommandContext(ctx, os.Args[0], args...)
			cmd.Env = append(os.Environ(), serveEnv+"=1")
			return cmd
		}}
	results := Run(t.Context(), cfg)
	require.Len(t, results, 1)
	r := results[0]
	require.Empty(t, r.Error, log.String())
	require.Zero(t, r.Problems, r.LastProblem)
	require.Equal(t, 5, r.Posted)
	require.Equal(t, 2, r.Numbers)
	require.Equal(t, 6, r.Conversations)
	require.Equal(t, Result{AssigneeDelivered: 5, AssigneeExpected: 5, SupervisorDelivered: 5, SupervisorExpected: 5},
		Result{AssigneeDelivered: r.AssigneeDelivered, AssigneeExpected: r.AssigneeExpected,
			SupervisorDelivered: r.SupervisorDelivered, SupervisorExpected: r.SupervisorExpected})
	// agents 0 and 2 share number 0: its messages reach the other one too
	require.Positive(t, r.PeerExpected)
	require.Equal(t, r.PeerExpected, r.PeerDelivered)
	require.True(t, r.Complete())
	require.Positive(t, r.AssigneeP99)
	require.Positive(t, r.SupervisorP99)
	require.Positive(t, r.StatementsPerMsg)
	require.Positive(t, r.Executions)
	require.Zero(t, r.ServerErrors)
}
