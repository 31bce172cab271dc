#!/usr/bin/env bash
# End-to-end tests of bentoray with real BentoML and Ray Serve clusters.
#
#   native:  bentoml==1.4.40 + ray[serve]==2.60.0 on python3 (3.11). Builds a
#            two-runner legacy bento, `bentoray build`s its native entrypoint,
#            `serve deploy`s it and checks every API, the deployments' replicas
#            and options, and per-runner batching; then once more with
#            bento_serialization = "LOCAL_BENTO".
#   services: the same venv; builds a new-style (`@bentoml.service`) bento of
#            three services (Gateway -> Middle -> Leaf: sync and async APIs,
#            a pydantic argument, an uploaded file passed on, batchable and
#            streaming dependency APIs,
#            `resources` and `workers` in decorators), `bentoray build`s and
#            `serve deploy`s it and checks every API, that each dependency's
#            answers come from its own replicas (PIDs), batches at the
#            batchable API, replicas and options as planned; LOCAL_BENTO; a
#            stale entrypoint; then sends the same requests to `bentoml serve`
#            of the same bento on 127.0.0.1 and compares the answers.
#   cluster: the native venv on a two-node cluster (a head and a second
#            `ray start --address` node with its own ports and a `node2`
#            resource): `bentoray diff` before and after, `bentoray deploy`
#            next to an unrelated application deployed by hand (kept
#            running), a runner with num_replicas = 2 and
#            max_replicas_per_node = 1 (replicas on two nodes), `bentoray
#            status --wait` (exit 0), and a spec whose runner cannot find the
#            bento in its store: `bentoray status` reports it at
#            [runners.iris_clf]'s line. E2E_RECORD=DIR saves the dashboard's
#            answers (the fixtures of tests/cluster.rs).
#   bentoml: bentoml==1.1.11 + ray[serve]==2.7.2 on Python 3.10 (pyenv), the
#            `bentoml.ray.deployment` entrypoint on a single-method runner.
#            SKIPPED (saying so) when no Python 3.10 is found.
#
# Everything stays on 127.0.0.1 with non-default ports (checked by sampling
# the cluster's sockets); each Ray cluster runs with its own temp dir,
# BENTOML_HOME and a marker variable set only for `ray start`, in a session of
# its own, and exactly its processes (marker or session) are stopped at the
# end, also on failure. Never `ray stop`: it stops every Ray on the machine.
#
# Environment: E2E_VENV_ROOT (venv cache), E2E_PY310 (Python 3.10 to use),
# E2E_PORT_BASE (default 26300; uses base..base+149 and 20100-20999),
# BENTORAY (a prebuilt bentoray binary; default: cargo build --release),
# E2E_MODES (default "native services cluster bentoml"), E2E_KEEP=1 (keep the work dir),
# E2E_MUTATE (a sed script applied to the first native bento_ray.py, to see
# the checks catch a broken runtime).
# The last line is `N passed, M failed`; the exit status is non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
e2e=$here/e2e
modes=${E2E_MODES:-native services cluster bentoml}
port_base=${E2E_PORT_BASE:-26300}
work=$(mktemp -d "${TMPDIR:-/tmp}/bre2e.XXXXXX") # short: Ray's socket paths must fit 107 bytes
results=$work/results
summary=$work/summary
mark="bentoray-e2e-$$-$(date +%s)"
started_clusters=()
declare -A watchers=()  # cluster -> PID of its socket watcher
declare -A sessions=()  # cluster -> session ID(s) of its processes
declare -A base_ports=() # cluster -> first of its 50 ports
: >"$results"
: >"$summary"

export RAY_USAGE_STATS_ENABLED=0 BENTOML_DO_NOT_TRACK=true PIP_DISABLE_PIP_VERSION_CHECK=1
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

