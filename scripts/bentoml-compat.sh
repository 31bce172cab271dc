#!/usr/bin/env bash
# Runs bentoray's native runtime against each supported BentoML release,
# without Ray or a cluster: for every pinned release it makes a venv (BentoML,
# scikit-learn, numpy; no Ray), builds the compat bento (scripts/bentoml-compat/
# bento) with that release, generates its entrypoint with `bentoray build`,
# and runs scripts/bentoml-compat/driver.py on it, which exercises the
# BentoML internals the runtime uses (AutoContainer batch join/split,
# init_local, init_client, asgi_app, runner method tables, EXPORT_BENTO
# pickling). A BentoML release that moves one of them fails here.
#
#   scripts/bentoml-compat.sh [VERSION...]     (default: every pinned release)
#
# Venvs are cached under ${BENTOML_COMPAT_VENVS:-$HOME/.cache/bentoray/compat-venvs}
# (reused only when their marker names the same requirements); pip's download
# cache lives in a temporary directory for this run only.
# Last line: `N passed, M failed`, the driver's checks summed over the releases
# (a release whose setup or driver failed adds one failure); exit 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
compat=$root/scripts/bentoml-compat

# Release -> pinned requirements. 1.1 needs pydantic 1, numpy 1 and an older
# protobuf/click (as in scripts/e2e.sh's bentoml mode); 1.2's SDK imports a
# pydantic internal that pydantic 2.8 removed.
declare -A REQS=(
    [1.1.11]="bentoml==1.1.11 scikit-learn==1.7.2 numpy==1.26.4 pydantic<2 protobuf<4 click<8.2"
    [1.2.20]="bentoml==1.2.20 scikit-learn==1.7.2 numpy==1.26.4 pydantic==2.7.4"
    [1.3.22]="bentoml==1.3.22 scikit-learn==1.7.2 numpy==2.4.6 pydantic==2.14.4"
    [1.4.40]="bentoml==1.4.40 scikit-learn==1.7.2 numpy==2.4.6 pydantic==2.14.4"
)
# Releases the runtime is known not to run on, with the check that fails
# first: they are run too, must fail exactly there (so a fix shows), and are
# reported without counting as failures.
declare -A KNOWN_BROKEN=(
    [1.1.11]="bentoml.load_config + bentoml.load"
)
declare -A WHY_BROKEN=(
    [1.1.11]="bentoml.load_config() has no override_defaults before BentoML 1.2"
)
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(1.1.11 1.2.20 1.3.22 1.4.40)

