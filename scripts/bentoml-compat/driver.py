"""Exercises the BentoML internals of bentoray's native runtime on one BentoML release.

Usage: python driver.py ENTRYPOINT.py   (BENTOML_HOME set to the store holding the bento)

ENTRYPOINT.py is a native entrypoint that `bentoray build` generated for the
compat bento (scripts/bentoml-compat/bento). The driver runs the runtime's own
code from it (the shipped runtime, not a copy) without Ray: it drops the last
line (`app = _build_application()`, which needs a Ray cluster) and gives the
runtime a stand-in `ray.serve.batch` that records the options, so each
batched method is called the way serve.batch calls it, with one list item per
request. What it checks is BentoML's side of the runtime:

- bentoml.load_config / bentoml.load / set_serialization_strategy and the
  pickled Service (EXPORT_BENTO), LOAD_FROM_LOCAL_STORE loading by tag;
- Service.name, Service.runners, Runner.name, Runner.runner_methods,
  RunnerMethod.name / .config.batchable / .config.batch_dim (_check_service);
- Runner.init_local and RunnerMethod.async_run (_RunnerDeployment);
- AutoContainer.batches_to_batch / batch_to_batches along batch_dim 0 and 1
  on numpy arrays and on lists (the batched runner methods);
- Runner.init_client with the runtime's handle class, which BentoML's runner
  methods call back (async_run_method, run_method, is_ready), and
  Service.asgi_app serving real HTTP requests (_IngressDeployment).

Prints one line per check and `N passed, M failed`; exits 1 on any failure.
"""

import asyncio
import json
import pickle
import sys
import traceback
import types

import numpy as np

results = []


class Blocked(Exception):
    """An earlier check this one builds on failed."""


def check(name):
    def run(fn):
        try:
            fn()
        except Blocked as e:
            results.append((name, False))
            print(f"FAIL {name} (not run: {e} failed)", flush=True)
        except Exception:  # noqa: BLE001 - every failure is a result to report
            results.append((name, False))
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
        else:
            results.append((name, True))
            print(f"ok   {name}", flush=True)
        return fn

    return run


# --- a stand-in for the two Ray names the runtime imports --------------------

ray = types.ModuleType("ray")
ray.serve = types.ModuleType("ray.serve")


def _batch(**options):
    def wrap(method):
        method.batch_options = options
        return method

    return wrap


ray.serve.batch = _batch
sys.modules.setdefault("ray", ray)
sys.modules.setdefault("ray.serve", ray.serve)
assert sys.modules["ray"] is ray, (
    "run without Ray installed: the driver stands in for it"
)


# --- the runtime, from the generated entrypoint -----------------------------

entrypoint_path = sys.argv[1]
with open(entrypoint_path, encoding="ascii") as f:
    source = f.read()
head, _, last = source.rstrip("\n").rpartition("\n")
assert last == "app = _build_application()", f"unexpected last line {last!r}"
rt = types.ModuleType("bento_ray")
rt.__file__ = entrypoint_path
exec(compile(head, entrypoint_path, "exec"), rt.__dict__)  # noqa: S102 - the shipped runtime

# Every function and class of the runtime is exercised below, except the ones
# that touch no BentoML API; a new one fails here until the driver covers it
# or it is listed as such.
EXERCISED = {
    "_configure_bentoml",
    "_load_service",
    "_method_table",
    "_comparable",
    "_check_service",
    "_find_runner",
    "_runner_method",
    "_RunnerDeployment",
    "_RayRunnerHandle",
    "_IngressDeployment",
}
NO_BENTOML = {
    "_build_application",  # binds Ray deployments: needs Ray (scripts/e2e.sh)
    "_check_entrypoint_hash",  # hashlib and os only
    "_pickle_this_module_by_value",  # Ray's cloudpickle only (scripts/e2e.sh)
}
defined = {
    n
    for n, v in vars(rt).items()
    if n.startswith("_")
    and not n.startswith("__")
    and isinstance(v, (types.FunctionType, type))
    and v.__module__ == rt.__name__
}


@check("every runtime function is exercised by this driver")
def _():
    missing = defined - EXERCISED - NO_BENTOML
    assert not missing, f"not exercised: {sorted(missing)}"


def run(coro):
    return asyncio.run(coro)


# --- loading and checking the Service ---------------------------------------


