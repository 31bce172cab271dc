#!/usr/bin/env bash
# Installs the pinned Python tools the tests use (ruff, to lint and
# format-check the generated entrypoints; PyYAML, to load the emitted
# serve.yaml files as Ray does) into a cached virtualenv and prints its bin
# directory. `cargo test` finds them through $BENTORAY_RUFF and
# $BENTORAY_PYTHON and skips (saying so) without them.
set -euo pipefail

RUFF_VERSION=0.17.5
PYYAML_VERSION=6.0.3
root=${BENTORAY_TOOLS_ROOT:-$HOME/.cache/bentoray/tools}
venv=$root/venv-ruff-$RUFF_VERSION-pyyaml-$PYYAML_VERSION
marker=$venv/.bentoray-ok

if [[ ! -f $marker ]]; then
  rm -rf "$venv"
  mkdir -p "$root"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ruff==$RUFF_VERSION" "pyyaml==$PYYAML_VERSION" >&2
  "$venv/bin/ruff" --version >&2
  "$venv/bin/python" -c 'import yaml; print("PyYAML", yaml.__version__)' >&2
  touch "$marker"
fi
echo "$venv/bin"
