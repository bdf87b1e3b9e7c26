package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// M3: createContact answers a WhatsApp id that is already a customer
// outside the caller's scope exactly as it answers a new one, and changes
// nothing of that customer; a duplicate the caller can see is CONFLICT.
func TestCreateContactRevealsNoHiddenCustomer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		// A customer with no conversation the agent sees.
		s.Do(t, w.token, `mutation { createContact(input: {waID: "33699000001", profileName: "Hidden VIP", tags: ["secret"]}) { id } }`, nil).RequireOK(t)
		agent := agentToken(t, s)

		create := `mutation($wa: String!) { createContact(input: {waID: $wa, profileName: "Probe"}) { profileName tags conversations { totalCount } } }`
		read := `query($id: ID!) { node(id: $id) { id } }`
		answers := map[string]string{}
		for _, wa := range []string{"33699000001", "33699000002"} { // taken out of scope, free
			r := s.Do(t, agent, create, map[string]any{"wa": wa})
			r.RequireOK(t)
			answers[wa] = string(r.Data)
			r = s.Do(t, agent, `mutation($wa: String!) { createContact(input: {waID: $wa}) { id } }`, map[string]any{"wa": wa + "9"})
			r.RequireOK(t)
		}
		require.Equal(t, answers["33699000002"], answers["33699000001"])
		require.NotContains(t, answers["33699000001"], "Hidden VIP")

		// The hidden customer is unchanged; the agent cannot read either.
		r := s.Do(t, w.token, `{ contacts(where: {waID: "33699000001"}) { edges { node { id profileName tags } } } }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), "Hidden VIP")
		var out struct {
			Contacts struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		r.Decode(t, &out)
		s.Do(t, agent, read, map[string]any{"id": out.Contacts.Edges[0].Node.ID}).RequireCode(t, "NOT_FOUND")

		// A customer the agent sees (their conversation's) is a plain conflict.
		s.Do(t, agent, create, map[string]any{"wa": w.contactWaID}).RequireCode(t, "CONFLICT")
	})
}
