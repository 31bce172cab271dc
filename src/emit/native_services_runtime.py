# ---------------------------------------------------------------------------
# Runtime for new-style bentos (bentoray's src/emit/native_services_runtime.py,
# copied verbatim).
#
# Serves a BentoML 1.2+ (`@bentoml.service`) bento on Ray Serve with public
# Ray Serve APIs only: one deployment per service, named after the service.
# The entry service is the ingress and runs the bento's own HTTP app (every
# route, under the application's route prefix); every other service is called
# through DeploymentHandles, never over HTTP: each `bentoml.depends(Service)`
# attribute is replaced by a client that sends the call to that service's
# deployment. Dependencies on URLs (`bentoml.depends(url=...)`) are left to
# BentoML.
#
# It reads only the constants defined above: BENTO_TAG, ENTRY_SERVICE,
# LOAD_FROM_LOCAL_STORE and SERVICES.
#
# Where the bento comes from (LOAD_FROM_LOCAL_STORE):
#   False: the process that builds the application (`serve deploy`'s build
#     task, `serve run`) checks the bento in its BENTOML_HOME and exports it
#     (`bentoml.export_bento`, models included); the archive's bytes travel
#     in every deployment's init arguments, and each node unpacks them once
#     under $BENTOML_HOME/tmp/bentoray. Only the driver's node needs the bento.
#   True: only the tag is passed; every replica loads the bento from its own
#     node's BENTOML_HOME, so every node must have it.
# ---------------------------------------------------------------------------


def _load_services(source):
    """{name: Service} of the bento: `source` is its tag, or its exported bytes."""
    import bentoml

    if isinstance(source, bytes):
        entry = bentoml.load(_unpack_bento(source))
    else:
        entry = bentoml.load(source)
    services = entry.all_services()
    _check_services(entry, services)
    for svc in services.values():
        # BentoML's /metrics needs the multiprocess directory that only
        # `bentoml serve` sets up (it hangs without it); Ray has its own
        # metrics. The service's own config is the one place BentoML reads
        # this from for new-style services; explicit user configuration
        # (BENTOML_CONFIG...) still wins over it.
        svc.config["metrics"] = {**svc.config.get("metrics", {}), "enabled": False}
    return services


def _unpack_bento(archive):
    """Unpack an exported bento once per node; the directory to load it from."""
    import io
    import os
    import tarfile
    import tempfile

    name, version = BENTO_TAG.split(":")
    home = os.environ.get("BENTOML_HOME") or os.path.expanduser("~/bentoml")
    target = os.path.join(home, "tmp", "bentoray", name, version)
    if os.path.isfile(os.path.join(target, "bento.yaml")):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{version}-", dir=os.path.dirname(target))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(staging, filter="data")
    try:
        os.rename(staging, target)
    except OSError:
        # Another replica on this node got there first.
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_async(api):
    import inspect

    return inspect.iscoroutinefunction(api.func) or inspect.isasyncgenfunction(api.func)


def _api_table(svc):
    """A loaded service's APIs, in the form of SERVICES[name]["apis"]."""
    return {
        name: {
            "batchable": bool(api.batchable),
            "batch_dim": list(api.batch_dim),
            "is_async": _is_async(api),
            "streaming": bool(api.is_stream),
        }
        for name, api in svc.apis.items()
    }


def _comparable(apis):
    # batch_dim only matters for batchable APIs; None is "not known at build".
    return {
        name: (
            a["batchable"],
            a["batch_dim"] if a["batchable"] else None,
            a["is_async"],
            a["streaming"],
        )
        for name, a in apis.items()
    }


