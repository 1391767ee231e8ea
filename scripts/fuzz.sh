#!/usr/bin/env bash
# Run every fuzz target for SECONDS_PER_TARGET (default 60), one at a time, niced.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Installs cargo-fuzz if missing, (re)writes the seed corpora (fuzz/seeds/, committed) with
# fuzz/examples/make_corpus.rs, fuzzes with the working corpus in fuzz/corpus/<target>/ (not
# committed) plus the seeds, and prints per target the executions from libFuzzer's final
# stats line, the corpus size and any crash files (fuzz/artifacts/<target>/). A crash input
# belongs in tests/data/fuzz/<target>/ once fixed: tests/fuzz_regressions.rs replays it.
#
# Works on a stable toolchain (RUSTC_BOOTSTRAP=1 enables the sanitizer flags). Not part of
# `make test`. Environment: FUZZ_NICE (default 10), FUZZ_JOBS is deliberately not offered:
# one target at a time.
set -euo pipefail

SECS=${1:-60}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1
NICE="nice -n ${FUZZ_NICE:-10}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    $NICE cargo install cargo-fuzz
fi

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    mapfile -t TARGETS < <(cargo fuzz list)
fi

echo "== seed corpora"
$NICE cargo run -q --example make_corpus -- "$ROOT/fuzz/seeds"

echo "== building"
$NICE cargo fuzz build

summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="artifacts/$t/fuzz.log"
    echo "== $t: ${SECS}s"
    status=ok
    $NICE cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECS" -print_final_stats=1 >"$log" 2>&1 || status="FAILED (see fuzz/$log)"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    corpus=$(find "corpus/$t" -type f | wc -l)
    crashes=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    line="$t: ${execs:-?} executions, corpus ${corpus} files, $status"
    if [ -n "$crashes" ]; then
        line="$line; crash files:"$'\n'"$(sed 's/^/    fuzz\//' <<<"$crashes")"
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "== summary (${SECS}s per target)"
printf '%s\n' "${summary[@]}"
