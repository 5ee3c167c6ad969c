# mycr: runc-compatible OCI runtime built for checkpoint/restore with CRIU.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:/usr/local/sbin:$(PATH)

VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.1.0)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# libseccomp enables the seccomp profiles Docker and Podman hand to the runtime.
# urfave_cli_no_docs drops the CLI's man/markdown generator (and its markdown
# parser's init work, ~0.4 ms of every mycr start); netgo+osusergo keep libc's
# resolver and user lookup out so the binary can be static.
TAGS    ?= $(shell pkg-config --exists libseccomp 2>/dev/null && echo seccomp) urfave_cli_no_docs netgo osusergo
# Static like runc's releases: no dynamic loader and relocations on each of the
# two execs per container start (the runtime and its init), ~0.4 ms each.
# LDFLAGS uses = so that this runs at build time, after `make deps` put gcc and
# libseccomp.a on a fresh machine.
STATIC  ?= $(shell [ -e "$$(gcc -print-file-name=libseccomp.a 2>/dev/null)" ] && [ -e "$$(gcc -print-file-name=libc.a 2>/dev/null)" ] && echo -linkmode external -extldflags -static)
LDFLAGS  = -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) $(STATIC)
PREFIX  ?= /usr/local
BIN     := bin/mycr
GOTEST  := go test -count=1

.PHONY: all build deps install demo lint test test-unit test-fuzz-short test-integration test-dropin test-runc-compat test-runc-compat-short bench soak reliability fuzz clean

all: build

build:
	go build -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mycr

# CRIU 4.2.1 from Debian source, busybox-static, iptables, libseccomp (idempotent).
deps:
	bash scripts/install-deps.sh

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mycr

# The main job on a fresh machine: deps, build, install, then checkpoint and
# restore a real busybox container and print the timings.
demo: deps install
	bash scripts/demo.sh $(PREFIX)/bin/mycr

# Everything CI runs: lint, unit tests (real ptrace, real CRIU), integration
# tests of the built binary with real containers, a part of runc's own suite.
test: lint deps build test-unit test-fuzz-short test-integration test-runc-compat-short test-dropin

# gofmt -l, go vet and staticcheck (default checks, staticcheck.conf) over every
# package with the build's tags, then scripts/fileloops: no files of a package
# that depend on each other in a loop (each package reads bottom-up).
# `go run pkg@version` pins staticcheck without making it a dependency of mycr's
# module (the first run downloads and builds it).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$files" ]; then echo "gofmt wants to change: $$files"; exit 1; fi
	go vet -tags "$(TAGS)" ./...
	go run $(STATICCHECK) -tags "$(TAGS)" ./...
	cd scripts/fileloops && go run . ../.. -tags "$(TAGS)"

# runc's own bats suite (tests/integration of the runc module in go.mod) against
# bin/mycr and a runc built from the same module, side by side; fails on any
# difference not listed in scripts/runc-compat-expected.txt. The whole set (43 files,
# ~24 min on a loaded 2-core machine) here; make test runs the short set (~5 min).
test-runc-compat: build
	MYCR_BINARY=$(CURDIR)/$(BIN) bash scripts/runc-compat.sh

RUNC_COMPAT_SHORT ?= help version kill exec update state delete create start list pause ps tty env pidfd-socket
test-runc-compat-short: build
	MYCR_BINARY=$(CURDIR)/$(BIN) bash scripts/runc-compat.sh $(RUNC_COMPAT_SHORT)

test-unit:
	$(GOTEST) ./spec/ ./criu/... ./internal/... ./runtime/... ./cmd/...

# $(call gotest_v,NAME,ARGS): go test -v of the built binary into NAME.log; on a
# failure the failed tests' own messages are printed again last, where CI's
# shortened log keeps them.
gotest_v = MYCR_BINARY=$(CURDIR)/$(BIN) $(GOTEST) -v $(2) 2>&1 | tee $(1).log; \
	rc=$${PIPESTATUS[0]}; [ $$rc = 0 ] || bash scripts/failsummary.sh $(1).log; exit $$rc

test-integration: build
	$(call gotest_v,integration,-timeout 20m ./integration/)

# dockerd, containerd and podman (Debian's packages, installed if missing) started by
# the tests with mycr as their runtime, through their checkpoint/restore flows; and
# containerd v2 for its CRI checkpoint/restore (built from the Go module proxy into
# /usr/local/lib/mycr-containerd2 on the first run, off PATH).
test-dropin: deps build
	bash scripts/install-dropin-deps.sh
	bash scripts/install-containerd2.sh
	$(call gotest_v,dropin,-timeout 9m ./integration/dropin/)