def _check_services(entry, services):
    """Fail loudly when the bento no longer matches what bentoray compiled."""
    problems = []
    if entry.name != ENTRY_SERVICE:
        problems.append(f"entry service is {entry.name!r}, expected {ENTRY_SERVICE!r}")
    if sorted(services) != sorted(SERVICES):
        problems.append(f"services are {list(services)}, expected {list(SERVICES)}")
    for name, svc in services.items():
        compiled = SERVICES.get(name)
        if compiled is None:
            continue
        actual = _api_table(svc)
        expected = {
            api: {**info, "is_async": actual.get(api, {}).get("is_async")}
            if info["is_async"] is None
            else info
            for api, info in compiled["apis"].items()
        }
        if _comparable(expected) != _comparable(actual):
            problems.append(f"service {name!r} has APIs {actual}, expected {expected}")
        dependencies = {
            attr: dep.on.name
            for attr, dep in svc.dependencies.items()
            if dep.on is not None and dep.url is None and dep.deployment is None
        }
        if dependencies != compiled["dependencies"]:
            problems.append(
                f"service {name!r} depends on {dependencies}, expected {compiled['dependencies']}"
            )
    if problems:
        raise RuntimeError(
            f"bento {BENTO_TAG} does not match the entrypoint bentoray generated for it "
            f"({'; '.join(problems)}); run `bentoray build` again"
        )


# --- dependency clients -----------------------------------------------------


class _Namespace:
    """`client.to_async` / `client.to_sync`: one attribute per API."""

    def __init__(self, calls):
        self.__dict__.update(calls)


class _ServiceClient:
    """What a `bentoml.depends(Service)` attribute returns: calls go to the
    service's deployment through a DeploymentHandle.

    As with BentoML's own clients, `client.api(...)` is async when the API is
    `async def` and sync otherwise; `client.to_async.api` and
    `client.to_sync.api` are always async / sync. Arguments and results
    travel pickled by Ray, as between `bentoml serve` processes (pydantic
    models, arrays, images and Path objects arrive as themselves). Async
    calls await the response, so the event loop never blocks. Sync calls
    wait for it in the calling thread: BentoML runs sync APIs in worker
    threads, where that is allowed; from inside an event loop Ray refuses it
    (a RuntimeError; use `to_async` there).
    """

    def __init__(self, handle, service):
        # The dependency's own timeout, as BentoML's client uses it (+1%).
        timeout = (service.config.get("traffic", {}).get("timeout") or 60) * 1.01
        calls = {}
        for name, api in service.apis.items():
            method = handle.options(method_name=name, stream=bool(api.is_stream))
            calls[name] = {
                mode: _call(method, name, api.is_stream, mode, timeout)
                for mode in ("async", "sync")
            }
            setattr(self, name, calls[name]["async" if _is_async(api) else "sync"])
        self.to_async = _Namespace({n: c["async"] for n, c in calls.items()})
        self.to_sync = _Namespace({n: c["sync"] for n, c in calls.items()})


def _call(method, name, streaming, mode, timeout):
    """API `name` of a dependency, called through `method` (a DeploymentHandle)."""
    import asyncio

    def refuse_in_event_loop():
        # Ray would refuse too, less clearly; BentoML would block the loop.
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise RuntimeError(
            f"a sync call of dependency API {name!r} from inside an event loop would "
            f"block it: in async code, use `.to_async.{name}(...)` and await it"
        )

    if streaming and mode == "async":

        async def call(*args, **kwargs):
            async for chunk in method.remote(*args, **kwargs):
                yield chunk

    elif streaming:

        def call(*args, **kwargs):
            refuse_in_event_loop()
            yield from method.remote(*args, **kwargs)

    elif mode == "async":

        async def call(*args, **kwargs):
            return await asyncio.wait_for(method.remote(*args, **kwargs), timeout)

    else:

        def call(*args, **kwargs):
            refuse_in_event_loop()
            return method.remote(*args, **kwargs).result(timeout_s=timeout)

    return call


def _attach_clients(svc, handles, services):
    """Replace svc's in-bento dependencies by clients, before it is instantiated.

    A Dependency is a descriptor on the service class; a plain attribute in
    its place is what every instance then sees. BentoML's own start-up and
    readiness code only special-cases its HTTP proxies, so it leaves these
    clients alone.
    """
    for attr, service_name in SERVICES[svc.name]["dependencies"].items():
        client = _ServiceClient(handles[service_name], services[service_name])
        setattr(svc.inner, attr, client)


