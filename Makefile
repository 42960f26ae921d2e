# quantum-agent — the one entry point: make run, make test, make bench, make lint.
#
# The integration tests need root (they build throwaway network namespaces with
# their own ovsdb-server/ovs-vswitchd); without root they skip themselves, and
# under CI=true they fail instead of skipping.

GO        ?= go
BIN       ?= bin
# The package version (packaging/version.sh: the VERSION file and git), which --version of
# both binaries prints too; `make deb` builds the package of that version.
VERSION   ?= $(shell packaging/version.sh)
LDFLAGS   ?= -X main.version=$(VERSION)
TESTFLAGS ?= -race -count=1 -timeout 20m
FUZZ_PKGS ?= ./api/...
FUZZTIME  ?= 10s
GENERATED ?= agent/qdb ovs/vswitch

# The Go toolchain is the one installed (/usr/local/go); never fetch another.
export GOTOOLCHAIN ?= local
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test unit vet fuzz bench bench-api bench-ovs bench-linuxbridge lint fmt check-generated generate run clean help deb

all: build

help:
	@echo "make build            build bin/quantum-agent and bin/quantumctl"
	@echo "make run              run the agent on a sandbox hypervisor (netns + userspace OVS; root)"
	@echo "make test             gofmt check, go vet, go test -race ./... (integration parts need root), short fuzz runs"
	@echo "make fuzz             run each Fuzz* target of $(FUZZ_PKGS) for $(FUZZTIME)"
	@echo "make bench            every benchmark below, in one run (root for the datapath parts)"
	@echo "make bench-api        API requests/s over the socket (go test -bench ./api/...)"
	@echo "make bench-linuxbridge wiring N=100/500/1000 veths into bridges: datapath Sync vs ip link per port (root)"
	@echo "make bench-ovs        wiring N=100/500/1000 ports: agent vs ovs-vsctl; latency, RSS, restart (root; BENCH_QUICK=1 stops at 500)"
	@echo "make lint             gofmt check and go vet"
	@echo "make check-generated  go generate ./... and fail if $(GENERATED) changed"
	@echo "make deb              build dist/quantum-agent_<version>_<arch>.deb (packaging/build-deb.sh)"
	@echo "make clean            remove $(BIN)/ and dist/"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# THE test command.
test: lint unit fuzz

vet:
	$(GO) vet ./...

unit:
	$(GO) test $(TESTFLAGS) ./...

# Each Fuzz* target of each package matched by FUZZ_PKGS (./api and below:
# the codecs, router and client) for FUZZTIME. Packages without tests or
# without fuzz targets are skipped, not an error.
fuzz:
	@set -eu; \
	pkgs=$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $(FUZZ_PKGS) 2>/dev/null || true); \
	if [ -z "$$pkgs" ]; then echo "fuzz: no tested packages in $(FUZZ_PKGS) yet"; exit 0; fi; \
	for pkg in $$pkgs; do \
		list=$$($(GO) test -list '^Fuzz' "$$pkg"); \
		targets=$$(printf '%s\n' "$$list" | grep '^Fuzz' || true); \
		if [ -z "$$targets" ]; then echo "fuzz: no Fuzz* targets in $$pkg"; continue; fi; \
		for t in $$targets; do \
			echo "fuzz: $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
		done; \
	done

# Benchmarks: one target per part, so that more can be added to `bench`.
bench: bench-api bench-ovs bench-linuxbridge

bench-api:
	$(GO) test -run='^$$' -bench=. -benchmem ./api/...

# Datapath benchmarks (docs/BENCHMARKS.md): the built agent against
# ovs-vsctl on throwaway userspace-OVS hypervisors. Root and Open vSwitch;
# each benchmark runs once; about 10 minutes, most of it ovs-vsctl per port
# at N=1000 (BENCH_QUICK=1 stops at N=500). Prints a summary with ratios and
# writes it to BENCH_OVS_REPORT.
BENCH_OVS_REPORT ?= $(BIN)/bench-ovs.md
bench-ovs:
	@mkdir -p $(dir $(BENCH_OVS_REPORT))
	BENCH_REPORT=$(abspath $(BENCH_OVS_REPORT)) $(GO) test -run='^$$' \
		-bench='^Benchmark(Wire|AttachLatency|AttachLatencyVsctl|AgentRSS10k|Restart5k)$$' -benchtime=1x -timeout=90m ./bench/

# The Linux-bridge datapath's Sync against `ip link set DEV master BR` per
# port, N=100/500/1000 veths over 10 bridges, same run (root; ~30 s).
bench-linuxbridge:
	$(GO) test -run='^$$' -bench='^BenchmarkLinuxBridgeWire$$' -benchtime=3x -timeout=30m ./linuxbridge/

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

generate:
	$(GO) generate ./...

# The generated OVSDB models must be what `go generate` makes from the
# committed schemas: fails on any change or new untracked file there.
check-generated: generate
	@git diff --exit-code -- $(GENERATED) || { echo "check-generated: run 'go generate ./...' and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	if [ -n "$$untracked" ]; then echo "check-generated: untracked generated files:"; echo "$$untracked"; exit 1; fi
	@echo "check-generated: $(GENERATED) up to date"

run:
	scripts/sandbox.sh

# The Debian package: binaries, systemd units, schema, default config, man pages, built
# with dpkg-deb alone. packaging/packaging_test.go (part of make test) builds it too and
# checks it with lintian and systemd-analyze; packaging/boot_test.go installs, operates,
# upgrades and purges it in a throwaway Debian booted with systemd-nspawn (never on the
# machine running the tests).
deb:
	GO='$(GO)' VERSION='$(VERSION)' packaging/build-deb.sh

clean:
	rm -rf $(BIN) dist
