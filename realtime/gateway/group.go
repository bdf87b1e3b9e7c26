package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
)

// group is one execution of a subscription shared by every subscriber asking
// the same question with the same permissions: each event is resolved and
// serialized once, and the bytes go to every member.
type group struct {
	g      *Gateway
	key    string
	cancel context.CancelFunc

	mu      sync.Mutex
	members map[*sub]*conn
	done    bool
	live    atomic.Bool
	// reached: the revocation the execution waits at, or last waited at
	// (AwaitRevocation); moved is closed and replaced when it changes.
	reached uint64
	moved   chan struct{}
}

// join adds s (of c) to the group for its question, starting the group if it
// is the first member. A subscription that may not share (isShared false)
// gets a group of its own.
func (g *Gateway) join(ctx context.Context, c *conn, s *sub, rc *graphql.OperationContext, isShared bool) {
	vars, _ := json.Marshal(rc.Variables) // maps marshal with sorted keys
	fp := g.cfg.Fingerprint(ctx)
	key := fp + "\x00" + rc.OperationName + "\x00" + rc.RawQuery + "\x00" + string(vars)
	if !isShared {
		key += fmt.Sprintf("\x00%p", s) // unique while s is a member
	}

	g.mu.Lock()
	grp := g.groups[key]
	if grp != nil {
		grp.mu.Lock()
		if grp.done {
			grp.mu.Unlock()
			grp = nil
		}
	}
	if grp == nil {
		gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		grp = &group{g: g, key: key, cancel: cancel, members: map[*sub]*conn{}, moved: make(chan struct{})}
		gctx = context.WithValue(gctx, groupKey{}, grp)
		grp.mu.Lock()
		g.groups[key] = grp
		go grp.run(gctx, c.exec, rc)
	}
	grp.members[s] = c
	// s belongs to grp before grp can fan anything out to it: deliver drops
	// what an execution sends to a subscription that is not (or no longer)
	// its member. The subscription may have been stopped, or its connection
	// closed, while it joined: then it leaves at once, or the group would
	// run on for a member nobody will remove.
	c.mu.Lock()
	current := !c.closed && c.subs[s.id] == s
	if current {
		s.group, s.fingerprint = grp, fp
	}
	c.mu.Unlock()
	grp.mu.Unlock()
	g.mu.Unlock()
	if !current {
		grp.leave(s)
	}
}

// run executes the subscription and fans each response out.
func (grp *group) run(ctx context.Context, exec graphql.GraphExecutor, rc *graphql.OperationContext) {
	defer grp.finish()
	responses, ctx := exec.DispatchOperation(graphql.WithOperationContext(ctx, rc), rc)
	// The resolver has run: its stream is open (Stats.Live).
	grp.live.Store(true)
	for {
		resp := responses(ctx)
		if resp == nil {
			return
		}
		payload, err := json.Marshal(resp)
		if err != nil {
			continue
		}
		// Enqueueing may close a too-slow connection, which leaves the group:
		// never under the group's lock.
		grp.mu.Lock()
		members := make([]member, 0, len(grp.members))
		for s, c := range grp.members {
			members = append(members, member{s, c})
		}
		grp.mu.Unlock()
		// Members with the same subscription id (often all of them) get the
		// very same bytes: frame once per distinct id.
		framed := make(map[string][]byte, 1)
		for _, m := range members {
			msg, ok := framed[string(m.s.prefix)]
			if !ok {
				msg = make([]byte, 0, len(m.s.prefix)+len(payload)+len(m.s.suffix))
				msg = append(append(append(msg, m.s.prefix...), payload...), m.s.suffix...)
				framed[string(m.s.prefix)] = msg
			}
			coalesce := ""
			if m.s.coalesce {
				coalesce = m.s.id
			}
			m.c.deliver(grp, m.s, msg, coalesce)
		}
	}
}

type member struct {
	s *sub
	c *conn
}

// finish ends the group when its stream ends: members still there are told
// the subscription completed.
func (grp *group) finish() {
	grp.g.mu.Lock()
	if grp.g.groups[grp.key] == grp {
		delete(grp.g.groups, grp.key)
	}
	grp.g.mu.Unlock()
	grp.mu.Lock()
	grp.done = true
	members := grp.members
	grp.members = nil
	grp.mu.Unlock()
	grp.cancel()
	for s, c := range members {
		if c.forgetMember(grp, s) {
			c.complete(s.id)
		}
	}
}

// leave removes a member; the last one out stops the execution.
func (grp *group) leave(s *sub) {
	grp.mu.Lock()
	delete(grp.members, s)
	empty := len(grp.members) == 0 && !grp.done
	grp.mu.Unlock()
	if empty {
		grp.g.mu.Lock()
		// A member may have joined between the unlock and here.
		grp.mu.Lock()
		if len(grp.members) == 0 && grp.g.groups[grp.key] == grp {
			delete(grp.g.groups, grp.key)
			grp.done = true
		}
		stop := grp.done
		grp.mu.Unlock()
		grp.g.mu.Unlock()
		if stop {
			grp.cancel()
		}
	}
}
