#!/usr/bin/env bash
# Differential test of bentoray's verdicts against Ray Serve's own validation
# (schema parsing plus the controller's deploy-time checks), for a Ray release
# at or before 2.32 and the newest release bentoray knows. Each release gets
# its own venv with pinned ray[serve] (scripts/ray-env.sh); no Ray cluster is
# started. Prints a summary per release and fails on any unexplained
# disagreement (see tests/ray-diff/deliberate.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

releases=(${RAY_DIFF_RELEASES:-2.31.0 2.60.0})

cargo build --release --locked -q
targets=()
for release in "${releases[@]}"; do
  start=$(date +%s)
  python=$(scripts/ray-env.sh "$release")
  echo "ray-diff: ray[serve]==$release ready in $(($(date +%s) - start)) s ($python)"
  targets+=("$release=$python")
done
# Any Ray venv has PyYAML for reading the emitted serve.yaml files.
"${targets[-1]#*=}" scripts/ray_diff.py \
  --bentoray target/release/bentoray --store examples/bentoml "${targets[@]}"
