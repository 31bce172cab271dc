#!/usr/bin/env bash
# Installs the pinned Python tools the tests use into a cached virtualenv and
# prints its bin directory: ruff (lints and format-checks the generated
# entrypoints), PyYAML (loads the emitted serve.yaml files as Ray does), taplo
# and check-jsonschema (validate the example specs with the committed schema,
# as the README's editor setup does). `cargo test` finds them through
# $BENTORAY_RUFF, $BENTORAY_PYTHON, $BENTORAY_TAPLO and
# $BENTORAY_CHECK_JSONSCHEMA and skips (saying so) without them.
set -euo pipefail

RUFF_VERSION=0.17.5
PYYAML_VERSION=6.0.3
TAPLO_VERSION=0.9.3
CHECK_JSONSCHEMA_VERSION=0.39.0
root=${BENTORAY_TOOLS_ROOT:-$HOME/.cache/bentoray/tools}
venv=$root/venv-ruff-$RUFF_VERSION-pyyaml-$PYYAML_VERSION-taplo-$TAPLO_VERSION-cj-$CHECK_JSONSCHEMA_VERSION
marker=$venv/.bentoray-ok

if [[ ! -f $marker ]]; then
  rm -rf "$venv"
  mkdir -p "$root"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "ruff==$RUFF_VERSION" "pyyaml==$PYYAML_VERSION" "taplo==$TAPLO_VERSION" \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" >&2
  "$venv/bin/ruff" --version >&2
  "$venv/bin/python" -c 'import yaml; print("PyYAML", yaml.__version__)' >&2
  "$venv/bin/taplo" --version >&2
  "$venv/bin/check-jsonschema" --version >&2
  touch "$marker"
fi
echo "$venv/bin"