# --- service deployments ----------------------------------------------------


class _ServiceReplica:
    """Loads the bento and prepares one of its services in a replica."""

    def _prepare(self, source, name, handles):
        import os

        services = _load_services(source)
        svc = services[name]
        _attach_clients(svc, handles, services)
        # Where `bentoml serve` runs the service code from (its relative
        # paths resolve there too).
        os.chdir(svc.working_dir)
        self._service = svc
        return svc


def _unbatched(svc, instance, name, limiter):
    """An API of a non-entry service as a deployment method (always async).

    Sync user code runs in a worker thread with the service's `threads`
    limit, as BentoML runs it; a `ctx` parameter gets the service's context.
    """
    import inspect

    api = svc.apis[name]
    func = getattr(instance, name).local

    def with_ctx(kwargs):
        return {**kwargs, api.ctx_param: svc.context} if api.ctx_param else kwargs

    if inspect.isasyncgenfunction(api.func):

        async def method(*args, **kwargs):
            async for chunk in func(*args, **with_ctx(kwargs)):
                yield chunk

    elif inspect.isgeneratorfunction(api.func):

        async def method(*args, **kwargs):
            chunks = func(*args, **with_ctx(kwargs))
            done = object()
            while (chunk := await limiter.run(next, chunks, done)) is not done:
                yield chunk

    elif inspect.iscoroutinefunction(api.func):

        async def method(*args, **kwargs):
            return await func(*args, **with_ctx(kwargs))

    else:

        async def method(*args, **kwargs):
            return await limiter.run(func, *args, **with_ctx(kwargs))

    return method


def _batched(svc, instance, name, limiter, options):
    """A batchable API of a non-entry service, batched by serve.batch.

    Each call brings one batch (as with BentoML, the API's single argument);
    serve.batch collects the calls, which are joined along batch_dim[0] with
    BentoML's own containers, run once, and split along batch_dim[1], as
    BentoML's batch dispatcher does (no public API for the joining).
    """
    from bentoml._internal.runner.container import AutoContainer
    from ray import serve

    api = svc.apis[name]
    func = getattr(instance, name).local
    in_dim, out_dim = api.batch_dim
    ctx = {api.ctx_param: svc.context} if api.ctx_param else {}

    async def run(batches):
        batch, indices = AutoContainer.batches_to_batch(batches, batch_dim=in_dim)
        if _is_async(api):
            result = await func(batch, **ctx)
        else:
            result = await limiter.run(func, batch, **ctx)
        return AutoContainer.batch_to_batches(result, indices, batch_dim=out_dim)

    # serve.batch looks for `self` as getattr(first_argument, __name__): a
    # name no argument has keeps it a plain function.
    run.__name__ = run.__qualname__ = f"_bentoray_batch_{name}"
    run = serve.batch(**options)(run)

    async def method(*args, **kwargs):
        values = list(args) + [v for k, v in kwargs.items() if k != api.ctx_param]
        if len(values) != 1:
            raise TypeError(f"batchable API {name!r} takes exactly one argument")
        return await run(values[0])

    return method


class _Limiter:
    """BentoML's `threads` limit for sync user code, made in the replica's loop."""

    def __init__(self, threads):
        self._threads = threads
        self._limiter = None

    async def run(self, func, *args, **kwargs):
        import functools

        import anyio

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._threads)
        call = functools.partial(func, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)


def _hooks(svc, instance, marker):
    """The bound @bentoml.on_startup / on_shutdown methods, in BentoML's order."""
    return [
        getattr(instance, name)
        for name in dir(svc.inner)
        if not name.startswith("__")
        and callable(getattr(svc.inner, name))
        and getattr(getattr(svc.inner, name), marker, False)
    ]


