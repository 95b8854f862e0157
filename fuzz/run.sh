#!/usr/bin/env bash
# Runs every fuzz target: ./run.sh [seconds per target, default 30], then prints a table per
# target (executions, executions per second, corpus size, findings).
#
# Environment:
#   FUZZ_TARGETS="a b"  only those targets
#   FUZZ_RUNS=N         a campaign at depth: each target runs until its executions over every
#                       session (the ledger campaign.tsv) reach N, e.g. 10000000; the seconds
#                       argument is then ignored. Each session appends a row per run to the
#                       ledger and rewrites campaign.md (totals, sessions); the corpus persists
#                       in corpus/<target>, so a campaign can be split across sessions.
#   FUZZ_DEADLINE=TIME  (campaign) no run goes past TIME (anything `date -d` reads, e.g. 04:05)
#   FUZZ_MAX_FINDINGS=N (campaign) restarts after a finding, at most N per target (default 3)
#   FUZZ_SANITIZER=none fuzzes without AddressSanitizer (cargo fuzz -s none, in target/none):
#                       faster, and the core has no unsafe code (README, "Sanitizer"); each
#                       target's corpus then runs once under AddressSanitizer. Default address.
#                       The ledger notes which one each run used.
#
# All targets are built in one `cargo fuzz build` (one link phase for all), then each binary
# runs on its corpus (`corpus/<target>`, as `cargo fuzz run` uses, seeded from the fixtures when
# empty) with the target's -max_len (README: why each bound covers the parser), crashes and
# timeouts going to `artifacts/<target>/`. A short run stops at the first finding.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
ledger=campaign.tsv
report=campaign.md
fixtures=../shared/tests/fixtures
# An input running longer than this is a finding (a timeout), seconds.
timeout_s=10

# Fastest first (measured rates, README), so that a campaign brings as many as possible to N.
order="fmp4_demux fmp4_to_ts codec source_mpd stats_query channel_state cpix_response ts_demux cenc remux clip
  track_ingest hls_ingest api_json"

# Largest input per target, bytes (README, "Input bounds").
max_len() {
  case "$1" in
    ts_demux | remux | codec | source_mpd | stats_query | cpix_response | channel_state) echo 16384 ;;
    clip) echo 32768 ;;
    api_json | hls_ingest) echo 8192 ;;
    *) echo 131072 ;;
  esac
}

# Fixtures that seed an empty corpus (the media targets' seeds are in corpus/, README).
seeds() {
  case "$1" in
    track_ingest) echo "$fixtures/media/dash_1_1.m4s" ;;
    cpix_response) echo "$fixtures"/speke/response_*.xml ;;
  esac
}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz on a nightly toolchain is needed: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 1
fi
sanitizer="${FUZZ_SANITIZER:-address}"
case "$sanitizer" in
  address) target_dir=target ;;
  none) target_dir=target/none ;;
  *) echo "FUZZ_SANITIZER: address or none" >&2; exit 1 ;;
esac
cargo +nightly fuzz build -O
# Without AddressSanitizer LLVM expands a short memcmp against a constant (`starts_with("#EXTM3U")`,
# a serde field name) into loads, which hides the constant from libFuzzer; with it, as here, the
# call and libFuzzer's memcmp hook stay (README, "Sanitizer").
[ "$sanitizer" = address ] ||
  RUSTFLAGS="${RUSTFLAGS:-} -Cllvm-args=-max-loads-per-memcmp=0" \
    cargo +nightly fuzz build -O -s "$sanitizer" --target-dir "$target_dir"
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin="$target_dir/$triple/release"
asan_bin="target/$triple/release"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
all="$(cargo +nightly fuzz list)"
targets="${FUZZ_TARGETS:-}"
if [ -z "$targets" ]; then
  for t in $order; do
    if grep -qx "$t" <<<"$all"; then targets="$targets $t"; fi
  done
  for t in $all; do
    case " $targets " in *" $t "*) ;; *) targets="$targets $t" ;; esac
  done
fi
deadline=""
if [ -n "${FUZZ_DEADLINE:-}" ]; then
  deadline="$(date -d "$FUZZ_DEADLINE" +%s)"
fi
[ -z "${FUZZ_RUNS:-}" ] || [ -f "$ledger" ] ||
  printf 'utc\ttarget\texecutions\tseconds\texec_per_s\tcorpus\tfindings\tmax_len\tsanitizer\n' >"$ledger"

findings_in() { find "artifacts/$1" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l; }

# Executions over every session of the ledger.
done_runs() { awk -F'\t' -v t="$1" 'NR > 1 && $2 == t { n += $3 } END { print n + 0 }' "$ledger"; }

