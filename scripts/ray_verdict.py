#!/usr/bin/env python3
"""Ask the installed Ray whether Ray Serve configs are valid (differential-test oracle).

Run with the python of a venv made by scripts/ray-env.sh:
    python ray_verdict.py < cases.jsonl > verdicts.jsonl
Input lines:  {"id": ..., "config": {<full multi-app serve config>}}
Output lines: {"id", "ray", "accepted", "stage", "error", "ignored", "coerced"}

Two stages, as in Ray itself (the two validation stages of Ray Serve configs):
  "schema" - what `serve deploy` / `serve run` do client-side:
             ServeDeploySchema.parse_obj (Ray <= 2.54, pydantic-v1 API) or
             .model_validate (Ray >= 2.55); chosen by capability.
  "deploy" - what the controller does in
             ray.serve._private.application_state.override_deployment_info, using
             Ray's own DeploymentConfig / ReplicaConfig / AutoscalingConfig classes,
             plus the app route_prefix check.
Never calls ray.init(); no cluster is started. Private Ray modules are used on
purpose: this is a test harness, never generated code.
"""
import os

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import copy  # noqa: E402
import enum  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import ray  # noqa: E402
from ray import serve  # noqa: E402
from ray.serve import config as serve_config  # noqa: E402
from ray.serve._private import application_state, utils as serve_utils  # noqa: E402
from ray.serve._private.config import DeploymentConfig  # noqa: E402
from ray.serve.schema import ServeDeploySchema  # noqa: E402
from ray.runtime_env import RuntimeEnv  # noqa: E402
from ray.runtime_env import runtime_env as runtime_env_module  # noqa: E402

AutoscalingConfig = serve_config.AutoscalingConfig
# Present only in newer Rays (2.48+ / 2.55+); None otherwise.
RequestRouterConfig = getattr(serve_config, "RequestRouterConfig", None)
GangSchedulingConfig = getattr(serve_config, "GangSchedulingConfig", None)
# Schema fields typed as plain Dict whose contents Ray later parses with a model
# at deploy time; used to find ignored keys / coercions inside them.
DICT_MODELS = {
    "autoscaling_config": AutoscalingConfig,
    "request_router_config": RequestRouterConfig,
    "gang_scheduling_config": GangSchedulingConfig,
}
# The "auto" branch of override_deployment_info sets max_ongoing_requests to 5
# when unset in 2.10-2.31 only; follow whatever the installed source does.
_ODI_SRC = inspect.getsource(application_state.override_deployment_info)
AUTO_SETS_MAX_ONGOING = "NEW_DEFAULT_MAX_ONGOING_REQUESTS" in _ODI_SRC

logging.getLogger("ray").setLevel(logging.ERROR)  # silence "autoscaling will never happen"


# ---------- pydantic v1 / v2 by capability ----------
def parse(cls, obj):
    return cls.model_validate(obj) if hasattr(cls, "model_validate") else cls.parse_obj(obj)


def dump(model, **kw):
    return model.model_dump(**kw) if hasattr(model, "model_dump") else model.dict(**kw)


def field_map(cls):
    """{input key (name or alias): attribute name} of a pydantic model class, else None."""
    fields = getattr(cls, "model_fields", None)
    if not isinstance(fields, dict):
        fields = getattr(cls, "__fields__", None)
    if not isinstance(fields, dict) or cls is dict:
        return None
    out = {}
    for name, f in fields.items():
        out[name] = name
        if getattr(f, "alias", None):
            out[f.alias] = name
    return out


# ---------- ignored keys and coercions ----------
def differs(inp, out):
    """True if the parsed leaf differs from the input in type or value."""
    if isinstance(out, enum.Enum):
        out = out.value  # ProxyLocation.EveryNode == "EveryNode": not a coercion
    if type(inp) is int and type(out) is float:
        return inp != out  # int -> float widening of an equal value is not reported
    return type(inp) is not type(out) or inp != out


