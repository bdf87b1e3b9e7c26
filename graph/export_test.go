package graph

// WithoutFieldGuard returns cfg with the field guard left out, for
// BenchmarkFieldGuard to measure what the guard costs.
func WithoutFieldGuard(cfg Config) Config {
	cfg.noFieldGuard = true
	return cfg
}
