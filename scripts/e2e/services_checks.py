"""The checks of scripts/e2e.sh's services mode (driver.py check services|services-local, parity).

The bento is services_bento/ (Gateway -> Middle -> Leaf). Every answer names
the service and the PID of the process that computed it; Ray's dashboard
lists each deployment's replicas with their PIDs, so a dependency's answer
can be traced to that dependency's own replicas. What the deployments should
look like is read from what bentoray wrote (serve.yaml and the entrypoint's
SERVICES), with Ray's defaults where serve.yaml says nothing, so the checks
hold whichever bento settings bentoray maps to Ray options.
"""

import ast
import json
import urllib.error
import urllib.request

import driver as d

ITEM = {"name": "pen", "qty": 3, "tags": ["b", "a"]}
# A file upload: (form field, file name, content).
DOCUMENT = ("document", "notes.txt", b"first line\nsecond line\n")

# The same requests go to Ray Serve and to `bentoml serve`; the answers
# (PIDs aside) must be the same.
PARITY_REQUESTS = [
    ("POST", "/chain", {"text": "hello"}),
    ("POST", "/order", {"item": ITEM}),
    ("POST", "/double", {"x": 2.5}),
    ("POST", "/stream", {"n": 5}),
    ("UPLOAD", "/upload", DOCUMENT),
    ("POST", "/order", {"item": {"name": "pen"}}),  # invalid: BentoML's 400
    ("POST", "/no-such-api", {}),
    ("GET", "/readyz", None),
    ("GET", "/livez", None),
]

# Ray Serve's defaults (2.60) for what serve.yaml may leave out.
RAY_DEFAULTS = {"num_replicas": 1, "num_cpus": 1.0, "max_ongoing_requests": 5}


def without_pids(value):
    if isinstance(value, dict):
        return {k: "<pid>" if k == "pid" else without_pids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_pids(v) for v in value]
    return value


def upload(url, field, filename, content):
    """(status, body bytes) of a multipart/form-data POST of one file."""
    boundary = "bentoray-e2e-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with d._opener.open(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def answer(base, method, path, body):
    d.COUNTS["requests"] += 1
    if method == "UPLOAD":
        status, raw = upload(base + path, *body)
        body = f"{body[1]}, {len(body[2])} bytes"
    else:
        status, raw, _ = d.http(method, base + path, body)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.decode(errors="replace")
    return {
        "request": f"{method} {path} {json.dumps(body)}",
        "status": status,
        "body": value,
    }


