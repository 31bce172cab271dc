#!/usr/bin/env python3
"""Differential test: bentoray's verdict against Ray Serve's own, per release.

Usage (see scripts/ray-diff.sh, which prepares everything):
    python ray_diff.py --bentoray BIN --store DIR RAY_VERSION=PYTHON [...]

For every case of tests/ray-diff/cases.toml (hand-written and generated) and
every Ray release given:
  1. write a bentoray.toml targeting that release and run `bentoray check`;
  2. when bentoray accepts, run `bentoray build` and take the emitted
     serve.yaml; otherwise build the equivalent serve config from the raw
     options;
  3. ask that Ray release (scripts/ray_verdict.py, in its own venv) whether it
     accepts the config, and which keys it silently ignores or coerces.
Verdicts agree when both accept (Ray ignoring nothing) or both reject. A
disagreement is *deliberate* when bentoray rejects, Ray accepts while ignoring
or coercing, and every error code bentoray gave is listed for that Ray outcome
in tests/ray-diff/deliberate.toml. Anything else is unexplained and fails.
Run this with a Python that has PyYAML (any Ray venv does).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests/ray-diff/cases.toml"
DELIBERATE = ROOT / "tests/ray-diff/deliberate.toml"
RUNNER = "iris_clf"
DEPLOYMENT = f"bento-runner-{RUNNER}"


# ---------------------------------------------------------------- corpus
def load_cases():
    corpus = tomllib.loads(CORPUS.read_text())
    cases = []
    for case in corpus.get("case", []):
        cases.append({
            "id": case["id"],
            "deployment": case.get("deployment", {}),
            "application": case.get("application", {}),
            "ray": case.get("ray", {}),
        })
    for table, options in corpus.get("generate", {}).items():
        for key, values in options.items():
            for i, value in enumerate(values):
                application = {}
                if table == "deployment":
                    deployment = {key: value}
                elif table == "runtime_env":  # [application] runtime_env
                    deployment, application = {}, {"runtime_env": {key: value}}
                elif table == "actor_runtime_env":  # ray_actor_options.runtime_env
                    deployment = {"ray_actor_options": {"runtime_env": {key: value}}}
                else:
                    deployment = {table: {key: value}}
                cases.append({
                    "id": f"gen-{table}-{key}-{i}",
                    "deployment": deployment,
                    "application": application,
                    "ray": {},
                })
    ids = [c["id"] for c in cases]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        sys.exit(f"duplicate case ids: {dupes}")
    return cases


# ---------------------------------------------------------------- TOML out
def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON escapes are valid TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {v!r} as TOML")


def toml_key(k):
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def spec_text(case, store, target):
    lines = [
        f"bento = {json.dumps('iris_classifier:latest')}",
        f"bentoml_home = {json.dumps(str(store))}",
        "",
        "[ray]",
        f"version = {json.dumps(target)}",
    ]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in case["ray"].items()]
    if case["application"]:
        lines += ["", "[application]"]
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in case["application"].items()]
    lines += ["", f"[runners.{RUNNER}]"]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in case["deployment"].items()]
    return "\n".join(lines) + "\n"


def raw_config(case):
    """The serve config Ray would get for the case's options, as written, with
    the env var bentoray always adds to the application's runtime_env."""
    app = {"name": "iris_classifier", "route_prefix": "/", "import_path": "bento_ray:app"}
    app.update(json.loads(json.dumps(case["application"])))
    env = app.setdefault("runtime_env", {})
    if isinstance(env, dict):
        env_vars = env.setdefault("env_vars", {})
        if isinstance(env_vars, dict):
            env_vars["BENTORAY_ENTRYPOINT_SHA256"] = "0" * 64
    app["deployments"] = [dict({"name": DEPLOYMENT}, **case["deployment"])]
    config = dict(case["ray"])
    config["applications"] = [app]
    return config


# ---------------------------------------------------------------- bentoray
def bentoray_verdict(binary, case, store, target, work):
    spec = work / "bentoray.toml"
    spec.write_text(spec_text(case, store, target))
    out = subprocess.run([binary, "check", "--format", "json", str(spec)],
                         capture_output=True, text=True, timeout=60)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"bentoray check failed on {case['id']}: {out.stderr}")
    diags = json.loads(out.stdout)
    errors = sorted({d["code"] for d in diags if d["severity"] == "error"})
    warnings = sorted({d["code"] for d in diags if d["severity"] == "warning"})
    if errors:
        return errors, warnings, raw_config(case)
    built = subprocess.run([binary, "build", str(spec), "-o", str(work / "out")],
                           capture_output=True, text=True, timeout=60)
    if built.returncode != 0:
        raise RuntimeError(f"bentoray build failed on {case['id']}: {built.stderr}")
    emitted = yaml.safe_load((work / "out/serve.yaml").read_text())
    return [], warnings, emitted


