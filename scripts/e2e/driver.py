"""Test driver for scripts/e2e.sh: writes the specs, waits for Ray Serve, and checks.

Standard library only (it runs under the Python 3.11 and 3.10 test venvs).
Every check prints one line `PASS <name>: <detail>` or `FAIL <name>: <detail>`
to stderr and appends it to the file named by $E2E_RESULTS; e2e.sh counts them.
`check` prints one summary line to stdout and exits 1 if a check failed.
All HTTP goes to 127.0.0.1 without proxies.

Subcommands:
  spec native|bentoml --bento TAG --home DIR --out DIR --http-port P
       [--local-store] [--app-name NAME] [--route-prefix PREFIX]
      print the bentoray.toml for that test (the values the checks expect)
  wait-dashboard --dashboard URL [--path /api/version] --timeout S
      wait until Ray's dashboard (or the 2.7 dashboard agent) answers
  wait --dashboard URL --app NAME --timeout S [--expect-failure TEXT]
      wait until the application is RUNNING (or failed with TEXT in its
      status messages); print the time it took
  check native|native-local|bentoml --url URL --dashboard URL --app NAME
  check services|services-local --url URL --dashboard URL --app NAME
       --entrypoint bento_ray.py --serve-yaml serve.yaml [--answers FILE]
      (services_checks.py; --answers records answers for `parity`)
  parity --url URL --answers FILE
      send the recorded requests to `bentoml serve` at URL and compare
  wait-ready --url URL --timeout S
      wait until `bentoml serve` answers /readyz
  cluster-pids --marker M [--sessions SID...] [--print-sessions]
      print the PIDs (or the session IDs) of the cluster's processes
  watch-sockets --marker M --out FILE
      until killed, log every TCP connection of the processes marked M
      (BENTORAY_E2E_OWNER=M) whose peer is not on loopback, and their listeners
  check-sockets --name NAME --out FILE --base PORT
      check what watch-sockets wrote (loopback only, own ports only)
"""

import argparse
import concurrent.futures
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

# --- what the specs ask for (and so what the checks expect) -----------------

NATIVE = {
    "route_prefix": "/iris",
    "service": {
        "num_replicas": 2,
        "max_ongoing_requests": 32,
        "ray_actor_options": {"num_cpus": 0.5},
    },
    "runners": {
        "iris_clf": {
            "num_replicas": 1,
            "max_ongoing_requests": 32,
            "ray_actor_options": {"num_cpus": 0.5},
        },
        "echo": {
            "num_replicas": 1,
            "max_ongoing_requests": 24,
            "ray_actor_options": {"num_cpus": 0.25},
        },
    },
    # Distinct per runner, so options that reach the wrong runner (or none)
    # show: bentoml.ray's Bug B gives every runner after the first Ray's
    # defaults (max_batch_size 10, batch_wait_timeout_s 0.01).
    "batching": {
        "iris_clf": {"predict": {"max_batch_size": 4, "batch_wait_timeout_s": 3.0}},
        "echo": {"double": {"max_batch_size": 3, "batch_wait_timeout_s": 1.5}},
    },
}

# The two-node `cluster` mode: the runner spread over both nodes.
CLUSTER = {
    "route_prefix": "/iris",
    "service": {"num_replicas": 1, "ray_actor_options": {"num_cpus": 0.5}},
    "runners": {
        "iris_clf": {
            "num_replicas": 2,
            "max_replicas_per_node": 1,
            "ray_actor_options": {"num_cpus": 0.5},
        },
        "echo": {"num_replicas": 1, "ray_actor_options": {"num_cpus": 0.25}},
    },
}

BENTOML_MODE = {
    "route_prefix": "/",
    "service": {"num_replicas": 2},
    "runners": {
        "iris_clf": {"num_replicas": 1, "ray_actor_options": {"num_cpus": 0.5}},
    },
}