class Results(dict):
    """What earlier checks made; a missing item blocks the checks that need it."""

    def __init__(self, made_by):
        super().__init__()
        self.made_by = made_by

    def __missing__(self, key):
        raise Blocked(self.made_by)


state = Results("loading the Service")


@check("bentoml.load_config + bentoml.load + _check_service accept the bento")
def _():
    state["svc"] = rt._load_service(rt.BENTO_TAG)
    assert state["svc"].name == rt.SERVICE_NAME


@check("runner method tables match what bentoray compiled from model.yaml")
def _():
    svc = state["svc"]
    tables = {r.name: rt._method_table(r) for r in svc.runners}
    assert tables["iris_clf"] == {
        "predict": {"batchable": True, "batch_dim": [0, 0]},
        "predict_proba": {"batchable": False, "batch_dim": [0, 0]},
    }, tables["iris_clf"]
    assert tables["compat"]["columns"] == {"batchable": True, "batch_dim": [1, 1]}
    assert rt._comparable(tables["iris_clf"]) == rt._comparable(
        rt.RUNNERS["iris_clf"]["methods"]
    )


@check("_check_service rejects a bento whose runner methods changed")
def _():
    saved = rt.RUNNERS
    changed = json.loads(json.dumps(saved))
    changed["iris_clf"]["methods"]["predict"]["batchable"] = False
    rt.RUNNERS = changed
    try:
        rt._check_service(state["svc"])
    except RuntimeError as e:
        assert "iris_clf" in str(e), e
    else:
        raise AssertionError("a changed method table was accepted")
    finally:
        rt.RUNNERS = saved


@check("_find_runner finds runners and names a missing one")
def _():
    assert rt._find_runner(state["svc"], "compat").name == "compat"
    try:
        rt._find_runner(state["svc"], "nope")
    except RuntimeError:
        pass
    else:
        raise AssertionError("missing runner found")


# --- runner deployments ------------------------------------------------------

deployments = Results("_RunnerDeployment")


BENTO_MODULES = ("service", "compat_runnable")


def replica_service(source):
    """What one replica loads: Ray runs every replica in a process of its own,
    so each gets its own Service and runners; forgetting the bento's modules
    makes bentoml.load build new ones here too."""
    for module in BENTO_MODULES:
        sys.modules.pop(module, None)
    return source if isinstance(source, str) else rt._load_service(rt.BENTO_TAG)


@check("_RunnerDeployment: init_local and one method per runner method")
def _():
    # LOAD_FROM_LOCAL_STORE passes the tag; the default passes the Service.
    deployments["iris_clf"] = rt._RunnerDeployment(
        replica_service(rt.BENTO_TAG), "iris_clf"
    )
    deployments["compat"] = rt._RunnerDeployment(
        replica_service(state["svc"]), "compat"
    )
    for name, compiled in rt.RUNNERS.items():
        cls = type(deployments[name])
        table = rt._method_table(deployments[name]._runner)
        assert compiled["methods"] in (None, table), (compiled["methods"], table)
        for method, info in table.items():
            fn = getattr(cls, method)
            batched = info["batchable"]
            assert hasattr(fn, "batch_options") == batched, (name, method)
            if batched:
                assert fn.batch_options == compiled["batching"][method], (
                    fn.batch_options
                )


def call(runner, method, *args):
    d = deployments[runner]
    return run(getattr(d, method)(*args))


@check("batched rows (batch_dim 0, numpy): joined into one call, split per request")
def _():
    requests = [np.array([[1.0]]), np.array([[2.0], [3.0]]), np.array([[4.0]])]
    out = call("compat", "rows", requests)
    assert len(out) == 3, out
    np.testing.assert_array_equal(out[0], [[2.0, 4.0]])
    np.testing.assert_array_equal(out[1], [[4.0, 4.0], [6.0, 4.0]])
    np.testing.assert_array_equal(out[2], [[8.0, 4.0]])


@check("batched columns (batch_dim 1, numpy): joined and split along axis 1")
def _():
    requests = [np.array([[1.0], [2.0]]), np.array([[3.0, 4.0], [5.0, 6.0]])]
    out = call("compat", "columns", requests)
    assert len(out) == 2, out
    np.testing.assert_array_equal(out[0], [[31.0], [32.0]])
    np.testing.assert_array_equal(out[1], [[33.0, 34.0], [35.0, 36.0]])


@check("batched items (lists): concatenated and split per request")
def _():
    out = call("compat", "items", [[1, 2], [3]])
    assert out == [[[1, 3], [2, 3]], [[3, 3]]], out


