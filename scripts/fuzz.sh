#!/usr/bin/env bash
# Builds bentoray's cargo-fuzz targets (fuzz/) and runs each for a bounded
# time, one process at a time at low priority. Findings land in
# fuzz/artifacts/<target>/; the growing corpus in fuzz/corpus/<target>/
# (both ignored by git; the committed seeds are fuzz/seeds/<target>/).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default: 60, all)
#   scripts/fuzz.sh --replay [TARGET...]
#
# --replay runs each target once over its corpus and seeds, dumping every
# emitted serve.yaml and entrypoint, then reads them with PyYAML and Python's
# `ast` (fuzz/pyyaml_ast_check.py; python3 with PyYAML): the YAML 1.1 and
# Python round trip that cannot run inside the fuzzer.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --version 0.13.2 --locked`);
# RUSTC_BOOTSTRAP lets it use the nightly-only sanitizer flags on stable.
# FUZZ_ARGS adds libFuzzer flags (e.g. `-runs=0` replays the corpus only).
# Prints one line per target with libFuzzer's final executions and coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
replay=0
if [[ ${1:-} == --replay ]]; then
    replay=1
    shift
    seconds=0
else
    seconds=${1:-60}
    shift || true
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(check_spec load_bento load_archive emit_roundtrip)
fi
command -v cargo-fuzz >/dev/null || {
    echo "fuzz.sh: cargo-fuzz missing; cargo install cargo-fuzz --version 0.13.2 --locked" >&2
    exit 2
}
export RUSTC_BOOTSTRAP=1
# Tags in specs resolve against the example store, wherever this runs.
export BENTOML_HOME="$PWD/examples/bentoml"
(cd fuzz && nice -n 10 cargo fuzz build) >&2
status=0
if [[ $replay == 1 ]]; then
    dump=$(mktemp -d)
    trap 'rm -rf "$dump"' EXIT
    for t in "${targets[@]}"; do
        mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
        (cd fuzz && BENTORAY_FUZZ_DUMP="$dump" nice -n 10 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
            -runs=0 -timeout=10 -rss_limit_mb=2048) >"$dump.$t.log" 2>&1 || {
            tail -n 20 "$dump.$t.log"
            status=1
        }
        rm -f "$dump.$t.log"
    done
    echo "replayed: $(find "$dump" -mindepth 1 -maxdepth 1 -type d | wc -l) distinct outputs" >&2
    python3 fuzz/pyyaml_ast_check.py "$dump" | tail -n 40 || status=1
    exit $status
fi
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t" fuzz/logs
    log="fuzz/logs/$t.log"
    extra=()
    # Its input is raw material for a structured plan: long inputs from the start.
    [[ $t == emit_roundtrip ]] && extra=(-len_control=0 -max_len=4096)
    set +e
    # shellcheck disable=SC2086 # FUZZ_ARGS: extra libFuzzer flags, split on spaces
    (cd fuzz && nice -n 10 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" "${extra[@]}" ${FUZZ_ARGS:-}) >"$log" 2>&1
    rc=$?
    set -e
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    echo "$t: exit $rc, executions ${execs:-?}; last status: ${last:-none} (log: $log)"
    [ "$rc" -eq 0 ] || status=1
done
exit $status