# Iris rows of class 0, 1 and 2 (setosa, versicolor, virginica).
IRIS = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def table(name, options):
    return [f"[{name}]"] + [f"{k} = {toml_value(v)}" for k, v in options.items()] + [""]


# The services bento (services_bento/): options the spec sets on top of the
# bento's own (Leaf's decorator asks for cpu "1"; the spec overrides it).
SERVICES_MODE = {
    "route_prefix": "/gw",
    "services": {
        "Gateway": {"max_ongoing_requests": 16, "ray_actor_options": {"num_cpus": 0.5}},
        "Middle": {"max_ongoing_requests": 16},
        "Leaf": {"num_replicas": 2, "ray_actor_options": {"num_cpus": 0.25}},
    },
    # The decorator says max_batch_size=8, max_latency_ms=300: the spec wins.
    "batching": {
        "Middle": {"double": {"max_batch_size": 4, "batch_wait_timeout_s": 0.5}}
    },
}


def spec(args):
    native = args.mode in ("native", "services")
    conf = {"native": NATIVE, "services": SERVICES_MODE}.get(args.mode, BENTOML_MODE)
    if args.cluster:
        conf = json.loads(json.dumps(CLUSTER))
        if args.missing_store:
            # The runner's replicas look the bento up in an empty store, as on
            # a node whose store lacks it.
            conf["runners"]["iris_clf"]["ray_actor_options"]["runtime_env"] = {
                "env_vars": {"BENTOML_HOME": args.missing_store}
            }
    lines = [
        "# Written by scripts/e2e/driver.py for the end-to-end test.",
        f"bento = {toml_value(args.bento)}",
        f"bentoml_home = {toml_value(args.home)}",
    ]
    if args.mode == "native":
        lines.append("enable_batching = true")
    if native and args.local_store:
        lines.append('bento_serialization = "LOCAL_BENTO"')
    if not native:
        lines.append('entrypoint = "bentoml"')
    lines.append("")
    http = {"host": "127.0.0.1", "port": args.http_port}
    lines += table("ray", {"version": "2.60" if native else "2.7"})[:-1]
    lines += [f"http_options = {toml_value(http)}", ""]
    # How `serve deploy` finds the generated module: Ray 2.60 accepts a
    # local:// working_dir; Ray 2.7 does not, so there PYTHONPATH points at it.
    if native:
        runtime_env = {"working_dir": "local://" + args.out}
    else:
        runtime_env = {"env_vars": {"PYTHONPATH": args.out}}
    app = {
        "route_prefix": args.route_prefix or conf["route_prefix"],
        "runtime_env": runtime_env,
    }
    if args.app_name:
        app = {"name": args.app_name, **app}
    lines += table("application", app)
    if "service" in conf:
        lines += table("service", conf["service"])
    for name, options in conf.get("runners", {}).items():
        lines += table(f"runners.{name}", options)
    for name, options in conf.get("services", {}).items():
        lines += table(f"services.{name}", options)
    for runner, methods in conf.get("batching", {}).items():
        for method, options in methods.items():
            lines += table(f"batching.{runner}.{method}", options)
    print("\n".join(lines))