t_start=$SECONDS
log() { echo "[e2e $(date +%H:%M:%S)] $*" >&2; }
note() { echo "$*" >>"$summary"; log "$*"; }
record() { # PASS|FAIL NAME DETAIL
    echo "$1 $2: $3" | tee -a "$results" >&2
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- Ray clusters ------------------------------------------------------------

# PIDs of the processes of cluster $1: those carrying its marker, and those in
# the session `ray start` ran in (Ray's agents and workers rewrite their
# process title, which can wipe the marker from /proc/PID/environ).
marked_pids() {
    # shellcheck disable=SC2086
    python3 "$e2e/driver.py" cluster-pids --marker "$mark-$1" --sessions ${sessions[$1]:-} | tr ' ' '\n'
}

stop_cluster() {
    local name=$1
    stop_processes "$name"
    # The socket watcher ran for the cluster's whole life: report what it saw.
    local watcher=${watchers[$name]:-} dir=$work/$name
    [[ -n $watcher ]] || return 0
    unset "watchers[$name]"
    kill -TERM "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    python3 "$e2e/driver.py" check-sockets --name "$name" --out "$dir/sockets.txt" \
        --base "${base_ports[$name]}" || true
}

stop_processes() {
    local name=$1 pids left i
    pids=$(marked_pids "$name" | tr '\n' ' ')
    [[ -z ${pids// /} ]] && return 0
    log "stopping cluster $name: SIGTERM to $(wc -w <<<"$pids") processes"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 15; i++)); do # gcs_server/raylet may ignore SIGTERM for long
        left=$(marked_pids "$name" | tr '\n' ' ')
        [[ -z ${left// /} ]] && return 0
        sleep 1
    done
    log "cluster $name: SIGKILL to $(ps -o pid=,comm= -p "$(tr -s " " "," <<<"${left% }")" 2>/dev/null | tr -s ' \n' ' ')"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    for ((i = 0; i < 10; i++)); do
        [[ -z $(marked_pids "$name") ]] && return 0
        sleep 1
    done
    log "cluster $name: processes still alive: $(marked_pids "$name" | tr '\n' ' ')"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_cluster NAME VENV_BIN BASE_PORT head|agent [EXTRA ray start ARGS...]
# The 4th argument says where the Serve REST API (serve deploy, status) lives:
# on the dashboard (Ray 2.60) or on the dashboard agent (Ray 2.7).
# Sets: dash_url (the Serve REST API), serve_port (HTTP), cluster_home.
start_cluster() {
    local name=$1 bin=$2 base=$3 api=$4 p
    shift 4
    local dir=$work/$name
    mkdir -p "$dir/r" "$dir/bentoml"
    for ((p = base; p < base + 30; p++)); do
        port_free "$p" || { record FAIL "$name: port $p free" "in use; set E2E_PORT_BASE"; return 1; }
    done
    if [[ $api == agent ]]; then dash_url=http://127.0.0.1:$((base + 5)); else dash_url=http://127.0.0.1:$((base + 1)); fi
    serve_port=$((base + 20))
    cluster_home=$dir/bentoml
    started_clusters+=("$name")
    base_ports[$name]=$base
    "$bin/python" "$e2e/driver.py" watch-sockets --marker "$mark-$name" --out "$dir/sockets.txt" --parent $$ &
    watchers[$name]=$!
    local t0 launcher=()
    command -v setsid >/dev/null && launcher=(setsid -w) # a session of its own
    t0=$(now)
    # The marker, the proxies (Ray's dashboard probes cloud metadata URLs at
    # start-up: with a closed loopback proxy they never leave the machine) and
    # BENTOML_HOME reach every process of the cluster, replicas included.
    if ! env BENTORAY_E2E_OWNER="$mark-$name" \
        BENTOML_HOME="$cluster_home" \
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 \
        AUTOSCALER_METRIC_PORT=$((base + 11)) DASHBOARD_METRIC_PORT=$((base + 12)) \
        http_proxy=http://127.0.0.1:$((base + 10)) https_proxy=http://127.0.0.1:$((base + 10)) \
        HTTP_PROXY=http://127.0.0.1:$((base + 10)) HTTPS_PROXY=http://127.0.0.1:$((base + 10)) \
        "${launcher[@]}" timeout 180 "$bin/ray" start --head --disable-usage-stats \
        --node-ip-address=127.0.0.1 --port="$base" \
        --include-dashboard=true --dashboard-host=127.0.0.1 --dashboard-port=$((base + 1)) \
        --ray-client-server-port=$((base + 2)) --node-manager-port=$((base + 3)) \
        --object-manager-port=$((base + 4)) --dashboard-agent-listen-port=$((base + 5)) \
        --dashboard-agent-grpc-port=$((base + 6)) --runtime-env-agent-port=$((base + 7)) \
        --metrics-export-port=$((base + 8)) \
        --min-worker-port=20100 --max-worker-port=20999 \
        --num-cpus=4 --temp-dir="$dir/r" "$@" >"$dir/ray-start.log" 2>&1; then
        record FAIL "$name: ray start" "failed, log follows"
        tail -n 40 "$dir/ray-start.log" >&2
        return 1
    fi
    sessions[$name]=$(python3 "$e2e/driver.py" cluster-pids --marker "$mark-$name" --print-sessions)
    if [[ -z ${sessions[$name]} ]]; then
        record FAIL "$name: cluster processes found" "no process carries the marker $mark-$name"
        return 1
    fi
    local path=/api/version
    [[ $api == agent ]] && path=/api/ray/version
    if ! "$bin/python" "$e2e/driver.py" wait-dashboard --dashboard "$dash_url" --path $path --timeout 90 >/dev/null; then
        record FAIL "$name: Serve REST API up" "no answer from $dash_url$path within 90 s"
        return 1
    fi
    note "$name: ray start (dashboard answering) took $(since "$t0") s"
}

# Replica logs of a cluster, for a failure.
dump_serve_logs() {
    local dir=$work/$1
    log "last lines of Serve logs in $dir/r:"
    find "$dir/r" -path '*logs/serve/*' -name '*.log' 2>/dev/null | while read -r f; do
        echo "== $f" >&2
        tail -n 30 "$f" >&2
    done
}

# deploy NAME VENV_BIN SERVE_YAML APP
deploy() {
    local name=$1 bin=$2 yaml=$3 app=$4 t0 secs
    t0=$(now)
    if ! timeout 120 "$bin/serve" deploy -a "$dash_url" "$yaml" >"$work/$name/deploy-$app.log" 2>&1; then
        record FAIL "$name: serve deploy $app" "$(tail -n 5 "$work/$name/deploy-$app.log" | tr '\n' ' ')"
        return 1
    fi
    if secs=$("$bin/python" "$e2e/driver.py" wait --dashboard "$dash_url" --app "$app" --timeout 300); then
        record PASS "$name: $app RUNNING" "$(since "$t0") s after serve deploy"
        note "$name: serve deploy to RUNNING ($app): $(since "$t0") s"
    else
        record FAIL "$name: $app RUNNING" "not RUNNING within 300 s (see above)"
        dump_serve_logs "$name"
        return 1
    fi
}

# rehash_entrypoint OUT: after an edit of OUT/bento_ray.py, sets OUT/serve.yaml's
# BENTORAY_ENTRYPOINT_SHA256 to the edited file's, so that the runtime's
# own checks, not its hash check, judge the edit.
rehash_entrypoint() {
    sed -i "s/BENTORAY_ENTRYPOINT_SHA256: .*/BENTORAY_ENTRYPOINT_SHA256: \"$(sha256sum "$1/bento_ray.py" | cut -d' ' -f1)\"/" \
        "$1/serve.yaml"
}

# deploy_fails NAME VENV_BIN SERVE_YAML APP MESSAGE CHECK WHY: `serve deploy`
# of a build that must not start; PASS when APP is DEPLOY_FAILED with MESSAGE
# (recorded as CHECK; WHY says what is missing otherwise).
deploy_fails() {
    local name=$1 bin=$2 yaml=$3 app=$4 message=$5 check=$6 why=$7 t0 msg
    t0=$(now)
    timeout 120 "$bin/serve" deploy -a "$dash_url" "$yaml" >"$work/$name/deploy-$app.log" 2>&1 || true
    if msg=$("$bin/python" "$e2e/driver.py" wait --dashboard "$dash_url" --app "$app" --timeout 180 \
        --expect-failure "$message"); then
        record PASS "$name: $check" "DEPLOY_FAILED after $(since "$t0") s: ...$(tail -n 1 <<<"$msg")"
    else
        record FAIL "$name: $check" "$why (see above)"
    fi
}

# --- helpers -----------------------------------------------------------------

bentoray_bin() {
    if [[ -n ${BENTORAY:-} ]]; then echo "$BENTORAY"; return; fi
    (cd "$repo" && cargo build --release --locked --quiet >&2)
    echo "$repo/target/release/bentoray"
}

# build_bento NAME PYTHON PROJECT [--single]: prints the tag
build_bento() {
    local name=$1 py=$2 project=$3 t0 tag
    shift 3
    rm -rf "$work/$name/project"
    cp -r "$e2e/$project" "$work/$name/project"
    t0=$(now)
    tag=$(cd "$work/$name" && BENTOML_HOME=$cluster_home "$py" "$e2e/build_bento.py" \
        "$work/$name/project" "$@" 2>"$work/$name/build-bento.log" | tail -n 1) || {
        record FAIL "$name: bentoml build" "$(tail -n 5 "$work/$name/build-bento.log" | tr '\n' ' ')"
        return 1
    }
    note "$name: bentoml build took $(since "$t0") s ($tag)"
    echo "$tag"
}

# bentoray_build NAME SPEC OUT
bentoray_build() {
    local name=$1 spec=$2 out=$3
    if "$bentoray" build "$spec" -o "$out" >"$work/$name/bentoray.log" 2>&1; then
        record PASS "$name: bentoray build $(basename "$(dirname "$spec")")" "wrote $(cd "$out" && echo *)"
    else
        record FAIL "$name: bentoray build $(basename "$(dirname "$spec")")" "$(cat "$work/$name/bentoray.log")"
        return 1
    fi
}

versions() { "$1" -c 'import sys, bentoml, ray; print(f"python {sys.version.split()[0]}, bentoml {bentoml.__version__}, ray {ray.__version__}")' 2>/dev/null; }

# --- native ------------------------------------------------------------------

run_native() {
    local name=native t0 venv_py bin tag out spec
    t0=$(now)
    venv_py=$("$e2e/venv.sh" native-py3.11 python3 bentoml==1.4.40 "ray[serve]==2.60.0" scikit-learn) || {
        record FAIL "$name: venv" "pip install failed"
        return 1
    }
    bin=$(dirname "$venv_py")
    note "$name: venv ready in $(since "$t0") s: $(versions "$venv_py")"
    start_cluster "$name" "$bin" "$port_base" head || return 1
    tag=$(build_bento "$name" "$venv_py" native_bento) || return 1

    # Default: the bento travels pickled with the deployments (EXPORT_BENTO).
    out=$work/$name/out
    spec=$work/$name/spec/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec native --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" >"$spec" || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    if grep -q '^app = _build_application()$' "$out/bento_ray.py"; then
        record PASS "$name: native entrypoint emitted" "bento_ray.py ends with the runtime"
    else
        record FAIL "$name: native entrypoint emitted" "bento_ray.py has no _build_application"
        return 1
    fi
    if [[ -n ${E2E_MUTATE:-} ]]; then # to check that the checks catch a broken runtime
        log "applying E2E_MUTATE to $out/bento_ray.py: $E2E_MUTATE"
        sed -i -e "$E2E_MUTATE" "$out/bento_ray.py"
    fi
    deploy "$name" "$bin" "$out/serve.yaml" iris_classifier || return 1
    "$venv_py" "$e2e/driver.py" check native --url "http://127.0.0.1:$serve_port/iris" \
        --dashboard "$dash_url" --app iris_classifier >>"$summary" || dump_serve_logs "$name"

    # LOCAL_BENTO: every replica loads the bento from BENTOML_HOME. A new
    # application name and prefix, so the wait cannot see the previous app.
    out=$work/$name/out-local
    spec=$work/$name/spec-local/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec native --local-store --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" --app-name iris-local --route-prefix /iris-local \
        >"$spec" || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    deploy "$name" "$bin" "$out/serve.yaml" iris-local || return 1
    "$venv_py" "$e2e/driver.py" check native-local --url "http://127.0.0.1:$serve_port/iris-local" \
        --dashboard "$dash_url" --app iris-local >>"$summary" || dump_serve_logs "$name"

    # An entrypoint whose method table no longer matches the bento (as after
    # rebuilding the bento without rebuilding the entrypoint) must fail the
    # deploy with the runtime's own message.
    out=$work/$name/out-stale
    spec=$work/$name/spec-stale/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec native --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" --app-name iris-stale --route-prefix /iris-stale \
        >"$spec" || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    sed -i 's/^\( *\)"predict_proba": {$/\1"predict_probability": {/' "$out/bento_ray.py"
    # The hash kept in step: the runtime's method check (not its hash
    # check, below) is what fails.
    rehash_entrypoint "$out"
    deploy_fails "$name" "$bin" "$out/serve.yaml" iris-stale "does not match the entrypoint bentoray generated" \
        "stale entrypoint fails the deploy" "no DEPLOY_FAILED naming the mismatch"

    # An entrypoint from another build than its serve.yaml (here: one byte
    # added) must fail the deploy with the runtime's hash check.
    out=$work/$name/out-mismatch
    spec=$work/$name/spec-mismatch/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec native --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" --app-name iris-mismatch --route-prefix /iris-mismatch \
        >"$spec" || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    echo "#" >>"$out/bento_ray.py"
    deploy_fails "$name" "$bin" "$out/serve.yaml" iris-mismatch "is not the entrypoint this serve.yaml was built with" \
        "entrypoint/config hash mismatch fails the deploy" "no DEPLOY_FAILED naming the hash"
}

# --- services ----------------------------------------------------------------

# services_spec NAME OUT APP PREFIX [--local-store]: writes the spec, prints its path
services_spec() {
    local name=$1 out=$2 app=$3 prefix=$4 spec
    shift 4
    spec=$work/$name/spec-$app/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec services --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" --app-name "$app" --route-prefix "$prefix" "$@" \
        >"$spec" || return 1
    echo "$spec"
}

run_services() {
    local name=services t0 venv_py bin tag out spec
    t0=$(now)
    venv_py=$("$e2e/venv.sh" native-py3.11 python3 bentoml==1.4.40 "ray[serve]==2.60.0" scikit-learn) || {
        record FAIL "$name: venv" "pip install failed"
        return 1
    }
    bin=$(dirname "$venv_py")
    note "$name: venv ready in $(since "$t0") s: $(versions "$venv_py")"
    start_cluster "$name" "$bin" $((port_base + 100)) head || return 1
    tag=$(build_bento "$name" "$venv_py" services_bento --no-model) || return 1

    # Default: the exported bento travels with the deployments (EXPORT_BENTO).
    out=$work/$name/out
    spec=$(services_spec "$name" "$out" gateway /gw) || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    if grep -q '^ENTRY_SERVICE = "Gateway"$' "$out/bento_ray.py" && grep -q '^app = _build_application()$' "$out/bento_ray.py"; then
        record PASS "$name: services entrypoint emitted" "bento_ray.py: SERVICES data, then the runtime"
    else
        record FAIL "$name: services entrypoint emitted" "no ENTRY_SERVICE / _build_application in bento_ray.py"
        return 1
    fi
    deploy "$name" "$bin" "$out/serve.yaml" gateway || return 1
    "$venv_py" "$e2e/driver.py" check services --url "http://127.0.0.1:$serve_port/gw" \
        --dashboard "$dash_url" --app gateway --entrypoint "$out/bento_ray.py" \
        --serve-yaml "$out/serve.yaml" --answers "$work/$name/ray-answers.json" >>"$summary" ||
        dump_serve_logs "$name"

    # LOCAL_BENTO: every replica loads the bento from BENTOML_HOME.
    out=$work/$name/out-local
    spec=$(services_spec "$name" "$out" gateway-local /gw-local --local-store) || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    deploy "$name" "$bin" "$out/serve.yaml" gateway-local || return 1
    "$venv_py" "$e2e/driver.py" check services-local --url "http://127.0.0.1:$serve_port/gw-local" \
        --dashboard "$dash_url" --app gateway-local --entrypoint "$out/bento_ray.py" \
        --serve-yaml "$out/serve.yaml" >>"$summary" || dump_serve_logs "$name"

    # An entrypoint whose API table no longer matches the bento must fail
    # the deploy with the runtime's own message (the hash kept in step).
    out=$work/$name/out-stale
    spec=$(services_spec "$name" "$out" gateway-stale /gw-stale) || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    sed -i 's/^\( *\)"relay": {$/\1"relay_v2": {/' "$out/bento_ray.py"
    rehash_entrypoint "$out"
    deploy_fails "$name" "$bin" "$out/serve.yaml" gateway-stale "does not match the entrypoint bentoray generated" \
        "stale services entrypoint fails the deploy" "no DEPLOY_FAILED naming the mismatch"
    stop_cluster "$name"

    # Parity: the same bento under `bentoml serve` on 127.0.0.1, a port of
    # ours, in a session of its own (stopped by PID like a cluster).
    local serve_name=$name-bentoml-serve http=$((port_base + 140))
    port_free "$http" || { record FAIL "$name: port $http free" "in use; set E2E_PORT_BASE"; return 1; }
    mkdir -p "$work/$serve_name"
    started_clusters+=("$serve_name")
    t0=$(now)
    (cd "$work/$serve_name" && exec env BENTORAY_E2E_OWNER="$mark-$serve_name" BENTOML_HOME="$cluster_home" \
        setsid timeout 300 "$bin/bentoml" serve "$tag" --host 127.0.0.1 --port "$http" \
        >"$work/$serve_name/serve.log" 2>&1) &
    sleep 1
    sessions[$serve_name]=$(python3 "$e2e/driver.py" cluster-pids --marker "$mark-$serve_name" --print-sessions)
    if ! "$venv_py" "$e2e/driver.py" wait-ready --url "http://127.0.0.1:$http" --timeout 120 >/dev/null; then
        record FAIL "$name: bentoml serve ready" "no /readyz 200 within 120 s: $(tail -n 5 "$work/$serve_name/serve.log" | tr '\n' ' ')"
        return 1
    fi
    note "$name: bentoml serve ready in $(since "$t0") s"
    "$venv_py" "$e2e/driver.py" parity --url "http://127.0.0.1:$http" \
        --answers "$work/$name/ray-answers.json" >>"$summary" ||
        tail -n 30 "$work/$serve_name/serve.log" >&2
    stop_processes "$serve_name"
}

# --- cluster -----------------------------------------------------------------

# `ray start` of a second node on loopback. Ray replaces a 127.0.0.1 address
# (the head's and the node's own) with the machine's outward IP (as seen
# towards 8.8.8.8, no packet sent), and refuses to join a node whose processes
# stay on loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, as on the head). Test
# harness only: both patched in the CLI process; the rest is Ray's own
# `ray start`, and the node's processes inherit the loopback setting.
ray_start_on_loopback='import sys
import ray._private.ray_constants as ray_constants
import ray._private.services as services
services.resolve_ip_for_localhost = lambda host: host
ray_constants.ENABLE_RAY_CLUSTER = True
from ray.scripts.scripts import main
sys.argv[0] = "ray"
sys.exit(main())'

# join_node CLUSTER VENV_BIN BASE_PORT HEAD_PORT RESOURCES_JSON: a second
# node on 127.0.0.1 with its own ports, the cluster's marker and a session of
# its own (stopped with the cluster).
join_node() {
    local name=$1 bin=$2 base=$3 head=$4 resources=$5 dir=$work/$1 t0 launcher=()
    for ((p = base; p < base + 15; p++)); do
        port_free "$p" || { record FAIL "$name: port $p free" "in use; set E2E_PORT_BASE"; return 1; }
    done
    command -v setsid >/dev/null && launcher=(setsid -w)
    t0=$(now)
    if ! env BENTORAY_E2E_OWNER="$mark-$name" \
        BENTOML_HOME="$cluster_home" \
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 \
        http_proxy=http://127.0.0.1:$((base + 10)) https_proxy=http://127.0.0.1:$((base + 10)) \
        HTTP_PROXY=http://127.0.0.1:$((base + 10)) HTTPS_PROXY=http://127.0.0.1:$((base + 10)) \
        "${launcher[@]}" timeout 180 "$bin/python" -c "$ray_start_on_loopback" start --address="127.0.0.1:$head" --disable-usage-stats \
        --node-ip-address=127.0.0.1 --node-manager-port=$((base + 3)) \
        --object-manager-port=$((base + 4)) --dashboard-agent-listen-port=$((base + 5)) \
        --dashboard-agent-grpc-port=$((base + 6)) --runtime-env-agent-port=$((base + 7)) \
        --metrics-export-port=$((base + 8)) \
        --min-worker-port=20550 --max-worker-port=20999 \
        --num-cpus=2 --resources="$resources" >"$dir/ray-join.log" 2>&1; then
        record FAIL "$name: ray start --address (second node)" "failed, log follows"
        tail -n 40 "$dir/ray-join.log" >&2
        return 1
    fi
    sessions[$name]=$(python3 "$e2e/driver.py" cluster-pids --marker "$mark-$name" --sessions ${sessions[$name]} --print-sessions)
    note "$name: second node joined in $(since "$t0") s"
}

run_cluster() {
    local name=cluster t0 venv_py bin tag out spec rc line
    t0=$(now)
    venv_py=$("$e2e/venv.sh" native-py3.11 python3 bentoml==1.4.40 "ray[serve]==2.60.0" scikit-learn) || {
        record FAIL "$name: venv" "pip install failed"
        return 1
    }
    bin=$(dirname "$venv_py")
    start_cluster "$name" "$bin" "$port_base" head --min-worker-port=20100 --max-worker-port=20549 || return 1
    join_node "$name" "$bin" $((port_base + 30)) "$port_base" '{"node2": 1}' || return 1
    tag=$(build_bento "$name" "$venv_py" native_bento) || return 1
    local dir=$work/$name
    local t_mode
    t_mode=$(now)

    # An unrelated application, deployed by hand with `serve deploy`.
    mkdir -p "$dir/other"
    cat >"$dir/other/other_app.py" <<'PY'
from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class Other:
    def __call__(self, request):
        return "other"


app = Other.bind()
PY
    cat >"$dir/other/serve.yaml" <<YAML
http_options: {host: 127.0.0.1, port: $serve_port}
applications:
  - name: other
    route_prefix: /other
    import_path: other_app:app
    runtime_env: {working_dir: "local://$dir/other"}
YAML
    deploy "$name" "$bin" "$dir/other/serve.yaml" other || return 1

    # The spec: built into its local:// working_dir by `bentoray deploy`.
    out=$dir/out
    spec=$dir/spec/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec native --cluster --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" --app-name iris-cluster >"$spec" || return 1
    local br=("$bentoray")
    rc=0
    "${br[@]}" diff "$spec" --address "$dash_url" >"$dir/diff-before.txt" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]] && grep -q '^application `iris-cluster`: added$' "$dir/diff-before.txt" &&
        grep -q '^application `other`: kept by `bentoray deploy`; `serve deploy` of serve.yaml would DELETE it$' "$dir/diff-before.txt"; then
        record PASS "$name: diff before deploy" "iris-cluster added; other would be deleted by serve deploy, kept by bentoray deploy"
    else
        record FAIL "$name: diff before deploy" "exit $rc: $(tr '\n' ' ' <"$dir/diff-before.txt")"
    fi
    rc=0
    "${br[@]}" deploy "$spec" --address "$dash_url" >"$dir/deploy.txt" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]]; then
        record PASS "$name: bentoray deploy" "$(tail -n 1 "$dir/deploy.txt")"
    else
        record FAIL "$name: bentoray deploy" "exit $rc: $(tail -n 20 "$dir/deploy.txt" | tr '\n' ' ')"
        return 1
    fi
    local t1
    t1=$(now)
    rc=0
    timeout 400 "${br[@]}" status "$spec" --address "$dash_url" --wait 300 >"$dir/status.txt" 2>"$dir/status.err" || rc=$?
    if [[ $rc -eq 0 ]] && grep -q '^application `iris-cluster`: RUNNING$' "$dir/status.txt"; then
        record PASS "$name: bentoray status --wait exits 0" "RUNNING $(since "$t1") s after deploy: $(tr -s ' \n' ' ' <"$dir/status.txt")"
        note "$name: bentoray deploy to RUNNING: $(since "$t1") s"
    else
        record FAIL "$name: bentoray status --wait exits 0" "exit $rc: $(tr '\n' ' ' <"$dir/status.txt") $(tail -n 20 "$dir/status.err" | tr '\n' ' ')"
        dump_serve_logs "$name"
        return 1
    fi
    "$venv_py" "$e2e/driver.py" check-cluster --dashboard "$dash_url" --app iris-cluster --other other \
        --url "http://127.0.0.1:$serve_port/iris" --other-url "http://127.0.0.1:$serve_port/other" >>"$summary" || true
    if [[ -n ${E2E_RECORD:-} ]]; then
        "$venv_py" "$e2e/driver.py" record --dashboard "$dash_url" --out "$E2E_RECORD/running" || true
    fi
    rc=0
    "${br[@]}" diff "$spec" --address "$dash_url" >"$dir/diff-after.txt" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]] && grep -q '^application `iris-cluster`: no change$' "$dir/diff-after.txt" &&
        ! grep -q '^  ' "$dir/diff-after.txt"; then
        record PASS "$name: diff after deploy shows no change" "$(head -n 2 "$dir/diff-after.txt" | tr '\n' ' ')"
    else
        record FAIL "$name: diff after deploy shows no change" "exit $rc: $(tr '\n' ' ' <"$dir/diff-after.txt")"
    fi

