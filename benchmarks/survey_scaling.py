"""Time and peak memory of the survey strand, raw export to analysis sample, as N grows.

Usage: python benchmarks/survey_scaling.py [--sizes 230 23000 230000] [--replications 20]
                                           [--workdir DIR] [--skip-build]

1. For each N, the project's generator (`hazegov.survey.synthetic.generate`, the model of
   `config/population_model.yaml` scaled to N) writes a synthetic export, kept in --workdir
   (default: a temporary folder) so a second run reuses it.
2. Each stage then runs in a fresh process on the previous stage's output (read from a pickle,
   not timed): ingest (`ingest_export`), exclusions (`apply_exclusions`), the missing-data rule
   (`build_analysis_sample`, which also scores) and the construct scores alone
   (`construct_scores`). Printed: seconds of the stage and the peak resident memory (RSS) of
   its process, with the RSS before the stage began.
3. Raw export to analysis sample in one process (what `snakemake --until analysis_sample` does
   in three jobs): seconds and peak RSS. Goal (issue 12): at most 30 s and 2 GB at N = 230,000
   on the 2-core machine.
4. One Monte Carlo replication at N = 230 (the steps of
   `hazegov.robustness.simulation.draw_analysis_sample`: synthesis, writing the export, ingest,
   exclusions, missing-data rule), mean milliseconds per step over --replications replications
   with the simulation's settings and seeds.

--skip-build is accepted (and ignored) for benchmarks/reviewer_loop.py, which passes it to every
scaling script.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "config" / "codebook.yaml"
POPULATION = ROOT / "config" / "population_model.yaml"
STAGES = ("ingest", "exclusions", "missing-data rule", "scores")


def _rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def _config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))


def _export(workdir: Path, n: int) -> Path:
    path = workdir / f"export_{n}.csv"
    if not path.exists():
        from hazegov.survey.synthetic import generate

        start = time.perf_counter()
        generate(CODEBOOK, POPULATION, path, n=n)
        print(
            f"N = {n:>7}: generated {path.name} in {time.perf_counter() - start:.1f} s "
            f"(peak RSS {_rss_mib():.0f} MiB)",
            flush=True,
        )
    return path


def _required(config: dict) -> list[str]:
    """What every analysed respondent must have answered (as the workflow's analysis_sample)."""
    analysis = config["analysis"]
    return list(analysis["missing_data"].get("required", analysis["regression"]["controls"]))


def _stage(name: str, workdir: Path, n: int) -> None:
    """Run one stage on the previous one's pickled output; print seconds and memory."""
    from hazegov.analysis.sample import build_analysis_sample, construct_scores, measurement_model
    from hazegov.survey.cleaning import apply_exclusions
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.ingest import ingest_export

    config = _config()
    cb = load_codebook(CODEBOOK)
    rule = config["analysis"]["missing_data"]
    inputs = {
        "ingest": None,
        "exclusions": "responses",
        "missing-data rule": "analysis",
        "scores": "sample",
    }
    source = inputs[name]
    data = pickle.loads((workdir / f"{source}_{n}.pkl").read_bytes()) if source else None
    before = _current_rss_mib()
    start, start_cpu = time.perf_counter(), time.process_time()
    if name == "ingest":
        out = ingest_export(
            workdir / f"export_{n}.csv", cb, out_of_range=config["survey"]["out_of_range"]
        ).responses
        target = "responses"
    elif name == "exclusions":
        out = apply_exclusions(data, cb, config["exclusions"]).analysis
        target = "analysis"
    elif name == "missing-data rule":
        out = build_analysis_sample(
            data,
            cb,
            rule["rule"],
            controls=_required(config),
            min_items_answered=int(rule["min_items_answered"]),
        ).frame
        target = "sample"
    else:
        out = construct_scores(data, measurement_model(cb))
        target = None
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = _rss_mib()
    if target:
        (workdir / f"{target}_{n}.pkl").write_bytes(pickle.dumps(out))
    print(f"{seconds:.3f} {cpu:.3f} {peak:.0f} {before:.0f} {len(out)}")


def _chain(workdir: Path, n: int) -> None:
    """Raw export to analysis sample in this process: seconds and peak RSS."""
    from hazegov.analysis.sample import build_analysis_sample
    from hazegov.survey.cleaning import apply_exclusions
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.ingest import ingest_export

    config = _config()
    cb = load_codebook(CODEBOOK)
    rule = config["analysis"]["missing_data"]
    before = _current_rss_mib()
    start, start_cpu = time.perf_counter(), time.process_time()
    responses = ingest_export(
        workdir / f"export_{n}.csv", cb, out_of_range=config["survey"]["out_of_range"]
    ).responses
    analysis = apply_exclusions(responses, cb, config["exclusions"]).analysis
    sample = build_analysis_sample(
        analysis,
        cb,
        rule["rule"],
        controls=_required(config),
        min_items_answered=int(rule["min_items_answered"]),
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"{seconds:.3f} {cpu:.3f} {_rss_mib():.0f} {before:.0f} {len(sample.frame)}")


def _replications(count: int) -> None:
    """Mean milliseconds per step of one simulation replication at N = 230."""
    from hazegov.analysis.sample import build_analysis_sample
    from hazegov.robustness.simulation import _with_seed, replication_seed, settings_from
    from hazegov.survey.cleaning import apply_exclusions
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.ingest import ingest_export
    from hazegov.survey.synthetic import load_population_model, synthesize_export, write_export

    config = _config()
    sim = yaml.safe_load((ROOT / "config" / "simulation.yaml").read_text(encoding="utf-8"))
    sim = sim["simulation"]
    s = settings_from(
        {
            **config["analysis"],
            "exclusions": config["exclusions"],
            "out_of_range": config["survey"]["out_of_range"],
        }
    )
    cb = load_codebook(CODEBOOK)
    model = load_population_model(POPULATION, cb)
    n = 230
    steps = ("synthesis", "write export", "ingest", "exclusions", "missing-data rule")
    wall = dict.fromkeys(steps, 0.0)
    cpu = dict.fromkeys(steps, 0.0)

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    with tempfile.TemporaryDirectory(prefix="hazegov-bench-") as tmp:
        path = Path(tmp) / "export.csv"
        for r in range(count + 1):  # the first replication warms up and is not counted
            seed = replication_seed(int(sim["seed"]), n, r)
            t = [now()]
            table = synthesize_export(_with_seed(model, seed), cb, n)
            t.append(now())
            write_export(table, path, "csv-utf8")
            t.append(now())
            ingested = ingest_export(path, cb, out_of_range=s.out_of_range)
            t.append(now())
            cleaned = apply_exclusions(ingested.responses, cb, dict(s.exclusions))
            t.append(now())
            build_analysis_sample(
                cleaned.analysis,
                cb,
                s.missing_rule,
                controls=s.required,
                min_items_answered=s.min_items_answered,
            )
            t.append(now())
            if r:
                for step, a, b in zip(steps, t, t[1:], strict=False):
                    wall[step] += b[0] - a[0]
                    cpu[step] += b[1] - a[1]
    print(
        f"one replication at N = 230 (mean of {count}): {sum(wall.values()) / count * 1000:.1f} "
        f"ms ({sum(cpu.values()) / count * 1000:.1f} CPU-ms)"
    )
    for step in steps:
        print(
            f"    {step:<24} {wall[step] / count * 1000:8.1f} ms "
            f"({cpu[step] / count * 1000:.1f} CPU-ms)"
        )


def _run(args: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[230, 23_000, 230_000])
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--workdir", type=Path, help="keep the exports here (default: temporary)")
    parser.add_argument("--skip-build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, workdir, n = args.worker
        if kind == "export":
            _export(Path(workdir), int(n))
        elif kind == "chain":
            _chain(Path(workdir), int(n))
        elif kind == "replications":
            _replications(int(n))
        else:
            _stage(kind.replace("_", " "), Path(workdir), int(n))
        return 0
    load = os.getloadavg()
    print(f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min), {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="hazegov-survey-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            generated = subprocess.run(
                [sys.executable, __file__, "--worker", "export", str(workdir), str(n)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            print(generated, end="")
            print(
                f"N = {n:>7}: seconds (CPU seconds of the process), peak RSS of the stage's "
                "process (RSS before the stage)"
            )
            for stage in STAGES:
                seconds, cpu, peak, before, rows = _run(
                    ["--worker", stage.replace(" ", "_"), str(workdir), str(n)]
                )
                print(
                    f"    {stage:<20} {float(seconds):8.2f} s ({float(cpu):6.2f})  "
                    f"{int(peak):6d} MiB ({int(before)} MiB before)  {int(rows):>7} rows out"
                )
            seconds, cpu, peak, before, rows = _run(["--worker", "chain", str(workdir), str(n)])
            print(
                f"    {'raw to sample':<20} {float(seconds):8.2f} s ({float(cpu):6.2f})  "
                f"{int(peak):6d} MiB ({int(before)} MiB before)  {int(rows):>7} rows out  "
                "(one process)"
            )
            for name in workdir.glob(f"*_{n}.pkl"):
                name.unlink()
        if args.replications:
            print("".join(line + "\n" for line in _run_lines(args.replications)), end="")
    return 0


def _run_lines(count: int) -> list[str]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "replications", "-", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.splitlines()


if __name__ == "__main__":
    raise SystemExit(main())