@check("batched keyword arguments are joined like positional ones")
def _():
    out = run(deployments["compat"].rows(x=[np.array([[1.0]]), np.array([[5.0]])]))
    np.testing.assert_array_equal(out[0], [[2.0, 2.0]])
    np.testing.assert_array_equal(out[1], [[10.0, 2.0]])


@check("batched sklearn predict matches the model on each request")
def _():
    a = np.array([[5.1, 3.5, 1.4, 0.2]])
    b = np.array([[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]])
    out = call("iris_clf", "predict", [a, b])
    assert [list(o) for o in out] == [[0], [2, 1]], out


@check("unbatched methods call the runner directly")
def _():
    np.testing.assert_array_equal(call("compat", "negate", np.array([1, -2])), [-1, 2])
    p = call("iris_clf", "predict_proba", np.array([[5.1, 3.5, 1.4, 0.2]]))
    assert p.shape == (1, 3) and abs(p.sum() - 1) < 1e-6, p


# --- ingress -----------------------------------------------------------------


class _Response:
    """A DeploymentResponse: awaitable, or .result() from a worker thread."""

    def __init__(self, coro_fn):
        self._coro_fn = coro_fn

    def __await__(self):
        return self._coro_fn().__await__()

    def result(self):
        return asyncio.run(self._coro_fn())


class _Handle:
    """A DeploymentHandle to a runner deployment in this process. A batched
    method gets a batch of one, as serve.batch gives a lone request."""

    def __init__(self, deployment, method_name=None):
        self._deployment = deployment
        self._method_name = method_name

    def options(self, method_name):
        return _Handle(self._deployment, method_name)

    def remote(self, *args, **kwargs):
        fn = getattr(self._deployment, self._method_name)

        async def go():
            if hasattr(fn, "batch_options"):
                out = await fn(
                    *[[a] for a in args], **{k: [v] for k, v in kwargs.items()}
                )
                return out[0]
            return await fn(*args, **kwargs)

        return _Response(go)


class _Request:
    def __init__(self, method, path, body):
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"content-type", b"application/json"),
                (b"host", b"127.0.0.1"),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
        }
        self._body = body

    async def receive(self):
        body, self._body = self._body, b""
        return {"type": "http.request", "body": body, "more_body": False}


ingress = Results("_IngressDeployment")


@check("_IngressDeployment: init_client with the runtime's handle, asgi_app")
def _():
    handles = {name: _Handle(deployments[name]) for name in rt.RUNNERS}
    ingress["app"] = rt._IngressDeployment(replica_service(state["svc"]), **handles)


def post(path, payload):
    response = run(ingress["app"](_Request("POST", path, json.dumps(payload).encode())))
    assert response.status_code == 200, (response.status_code, response.body[:500])
    return json.loads(response.body)


@check("HTTP: async API -> batched framework runner through the handle")
def _():
    assert post("/classify", [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]) == [0, 2]


@check("HTTP: sync API (worker thread, run_method) -> unbatched runner method")
def _():
    p = post("/proba", [[5.1, 3.5, 1.4, 0.2]])
    assert len(p) == 1 and len(p[0]) == 3, p


@check("HTTP: custom runnable, batched along axis 0, 1 and over lists")
def _():
    assert post("/rows", [[1.0], [2.0]]) == [[2.0, 2.0], [4.0, 2.0]]
    assert post("/columns", [[1.0, 2.0]]) == [[21.0, 22.0]]
    assert post("/items", [7, 8]) == [[7, 2], [8, 2]]
    assert post("/v1/negate", [1, -2]) == [-1, 2]


@check("HTTP: readiness and an unknown route")
def _():
    ready = run(ingress["app"](_Request("GET", "/readyz", b"")))
    assert ready.status_code == 200, (ready.status_code, ready.body)
    missing = run(ingress["app"](_Request("GET", "/no/such/route", b"")))
    assert missing.status_code == 404, missing.status_code


@check("EXPORT_BENTO: the Service pickles with its bento and loads back")
def _():
    import cloudpickle

    bentoml = rt._configure_bentoml()
    bentoml.set_serialization_strategy("EXPORT_BENTO")
    svc = pickle.loads(cloudpickle.dumps(state["svc"]))
    rt._check_service(svc)
    assert [r.name for r in svc.runners] == [r.name for r in state["svc"].runners]


passed = sum(ok for _, ok in results)
failed = len(results) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