# ---------------------------------------------------------------- Ray
def ray_verdicts(python, lines):
    script = ROOT / "scripts/ray_verdict.py"
    out = subprocess.run([python, str(script)], input="".join(lines),
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"ray_verdict.py failed: {out.stderr[-2000:]}")
    return {v["id"]: v for v in map(json.loads, out.stdout.splitlines())}


def ray_outcome(v):
    if not v["accepted"]:
        return "reject"
    if v["ignored"]:
        return "ignored"
    if v["coerced"]:
        return "coerced"
    return "accept"


# ---------------------------------------------------------------- compare
def classify(case_id, codes, warnings, outcome, deliberate):
    """agree | deliberate:<reason> | unexplained"""
    if codes and outcome == "reject":
        return "agree", None
    if not codes and outcome in ("accept", "coerced"):
        # Ray normalising an accepted value (e.g. log_level 20 → "INFO").
        return "agree", None

    def entry_for(code):
        return next((d for d in deliberate
                     if code in d["codes"] and outcome in d["ray"]
                     and all(r in codes for r in d.get("with", []))
                     and case_id in d.get("cases", [case_id])), None)

    if codes and outcome in ("ignored", "coerced", "accept"):
        reasons = []
        for code in codes:
            entry = entry_for(code)
            if entry is None:
                return "unexplained", None
            reasons.append(entry["reason"])
        return "deliberate", reasons[0]
    if not codes and outcome == "ignored":
        # bentoray accepts with a warning about what Ray will ignore.
        entry = next(filter(None, map(entry_for, warnings)), None)
        if entry is not None:
            return "deliberate", entry["reason"]
    return "unexplained", None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bentoray", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("targets", nargs="+", help="RAY_VERSION=PYTHON")
    args = ap.parse_args()

    cases = load_cases()
    deliberate = tomllib.loads(DELIBERATE.read_text())["deliberate"]
    store = Path(args.store).resolve()
    failed = False
    print(f"ray-diff: {len(cases)} option sets x {len(args.targets)} Ray releases")
    for target_arg in args.targets:
        version, python = target_arg.split("=", 1)
        target = ".".join(version.split(".")[:2])
        results = {}
        lines = []
        with tempfile.TemporaryDirectory() as tmp:
            for case in cases:
                work = Path(tmp) / case["id"]
                work.mkdir()
                codes, warnings, config = bentoray_verdict(
                    args.bentoray, case, store, target, work)
                results[case["id"]] = (codes, warnings)
                lines.append(json.dumps({"id": case["id"], "config": config}) + "\n")
        verdicts = ray_verdicts(python, lines)
        tally = Counter()
        reasons = Counter()
        unexplained = []
        emitted_rejected = 0
        for case in cases:
            codes, warnings = results[case["id"]]
            v = verdicts[case["id"]]
            outcome = ray_outcome(v)
            kind, reason = classify(case["id"], codes, warnings, outcome, deliberate)
            tally[kind] += 1
            if kind == "deliberate":
                reasons[reason] += 1
            if not codes and outcome in ("reject", "ignored"):
                emitted_rejected += 1
            if kind == "unexplained":
                unexplained.append((case, codes, v, outcome))
        print(f"\nRay {v['ray']} (target {target}): {len(cases)} cases, "
              f"{tally['agree']} agree, {tally['deliberate']} deliberate differences, "
              f"{tally['unexplained']} unexplained")
        print(f"  emitted serve.yaml files rejected or partly ignored by Ray: {emitted_rejected}")
        for reason, n in sorted(reasons.items(), key=lambda r: -r[1]):
            print(f"  deliberate ({n}): {reason}")
        for case, codes, v, outcome in unexplained:
            failed = True
            print(f"  UNEXPLAINED {case['id']}: bentoray {codes or 'accepts'}; Ray {outcome}"
                  f" stage={v['stage']} error={v['error']!r} ignored={v['ignored']} coerced={v['coerced']}")
            print(f"    options: {json.dumps(case['deployment'])} app={json.dumps(case['application'])}"
                  f" ray={json.dumps(case['ray'])}")
    print(f"\nray-diff: {'ok' if not failed else 'FAILED: unexplained disagreements'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
