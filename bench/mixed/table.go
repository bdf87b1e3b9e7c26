package mixed

import (
	"fmt"
	"io"
)

// PrintTable writes the runs as a Markdown table, each row's CPU per message
// against the first complete row's and the cores the server kept busy over
// the window (about 2 on this machine: saturated), then the largest run against the
// issue's bars: CPU per message at most 2× the first row's, assignee p99
// under 250 ms, everything delivered.
func PrintTable(w io.Writer, cfg Config, results []Result) {
	fmt.Fprintf(w, "\n%d measured messages per run at %g/s, %d numbers, %d conversations per agent; load average (1, 5, 15 min) at the end of each window\n\n",
		cfg.Messages, cfg.Rate, cfg.Numbers, cfg.PerAgent)
	fmt.Fprintln(w, "| agents | supervisors | executions | server CPU per message | × first row | server cores busy | SQL statements per message | webhook → assignee p50 / p99 | delivered to assignees | webhook → supervisor p50 / p99 | delivered to supervisors | delivered to the number's other agents | ERROR lines | load |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	var base *Result
	for i, r := range results {
		if r.Posted == 0 {
			fmt.Fprintf(w, "| %d | %d | failed: %s ||||||||||||\n", r.Agents, r.Supervisors, r.Error)
			continue
		}
		if base == nil && r.Complete() {
			base = &results[i]
		}
		ratio := "–"
		if base != nil && base.ServerCPUms > 0 {
			ratio = fmt.Sprintf("%.2f×", r.ServerCPUms/base.ServerCPUms)
		}
		fmt.Fprintf(w, "| %d | %d | %d | %.1f ms | %s | %.2f | %.1f | %.1f / %.1f ms | %s | %.1f / %.1f ms | %s | %s | %d | %s |\n",
			r.Agents, r.Supervisors, r.Executions, r.ServerCPUms, ratio, r.ServerCores, r.StatementsPerMsg,
			r.AssigneeP50, r.AssigneeP99, share(r.AssigneeDelivered, r.AssigneeExpected),
			r.SupervisorP50, r.SupervisorP99, share(r.SupervisorDelivered, r.SupervisorExpected),
			share(r.PeerDelivered, r.PeerExpected), r.ServerErrors, r.Load)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		if r.Problems > 0 || r.PostFailed > 0 || r.Error != "" {
			fmt.Fprintf(w, "note: %d agents: %d posts failed, %d problems (the last: %.300s) %s\n",
				r.Agents, r.PostFailed, r.Problems, r.LastProblem, r.Error)
		}
		if r.Posted > 0 && !r.Complete() {
			fmt.Fprintf(w, "note: %d agents: not everything arrived within the run, so its CPU per message is a lower bound (the server was still working when the window closed)\n", r.Agents)
		}
	}
	if base == nil || len(results) < 2 {
		return
	}
	last := results[len(results)-1]
	fmt.Fprintf(w, "at %d agents: CPU per message %.2f× the %d-agent row's [%s]; assignee p99 %.1f ms [%s]; everything delivered [%s]\n",
		last.Agents, last.ServerCPUms/base.ServerCPUms, base.Agents, pass(last.ServerCPUms <= 2*base.ServerCPUms),
		last.AssigneeP99, pass(last.AssigneeP99 < 250 && last.AssigneeDelivered > 0), pass(last.Complete()))
}

// share is "all (n)" or "p % (got/want)".
func share(got, want int) string {
	switch {
	case want == 0:
		return "–"
	case got == want:
		return fmt.Sprintf("all (%d)", want)
	}
	return fmt.Sprintf("%.1f %% (%d/%d)", 100*float64(got)/float64(want), got, want)
}

func pass(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