def walk(inp, out, path, res):
    fmap = field_map(type(out))
    if fmap is not None and isinstance(inp, dict):  # a pydantic model: look for dropped keys
        for k, v in inp.items():
            p = f"{path}.{k}" if path else k
            if k not in fmap:
                res["ignored"].append(p)  # unknown key: Ray 2.7+ drops it silently
                continue
            sub = getattr(out, fmap[k], None)
            model = DICT_MODELS.get(k)
            if model is not None and isinstance(sub, dict):
                try:  # Dict-typed in the schema; parsed by the model at deploy time
                    sub = parse(model, sub)
                except Exception:
                    pass  # the deploy stage reports the error
            walk(v, sub, p, res)
    elif isinstance(inp, dict) and isinstance(out, dict):  # free-form dict (resources, ...)
        for k, v in inp.items():
            if k in out:
                walk(v, out[k], f"{path}.{k}", res)
    elif isinstance(inp, list) and isinstance(out, (list, tuple)) and len(inp) == len(out):
        for i, (a, b) in enumerate(zip(inp, out)):
            walk(a, b, f"{path}[{i}]", res)
    elif not isinstance(inp, (dict, list)) and differs(inp, out):
        parsed = out.value if isinstance(out, enum.Enum) else out
        res["coerced"].append({"path": path, "input": inp, "parsed": jsonable(parsed)})