venvs=${BENTOML_COMPAT_VENVS:-$HOME/.cache/bentoray/compat-venvs}
work=$(mktemp -d "${TMPDIR:-/tmp}/bentoray-compat.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PIP_CACHE_DIR=$work/pip-cache PIP_DISABLE_PIP_VERSION_CHECK=1 BENTOML_DO_NOT_TRACK=true

start=$(date +%s)
cargo build --release --locked -q
bentoray=$root/target/release/bentoray

passed=0 failed=0 known=0
fail() { echo "FAIL bentoml $1: $2"; failed=$((failed + 1)); }

want() { echo "$(python3 -c 'import sys; print("python%d.%d.%d" % sys.version_info[:3])') ${REQS[$1]}"; }
make_venv() {
    local v=$1 venv=$venvs/bentoml-$1
    [[ -f $venv/.bentoray-ok && "$(cat "$venv/.bentoray-ok")" == "$(want "$v")" ]] && return 0
    rm -rf "$venv"
    # shellcheck disable=SC2086 # the requirement list splits on spaces
    python3 -m venv "$venv" && timeout 900 "$venv/bin/pip" install --quiet ${REQS[$v]} &&
        want "$v" >"$venv/.bentoray-ok"
}

# The installs run side by side (they mostly wait on downloads and unpacking).
mkdir -p "$venvs"
t0=$(date +%s)
declare -A installs=()
for v in "${versions[@]}"; do
    [[ -n ${REQS[$v]:-} ]] || continue
    make_venv "$v" >"$work/pip-$v.log" 2>&1 &
    installs[$v]=$!
done
declare -A installed=()
for v in "${!installs[@]}"; do
    if wait "${installs[$v]}"; then installed[$v]=1; fi
done
echo "venvs ready in $(($(date +%s) - t0)) s"

for v in "${versions[@]}"; do
    if [[ -z ${REQS[$v]:-} ]]; then
        fail "$v" "no pinned requirements for this release"
        continue
    fi
    if [[ -z ${installed[$v]:-} ]]; then
        cat "$work/pip-$v.log"
        rm -rf "${venvs:?}/bentoml-$v"
        fail "$v" "pip install ${REQS[$v]} failed"
        continue
    fi
    t0=$(date +%s)
    venv=$venvs/bentoml-$v
    py=$venv/bin/python
    home=$work/home-$v
    mkdir -p "$home" "$work/project-$v"
    cp "$compat"/bento/* "$work/project-$v/"
    if ! tag=$(BENTOML_HOME=$home "$py" "$root/scripts/e2e/build_bento.py" "$work/project-$v" 2>"$work/build-$v.log" | tail -n 1); then
        cat "$work/build-$v.log"
        fail "$v" "building the compat bento failed"
        continue
    fi
    cat >"$work/spec-$v.toml" <<SPEC
bento = "$tag"
bentoml_home = "home-$v"
enable_batching = true

[runners.iris_clf]
max_ongoing_requests = 8

[batching.iris_clf.predict]
max_batch_size = 8
batch_wait_timeout_s = 0.01

[batching.compat.rows]
max_batch_size = 4
batch_wait_timeout_s = 0.02

[batching.compat.columns]
max_batch_size = 4
batch_wait_timeout_s = 0.03

[batching.compat.items]
max_batch_size = 4
batch_wait_timeout_s = 0.04
SPEC
    if ! "$bentoray" --color never build "$work/spec-$v.toml" -o "$work/out-$v" >"$work/bentoray-$v.log" 2>&1; then
        cat "$work/bentoray-$v.log"
        fail "$v" "bentoray build failed"
        continue
    fi
    echo "== bentoml $v ($tag)"
    # From the scratch directory: the bento's modules must come from the store.
    if (cd "$work" && BENTOML_HOME=$home timeout 600 "$py" "$compat/driver.py" "$work/out-$v/bento_ray.py") >"$work/driver-$v.log" 2>&1; then
        ok=1
    else
        ok=0
    fi
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/driver-$v.log" | tail -n 1 || true)
    first=$(grep -E '^FAIL ' "$work/driver-$v.log" | head -n 1 || true)
    # The checks' lines, and the whole log (BentoML's warnings, tracebacks)
    # only when something failed that was not expected to.
    checks() { grep -E '^(ok|FAIL) ' "$work/driver-$v.log" | sed 's/^/    /'; }
    if [[ -n ${KNOWN_BROKEN[$v]:-} ]]; then
        if [[ $ok == 0 && $first == "FAIL ${KNOWN_BROKEN[$v]}"* ]]; then
            checks
            known=$((known + 1))
            echo "known-broken bentoml $v: ${WHY_BROKEN[$v]} (fails as expected: ${line:-no summary})"
        elif [[ $ok == 1 ]]; then
            checks
            fail "$v" "listed as known-broken but now passes: list it as supported"
        else
            sed 's/^/    /' "$work/driver-$v.log"
            fail "$v" "known-broken, but fails somewhere new: ${first:-the driver did not finish}"
        fi
        continue
    fi
    if [[ -n $line ]]; then
        read -r p _ f _ <<<"$line"
        passed=$((passed + p)) failed=$((failed + f))
    fi
    if [[ $ok == 1 && -n $line ]]; then
        checks
        echo "ok   bentoml $v: $line ($(($(date +%s) - t0)) s)"
    else
        sed 's/^/    /' "$work/driver-$v.log"
        fail "$v" "${line:-the driver did not finish}"
    fi
done
echo "bentoml-compat: $(($(date +%s) - start)) s in all"
[[ $known == 0 ]] || echo "bentoml-compat: $known known-broken release(s) failed as expected"
echo "bentoml-compat: $passed passed, $failed failed"
[[ $failed == 0 ]]
