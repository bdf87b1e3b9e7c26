package gateway

import (
	"context"
	"sync"
	"time"
)

// A revocation (sign-out, a disabled agent, a revoked key, a policy change)
// travels on the bus like the events after it, but it is applied by another
// reader (graph.FollowPolicy) than the executions that deliver those events.
// Without an order between the two, an execution could push the event
// published right after a revocation to the connection it revokes. So an
// execution that meets a revocation in its stream waits, before going on,
// until the gateway has applied it: the revoked connections have left their
// executions, or restarted them with their new permissions.

// awaitLimit bounds the wait for a revocation that this instance's follower
// missed (its bus subscription resynced): the stream goes on after it.
const awaitLimit = 2 * time.Second

type applied struct {
	mu      sync.Mutex
	upTo    map[string]uint64 // per tenant: every revocation up to this Seq is applied
	gen     uint64            // bumped by AppliedAll
	changed chan struct{}     // closed and replaced at every change
}

// Applied tells the gateway that every revocation of tenantID up to seq has
// taken effect on this instance.
func (g *Gateway) Applied(tenantID string, seq uint64) {
	a := &g.applied
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq <= a.upTo[tenantID] {
		return
	}
	a.upTo[tenantID] = seq
	close(a.changed)
	a.changed = make(chan struct{})
}

// AppliedAll releases every execution waiting for a revocation: the follower
// re-admitted every connection after missing announcements.
func (g *Gateway) AppliedAll() {
	a := &g.applied
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	close(a.changed)
	a.changed = make(chan struct{})
}

type gatewayKey struct{}

// AwaitRevocation returns once the revocation with tenantID's seq has been
// applied by the gateway that runs ctx's subscription, ctx ends, or a short
// limit passes. Outside a gateway's subscription it returns at once.
func AwaitRevocation(ctx context.Context, tenantID string, seq uint64) {
	g, _ := ctx.Value(gatewayKey{}).(*Gateway)
	if g == nil {
		return
	}
	if grp, _ := ctx.Value(groupKey{}).(*group); grp != nil {
		grp.reach(seq)
	}
	a := &g.applied
	limit := time.NewTimer(awaitLimit)
	defer limit.Stop()
	a.mu.Lock()
	gen := a.gen
	for a.upTo[tenantID] < seq && a.gen == gen {
		changed := a.changed
		a.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-limit.C:
			return
		}
		a.mu.Lock()
	}
	a.mu.Unlock()
}

type groupKey struct{}

type resumeKey struct{}

// ResumeFrom returns the Seq after which a subscription restarted by a
// re-admission resumes: its old execution delivered every event up to it,
// and the new one replays what follows (false: start live, as new).
func ResumeFrom(ctx context.Context) (uint64, bool) {
	seq, ok := ctx.Value(resumeKey{}).(uint64)
	return seq, ok
}

// reach records that the execution has delivered every event before seq and
// waits at seq's revocation.
func (grp *group) reach(seq uint64) {
	grp.mu.Lock()
	defer grp.mu.Unlock()
	if seq > grp.reached {
		grp.reached = seq
		close(grp.moved)
		grp.moved = make(chan struct{})
	}
}

// waitReach waits until the execution has reached the revocation seq (or
// ended, or a short limit passed): then it has delivered everything before.
func (grp *group) waitReach(seq uint64) {
	limit := time.NewTimer(awaitLimit)
	defer limit.Stop()
	for {
		grp.mu.Lock()
		reached, done, moved := grp.reached >= seq, grp.done, grp.moved
		grp.mu.Unlock()
		if reached || done {
			return
		}
		select {
		case <-moved:
		case <-limit.C:
			return
		}
	}
}