# --- HTTP -------------------------------------------------------------------

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, body=None, timeout=60):
    """(status, body bytes, seconds) of one request; status 0 on connection errors."""
    data = (
        None
        if body is None
        else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    t0 = time.monotonic()
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, r.read(), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.monotonic() - t0
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode(), time.monotonic() - t0


def get_json(url):
    status, body, _ = http("GET", url, timeout=30)
    if status != 200:
        raise RuntimeError(f"GET {url}: {status} {body[:300]!r}")
    return json.loads(body)


LATENCIES = {}  # path -> seconds of each request


def post(url, body):
    COUNTS["requests"] += 1
    status, raw, secs = http("POST", url, body)
    LATENCIES.setdefault(url.rsplit("/", 1)[-1], []).append(secs)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.decode(errors="replace")[:300]
    return status, value, secs


def concurrent_posts(url, bodies):
    """POST all bodies at once (released together by a barrier); results in order."""
    barrier = threading.Barrier(len(bodies))

    def one(body):
        barrier.wait(timeout=30)
        return post(url, body)

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


# --- checks -----------------------------------------------------------------

COUNTS = {"requests": 0, "passed": 0, "failed": 0}


def record(ok, name, detail):
    line = f"{'PASS' if ok else 'FAIL'} {name}: {detail}"
    print(line, file=sys.stderr, flush=True)
    COUNTS["passed" if ok else "failed"] += 1
    if os.environ.get("E2E_RESULTS"):
        with open(os.environ["E2E_RESULTS"], "a") as f:
            f.write(line + "\n")
    return ok


def check(name, fn):
    """Run fn() -> (ok, detail); an exception is a failure."""
    try:
        ok, detail = fn()
    except Exception as e:  # noqa: BLE001 - any error fails the check, with its message
        ok, detail = False, f"{type(e).__name__}: {e}"
    return record(ok, name, detail)


def close(a, b, eps=1e-6):
    return abs(a - b) <= eps


def check_api_methods(base):
    """Each API runs its own runner method (bentoml.ray's Bug A runs the last one)."""

    def classify():
        status, v, _ = post(f"{base}/classify", IRIS)
        return status == 200 and v == [0, 1, 2], f"/classify -> {status} {v}"

    def proba():
        status, v, _ = post(f"{base}/proba", IRIS)
        ok = (
            status == 200
            and len(v) == 3
            and all(len(row) == 3 and close(sum(row), 1.0, 1e-3) for row in v)
            and [row.index(max(row)) for row in v] == [0, 1, 2]
        )
        return ok, f"/proba -> {status} {v}"

    def double():
        status, v, _ = post(f"{base}/double", [[1], [2], [3]])
        ok = status == 200 and [row[0] for row in v] == [2, 4, 6]
        return (
            ok,
            f"/double [[1],[2],[3]] -> {status} {v} (column 0 doubled, column 1 batch rows)",
        )

    def negate():
        status, v, _ = post(f"{base}/v1/negate", [[1], [2], [3]])
        return status == 200 and v == [[-1], [-2], [-3]], f"/v1/negate -> {status} {v}"

    def content_type():
        req = urllib.request.Request(f"{base}/classify", data=json.dumps(IRIS).encode())
        req.add_header("Content-Type", "application/json")
        with _opener.open(req, timeout=60) as r:
            got = r.headers.get_all("content-type")
            length = r.headers.get("content-length")
            body = r.read()
        ok = got == ["application/json"] and length == str(len(body))
        return ok, f"content-type {got}, content-length {length} for {len(body)} bytes"

    check("api /classify runs iris_clf.predict (labels, not probabilities)", classify)
    check("api response headers come from BentoML, once each", content_type)
    check("api /proba runs iris_clf.predict_proba (sync API, rows sum to 1)", proba)
    check("api /double runs echo.double", double)
    check("api /v1/negate (custom route, sync API) runs echo.negate", negate)


def check_system_routes(base):
    def route(path, want):
        def fn():
            status, _, _ = http("GET", base + path)
            return status == want, f"GET {path} -> {status}"

        return fn

    for path in ("/healthz", "/livez", "/readyz"):
        check(f"route {path} answers under the route prefix", route(path, 200))
    check("unknown route is BentoML's 404", route("/no-such-api", 404))

    def docs():
        spec = get_json(base + "/docs.json")
        paths = set(spec.get("paths", {}))
        want = {"/classify", "/proba", "/double", "/v1/negate"}
        return want <= paths, f"docs.json paths include {sorted(want)}: {sorted(paths)}"

    check("route /docs.json lists every API", docs)

    check("BentoML's /metrics is off (Ray has its own metrics)", route("/metrics", 404))
    check("GET on a POST API is Starlette's 405", route("/classify", 405))

    def error_page():
        status, v, _ = post(f"{base}/classify", b"{not json")
        return status == 500 and "BentoML" in str(v), f"malformed body -> {status} {v}"

    check("an API error passes through as BentoML's own error response", error_page)


def check_deployments(dashboard, app, conf):
    """Replica counts and options as asked, read from Ray's dashboard REST API."""
    apps = get_json(f"{dashboard}/api/serve/applications/")["applications"]
    deployments = apps[app]["deployments"]
    expected = {f"bento-svc-{SERVICE}": conf["service"]}
    expected.update({f"bento-runner-{r}": o for r, o in conf["runners"].items()})

    def one(name, want):
        def fn():
            d = deployments[name]
            cfg = d["deployment_config"]
            running = [r for r in d.get("replicas", []) if r.get("state") == "RUNNING"]
            got = {
                "status": d["status"],
                "running_replicas": len(running),
                **{k: cfg.get(k) for k in want},
            }
            ok = d["status"] == "HEALTHY" and len(running) == want["num_replicas"]
            for k, v in want.items():
                if k == "ray_actor_options":
                    ok = ok and all(cfg.get(k, {}).get(o) == x for o, x in v.items())
                else:
                    ok = ok and cfg.get(k) == v
            return ok, json.dumps(got, sort_keys=True)

        return fn

    for name, want in expected.items():
        check(f"deployment {name} runs as configured", one(name, want))
    unexpected = set(deployments) - set(expected)
    check(
        "no other deployments",
        lambda: (not unexpected, f"deployments: {sorted(deployments)}"),
    )


def check_batching(base):
    """serve.batch options honoured per runner (Bug B loses the second runner's)."""
    b = NATIVE["batching"]
    iris_max, iris_wait = b["iris_clf"]["predict"].values()
    echo_max, echo_wait = b["echo"]["double"].values()

    # A lone request cannot fill a batch, so it waits the runner's own
    # batch_wait_timeout_s. Lower bounds only: a slow machine cannot break them.
    def lone_iris():
        status, v, secs = post(f"{base}/classify", IRIS[:1])
        ok = status == 200 and v == [0] and secs >= 0.9 * iris_wait
        return (
            ok,
            f"{secs:.2f}s (iris_clf.predict batch_wait_timeout_s={iris_wait}) -> {v}",
        )

    def lone_echo():
        status, v, secs = post(f"{base}/double", [[5]])
        ok = status == 200 and v == [[10, 1]] and secs >= 0.9 * echo_wait
        return ok, f"{secs:.2f}s (echo.double batch_wait_timeout_s={echo_wait}) -> {v}"

    check("batching: lone /classify waits iris_clf's own timeout", lone_iris)
    check("batching: lone /double waits echo's own timeout", lone_echo)

    # iris_clf: max_batch_size - 1 concurrent requests cannot fill a batch and
    # all wait the timeout; max_batch_size requests fill one at once and
    # return long before it. Together: the limit is exactly max_batch_size.
    def iris_below():
        res = concurrent_posts(f"{base}/classify", [IRIS[:1]] * (iris_max - 1))
        secs = [round(s, 2) for _, _, s in res]
        ok = (
            all(st == 200 and v == [0] for st, v, _ in res)
            and min(secs) >= 0.8 * iris_wait
        )
        return ok, f"{iris_max - 1} concurrent: {secs}s, all >= 0.8 x {iris_wait}s"

    def iris_full():
        res = concurrent_posts(f"{base}/classify", [IRIS[:1]] * iris_max)
        secs = [round(s, 2) for _, _, s in res]
        ok = (
            all(st == 200 and v == [0] for st, v, _ in res)
            and max(secs) < 0.6 * iris_wait
        )
        return (
            ok,
            f"{iris_max} concurrent: {secs}s, all < 0.6 x {iris_wait}s (one full batch)",
        )

    check(
        f"batching: iris_clf.predict does not run {iris_max - 1} as a full batch",
        iris_below,
    )
    check(
        f"batching: iris_clf.predict runs {iris_max} requests as one batch", iris_full
    )

    # echo: the runnable reports the rows of the batch each request ran in.
    def echo_sizes():
        n = 3 * echo_max - 1
        res = concurrent_posts(f"{base}/double", [[[i]] for i in range(n)])
        ok = all(st == 200 for st, _, _ in res)
        values = [v for _, v, _ in res]
        ok = ok and all(v[0][0] == 2 * i for i, v in enumerate(values))
        sizes = sorted(int(v[0][1]) for v in values) if ok else values
        ok = ok and max(sizes) == echo_max
        return (
            ok,
            f"{n} concurrent /double ran in batches of {sizes} (max_batch_size={echo_max})",
        )

    check(
        f"batching: echo.double batches hold at most (and reach) {echo_max}", echo_sizes
    )

    # Unbatched methods do not wait for a batch.
    def unbatched():
        _, _, s1 = post(f"{base}/proba", IRIS[:1])
        _, v2, s2 = post(f"{base}/v1/negate", [[5]])
        ok = s1 < 0.5 * iris_wait and s2 < 0.5 * echo_wait and v2 == [[-5]]
        return ok, f"/proba {s1:.2f}s, /v1/negate {s2:.2f}s"

    check("batching: unbatched methods answer without waiting", unbatched)


SERVICE = "iris_classifier"


def check_cluster(args):
    """The two-node mode: the runner spread over two nodes, the unrelated app untouched."""
    apps = get_json(f"{args.dashboard}/api/serve/applications/")["applications"]

    def spread():
        d = apps[args.app]["deployments"]["bento-runner-iris_clf"]
        nodes = [r.get("node_id") for r in d["replicas"] if r.get("state") == "RUNNING"]
        return len(nodes) == 2 and len(set(nodes)) == 2, f"running replicas on nodes {nodes}"

    def other_running():
        a = apps.get(args.other)
        return a is not None and a["status"] == "RUNNING", f"{args.other}: {a and a['status']}"

    def other_answers():
        status, body, _ = http("GET", args.other_url, timeout=30)
        return status == 200 and b"other" in body, f"GET {args.other_url}: {status} {body[:80]!r}"

    def classify():
        status, value, _ = post(f"{args.url}/classify", IRIS)
        return status == 200 and value == [0, 1, 2], f"classify: {status} {value}"

    check("cluster: iris_clf replicas on two different nodes", spread)
    check("cluster: unrelated application still RUNNING after bentoray deploy", other_running)
    check("cluster: unrelated application still answers", other_answers)
    check("cluster: the deployed bento answers", classify)
    print(f"cluster checks: {COUNTS['passed']} passed, {COUNTS['failed']} failed")
    return 1 if COUNTS["failed"] else 0


def record_answers(args):
    """Saves the dashboard's answers (tests/fixtures/dashboard/ holds such recordings)."""
    os.makedirs(args.out, exist_ok=True)
    for name, path in [("version", "/api/version"), ("applications", "/api/serve/applications/")]:
        value = get_json(f"{args.dashboard}{path}")
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump(value, f, indent=2, sort_keys=True)
            f.write("\n")
    return 0


def run_checks(args):
    base = args.url.rstrip("/")
    # Warm-up: the first request through a new replica imports and loads lazily.
    warm = (
        (("/classify", IRIS),)
        if args.mode == "bentoml"
        else (("/proba", IRIS), ("/v1/negate", [[1]]))
    )
    for path, body in warm:
        for _ in range(4):
            post(base + path, body)
    if args.mode == "bentoml":

        def classify():
            status, v, _ = post(f"{base}/classify", IRIS)
            return status == 200 and v == [0, 1, 2], f"/classify -> {status} {v}"

        check("bentoml.ray: /classify returns class labels", classify)
        check_deployments(args.dashboard, args.app, BENTOML_MODE)
    else:
        check_api_methods(base)
        if args.mode == "native":
            check_system_routes(base)
            check_deployments(args.dashboard, args.app, NATIVE)
            check_batching(base)
    c = COUNTS
    for path in ("proba", "negate") if args.mode != "bentoml" else ("classify",):
        t = sorted(LATENCIES.get(path, []))
        if t:
            print(
                f"{args.mode}: /{path}: first {LATENCIES[path][0] * 1000:.0f} ms, "
                f"median {t[len(t) // 2] * 1000:.0f} ms, max {t[-1] * 1000:.0f} ms ({len(t)} requests)"
            )
    print(
        f"{args.mode}: {c['requests']} requests; checks {c['passed']} passed, {c['failed']} failed"
    )
    return 1 if c["failed"] else 0


def wait_dashboard(args):
    """Wait until the Serve REST API answers (the Serve CLI checks the version first)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.timeout:
        status, body, _ = http("GET", f"{args.dashboard}{args.path}", timeout=5)
        if status == 200:
            print(f"{time.monotonic() - t0:.1f}")
            return 0
        time.sleep(0.5)
    print(
        f"{args.dashboard}{args.path} not ready after {args.timeout}s: {status} {body[:200]!r}",
        file=sys.stderr,
    )
    return 1


def wait(args):
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < args.timeout:
        try:
            apps = get_json(f"{args.dashboard}/api/serve/applications/")["applications"]
            app = apps.get(args.app)
            last = app and {
                "status": app["status"],
                "message": app.get("message", "")[-2000:],
                "deployments": {
                    n: (d["status"], d.get("message", "")[-1000:])
                    for n, d in app["deployments"].items()
                },
            }
            if app and app["status"] == "RUNNING" and not args.expect_failure:
                print(f"{time.monotonic() - t0:.1f}")
                return 0
            if app and app["status"] in ("DEPLOY_FAILED", "UNHEALTHY"):
                text = json.dumps(last)
                if args.expect_failure and args.expect_failure in text:
                    # The seconds, then the message around the expected text.
                    at = text.index(args.expect_failure)
                    print(f"{time.monotonic() - t0:.1f}")
                    print(text[max(0, at - 60) : at + 400].replace("\\n", " "))
                    return 0
                break
        except Exception as e:  # noqa: BLE001 - the dashboard may still be starting
            last = str(e)
        time.sleep(1)
    want = f"failed with {args.expect_failure!r}" if args.expect_failure else "RUNNING"
    print(
        f"application {args.app} not {want} after {time.monotonic() - t0:.0f}s:",
        file=sys.stderr,
    )
    print(json.dumps(last, indent=2), file=sys.stderr)
    return 1


def cluster_pids(marker, sessions=()):
    """PIDs of the live processes of the cluster marked `marker`.

    A process is the cluster's when its environment has the marker, or when
    it is in the session of such a process (e2e.sh starts `ray start` in a
    session of its own): processes that rewrite their title (Ray's agents,
    `ray::` workers) may wipe their environment block from /proc/PID/environ.
    `sessions` adds sessions found earlier (once the marked processes are
    gone, their orphans are known by session only). Never the caller's own
    session; zombies are left out. Returns (pids, sessions).
    """
    want = f"BENTORAY_E2E_OWNER={marker}".encode()
    own_session = os.getsid(0)
    sessions_given, marked, sessions = sessions, set(), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            sessions[pid] = int(fields[3])
            with open(f"/proc/{pid}/environ", "rb") as f:
                if want in f.read().split(b"\0"):
                    marked.add(pid)
        except (OSError, IndexError):
            pass
    ours = ({sessions[p] for p in marked if p in sessions} | set(sessions_given)) - {
        own_session,
        0,
        1,
    }
    pids = sorted(marked | {p for p, s in sessions.items() if s in ours}, key=int)
    return pids, sorted(ours)


def tcp_table():
    """inode -> (state, local, remote) for every TCP socket, addresses as hex."""
    table = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    table[cols[9]] = (cols[3], cols[1], cols[2])
        except OSError:
            pass
    return table


def loopback(hex_addr):
    host = hex_addr.split(":")[0]
    if len(host) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return host.endswith("7F")
    # IPv6 ::1, or ::ffff:127.x.x.x (IPv4-mapped).
    return host == "0" * 24 + "01000000" or (
        host[:24] == "0" * 16 + "FFFF0000" and host.endswith("7F")
    )


def process_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip().replace(" ", "_")
    except OSError:
        return "?"


def address(hex_addr):
    """'0100007F:1F90' -> ('127.0.0.1', 8080); IPv6 shown in hex."""
    host, port = hex_addr.split(":")
    if len(host) == 8:
        host = ".".join(str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0))
    elif host == "0" * 32:
        host = "::"
    elif loopback(hex_addr):
        host = "loopback6"
    return host, int(port, 16)


def read_lines(path):
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def check_sockets(args):
    """Report what watch-sockets saw: no off-loopback peer, no port outside ours."""
    name = args.name
    try:
        with open(args.out + ".samples") as f:
            samples = int(f.read())
    except (OSError, ValueError):
        samples = 0
    offenders = read_lines(args.out)[:5]
    check(
        f"{name}: all traffic stays on loopback",
        lambda: (
            samples >= 3 and not offenders,
            f"off-loopback peers: {offenders}"
            if offenders
            else f"no off-loopback TCP peer in {samples} samples",
        ),
    )

    def ports():
        ours = range(args.base, args.base + 50)
        workers = range(20100, 21000)
        seen, bad, wildcard = [], [], []
        for line in read_lines(args.out + ".listen"):
            hex_addr, _pid, comm = line.split()
            host, port = address(hex_addr)
            seen.append(port)
            if host in ("::", "0.0.0.0"):
                wildcard.append(f"{comm}:{port}")
            # Ports the kernel picked (ephemeral range) cannot collide
            # with another Ray's fixed ports; anything else must be ours.
            if port not in ours and port not in workers and port < 32768:
                bad.append(f"{comm}:{host}:{port}")
        detail = (
            f"{len(seen)} listening ports, all in {args.base}-{args.base + 49}, 20100-20999 or"
            f" kernel-picked; on all interfaces (kernel-picked): {wildcard or 'none'}"
        )
        return not bad and seen, f"not ours: {bad}" if bad else detail

    check(f"{name}: listens only on its own ports", ports)


def watch_sockets(args):
    """Sample the cluster's TCP sockets until killed or e2e.sh is gone.

    Writes each connection whose peer is not on loopback to --out, the
    listening addresses to --out.listen, the number of samples to
    --out.samples.
    """
    samples, seen, listening = 0, set(), set()
    with open(args.out, "a") as out:
        while os.path.exists(f"/proc/{args.parent}"):
            table = tcp_table()
            for pid in cluster_pids(args.marker)[0]:
                try:
                    fds = os.listdir(f"/proc/{pid}/fd")
                except OSError:
                    continue
                for fd in fds:
                    try:
                        link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    except OSError:
                        continue
                    entry = link.startswith("socket:[") and table.get(link[8:-1])
                    # State 0A is LISTEN (no peer); any other state has a peer address.
                    if entry and entry[0] == "0A" and entry[1] not in listening:
                        listening.add(entry[1])
                        with open(args.out + ".listen", "a") as f:
                            f.write(f"{entry[1]} {pid} {process_name(pid)}\n")
                    if entry and entry[0] != "0A" and not loopback(entry[2]):
                        key = (pid, entry[2])
                        if key not in seen:
                            seen.add(key)
                            out.write(
                                f"pid {pid}: TCP state {entry[0]} to {entry[2]}\n"
                            )
                            out.flush()
            samples += 1
            with open(args.out + ".samples", "w") as f:
                f.write(str(samples))
            time.sleep(args.interval)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("spec")
    s.add_argument("mode", choices=["native", "bentoml", "services"])
    s.add_argument("--bento", required=True)
    s.add_argument("--home", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--http-port", type=int, required=True)
    s.add_argument("--local-store", action="store_true")
    s.add_argument("--app-name")
    s.add_argument("--route-prefix")
    s.add_argument("--cluster", action="store_true", help="the two-node mode's spec")
    s.add_argument("--missing-store", metavar="DIR", help="with --cluster: the runner's empty store")
    cc = sub.add_parser("check-cluster")
    cc.add_argument("--dashboard", required=True)
    cc.add_argument("--app", required=True)
    cc.add_argument("--other", required=True)
    cc.add_argument("--url", required=True)
    cc.add_argument("--other-url", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--dashboard", required=True)
    rec.add_argument("--out", required=True)
    d = sub.add_parser("wait-dashboard")
    d.add_argument("--dashboard", required=True)
    d.add_argument("--path", default="/api/version")
    d.add_argument("--timeout", type=float, default=60)
    w = sub.add_parser("wait")
    w.add_argument("--dashboard", required=True)
    w.add_argument("--app", required=True)
    w.add_argument("--timeout", type=float, default=180)
    w.add_argument(
        "--expect-failure", metavar="TEXT", help="wait for DEPLOY_FAILED with TEXT"
    )
    cp = sub.add_parser("cluster-pids")
    cp.add_argument("--marker", required=True)
    cp.add_argument("--sessions", type=int, nargs="*", default=[])
    cp.add_argument("--print-sessions", action="store_true")
    ws = sub.add_parser("watch-sockets")
    ws.add_argument("--marker", required=True)
    ws.add_argument("--out", required=True)
    ws.add_argument("--interval", type=float, default=1.0)
    ws.add_argument(
        "--parent", type=int, default=os.getppid(), help="stop when it exits"
    )
    cs = sub.add_parser("check-sockets")
    cs.add_argument("--name", required=True)
    cs.add_argument("--out", required=True)
    cs.add_argument("--base", type=int, required=True)
    c = sub.add_parser("check")
    c.add_argument(
        "mode",
        choices=["native", "native-local", "bentoml", "services", "services-local"],
    )
    c.add_argument("--url", required=True)
    c.add_argument("--dashboard", required=True)
    c.add_argument("--app", required=True)
    c.add_argument("--entrypoint")
    c.add_argument("--serve-yaml")
    c.add_argument("--answers")
    pa = sub.add_parser("parity")
    pa.add_argument("--url", required=True)
    pa.add_argument("--answers", required=True)
    wr = sub.add_parser("wait-ready")
    wr.add_argument("--url", required=True)
    wr.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    if args.cmd in ("parity", "wait-ready") or (
        args.cmd == "check" and args.mode.startswith("services")
    ):
        import services_checks

        if args.cmd == "parity":
            return services_checks.parity(args)
        if args.cmd == "wait-ready":
            return services_checks.wait_ready(args)
        return services_checks.run_checks(args)
    if args.cmd == "spec":
        return spec(args)
    if args.cmd == "wait":
        return wait(args)
    if args.cmd == "wait-dashboard":
        return wait_dashboard(args)
    if args.cmd == "cluster-pids":
        pids, sessions = cluster_pids(args.marker, args.sessions)
        print(" ".join(map(str, sessions if args.print_sessions else pids)))
        return 0
    if args.cmd == "check-cluster":
        return check_cluster(args)
    if args.cmd == "record":
        return record_answers(args)
    if args.cmd == "check-sockets":
        check_sockets(args)
        return 1 if COUNTS["failed"] else 0
    if args.cmd == "watch-sockets":
        return watch_sockets(args)
    return run_checks(args)


if __name__ == "__main__":
    sys.exit(main())
