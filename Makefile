# edgepack: build, run and test.
#   make dev     run the Worker locally (wrangler + workerd, local KV/R2) with a demo channel
#                (PLATFORM=spin: the Spin component in the local wasmtime host instead)
#   make test    native unit tests, then the end-to-end suites (the built Worker, the Spin build),
#                then every fuzz target for FUZZ_SECONDS (default 5)
#   make fuzz    every fuzz target for FUZZ_SECONDS (e.g. make fuzz FUZZ_SECONDS=600), or until
#                FUZZ_RUNS executions each over all sessions (make fuzz FUZZ_RUNS=10000000
#                FUZZ_DEADLINE=04:05: a campaign at depth, resumed by the next call; totals in
#                fuzz/campaign.md)
#   make worker  build the Worker (functions/cloudflare/build/worker/shim.mjs + wasm)
#   make spin    build the Spin component (the .wasm spin.toml names) and the local host
#   make lint    rustfmt, clippy (native members, the Worker and Spin crates on wasm32), the
#                module-graph check and the docs' link check
#   make check   the inner loop: rustfmt, clippy and the core tests that need no ffmpeg
#   make latency glass-to-glass latency of hls.js, Shaka and dash.js on the built Worker
#                (tests/bench/latency.js, ~6 min; not part of `make test`)
#   make ttff    time to first frame, HTTP-FLV (mpegts.js) against HLS (hls.js), 20 starts each
#                (tests/bench/ttff.js, ~5 min; not part of `make test`)
#   make failover first arrival with either encoder killed ten times, players' stalls measured
#                (tests/e2e/first-arrival.soak.js + the Spin variant, ~7 min; not part of `make test`)
#   make soak    two encoders and 200 simulated players for 10 minutes on the Worker, then on
#                the Spin host (tests/bench/soak.js, ~25 min; not part of `make test`)
#   make console rebuild the operator console (functions/console/dist, committed; docs/console.md)
#   make tools   install the toolchain pieces (idempotent)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
NODE_BIN := $(ROOT)/tests/node_modules/.bin
export PATH := $(CARGO_BIN):$(PATH)

# worker-build otherwise downloads these from a host that is not reachable here.
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export WASM_OPT_BIN := $(NODE_BIN)/wasm-opt
export ESBUILD_BIN := $(NODE_BIN)/esbuild
export WRANGLER_SEND_METRICS := false

WORKER_DIR := functions/cloudflare
# The operator console: TypeScript built into dist/, which the core embeds (docs/console.md).
CONSOLE_DIR := functions/console
WORKER_SHIM := $(WORKER_DIR)/build/worker/shim.mjs
# Everything the Worker is built from; `make worker` is a no-op when none changed.
WORKER_INPUTS := Cargo.toml Cargo.lock $(shell find shared $(CONSOLE_DIR)/dist $(WORKER_DIR)/src $(WORKER_DIR)/Cargo.toml -type f 2>/dev/null)

# Spin: the component (source = in spin.toml) and the wasmtime host that runs it locally.
SPIN_WASM := functions/spin/build/edgepack_spin.wasm
SPIN_HOST := functions/spin-host/build/edgepack-spin-host
SPIN_INPUTS := Cargo.toml Cargo.lock $(shell find shared $(CONSOLE_DIR)/dist functions/spin/src functions/spin/Cargo.toml -type f 2>/dev/null)
SPIN_HOST_INPUTS := Cargo.toml Cargo.lock $(shell find functions/spin-host/src functions/spin-host/wit functions/spin-host/Cargo.toml -type f 2>/dev/null)
CARGO_OUT := $(or $(CARGO_TARGET_DIR),target)
# The host is a native test tool, never shipped: the size-tuned LTO release profile would only
# add minutes to its wasmtime build. Unwind, as `cargo test` needs: build and tests share deps.
SPIN_HOST_PROFILE := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=2 CARGO_PROFILE_RELEASE_PANIC=unwind

.PHONY: help tools worker spin dev test lint check clean fuzz latency ttff failover soak console

help:
	@sed -n '2,21s/^#//p' Makefile

tools:
	@scripts/tools.sh

worker: tools $(WORKER_SHIM)

$(WORKER_SHIM): $(WORKER_INPUTS)
	cd $(WORKER_DIR) && worker-build --release
	@scripts/wasm-size.sh $(WORKER_DIR)/build

spin: tools $(SPIN_WASM) $(SPIN_HOST)

