#!/usr/bin/env bash
# bentoray's speed and memory figures (release build), side by side with the
# tools a user would run instead on the same example:
#   - check-jsonschema and taplo with the committed schema (pinned, from PyPI,
#     installed by scripts/python-tools.sh, as for the tests);
#   - the status quo: importing the generated bento_ray.py with the bento's
#     BentoML (1.1.11, bentoml.ray.deployment) installed, timed when the venv
#     that scripts/e2e.sh builds exists.
# Prints one table (case, median wall time, peak RSS, instructions, ratios to
# the peers, growth per 10× size) and the targets. See scripts/bench/bench.py.
# Usage: scripts/bench.sh [--quick]   (--quick: fewer runs and series, for CI)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -q
peers=$(scripts/python-tools.sh) || { echo "SKIPPED peers: scripts/python-tools.sh failed" >&2; peers=; }
status_quo=${E2E_VENV_ROOT:-$HOME/.cache/bentoray/e2e-venvs}/bentoml-py3.10
args=()
[[ -n $peers ]] && args+=(--peers "$peers")
if [[ -f $status_quo/.bentoray-ok && -x $status_quo/bin/python ]]; then
  args+=(--status-quo "$status_quo/bin/python")
fi
nice_level=${BENTORAY_BENCH_NICE:-0}
exec nice -n "$nice_level" python3 scripts/bench/bench.py target/release/bentoray "$@" "${args[@]}"
