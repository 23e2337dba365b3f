"""Multiverse (specification-curve) analysis of the study's key estimates.

The study's structural claim is that government leadership (LEAD), clear departmental
responsibilities (RESP), the performance-evaluation mechanism (EVAL) and social participation
(PART) each go with higher perceived effectiveness of haze governance (EFF). A reviewer may ask
whether that survives other reasonable analytic choices. This module runs the four effects over
every combination of the defensible choices listed in config `multiverse.dimensions` (a
multiverse analysis, Steegen et al. 2016, shown as a specification curve, Simonsohn, Simmons &
Nelson 2020), each combination ("specification") as its own Snakemake job.

Grid. The dimensions and the order in which they are crossed are fixed here (`DIMENSIONS`); their
options come from config, in config order. The data choices (`SAMPLE_DIMENSIONS`) define a
sample variant ("d01", ...), prepared once by its own job; the model choices are crossed within
each. Specification ids ("s0001", ...) number the grid in that order, so they are stable while
the config is unchanged. An SEM estimates the constructs as latent variables from their items,
so the score choice does not apply to it: SEM specifications carry ``scores = "latent"`` and are
not repeated per score option.

One specification (`run_specification` = `prepare_sample` + `estimate_specification`):

1. the exclusion rules (`hazegov.survey.cleaning.apply_exclusions`), with the specification's
   attention-check, speeder and straight-lining choices and the other rules as configured;
2. the missing-data rule (`hazegov.analysis.sample.build_analysis_sample`), which also scores the
   constructs by their item means and codes years in post as the main analysis does;
3. the respondent sectors the specification leaves out;
4. factor scores (Skrondal & Laake 2001, "Regression among factor scores", Psychometrika 66):
   a CFA of the five constructs by ML (`hazegov.analysis.cfa.fit_cfa`) on this sample gives
   regression (Thurstone) scores of the four predictors, computed from their own items, and
   Bartlett scores of the outcome. With these, the regression of outcome on predictor scores
   estimates the latent structural coefficients consistently, which neither mean scores nor
   one kind of factor score alone does;
5. the estimator: OLS with HC3 standard errors (`ols_hc3`), the proportional-odds model
   (`ordinal_logit`) of the outcome scale read as ordered categories (its item mean rounded to
   the nearest answer category, halves up; the predictors are the specification's scores), or
   the structural equation model (ML, `hazegov.analysis.ml`) with the outcome regressed on the
   four latent predictors and the controls (z-scored, fixed x; latent predictors and controls
   covary freely).

Comparability. Each effect is reported on the estimator's own scale (`scale`: points of the
outcome score, log-odds, latent units) with its test, and as a standardized coefficient β: OLS on
mean scores b·sd(x)/sd(y); OLS on factor scores b·sd(ξ)/sd(η) with the CFA's latent standard
deviations; ordinal logit b·sd(x)/sd(y*), sd(y*)² = var(x'b) + π²/3 (Long 1997, section 3.8);
SEM the completely standardized path (lavaan's std.all). The confidence interval of β is that of
b times the same factor. Sign and significance, the basis of the summary, come from the test of b.

Failures. A specification the data cannot support (too few cases, a constant or collinear term,
a CFA or model that does not converge, a singular information matrix) is recorded with status
"failed" and the reason, never dropped; the summary counts them and computes its shares over
the specifications that were estimated.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hazegov.errors import AnalysisError, ConfigError, Violation
from hazegov.formatting import num, pct

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hazegov.survey.codebook import Codebook

SAMPLE_DIMENSIONS = ("attention_check", "speeders", "straight_lining", "missing_data", "sectors")
MODEL_DIMENSIONS = ("estimator", "scores", "controls")
DIMENSIONS = SAMPLE_DIMENSIONS + MODEL_DIMENSIONS
ESTIMATORS = ("ols_hc3", "ordinal_logit", "sem")
SCORE_METHODS = ("mean", "factor")
LATENT = "latent"  # the score choice of SEM specifications
LATENT_LABEL = "latent variables (SEM)"
MISSING = "–"  # a number not estimated, in tables and prose
SCORE = "score_"  # mean scores, as hazegov.analysis.sample names them
FACTOR_SCORE = "fscore_"
ORDINAL_SUFFIX = "_category"
STATUS_OK, STATUS_FAILED = "ok", "failed"
# A residual variance at or below this is a Heywood case: Bartlett weights divide by it.
MIN_RESIDUAL_VARIANCE = 1e-6
EFFECT_FIELDS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p",
    "std_estimate",
    "std_ci_low",
    "std_ci_high",
)


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Specification:
    """One cell of the grid: its id, its sample variant and one option id per dimension."""

    id: str
    sample: str
    choices: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class SampleVariant:
    """One combination of the data choices, shared by the specifications that use it."""

    id: str
    choices: dict[str, str] = field(hash=False)


def _bad(message: str, key: str) -> Violation:
    return Violation(file="config/multiverse.yaml", rule="multiverse", message=message, column=key)


def check_multiverse(settings: Mapping[str, Any]) -> None:
    """What the schema cannot say: unique option ids, a preferred option for every dimension,
    known methods, and a control set's categorical terms among its terms. Raises ConfigError
    listing every problem."""
    problems = []
    dimensions = settings.get("dimensions", {})
    for dim in DIMENSIONS:
        options = dimensions.get(dim, {}).get("options", [])
        key = f"multiverse.dimensions.{dim}"
        if not options:
            problems.append(_bad("the dimension needs at least one option", key))
            continue
        ids = [o["id"] for o in options]
        if len(set(ids)) != len(ids):
            problems.append(_bad(f"option ids repeat: {ids}", key))
        if dim == "scores" and LATENT in ids:
            problems.append(_bad(f"{LATENT!r} is the score choice of SEM; not an option", key))
    for option in dimensions.get("estimator", {}).get("options", []):
        if option.get("method") not in ESTIMATORS:
            problems.append(_bad(f"unknown estimator {option.get('method')!r}", "estimator"))
    for option in dimensions.get("scores", {}).get("options", []):
        if option.get("method") not in SCORE_METHODS:
            problems.append(_bad(f"unknown score method {option.get('method')!r}", "scores"))
    for option in dimensions.get("controls", {}).get("options", []):
        if stray := sorted(set(option.get("categorical", [])) - set(option.get("terms", []))):
            problems.append(
                _bad(f"categorical terms {stray} are not among the option's terms", "controls")
            )
    preferred = settings.get("preferred", {})
    for dim in DIMENSIONS:
        ids = [o["id"] for o in dimensions.get(dim, {}).get("options", [])]
        choice = preferred.get(dim)
        if dim == "scores" and choice == LATENT:
            continue
        if choice not in ids:
            problems.append(
                _bad(
                    f"preferred option {choice!r} is not one of {ids}",
                    f"multiverse.preferred.{dim}",
                )
            )
    if problems:
        raise ConfigError(problems)


def _options(settings: Mapping[str, Any], dim: str) -> list[Mapping[str, Any]]:
    return list(settings["dimensions"][dim]["options"])


def option(settings: Mapping[str, Any], dim: str, option_id: str) -> Mapping[str, Any]:
    """The config entry of one option of one dimension."""
    if dim == "scores" and option_id == LATENT:
        return {"id": LATENT, "label": LATENT_LABEL, "method": LATENT}
    for entry in _options(settings, dim):
        if entry["id"] == option_id:
            return entry
    raise KeyError(f"multiverse: {dim} has no option {option_id!r}")


def _width(n: int, minimum: int) -> int:
    return max(minimum, len(str(n)))


def sample_variants(settings: Mapping[str, Any]) -> list[SampleVariant]:
    """Every combination of the data choices, in grid order ("d01", "d02", ...)."""
    check_multiverse(settings)
    combos = list(
        itertools.product(*[[o["id"] for o in _options(settings, d)] for d in SAMPLE_DIMENSIONS])
    )
    width = _width(len(combos), 2)
    return [
        SampleVariant(f"d{k:0{width}d}", dict(zip(SAMPLE_DIMENSIONS, combo, strict=True)))
        for k, combo in enumerate(combos, start=1)
    ]


def specification_grid(settings: Mapping[str, Any]) -> list[Specification]:
    """Every specification, in a fixed order: sample variant, estimator, scores, controls.

    SEM specifications take the score choice "latent" once instead of every score option.
    """
    rows: list[tuple[SampleVariant, dict[str, str]]] = []
    for variant in sample_variants(settings):
        for estimator in _options(settings, "estimator"):
            if estimator["method"] == "sem":
                scores = [LATENT]
            else:
                scores = [o["id"] for o in _options(settings, "scores")]
            for score, controls in itertools.product(scores, _options(settings, "controls")):
                model = {"estimator": estimator["id"], "scores": score, "controls": controls["id"]}
                rows.append((variant, model))
    width = _width(len(rows), 4)
    return [
        Specification(f"s{k:0{width}d}", variant.id, {**variant.choices, **model})
        for k, (variant, model) in enumerate(rows, start=1)
    ]


def preferred_specification(settings: Mapping[str, Any]) -> Specification:
    """The specification of the study's own choices (config `multiverse.preferred`)."""
    preferred = dict(settings["preferred"])
    if option(settings, "estimator", preferred["estimator"])["method"] == "sem":
        preferred["scores"] = LATENT
    for spec in specification_grid(settings):
        if all(spec.choices[d] == preferred[d] for d in DIMENSIONS):
            return spec
    raise ConfigError([_bad("the preferred specification is not in the grid", "preferred")])