# Long reliability runs: 200 checkpoint/restore cycles + 50 with --leave-running,
# 8 parallel clients x 100 mixed operations (make test runs short versions).
soak: build
	MYCR_BINARY=$(CURDIR)/$(BIN) MYCR_SOAK_CYCLES=200 MYCR_SOAK_LEAVE_RUNNING=50 MYCR_CONC_OPS=100 \
		$(GOTEST) -v -timeout 60m -run 'Soak|Concurrent' ./integration/

# Issue 5's bar: every fault 20 times, the long soak and concurrency runs, then
# docs/reliability.md regenerated from the tests' RELIABILITY lines (the log
# stays in bin/reliability.log). Fails if a test failed, after writing the doc.
# The tests run a copy of the binary: a rebuild during the run does not touch it.
reliability: build
	@cp $(BIN) bin/mycr-reliability; \
	export MYCR_BINARY=$(CURDIR)/bin/mycr-reliability MYCR_FAULT_TRIALS=20 MYCR_SOAK_CYCLES=200 MYCR_SOAK_LEAVE_RUNNING=50 \
		MYCR_CONC_CLIENTS=8 MYCR_CONC_OPS=100 MYCR_EXECFREEZE_SECONDS=60 MYCR_SSH_KILL_TRIALS=20 MYCR_LINK_CUT_TRIALS=20; \
	tests='TestCriuKilledDuringDump|TestCriuStalledWatchdog|TestCriuStalledRestoreWatchdog|TestCheckpointNoSpaceRepeated'; \
	tests+='|TestCheckpointExternalUnixSocket|TestCheckpointSocketStdio|TestMycrKilledDuringCheckpoint|TestMycrKilledCheckpointGuard|TestMycrKilledDuringRestore'; \
	tests+='|TestCheckpointInterruptedByKill|TestRestoreFailuresLeaveNothing|TestRestoreCorruptImages|TestInspectCorruptImages'; \
	tests+='|TestHostileImagePaths|TestSoakCheckpointRestore|TestConcurrentClients|TestExecWhileFreezing'; \
	tests+='|TestExportFailureKeepsContainer|TestExportFailureNamesKeptImages'; \
	tests+='|TestStdioMatrix|TestStdioMixedKinds|TestMigrateSSHKilled|TestMigrateSSHLinkCut|TestRestoreLazyDaemonKilled|TestRestoreLazyMycrKilled|TestRestoreLazyHotPagesMycrKilled'; \
	start=$$(date +%s); \
	$(GOTEST) -v -timeout 60m -run "^($$tests)\$$" ./integration/ 2>&1 | tee bin/reliability.log; status=$${PIPESTATUS[0]}; \
	go run ./integration/reliabilityreport -log bin/reliability.log -doc docs/reliability.md \
		-took "$$(( ($$(date +%s) - start + 30) / 60 )) min" || status=1; \
	exit $$status

# mycr vs runc, crun and bare CRIU, interleaved (~20 min); writes docs/benchmarks.md and
# docs/bench/ (PNG plots, results.json). Smaller runs: make bench BENCHFLAGS='-runs 3 -sections cr'.
BENCHFLAGS ?=
bench: deps build
	bash scripts/install-bench-deps.sh
	go build -o bin/mycr-bench ./bench/cmd/mycr-bench
	bin/mycr-bench -out docs -mycr $(BIN) $(BENCHFLAGS)

# CI's short fuzz: 5000 inputs per target (~1 min in all, ~6 min at 20000 with both cores busy; make fuzz: a minute each).
# A count, not a time: a time limit can end a run with "context deadline exceeded"
# while a worker is still busy, which fails the test for nothing.
test-fuzz-short:
	$(MAKE) fuzz FUZZTIME=5000x

FUZZTIME ?= 60s
fuzz:
	go test ./spec/ -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	go test ./spec/ -run '^$$' -fuzz FuzzValidateID -fuzztime $(FUZZTIME)
	go test ./criu/archive/ -run '^$$' -fuzz FuzzExtract -fuzztime $(FUZZTIME)
	go test ./criu/ -run '^$$' -fuzz FuzzReadMeta -fuzztime $(FUZZTIME)
	go test ./criu/image/ -run '^$$' -fuzz FuzzInspect -fuzztime $(FUZZTIME)
	go test ./criu/image/ -run '^$$' -fuzz FuzzReadStats -fuzztime $(FUZZTIME)

clean:
	rm -rf bin integration.log dropin.log
