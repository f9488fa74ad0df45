# Tessera — run `make help` for the targets.
GO ?= go
BIN ?= bin/tessera
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the server with embedded defaults (SQLite in ./tessera-data)
	$(GO) run ./cmd/tessera serve

.PHONY: build
build: ## Build a static binary into bin/tessera
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.Version=$(VERSION)" -o $(BIN) ./cmd/tessera

.PHONY: test
test: ## Run the test suite with the race detector (the README's command)
	$(GO) test -race -count=1 -shuffle=on ./...

.PHONY: test-short
test-short: ## Run the tests without the race detector, cached
	$(GO) test ./...

FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 5s
FUZZ ?= .

.PHONY: fuzz
fuzz: ## Run each fuzz target (FUZZ=regexp to pick) for FUZZTIME (10s), one at a time
	@set -e; list=$$($(GO) test -list='^Fuzz' ./...); \
	echo "$$list" | awk -v want='$(FUZZ)' '/^Fuzz/ { if ($$1 ~ want) names[++n] = $$1; next } \
		/^ok/ { for (i = 1; i <= n; i++) print $$2, names[i]; n = 0 }' | \
	while read -r pkg name; do \
		echo "== $$name ($$pkg)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) $$pkg || exit 1; \
	done

.PHONY: bench-go
bench-go: ## Run the Go benchmarks with allocations (PostgreSQL ones need TESSERA_TEST_DATABASE_URL)
	$(GO) test -run='^$$' -bench=. -benchmem ./...

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

.PHONY: tidy
tidy: ## Check that go.mod and go.sum are tidy
	$(GO) mod tidy -diff

.PHONY: ci
ci: ## Run exactly what CI runs
	bash .ci/run

.PHONY: clean
clean: ## Remove build outputs (not the data directory)
	rm -rf bin
