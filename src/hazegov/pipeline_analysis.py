"""One function per analysis rule: the analysis sample and settings in, tidy results out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hazegov.cleaning import read_provenance
from hazegov.codebook import Codebook, load_codebook
from hazegov.pipeline import write_csv, write_json

log = logging.getLogger("hazegov")
SCORE = "score_"


def _load(sample: str | Path, codebook: str | Path) -> tuple[pd.DataFrame, Codebook, bool]:
    provenance = read_provenance(sample)
    return pd.read_parquet(sample), load_codebook(codebook), bool(provenance.get("synthetic"))


def _write_frames(frames: Mapping[str, pd.DataFrame], outputs: Mapping[str, str | Path]) -> None:
    for name, path in outputs.items():
        write_csv(frames[name], path)


def _summary(result: Any, synthetic: bool, **extra: Any) -> dict[str, Any]:
    record = {
        "data_source": "synthetic" if synthetic else "real",
        "warnings": list(getattr(result, "warnings", ()) or ()),
    }
    settings = getattr(result, "settings", None)
    if settings:
        record["settings"] = settings
    return record | extra


def _sector_labels(cb: Codebook) -> dict[str, str]:
    return {s.id: s.en for s in cb.sectors}


def run_group_comparisons(
    sample: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    seed: int,
    tables: Mapping[str, str | Path],
    summary_out: str | Path,
    figure_out: str | Path,
) -> None:
    """Construct scores compared across respondent sectors (Welch, Kruskal-Wallis, pairwise)."""
    from hazegov.analysis.groups import compare_constructs
    from hazegov.plots import group_comparison

    frame, cb, synthetic = _load(sample, codebook)
    constructs = [c.id for c in cb.constructs]
    scores = frame[[settings["group"]]].join(
        frame[[SCORE + c for c in constructs]].rename(columns=lambda c: c.removeprefix(SCORE))
    )
    result = compare_constructs(
        scores, constructs, settings["group"], n_boot=int(settings["n_boot"]), seed=seed
    )
    _write_frames(result.to_frames(), tables)
    write_json(_summary(result, synthetic), summary_out)
    labels = _sector_labels(cb) if settings["group"] == "sector" else {}
    if not labels:
        labels = {str(g): str(g) for g in sorted(scores[settings["group"]].unique())}
    group_comparison(scores, constructs, settings["group"], labels, figure_out, synthetic=synthetic)


def _terms(names: list[str]) -> list[str]:
    return [SCORE + n for n in names]


def run_regressions(
    sample: str | Path,
    codebook: str | Path,
    settings: Mapping[str, Any],
    ols_tables: Mapping[str, str | Path],
    ordinal_tables: Mapping[str, str | Path],
    summary_out: str | Path,
    figure_out: str | Path,
) -> None:
    """OLS of perceived effectiveness (HC3) and the ordinal logit of overall satisfaction."""
    from hazegov.analysis.regression import ols_hc3, ordinal_logit
    from hazegov.plots import coefficient_forest

    frame, cb, synthetic = _load(sample, codebook)
    predictors = _terms(settings["predictors"])
    controls = list(settings["controls"])
    categorical = list(settings["categorical"])
    reference = {"sector": cb.sectors[0].id} if "sector" in categorical else None
    ols = ols_hc3(
        frame,
        SCORE + settings["outcome"],
        predictors,
        controls=controls,
        categorical=categorical,
        reference=reference,
    )
    ordinal = ordinal_logit(
        frame,
        "satisfaction",
        predictors,
        controls=controls,
        categorical=categorical,
        reference=reference,
    )
    _write_frames(ols.to_frames(), ols_tables)
    _write_frames(ordinal.to_frames(), ordinal_tables)
    write_json(
        {
            "ols": _summary(ols, synthetic),
            "ordinal_logit": _summary(ordinal, synthetic),
            "outcome": settings["outcome"],
            "reference_levels": reference or {},
        },
        summary_out,
    )
    coefficients = ols.to_frames()["coefficients"]
    shown = coefficients[coefficients["term"].isin(predictors)].copy()
    shown["label"] = shown["term"].str.removeprefix(SCORE)
    scale = shown["beta"] / shown["b"]
    shown["beta_low"] = shown["ci_low"] * scale
    shown["beta_high"] = shown["ci_high"] * scale
    coefficient_forest(
        shown,
        figure_out,
        estimate="beta",
        low="beta_low",
        high="beta_high",
        label="label",
        xlabel=f"Standardized coefficient on {settings['outcome']} (95% CI, HC3)",
        reference=0.0,
        synthetic=synthetic,
    )
