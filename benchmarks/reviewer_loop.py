"""The reviewer's loop, timed: cold build, no-op, dry run, and three one-change rebuilds.

Usage: python benchmarks/reviewer_loop.py [--cores 4] [--sizes 230 23000 230000] [--skip-build]
                                          [--skip-scaling]

0. How long a fixed task takes (`reference_seconds`), to compare runs of different hours.
1. In a fresh copy of the checkout (nothing of an earlier build reused): the cold default build
   (`snakemake --cores 4`), a no-op rerun and a dry run, with the number of jobs and the CPU time
   of all processes.
2. From that build, three reviewer's questions, each a changed choice passed with
   `--configfile` and answered by the updated paper and its paper-diff report in one command:
   a 150-second minimum completion time, listwise deletion instead of person-mean imputation,
   and the regression without its demographic controls. Printed: seconds, jobs run, and which
   rules ran. After each, the default build is restored (not timed).
3. Time and peak memory per stage of the survey strand and per analysis family at each N
   (benchmarks/survey_scaling.py and benchmarks/analysis_scaling.py, each stage in its own
   process).

Goals on the idle 2-core machine (issue 12): cold build at most 3 minutes with at most about 80
jobs, every one-change rebuild at most 60 s, no-op and dry run at most 2 s each.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("Snakefile", "workflow", "config", "data", "paper", "notebooks", "profiles")
REPORT = "results/paper_diff/report.html"
BASELINE = "results/baselines/default"
CHANGES = {
    "minimum completion time 150 s": "exclusions:\n  min_duration:\n    seconds: 150\n",
    "missing data: listwise deletion": "analysis:\n  missing_data:\n    rule: listwise\n",
    "regression without demographic controls": (
        "analysis:\n  regression:\n    controls: [sector]\n    categorical: [sector]\n"
    ),
}
_JOB_RE = re.compile(r"^rule (\w+):", re.MULTILINE)
_LOCALRULE_RE = re.compile(r"^localrule (\w+):", re.MULTILINE)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the command and its children, and its log."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, _children_cpu() - cpu, proc.stderr + proc.stdout


def reference_seconds() -> float:
    """Best of three timings of a fixed task (summing 10^7 integers in a Python loop).

    The machine's speed drifts by a third from hour to hour; a run's figures are comparable
    with another's only next to this one.
    """
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return best


def _rules_run(log: str) -> Counter[str]:
    return Counter(_JOB_RE.findall(log) + _LOCALRULE_RE.findall(log))


def _describe(rules: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(rules.items()))


def build_loop(cores: str) -> None:
    snakemake = [sys.executable, "-m", "snakemake", "--cores", cores]
    with tempfile.TemporaryDirectory(prefix="hazegov-loop-") as tmp:
        work = Path(tmp)
        for name in COPIED:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, symlinks=True)
            else:
                shutil.copy2(src, work / name)
        wall, cpu, log = _run(snakemake, work)
        jobs = _rules_run(log)
        print(f"cold build       {wall:7.1f} s  ({cpu:.0f} CPU-s, {sum(jobs.values())} jobs)")
        for rule, n in jobs.most_common(6):
            print(f"    {rule:<28} {n:4d} jobs")
        wall, _, _ = _run(snakemake, work)
        print(f"no-op rerun      {wall:7.1f} s")
        wall, _, _ = _run([*snakemake, "--dry-run"], work)
        print(f"dry run          {wall:7.1f} s")
        save = [sys.executable, "-m", "hazegov.cli", "paper-diff", "save", "results/paper"]
        _run([*save, BASELINE], work)
        for what, text in CHANGES.items():
            change = work / "change.yaml"
            change.write_text(text, encoding="utf-8")
            cmd = [*snakemake, "all", REPORT, "--configfile", str(change)]
            wall, cpu, log = _run(cmd, work)
            ran = _rules_run(log)
            summary = (work / REPORT).read_text(encoding="utf-8")
            numbers = re.search(r"Numbers \(variables\): (\d+) changed", summary)
            print(
                f"one change: {what:<42} {wall:6.1f} s  ({cpu:.0f} CPU-s, "
                f"{sum(ran.values())} jobs; paper diff: "
                f"{numbers[1] if numbers else '?'} changed numbers)"
            )
            print(f"    ran: {_describe(ran)}")
            _run(snakemake, work)  # back to the default build, not timed


def scaling(sizes: list[str]) -> None:
    for script in ("survey_scaling.py", "analysis_scaling.py"):
        path = ROOT / "benchmarks" / script
        if path.is_file():
            subprocess.run(
                [sys.executable, str(path), "--sizes", *sizes, "--skip-build"],
                cwd=ROOT,
                check=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", default="4")
    parser.add_argument("--sizes", nargs="+", default=["230", "23000", "230000"])
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)"
    )
    print(f"reference task   {reference_seconds():7.2f} s  (10^7 additions in Python, best of 3)")
    if not args.skip_build:
        build_loop(args.cores)
    if not args.skip_scaling:
        scaling(args.sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
