#!/usr/bin/env bash
# The pre-commit route, end to end, with the real tools (pinned):
#  1. build the binary-only wheel with maturin (packaging/pypi/);
#  2. `pip install` it into a fresh venv, offline, and run it;
#  3. run the real `pre-commit try-repo` of this repository's
#     `bentoray-check` hook against a throwaway git repository, with no
#     package index and no Rust toolchain on PATH, so the hook can only be
#     installed from the wheel: a good spec passes, a bad one fails with
#     the diagnostic shown.
# Prints `pre-commit: N passed, M failed` and exits non-zero on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

MATURIN_VERSION=1.16.0
PRE_COMMIT_VERSION=4.7.0
# What pip needs to build setup.py's placeholder package, offline.
SETUPTOOLS_VERSION=80.9.0
tools=${BENTORAY_TOOLS_ROOT:-$HOME/.cache/bentoray/tools}/venv-maturin-$MATURIN_VERSION-pre-commit-$PRE_COMMIT_VERSION
if [[ ! -f $tools/.bentoray-ok ]]; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin==$MATURIN_VERSION" "pre-commit==$PRE_COMMIT_VERSION"
  touch "$tools/.bentoray-ok"
fi
"$tools/bin/maturin" --version
"$tools/bin/pre-commit" --version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAILED: $1"; failed=$((failed + 1)); }

echo "-- build the wheel"
start=$SECONDS
(cd packaging/pypi && "$tools/bin/maturin" build --release --locked --quiet --out "$work/wheels")
wheel=$(ls "$work"/wheels/bentoray-*.whl)
echo "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1)) in $((SECONDS - start)) s"
# (The listing is taken whole first: `grep -q` quitting early would make
# the lister fail with SIGPIPE under pipefail.)
listing=$(python3 -m zipfile -l "$wheel")
grep -qE '^bentoray-[^/]*\.data/scripts/bentoray ' <<<"$listing" && pass "the wheel holds the bentoray binary" ||
  fail "no bentoray binary in the wheel"

echo "-- pip install into a fresh venv (no index) and run it"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
  --find-links "$work/wheels" bentoray
version=$("$work/venv/bin/bentoray" --version)
[[ $version == "bentoray $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" ]] &&
  pass "installed: $version" || fail "installed binary says '$version'"
if "$work/venv/bin/bentoray" check examples/two_runners/bentoray.toml 2>"$work/check.log"; then
  pass "the installed bentoray checks an example"
else
  cat "$work/check.log"
  fail "the installed bentoray rejects an example"
fi

echo "-- pre-commit try-repo against a throwaway repository"
"$tools/bin/python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
  --dest "$work/wheels" "setuptools==$SETUPTOOLS_VERSION"
repo=$work/project
mkdir -p "$repo/deploy"
cp -r examples/bentoml "$repo/deploy/bentoml"
cat >"$repo/deploy/bentoray.toml" <<'TOML'
bento = "iris_classifier:latest"
bentoml_home = "bentoml"

[runners.iris_clf]
num_replicas = 2
TOML
# Not named bentoray.toml: the hook must not look at it.
printf 'not = [toml\n' >"$repo/deploy/xbentoray.toml"
git -C "$repo" init --quiet
git -C "$repo" add -A
# No index (the hook can only come from the wheel) and no cargo or rustc
# on PATH (nothing may be compiled).
hook_env=(env PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/wheels" PRE_COMMIT_HOME="$work/pre-commit-home"
  PATH="$tools/bin:/usr/local/bin:/usr/bin:/bin" CARGO=/nonexistent RUSTC=/nonexistent)
if PATH="$tools/bin:/usr/local/bin:/usr/bin:/bin" command -v cargo >/dev/null; then
  echo "note: cargo is in a system directory; only the empty index keeps pip from compiling"
fi
try_repo() { (cd "$repo" && "${hook_env[@]}" pre-commit try-repo "$root" bentoray-check --all-files --color never); }
start=$SECONDS
if try_repo >"$work/good.log" 2>&1; then
  grep -q 'bentoray check.*Passed' "$work/good.log" && pass "a good spec passes the hook" ||
    { cat "$work/good.log"; fail "hook succeeded without saying Passed"; }
else
  cat "$work/good.log"
  fail "the hook rejects a good spec (or could not be installed)"
fi
echo "first run (installs the hook from the wheel): $((SECONDS - start)) s"

sed -i 's/iris_clf/iris_clff/' "$repo/deploy/bentoray.toml"
git -C "$repo" add -A
if try_repo >"$work/bad.log" 2>&1; then
  cat "$work/bad.log"
  fail "the hook accepts a spec with an unknown runner"
elif grep -q 'BR102' "$work/bad.log" && grep -q 'unknown runner `iris_clff`' "$work/bad.log" &&
  grep -q 'deploy/bentoray.toml:4:10' "$work/bad.log"; then
  cat "$work/bad.log"
  pass "a bad spec fails the hook with the diagnostic shown"
else
  cat "$work/bad.log"
  fail "the hook failed without showing the diagnostic"
fi

echo "pre-commit: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