def jsonable(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        return repr(v)


# ---------- deploy stage ----------
class _Dummy:
    """Stands in for the user's deployment class (ReplicaConfig needs a deployment_def)."""


def check_runtime_env(env, path, res):
    """What Ray does with a runtime_env when the controller starts a task or actor
    with it (the application's build task, each replica): parse it into a
    RuntimeEnv (ray._private.utils.parse_runtime_env[_for_task_or_actor]), which
    validates every known field, then (2.40+) refuse local paths. Keys Ray does
    not know are kept as plugin fields; the runtime-env agent only logs that it
    ignores them, so they are reported as ignored. So are unknown `config`
    entries, which RuntimeEnvConfig drops with a log warning."""
    if not env:
        return
    parsed = RuntimeEnv(**env)
    no_local_paths = getattr(runtime_env_module, "_validate_no_local_paths", None)
    if no_local_paths is not None:
        no_local_paths(parsed)
    for key, _ in parsed.plugins():
        res["ignored"].append(f"{path}.{key}")
    config = env.get("config")
    if isinstance(config, dict):
        known = runtime_env_module.RuntimeEnvConfig.known_fields
        res["ignored"] += [f"{path}.config.{k}" for k in config if k not in known]


def override_deployment(options, app_runtime_env, res):
    """Mirror of one loop iteration of application_state.override_deployment_info.

    The deployment "from code" is a bare `@serve.deployment` class, so the
    original DeploymentConfig / ReplicaConfig are what Ray's decorator builds.
    """
    code = serve.deployment(_Dummy)
    info_dc = code._deployment_config
    replica_config = copy.deepcopy(code._replica_config)

    # 2.10-2.32: max_concurrent_queries folded into max_ongoing_requests (no-op later,
    # since the schema drops max_concurrent_queries from 2.33).
    if "max_concurrent_queries" in options or "max_ongoing_requests" in options:
        options["max_ongoing_requests"] = options.get("max_ongoing_requests") or options.get(
            "max_concurrent_queries"
        )

    original_options = dump(info_dc)
    original_options["user_configured_option_names"].update(set(options))

    # num_replicas="auto": merge user autoscaling values over AutoscalingConfig.default().
    # (Deploy-time inline code; config._private.handle_num_replicas_auto is only used by
    # the Python decorator / serve.run(app) path, not by config files.)
    if options.get("num_replicas") == "auto":
        options["num_replicas"] = None
        if AUTO_SETS_MAX_ONGOING and "max_ongoing_requests" not in options:
            from ray.serve._private.constants import NEW_DEFAULT_MAX_ONGOING_REQUESTS

            options["max_ongoing_requests"] = NEW_DEFAULT_MAX_ONGOING_REQUESTS
        new_config = dump(AutoscalingConfig.default())
        autoscaling_config = options.get("autoscaling_config") or info_dc.autoscaling_config
        if autoscaling_config:
            new_config.update(autoscaling_config)
        options["autoscaling_config"] = AutoscalingConfig(**new_config)

    options.pop("route_prefix", None)  # deployment-level route_prefix (<= 2.38)

    # ReplicaConfig.update(...) runs ReplicaConfig._validate: ray_actor_options
    # (ray_option_utils: CPU/GPU in resources, precision, ...), bundles, strategy
    # without bundles, max_replicas_per_node range / with bundles.
    if "ray_actor_options" in options:
        actor_options = options.pop("ray_actor_options", {})
    else:
        actor_options = replica_config.ray_actor_options or {}
    update_kwargs = {}
    for name in inspect.signature(replica_config.update).parameters:
        if name != "ray_actor_options":
            update_kwargs[name] = options.pop(name, getattr(replica_config, name, None))
    # Merge app- and deployment-level runtime_env (2.60 skips this when both are
    # empty; older Rays always merge, which only adds an empty dict).
    child_env = actor_options.get("runtime_env", {})
    if app_runtime_env or child_env:
        actor_options["runtime_env"] = serve_utils.override_runtime_envs_except_env_vars(
            app_runtime_env, child_env
        )
    replica_config.update(ray_actor_options=actor_options, **update_kwargs)
    # The replica actor is created with the merged runtime_env; keys that come
    # from the application were already reported there.
    if child_env:
        replica_res = {"ignored": []}
        check_runtime_env(actor_options["runtime_env"], "", replica_res)
        res["ignored"] += [
            f"deployments.ray_actor_options.runtime_env{p}" for p in replica_res["ignored"]
            if p.lstrip(".").split(".")[0] in child_env
        ]

    # Nested configs the controller turns into models before DeploymentConfig (2.48+/2.55+).
    if GangSchedulingConfig and isinstance(options.get("gang_scheduling_config"), dict):
        options["gang_scheduling_config"] = GangSchedulingConfig(**options["gang_scheduling_config"])
    if RequestRouterConfig and options.get("request_router_config"):
        options["request_router_config"] = RequestRouterConfig(**options["request_router_config"])

    # DeploymentConfig(**original_options) runs its validators (max_queued_requests,
    # autoscaling_config dict -> AutoscalingConfig incl. min <= initial <= max, ...).
    options.pop("name", None)
    original_options.update(options)
    DeploymentConfig(**original_options)


def check_route_prefix(app_config):
    """App route_prefix: validate_route_prefix (2.39+, called at the end of
    override_deployment_info); before that ApplicationState.apply_deployment_info
    only checked that the (ingress) route prefix starts with "/"."""
    prefix = app_config.get("route_prefix", serve_utils.DEFAULT.VALUE)
    if hasattr(serve_utils, "validate_route_prefix"):
        serve_utils.validate_route_prefix(prefix)
    elif "def apply_deployment_info" in inspect.getsource(application_state):
        if isinstance(prefix, str) and not prefix.startswith("/"):
            raise ValueError(f'Invalid route prefix "{prefix}", it must start with "/"')


def deploy_stage(schema, res):
    for app in schema.applications:
        app_config = dump(app, exclude_unset=True)  # as override_deployment_info does
        # The controller builds the application in a task with its runtime_env.
        check_runtime_env(app.runtime_env, "applications.runtime_env", res)
        for options in app_config.get("deployments", []):
            override_deployment(options, app.runtime_env, res)
        check_route_prefix(app_config)


# ---------- driver ----------
def short_error(exc):
    text = " ".join(str(exc).split()) or repr(exc)
    text = re.sub(r" ?For further information visit \S+", "", text)  # pydantic v2 links
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 400 else text[:397] + "..."


def verdict(case_id, config):
    res = {"id": case_id, "ray": ray.__version__, "accepted": True, "stage": None,
           "error": None, "ignored": [], "coerced": []}
    stage = "schema"
    try:
        schema = parse(ServeDeploySchema, config)
        try:
            walk(config, schema, "", res)
        except Exception as e:  # diagnostics must never turn into a rejection
            res["walk_error"] = short_error(e)
        stage = "deploy"
        deploy_stage(schema, res)
    except Exception as e:  # noqa: BLE001 - every failure is a verdict
        res.update(accepted=False, stage=stage, error=short_error(e))
    return res


def main():
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
            case_id, config = case["id"], case["config"]
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"ray_verdict.py: line {lineno}: unusable input: {e}")
        print(json.dumps(verdict(case_id, config)), flush=True)


if __name__ == "__main__":
    main()
