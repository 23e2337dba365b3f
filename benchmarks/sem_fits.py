"""Fit time of the study's path model: semopy against the project's own ML estimator.

Usage: python benchmarks/sem_fits.py [--n 230] [--fits 10] [--semopy-resamples 500]

On N respondents drawn from the generator's population model (config/population_model.yaml,
reverse-coded items, as `analysis_scaling.py` draws them), with the paths of
config/config.yaml `analysis.path_model`:

1. one full fit (estimates, SEs, standardized estimates and their delta-method SEs), mean and
   minimum seconds over `--fits` fits: semopy (`cfa.fit_semopy`, as the pipeline used it) and
   `analysis.ml.MLModel.fit`; and how far apart their estimates are;
2. the bootstrap of the indirect effects (`n_boot` resamples, config `analysis.path_model`):
   before, one warm-started semopy refit per resample (`fit_semopy(start=...,
   standard_errors=False)`, as `fit_path_model` did; with `--semopy-resamples` below n_boot
   the time is extrapolated from that many); after, `fit_path_model` itself.

Goal: a fit in 10-30 ms instead of ~0.4 s. Timings depend on the machine's load: the script
prints `os.getloadavg()` before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _sample(n: int) -> tuple[pd.DataFrame, dict[str, list[str]], dict]:
    from hazegov.analysis.sample import measurement_model
    from hazegov.survey.cleaning import reverse_code
    from hazegov.survey.codebook import load_codebook
    from hazegov.survey.synthetic import draw_respondents, load_population_model

    codebook = load_codebook(ROOT / "config" / "codebook.yaml")
    population = load_population_model(ROOT / "config" / "population_model.yaml", codebook)
    frame = reverse_code(draw_respondents(population, codebook, n=n), codebook)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    settings = config["analysis"]["path_model"] | {"seed": config["analysis"]["seed"]}
    constructs = {c for pair in settings["paths"] for c in pair}
    model = {c: items for c, items in measurement_model(codebook).items() if c in constructs}
    items = [i for group in model.values() for i in group]
    return frame[items].astype(float).reset_index(drop=True), model, settings


def _timed(function, repeats: int) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def _line(label: str, seconds: list[float]) -> str:
    mean, best = statistics.mean(seconds), min(seconds)
    return f"  {label:<34} mean {1000 * mean:9.1f} ms   min {1000 * best:9.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=230, help="respondents (default 230)")
    parser.add_argument("--fits", type=int, default=10, help="full fits timed per estimator")
    parser.add_argument(
        "--semopy-resamples",
        type=int,
        default=None,
        help="semopy bootstrap refits timed (default: all n_boot; fewer are extrapolated)",
    )
    args = parser.parse_args()

    from hazegov.analysis.cfa import fit_semopy, measurement_description
    from hazegov.analysis.ml import MLModel
    from hazegov.analysis.sem import fit_path_model, parse_paths, structural_description

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    data, model, settings = _sample(args.n)
    pairs = parse_paths([tuple(p) for p in settings["paths"]], list(model))
    chains = [tuple(c) for c in settings["indirect"]]
    n_boot = int(settings["n_boot"])
    description = measurement_description(model) + "\n" + structural_description(pairs)
    structure = MLModel(model, pairs)
    print(
        f"path model: N = {len(data)}, {structure.p} items, {len(model)} constructs, "
        f"{len(pairs)} paths, {structure.n_free} free parameters"
    )

    fit_semopy(description, data, what="warm-up")
    structure.fit(data, what="warm-up")
    semopy_times, semopy_fit = _timed(
        lambda: fit_semopy(description, data, what="path model"), args.fits
    )
    ml_times, ml_fit = _timed(lambda: structure.fit(data, what="path model"), args.fits)
    build_times, _ = _timed(lambda: MLModel(model, pairs), args.fits)
    print(f"one full fit (estimates, SEs, std.all and their SEs), {args.fits} fits each:")
    print(_line("semopy (fit_semopy, L-BFGS-B)", semopy_times))
    print(_line("analysis.ml (MLModel.fit)", ml_times))
    print(_line("  of which building the structure", build_times))
    print(f"  speed-up (means): {statistics.mean(semopy_times) / statistics.mean(ml_times):.0f}x")
    a, b = semopy_fit.parameters, ml_fit.parameters
    for column in ("estimate", "se", "std_estimate", "std_se"):
        rel = np.nanmax(np.abs(a[column] - b[column]) / np.maximum(np.abs(b[column]), 1e-3))
        print(f"  largest relative difference, {column:<12}: {rel:.1e}")
    chi2 = (semopy_fit.fit_indices().chi2, ml_fit.fit_indices().chi2)
    print(f"  chi2: semopy {chi2[0]:.6f}, analysis.ml {chi2[1]:.6f}")

    resamples = n_boot if args.semopy_resamples is None else min(args.semopy_resamples, n_boot)
    rng = np.random.default_rng(settings["seed"])
    start_values = semopy_fit.x
    start = time.perf_counter()
    for _ in range(resamples):
        sample = data.iloc[rng.integers(0, len(data), len(data))].reset_index(drop=True)
        fit_semopy(description, sample, what="refit", start=start_values, standard_errors=False)
    before = (time.perf_counter() - start) * n_boot / max(resamples, 1)
    after, _ = _timed(
        lambda: fit_path_model(
            data, model, pairs, indirect=chains, n_boot=n_boot, seed=settings["seed"]
        ),
        1,
    )
    note = "" if resamples == n_boot else f" (extrapolated from {resamples} refits)"
    print(f"bootstrap of the indirect effects, {n_boot} resamples:")
    print(f"  before: semopy refits{note:<30} {before:8.1f} s")
    print(f"  after:  fit_path_model (full fit + refits) {after[0]:8.1f} s")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
