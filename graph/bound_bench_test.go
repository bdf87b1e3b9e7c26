package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// cpuTime is the CPU the process has used: on a loaded machine it tells the
// cost of a request better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWorstDocuments serves the costliest documents known through the
// whole handler: the worst ones (refused before validation) anonymously and
// signed in, and the worst a signed-in caller may still send (validated:
// each iteration changes a comment so the query cache never answers). The
// peer, measured in the same run, is { __typename }. Every case must stay far
// under 100 ms of CPU (cpu-ms/op, which a loaded machine does not inflate
// as it does ns/op) and a few MB per request.
func BenchmarkWorstDocuments(b *testing.B) {
	s := graphtest.New(b, storetest.Open(b, dialect.SQLite), graph.Config{}, graphtest.Quiet())
	_, token := s.Tenant(b, "worst")
	serve := func(b *testing.B, token, query string) {
		body, err := json.Marshal(map[string]any{"query": query})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			b.Fatalf("status %d: %.300s", rec.Code, rec.Body)
		}
	}
	run := func(name, token string, query func(i int) string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			before := cpuTime()
			n := 0
			for i := 0; b.Loop(); i++ {
				serve(b, token, query(i))
				n++
			}
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(n), "cpu-ms/op")
		})
	}
	run("peer/__typename", "", func(int) string { return "{ __typename }" })
	for _, d := range graph.WorstDocuments() {
		run("anonymous/"+d.Name, "", func(int) string { return d.Query })
		run("signed-in/"+d.Name, token, func(int) string { return d.Query })
	}
	for _, d := range graph.EdgeDocuments() {
		run("signed-in-validated/"+d.Name, token, func(i int) string { return fmt.Sprintf("# %d\n%s", i, d.Query) })
	}
}
