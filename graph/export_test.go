package graph

import (
	"maps"
	"sync/atomic"
)

// WithoutFieldGuard returns cfg with the field guard left out, for
// BenchmarkFieldGuard to measure what the guard costs.
func WithoutFieldGuard(cfg Config) Config {
	cfg.noFieldGuard = true
	return cfg
}

// CountingValidations returns cfg with every document validation counted in n.
func CountingValidations(cfg Config, n *atomic.Int64) Config {
	cfg.validations = n
	return cfg
}

// DeclaringAudit returns cfg with mutation declared to record action, for
// the test that shows a mutation without its declared record fails.
func DeclaringAudit(cfg Config, mutation, action string) Config {
	declared := maps.Clone(mutations)
	rule := declared[mutation]
	rule.audit, rule.noAudit = action, ""
	declared[mutation] = rule
	cfg.declared = &declared
	return cfg
}
