package automation

import (
	"context"
	"log/slog"
	"sync"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/realtime"
)

// ruleSet is a tenant's enabled rules by trigger, in position order.
type ruleSet map[automationrule.Trigger][]*ent.AutomationRule

// ruleCache keeps each tenant's ruleSet in memory, so a message costs no
// statement for a tenant without rules and no decoding of 200 rules for one
// with them. A rule change drops the tenant's entry when it commits, on
// this instance at once and on the others through the bus (Follow).
//
// A generation per tenant, raised by every drop, keeps a read that raced a
// change from storing what it read before the change: put stores only if
// the generation is still the one seen before reading.
type ruleCache struct {
	mu    sync.Mutex
	rules map[string]ruleSet
	gen   map[string]uint64
}

func newRuleCache() *ruleCache {
	return &ruleCache{rules: map[string]ruleSet{}, gen: map[string]uint64{}}
}

// get returns the tenant's rules if kept, else the generation to put with.
func (c *ruleCache) get(tenantID string) (ruleSet, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, ok := c.rules[tenantID]
	return rs, c.gen[tenantID], ok
}

func (c *ruleCache) put(tenantID string, gen uint64, rs ruleSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[tenantID] == gen {
		c.rules[tenantID] = rs
	}
}

func (c *ruleCache) drop(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rules, tenantID)
	c.gen[tenantID]++
}

func (c *ruleCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.rules {
		c.gen[t]++
	}
	clear(c.rules)
}

// rulesOf returns the tenant's enabled rules, read through tx when not
// kept.
func (s *Service) rulesOf(ctx context.Context, tx *ent.Tx, tenantID string) (ruleSet, error) {
	rs, gen, ok := s.cache.get(tenantID)
	if ok {
		return rs, nil
	}
	all, err := tx.AutomationRule.Query().Where(automationrule.Enabled(true)).
		Order(ent.Asc(automationrule.FieldPosition), ent.Asc(automationrule.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	rs = ruleSet{}
	for _, r := range all {
		rs[r.Trigger] = append(rs[r.Trigger], r)
	}
	s.cache.put(tenantID, gen, rs)
	return rs, nil
}

// changed drops the tenant's rules on every instance once tx commits.
func (s *Service) changed(tx *ent.Tx, tenantID string) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				s.cache.drop(tenantID)
			}
			return err
		})
	})
	s.pub.OnCommit(tx, realtime.AutomationRulesChangedEvent(tenantID))
}

// Follow drops the rules kept for a tenant when another instance changes
// them (their announcements come over the bus), and every tenant's when
// announcements may have been missed. It returns once subscribed; the work
// goes on until ctx ends.
func (s *Service) Follow(ctx context.Context, bus realtime.Bus, log *slog.Logger) error {
	sub, err := bus.Subscribe(ctx, "")
	if err != nil {
		return err
	}
	go func() {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				if e.Type == realtime.AutomationRulesChanged {
					s.cache.drop(e.TenantID)
				}
			case <-sub.Resync():
				log.Warn("automation: rule announcements missed; dropping every tenant's rules")
				s.cache.dropAll()
			}
		}
	}()
	return nil
}
