// Package routing gives conversations to agents: assignment policies per
// number (sticky, round-robin, least-loaded, capacity-aware and online-only
// by default, in a fallback chain), the queue of conversations nobody online
// can take yet, business hours and shifts (a conversation that arrives after
// hours is reserved for the agent whose shift opens next and handed to them
// at its opening: shift.go), and scheduled redistribution.
//
// Nothing here is an in-memory list: every decision is a conditional update
// in the database, so any number of instances route the same tenant at once
// without assigning a conversation twice or an agent over capacity.
//
//   - The conversation row is locked first (Postgres FOR UPDATE; SQLite's
//     immediate transactions serialise writers) and must still be unassigned.
//   - The agent is claimed with UPDATE agents SET open_count = open_count+1
//     WHERE id = ? AND open_count < max_concurrent AND presence = 'ONLINE' …:
//     zero rows means someone else took the last place, and the next
//     candidate is tried.
//
// agents.open_count (the load) is kept by a hook on every conversation write
// (ent/schema/load.go), so choosing among 1,000 agents is one indexed read
// however many conversations are open.
//
// An arrival costs 4 statements on SQLite (the locked read, the claim, the
// assignment, its history) and 2 on Postgres, where the last three are one
// data-modifying WITH (claimAndGive). That statement writes the
// conversation and the history without ent's hooks, which have nothing to
// add to it (see claimAndGive); a change to what give writes, or a new hook
// on conversations or assignments, must be made there too. TestRouteCost
// checks the rows on both databases.
package routing