# Two cargo invocations: the component (wasm32-wasip2) and the host (native) never share one.
$(SPIN_WASM): $(SPIN_INPUTS)
	cargo build --release -p edgepack-spin --target wasm32-wasip2
	mkdir -p $(@D) && cp $(CARGO_OUT)/wasm32-wasip2/release/edgepack_spin.wasm $@.tmp && mv -f $@.tmp $@
	@printf 'spin component: %s: %d bytes, %d bytes gzip\n' $@ $$(stat -c %s $@) $$(gzip -9 -c $@ | wc -c)

# Renamed into place: a running host keeps its file (cp onto it fails: text file busy).
$(SPIN_HOST): $(SPIN_HOST_INPUTS)
	$(SPIN_HOST_PROFILE) cargo build --release -p edgepack-spin-host
	mkdir -p $(@D) && cp $(CARGO_OUT)/release/edgepack-spin-host $@.tmp && mv -f $@.tmp $@

# dist/ is committed, so a fresh clone's cargo build needs no Node; `make lint` checks it is
# what the sources build.
console: tools
	cd $(CONSOLE_DIR) && node build.mjs

dev:
	@$(if $(filter spin,$(PLATFORM)),functions/spin-host/dev.sh,scripts/dev.sh)

test: tools worker spin
	cargo test --workspace --exclude edgepack-cloudflare --exclude edgepack-spin --exclude edgepack-spin-host
	$(SPIN_HOST_PROFILE) cargo test --release -p edgepack-spin-host
	cd $(CONSOLE_DIR) && npm test
	cd tests && node --test --test-concurrency=1 e2e/
	scripts/fuzz-smoke.sh $(FUZZ_SECONDS)

# Measured by hand, never in CI: results go into tests/bench/README.md.
latency: tools worker
	cd tests && node bench/latency.js

# By hand, not in CI (timing-sensitive on a loaded machine): the figures go into the notes.
failover: tools worker spin
	cd tests && node --test --test-concurrency=1 e2e/first-arrival.soak.js e2e/spin/first-arrival.soak.js

# By hand, never in CI: the figures go into the notes (tests/bench/README.md says how).
SOAK_MINUTES ?= 10
SOAK_PLAYERS ?= 200
soak: tools worker spin
	cd tests && node bench/soak.js --platform worker --minutes $(SOAK_MINUTES) --players $(SOAK_PLAYERS)
	cd tests && node bench/soak.js --platform spin --minutes $(SOAK_MINUTES) --players $(SOAK_PLAYERS)

# Measured by hand, never in CI: results go into tests/bench/README.md.
ttff: tools worker
	cd tests && node bench/ttff.js

# Seconds each fuzz target runs in `make test` (fuzz/run.sh runs longer campaigns).
FUZZ_SECONDS ?= 5

# A longer run: make fuzz FUZZ_SECONDS=600; a campaign: make fuzz FUZZ_RUNS=10000000
# (FUZZ_RUNS, FUZZ_DEADLINE, FUZZ_TARGETS, FUZZ_MAX_FINDINGS and FUZZ_SANITIZER reach
# fuzz/run.sh as command-line variables, which make exports).
fuzz:
	scripts/fuzz-smoke.sh $(FUZZ_SECONDS)

lint: tools
	cargo fmt --all --check
	cargo test -p edgepack --test module_graph
	python3 scripts/check-links.py .
	cd $(CONSOLE_DIR) && npm run lint && node build.mjs --check
	cargo clippy --workspace --exclude edgepack-cloudflare --exclude edgepack-spin --exclude edgepack-spin-host --all-targets -- -D warnings
	cargo clippy -p edgepack-cloudflare --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --release -p edgepack-spin --target wasm32-wasip2 -- -D warnings
	$(SPIN_HOST_PROFILE) cargo clippy --release -p edgepack-spin-host --all-targets -- -D warnings

# Core test targets that run ffprobe (the rest run anywhere cargo does).
FFPROBE_TESTS := clip recording flv_live dash_timeshift encryption_rotation ingest_cmaf ingest_dash media_cenc media_ffprobe media_flv media_fmp4 media_progressive media_ts_mux packaging
CHECK_TESTS := $(filter-out $(FFPROBE_TESTS),$(basename $(notdir $(wildcard shared/tests/*.rs))))

# No tools, no wasm targets, no ffmpeg: fmt, clippy and the core tests that need nothing else.
check:
	cargo fmt --all --check
	cargo clippy -p edgepack --all-targets -- -D warnings
	cargo test -p edgepack --lib $(addprefix --test ,$(CHECK_TESTS))

clean:
	rm -rf $(WORKER_DIR)/build functions/spin/build functions/spin-host/build
