# ---------------------------------------------------------------------------
# Runtime for legacy bentos (bentoray's src/emit/native_runtime.py, copied
# verbatim).
#
# Serves a legacy (runner-based) BentoML bento on Ray Serve with public Ray
# Serve APIs only: one deployment per runner ("bento-runner-<runner>") and one
# ingress deployment ("bento-svc-<service>") that runs the bento's own HTTP app
# and sends runner calls to the runner deployments through DeploymentHandles.
#
# It reads only the constants defined above: BENTO_TAG, SERVICE_NAME,
# LOAD_FROM_LOCAL_STORE, ENABLE_BATCHING, INGRESS_OPTIONS and RUNNERS.
#
# Where the bento comes from (LOAD_FROM_LOCAL_STORE):
#   False: the process that builds the application (`serve deploy`'s build
#     task, `serve run`) loads the bento from its BENTOML_HOME and passes the
#     Service to every deployment. Ray pickles it with BentoML's EXPORT_BENTO
#     strategy: the whole bento, models included, travels inside each
#     deployment's init arguments and is imported into each replica's tmp
#     bento store. Only the driver's node needs the bento; large models make
#     large deployments.
#   True: only the tag is passed; every replica loads the bento from its own
#     node's BENTOML_HOME, so every node must have it. Nothing bento-related
#     is pickled.
# ---------------------------------------------------------------------------


def _configure_bentoml():
    """Import BentoML with its own Prometheus metrics disabled (Ray has its own).

    Uses the public bentoml.load_config, which also works when BentoML was
    already imported (a replica unpickling the Service imports it before any
    of our code runs), unlike the BENTOML_CONFIG_OPTIONS variable, which is
    read once at import. Explicit user configuration (BENTOML_CONFIG...) still
    wins over these defaults.
    """
    import bentoml

    bentoml.load_config(
        override_defaults={"api_server": {"metrics": {"enabled": False}}}
    )
    return bentoml


def _load_service(source):
    """The bento's Service: `source` is the tag, or the Service itself."""
    bentoml = _configure_bentoml()
    svc = bentoml.load(source) if isinstance(source, str) else source
    _check_service(svc)
    return svc


def _method_table(runner):
    """A loaded runner's methods, in the form of RUNNERS[runner]["methods"]."""
    return {
        m.name: {
            "batchable": bool(m.config.batchable),
            "batch_dim": list(m.config.batch_dim),
        }
        for m in runner.runner_methods
    }


def _comparable(table):
    # batch_dim only matters (and is only recorded) for batchable methods.
    return {
        name: (m["batchable"], m["batch_dim"] if m["batchable"] else None)
        for name, m in table.items()
    }


def _check_service(svc):
    """Fail loudly when the bento no longer matches what bentoray compiled."""
    problems = []
    if svc.name != SERVICE_NAME:
        problems.append(f"service is named {svc.name!r}, expected {SERVICE_NAME!r}")
    names = [r.name for r in svc.runners]
    if sorted(names) != sorted(RUNNERS):
        problems.append(f"runners are {names}, expected {list(RUNNERS)}")
    for runner in svc.runners:
        compiled = RUNNERS.get(runner.name)
        if compiled is None:
            continue
        actual = _method_table(runner)
        expected = compiled["methods"]
        if expected is not None and _comparable(expected) != _comparable(actual):
            problems.append(
                f"runner {runner.name!r} has methods {actual}, expected {expected}"
            )
        if ENABLE_BATCHING:
            for method in compiled["batching"]:
                if not actual.get(method, {}).get("batchable"):
                    problems.append(
                        f"batching options for {runner.name}.{method}, which is not a batchable method"
                    )
    if problems:
        raise RuntimeError(
            f"bento {BENTO_TAG} does not match the entrypoint bentoray generated for it "
            f"({'; '.join(problems)}); run `bentoray build` again"
        )


def _find_runner(svc, name):
    for runner in svc.runners:
        if runner.name == name:
            return runner
    raise RuntimeError(f"bento {BENTO_TAG} has no runner {name!r}")


# --- runner deployments -----------------------------------------------------


def _runner_method(runner, name, batch_options):
    """The deployment method `name`, bound to runner method `name` and no other.

    A factory, so each method captures its own name (the loop-variable closure
    in bentoml.ray made every method call the last one). `batch_options` is
    None for an unbatched method, else the serve.batch options of exactly this
    runner's method.
    """
    target = next(m for m in runner.runner_methods if m.name == name)

    if batch_options is None:

        async def method(self, *args, **kwargs):
            return await target.async_run(*args, **kwargs)

    else:
        # No public equivalent: BentoML's own containers join a list of
        # per-request inputs into one batch and split the result back.
        from bentoml._internal.runner.container import AutoContainer

        in_dim, out_dim = target.config.batch_dim

        async def method(self, *args, **kwargs):
            # serve.batch passes every argument as a list with one item per request.
            joined_args = [
                AutoContainer.batches_to_batch(a, batch_dim=in_dim) for a in args
            ]
            joined_kwargs = {
                k: AutoContainer.batches_to_batch(v, batch_dim=in_dim)
                for k, v in kwargs.items()
            }
            indices = (joined_args or list(joined_kwargs.values()))[0][1]
            result = await target.async_run(
                *(batch for batch, _ in joined_args),
                **{k: batch for k, (batch, _) in joined_kwargs.items()},
            )
            return AutoContainer.batch_to_batches(result, indices, batch_dim=out_dim)

    # serve.batch finds `self` through getattr(self, func.__name__), and the
    # deployment method is looked up by this name too.
    method.__name__ = method.__qualname__ = name
    if batch_options is None:
        return method
    from ray import serve

    return serve.batch(**batch_options)(method)


