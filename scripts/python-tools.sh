#!/usr/bin/env bash
# Installs the pinned Python tools the tests use (ruff, to lint the generated
# entrypoints) into a cached virtualenv and prints its bin directory.
# `cargo test` finds ruff through $BENTORAY_RUFF and skips (saying so) without it.
set -euo pipefail

RUFF_VERSION=0.17.5
root=${BENTORAY_TOOLS_ROOT:-$HOME/.cache/bentoray/tools}
venv=$root/venv-ruff-$RUFF_VERSION
marker=$venv/.bentoray-ok

if [[ ! -f $marker ]]; then
  rm -rf "$venv"
  mkdir -p "$root"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ruff==$RUFF_VERSION" >&2
  "$venv/bin/ruff" --version >&2
  touch "$marker"
fi
echo "$venv/bin"
