# edgepack: build, run and test.
#   make dev     run the Worker locally (wrangler + workerd, local KV/R2) with a demo channel
#   make test    native unit tests, then the end-to-end suite against the built Worker
#   make worker  build the Worker (functions/cloudflare/build/worker/shim.mjs + wasm)
#   make lint    rustfmt and clippy (native members, and the Worker crate on wasm32)
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
WORKER_SHIM := $(WORKER_DIR)/build/worker/shim.mjs
# Everything the Worker is built from; `make worker` is a no-op when none changed.
WORKER_INPUTS := Cargo.toml Cargo.lock $(shell find shared $(WORKER_DIR)/src $(WORKER_DIR)/Cargo.toml -type f 2>/dev/null)

.PHONY: help tools worker dev test lint clean

help:
	@sed -n '2,7s/^#//p' Makefile

tools:
	@scripts/tools.sh

worker: tools $(WORKER_SHIM)

$(WORKER_SHIM): $(WORKER_INPUTS)
	cd $(WORKER_DIR) && worker-build --release
	@scripts/wasm-size.sh $(WORKER_DIR)/build

dev:
	@scripts/dev.sh

test: tools worker
	cargo test --workspace --exclude edgepack-cloudflare
	cd tests && node --test --test-concurrency=1 e2e/

lint: tools
	cargo fmt --all --check
	cargo clippy --workspace --exclude edgepack-cloudflare --all-targets -- -D warnings
	cargo clippy -p edgepack-cloudflare --target wasm32-unknown-unknown -- -D warnings

clean:
	rm -rf $(WORKER_DIR)/build