def grid_table(settings: Mapping[str, Any]) -> list[dict[str, str]]:
    """The lookup table: spec id, sample id, and each dimension's option id and label."""
    out = []
    for spec in specification_grid(settings):
        row = {"spec": spec.id, "sample": spec.sample}
        for dim in DIMENSIONS:
            row[dim] = spec.choices[dim]
            row[f"{dim}_label"] = str(option(settings, dim, spec.choices[dim])["label"])
        out.append(row)
    return out


# --------------------------------------------------------------------------------------------
# Settings of one sample variant and one specification (what the jobs' params carry)
# --------------------------------------------------------------------------------------------


def sample_settings(config: Mapping[str, Any], choices: Mapping[str, str]) -> dict[str, Any]:
    """Everything a sample variant's preparation depends on, resolved from the config.

    The exclusion rules not varied here (duplicates, item non-response, the attention check's
    treatment of a missing answer) are taken from config `exclusions` as configured.
    """
    settings = config["multiverse"]
    exclusions = copy.deepcopy(dict(config["exclusions"]))
    attention = option(settings, "attention_check", choices["attention_check"])
    exclusions["attention_check"] = {
        **exclusions["attention_check"],
        "enabled": bool(attention["enabled"]),
    }
    speeders = option(settings, "speeders", choices["speeders"])
    seconds = speeders.get("seconds")
    exclusions["min_duration"] = {
        "enabled": seconds is not None,
        "seconds": float(seconds) if seconds is not None else 0.0,
    }
    straight = option(settings, "straight_lining", choices["straight_lining"])
    share = straight.get("min_modal_share", exclusions["straight_lining"]["min_modal_share"])
    exclusions["straight_lining"] = {
        "enabled": bool(straight["enabled"]),
        "min_modal_share": float(share),
    }
    missing = option(settings, "missing_data", choices["missing_data"])
    default_min = config["analysis"]["missing_data"]["min_items_answered"]
    regression = config["analysis"]["regression"]
    return {
        "exclusions": exclusions,
        "missing_data": {
            "rule": str(missing["rule"]),
            "min_items_answered": int(missing.get("min_items_answered", default_min)),
        },
        "exclude_sectors": list(option(settings, "sectors", choices["sectors"])["exclude"]),
        "outcome": str(regression["outcome"]),
        "predictors": list(regression["predictors"]),
        # the answers every analysed respondent must have, as in the study's own sample, so
        # that the control options compare models of the same respondents
        "controls": list(
            config["analysis"]["missing_data"].get("required", regression["controls"])
        ),
    }


def specification_settings(config: Mapping[str, Any], spec: Specification) -> dict[str, Any]:
    """Everything one specification's model depends on (its data come from its sample)."""
    settings = config["multiverse"]
    regression = config["analysis"]["regression"]
    estimator = option(settings, "estimator", spec.choices["estimator"])
    scores = option(settings, "scores", spec.choices["scores"])
    control_set = option(settings, "controls", spec.choices["controls"])
    controls = list(control_set["terms"])
    # a control set that says which of its terms are categories does not change when the
    # study's own regression does (a reviewer dropping the demographic controls there)
    categorical = control_set.get("categorical", regression["categorical"])
    return {
        "spec": spec.id,
        "sample": spec.sample,
        "choices": dict(spec.choices),
        "estimator": str(estimator["method"]),
        "scores": str(scores["method"]),
        "controls": controls,
        "categorical": [c for c in categorical if c in controls],
        "outcome": str(regression["outcome"]),
        "predictors": list(regression["predictors"]),
        "ci_level": float(settings["ci_level"]),
    }


# --------------------------------------------------------------------------------------------
# One sample variant: exclusions, missing data, sectors, factor scores
# --------------------------------------------------------------------------------------------


@dataclass
class PreparedSample:
    frame: pd.DataFrame
    report: dict[str, Any]


def prepare_sample(
    responses: pd.DataFrame, codebook: Codebook, settings: Mapping[str, Any]
) -> PreparedSample:
    """Exclusions, the missing-data rule, the sector subset and the factor scores of one variant.

    A CFA that cannot be fitted leaves the factor scores out and says why in the report; the
    specifications that need them then fail with that reason.
    """
    from hazegov.analysis.sample import build_analysis_sample, measurement_model
    from hazegov.survey.cleaning import EXCLUSION_ORDER, apply_exclusions

    cleaned = apply_exclusions(responses, codebook, dict(settings["exclusions"]))
    flow = cleaned.flow.set_index("step")
    missing = settings["missing_data"]
    sample = build_analysis_sample(
        cleaned.analysis,
        codebook,
        missing["rule"],
        controls=settings["controls"],
        min_items_answered=int(missing["min_items_answered"]),
    )
    left_out = sample.frame["sector"].isin(list(settings["exclude_sectors"]))
    frame = sample.frame[~left_out].reset_index(drop=True)
    report: dict[str, Any] = {
        "n_received": int(flow.loc["received", "remaining"]),
        "excluded": {step: int(flow.loc[step, "excluded"]) for step in EXCLUSION_ORDER},
        "n_after_exclusions": int(flow.loc["analysed", "remaining"]),
        "missing_data": {
            k: sample.report[k] for k in ("rule", "n_before", "n_after", "cells_imputed")
        },
        "n_sectors_left_out": int(left_out.sum()),
        "n": len(frame),
    }
    model = measurement_model(codebook)
    constructs = [*settings["predictors"], settings["outcome"]]
    try:
        scores, info = factor_scores(
            frame, {c: model[c] for c in constructs}, settings["predictors"], settings["outcome"]
        )
        frame = frame.join(scores)
    except (AnalysisError, ArithmeticError) as exc:
        info = {"status": STATUS_FAILED, "reason": f"factor scores: {exc}"}
    report["factor_scores"] = info
    return PreparedSample(frame, report)


def _common_scale(items: pd.DataFrame) -> float:
    """One constant for all items (the root mean item variance). Dividing every item by it
    leaves the structural coefficients unchanged but keeps the optimizer near unit scale."""
    scale = math.sqrt(float(items.var(ddof=0).mean()))
    if not scale > 0:
        raise AnalysisError("the items have no variance")
    return scale


