# Switchboard. Two commands matter: `make run` and `make test`.
GO ?= go
PKGS := ./...

.PHONY: run build test test-short generate migration bench fuzz vet fmt check

## run: build and start the server on SQLite in ./data with the demo tenant
run: build
	./bin/switchboard

## build: compile the server into ./bin/switchboard
build:
	$(GO) build -o bin/switchboard .

## test: the whole suite; Postgres tests run when TEST_DATABASE_URL is set. The browser test runs
## alone afterwards: with CI=true it enforces the console's 1 s webhook → page bound (browser_test.go)
test:
	@if [ -z "$$TEST_DATABASE_URL" ]; then echo "TEST_DATABASE_URL not set: Postgres tests are skipped (SQLite only)"; fi
	$(GO) test -count=1 -timeout 20m -skip '^TestBrowser$$' $(PKGS)
	$(GO) test -count=1 -timeout 10m -run '^TestBrowser$$' .

## generate: regenerate ent, entgql and gqlgen code (committed; CI fails on drift)
generate:
	$(GO) run -mod=mod ./ent/entc.go
	$(GO) tool gqlgen generate

## migration: write the next versioned migration for both dialects, NAME=what_changed
## (needs Postgres: TEST_DATABASE_URL or DATABASE_URL)
migration:
	@test -n "$(NAME)" || (echo "usage: make migration NAME=add_something" && exit 2)
	$(GO) run ./store/migrategen -name $(NAME)

## bench: the benchmarks recorded in BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s -count 1 ./bench/... ./graph/... ./policy/...

## fuzz: run each fuzz target for FUZZTIME (default 60s); `make test` replays their seeds only
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./whatsapp/
	$(GO) test -run '^$$' -fuzz '^FuzzRequestBody$$' -fuzztime $(FUZZTIME) ./graph/
	$(GO) test -run '^$$' -fuzz '^FuzzAnonymousDocument$$' -fuzztime $(FUZZTIME) ./graph/

## bench-realtime: websocket fan-out, gateway vs gqlgen's stock transport vs a raw broadcast,
## at 1,000 and 10,000 subscribers (bench/realtime; BENCH_REALTIME_FLAGS, e.g. -profile prof/)
.PHONY: bench-realtime
bench-realtime:
	GO=$(GO) $(GO) run ./bench/realtime/driver $(BENCH_REALTIME_FLAGS)

## bench-mixed: a contact centre's realtime cost (issue 16): 10, 100 and 1,000 agents with the agent role and
## 10 supervisors on websockets, signed webhooks at 20/s into a server process (bench/mixed; BENCH_MIXED_FLAGS,
## e.g. -agents 10,500 -rate 5 -messages 600)
.PHONY: bench-mixed
bench-mixed:
	$(GO) run ./bench/mixed/driver $(BENCH_MIXED_FLAGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -l -w $$(git ls-files '*.go')

