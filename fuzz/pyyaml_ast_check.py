"""Reads files the fuzz targets emitted with PyYAML and Python's own parser.

Usage: python3 pyyaml_ast_check.py DUMP_DIR   (PyYAML installed)

scripts/fuzz.sh --replay runs each target over its corpus with
BENTORAY_FUZZ_DUMP=DUMP_DIR, so every compiled spec or plan leaves a
directory with serve.yaml, the entrypoint module and expected.json (the
values they must read back to). Here serve.yaml must load with PyYAML's safe
loader (Ray's YAML 1.1 reader) to exactly the expected value, and the
entrypoint must parse with `ast`, its data-section literals evaluating with
`ast.literal_eval` to exactly the expected values (types included: True is
not 1, 1.0 is not 1). Prints one line per mismatch and `N passed, M failed`.
"""

import ast
import json
import pathlib
import sys

import yaml


def same(a, b):
    """Equal values of the same JSON types (bool, int and float kept apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def python_values(tree, kind):
    """The data-section values: top-level assignments (native), or the
    `bentoml.ray.deployment` call's keyword arguments (bentoml)."""
    values = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        name = node.targets[0]
        if not isinstance(name, ast.Name):
            continue
        if isinstance(node.value, ast.Call):
            if kind == "bentoml":
                for kw in node.value.keywords:
                    values[kw.arg] = ast.literal_eval(kw.value)
            continue
        try:
            values[name.id] = ast.literal_eval(node.value)
        except ValueError:
            pass
    return values


def check(case):
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    problems = []
    serve_text = (case / "serve.yaml").read_text(encoding="utf-8")
    try:
        serve = yaml.safe_load(serve_text)
    except yaml.YAMLError as e:
        problems.append(f"PyYAML cannot read serve.yaml: {e}")
    else:
        if not same(serve, expected["serve"]):
            problems.append(
                f"PyYAML reads serve.yaml as {json.dumps(serve)[:400]}, "
                f"expected {json.dumps(expected['serve'])[:400]}"
            )
    module = (case / "module").read_text(encoding="utf-8")
    source = (case / module).read_text(encoding="utf-8")
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        problems.append(f"{module} is not valid Python: {e}")
    else:
        got = python_values(tree, expected["kind"])
        for name, want in expected["python"].items():
            if name not in got:
                problems.append(f"{module}: no literal {name}")
            elif not same(got[name], want):
                problems.append(
                    f"{module}: {name} is {json.dumps(got[name])[:300]}, "
                    f"expected {json.dumps(want)[:300]}"
                )
    return problems


def main():
    cases = sorted(p for p in pathlib.Path(sys.argv[1]).iterdir() if p.is_dir())
    failed = 0
    for case in cases:
        problems = check(case)
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {case.name}: {p}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