    # A broken spec: the runner's replicas look in an empty store
    # (LOCAL_BENTO), so that deployment fails; status points at its table.
    out=$dir/out-broken
    spec=$dir/spec-broken/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out" "$dir/empty-store"
    "$venv_py" "$e2e/driver.py" spec native --cluster --local-store --missing-store "$dir/empty-store" \
        --bento "$tag" --home "$cluster_home" --out "$out" --http-port "$serve_port" \
        --app-name iris-broken --route-prefix /iris-broken >"$spec" || return 1
    rc=0
    "${br[@]}" deploy "$spec" --address "$dash_url" >"$dir/deploy-broken.txt" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || { record FAIL "$name: deploy of the broken spec" "exit $rc: $(tail -n 20 "$dir/deploy-broken.txt" | tr '\n' ' ')"; return 1; }
    t1=$(now)
    rc=0
    timeout 400 "${br[@]}" --color never status "$spec" --address "$dash_url" --wait 300 >"$dir/status-broken.txt" 2>"$dir/status-broken.err" || rc=$?
    line=$(grep -n '^\[runners.iris_clf\]$' "$spec" | cut -d: -f1)
    if [[ $rc -eq 1 ]] && grep -q 'BR381(deployment-failed)' "$dir/status-broken.err" &&
        grep -q "bentoray.toml:$line:" "$dir/status-broken.err" &&
        grep -q 'deployment `bento-runner-iris_clf` of application `iris-broken`' "$dir/status-broken.err"; then
        record PASS "$name: a failed deployment is reported at its table" \
            "exit 1 after $(since "$t1") s, BR381 at bentoray.toml:$line ([runners.iris_clf])"
    else
        record FAIL "$name: a failed deployment is reported at its table" \
            "exit $rc, want BR381 at bentoray.toml:$line: $(head -c 3000 "$dir/status-broken.err" | tr '\n' ' ')"
    fi
    if [[ -n ${E2E_RECORD:-} ]]; then
        "$venv_py" "$e2e/driver.py" record --dashboard "$dash_url" --out "$E2E_RECORD/failed" || true
        cp "$spec" "$E2E_RECORD/failed/bentoray.toml" || true
    fi
    note "$name: mode body (deploys, status, diffs) took $(since "$t_mode") s"
}

