#!/usr/bin/env bash
# `make dev`: builds the Worker, runs it under `wrangler dev` (real workerd, KV and R2 persisted
# in .edgepack/state), creates a demo channel once the Worker answers, and prints how to push
# and play it. wrangler stays in the foreground until Ctrl-C.
#   PORT         listen port (default 8787)
#   ADMIN_TOKEN  control API token (default dev-admin-token), written to .dev.vars
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PORT:-8787}"
ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
STATE_DIR=.edgepack/state
WRANGLER="$ROOT/tests/node_modules/.bin/wrangler"
export WRANGLER_SEND_METRICS=false

if [[ "$ADMIN_TOKEN" =~ [[:space:]\"\\] ]]; then
  echo "dev: ADMIN_TOKEN must not contain whitespace, quotes or backslashes" >&2
  exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "dev: port $PORT on 127.0.0.1 is already in use (set PORT=...)" >&2
  exit 1
fi

make --no-print-directory tools worker

# .dev.vars holds local secrets for wrangler; keep any other lines the user put there.
touch .dev.vars
{ grep -v '^ADMIN_TOKEN=' .dev.vars || true; printf 'ADMIN_TOKEN="%s"\n' "$ADMIN_TOKEN"; } > .dev.vars.tmp
mv .dev.vars.tmp .dev.vars
mkdir -p "$STATE_DIR"

# Runs beside wrangler: waits for /healthz, creates the demo, prints the URLs. It exits on its
# own (and quietly if wrangler is gone).
node scripts/dev-demo.mjs "http://127.0.0.1:$PORT" "$ADMIN_TOKEN" &

# STATS=memory: statistics from local traffic kept in the isolate (docs/stats.md, "Local figures").
exec "$WRANGLER" dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE_DIR" --var STATS:memory
