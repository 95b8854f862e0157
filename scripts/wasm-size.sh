#!/usr/bin/env bash
# Prints the size of each built .wasm under DIR, raw and gzip-compressed (Cloudflare's limit,
# 3 MB on the free plan and 10 MB on paid plans, applies to the compressed size).
set -euo pipefail
dir="${1:?usage: wasm-size.sh DIR}"
while IFS= read -r -d '' wasm; do
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  printf 'worker wasm: %s: %d bytes, %d bytes gzip (%d KiB)\n' "$wasm" "$raw" "$gz" $((gz / 1024))
done < <(find "$dir" -name '*.wasm' -print0)