# --- bentoml -----------------------------------------------------------------

find_py310() {
    local c
    for c in "${E2E_PY310:-}" /root/.pyenv/versions/3.10.13/bin/python3 \
        "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3 "$(command -v python3.10 || true)"; do
        [[ -n $c && -x $c ]] && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null &&
            { echo "$c"; return 0; }
    done
    return 1
}

run_bentoml() {
    local name=bentoml t0 py310 venv_py bin tag out spec
    if ! py310=$(find_py310); then
        echo "SKIPPED bentoml-mode: no Python 3.10 found (tried E2E_PY310, /root/.pyenv/versions/3.10.13, pyenv, python3.10)"
        note "SKIPPED bentoml-mode: no Python 3.10"
        return 0
    fi
    t0=$(now)
    venv_py=$("$e2e/venv.sh" bentoml-py3.10 "$py310" bentoml==1.1.11 "ray[serve]==2.7.2" scikit-learn \
        "pydantic<2" "numpy<2" "protobuf<4" "fastapi==0.103.2" "click<8.2" async-timeout) || {
        record FAIL "$name: venv" "pip install failed"
        return 1
    }
    bin=$(dirname "$venv_py")
    note "$name: venv ready in $(since "$t0") s: $(versions "$venv_py")"
    start_cluster "$name" "$bin" $((port_base + 50)) agent --dashboard-grpc-port=$((port_base + 50 + 9)) || return 1
    tag=$(build_bento "$name" "$venv_py" bentoml_bento --single) || return 1
    out=$work/$name/out
    spec=$work/$name/spec/bentoray.toml
    mkdir -p "$(dirname "$spec")" "$out"
    "$venv_py" "$e2e/driver.py" spec bentoml --bento "$tag" --home "$cluster_home" \
        --out "$out" --http-port "$serve_port" >"$spec" || return 1
    bentoray_build "$name" "$spec" "$out" || return 1
    if grep -q '^app = bentoml.ray.deployment($' "$out/bento_ray.py"; then
        record PASS "$name: bentoml entrypoint emitted" "bento_ray.py calls bentoml.ray.deployment"
    else
        record FAIL "$name: bentoml entrypoint emitted" "no 'app = bentoml.ray.deployment(' in bento_ray.py"
    fi
    deploy "$name" "$bin" "$out/serve.yaml" iris_classifier || return 1
    "$venv_py" "$e2e/driver.py" check bentoml --url "http://127.0.0.1:$serve_port" \
        --dashboard "$dash_url" --app iris_classifier >>"$summary" || dump_serve_logs "$name"
}

