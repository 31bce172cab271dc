#!/usr/bin/env bash
# Instruction-count regression guard: runs `bentoray check` on the iris
# example (examples/scaling) under callgrind and fails when the count grows
# by more than $margin_percent over the committed baseline
# (scripts/bench/iris.icount). Instruction counts repeat where wall times do
# not: the run has a fixed environment, relative paths, no ASLR (setarch -R),
# and is done twice; the two counts must agree within 0.1% (HashMap seeds move
# them by a few thousand instructions).
# Usage: scripts/icount-guard.sh [--update]   (--update: rewrite the baseline)
# Expects target/release/bentoray (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."

margin_percent=2
baseline_file=scripts/bench/iris.icount
bin=target/release/bentoray

if ! command -v valgrind >/dev/null; then
  echo "SKIPPED icount-guard: valgrind not installed"
  exit 0
fi
[[ -x $bin ]] || { echo "icount-guard: $bin missing; run cargo build --release" >&2; exit 2; }

count() {
  local no_aslr=()
  setarch -R true 2>/dev/null && no_aslr=(setarch -R)
  env -i PATH=/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 NO_COLOR=1 \
    "${no_aslr[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" check examples/scaling/bentoray.toml 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

first=$(count)
second=$(count)
[[ -n $first && -n $second ]] || { echo "icount-guard: callgrind printed no count" >&2; exit 2; }
if ! awk -v a="$first" -v b="$second" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= a / 1000) }'; then
  echo "icount-guard: counts not repeatable: $first vs $second" >&2
  exit 2
fi
measured=$((first > second ? first : second))

if [[ ${1:-} == --update ]]; then
  echo "$measured" >"$baseline_file"
  echo "icount-guard: baseline set to $measured instructions"
  exit 0
fi
baseline=$(cat "$baseline_file")
limit=$((baseline + baseline * margin_percent / 100))
change=$(awk -v m="$measured" -v b="$baseline" 'BEGIN { printf "%+.2f%%", (m - b) * 100 / b }')
echo "icount-guard: check iris: $measured instructions (baseline $baseline, $change, limit +$margin_percent%)"
if ((measured > limit)); then
  echo "icount-guard: FAILED: $measured > $limit; find the regression with callgrind_annotate, or run scripts/icount-guard.sh --update if it is intended" >&2
  exit 1
fi
if ((measured < baseline - baseline / 10)); then
  echo "icount-guard: 10% below the baseline; consider scripts/icount-guard.sh --update"
fi
