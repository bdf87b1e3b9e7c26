package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"

	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
)

// printTable writes every run, then the median of the rounds per mode and
// count, then the gateway against the bars at each count: p99 within 1.3x of
// the raw floor and at least 3x better than stock, memory per idle
// connection within 15% of the floor, one goroutine per idle connection.
func printTable(w io.Writer, cfg config, results []wire.Result) {
	fmt.Fprintf(w, "\n%d CPUs; %d events at %g/s per run; load average (1, 5, 15 min) when each run ended\n\n",
		runtime.NumCPU(), cfg.events, cfg.rate)
	fmt.Fprintln(w, "Every run:")
	header(w, "load")
	for _, r := range results {
		row(w, r, r.ServerLoad)
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(w, "note: %s at %d: %s\n", r.Mode, r.N, r.Error)
		}
	}

	medians := map[int]map[string]wire.Result{}
	fmt.Fprintf(w, "\nMedian of %d round(s):\n", cfg.rounds)
	header(w, "runs")
	for _, n := range cfg.counts {
		medians[n] = map[string]wire.Result{}
		for _, mode := range cfg.modes {
			var runs []wire.Result
			for _, r := range results {
				if r.N == n && r.Mode == mode && r.Error == "" {
					runs = append(runs, r)
				}
			}
			if len(runs) == 0 {
				continue
			}
			m := median(runs)
			medians[n][mode] = m
			row(w, m, fmt.Sprint(len(runs)))
		}
	}
	fmt.Fprintln(w)
	for _, n := range cfg.counts {
		bars(w, n, medians[n])
	}
}

func header(w io.Writer, last string) {
	fmt.Fprintf(w, "| mode | subscribers | delivered/expected | p50 | p99 | max | KiB per idle conn (heap+stack) | goroutines per conn | server CPU per event | client CPU per event | msg bytes | %s |\n", last)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
}

func row(w io.Writer, r wire.Result, last string) {
	if r.Expected == 0 {
		fmt.Fprintf(w, "| %s | %d | failed | | | | | | | | | %s |\n", r.Mode, r.N, last)
		return
	}
	fmt.Fprintf(w, "| %s | %d | %d/%d | %.1f ms | %.1f ms | %.1f ms | %.1f (%.1f+%.1f) | %.2f | %.0f ms | %.0f ms | %.0f | %s |\n",
		r.Mode, r.N, r.Delivered, r.Expected, r.P50ms, r.P99ms, r.MaxMs, r.KiBPerConn, r.HeapKiBPer, r.StackKiBPer,
		r.GoroutinesP, r.ServerCPUms, r.ClientCPUms, r.MsgBytes, last)
}

// median takes each figure's median over the runs (the upper one of an even
// count), figure by figure.
func median(runs []wire.Result) wire.Result {
	m := runs[0]
	pick := func(f func(wire.Result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m.Delivered = int64(pick(func(r wire.Result) float64 { return float64(r.Delivered) }))
	m.P50ms = pick(func(r wire.Result) float64 { return r.P50ms })
	m.P99ms = pick(func(r wire.Result) float64 { return r.P99ms })
	m.MaxMs = pick(func(r wire.Result) float64 { return r.MaxMs })
	m.KiBPerConn = pick(func(r wire.Result) float64 { return r.KiBPerConn })
	m.HeapKiBPer = pick(func(r wire.Result) float64 { return r.HeapKiBPer })
	m.StackKiBPer = pick(func(r wire.Result) float64 { return r.StackKiBPer })
	m.GoroutinesP = pick(func(r wire.Result) float64 { return r.GoroutinesP })
	m.ServerCPUms = pick(func(r wire.Result) float64 { return r.ServerCPUms })
	m.ClientCPUms = pick(func(r wire.Result) float64 { return r.ClientCPUms })
	m.MsgBytes = pick(func(r wire.Result) float64 { return r.MsgBytes })
	return m
}

func bars(w io.Writer, n int, m map[string]wire.Result) {
	gw, ok := m[wire.ModeGateway]
	if !ok {
		return
	}
	fmt.Fprintf(w, "gateway at %d: %.2f goroutines per conn [%s]", n, gw.GoroutinesP, pass(gw.GoroutinesP < 1.05))
	if raw, ok := m[wire.ModeRaw]; ok && raw.P99ms > 0 && raw.KiBPerConn > 0 {
		fmt.Fprintf(w, "; p99 %.2fx raw [%s]; memory %.2fx raw [%s]",
			gw.P99ms/raw.P99ms, pass(gw.P99ms <= 1.3*raw.P99ms), gw.KiBPerConn/raw.KiBPerConn, pass(gw.KiBPerConn <= 1.15*raw.KiBPerConn))
	}
	if stock, ok := m[wire.ModeStock]; ok && gw.P99ms > 0 {
		fmt.Fprintf(w, "; stock p99 %.1fx gateway's [%s]", stock.P99ms/gw.P99ms, pass(stock.P99ms >= 3*gw.P99ms))
	}
	fmt.Fprintln(w)
}

func pass(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
