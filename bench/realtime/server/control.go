package main

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
)

var published atomic.Int64

// publishHandler publishes n events at rate per second, the first at once,
// and answers when the last is out.
func publishHandler(t backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 1 {
			http.Error(w, "n must be a positive integer", http.StatusBadRequest)
			return
		}
		rate, err := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
		if err != nil || rate <= 0 {
			http.Error(w, "rate must be a positive number of events per second", http.StatusBadRequest)
			return
		}
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		start := time.Now()
		for i := range n {
			if i > 0 {
				select {
				case <-tick.C:
				case <-r.Context().Done():
					return
				}
			}
			if err := t.publish(r.Context()); err != nil {
				http.Error(w, "publish: "+err.Error(), http.StatusInternalServerError)
				return
			}
			published.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"published": n, "seconds": time.Since(start).Seconds()})
	}
}

// statsHandler reports the process's goroutines and memory. With gc=1 it
// collects twice first, so that garbage is gone and stacks grown during the
// handshake have had a chance to shrink, as they would in a server that has
// been up for a while.
func statsHandler(t backend) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
			runtime.GC()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		s := wire.Stats{Goroutines: runtime.NumGoroutine(), HeapInuse: m.HeapInuse, StackInuse: m.StackInuse,
			Sys: m.Sys, CPUSeconds: wire.CPUSeconds(), Published: published.Load()}
		t.stats(&s)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}
}
