#!/usr/bin/env bash
# `make dev PLATFORM=spin`: builds the Spin component and the local host (`make spin`), runs
# spin.toml in the host with key-value persisted in .edgepack/spin, creates the demo channel
# once it answers, and prints how to push and play it. The host stays in the foreground.
#   PORT         listen port (default 8787)
#   ADMIN_TOKEN  control API token (default dev-admin-token), as SPIN_VARIABLE_ADMIN_TOKEN
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PORT="${PORT:-8787}"
ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
STATE_DIR=.edgepack/spin

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "dev: port $PORT on 127.0.0.1 is already in use (set PORT=...)" >&2
  exit 1
fi

make --no-print-directory spin
mkdir -p "$STATE_DIR"

# Waits for /healthz, creates the demo, prints the URLs; exits on its own.
node scripts/dev-demo.mjs "http://127.0.0.1:$PORT" "$ADMIN_TOKEN" &

export SPIN_VARIABLE_ADMIN_TOKEN="$ADMIN_TOKEN"
# Statistics from local traffic, kept in the key-value store (docs/stats.md, "Spin").
export SPIN_VARIABLE_STATS="${SPIN_VARIABLE_STATS:-kv}"
exec functions/spin-host/build/edgepack-spin-host \
  --listen "127.0.0.1:$PORT" --state-dir "$STATE_DIR" spin.toml