def entrypoint_data(path):
    """SERVICES etc. of the generated entrypoint (literals only, not imported)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    data, private = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                data[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "ray.serve._private"
        ):
            private.append(node.module)
        if isinstance(node, ast.Import):
            private += [
                a.name for a in node.names if a.name.startswith("ray.serve._private")
            ]
    return data, private


def serve_yaml_deployments(path):
    import yaml  # Ray's own dependency, in the test venv

    with open(path) as f:
        config = yaml.safe_load(f)
    return {
        dep["name"]: dep for dep in config["applications"][0].get("deployments", [])
    }


def replica_pids(dashboard, app):
    apps = d.get_json(f"{dashboard}/api/serve/applications/")["applications"]
    deployments = apps[app]["deployments"]
    return deployments, {
        name: {
            r.get("pid") for r in dep.get("replicas", []) if r.get("state") == "RUNNING"
        }
        for name, dep in deployments.items()
    }


def check_apis(base):
    def chain():
        status, v, _ = d.post(f"{base}/chain", {"text": "hello"})
        m = v["middle"]
        ok = (
            status == 200
            and v["service"] == "Gateway"
            and (m["service"], m["upper"]) == ("Middle", "HELLO")
            and (m["leaf"]["service"], m["leaf"]["reversed"]) == ("Leaf", "olleh")
        )
        return ok, f"/chain -> {status} {v}"

    def order():
        status, v, _ = d.post(f"{base}/order", {"item": ITEM})
        m = v["middle"]
        leaf = m["leaf"]
        ok = (
            status == 200
            and m["tags"] == ["a", "b"]
            and (leaf["item_type"], leaf["name"], leaf["total"]) == ("Item", "pen", 6)
        )
        return ok, f"/order -> {status} {v}"

    def double():
        status, v, _ = d.post(f"{base}/double", {"x": 2.5})
        m = v["middle"]
        ok = status == 200 and (m["service"], m["value"], m["batch"]) == (
            "Middle",
            5.0,
            1,
        )
        return ok, f"/double 2.5 -> {status} {v}"

    def stream():
        req = urllib.request.Request(
            f"{base}/stream", data=json.dumps({"n": 5}).encode(), method="POST"
        )
        req.add_header("Content-Type", "application/json")
        with d._opener.open(req, timeout=60) as r:
            headers = {k.lower(): v for k, v in r.headers.items()}
            body = r.read().decode()
        streamed = (
            "content-length" not in headers
            and headers.get("transfer-encoding") == "chunked"
        )
        ok = body == "0;1;2;3;4;" and streamed
        return (
            ok,
            f"/stream -> {body!r}, transfer-encoding {headers.get('transfer-encoding')}, content-length {headers.get('content-length')}",
        )

    d.check(
        "services: async API through an async and a sync dependency API (/chain)", chain
    )
    d.check(
        "services: sync API with a pydantic argument, to_sync of an async API (/order)",
        order,
    )
    d.check("services: async API calling a batchable dependency API (/double)", double)

    def file():
        status, raw = upload(f"{base}/upload", *DOCUMENT)
        v = json.loads(raw)
        m = v["middle"]
        ok = status == 200 and (m["service"], m["bytes"], m["lines"], v["suffix"]) == (
            "Middle",
            len(DOCUMENT[2]),
            2,
            ".txt",
        )
        return ok, f"/upload {DOCUMENT[1]} -> {status} {v}"

    d.check(
        "services: an uploaded file (Path) passed on to a dependency (/upload)", file
    )
    d.check(
        "services: streaming API through two streaming dependencies is a chunked response (/stream)",
        stream,
    )


def check_system_routes(base):
    def route(path, want):
        def fn():
            status, _, _ = d.http("GET", base + path)
            return status == want, f"GET {path} -> {status}"

        return fn

    for path in ("/readyz", "/livez"):
        d.check(
            f"services: BentoML's {path} answers under the route prefix",
            route(path, 200),
        )
    d.check(
        "services: BentoML's /metrics is off (Ray has its own metrics)",
        route("/metrics", 404),
    )

    def docs():
        paths = set(d.get_json(base + "/docs.json").get("paths", {}))
        want = {"/chain", "/order", "/double", "/stream", "/upload"}
        return want <= paths, f"docs.json paths: {sorted(paths)}"

    d.check("services: /docs.json lists every API of the entry service", docs)


def check_identity(base, dashboard, app):
    """A dependency's answers come from that dependency's own replicas."""

    def fn():
        _, pids = replica_pids(dashboard, app)
        seen = {"Gateway": set(), "Middle": set(), "Leaf": set()}
        bad = []
        for i in range(6):
            for path, body in (
                ("/chain", {"text": f"t{i}"}),
                ("/order", {"item": ITEM}),
            ):
                status, v, _ = d.post(base + path, body)
                if status != 200:
                    bad.append(f"{path} -> {status} {v}")
                    continue
                for part in (v, v["middle"], v["middle"]["leaf"]):
                    seen[part["service"]].add(part["pid"])
                    if part["pid"] not in pids.get(part["service"], ()):
                        bad.append(f"{part['service']} answered from pid {part['pid']}")
        names = list(seen)
        disjoint = all(
            not (pids[a] & pids[b]) for i, a in enumerate(names) for b in names[i + 1 :]
        )
        ok = not bad and disjoint and all(seen.values())
        return ok, (
            f"answers from pids {json.dumps({k: sorted(v) for k, v in seen.items()})}; "
            f"replica pids {json.dumps({k: sorted(pids.get(k, ())) for k in names})}"
            + (f"; problems: {bad[:3]}" if bad else "")
        )

    d.check(
        "services: every service's answers come from its own deployment's replicas", fn
    )


def check_batching(base, services):
    batch = services["Middle"]["apis"]["double"]["batch"]
    limit = batch["max_batch_size"]

    def fn():
        n = 4 * limit
        res = d.concurrent_posts(f"{base}/double", [{"x": i} for i in range(n)])
        ok = all(st == 200 for st, _, _ in res)
        values = [v for _, v, _ in res]
        ok = ok and all(v["middle"]["value"] == 2 * i for i, v in enumerate(values))
        sizes = sorted(v["middle"]["batch"] for v in values) if ok else values
        ok = ok and max(sizes) == limit and min(sizes) >= 1
        return (
            ok,
            f"{n} concurrent /double ran in batches of {sizes} (compiled {batch})",
        )

    d.check(
        f"services: Middle.double is batched by serve.batch, batches of up to (and reaching) {limit}",
        fn,
    )


def check_deployments(dashboard, app, services, planned):
    """Replicas and options as bentoray wrote them (Ray's defaults elsewhere)."""
    deployments, _ = replica_pids(dashboard, app)
    for name, compiled in services.items():
        want_yaml = planned.get(compiled["deployment"], {})

        def fn(name=name, compiled=compiled, want_yaml=want_yaml):
            dep = deployments[compiled["deployment"]]
            cfg = dep["deployment_config"]
            running = [
                r for r in dep.get("replicas", []) if r.get("state") == "RUNNING"
            ]
            want = {
                "num_replicas": want_yaml.get(
                    "num_replicas", RAY_DEFAULTS["num_replicas"]
                ),
                "num_cpus": want_yaml.get("ray_actor_options", {}).get(
                    "num_cpus", RAY_DEFAULTS["num_cpus"]
                ),
                "max_ongoing_requests": want_yaml.get(
                    "max_ongoing_requests", RAY_DEFAULTS["max_ongoing_requests"]
                ),
            }
            got = {
                "num_replicas": len(running),
                "num_cpus": cfg.get("ray_actor_options", {}).get("num_cpus"),
                "max_ongoing_requests": cfg.get("max_ongoing_requests"),
            }
            ok = (
                dep["status"] == "HEALTHY"
                and got == want
                and cfg.get("num_replicas") == want["num_replicas"]
            )
            # What serve.yaml says must be what the entrypoint says.
            options = {k: v for k, v in want_yaml.items() if k != "name"}
            ok = ok and options == compiled["options"]
            return (
                ok,
                f"running {json.dumps(got, sort_keys=True)}, serve.yaml {json.dumps(options, sort_keys=True)}",
            )

        d.check(
            f"services: deployment {compiled['deployment']} runs as bentoray planned",
            fn,
        )

    def spec_overrides():
        from driver import SERVICES_MODE

        problems = []
        for name, options in SERVICES_MODE["services"].items():
            for key, value in options.items():
                have = planned.get(name, {}).get(key)
                if isinstance(value, dict):
                    have = {k: (have or {}).get(k) for k in value}
                if have != value:
                    problems.append(f"{name}.{key}: {have} != {value}")
        return (
            not problems,
            problems or "every [services.*] option of the spec is in serve.yaml",
        )

    d.check(
        "services: the spec's options override the bento's in serve.yaml",
        spec_overrides,
    )
    unexpected = set(deployments) - {s["deployment"] for s in services.values()}
    d.check(
        "services: one deployment per service, named after it",
        lambda: (not unexpected, f"deployments: {sorted(deployments)}"),
    )


def run_checks(args):
    base = args.url.rstrip("/")
    data, private = entrypoint_data(args.entrypoint)
    services = data["SERVICES"]
    d.check(
        "services: the entrypoint imports nothing from ray.serve._private",
        lambda: (
            not private and data.get("ENTRY_SERVICE") == "Gateway",
            f"private imports: {private}",
        ),
    )
    for _ in range(3):  # warm-up: first requests through new replicas
        d.post(f"{base}/chain", {"text": "warm"})
    check_apis(base)
    if args.mode == "services":
        check_system_routes(base)
        check_identity(base, args.dashboard, args.app)
        check_deployments(
            args.dashboard, args.app, services, serve_yaml_deployments(args.serve_yaml)
        )
        check_batching(base, services)
        with open(args.answers, "w") as f:
            json.dump([answer(base, *r) for r in PARITY_REQUESTS], f, indent=1)
    c = d.COUNTS
    print(
        f"{args.mode}: {c['requests']} requests; checks {c['passed']} passed, {c['failed']} failed"
    )
    return 1 if c["failed"] else 0


def parity(args):
    """Send PARITY_REQUESTS to `bentoml serve` and compare with Ray's answers."""
    base = args.url.rstrip("/")
    with open(args.answers) as f:
        ray_answers = json.load(f)
    for ray_answer, request in zip(ray_answers, PARITY_REQUESTS):
        mine = answer(base, *request)

        def fn(mine=mine, ray_answer=ray_answer):
            a = without_pids({k: ray_answer[k] for k in ("status", "body")})
            b = without_pids({k: mine[k] for k in ("status", "body")})
            return (
                a == b,
                f"Ray Serve {json.dumps(a)[:300]} / bentoml serve {json.dumps(b)[:300]}",
            )

        d.check(f"parity with bentoml serve: {mine['request']}", fn)
    c = d.COUNTS
    print(
        f"parity: {c['requests']} requests; checks {c['passed']} passed, {c['failed']} failed"
    )
    return 1 if c["failed"] else 0


def wait_ready(args):
    """Wait until `bentoml serve` answers /readyz (all its services up)."""
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < args.timeout:
        status, _, _ = d.http("GET", args.url.rstrip("/") + "/readyz", timeout=5)
        if status == 200:
            print(f"{time.monotonic() - t0:.1f}")
            return 0
        time.sleep(0.5)
    return 1
