package graph

import "sync/atomic"

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
