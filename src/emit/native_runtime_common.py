# ---------------------------------------------------------------------------
# Shared by both runtimes (bentoray's src/emit/native_runtime_common.py,
# copied verbatim): checks that run where the application is built.
#
# Everything here is private (underscore names) and imports lazily, inside
# functions: the module's data section comes first, and replicas never need
# to import this module (see _pickle_this_module_by_value).
# ---------------------------------------------------------------------------


def _check_entrypoint_hash():
    """Refuse to start when this file is not the one serve.yaml was built with.

    bentoray writes the SHA-256 of this file into serve.yaml's
    runtime_env.env_vars (BENTORAY_ENTRYPOINT_SHA256), so the variable is set
    when the application is started from that serve.yaml. A file with other
    bytes here means the config and the entrypoint come from different builds
    (or this file was edited). Without the variable (`serve run module:app`),
    there is nothing to compare with.
    """
    import hashlib
    import os

    expected = os.environ.get("BENTORAY_ENTRYPOINT_SHA256")
    path = globals().get("__file__")
    if not expected or not path or not path.endswith(".py"):
        return
    with open(path, "rb") as source:
        actual = hashlib.sha256(source.read()).hexdigest()
    if actual != expected:
        raise RuntimeError(
            f"{path} is not the entrypoint this serve.yaml was built with: its SHA-256 is "
            f"{actual}, but BENTORAY_ENTRYPOINT_SHA256 in the config is {expected}; "
            "run `bentoray build` again and deploy serve.yaml together with this file"
        )


def _pickle_this_module_by_value():
    """Make Ray pickle this module's functions and classes by value.

    Otherwise Ray would pickle them by reference and every replica would
    import this module, building the application (and loading the bento)
    once more.
    """
    import sys

    from ray import cloudpickle

    module = sys.modules.get(__name__)
    if module is not None and __name__ != "__main__":
        cloudpickle.register_pickle_by_value(module)