# campaign.md from the ledger: per target, totals over all its sessions.
write_report() {
  {
    echo "# Fuzz campaign"
    echo
    echo "Written by \`fuzz/run.sh\` (FUZZ_RUNS) from the ledger \`campaign.tsv\` (one row per run);"
    echo "runs are the libFuzzer processes that make up each total. Target: ${FUZZ_RUNS:-?} executions each."
    echo
    echo "| target | executions | runs | last exec/s | corpus | findings | max_len | sanitizer |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    # Rows from before the sanitizer column ran with AddressSanitizer.
    awk -F'\t' 'NR > 1 {
        if (!($2 in n)) order[++k] = $2
        n[$2] += $3; r[$2]++; f[$2] += $7; rate[$2] = $5; c[$2] = $6; m[$2] = $8
        san = $9 == "" ? "address" : $9
        if (index(" " s[$2] " ", " " san " ") == 0) s[$2] = s[$2] (s[$2] == "" ? "" : " ") san
      }
      END { for (i = 1; i <= k; i++) { t = order[i]
        printf "| `%s` | %d | %d | %d | %d | %d | %d | %s |\n", t, n[t], r[t], rate[t], c[t], f[t], m[t], s[t] } }' "$ledger"
  } >"$report"
}

summary=""
failed=""
for target in $targets; do
  mkdir -p "corpus/$target" "artifacts/$target"
  if [ -z "$(ls -A "corpus/$target")" ]; then
    for s in $(seeds "$target"); do cp "$s" "corpus/$target/"; done
  fi
  len="$(max_len "$target")"
  found=0
  while :; do
    args=(-artifact_prefix="artifacts/$target/" -max_len="$len" -timeout="$timeout_s" -print_final_stats=1)
    if [ -n "${FUZZ_RUNS:-}" ]; then
      left=$((FUZZ_RUNS - $(done_runs "$target")))
      [ "$left" -gt 0 ] || { echo "== $target: $(done_runs "$target") executions, done"; break; }
      args+=(-runs="$left")
      if [ -n "$deadline" ]; then
        secs=$((deadline - $(date +%s)))
        [ "$secs" -gt 0 ] || break
        args+=(-max_total_time="$secs")
      fi
    else
      args+=(-max_total_time="$seconds")
    fi
    echo "== $target (${args[*]:1})"
    before="$(findings_in "$target")"
    start="$(date +%s)"
    status=0
    "$bin/$target" "${args[@]}" "corpus/$target" >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    new=$(($(findings_in "$target") - before))
    if [ "$status" -ne 0 ]; then
      grep -E 'panicked|SUMMARY|Test unit written|ERROR: libFuzzer|^error' -A3 "$log" | head -40 >&2
      echo "fuzz target $target failed (exit $status)" >&2
      [ "$new" -gt 0 ] || new=1
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    # Without final stats (a hard crash), the last status line's count.
    [ -n "$execs" ] || execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
    execs="${execs:-0}"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    rate="${rate:-0}"
    corpus="$(find "corpus/$target" -type f | wc -l)"
    line="$target	$execs	$elapsed	$rate	$corpus	$new	$len"
    summary="$summary$line
"
    if [ -n "${FUZZ_RUNS:-}" ]; then
      printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$line" "$sanitizer" >>"$ledger"
      write_report
    fi
    if [ "$status" -eq 0 ]; then break; fi
    failed="$failed $target"
    found=$((found + 1))
    # A short run stops at the first finding; a campaign goes on, up to FUZZ_MAX_FINDINGS.
    [ -n "${FUZZ_RUNS:-}" ] || break 2
    [ "$found" -lt "${FUZZ_MAX_FINDINGS:-3}" ] || break
  done
  # Fuzzed without the sanitizer: every input the corpus kept runs once more under it.
  if [ "$sanitizer" != address ]; then
    echo "== $target: its corpus under AddressSanitizer"
    if ! "$asan_bin/$target" -runs=0 -artifact_prefix="artifacts/$target/" -max_len="$len" \
      -timeout="$timeout_s" "corpus/$target" >"$log" 2>&1; then
      grep -E 'panicked|SUMMARY|Test unit written|ERROR: libFuzzer|^error' -A3 "$log" | head -40 >&2
      echo "fuzz target $target failed under AddressSanitizer on its corpus" >&2
      failed="$failed $target"
    fi
  fi
done
echo
printf '%-14s %12s %8s %8s %8s %8s %8s\n' target executions seconds exec/s corpus findings max_len
printf '%s' "$summary" | awk -F'\t' '{ printf "%-14s %12d %8d %8d %8d %8d %8d\n", $1, $2, $3, $4, $5, $6, $7 }'
if [ -n "$failed" ]; then
  echo "fuzz: findings in$failed (artifacts/<target>/)" >&2
  exit 1
fi