# --- main --------------------------------------------------------------------

finish() {
    local rc=$? c
    trap - EXIT ERR
    for c in "${started_clusters[@]}"; do stop_cluster "$c"; done
    local passed failed
    passed=$(grep -c '^PASS ' "$results" || true)
    failed=$(grep -c '^FAIL ' "$results" || true)
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then
        echo "FAIL harness: exited with status $rc before any check failed" >>"$results"
        failed=1
    fi
    echo
    echo "== e2e summary ($((SECONDS - t_start)) s)"
    cat "$summary"
    grep '^FAIL ' "$results" || true
    if [[ ${E2E_KEEP:-0} == 1 ]]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]] || exit 1
    exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

export E2E_RESULTS=$results
bentoray=$(bentoray_bin)
log "work dir $work, bentoray $bentoray, modes: $modes"
# Note: `set -e` does not apply inside a function called with `||`, so the
# run_* functions check every step themselves (`|| return 1`).
for m in $modes; do
    before=$(grep -c '^FAIL ' "$results" || true)
    rc=0
    case $m in
    native | services | cluster | bentoml) "run_$m" || rc=$? ;;
    *) record FAIL "mode $m" "unknown mode" ;;
    esac
    if [[ $rc -ne 0 && $(grep -c '^FAIL ' "$results" || true) -eq $before ]]; then
        record FAIL "$m" "stopped early without a failed check (see the log above)"
    fi
    # One cluster at a time: 2 cores do not fit two.
    for c in "${started_clusters[@]}"; do stop_cluster "$c"; done
done