class _RunnerDeployment:
    """One runner of the bento, run locally in each replica of its deployment."""

    def __init__(self, source, runner_name):
        svc = _load_service(source)
        runner = _find_runner(svc, runner_name)
        runner.init_local(quiet=True)
        compiled = RUNNERS[runner_name]
        for name, info in _method_table(runner).items():
            batched = ENABLE_BATCHING and info["batchable"]
            options = compiled["batching"].get(name, {}) if batched else None
            # Methods are set on the class (this replica's own copy of it, see
            # _build_application): Ray calls them by name, and serve.batch
            # needs them to be real methods.
            setattr(type(self), name, _runner_method(runner, name, options))
        self._runner = runner


# --- ingress ----------------------------------------------------------------


class _RayRunnerHandle:
    """BentoML runner handle sending runner calls to a runner deployment.

    Installed with the public runner.init_client(handle_class, *args). Async
    APIs await the DeploymentResponse, so the replica's event loop never
    blocks; sync APIs run in BentoML's worker threads and wait there.
    Streaming runner methods are not supported.
    """

    def __init__(self, runner, deployment_handle):
        self._handle = deployment_handle
        self._methods = {}

    def _method(self, name):
        if name not in self._methods:
            self._methods[name] = self._handle.options(method_name=name)
        return self._methods[name]

    async def is_ready(self, timeout):
        return True

    async def async_run_method(self, method, /, *args, **kwargs):
        return await self._method(method.name).remote(*args, **kwargs)

    def run_method(self, method, /, *args, **kwargs):
        return self._method(method.name).remote(*args, **kwargs).result()

    def async_stream_method(self, method, /, *args, **kwargs):
        raise NotImplementedError(
            f"runner method {method.name!r}: streaming runner methods are not supported on Ray Serve"
        )


class _IngressDeployment:
    """The bento's whole HTTP API (every route), under the application's route prefix."""

    def __init__(self, source, /, **runner_handles):
        svc = _load_service(source)
        for runner in svc.runners:
            runner.init_client(_RayRunnerHandle, runner_handles[runner.name])
        self._app = svc.asgi_app

    async def __call__(self, request):
        """Run the bento's ASGI app on this request and return its buffered response.

        Only the request's own "http" scope reaches BentoML: its ASGI lifespan
        never runs, because its startup would initialise the runners again
        (done above with Ray handles instead). So @svc.on_startup hooks do not
        run, as under bentoml.ray. Ray passes the route prefix as the ASGI
        root_path, which BentoML's Starlette router strips.
        """
        from starlette.responses import Response

        start, body = {}, []

        async def send(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        try:
            await self._app(request.scope, request.receive, send)
        except Exception:
            # Starlette re-raises after sending its 500 page; keep the page.
            if "status" not in start:
                raise
        response = Response(b"".join(body), status_code=start.get("status", 500))
        computed = [(k, v) for k, v in response.raw_headers if k == b"content-length"]
        response.raw_headers = computed + [
            (k, v)
            for k, v in start.get("headers", [])
            if k.lower() not in (b"content-length", b"transfer-encoding")
        ]
        return response


# --- application ------------------------------------------------------------


def _build_application():
    """The Ray Serve application: the ingress bound to one deployment per runner."""
    _check_entrypoint_hash()

    from ray import serve

    _pickle_this_module_by_value()

    if LOAD_FROM_LOCAL_STORE:
        source = BENTO_TAG
    else:
        # Checks the bento now, so a changed bento fails `serve deploy` early.
        source = _load_service(BENTO_TAG)
        _configure_bentoml().set_serialization_strategy("EXPORT_BENTO")

    runners = {}
    for name, compiled in RUNNERS.items():
        # A class of its own per runner: replicas set their methods on it.
        cls = type("_RunnerDeployment", (_RunnerDeployment,), {})
        deployment = serve.deployment(
            name=f"bento-runner-{name}", **compiled["options"]
        )
        runners[name] = deployment(cls).bind(source, name)
    ingress = serve.deployment(name=f"bento-svc-{SERVICE_NAME}", **INGRESS_OPTIONS)(
        _IngressDeployment
    )
    return ingress.bind(source, **runners)
