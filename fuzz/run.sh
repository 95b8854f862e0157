#!/usr/bin/env bash
# Runs every fuzz target (`cargo fuzz list`) briefly: ./run.sh [seconds per target, default 30].
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz on a nightly toolchain is needed: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in $(cargo +nightly fuzz list); do
  echo "== $target (${seconds}s)"
  if ! cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" -max_len=200000 \
      >"$log" 2>&1; then
    grep -E 'panicked|SUMMARY|Test unit written|^error' -A3 "$log" | head -40 >&2
    echo "fuzz target $target failed" >&2
    exit 1
  fi
  grep -E '^Done' "$log"
done
