#!/usr/bin/env bash
# Creates (or reuses) a virtualenv with exactly `ray[serve]==VERSION`, for the
# differential test against Ray's own config validation (scripts/ray_verdict.py).
#
# Usage: scripts/ray-env.sh VERSION
# Prints the venv's python path as the only stdout line; all progress and
# errors go to stderr. Venvs live under
#   ${RAY_VENV_ROOT:-$HOME/.cache/bentoray/ray-venvs}/ray-VERSION
# A venv is reused when its marker file (written only after a successful
# install + import check) exists and names the same version.
set -euo pipefail

die() { echo "ray-env.sh: $*" >&2; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: ray-env.sh VERSION (e.g. 2.31.0)"
version=$1
[[ $version =~ ^[0-9]+(\.[0-9]+)*([a-z0-9.+-]*)$ ]] || die "bad version '$version'"

root=${RAY_VENV_ROOT:-$HOME/.cache/bentoray/ray-venvs}
venv=$root/ray-$version
py=$venv/bin/python
marker=$venv/.bentoray-ok

export RAY_USAGE_STATS_ENABLED=0 PIP_DISABLE_PIP_VERSION_CHECK=1

# Fast path: a previous run finished successfully.
if [[ -x $py && -f $marker && "$(cat "$marker")" == "ray[serve]==$version" ]]; then
    echo "$py"
    exit 0
fi

mkdir -p "$root"

# Serialise concurrent runs for the same version: flock where available,
# otherwise an atomic mkdir lock (stale after 15 minutes).
lock=$root/.ray-$version.lock
if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock"
    flock 9
else
    waited=0
    until mkdir "$lock.d" 2>/dev/null; do
        ((waited++ < 900)) || die "timed out waiting for lock $lock.d"
        sleep 1
    done
    trap 'rmdir "$lock.d" 2>/dev/null || true' EXIT
fi

# Someone else may have finished while we waited for the lock.
if [[ -x $py && -f $marker && "$(cat "$marker")" == "ray[serve]==$version" ]]; then
    echo "$py"
    exit 0
fi

# A venv without the marker is half-built (failed or interrupted): start over.
if [[ -e $venv ]]; then
    echo "ray-env.sh: removing incomplete venv $venv" >&2
    rm -rf "$venv"
fi

echo "ray-env.sh: creating $venv and installing ray[serve]==$version ..." >&2
python3 -m venv "$venv" >&2 || die "python3 -m venv $venv failed"

if ! "$py" -m pip install --quiet --disable-pip-version-check "ray[serve]==$version" >&2; then
    rm -rf "$venv"
    die "pip install 'ray[serve]==$version' failed (see pip output above)"
fi

# Importing the schema must not start Ray (ray.init is never called).
if ! "$py" -c 'import ray; from ray.serve.schema import ServeDeploySchema; print("ray", ray.__version__)' >&2; then
    rm -rf "$venv"
    die "ray[serve]==$version installed but 'from ray.serve.schema import ServeDeploySchema' failed"
fi

echo "ray[serve]==$version" >"$marker"
echo "$py"
