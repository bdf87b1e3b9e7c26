package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// Low: NUL bytes and bidirectional overrides are refused in any input,
// literal or variable, and media links must be https.
func TestHostileTextRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		create := `mutation($n: String!) { createContact(input: {waID: "33600000077", profileName: $n}) { id } }`
		for name, c := range map[string]struct {
			q    string
			vars map[string]any
		}{
			"NUL in a variable":          {create, map[string]any{"n": "Eve\x00Admin"}},
			"bidi override in a var":     {create, map[string]any{"n": "Invoice \u202egnp.exe"}},
			"bidi isolate in a list":     {`mutation($t: [String!]) { tagContact(id: "` + w.contact + `", add: $t) { id } }`, map[string]any{"t": []any{"ok", "x\u2066y"}}},
			"escaped NUL in the literal": {`mutation { createContact(input: {waID: "33600000078", profileName: "a\u0000b"}) { id } }`, nil},
			"escaped bidi in a literal":  {`mutation { tagContact(id: "` + w.contact + `", add: ["\u202Eevil"]) { id } }`, nil},
		} {
			t.Run(name, func(t *testing.T) {
				r := s.Do(t, w.token, c.q, c.vars)
				require.NotEmpty(t, r.Errors, "%s", r.Body)
				require.Equal(t, "INVALID_INPUT", r.Errors[0].Code(), "%s", r.Body)
			})
		}
		send := `mutation($c: ID!, $l: String!) { sendMessage(input: {conversationID: $c, media: {kind: IMAGE, link: $l}}) { id } }`
		for _, link := range []string{"javascript:alert(1)", "file:///etc/passwd", "http://example.com/p.jpg", "https://user:pw@example.com/p.jpg", "//example.com/p.jpg"} {
			t.Run(link, func(t *testing.T) {
				r := s.Do(t, w.token, send, map[string]any{"c": w.conversation, "l": link})
				r.RequireCode(t, "INVALID_INPUT")
				require.Equal(t, "media.link", r.Errors[0].Extensions["field"])
			})
		}
		s.Do(t, w.token, send, map[string]any{"c": w.conversation, "l": "https://example.com/p.jpg"}).RequireOK(t)
		s.Do(t, w.token, create, map[string]any{"n": "Zoë \u200d👩‍💻"}).RequireOK(t)
	})
}
