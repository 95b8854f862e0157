#!/usr/bin/env bash
# Runs every fuzz target (`cargo fuzz list`) briefly: ./run.sh [seconds per target, default 30].
# FUZZ_RUNS=N runs each target for N executions instead (a campaign at depth, e.g. 10000000),
# FUZZ_TARGETS="a b" only those targets.
# All targets are built in one `cargo fuzz build` (one link phase for all), then each binary runs
# on its corpus (`corpus/<target>`, as `cargo fuzz run` uses), crashes going to
# `artifacts/<target>/`.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz on a nightly toolchain is needed: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 1
fi
cargo +nightly fuzz build -O
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin="target/$triple/release"
log="$(mktemp)"
failed=""
trap 'rm -f "$log"' EXIT
if [ -n "${FUZZ_RUNS:-}" ]; then
  limit="-runs=$FUZZ_RUNS"
else
  limit="-max_total_time=$seconds"
fi
for target in ${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}; do
  echo "== $target ($limit)"
  mkdir -p "corpus/$target" "artifacts/$target"
  if ! "$bin/$target" -artifact_prefix="artifacts/$target/" "$limit" \
      -max_len=200000 "corpus/$target" >"$log" 2>&1; then
    grep -E 'panicked|SUMMARY|Test unit written|^error' -A3 "$log" | head -40 >&2
    echo "fuzz target $target failed" >&2
    failed="$failed $target"
    # A short run stops at the first finding; a campaign (FUZZ_RUNS) goes on to the next target.
    [ -n "${FUZZ_RUNS:-}" ] || exit 1
    continue
  fi
  grep -E '^Done' "$log"
done
if [ -n "$failed" ]; then
  echo "fuzz: findings in$failed (artifacts/<target>/)" >&2
  exit 1
fi
