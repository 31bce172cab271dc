#!/usr/bin/env bash
# Prints bentoray's speed and memory figures (release build):
#   - `check` and `build` of the bundled examples (what a pre-commit hook runs);
#   - `check` of a synthetic bento with many runners and a spec configuring
#     all of them, to show how the cost grows.
# Usage: scripts/bench.sh [--quick]   (--quick: fewer repetitions, for CI)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=50
big_runners=500
if [[ "${1:-}" == "--quick" ]]; then runs=10; big_runners=200; fi

cargo build --release --locked -q
bin=$PWD/target/release/bentoray
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# mean wall time in ms of `$@` over $runs runs
mean_ms() {
  local start end
  start=$(date +%s%N)
  for ((i = 0; i < runs; i++)); do "$@" >/dev/null 2>&1 || true; done
  end=$(date +%s%N)
  awk -v t=$((end - start)) -v n="$runs" 'BEGIN { printf "%.2f", t / n / 1e6 }'
}

# peak resident memory in KiB of one run of `$@`
peak_kib() {
  /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -n 1
}

# A synthetic store: one bento with $big_runners sklearn runners, each with
# its own model (two signatures), and a spec that configures every runner
# and batches every batchable method.
make_big() {
  local store=$work/store bento=$work/store/bentos/big/v1 n=$1
  mkdir -p "$bento"
  printf v1 >"$work/store/bentos/big/latest"
  {
    echo "service: service:svc"
    echo "name: big"
    echo "version: v1"
    echo "bentoml_version: 1.1.11"
    echo "creation_time: '2026-11-27T00:00:00+00:00'"
    echo "runners:"
    for ((i = 0; i < n; i++)); do
      echo "- name: r$i"
      echo "  runnable_type: SklearnRunnable"
      echo "  embedded: false"
      echo "  models: [m$i:v1]"
      echo "  resource_config: null"
    done
    echo "apis: []"
  } >"$bento/bento.yaml"
  for ((i = 0; i < n; i++)); do
    mkdir -p "$store/models/m$i/v1"
    printf 'name: m%d\nversion: v1\nmodule: bentoml.sklearn\nsignatures:\n  predict:\n    batchable: true\n    batch_dim: [0, 0]\n  predict_proba:\n    batchable: false\n' "$i" \
      >"$store/models/m$i/v1/model.yaml"
  done
  {
    echo "bento = \"big:latest\""
    echo "bentoml_home = \"store\""
    echo "enable_batching = true"
    for ((i = 0; i < n; i++)); do
      printf '[runners.r%d]\nnum_replicas = 2\nmax_ongoing_requests = 64\nray_actor_options = { num_cpus = 0.5, memory = 1073741824 }\n' "$i"
      printf '[batching.r%d.predict]\nmax_batch_size = 32\nbatch_wait_timeout_s = 0.01\n' "$i"
    done
  } >"$work/big.toml"
}
make_big "$big_runners"

echo "bentoray benchmark ($(nproc) cores; $runs runs per figure; release build)"
printf '%-44s %10s %12s\n' "case" "mean ms" "peak KiB"
for example in tag_only scaling batching two_runners; do
  spec=examples/$example/bentoray.toml
  printf '%-44s %10s %12s\n' "check $example" "$(mean_ms "$bin" check "$spec")" "$(peak_kib "$bin" check "$spec")"
done
spec=examples/two_runners/bentoray.toml
printf '%-44s %10s %12s\n' "build two_runners" \
  "$(mean_ms "$bin" build "$spec" -o "$work/out")" "$(peak_kib "$bin" build "$spec" -o "$work/out")"
printf '%-44s %10s %12s\n' "check $big_runners runners ($(wc -c <"$work/big.toml") B spec)" \
  "$(mean_ms "$bin" check "$work/big.toml")" "$(peak_kib "$bin" check "$work/big.toml")"
printf '%-44s %10s %12s\n' "build $big_runners runners" \
  "$(mean_ms "$bin" build "$work/big.toml" -o "$work/bigout")" "$(peak_kib "$bin" build "$work/big.toml" -o "$work/bigout")"
"$bin" check "$work/big.toml" >/dev/null 2>&1 || { echo "synthetic spec did not check clean"; "$bin" check "$work/big.toml"; exit 1; }
