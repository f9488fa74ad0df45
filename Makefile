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
