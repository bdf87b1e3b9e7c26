package graph

import (
	"context"
	"sync"

	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// dashboards shares the dashboard's computation between the subscribers
// who see the same figures: one computation per tick for all of them (one
// bus subscription, one set of count queries), not one per subscriber.
// Subscribers see the same figures when their keys are equal
// (dashboardKey: the tenant, the decisions of their role set, their row
// scope, and themselves when their reports are their own). Each subscriber
// gets its own copy of every value (dashboardCopy): field resolvers run per
// execution and may fill an entity's edges.
type dashboards struct {
	mu   sync.Mutex
	hubs map[string]*dashboardHub
}

// dashboardHub is one computation loop (ticker) and its subscribers.
type dashboardHub struct {
	ready  chan struct{} // closed once the first value (or err) is there
	err    error
	cancel context.CancelFunc
	last   *model.Dashboard
	subs   map[chan *model.Dashboard]struct{}
}

func newDashboards() *dashboards { return &dashboards{hubs: map[string]*dashboardHub{}} }

// dashboardKey names the figures ctx's viewer sees (see dashboards).
func dashboardKey(ctx context.Context) string {
	key := fingerprint(ctx)
	if v := viewer.FromContext(ctx); v != nil && !policy.Can(ctx, policy.ReportViewAll) && policy.Can(ctx, policy.ReportViewOwn) {
		key += "|own:" + v.AgentID // figuresOfToday: their own first responses and volumes
	}
	return key
}

// subscribe returns ctx's viewer's dashboard: the current value at once,
// then every new one, until ctx ends. start starts the computation loop
// (ticker) for a context; the shared loop runs with the context of the
// subscriber who started it, detached from that subscriber's end (every
// subscriber of a key would compute the same).
func (ds *dashboards) subscribe(ctx context.Context,
	start func(ctx context.Context) (<-chan *model.Dashboard, error)) (<-chan *model.Dashboard, error) {
	key := dashboardKey(ctx)
	out := make(chan *model.Dashboard, 1)
	ds.mu.Lock()
	hub, found := ds.hubs[key]
	if !found {
		hub = &dashboardHub{ready: make(chan struct{}), subs: map[chan *model.Dashboard]struct{}{}}
		ds.hubs[key] = hub
	}
	hub.subs[out] = struct{}{}
	ds.mu.Unlock()

	if !found {
		ds.run(ctx, key, hub, start)
	}
	select {
	case <-hub.ready:
	case <-ctx.Done():
		ds.leave(key, hub, out)
		return nil, ctx.Err()
	}
	if hub.err != nil {
		ds.leave(key, hub, out)
		return nil, hub.err
	}
	ds.mu.Lock()
	if _, live := hub.subs[out]; live && len(out) == 0 && hub.last != nil { // not live: the loop ended, out is closed
		out <- dashboardCopy(hub.last)
	}
	ds.mu.Unlock()
	go func() {
		<-ctx.Done()
		ds.leave(key, hub, out)
	}()
	return out, nil
}

// run starts hub's loop and fans its values out; hub.ready closes when its
// first value (or the error that ends it) is there.
func (ds *dashboards) run(ctx context.Context, key string, hub *dashboardHub,
	start func(ctx context.Context) (<-chan *model.Dashboard, error)) {
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	hub.cancel = cancel
	values, err := start(loopCtx)
	if err != nil {
		ds.mu.Lock()
		hub.err = err
		if ds.hubs[key] == hub {
			delete(ds.hubs, key) // the next subscriber tries again
		}
		ds.mu.Unlock()
		cancel()
		close(hub.ready)
		return
	}
	first := <-values
	ds.mu.Lock()
	hub.last = first
	ds.mu.Unlock()
	close(hub.ready)
	go func() {
		for d := range values {
			ds.mu.Lock()
			hub.last = d
			for sub := range hub.subs {
				select { // the latest value wins: a slow subscriber skips those it missed
				case <-sub:
				default:
				}
				sub <- dashboardCopy(d)
			}
			ds.mu.Unlock()
		}
		// the loop ended (its bus subscription closed): so do its subscriptions
		ds.mu.Lock()
		defer ds.mu.Unlock()
		if ds.hubs[key] == hub {
			delete(ds.hubs, key)
		}
		for sub := range hub.subs {
			delete(hub.subs, sub)
			close(sub)
		}
		cancel()
	}()
}

// leave removes out from hub, and stops hub's loop when nobody is left.
func (ds *dashboards) leave(key string, hub *dashboardHub, out chan *model.Dashboard) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if _, ok := hub.subs[out]; !ok {
		return
	}
	delete(hub.subs, out)
	close(out)
	if len(hub.subs) == 0 {
		if ds.hubs[key] == hub {
			delete(ds.hubs, key)
		}
		if hub.cancel != nil {
			hub.cancel()
		}
	}
}

// dashboardCopy is d with its own copies of the entities it holds.
func dashboardCopy(d *model.Dashboard) *model.Dashboard {
	c := *d
	c.AgentLoad = make([]*model.AgentLoad, len(d.AgentLoad))
	for i, l := range d.AgentLoad {
		lc := *l
		if l.Agent != nil {
			a := *l.Agent
			lc.Agent = &a
		}
		c.AgentLoad[i] = &lc
	}
	c.VolumesToday = make([]*model.NumberVolume, len(d.VolumesToday))
	for i, v := range d.VolumesToday {
		vc := *v
		if v.Number != nil {
			n := *v.Number
			vc.Number = &n
		}
		c.VolumesToday[i] = &vc
	}
	return &c
}