class _ServiceDeployment(_ServiceReplica):
    """A non-entry service: each API is a deployment method of the same name."""

    async def __init__(self, source, name, /, **handles):
        import inspect

        svc = self._prepare(source, name, handles)
        svc.inject_config()
        instance = svc()
        # BentoML runs these in its app's lifespan, which a service reached
        # through handles does not have.
        for hook in _hooks(svc, instance, "__bentoml_startup_hook__"):
            result = hook()
            if inspect.isawaitable(result):
                await result
        limiter = _Limiter(svc.config.get("threads", 1))
        for api_name, info in SERVICES[name]["apis"].items():
            options = info["batch"] if info["batchable"] else None
            if options is None:
                method = _unbatched(svc, instance, api_name, limiter)
            else:
                method = _batched(svc, instance, api_name, limiter, options)
            # Ray finds handle methods with getattr, so an instance attribute
            # works; build-time checks keep Ray's own method names out.
            setattr(self, api_name, method)
        self._instance = instance

    async def __del__(self):
        import inspect

        instance = getattr(self, "_instance", None)
        if instance is None:
            return
        for hook in _hooks(self._service, instance, "__bentoml_shutdown_hook__"):
            result = hook()
            if inspect.isawaitable(result):
                await result


class _EntryDeployment(_ServiceReplica):
    """The entry service: its BentoML app serves every HTTP route.

    Used with `serve.ingress()`: Ray calls __serve_build_asgi_app__ after
    __init__ (which attached the dependency clients) and runs the app's ASGI
    lifespan, in which BentoML creates the service instance and runs its
    startup and shutdown hooks. Batchable APIs of the entry service are
    batched by BentoML's own dispatcher inside the app, with the compiled
    max_batch_size and batch_wait_timeout_s as its max_latency_ms.
    """

    def __init__(self, source, name, /, **handles):
        svc = self._prepare(source, name, handles)
        for api_name, info in SERVICES[name]["apis"].items():
            options = info["batch"] if info["batchable"] else None
            if options is None:
                continue
            api = svc.apis[api_name]
            if "max_batch_size" in options:
                api.max_batch_size = options["max_batch_size"]
            if "batch_wait_timeout_s" in options:
                api.max_latency_ms = round(options["batch_wait_timeout_s"] * 1000)

    def __serve_build_asgi_app__(self):
        return self._service.to_asgi(is_main=True)


# --- application ------------------------------------------------------------


def _bento_source():
    """What every deployment loads the bento from (see LOAD_FROM_LOCAL_STORE)."""
    import os
    import tempfile

    import bentoml

    # Checks the bento now, so a changed bento fails `serve deploy` early.
    _load_services(BENTO_TAG)
    if LOAD_FROM_LOCAL_STORE:
        return BENTO_TAG
    with tempfile.TemporaryDirectory() as tmp:
        path = bentoml.export_bento(BENTO_TAG, os.path.join(tmp, "bento.bento"))
        with open(path, "rb") as archive:
            return archive.read()


def _build_application():
    """The Ray Serve application: the entry service bound to its dependencies."""
    _check_entrypoint_hash()

    from ray import serve

    _pickle_this_module_by_value()
    source = _bento_source()
    bound = {}

    def bind(name):
        # Dependencies first; a service several others depend on is bound
        # once and shared.
        if name not in bound:
            handles = {d: bind(d) for d in SERVICES[name]["dependencies"].values()}
            compiled = SERVICES[name]
            if name == ENTRY_SERVICE:
                cls = serve.ingress()(type("_EntryDeployment", (_EntryDeployment,), {}))
            else:
                cls = type("_ServiceDeployment", (_ServiceDeployment,), {})
            deployment = serve.deployment(
                name=compiled["deployment"], **compiled["options"]
            )
            bound[name] = deployment(cls).bind(source, name, **handles)
        return bound[name]

    return bind(ENTRY_SERVICE)
