#!/usr/bin/env bash
# Creates (or reuses) a cached virtualenv for the end-to-end tests, the way
# scripts/ray-env.sh does for the differential test: one pip command with
# exact pins, a marker file written only after the install and an import
# check succeeded, a lock so concurrent runs do not build the same venv twice.
#
# Usage: scripts/e2e/venv.sh NAME PYTHON REQUIREMENT...
# Prints the venv's python path as the only stdout line; progress and errors
# go to stderr. Venvs live under
#   ${E2E_VENV_ROOT:-$HOME/.cache/bentoray/e2e-venvs}/NAME
# and are reused only when the marker names the same interpreter version and
# the same requirement list.
set -euo pipefail

die() { echo "e2e/venv.sh: $*" >&2; exit 1; }

[[ $# -ge 3 ]] || die "usage: venv.sh NAME PYTHON REQUIREMENT..."
name=$1 base_py=$2
shift 2
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "bad venv name '$name'"
[[ -x $base_py ]] || base_py=$(command -v "$base_py") || die "no interpreter '$2'"

root=${E2E_VENV_ROOT:-$HOME/.cache/bentoray/e2e-venvs}
venv=$root/$name
py=$venv/bin/python
marker=$venv/.bentoray-ok
want="$("$base_py" -c 'import sys; print("python%d.%d.%d" % sys.version_info[:3])') $*"

export PIP_DISABLE_PIP_VERSION_CHECK=1 RAY_USAGE_STATS_ENABLED=0 BENTOML_DO_NOT_TRACK=true

ready() { [[ -x $py && -f $marker && "$(cat "$marker")" == "$want" ]]; }

if ready; then echo "$py"; exit 0; fi

mkdir -p "$root"
exec 9>"$root/.$name.lock"
if command -v flock >/dev/null 2>&1; then
    timeout 900 flock 9 || die "timed out waiting for the lock on $name"
fi
if ready; then echo "$py"; exit 0; fi

if [[ -e $venv ]]; then
    echo "e2e/venv.sh: removing incomplete or outdated venv $venv" >&2
    rm -rf "$venv"
fi

echo "e2e/venv.sh: creating $venv with $base_py: pip install $*" >&2
"$base_py" -m venv "$venv" >&2 || die "$base_py -m venv $venv failed"
# Bounded: a stuck index connection must not eat CI's whole time budget.
if ! timeout 900 "$py" -m pip install --quiet --disable-pip-version-check "$@" >&2; then
    rm -rf "$venv"
    die "pip install $* failed (see pip output above)"
fi
if ! "$py" -c 'import bentoml, ray, sklearn; from ray import serve; print("bentoml", bentoml.__version__, "ray", ray.__version__)' >&2; then
    rm -rf "$venv"
    die "installed, but importing bentoml/ray/sklearn failed"
fi
echo "$want" >"$marker"
echo "$py"
