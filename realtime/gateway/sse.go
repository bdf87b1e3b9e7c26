package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
)

// SSE returns the event-stream transport (GraphQL over server-sent events:
// a POST with `Accept: text/event-stream`, one operation per request, the
// graphql-sse protocol's distinct connections mode). Its subscriptions are
// connections of this gateway like websockets: admitted with the same
// credential, under the same caps, closed by the same revocations,
// re-admitted after a policy change and counted for presence. Add it before
// the POST transport, which accepts the same requests.
//
// A stream the server ends says why in a last `next` event whose error
// carries the websocket close code (extensions.closeCode: 4403 revoked or
// expired, 1001 draining, 1013 too slow), then `complete`.
func (g *Gateway) SSE() graphql.Transport { return sseTransport{g} }

type sseTransport struct{ g *Gateway }

var _ graphql.Transport = sseTransport{}

func (sseTransport) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "application/json"
}

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	start := graphql.Now()
	var params graphql.RawParams
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errors":[{"message":"the body must be a JSON object with a query"}]}`))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	ctx := r.Context()
	rc, errs := exec.CreateOperationContext(ctx, &params)
	if errs != nil || rc.Operation.Operation != ast.Subscription {
		// One answer: nothing stays open for a revocation to close.
		var resp *graphql.Response
		if errs != nil {
			resp = exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		} else {
			responses, dctx := exec.DispatchOperation(graphql.WithOperationContext(ctx, rc), rc)
			resp = responses(dctx)
		}
		b, err := json.Marshal(resp)
		if err != nil {
			b = []byte(`{"errors":[{"message":"internal error"}]}`)
		}
		_, _ = w.Write(sseDialect.frame("next", "", b))
		_, _ = w.Write(sseDialect.frame("complete", "", nil))
		flusher.Flush()
		return
	}
	t.g.stream(w, flusher, r, exec, &params)
}

// stream serves one subscription as a connection of the gateway, until the
// subscription ends, the client leaves or the gateway closes it.
func (g *Gateway) stream(w http.ResponseWriter, f http.Flusher, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams) {
	_, _ = w.Write([]byte(":\n\n"))
	f.Flush()
	// Like a websocket's, the connection's context is not the request's: its
	// values stay out, and re-admission derives from it.
	base, cancel := context.WithCancel(context.Background())
	out := &sseWire{w: w, f: f, rc: http.NewResponseController(w), timeout: g.cfg.WriteTimeout, done: make(chan struct{})}
	c := &conn{g: g, wire: out, d: sseDialect, exec: exec, base: base, cancel: cancel, subs: map[string]*sub{}, single: true}
	if c.admit(g.cfg.Credential(r.Header.Get("Authorization"), nil)) {
		s := &sub{prefix: sseDialect.nextPrefix(""), suffix: sseDialect.nextSuffix(), params: params}
		c.mu.Lock()
		c.subs[s.id] = s
		ctx := c.ctx
		c.mu.Unlock()
		c.start(ctx, s)
	}
	select {
	case <-out.done:
	case <-r.Context().Done(): // the client went away
		c.close(closeNormal, "")
		<-out.done
	}
}

var errStreamEnded = errors.New("event stream ended")

// sseWire writes an event stream. The handler of its request waits for done,
// so that nothing touches the ResponseWriter once it returns.
type sseWire struct {
	w       http.ResponseWriter
	f       http.Flusher
	rc      *http.ResponseController
	timeout time.Duration

	mu        sync.Mutex
	ended     bool
	broken    bool // a write failed or was aborted: write nothing more
	completed bool
	done      chan struct{}
}

func (s *sseWire) write(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.broken {
		return errStreamEnded
	}
	return s.writeLocked(data)
}

func (s *sseWire) writeLocked(data []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) // not every writer supports it; the watchdog then cannot unblock
	if _, err := s.w.Write(data); err != nil {
		s.broken = true
		return err
	}
	s.f.Flush()
	if bytes.HasPrefix(data, []byte("event: complete")) {
		s.completed = true
	}
	return nil
}

// end says why the server ends the stream, unless it ends normally, and
// completes it.
func (s *sseWire) end(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	if !s.broken && !s.completed {
		if code != closeNormal {
			_ = s.writeLocked(sseDialect.errors("", closeErrors(code, reason)))
		}
		if !s.broken {
			_ = s.writeLocked(sseDialect.frame("complete", "", nil))
		}
	}
	_ = s.rc.SetWriteDeadline(time.Time{}) // the connection may serve further requests
	s.ended = true
	close(s.done)
}

// abort fails a write in progress (the watchdog: a stalled client).
func (s *sseWire) abort() {
	_ = s.rc.SetWriteDeadline(time.Now())
}

// closeErrors is the error list that tells an event stream's client why the
// server ended it, with the close code a websocket would have received.
func closeErrors(code websocket.StatusCode, reason string) []byte {
	ext := map[string]any{"closeCode": int(code)}
	switch code {
	case CloseForbidden:
		ext["code"] = "FORBIDDEN"
	case CloseInternal:
		ext["code"] = "INTERNAL"
	}
	b, _ := json.Marshal([]map[string]any{{"message": reason, "extensions": ext}})
	return b
}
