"""Jobs per minute locally and through SLURM, and the wall time of the two studies on 2 cores.

Usage: python benchmarks/cluster_throughput.py [--cores 2] [--targets T ...] [--skip-slurm]
           [--skip-throughput] [--skip-studies] [--per-rule [--per-rule-targets T ...]]

1. Throughput: the target set of tests/slurm/test_slurm.py (survey analyses, plus the multiverse and
   simulation summaries when those rules exist) on the `.test` config, built cold once with
   the local executor (`--cores N`) and once through `--profile profiles/slurm`, each in a
   fresh copy. Prints jobs (from Snakemake's "N of N steps"), seconds and jobs per minute.
   `--targets all` measures the whole `.test` build instead.
   The SLURM run needs a cluster: `bash tests/slurm/start_local_slurm.sh` starts one here.
2. Studies: on the default config, in a fresh copy of the checkout, the wall time of the
   default multiverse grid and of the simulation study on `--cores` cores (their upstream
   jobs are built first and not counted). Says so when the rules are missing.
3. --per-rule: a cold local build of everything on the default config with one core, one job
   at a time, printing each rule's wall time and the peak resident memory of its processes
   (sampled every 0.1 s). These are the figures behind the requests in profiles/slurm.
Figures only, no goals asserted: use them to size cluster requests.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.slurm import (  # noqa: E402
    SLURM_PROFILE,
    SUBMITTED,
    slurm_targets,
    slurm_usable,
    workflow_rules,
)
from tests.support.workflow import portable_workdir  # noqa: E402

COPIED = ("Snakefile", "workflow", "config", "data", "paper", "notebooks")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
STEPS = re.compile(r"(\d+) of (\d+) steps")
# Each study: its rules (upstream of the first one is prebuilt) and its final target.
STUDIES = {
    "multiverse (default grid)": (
        ["multiverse_group", "multiverse_summary"],
        "multiverse_summary",
    ),
    "simulation study": (
        ["simulation_truth", "simulation_replications", "simulation_summary"],
        "simulation_summary",
    ),
}


def _command(workdir: Path, snakefile: Path) -> list[str]:
    return [
        *SNAKEMAKE,
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--workflow-profile",
        "none",
    ]


def _run(workdir: Path, *args: str, snakefile: Path = ROOT / "Snakefile") -> tuple[float, str]:
    """One Snakemake run; the `.test` copies use the checkout's Snakefile, as the tests do."""
    start = time.perf_counter()
    run = subprocess.run(
        [*_command(workdir, snakefile), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    output = run.stdout + run.stderr
    if run.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{output[-4000:]}")
    return seconds, output


def _jobs(output: str) -> int:
    found = STEPS.findall(output)
    return int(found[-1][1]) if found else 0


def _checkout_copy(base: Path) -> Path:
    for name in COPIED:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, base / name)
    return base


def throughput(cores: str, targets: list[str], skip_slurm: bool) -> None:
    print(f"Throughput on the .test config, targets: {' '.join(targets)}")
    print(f"{'executor':<28}{'jobs':>6}{'seconds':>10}{'jobs/min':>10}")
    runs = [("local", ["--cores", cores])]
    if skip_slurm:
        print("  (slurm run skipped: --skip-slurm)")
    elif not slurm_usable():
        print("  (slurm run skipped: no usable SLURM; bash tests/slurm/start_local_slurm.sh)")
    else:
        runs.append(("slurm", ["--profile", str(SLURM_PROFILE)]))
    for name, args in runs:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = portable_workdir(Path(tmp))
            seconds, output = _run(workdir, *targets, *args)
        jobs = _jobs(output)
        if name == "slurm":
            submitted = len(SUBMITTED.findall(output))
            name = f"slurm ({submitted} sbatch jobs)"
        else:
            name = f"local (--cores {cores})"
        print(f"{name:<28}{jobs:>6}{seconds:>10.1f}{jobs / seconds * 60:>10.1f}")


def studies(cores: str) -> None:
    rules = workflow_rules()
    print(f"\nStudies on the default config, local executor, --cores {cores}")
    print(f"{'study':<28}{'jobs':>6}{'seconds':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        work = _checkout_copy(Path(tmp))
        for name, (study_rules, target) in STUDIES.items():
            missing = [r for r in study_rules if r not in rules]
            if missing:
                print(f"{name:<28}  missing: rules {', '.join(missing)} are not in the workflow")
                continue
            # Everything upstream of the study, built first and not timed.
            snakefile = work / "Snakefile"
            _run(work, target, "--cores", cores, "--omit-from", *study_rules, snakefile=snakefile)
            seconds, output = _run(work, target, "--cores", cores, snakefile=snakefile)
            print(f"{name:<28}{_jobs(output):>6}{seconds:>10.1f}")


class _Sampler:
    """Peak resident memory of a process's descendants, charged to the current rule."""

    def __init__(self, pid: int) -> None:
        import psutil  # a dependency of snakemake

        self.root = psutil.Process(pid)
        self.psutil = psutil
        self.rule: str | None = None
        self.peak: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            rule = self.rule
            if rule is None:
                continue
            rss = 0
            try:
                children = self.root.children(recursive=True)
            except self.psutil.Error:
                continue
            for child in children:
                with contextlib.suppress(self.psutil.Error):
                    rss += child.memory_info().rss
            self.peak[rule] = max(self.peak.get(rule, 0), rss)


def per_rule(targets: list[str] | None) -> None:
    rules = workflow_rules()
    targets = targets or ["all", *(t for _, t in STUDIES.values() if t in rules)]
    print(f"\nPer rule, default config, one job at a time (targets: {' '.join(targets)})")
    start_rule = re.compile(r"^(?:local)?rule (\w+):$")
    finished = re.compile(r"Finished jobid: \d+ \(Rule: (\w+)\)")
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = _checkout_copy(Path(tmp))
        proc = subprocess.Popen(
            [*_command(work, work / "Snakefile"), *targets, "--cores", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        sampler = _Sampler(proc.pid)
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        began = 0.0
        tail: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = [*tail[-40:], line]
            if match := start_rule.match(line.strip()):
                sampler.rule, began = match.group(1), time.perf_counter()
            elif match := finished.search(line):
                seconds.setdefault(match.group(1), []).append(time.perf_counter() - began)
                sampler.rule = None
        sampler.stop.set()
        thread.join()
        if proc.wait() != 0:
            sys.exit("per-rule build failed:\n" + "".join(tail))
    # Seconds of one job: from Snakemake's "rule X:" to its "Finished jobid", so each includes
    # the start of the job's Python process (about 1.5 s). Peak MB: the largest sum of the
    # resident memory of Snakemake's child processes while a job of the rule ran.
    print(f"{'rule':<28}{'jobs':>5}{'mean s':>8}{'max s':>8}{'peak MB':>9}")
    for rule in sorted(seconds, key=lambda r: max(seconds[r]), reverse=True):
        times = seconds[rule]
        mean, peak = sum(times) / len(times), sampler.peak.get(rule, 0) / 2**20
        print(f"{rule:<28}{len(times):>5}{mean:>8.1f}{max(times):>8.1f}{peak:>9.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", default="2")
    parser.add_argument("--targets", nargs="+", help="default: the target set of the test")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-slurm", action="store_true")
    parser.add_argument("--skip-studies", action="store_true")
    parser.add_argument("--per-rule", action="store_true")
    parser.add_argument(
        "--per-rule-targets", nargs="+", help="default: all and the study summaries"
    )
    args = parser.parse_args()
    if not args.skip_throughput:
        throughput(args.cores, args.targets or slurm_targets(), args.skip_slurm)
    if not args.skip_studies:
        studies(args.cores)
    if args.per_rule:
        per_rule(args.per_rule_targets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
