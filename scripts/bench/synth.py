#!/usr/bin/env python3
"""Writes a synthetic BentoML store with one bento of N sklearn runners and a
bentoray.toml for it, for scripts/bench.sh.

usage: synth.py DIR RUNNERS {shared,each} {clean,warn,error,bento-only}

  shared      every runner uses one model (what a fleet of replicas of one model looks like)
  each        one model per runner
  clean       every runner configured, batching `predict` within capacity: no diagnostics
  warn        every runner configured and batching `predict` with max_batch_size = 32 above
              the default max_ongoing_requests: one BR319 warning per runner
  error       as warn, plus a misspelled option per runner: a warning and an error each
  bento-only  a spec that names only the bento
"""
import os
import sys


def main() -> None:
    write(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])


def write(out: str, runners: int, models: str, spec: str) -> None:
    assert models in ("shared", "each") and spec in ("clean", "warn", "error", "bento-only")
    bento = os.path.join(out, "store", "bentos", "big", "v1")
    os.makedirs(bento, exist_ok=True)
    with open(os.path.join(out, "store", "bentos", "big", "latest"), "w") as f:
        f.write("v1")
    model_of = (lambda i: "m0") if models == "shared" else (lambda i: f"m{i}")
    lines = [
        "service: service:svc",
        "name: big",
        "version: v1",
        "bentoml_version: 1.1.11",
        "creation_time: '2026-11-27T00:00:00+00:00'",
        "runners:",
    ]
    for i in range(runners):
        lines += [
            f"- name: r{i}",
            "  runnable_type: SklearnRunnable",
            f"  models: ['{model_of(i)}:v1']",
        ]
    lines.append("apis: []")
    with open(os.path.join(bento, "bento.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for name in sorted({model_of(i) for i in range(runners)}):
        model = os.path.join(out, "store", "models", name, "v1")
        os.makedirs(model, exist_ok=True)
        with open(os.path.join(model, "model.yaml"), "w") as f:
            f.write(
                f"name: {name}\nversion: v1\nmodule: bentoml.sklearn\nsignatures:\n"
                "  predict:\n    batchable: true\n    batch_dim: [0, 0]\n"
                "  predict_proba:\n    batchable: false\n"
            )
    toml = ['bento = "big:latest"', 'bentoml_home = "store"']
    if spec != "bento-only":
        toml.append("enable_batching = true")
        ongoing = "max_ongoing_requests = 64\n" if spec == "clean" else ""
        typo = "num_replica = 2\n" if spec == "error" else ""
        for i in range(runners):
            toml.append(
                f"[runners.r{i}]\nnum_replicas = 2\n{ongoing}{typo}"
                "ray_actor_options = { num_cpus = 0.5, memory = 1073741824 }\n"
                f"[batching.r{i}.predict]\nmax_batch_size = 32\nbatch_wait_timeout_s = 0.01"
            )
    with open(os.path.join(out, "bentoray.toml"), "w") as f:
        f.write("\n".join(toml) + "\n")


def write_services(out: str, services: int) -> None:
    """A new-style bento of N services, each in its own Python module with a
    batchable and a plain API and a dependency on the next, and a spec that
    configures every service and batches every batchable API."""
    bento = os.path.join(out, "store", "bentos", "many", "v1")
    os.makedirs(os.path.join(bento, "src"), exist_ok=True)
    with open(os.path.join(out, "store", "bentos", "many", "latest"), "w") as f:
        f.write("v1")
    lines = ["service: service:S0", "name: many", "version: v1", "bentoml_version: 1.4.38",
             "entry_service: S0", "services:"]
    for i in range(services):
        dep = f"[{{service: S{i + 1}}}]" if i + 1 < services else "[]"
        lines += [f"- name: S{i}", "  service: ''", "  models: []", f"  dependencies: {dep}",
                  "  config: {workers: 2, resources: {cpu: '1'}}"]
    lines.append("spec: 2")
    with open(os.path.join(bento, "bento.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for i in range(services):
        nxt = i + 1 < services
        src = ["import bentoml as bm"] + ([f"from s{i + 1} import S{i + 1}"] if nxt else []) + [
            "", "@bm.service(workers=2, resources={'cpu': '1'})", f"class S{i}:"]
        if nxt:
            src.append(f"    nxt = bm.depends(S{i + 1})")
        src += ["    @bm.api(batchable=True, max_batch_size=8, max_latency_ms=10)",
                "    def batch(self, xs: list[float]) -> list[float]:", "        return xs",
                "    @bm.api", "    async def one(self, x: float) -> float:", "        return x"]
        name = "service.py" if i == 0 else f"s{i}.py"
        with open(os.path.join(bento, "src", name), "w") as f:
            f.write("\n".join(src) + "\n")
    toml = ['bento = "many:latest"', 'bentoml_home = "store"']
    for i in range(services):
        toml.append(f"[services.S{i}]\nnum_replicas = 2\nmax_ongoing_requests = 64\n"
                    f"[batching.S{i}.batch]\nmax_batch_size = 32\nbatch_wait_timeout_s = 0.01")
    with open(os.path.join(out, "bentoray.toml"), "w") as f:
        f.write("\n".join(toml) + "\n")


if __name__ == "__main__":
    main()
