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
GENERATED ?= agent/qdb ovs/vswitch docs/man/quantumctl.1 packaging/quantumctl.bash-completion packaging/quantumctl.zsh-completion packaging/quantumctl.fish-completion

# The Go toolchain is the one installed (/usr/local/go); never fetch another.
export GOTOOLCHAIN ?= local
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test unit vet fuzz bench bench-api bench-ovs bench-linuxbridge bench-fleet lint fmt check-generated generate man run run-clean clean help deb

all: build

help:
	@echo "make build            build bin/quantum-agent and bin/quantumctl"
	@echo "make run              run the agent on a sandbox hypervisor (netns + userspace OVS; root)"
	@echo "make run-clean        stop a running sandbox, or remove what a killed one left behind"
	@echo "make test             gofmt check, go vet, go test -race ./... (integration parts need root), short fuzz runs"
	@echo "make fuzz             run each Fuzz* target of $(FUZZ_PKGS) for $(FUZZTIME)"
	@echo "make bench            every benchmark below, in one run (root for the datapath parts)"
	@echo "make bench-api        API requests/s over the socket (go test -bench ./api/...)"
	@echo "make bench-linuxbridge wiring N=100/500/1000 veths into bridges: datapath Sync vs ip link per port (root)"
	@echo "make bench-ovs        wiring N=100/500/1000 ports: agent vs ovs-vsctl; latency, RSS, restart (root; BENCH_QUICK=1 stops at 500)"
	@echo "make bench-fleet      K agents on a 3-member cluster, direct and behind relays: what a burst on one host costs the others (root; BENCH_FLEET_K=1,10,40)"
	@echo "make lint             gofmt check and go vet"
	@echo "make check-generated  go generate ./... and fail if $(GENERATED) changed"
	@echo "make man              write quantumctl(1) and its completion scripts from the commands (go generate ./cmd/quantumctl)"
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

# Fleet scale (issue 10, docs/BENCHMARKS.md): K real Linux-bridge agents,
# each in its own namespace, on a 3-member Raft Quantum DB preloaded with
# BENCH_FLEET_PRELOAD attachments of other hosts, directly and behind relays;
# a burst of BENCH_FLEET_PLUGS plugs on one host; and reads of other hosts'
# rows. This tree's agent and BENCH_AGENT_BIN (a previous build) side by side.
# Not part of `bench`: it takes its own ~15 minutes (K=80: BENCH_FLEET_K=1,10,40,80).
BENCH_FLEET_REPORT ?= $(BIN)/bench-fleet.md
bench-fleet:
	@mkdir -p $(dir $(BENCH_FLEET_REPORT))
	BENCH_REPORT=$(abspath $(BENCH_FLEET_REPORT)) $(GO) test -run='^$$' \
		-bench='^Benchmark(Fleet|ReadLatency)$$' -benchtime=1x -timeout=180m ./bench/

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

generate:
	$(GO) generate ./...

# quantumctl(1) and the bash/zsh/fish completion scripts, generated from the
# commands themselves (cmd/quantumctl/generate.go); `go test ./cmd/quantumctl`
# fails when the committed ones differ.
man:
	$(GO) generate ./cmd/quantumctl

# The generated OVSDB models must be what `go generate` makes from the
# committed schemas: fails on any change or new untracked file there.
check-generated: generate
	@git diff --exit-code -- $(GENERATED) || { echo "check-generated: run 'go generate ./...' and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	if [ -n "$$untracked" ]; then echo "check-generated: untracked generated files:"; echo "$$untracked"; exit 1; fi
	@echo "check-generated: $(GENERATED) up to date"

# The sandbox removes itself however it ends (Ctrl-C, SIGTERM, SIGHUP, SIGPIPE,
# exit); run-clean removes one that was killed with SIGKILL, or stops a running one.
run:
	scripts/sandbox.sh

run-clean:
	scripts/sandbox.sh clean

# The Debian package: binaries, systemd units, schema, default config, man pages, built
# with dpkg-deb alone. packaging/packaging_test.go (part of make test) builds it too and
# checks it with lintian and systemd-analyze; packaging/boot_test.go installs, operates,
# upgrades and purges it in a throwaway Debian booted with systemd-nspawn (never on the
# machine running the tests).
deb:
	GO='$(GO)' VERSION='$(VERSION)' packaging/build-deb.sh

clean:
	rm -rf $(BIN) dist