def factor_scores(
    frame: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    predictors: Sequence[str],
    outcome: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Skrondal-Laake factor scores from a CFA of the constructs fitted to `frame`.

    Predictors ξ: regression scores (ξ-items x) Σ_xx⁻¹ Λ_x Φ_ξξ with Σ_xx = Λ_x Φ_ξξ Λ_x' + Θ_x,
    from the predictors' items only. Outcome η: Bartlett scores (y-items) Θ_y⁻¹ λ (λ'Θ_y⁻¹λ)⁻¹.
    Items are centred at their sample means; the metric is the marker item's (first loading 1).
    Returns `fscore_<construct>` columns and the CFA's latent standard deviations and fit.
    """
    import numpy as np
    import pandas as pd

    from hazegov.analysis.cfa import fit_cfa

    constructs = list(model)
    items = [item for c in constructs for item in model[c]]
    values = frame[items].astype(float)
    if values.isna().any().any():
        raise AnalysisError("items are missing after the missing-data rule")
    scale = _common_scale(values)
    cfa = fit_cfa(values / scale, model)
    if not cfa.converged:
        raise AnalysisError("the CFA did not converge")
    lam = pd.DataFrame(0.0, index=items, columns=constructs)
    for row in cfa.loadings.itertuples():
        lam.loc[row.item, row.construct] = float(row.estimate)
    theta = cfa.residual_variances.set_index("item")["estimate"].astype(float).reindex(items)
    phi = pd.DataFrame(0.0, index=constructs, columns=constructs)
    for row in cfa.factor_variances.itertuples():
        phi.loc[row.construct, row.construct] = float(row.estimate)
    for row in cfa.factor_covariances.itertuples():
        phi.loc[row.construct_1, row.construct_2] = float(row.covariance)
        phi.loc[row.construct_2, row.construct_1] = float(row.covariance)
    heywood = [i for i in items if not theta[i] > MIN_RESIDUAL_VARIANCE]
    if heywood or not np.all(np.diag(phi.to_numpy()) > 0):
        raise AnalysisError(f"Heywood case in the CFA (items {heywood}); scores undefined")
    centred = (values - values.mean()) / scale

    x_items = [item for c in predictors for item in model[c]]
    lam_x = lam.loc[x_items, list(predictors)].to_numpy()
    phi_x = phi.loc[list(predictors), list(predictors)].to_numpy()
    sigma_x = lam_x @ phi_x @ lam_x.T + np.diag(theta[x_items].to_numpy())
    weights_x = np.linalg.solve(sigma_x, lam_x @ phi_x)
    scores = pd.DataFrame(
        centred[x_items].to_numpy() @ weights_x,
        index=frame.index,
        columns=[FACTOR_SCORE + c for c in predictors],
    )
    y_items = list(model[outcome])
    lam_y = lam.loc[y_items, outcome].to_numpy()
    scaled = lam_y / theta[y_items].to_numpy()
    scores[FACTOR_SCORE + outcome] = centred[y_items].to_numpy() @ (scaled / float(lam_y @ scaled))
    scores *= scale  # back to the items' metric
    fit = cfa.fit
    info = {
        "status": STATUS_OK,
        "method": "Skrondal-Laake: regression scores (predictors), Bartlett scores (outcome)",
        "latent_sd": {c: scale * math.sqrt(float(phi.loc[c, c])) for c in constructs},
        "cfa_fit": {
            "chi2": _finite(fit.chi2),
            "df": int(fit.df),
            "cfi": _finite(fit.cfi),
            "rmsea": _finite(fit.rmsea),
            "srmr": _finite(fit.srmr),
        },
        "warnings": list(cfa.warnings),
    }
    return scores, info


# --------------------------------------------------------------------------------------------
# One specification: the estimator
# --------------------------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _reference(frame: pd.DataFrame, codebook: Codebook, categorical: Sequence[str]) -> dict:
    """Reference levels: the first sector (codebook order) present; others: the lowest level."""
    if "sector" not in categorical:
        return {}
    present = set(frame["sector"].dropna())
    first = next((s.id for s in codebook.sectors if s.id in present), None)
    return {} if first is None else {"sector": first}


def _effect(
    name: str,
    b: float,
    se: float,
    low: float,
    high: float,
    p: float,
    std: float,
) -> dict[str, Any]:
    factor = std / b if b else math.nan
    return {
        "effect": name,
        "estimate": _finite(b),
        "se": _finite(se),
        "ci_low": _finite(low),
        "ci_high": _finite(high),
        "p": _finite(p),
        "std_estimate": _finite(std),
        "std_ci_low": _finite(low * factor),
        "std_ci_high": _finite(high * factor),
    }


# The OLS and ordinal-logit fits below are numpy versions of hazegov.analysis.regression's
# ols_hc3 and ordinal_logit (same design, reference levels, refusals and results; the tests
# check that they agree): importing statsmodels costs about 1.5 s, several times the fit, in
# each of hundreds of jobs.
MIN_RESIDUAL_DF = 5  # as hazegov.analysis.regression
# An ordinal outcome has a handful of answer categories; more levels mean the outcome is not
# on the answer scale (and the thresholds would outnumber what the data can carry).
MAX_ORDINAL_LEVELS = 15


@dataclass(frozen=True)
class _Design:
    y: Any  # np.ndarray of floats
    X: pd.DataFrame  # design columns without the intercept


def build_design(
    frame: pd.DataFrame,
    outcome: str,
    terms: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, Any],
    *,
    what: str,
) -> _Design:
    """The study's regression design (hazegov.analysis.regression.build_design), its outcome
    as a float array for the lean estimators below."""
    from hazegov.analysis.regression import build_design as study_design

    design = study_design(
        frame, outcome, terms, [], categorical, reference, what=what, numeric_outcome=True
    )
    return _Design(design.y.to_numpy(dtype=float), design.X)


def _require_fit(X: Any, n_params: int, *, what: str) -> None:
    """Enough cases and no perfectly collinear columns (X with its intercept)."""
    import numpy as np

    n = X.shape[0]
    if n < n_params + MIN_RESIDUAL_DF:
        raise AnalysisError(
            f"{what}: {n} usable cases, at least {n_params + MIN_RESIDUAL_DF} needed "
            f"({n_params} parameters + {MIN_RESIDUAL_DF} residual degrees of freedom)"
        )
    scaled = X / np.linalg.norm(X, axis=0)
    singular = np.linalg.svd(scaled, compute_uv=False)
    if singular.min() < 1e-10 * singular.max():
        raise AnalysisError(f"{what}: perfectly collinear columns")


def ols_hc3_fit(design: _Design, ci: float, *, what: str = "OLS") -> dict[str, Any]:
    """OLS with HC3 standard errors and t tests on n − k degrees of freedom, as ols_hc3."""
    import numpy as np
    from scipy import special

    X = np.column_stack([np.ones(len(design.y)), design.X.to_numpy(dtype=float)])
    n, k = X.shape
    _require_fit(X, k, what=what)
    q, r = np.linalg.qr(X)
    leverage = (q**2).sum(axis=1)
    if leverage.max() > 1 - 1e-8:
        raise AnalysisError(f"{what}: a case with leverage 1, so HC3 is undefined")
    b = np.linalg.solve(r, q.T @ design.y)
    resid = design.y - X @ b
    r_inv = np.linalg.inv(r)
    bread = r_inv @ r_inv.T
    meat = X.T @ (X * (resid**2 / (1 - leverage) ** 2)[:, None])
    se = np.sqrt(np.diag(bread @ meat @ bread))
    df = n - k
    t = b / se
    crit = float(special.stdtrit(df, 0.5 + ci / 2))
    return {
        "columns": ["const", *design.X.columns],
        "b": b,
        "se": se,
        "p": 2 * special.stdtr(df, -np.abs(t)),
        "ci_low": b - crit * se,
        "ci_high": b + crit * se,
        "n": n,
    }


def _ordinal_loglik(
    theta: Any, X: Any, codes: Any, upper: Any, lower: Any
) -> tuple[float, Any, Any]:
    """The proportional-odds log-likelihood at θ = (b, τ), its gradient and its Hessian."""
    import numpy as np
    from scipy import special

    p = X.shape[1]
    b, tau = theta[:p], theta[p:]
    eta = X @ b
    full = np.concatenate([[-np.inf], tau, [np.inf]])
    a = full[codes + 1] - eta
    c = full[codes] - eta
    fa, fc = special.expit(a), special.expit(c)
    prob = np.clip(fa - fc, 1e-300, None)
    da, dc = fa * (1 - fa), fc * (1 - fc)
    d2a, d2c = da * (1 - 2 * fa), dc * (1 - 2 * fc)
    g = (da - dc) / prob
    grad = np.concatenate(
        [-(X * g[:, None]).sum(axis=0), (upper * (da / prob)[:, None]).sum(axis=0)]
    )
    grad[p:] -= (lower * (dc / prob)[:, None]).sum(axis=0)
    h_bb = (X * ((d2a - d2c) / prob - g**2)[:, None]).T @ X
    w_a = d2a / prob - g * da / prob  # ∂g/∂τ_own
    w_c = -d2c / prob + g * dc / prob  # ∂g/∂τ_below
    h_bt = -(X * w_a[:, None]).T @ upper - (X * w_c[:, None]).T @ lower
    h_tt = (
        (upper * (d2a / prob - (da / prob) ** 2)[:, None]).T @ upper
        + (lower * (-d2c / prob - (dc / prob) ** 2)[:, None]).T @ lower
        + (upper * (da * dc / prob**2)[:, None]).T @ lower
        + (lower * (da * dc / prob**2)[:, None]).T @ upper
    )
    hess = np.block([[h_bb, h_bt], [h_bt.T, h_tt]])
    return float(np.log(prob).sum()), grad, hess


def _newton_ascent(parts: Any, theta: Any, p: int, max_iter: int) -> tuple[Any, float, Any, bool]:
    """Newton-Raphson with step halving, the thresholds (θ[p:]) kept increasing: θ, the
    log-likelihood and Hessian there, and whether it converged."""
    import numpy as np

    loglik, grad, hess = parts(theta)
    converged = False
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            break
        size = 1.0
        while size > 1e-10:
            trial = theta + size * step
            if np.all(np.diff(trial[p:]) > 0):
                new_loglik, new_grad, new_hess = parts(trial)
                if new_loglik >= loglik - 1e-12:
                    break
            size /= 2
        else:
            break
        theta, loglik, grad, hess = trial, new_loglik, new_grad, new_hess
        if np.max(np.abs(size * step)) < 1e-10 or np.max(np.abs(grad)) < 1e-9:
            converged = True
            break
    return theta, loglik, hess, converged


def ordinal_logit_fit(
    design: _Design, ci: float, *, what: str = "ordinal logit", max_iter: int = 100
) -> dict[str, Any]:
    """Proportional-odds model, logit P(y ≤ level_j) = τ_j − x'b, by Newton-Raphson with
    step halving; SEs from the observed information. The parameterisation of
    ordinal_logit (statsmodels OrderedModel): b > 0 means higher outcome levels."""
    import numpy as np
    from scipy import special

    levels = np.unique(design.y)
    codes = np.searchsorted(levels, design.y)
    X = design.X.to_numpy(dtype=float)
    n, p = X.shape
    cuts = len(levels) - 1
    if cuts < 1:
        raise AnalysisError(f"{what}: the outcome is constant")
    if len(levels) > MAX_ORDINAL_LEVELS:
        raise AnalysisError(
            f"{what}: the outcome has {len(levels)} levels, more than the "
            f"{MAX_ORDINAL_LEVELS} an ordinal model here takes"
        )
    _require_fit(np.column_stack([np.ones(n), X]), p + cuts, what=what)
    onehot = np.eye(len(levels))[codes]
    upper = onehot[:, :cuts]  # τ_j enters with +: the case's own level j < J
    lower = onehot[:, 1:]  # τ_{j−1} enters with −: the case's level j > 0

    share = np.cumsum(np.bincount(codes, minlength=len(levels)))[:cuts] / n
    theta = np.concatenate([np.zeros(p), special.logit(share)])

    def parts(theta: Any) -> tuple[float, Any, Any]:
        return _ordinal_loglik(theta, X, codes, upper, lower)

    theta, loglik, hess, converged = _newton_ascent(parts, theta, p, max_iter)
    if not converged:
        raise AnalysisError(f"{what}: the fit did not converge")
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        raise AnalysisError(f"{what}: the information matrix is singular") from None
    variances = np.diag(cov)[:p]
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        raise AnalysisError(f"{what}: the information matrix is singular")
    b, se = theta[:p], np.sqrt(variances)
    crit = float(special.ndtri(0.5 + ci / 2))
    return {
        "columns": list(design.X.columns),
        "b": b,
        "se": se,
        "p": 2 * special.ndtr(-np.abs(b / se)),
        "ci_low": b - crit * se,
        "ci_high": b + crit * se,
        "thresholds": theta[p:],
        "loglik": loglik,
        "n": n,
    }


def _fit_ols(
    frame: pd.DataFrame, report: Mapping[str, Any], codebook: Codebook, s: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int, list[str], str]:
    prefix = SCORE if s["scores"] == "mean" else FACTOR_SCORE
    outcome = prefix + s["outcome"]
    terms = [prefix + p for p in s["predictors"]]
    design = build_design(
        frame,
        outcome,
        [*terms, *s["controls"]],
        s["categorical"],
        _reference(frame, codebook, s["categorical"]),
        what=f"OLS ({outcome})",
    )
    fit = ols_hc3_fit(design, s["ci_level"])
    at = {c: k for k, c in enumerate(fit["columns"])}
    sd_y = float(design.y.std(ddof=1))
    effects = []
    for p, term in zip(s["predictors"], terms, strict=True):
        k = at[term]
        b = float(fit["b"][k])
        if s["scores"] == "mean":
            std = b * float(design.X[term].std(ddof=1)) / sd_y
        else:
            sd = report["factor_scores"]["latent_sd"]
            std = b * sd[p] / sd[s["outcome"]]
        effects.append(
            _effect(p, b, fit["se"][k], fit["ci_low"][k], fit["ci_high"][k], fit["p"][k], std)
        )
    if s["scores"] == "mean":
        scale = "points of the outcome's mean score per point of the predictor's mean score"
    else:
        scale = "outcome factor units per predictor factor unit (marker-item metric)"
    return effects, int(fit["n"]), [], scale


def ordinal_outcome(scores: pd.Series) -> pd.Series:
    """The outcome scale as ordered categories: its item mean rounded to the nearest answer
    category, halves up (2.5 -> 3)."""
    import numpy as np

    return np.floor(scores.astype(float) + 0.5).astype("int64")


def _fit_ordinal(
    frame: pd.DataFrame, report: Mapping[str, Any], codebook: Codebook, s: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int, list[str], str]:
    import numpy as np

    prefix = SCORE if s["scores"] == "mean" else FACTOR_SCORE
    outcome = s["outcome"] + ORDINAL_SUFFIX
    terms = [prefix + p for p in s["predictors"]]
    data = frame.assign(**{outcome: ordinal_outcome(frame[SCORE + s["outcome"]])})
    design = build_design(
        data,
        outcome,
        [*terms, *s["controls"]],
        s["categorical"],
        _reference(frame, codebook, s["categorical"]),
        what=f"ordinal logit ({outcome})",
    )
    fit = ordinal_logit_fit(design, s["ci_level"])
    at = {c: k for k, c in enumerate(fit["columns"])}
    linear = design.X.to_numpy(dtype=float) @ fit["b"]
    sd_latent = math.sqrt(float(np.var(linear, ddof=1)) + math.pi**2 / 3)
    effects = []
    for p, term in zip(s["predictors"], terms, strict=True):
        k = at[term]
        b = float(fit["b"][k])
        std = b * float(design.X[term].std(ddof=1)) / sd_latent
        effects.append(
            _effect(p, b, fit["se"][k], fit["ci_low"][k], fit["ci_high"][k], fit["p"][k], std)
        )
    return effects, int(fit["n"]), [], "log-odds of a higher outcome category"


def _identifier(text: str) -> str:
    return re.sub(r"\W", "_", text)


def _fit_sem(
    frame: pd.DataFrame, report: Mapping[str, Any], codebook: Codebook, s: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int, list[str], str]:
    import pandas as pd
    from scipy import special

    from hazegov.analysis.ml import MLModel
    from hazegov.analysis.sample import measurement_model

    model = measurement_model(codebook)
    constructs = [*s["predictors"], s["outcome"]]
    spec = {c: model[c] for c in constructs}
    items = [item for c in constructs for item in spec[c]]
    data = frame[items].astype(float)
    data = data / _common_scale(data)  # the paths do not depend on a common item scale
    reference = _reference(frame, codebook, s["categorical"])
    controls: dict[str, pd.Series] = {}
    for term in s["controls"]:
        if term in s["categorical"]:
            levels = sorted(frame[term].dropna().unique(), key=str)
            ref = reference.get(term, levels[0] if levels else None)
            for level in levels:
                if level != ref:
                    name = _identifier(f"{term}_{level}")
                    controls[name] = (frame[term] == level).astype(float)
        else:
            controls[_identifier(term)] = frame[term].astype(float)
    flat = [name for name, values in controls.items() if not values.var() > 0]
    if flat:
        raise AnalysisError(f"SEM: control columns are constant: {flat}")
    # z-scored: the latent paths do not depend on the controls' scale, but the optimizer does
    # (with raw codes it can stop at its start values)
    controls = {name: (v - v.mean()) / v.std() for name, v in controls.items()}
    data = pd.concat([data, pd.DataFrame(controls, index=frame.index)], axis=1).dropna()
    structure = MLModel(
        spec,
        [(s["outcome"], term) for term in [*s["predictors"], *controls]],
        # latent predictors and observed controls covary freely (semopy would fix them to 0)
        [(p, c) for p in s["predictors"] for c in controls],
    )
    fit = structure.fit(data, what="SEM")
    if not fit.converged:
        raise AnalysisError(f"SEM: the optimizer did not converge ({fit.message})")
    singular = [w for w in fit.warnings if "information matrix is singular" in w]
    if singular:
        raise AnalysisError(singular[0])
    paths = fit.rows("~").set_index(["lhs", "rhs"])
    if all(paths.loc[(s["outcome"], p), "estimate"] == 0.0 for p in s["predictors"]):
        raise AnalysisError("SEM: the optimizer did not leave its start values")
    z_crit = float(special.ndtri(0.5 + s["ci_level"] / 2))  # as stats.norm.ppf
    effects = []
    for p in s["predictors"]:
        row = paths.loc[(s["outcome"], p)]
        b, se = float(row["estimate"]), float(row["se"])
        effects.append(
            _effect(p, b, se, b - z_crit * se, b + z_crit * se, row["p_value"], row["std_estimate"])
        )
    return effects, len(data), list(fit.warnings), "latent units (marker-item metric)"


_ESTIMATORS = {"ols_hc3": _fit_ols, "ordinal_logit": _fit_ordinal, "sem": _fit_sem}


def estimate_specification(
    frame: pd.DataFrame,
    report: Mapping[str, Any],
    codebook: Codebook,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Fit one specification to its prepared sample: one record with an entry per key effect.

    A specification the data cannot support is returned with status "failed" and the reason.
    """
    import numpy as np

    record: dict[str, Any] = {
        "spec": settings["spec"],
        "sample": settings["sample"],
        "choices": dict(settings["choices"]),
        "estimator": settings["estimator"],
        "scores": settings["scores"],
        "controls": list(settings["controls"]),
        "status": STATUS_OK,
        "reason": "",
        "n": int(report.get("n", len(frame))),
        "scale": "",
        "warnings": [],
    }
    try:
        if settings["scores"] == "factor" and report["factor_scores"]["status"] != STATUS_OK:
            raise AnalysisError(report["factor_scores"]["reason"])
        fitter = _ESTIMATORS[settings["estimator"]]
        effects, n, warnings, scale = fitter(frame, report, codebook, settings)
        record.update(n=n, warnings=warnings, scale=scale, effects=effects)
    except (AnalysisError, np.linalg.LinAlgError) as exc:
        record.update(
            status=STATUS_FAILED,
            reason=str(exc),
            effects=[{"effect": p, **dict.fromkeys(EFFECT_FIELDS)} for p in settings["predictors"]],
        )
    return record


