# Manifold build, test and lint targets. These targets are the interface: the
# README and CI call them, so keep their names and meaning stable.

GO            ?= go
BIN           := bin/manifold
PKG           := ./...
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -s -w -X main.version=$(VERSION)
CONFIG        ?= configs/manifold.yaml
STATICCHECK_VERSION := v0.8.2
STATICCHECK   := $(shell $(GO) env GOPATH)/bin/staticcheck
FUZZTIME      ?= 10s
BENCHTIME     ?= 1s
TEST_TIMEOUT  ?= 20m

.PHONY: all build run test e2e bench bench-compare fuzz lint tools clean

all: build

## build: compile bin/manifold
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./gateway/cmd/manifold

## run: build, then run the broker in the foreground on configs/manifold.yaml
run: build
	./$(BIN) start -c $(CONFIG)

## test: every test, with the race detector
test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKG)

## e2e: the end-to-end tests only (built binary, real third-party clients)
e2e:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -run 'E2E' ./gateway/cmd/...

## bench: every benchmark, with allocation counts
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKG)

## bench-compare: Manifold against Mosquitto on the PERFORMANCE.md rig (minutes; not part of test)
bench-compare: build
	./scripts/bench/compare.sh

## fuzz: every fuzz target for FUZZTIME each
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## lint: gofmt, go vet, staticcheck, import directions
lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKG)
	$(STATICCHECK) $(PKG)
	./scripts/check-imports.sh

## tools: install the pinned staticcheck when it is missing or another version
tools:
	@if ! $(STATICCHECK) -version 2>/dev/null | grep -q '$(STATICCHECK_VERSION:v%=%)'; then \
	  echo "installing staticcheck $(STATICCHECK_VERSION)"; \
	  $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi

clean:
	rm -rf bin
