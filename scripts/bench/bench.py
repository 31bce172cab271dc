#!/usr/bin/env python3
"""bentoray's speed and memory figures, side by side with the tools a user
would run instead. Called by scripts/bench.sh (which builds the release
binary and the peers' virtualenv); prints one table and the targets.

usage: bench.py BENTORAY [--quick] [--peers BIN_DIR] [--status-quo PYTHON]

Every figure is a whole process, started the same way: median wall time over
the runs, the largest peak RSS of those runs (wait4's ru_maxrss), and the
instruction count of one run under callgrind where that is cheap.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import synth  # noqa: E402

# Ratios are bentoray's advantage: peer time / bentoray time.
IRIS = "examples/scaling/bentoray.toml"
STATUS_QUO = "examples/bentoml_mode/bentoray.toml"


def run_once(argv, cwd, env):
    """Wall time (s), peak RSS (KiB) and exit status of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, proc.returncode


def peak_rss(argv, cwd, env):
    """Peak RSS (KiB) of one run, from GNU time. wait4 from this script would
    report at least this Python process's own peak: Linux carries the
    pre-exec memory of a vforked child into its ru_maxrss."""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M"] + argv, cwd=cwd, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    last = out.stderr.strip().splitlines()[-1:] or ["0"]
    return int(last[0]) if last[0].isdigit() else None


def measure(argv, runs, cwd=None, env=None, want_status=None):
    """Median wall time (s) over `runs` runs after one warm-up run, and the
    peak RSS (KiB) of one more run. The median CPU time (user + system) of
    the same runs is kept in CPU_TIMES: on a shared machine it does not
    include time spent waiting for a core."""
    env = env or CLEAN_ENV
    argv = [shutil.which(argv[0]) or argv[0]] + argv[1:]
    times, cpu = [], []
    for i in range(runs + 1):
        t, c, status = run_once(argv, cwd, env)
        if want_status is not None and status not in want_status:
            sys.exit(f"bench: {' '.join(argv)} exited with {status}, expected {want_status}")
        if i > 0:
            times.append(t)
            cpu.append(c)
    median = statistics.median(times)
    CPU_TIMES[median] = statistics.median(cpu)
    return median, peak_rss(argv, cwd, env) or 0


# Median CPU time (s) by the median wall time of the same measurement (two
# cases with equal medians would share an entry; floats make that unlikely).
CPU_TIMES = {}


def instructions(argv, cwd=None):
    """Instructions of one run under callgrind (repeatable, unlike time)."""
    if not shutil.which("valgrind"):
        return None
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv,
        cwd=cwd, env=CLEAN_ENV, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    m = re.search(r"Collected : (\d+)", out.stderr)
    return int(m.group(1)) if m else None


# The same environment for every process: no colors, no user store.
CLEAN_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/root"),
    "LANG": "C.UTF-8",
    "NO_COLOR": "1",
}