def run_specification(
    responses: pd.DataFrame, codebook: Codebook, spec: Specification, config: Mapping[str, Any]
) -> dict[str, Any]:
    """One specification from the de-identified responses to its record (both steps)."""
    variant = {d: spec.choices[d] for d in SAMPLE_DIMENSIONS}
    prepared = prepare_sample(responses, codebook, sample_settings(config, variant))
    return estimate_specification(
        prepared.frame, prepared.report, codebook, specification_settings(config, spec)
    )


# --------------------------------------------------------------------------------------------
# Gathering and summarising
# --------------------------------------------------------------------------------------------


def gather(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per specification × key effect, in grid order."""
    import pandas as pd

    rows = []
    for record in sorted(records, key=lambda r: r["spec"]):
        for effect in record["effects"]:
            rows.append(
                {
                    "spec": record["spec"],
                    "sample": record["sample"],
                    **{d: record["choices"][d] for d in DIMENSIONS},
                    "status": record["status"],
                    "reason": record["reason"],
                    "n": record["n"],
                    "effect": effect["effect"],
                    **{k: effect[k] for k in EFFECT_FIELDS},
                    "scale": record["scale"],
                }
            )
    frame = pd.DataFrame(rows)
    for column in EFFECT_FIELDS:
        frame[column] = frame[column].astype(float)
    return frame


def _sign(values: Any) -> Any:
    import numpy as np

    return np.sign(np.asarray(values, dtype=float))


def mark_agreement(estimates: pd.DataFrame, preferred: str, alpha: float) -> pd.DataFrame:
    """Add, per row, the reference sign of its effect, `same_sign` and `significant`.

    The reference sign is the preferred specification's; if that failed, the sign of the
    median estimate of the estimated specifications (column `reference`).
    """
    out = estimates.copy()
    ok = out["status"] == STATUS_OK
    signs, references = {}, {}
    for effect, rows in out.groupby("effect", sort=False):
        pref = rows[(rows["spec"] == preferred) & (rows["status"] == STATUS_OK)]
        if len(pref):
            signs[effect], references[effect] = float(_sign(pref["estimate"].iloc[0])), "preferred"
        else:
            estimated = rows.loc[rows["status"] == STATUS_OK, "estimate"]
            median = float(estimated.median()) if len(estimated) else math.nan
            signs[effect], references[effect] = float(_sign(median)), "median"
    out["reference_sign"] = out["effect"].map(signs)
    out["reference"] = out["effect"].map(references)
    out["same_sign"] = ok & (_sign(out["estimate"].fillna(0.0)) == out["reference_sign"])
    out["significant"] = ok & (out["p"].fillna(1.0) < alpha)
    out.loc[~ok, ["same_sign", "significant"]] = False
    out["same_sign"] = out["same_sign"].astype(bool)
    out["significant"] = out["significant"].astype(bool)
    return out


def _shares(rows: pd.DataFrame) -> dict[str, Any]:
    ok = rows[rows["status"] == STATUS_OK]
    n = len(ok)

    def share(mask: Any) -> float | None:
        return float(mask.sum()) / n if n else None

    std = ok["std_estimate"].dropna()
    return {
        "n_specifications": len(rows),
        "n_estimated": n,
        "n_failed": len(rows) - n,
        "share_same_sign": share(ok["same_sign"]),
        "share_same_sign_significant": share(ok["same_sign"] & ok["significant"]),
        "share_opposite_sign_significant": share(~ok["same_sign"] & ok["significant"]),
        "median_std_estimate": _finite(std.median()) if len(std) else None,
        "q25_std_estimate": _finite(std.quantile(0.25)) if len(std) else None,
        "q75_std_estimate": _finite(std.quantile(0.75)) if len(std) else None,
        "min_std_estimate": _finite(std.min()) if len(std) else None,
        "max_std_estimate": _finite(std.max()) if len(std) else None,
    }


def summarise(
    estimates: pd.DataFrame,
    settings: Mapping[str, Any],
    effects: Sequence[str],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Shares of specifications in which each effect keeps the preferred specification's sign
    (and is significant at `alpha`), overall and by the option of each dimension.

    `estimates` must already carry `same_sign` and `significant` (see `mark_agreement`).
    Shares are over the specifications estimated; failed ones are counted separately.
    """
    import pandas as pd

    preferred = preferred_specification(settings).id
    specs = estimates.drop_duplicates("spec")
    failed = specs[specs["status"] != STATUS_OK]
    summary: dict[str, Any] = {
        "alpha": float(settings["alpha"]),
        "ci_level": float(settings["ci_level"]),
        "preferred": preferred,
        "n_specifications": len(specs),
        "n_estimated": int((specs["status"] == STATUS_OK).sum()),
        "n_failed": len(failed),
        "failure_reasons": {
            str(k): int(v) for k, v in failed["reason"].value_counts().sort_index().items()
        },
        "effects": {},
    }
    for effect in effects:
        rows = estimates[estimates["effect"] == effect]
        pref = rows[rows["spec"] == preferred].iloc[0]
        summary["effects"][effect] = {
            "reference": str(rows["reference"].iloc[0]),
            "preferred": {
                "status": str(pref["status"]),
                **{k: _finite(pref[k]) for k in EFFECT_FIELDS},
            },
            **_shares(rows),
        }
    by_option = []
    for dim in DIMENSIONS:
        present = list(dict.fromkeys(estimates[dim]))
        configured = [o["id"] for o in _options(settings, dim)]
        ordered = [o for o in configured if o in present] + [
            o for o in present if o not in configured
        ]
        for option_id in ordered:
            for effect in effects:
                rows = estimates[(estimates[dim] == option_id) & (estimates["effect"] == effect)]
                by_option.append(
                    {
                        "dimension": dim,
                        "dimension_label": str(settings["dimensions"][dim]["label"]),
                        "option": option_id,
                        "option_label": str(option(settings, dim, option_id)["label"]),
                        "effect": effect,
                        **_shares(rows),
                    }
                )
    by_dimension = pd.DataFrame(by_option)
    summary["by_dimension"] = by_dimension.to_dict(orient="records")
    return summary, by_dimension


# --------------------------------------------------------------------------------------------
# The figure, the paper tables and the paper's variables
# --------------------------------------------------------------------------------------------

COLOURS = {"same": "#1f4e79", "ns": "#9e9e9e", "opposite": "#c0504d"}


def _colour(row: Any) -> str:
    if row.significant and row.same_sign:
        return COLOURS["same"]
    if row.significant:
        return COLOURS["opposite"]
    return COLOURS["ns"]


@dataclass(frozen=True)
class _CurveLayout:
    """What every panel of the specification curve shares: its choice rows and β axis."""

    rows_spec: list[tuple[str, str, str]]  # (dimension, option, label), top to bottom
    position: dict[tuple[str, str], int]  # the y of each (dimension, option) row
    preferred: str
    ylim: tuple[float, float] | None  # the common β axis (None: no estimate succeeded)

    @property
    def n_rows(self) -> int:
        return len(self.rows_spec)


def specification_curve(
    estimates: pd.DataFrame,
    settings: Mapping[str, Any],
    effects: Mapping[str, str],
    path: str | Path,
    *,
    synthetic: bool,
) -> None:
    """Per key effect: standardized estimates sorted, with CIs (top), and the choices of each
    specification (bottom), in a two-column grid with a common β axis. Failed specifications
    are left out and counted in the panel title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazegov.survey.describe import SYNTHETIC_MARK, TEXT_WIDTH_IN, save_png

    rows_spec = _choice_rows(estimates, settings)
    n_rows = len(rows_spec)
    ncols = 2 if len(effects) > 1 else 1
    nblocks = math.ceil(len(effects) / ncols)
    top_h, bottom_h, gap_h = 1.6, 0.13 * n_rows + 0.1, 0.8
    ratios: list[float] = []
    for block in range(nblocks):
        ratios += [top_h, bottom_h] + ([gap_h] if block < nblocks - 1 else [])
    height = sum(ratios) + 1.55
    width, labels_w = TEXT_WIDTH_IN, 2.1  # the option labels take the left 2.1 inches
    fig = plt.figure(figsize=(width, height), dpi=150)
    grid = fig.add_gridspec(
        len(ratios),
        ncols,
        height_ratios=ratios,
        hspace=0.08,
        wspace=0.08,
        left=labels_w / width,
        right=0.99,
        top=1 - 0.85 / height,
        bottom=0.7 / height,
    )
    ok = estimates[estimates["status"] == STATUS_OK]
    low, high = ok["std_ci_low"].min(), ok["std_ci_high"].max()
    pad = 0.05 * (high - low) if len(ok) and high > low else 0.1
    preferred = preferred_specification(settings).id
    position = {(d, o): n_rows - 1 - i for i, (d, o, _) in enumerate(rows_spec)}
    ylim = (low - pad, high + pad) if len(ok) else None
    layout = _CurveLayout(rows_spec, position, preferred, ylim)
    for k, (effect, label) in enumerate(effects.items()):
        block, col = divmod(k, ncols)
        top = fig.add_subplot(grid[3 * block, col])
        bottom = fig.add_subplot(grid[3 * block + 1, col], sharex=top)
        n_failed = int(((estimates["effect"] == effect) & (estimates["status"] != STATUS_OK)).sum())
        title = f"{effect}: {label}" + (f" ({n_failed} failed)" if n_failed else "")
        rows = ok[ok["effect"] == effect]
        _curve_panels(top, bottom, rows, layout, title, col == 0, block == nblocks - 1)
    _curve_legend(fig)
    if synthetic:
        fig.text(0.01, 0.005, SYNTHETIC_MARK, ha="left", va="bottom", fontsize=7, color="#b00020")
    save_png(fig, path)


def _choice_rows(
    estimates: pd.DataFrame, settings: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """The bottom panel's rows: each option of each dimension that some specification used."""
    rows_spec: list[tuple[str, str, str]] = []  # (dimension, option, label)
    for dim in DIMENSIONS:
        present = set(estimates[dim])
        ids = [o["id"] for o in _options(settings, dim)]
        ids += [LATENT] if dim == "scores" and LATENT in present else []
        for option_id in ids:
            if option_id in present:
                label = f"{settings['dimensions'][dim]['label']}: "
                rows_spec.append(
                    (dim, option_id, label + str(option(settings, dim, option_id)["label"]))
                )
    return rows_spec


def _curve_panels(
    top: Any,
    bottom: Any,
    rows: pd.DataFrame,
    layout: _CurveLayout,
    title: str,
    first_col: bool,
    last_block: bool,
) -> None:
    """One effect's panels: sorted estimates with CIs (top), each one's choices (bottom)."""
    import numpy as np

    rows_spec, n_rows = layout.rows_spec, layout.n_rows
    rows = rows.sort_values(["std_estimate", "spec"], kind="stable").reset_index(drop=True)
    x = np.arange(len(rows))
    colours = [_colour(r) for r in rows.itertuples()]
    top.vlines(x, rows["std_ci_low"], rows["std_ci_high"], colors=colours, alpha=0.3, lw=0.5)
    top.scatter(x, rows["std_estimate"], c=colours, s=2.5, lw=0, zorder=3)
    top.axhline(0, color="#555555", lw=0.6, ls="--")
    if layout.ylim is not None:
        top.set_ylim(*layout.ylim)
    for position_x in np.flatnonzero(rows["spec"].to_numpy() == layout.preferred):
        for ax in (top, bottom):
            ax.axvline(position_x, color="#000000", lw=0.7, ls=":", zorder=4)
    top.set_title(textwrap.fill(title, 36), fontsize=7, loc="left")
    top.tick_params(labelsize=6.5, labelbottom=False)
    if first_col:
        top.set_ylabel("Standardized β (CI)", fontsize=7)
    else:
        top.tick_params(labelleft=False)
    for i in range(1, n_rows):
        if rows_spec[i - 1][0] != rows_spec[i][0]:
            bottom.axhline(n_rows - i - 0.5, color="#cccccc", lw=0.5)
    for dim in DIMENSIONS:
        y = [layout.position[(dim, o)] for o in rows[dim]]
        bottom.scatter(x, y, c=colours, marker="|", s=7, lw=0.5)
    bottom.set_ylim(-0.6, n_rows - 0.4)
    bottom.set_yticks([layout.position[(d, o)] for d, o, _ in rows_spec])
    bottom.set_yticklabels([lab for _, _, lab in rows_spec] if first_col else [], fontsize=6.5)
    bottom.tick_params(axis="y", length=0)
    bottom.tick_params(axis="x", labelsize=6.5)
    bottom.set_xlim(-1, max(len(rows), 1))
    if last_block:
        bottom.set_xlabel("Specifications, sorted by the estimate", fontsize=7)


def _curve_legend(fig: Any) -> None:
    """The legend of the colours (sign and significance) and of the preferred specification."""
    from matplotlib.lines import Line2D

    marker = {"marker": "o", "ls": "", "ms": 3}
    legend = [
        Line2D([], [], color=COLOURS["same"], label="Same sign, significant", **marker),
        Line2D([], [], color=COLOURS["ns"], label="Not significant", **marker),
        Line2D([], [], color=COLOURS["opposite"], label="Opposite sign, significant", **marker),
        Line2D([], [], color="#000000", ls=":", lw=0.8, label="Preferred specification"),
    ]
    fig.legend(
        handles=legend,
        loc="upper right",
        ncol=2,
        fontsize=6.5,
        frameon=False,
        bbox_to_anchor=(0.99, 1.0),
    )


def _ci(low: float | None, high: float | None) -> str:
    return f"[{num(low, missing=MISSING)}, {num(high, missing=MISSING)}]"


def _alpha_text(alpha: float) -> str:
    return f"{alpha:.3f}".rstrip("0").lstrip("0") if alpha < 1 else str(alpha)


def effects_table(summary: Mapping[str, Any], labels: Mapping[str, str], synthetic: bool) -> str:
    """The paper's summary table: one row per key effect."""
    import pandas as pd

    from hazegov.paper.tables import Column, pipe_table

    alpha = _alpha_text(summary["alpha"])
    level = f"{100 * summary['ci_level']:.0f}%"
    rows = []
    for effect, label in labels.items():
        e = summary["effects"][effect]
        pref = e["preferred"]
        preferred = _ci(pref["std_ci_low"], pref["std_ci_high"])
        iqr = _ci(e["q25_std_estimate"], e["q75_std_estimate"])
        rows.append(
            {
                "effect": f"{effect}: {label}",
                "preferred": f"{num(pref['std_estimate'], missing=MISSING)} {preferred}",
                "median": f"{num(e['median_std_estimate'], missing=MISSING)} {iqr}",
                "range": (
                    f"{num(e['min_std_estimate'], missing=MISSING)} to "
                    f"{num(e['max_std_estimate'], missing=MISSING)}"
                ),
                "same": pct(e["share_same_sign"], missing=MISSING),
                "same_sig": pct(e["share_same_sign_significant"], missing=MISSING),
                "opposite_sig": pct(e["share_opposite_sign_significant"], missing=MISSING),
            }
        )
    columns = [
        Column("effect", "Effect on perceived effectiveness", align="left"),
        Column("preferred", f"β, preferred [{level} CI]"),
        Column("median", "Median β [IQR]"),
        Column("range", "Range of β"),
        Column("same", "Same sign (%)"),
        Column("same_sig", f"Same sign, p < {alpha} (%)"),
        Column("opposite_sig", f"Opposite sign, p < {alpha} (%)"),
    ]
    failed = summary["n_failed"]
    note = (
        f"{summary['n_specifications']} specifications; percentages are of the "
        f"{summary['n_estimated']} that could be estimated"
        + (f" ({failed} could not)" if failed else "")
        + ". Signs are compared with the preferred specification (the study's own choices). "
        "β is standardized: fully for OLS on mean scores, with the latent standard deviations "
        "for OLS on factor scores, on the latent response scale for the ordinal logit "
        "(Long 1997) and completely (std.all) for the SEM; significance is that of the "
        "unstandardized coefficient. IQR: interquartile range of β across the specifications."
    )
    return pipe_table(
        pd.DataFrame(rows),
        columns,
        caption="The key effects across the specifications of the multiverse",
        label="tbl-multiverse",
        synthetic=synthetic,
        note=note,
    )


def options_table(
    by_dimension: pd.DataFrame, effects: Sequence[str], alpha: float, synthetic: bool
) -> str:
    """Per option of each dimension: the share of its specifications in which each effect
    keeps its sign and is significant."""
    import pandas as pd

    from hazegov.paper.tables import Column, pipe_table

    rows = []
    for (dim_label, option_label), block in by_dimension.groupby(
        ["dimension_label", "option_label"], sort=False
    ):
        shares = block.set_index("effect")
        row = {
            "choice": f"{dim_label}: {option_label}",
            "specs": int(shares["n_specifications"].iloc[0]),
        }
        for effect in effects:
            row[effect] = pct(shares.loc[effect, "share_same_sign_significant"], missing=MISSING)
        rows.append(row)
    columns = [
        Column("choice", "Choice", align="left"),
        Column("specs", "Specifications"),
        *[Column(effect, effect) for effect in effects],
    ]
    note = (
        f"Percent of the estimated specifications with the option in which the effect keeps "
        f"the preferred specification's sign with p < {_alpha_text(alpha)}. SEM estimates the "
        "constructs as latent variables, so its specifications take no score option."
    )
    return pipe_table(
        pd.DataFrame(rows),
        columns,
        caption="Share of specifications keeping each key effect's sign and significance, by "
        "analytic choice",
        label="tbl-multiverse-by-choice",
        synthetic=synthetic,
        note=note,
    )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _join(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def multiverse_variables(
    summary: Mapping[str, Any],
    by_dimension: pd.DataFrame,
    labels: Mapping[str, str],
    n_samples: int,
) -> dict[str, Any]:
    """The numbers the robustness section quotes (percentages as text with one decimal)."""
    import numpy as np

    out: dict[str, Any] = {
        "n_specifications": summary["n_specifications"],
        "n_estimated": summary["n_estimated"],
        "n_dimensions": len(DIMENSIONS),
        "n_samples": n_samples,
        "alpha": _alpha_text(summary["alpha"]),
        "ci_level_pct": f"{100 * summary['ci_level']:.0f}",
    }
    if summary["n_failed"]:
        reasons = "; ".join(
            f"{count}: {reason}" for reason, count in summary["failure_reasons"].items()
        )
        out["failed_text"] = f"{summary['n_failed']} could not be estimated ({reasons})"
    else:
        out["failed_text"] = "every one of them could be estimated"
    varied = [
        d
        for d in DIMENSIONS
        if by_dimension.loc[by_dimension["dimension"] == d, "option"].nunique() > 1
    ]
    effects: dict[str, Any] = {}
    for effect, label in labels.items():
        e = summary["effects"][effect]
        pref = e["preferred"]
        # the option (of a choice that varies) under which the effect holds least often;
        # ties go to the earlier dimension and option
        rows = by_dimension[
            (by_dimension["effect"] == effect)
            & by_dimension["dimension"].isin(varied)
            & by_dimension["share_same_sign_significant"].notna()
        ]
        shares = rows["share_same_sign_significant"].to_numpy(dtype=float)
        if not len(rows):
            weakest_text = "no choice varies"
        elif np.allclose(shares, shares[0]):
            weakest_text = "no option of any choice changes that share"
        else:
            weakest = rows.iloc[int(np.argmin(shares))]
            weakest_text = (
                f"the share is lowest with {_lower_first(weakest['dimension_label'])}: "
                f"{weakest['option_label']} "
                f"({pct(weakest['share_same_sign_significant'], missing=MISSING)} "
                "percent)"
            )
        effects[effect] = {
            "label": label,
            "preferred_beta": num(pref["std_estimate"], missing=MISSING),
            "preferred_ci": _ci(pref["std_ci_low"], pref["std_ci_high"]),
            "median_beta": num(e["median_std_estimate"], missing=MISSING),
            "min_beta": num(e["min_std_estimate"], missing=MISSING),
            "max_beta": num(e["max_std_estimate"], missing=MISSING),
            "share_same_sign": pct(e["share_same_sign"], missing=MISSING),
            "share_same_sign_significant": pct(e["share_same_sign_significant"], missing=MISSING),
            "weakest_text": weakest_text,
        }
    out["effects"] = effects
    shares = {e: summary["effects"][e]["share_same_sign_significant"] or 0.0 for e in labels}
    for key, target in (
        ("most_robust", max(shares.values())),
        ("least_robust", min(shares.values())),
    ):
        tied = [f"{e} ({labels[e]})" for e in labels if shares[e] == target]
        out[key] = {"label": _join(tied), "share": pct(target, missing=MISSING)}
    return out


# --------------------------------------------------------------------------------------------
# Files in, files out: what the workflow scripts call
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def job_groups(settings: Mapping[str, Any], jobs: int) -> dict[str, list[str]]:
    """The sample variants split into ``jobs`` contiguous groups ("g1", "g2", ...), one job each.

    Each job prepares its variants and fits all their specifications in one process: a
    specification takes milliseconds, a process start more than a second.
    """
    variants = [v.id for v in sample_variants(settings)]
    jobs = max(1, min(int(jobs), len(variants)))
    size = -(-len(variants) // jobs)
    blocks = [variants[i : i + size] for i in range(0, len(variants), size)]
    return {f"g{k}": block for k, block in enumerate(blocks, start=1)}


def group_settings(config: Mapping[str, Any], variant_ids: Sequence[str]) -> list[dict[str, Any]]:
    """What one group job depends on: each of its variants' settings and its specifications'."""
    settings = config["multiverse"]
    variants = {v.id: v for v in sample_variants(settings)}
    specs = specification_grid(settings)
    # Keys in a fixed order: Snakemake compares params as written, and a config file given
    # with --configfile reorders the keys it overrides without changing any value.
    return json.loads(
        json.dumps(_group_settings(config, variant_ids, variants, specs), sort_keys=True)
    )


def _group_settings(
    config: Mapping[str, Any],
    variant_ids: Sequence[str],
    variants: Mapping[str, SampleVariant],
    specs: Sequence[Specification],
) -> list[dict[str, Any]]:
    return [
        {
            "sample": vid,
            "settings": sample_settings(config, variants[vid].choices),
            "specifications": [
                specification_settings(config, spec) for spec in specs if spec.sample == vid
            ],
        }
        for vid in variant_ids
    ]


def run_multiverse_group(
    responses: str | Path,
    codebook: str | Path,
    variants: Sequence[Mapping[str, Any]],
    group_out: str | Path,
    cache_dir: str | Path,
    *,
    min_cell_count: int = 5,
) -> None:
    """One job of the multiverse: some sample variants and every specification fitted to them.

    Each variant and specification is reused from ``cache_dir`` when its settings, the inputs and
    the code are those of an earlier run (:class:`hazegov.robustness.result_cache.ResultCache`), so
    a changed choice recomputes only the variants and specifications it touches. The group file
    gives each variant's sample sizes and exclusion counts, and each specification's n, rounded to a
    multiple of `min_cell_count` (`disclosure.rounded_counts`): two variants differ by one exclusion
    rule, so exact sizes would tell how many respondents it removed.
    """
    import logging

    import pandas as pd

    from hazegov.io import read_provenance, source_label, write_json
    from hazegov.privacy.disclosure import rounded_counts
    from hazegov.robustness.result_cache import ResultCache
    from hazegov.survey.codebook import load_codebook

    log = logging.getLogger("hazegov")
    provenance = read_provenance(responses)
    source = source_label(provenance)
    inputs = [responses, codebook]
    # one file per group and kind (the group's name is the shard's)
    shard = Path(group_out).stem
    sample_cache = ResultCache(cache_dir, inputs, "multiverse-sample", shard)
    spec_cache = ResultCache(cache_dir, inputs, "multiverse-specification", shard)
    frame: pd.DataFrame | None = None
    cb = load_codebook(codebook)
    samples: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    prepared_count = 0
    for variant in variants:
        sample_key = sample_cache.key(variant["settings"])
        report = sample_cache.get(sample_key)
        spec_keys = [
            spec_cache.key({**s, "sample_key": sample_key}) for s in variant["specifications"]
        ]
        cached = [spec_cache.get(k) for k in spec_keys]
        prepared = None
        if report is None or any(r is None for r in cached):
            if frame is None:
                frame = pd.read_parquet(responses)
            prepared = prepare_sample(frame, cb, variant["settings"])
            prepared_count += 1
            report = sample_cache.put(
                sample_key,
                _plain(
                    {
                        **prepared.report,
                        "settings": dict(variant["settings"]),
                        "data_source": source,
                    }
                ),
            )
        samples[variant["sample"]] = report
        for key, spec, record in zip(spec_keys, variant["specifications"], cached, strict=True):
            if record is None:
                assert prepared is not None
                record = estimate_specification(prepared.frame, report, cb, spec)
                record["data_source"] = source
                if record["status"] != STATUS_OK:
                    log.warning("specification %s failed: %s", record["spec"], record["reason"])
                record = spec_cache.put(key, _plain(record))
            records.append(record)
        log.info(
            "sample variant %s: %d respondents, %d specifications",
            variant["sample"],
            report["n"],
            len(variant["specifications"]),
        )
    log.info(
        "multiverse group: %d variants prepared, %d specifications fitted, %d reused",
        prepared_count,
        spec_cache.misses,
        spec_cache.hits,
    )
    sample_cache.save()
    spec_cache.save()
    published = {"samples": samples, "records": records}
    write_json(_plain(rounded_counts(published, min_cell_count)), group_out)


def run_multiverse_summary(
    records: Sequence[str | Path],
    codebook: str | Path,
    config: Mapping[str, Any],
    *,
    estimates_out: str | Path,
    specifications_out: str | Path,
    summary_out: str | Path,
    by_dimension_out: str | Path,
    variables_out: str | Path,
    table_out: str | Path,
    options_table_out: str | Path,
    figure_out: str | Path,
    min_cell_count: int,
) -> None:
    """Gather every specification's record into one table; summary, paper table and figure.

    `config` holds the `multiverse` block and `analysis.regression` (for the key effects).
    """
    import pandas as pd

    from hazegov.io import data_label, read_json, write_csv, write_json, write_text
    from hazegov.paper.variables import write_variables
    from hazegov.privacy.disclosure import suppress_columns
    from hazegov.survey.codebook import load_codebook

    settings = config["multiverse"]
    regression = config["analysis"]["regression"]
    cb = load_codebook(codebook)
    loaded = [record for path in records for record in read_json(path)["records"]]
    expected = [spec.id for spec in specification_grid(settings)]
    found = sorted(r["spec"] for r in loaded)
    if found != expected:
        missing = sorted(set(expected) - set(found))[:5]
        extra = sorted(set(found) - set(expected))[:5]
        raise ValueError(
            f"multiverse: the records do not match the grid (missing {missing}, extra {extra})"
        )
    synthetic = any(r.get("data_source") == "synthetic" for r in loaded)
    effects = list(regression["predictors"])
    labels = {e: cb.construct(e).en for e in effects}
    preferred = preferred_specification(settings).id
    estimates = mark_agreement(gather(loaded), preferred, float(settings["alpha"]))
    summary, by_dimension = summarise(estimates, settings, effects)
    summary["data_source"] = data_label(synthetic)
    summary["outcome"] = regression["outcome"]
    write_csv(suppress_columns(estimates, ["n"], min_cell_count), estimates_out)
    write_csv(pd.DataFrame(grid_table(settings)), specifications_out)
    write_csv(by_dimension, by_dimension_out)
    write_json(_plain(dict(summary)), summary_out)
    lower = {e: label[0].lower() + label[1:] for e, label in labels.items()}
    write_variables(
        {
            "multiverse": multiverse_variables(
                summary, by_dimension, lower, len(sample_variants(settings))
            )
        },
        variables_out,
        rule="multiverse_summary",
    )
    write_text(table_out, effects_table(summary, labels, synthetic))
    write_text(options_table_out, options_table(by_dimension, effects, summary["alpha"], synthetic))
    specification_curve(estimates, settings, labels, figure_out, synthetic=synthetic)
