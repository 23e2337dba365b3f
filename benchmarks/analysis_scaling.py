"""Time and peak memory of the analysis families as the sample grows, and their share of a build.

Usage: python benchmarks/analysis_scaling.py [--sizes 230 23000 230000] [--skip-build]

1. Cold build at N = 230: the backbone alone (export to cleaned data and sample description),
   then everything else (the analyses and the paper), each in a fresh copy of the checkout.
2. For each N, in a fresh process: draw N respondents from the generator's population model, run
   every analysis family with the settings of `config/config.yaml`, and print the seconds per
   family and the peak resident memory of the process.
Goal: the analyses add under 30 s to the cold build at N = 230 on 2 cores, and their cost grows
no faster than linearly in N.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("Snakefile", "workflow", "config", "data", "paper", "notebooks")
_RELEASE = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["release"]
BACKBONE = [
    f"results/release/{_RELEASE['basename']}.sav",
    "results/paper/figures/participant_flow.png",
    "results/tables/sample_by_group.csv",
]


def _build_split(cores: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in COPIED:
            src = ROOT / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
        snakemake = [sys.executable, "-m", "snakemake", "--cores", cores]
        start = time.perf_counter()
        subprocess.run([*snakemake, *BACKBONE], cwd=work, check=True, capture_output=True)
        backbone = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(snakemake, cwd=work, check=True, capture_output=True)
        return backbone, time.perf_counter() - start


def _analysis_frame(n: int) -> tuple[pd.DataFrame, dict[str, list[str]], object]:
    from hazegov.analysis.sample import construct_scores, measurement_model
    from hazegov.survey.cleaning import reverse_code
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.synthetic import draw_respondents, load_population_model

    codebook = load_codebook(ROOT / "config" / "codebook.yaml")
    model = load_population_model(ROOT / "config" / "population_model.yaml", codebook)
    frame = reverse_code(draw_respondents(model, codebook, n=n), codebook)
    frame["years_in_post"] = frame["years_in_post"].clip(lower=0)
    frame["role"] = frame["role"].clip(lower=0)
    frame["government"] = frame["sector"].map({s.id: s.government for s in codebook.sectors})
    measurement = measurement_model(codebook)
    frame = pd.concat([frame, construct_scores(frame, measurement).add_prefix("score_")], axis=1)
    return frame, measurement, codebook


def _worker(n: int) -> None:
    from hazegov.analysis.cfa import construct_validity, fit_cfa
    from hazegov.analysis.cmv import common_latent_factor, harman_single_factor
    from hazegov.analysis.efa import exploratory_factor_analysis
    from hazegov.analysis.factorability import bartlett_sphericity, kmo, parallel_analysis
    from hazegov.analysis.groups import compare_constructs
    from hazegov.analysis.invariance import measurement_invariance
    from hazegov.analysis.items import item_statistics
    from hazegov.analysis.regression import ols_hc3, ordinal_logit
    from hazegov.analysis.reliability import item_reliability, scale_reliability
    from hazegov.analysis.sem import fit_path_model

    settings = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    analysis = settings["analysis"]
    seed = analysis["seed"]
    start = time.perf_counter()
    frame, model, _ = _analysis_frame(n)
    items = [i for group in model.values() for i in group]
    timings = {"draw respondents": time.perf_counter() - start}
    scores = [f"score_{c}" for c in model]
    reg = analysis["regression"]
    pa = analysis["parallel_analysis"]
    families = {
        "reliability": lambda: (
            item_statistics(frame, items),
            scale_reliability(frame, model),
            item_reliability(frame, model),
        ),
        "factor structure": lambda: (
            kmo(frame, items),
            bartlett_sphericity(frame, items),
            parallel_analysis(
                frame,
                items,
                method=pa["method"],
                n_iter=pa["n_iter"],
                seed=seed,
                quantile=pa["quantile"],
            ),
            exploratory_factor_analysis(
                frame,
                items,
                len(model),
                rotation=analysis["efa"]["rotation"],
                method=analysis["efa"]["method"],
            ),
        ),
        "cfa and validity": lambda: construct_validity(fit_cfa(frame, model), model),
        "common-method variance": lambda: (
            harman_single_factor(frame, items),
            common_latent_factor(frame, model),
        ),
        "measurement invariance": lambda: measurement_invariance(frame, model, "government"),
        "group comparisons": lambda: compare_constructs(
            frame,
            scores,
            analysis["group_comparisons"]["group"],
            n_boot=analysis["group_comparisons"]["n_boot"],
            seed=seed,
        ),
        "regressions": lambda: (
            ols_hc3(
                frame,
                f"score_{reg['outcome']}",
                [f"score_{p}" for p in reg["predictors"]],
                controls=reg["controls"],
                categorical=reg["categorical"],
            ),
            ordinal_logit(
                frame,
                "satisfaction",
                [f"score_{p}" for p in reg["predictors"]],
                controls=reg["controls"],
                categorical=reg["categorical"],
            ),
        ),
        "path model": lambda: fit_path_model(
            frame,
            {c: model[c] for c in {x for p in analysis["path_model"]["paths"] for x in p}},
            [tuple(p) for p in analysis["path_model"]["paths"]],
            indirect=[tuple(c) for c in analysis["path_model"]["indirect"]],
            n_boot=analysis["path_model"]["n_boot"],
            seed=seed,
        ),
    }
    for name, run in families.items():
        start = time.perf_counter()
        run()
        timings[name] = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    analyses = sum(v for k, v in timings.items() if k != "draw respondents")
    print(f"N = {n:>7}: analyses {analyses:7.1f} s, peak memory {peak_mib:7.0f} MiB")
    for name, seconds in timings.items():
        print(f"    {name:<24} {seconds:7.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[230, 23_000, 230_000])
    parser.add_argument("--cores", default="4")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker)
        return 0
    if not args.skip_build:
        backbone, rest = _build_split(args.cores)
        print(
            f"cold build at N = 230 (snakemake --cores {args.cores}): backbone {backbone:.1f} s, "
            f"analyses and paper {rest:.1f} s more"
        )
    totals = {}
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(n)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(out, end="")
        totals[n] = float(out.split("analyses", 1)[1].split("s,", 1)[0])
    sizes = sorted(totals)
    for a, b in itertools.pairwise(sizes):
        ratio = totals[b] / totals[a]
        print(
            f"time ratio N = {b} vs {a}: {ratio:.1f} for a {b / a:.0f}-fold sample "
            f"(slope on log scale {np.log(ratio) / np.log(b / a):.2f}; 1.00 = linear)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
