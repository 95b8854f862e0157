#!/usr/bin/env bash
# Runs every fuzz target briefly (`make test`, CI): ./scripts/fuzz-smoke.sh [seconds per target].
# Needs the nightly toolchain (part of this machine image) and cargo-fuzz (installed from
# crates.io when missing). A crash fails the run; fuzz/run.sh runs longer campaigns.
set -euo pipefail
seconds="${1:-10}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain on this machine (rustup toolchain list); cannot run the fuzz targets" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo install cargo-fuzz" >&2
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install cargo-fuzz
fi
exec "$root/fuzz/run.sh" "$seconds"