class Table:
    def __init__(self):
        self.rows = []

    def add(self, case, median_s, rss_kib, instr=None, vs=None, growth=None):
        self.rows.append((case, median_s, rss_kib, instr, vs or {}, growth))

    def print(self, peers):
        head = ["case", "median ms", "CPU ms", "peak RSS MiB", "instructions"]
        head += [f"× {p}" for p in peers] + ["growth per 10×"]
        lines = [head]
        for case, t, rss, instr, vs, growth in self.rows:
            line = [case, f"{t * 1e3:.1f}", f"{CPU_TIMES.get(t, 0) * 1e3:.1f}", f"{rss / 1024:.1f}",
                    f"{instr / 1e6:.1f} M" if instr else "–"]
            line += [f"{vs[p]:.0f}×" if p in vs else "–" for p in peers]
            line.append(growth or "–")
            lines.append(line)
        widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
        print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for l in lines[1:]:
            print("| " + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(l, widths))
            ) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bentoray")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--peers", help="bin directory with check-jsonschema and taplo")
    ap.add_argument("--status-quo", help="python of a venv with BentoML 1.1.11 and Ray 2.7")
    args = ap.parse_args()
    bentoray = os.path.abspath(args.bentoray)
    runs = 5 if args.quick else 21
    peer_runs = 3 if args.quick else 7
    sizes = [10, 100, 1000, 10000]
    os.chdir(ROOT)
    work = tempfile.mkdtemp(prefix="bentoray-bench-")
    skipped = []
    try:
        table = Table()
        figures = {}

        # The process floor: what starting any process costs here.
        floor, floor_rss = measure(["true"], runs * 2)
        table.add("`true` (process floor)", floor, floor_rss, instructions([shutil.which("true")]))

        # Peers on the iris example: the same file, what each one checks.
        peer_times = {}
        schema = os.path.join(ROOT, "schema/bentoray.schema.json")
        if args.peers:
            cj = os.path.join(args.peers, "check-jsonschema")
            peer_times["check-jsonschema"], rss = measure(
                [cj, "--schemafile", schema, IRIS], peer_runs, want_status=[0])
            table.add("check-jsonschema 0.39.0, iris", peer_times["check-jsonschema"], rss)
            # taplo rejects a relative `$id`; it gets a copy without one.
            with open(schema) as f:
                doc = json.load(f)
            taplo_schema = schema
            if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", doc.get("$id", "x:")):
                doc.pop("$id", None)
                taplo_schema = os.path.join(work, "bentoray.schema.json")
                with open(taplo_schema, "w") as f:
                    json.dump(doc, f)
                skipped.append("taplo ran with a copy of the schema without its relative `$id` (taplo rejects relative ids)")
            taplo = os.path.join(args.peers, "taplo")
            peer_times["taplo"], rss = measure(
                [taplo, "check", "--schema", "file://" + taplo_schema, IRIS], runs, want_status=[0])
            table.add("taplo check 0.9.3, iris", peer_times["taplo"], rss)
        else:
            skipped.append("check-jsonschema and taplo: no peers venv (scripts/bench/peers.sh)")
        if args.status_quo:
            out = os.path.join(work, "status-quo")
            subprocess.run([bentoray, "build", STATUS_QUO, "-o", out], env=CLEAN_ENV,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            env = dict(CLEAN_ENV, BENTOML_HOME=os.path.join(ROOT, "examples/bentoml"),
                       BENTOML_DO_NOT_TRACK="true", RAY_USAGE_STATS_ENABLED="0",
                       PYTHONDONTWRITEBYTECODE="1")
            peer_times["status quo"], rss = measure(
                [args.status_quo, "-c", "import bento_ray; bento_ray.app"], peer_runs,
                cwd=out, env=env, want_status=[0])
            table.add("status quo: import bento_ray.py (bentoml.ray.deployment), bentoml_mode",
                      peer_times["status quo"], rss)
        else:
            skipped.append("status quo: no BentoML 1.1.11 venv (built by scripts/e2e.sh)")

        def vs(t, which):
            return {p: peer_times[p] / t for p in which if p in peer_times}

        # The examples.
        for example in ["scaling", "batching", "two_runners", "tag_only", "bentoml_mode", "services"]:
            spec = f"examples/{example}/bentoray.toml"
            t, rss = measure([bentoray, "check", spec], runs, want_status=[0])
            name = "check iris (examples/scaling)" if example == "scaling" else f"check examples/{example}"
            which = ["check-jsonschema", "taplo"] if example == "scaling" else []
            if example == "bentoml_mode":
                which = ["status quo"]
            instr = instructions([bentoray, "check", spec])
            table.add(name, t, rss, instr, vs(t, which))
            figures[example] = t
        t, rss = measure([bentoray, "build", IRIS, "-o", os.path.join(work, "out")], runs, want_status=[0])
        table.add("build iris", t, rss, instructions([bentoray, "build", IRIS, "-o", os.path.join(work, "out")]))

        # Synthetic bentos: how the cost grows.
        series = [("shared", "warn", "warning per runner"),
                  ("shared", "error", "warning + error per runner"),
                  ("each", "clean", "one model per runner, clean")]
        if args.quick:
            series = series[:1]
        for models, spec, what in series:
            prev = None
            for n in sizes:
                d = os.path.join(work, f"{models}-{spec}-{n}")
                synth.write(d, n, models, spec)
                argv = [bentoray, "check", "bentoray.toml"]
                want = [1] if spec == "error" else [0]
                t, rss = measure(argv, max(3, runs // (3 if n >= 10000 else 1)), cwd=d, want_status=want)
                instr = instructions(argv, cwd=d) if n <= 1000 else None
                # On CPU time: wall time on a loaded machine grows with
                # the waits for a core, which long runs suffer more.
                growth = f"{CPU_TIMES[t] / CPU_TIMES[prev]:.1f}×" if prev else None
                table.add(f"check {n} runners, {what}", t, rss, instr, growth=growth)
                figures[(models, spec, n)] = (t, rss)
                prev = t
                if spec == "warn" and n == 1000:
                    tj, rssj = measure([bentoray, "--format", "json", "check", "bentoray.toml"],
                                       runs, cwd=d, want_status=[0])
                    table.add(f"check {n} runners, {what}, --format json", tj, rssj)
            if spec == "warn":
                d = os.path.join(work, f"{models}-{spec}-{sizes[-1]}")
                t, rss = measure([bentoray, "build", "bentoray.toml", "-o", "out"], 3, cwd=d,
                                 want_status=[0])
                table.add(f"build {sizes[-1]} runners, {what}", t, rss)

        # New-style bentos: one Python module per service, each parsed once.
        prev = None
        for n in sizes[:3]:
            d = os.path.join(work, f"services-{n}")
            synth.write_services(d, n)
            argv = [bentoray, "check", "bentoray.toml"]
            t, rss = measure(argv, runs, cwd=d, want_status=[0])
            growth = f"{CPU_TIMES[t] / CPU_TIMES[prev]:.1f}×" if prev else None
            table.add(f"check {n} services, one module each", t, rss, growth=growth)
            prev = t

        # Hostile sizes.
        d = os.path.join(work, "bento-only-200000")
        synth.write(d, 200000, "shared", "bento-only")
        size = os.path.getsize(os.path.join(d, "store/bentos/big/v1/bento.yaml"))
        t, rss = measure([bentoray, "check", "bentoray.toml"], 1 if args.quick else 3, cwd=d,
                         want_status=[0])
        table.add(f"check 200000 runners, spec names only the bento ({size / 1e6:.0f} MB bento.yaml)", t, rss)
        figures["200k"] = (t, rss, size)
        hostile = os.path.join(work, "hostile")
        os.makedirs(hostile)
        with open(os.path.join(hostile, "unknown.toml"), "w") as f:
            f.write('bento = "iris_classifier:latest"\nbentoml_home = "%s"\n[service]\n'
                    % os.path.join(ROOT, "examples/bentoml"))
            f.writelines(f"unknown_option_{i:05d} = {i}\n" for i in range(16000))
        t, rss = measure([bentoray, "check", "unknown.toml"], 3, cwd=hostile, want_status=[1])
        table.add("check a spec with 16000 unknown keys (450 KB)", t, rss)
        os.makedirs(os.path.join(hostile, "deep"))
        with open(os.path.join(hostile, "deep/bento.yaml"), "w") as f:
            f.write("name: deep\nversion: v1\nrunners: " + "[" * 64000 + "]" * 64000 + "\n")
        with open(os.path.join(hostile, "deep.toml"), "w") as f:
            f.write('bento = "./deep"\n')
        t, rss = measure([bentoray, "check", "deep.toml"], 3, cwd=hostile, want_status=[1])
        table.add("check a bento.yaml of 64000 nested `[` (128 KB)", t, rss)

        print(f"bentoray benchmark: {platform.node() and 'this machine'}; {os.cpu_count()} cores, "
              f"{platform.machine()}, {cpu_model()}, load average {os.getloadavg()[0]:.1f}; "
              f"{runs} runs per figure ({peer_runs} for Python peers){'; --quick' if args.quick else ''}")
        print()
        table.print([p for p in ["check-jsonschema", "taplo", "status quo"] if p in peer_times])
        print()
        for s in skipped:
            print(f"SKIPPED {s}")

        # Targets (issue: figures from this script, not timed tests).
        print()
        print("targets:")
        t1k, rss1k = figures[("shared", "warn", 1000)]
        t10k, _ = figures[("shared", "warn", 10000)]
        cpu_ratio = CPU_TIMES[t10k] / CPU_TIMES[t1k]
        checks = [
            (f"iris within 3× the process floor: {figures['scaling'] / floor:.1f}×",
             figures["scaling"] <= 3 * floor),
            (f"1000 runners with a warning each ≤ 50 ms: {t1k * 1e3:.1f} ms", t1k <= 0.050),
            (f"10000 runners ≤ 12× the 1000-runner time: {cpu_ratio:.1f}× CPU time "
             f"({t10k / t1k:.1f}× wall)", cpu_ratio <= 12),
            (f"10000 runners with a warning each < 1 s: {t10k * 1e3:.0f} ms", t10k < 1.0),
            (f"peak RSS ≤ 30 MB at 1000 runners: {rss1k / 1024:.1f} MiB", rss1k <= 30 * 1024),
            (f"200000 runners under 200 MB: {figures['200k'][1] / 1024:.0f} MiB",
             figures["200k"][1] < 200 * 1024),
        ]
        if "check-jsonschema" in peer_times:
            ratio = peer_times["check-jsonschema"] / figures["scaling"]
            checks.append((f"≥ 100× faster than check-jsonschema on iris: {ratio:.0f}×", ratio >= 100))
        for text, ok in checks:
            print(f"  {'met ' if ok else 'MISSED'}  {text}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
