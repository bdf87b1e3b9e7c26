// Package bench holds the benchmarks whose figures are recorded in
// BENCHMARKS.md. Run them with `make bench` (Postgres cases need
// TEST_DATABASE_URL). Each reports throughput and latency percentiles as
// custom metrics next to Go's ns/op.
package bench
