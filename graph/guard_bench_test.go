package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// BenchmarkFieldGuard measures what the field guard costs on the
// 50-conversation inbox page (about 27 fields a node, phones masked for the
// agent asking). Each iteration serves the page once through a server with
// the guard and once through one without it, on the same database, in
// alternating order, so both see the same machine; it reports the median of
// each and the guard's overhead in percent, and the guard's cost per field.
func BenchmarkFieldGuard(b *testing.B) {
	db := storetest.Open(b, dialect.SQLite)
	guarded := graphtest.New(b, db, graph.Config{}, graphtest.Quiet())
	guarded.Inbox(b, "bench", 100)
	token := guarded.Login(b, "agent@bench.test", graphtest.Password)
	bare := graphtest.New(b, db, graph.WithoutFieldGuard(graph.DefaultConfig), graphtest.Quiet())
	body, _ := json.Marshal(map[string]any{"query": graphtest.InboxQuery, "variables": map[string]any{"n": 50}})

	serve := func(s *graphtest.Server) (time.Duration, []byte) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		start := time.Now()
		s.Handler.ServeHTTP(rec, req)
		return time.Since(start), rec.Body.Bytes()
	}
	for _, s := range []*graphtest.Server{guarded, bare} { // warm both
		if _, out := serve(s); !bytes.Contains(out, []byte(`"totalCount":100`)) || bytes.Contains(out, []byte(`"errors"`)) {
			b.Fatalf("unexpected answer: %.300s", out)
		}
	}
	_, out := serve(guarded)
	fields := strings.Count(string(out), `":`) // every "key": is one resolved field

	var on, off []time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			d, _ := serve(guarded)
			on = append(on, d)
			d, _ = serve(bare)
			off = append(off, d)
		} else {
			d, _ := serve(bare)
			off = append(off, d)
			d, _ = serve(guarded)
			on = append(on, d)
		}
	}
	mOn, mOff := median(on), median(off)
	b.ReportMetric(float64(mOn.Microseconds()), "guarded-µs")
	b.ReportMetric(float64(mOff.Microseconds()), "bare-µs")
	b.ReportMetric(100*(float64(mOn)/float64(mOff)-1), "overhead-%")
	b.ReportMetric(float64(mOn-mOff)/float64(fields), "guard-ns/field")
	b.ReportMetric(float64(fields), "fields")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
