"""Coverage of the 95% confidence intervals at the study's sample size, over repeated draws.

Usage: python benchmarks/coverage.py [--draws 500] [--n 230]

Draws respondents from the generator's population model (sector differences removed, so there is
one population with known values), fits the project's own functions, and prints the share of
intervals that cover the population value, with its binomial standard error:
- OLS slopes of the effectiveness score on the four problem scores (HC3 intervals);
- Cronbach's alpha of each scale (Feldt intervals).
The tests check a modest number of draws; this script runs as many as you ask and prints timings.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hazegov.analysis.regression import ols_hc3
from hazegov.analysis.reliability import cronbach_alpha
from hazegov.survey.codebook import load_codebook
from hazegov.survey.synthetic import (
    PopulationModel,
    draw_latent_responses,
    latent_score_regression,
    load_population_model,
)

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ["LEAD", "RESP", "EVAL", "PART"]


def signed_items(latent: pd.DataFrame, codebook, construct: str) -> pd.DataFrame:
    columns = {}
    for item in codebook.construct(construct).items:
        sign = -1.0 if codebook.variable(item).reverse else 1.0
        columns[item] = sign * latent[f"ystar_{item}"]
    return pd.DataFrame(columns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--n", type=int, default=230)
    args = parser.parse_args()
    codebook = load_codebook(ROOT / "config" / "codebook.yaml")
    model = load_population_model(ROOT / "config" / "population_model.yaml", codebook)
    shifts = {s: dict.fromkeys(v, 0.0) for s, v in model.raw["sector_mean_shifts"].items()}
    base = {**model.raw, "sector_mean_shifts": shifts}
    slopes = latent_score_regression(model, codebook, "EFF", PROBLEMS)
    alphas = {}
    for construct in codebook.constructs:
        lam = np.array([model.raw["loadings"][i] for i in construct.items])
        k = len(lam)
        alphas[construct.id] = k / (k - 1) * (1 - k / (lam.sum() ** 2 + (1 - lam**2).sum()))
    hits: dict[str, list[int]] = {}
    start = time.perf_counter()
    for draw in range(args.draws):
        population = PopulationModel(model.path, {**base, "seed": 100_000 + draw})
        latent = draw_latent_responses(population, codebook, n=args.n)
        scores = pd.DataFrame(
            {c.id: signed_items(latent, codebook, c.id).mean(axis=1) for c in codebook.constructs}
        )
        table = ols_hc3(scores, "EFF", PROBLEMS).to_frames()["coefficients"].set_index("term")
        for c in PROBLEMS:
            inside = table.loc[c, "ci_low"] <= slopes[c] <= table.loc[c, "ci_high"]
            hits.setdefault(f"OLS slope {c} (HC3)", []).append(int(inside))
        for c, want in alphas.items():
            items = signed_items(latent, codebook, c)
            result = cronbach_alpha(items, list(items.columns))
            inside = result.ci_lower <= want <= result.ci_upper
            hits.setdefault(f"alpha {c} (Feldt)", []).append(int(inside))
    elapsed = time.perf_counter() - start
    print(f"{args.draws} draws of n = {args.n} in {elapsed:.1f} s")
    for name, values in hits.items():
        share = float(np.mean(values))
        se = np.sqrt(share * (1 - share) / len(values))
        print(f"{name:<28} coverage {share:.3f} (SE {se:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
