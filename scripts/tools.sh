#!/usr/bin/env bash
# Installs the build and test tools on a fresh Debian machine that has rustup, cargo, node and
# npm. Idempotent: every step checks first, so a second run takes about a second and needs no
# network.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

# worker-build must match the `worker` crate's minor version (it checks); pinned with it.
WORKER_BUILD_VERSION=0.8.7

log() { printf 'tools: %s\n' "$*" >&2; }

# Rust targets: the Worker (wasm32-unknown-unknown) and the Spin component (wasm32-wasip2).
installed_targets="$(rustup target list --installed)"
for target in wasm32-unknown-unknown wasm32-wasip2; do
  if ! grep -qx "$target" <<<"$installed_targets"; then
    log "rustup target add $target"
    rustup target add "$target"
  fi
done
# `make lint` needs these; the rustup "minimal" profile lacks them.
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "rustup component add $component"
    rustup component add "$component"
  fi
done

# Build tools from crates.io are compiled for speed of compiling, not of running (they process
# one ~1 MB module per build): `cargo install worker-build` took 596 s instead of 703 s (-j1,
# side by side on the 2-core machine).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false

# wasm-bindgen-cli must equal the wasm-bindgen library in Cargo.lock (the bindgen schema is
# versioned). Installed from crates.io without --locked, as the design notes record.
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [[ -z "$bindgen_version" ]]; then
  log "no wasm-bindgen in Cargo.lock"
  exit 1
fi
have_bindgen="$("$CARGO_BIN/wasm-bindgen" --version 2>/dev/null | awk '{ print $2 }' || true)"
if [[ "$have_bindgen" != "$bindgen_version" ]]; then
  log "cargo install wasm-bindgen-cli --version $bindgen_version (have: ${have_bindgen:-none})"
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

have_worker_build="$("$CARGO_BIN/worker-build" --version 2>/dev/null | awk '{ print $NF }' || true)"
if [[ "$have_worker_build" != "$WORKER_BUILD_VERSION" ]]; then
  log "cargo install worker-build --version $WORKER_BUILD_VERSION (have: ${have_worker_build:-none})"
  cargo install worker-build --version "$WORKER_BUILD_VERSION"
fi

# npm tools: wrangler/workerd, wasm-opt (binaryen), esbuild, test clients.
bins="$ROOT/tests/node_modules/.bin"
if [[ ! -x "$bins/wrangler" || ! -x "$bins/wasm-opt" || ! -x "$bins/esbuild" ]]; then
  cd "$ROOT/tests"
  if [[ -f package-lock.json ]]; then
    log "npm ci (tests/)"
    npm ci --no-audit --no-fund
  else
    log "npm install (tests/)"
    npm install --no-audit --no-fund
  fi
fi

# The operator console's toolchain (esbuild, TypeScript, eslint) and the players it bundles.
if [[ ! -x "$ROOT/functions/console/node_modules/.bin/tsc" ]]; then
  log "npm ci (functions/console/)"
  (cd "$ROOT/functions/console" && npm ci --no-audit --no-fund)
fi
