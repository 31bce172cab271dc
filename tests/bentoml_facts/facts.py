"""Prints what BentoML itself knows about a bento's services (or a custom
runnable class), as JSON, for tests/bentoml_facts.rs to compare with what
bentoray reads from the same sources without running them.

Usage: facts.py services SRC_DIR IMPORT_PATH
       facts.py runnable SRC_DIR MODULE CLASS
"""

import inspect
import json
import os
import sys


def services(src, import_path):
    from bentoml._internal.service.loader import import_service

    os.chdir(src)
    sys.path.insert(0, src)
    entry = import_service(import_path)
    out = {}
    for name, svc in entry.all_services().items():
        apis = {}
        for api_name, m in svc.apis.items():
            func = m.func
            apis[api_name] = {
                "route": m.route,
                "batchable": m.batchable,
                "batch_dim": list(m.batch_dim)
                if isinstance(m.batch_dim, (tuple, list))
                else [m.batch_dim, m.batch_dim],
                "max_batch_size": m.max_batch_size,
                "max_latency_ms": float(m.max_latency_ms),
                "streaming": bool(m.is_stream),
                "task": bool(m.is_task),
                "is_async": inspect.iscoroutinefunction(func)
                or inspect.isasyncgenfunction(func),
            }
        deps = {}
        for attr, d in svc.dependencies.items():
            deps[attr] = {
                "service": d.on.name if d.on is not None else None,
                "url": d.url,
            }
        out[name] = {"apis": apis, "dependencies": deps}
    print(json.dumps({"entry": entry.name, "services": out}, sort_keys=True))


def runnable(src, module, cls):
    import importlib

    sys.path.insert(0, src)
    klass = getattr(importlib.import_module(module), cls)
    methods = {}
    for name, method in klass.bentoml_runnable_methods__.items():
        c = method.config
        dim = c.batch_dim
        methods[name] = {
            "batchable": c.batchable,
            "batch_dim": list(dim) if isinstance(dim, (tuple, list)) else [dim, dim],
        }
    print(json.dumps(methods, sort_keys=True))


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"services": services, "runnable": runnable}[kind](*args)
