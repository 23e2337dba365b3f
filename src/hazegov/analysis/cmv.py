"""Common method variance: Harman's single-factor test and a common latent (method) factor.

All items come from one questionnaire answered in one sitting, so shared method variance could
inflate the construct correlations. Both checks are the ones reviewers usually ask for; neither
proves its absence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hazegov.analysis._common import AnalysisError, MeasurementModel
from hazegov.analysis.cfa import (
    MAX_ITER,
    CFAResult,
    FitIndices,
    cfa_result_from_fit,
    checked_model,
    chi2_difference,
    complete_items,
    fit_semopy,
    measurement_description,
    model_items,
    records,
)

METHOD_FACTOR = "METHOD"
HARMAN_THRESHOLD = 0.5


def harman_single_factor(frame: pd.DataFrame, items: Sequence[str]) -> dict[str, Any]:
    """Share of total variance on the first unrotated principal component of all items.

    The classic test (Podsakoff et al. 2003) takes the unrotated principal components of the
    item correlation matrix; the first component's share is its eigenvalue / number of items.
    A share above 50% flags a dominant general (possibly method) factor.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        Every item of the questionnaire's scales.

    Returns
    -------
    dict
        ``method``, ``n``, ``n_items``, ``first_eigenvalue``, ``first_component_share``,
        ``threshold`` (0.5), ``exceeds_threshold`` and ``warnings``.

    Raises
    ------
    AnalysisError
        As the CFA's input checks (too few cases, zero variance, not positive definite).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> test = harman_single_factor(hs, [f"x{k}" for k in range(1, 10)])
    >>> round(test["first_component_share"], 3), test["exceeds_threshold"]
    (0.357, False)
    """
    what = "Harman single-factor test"
    items = list(items)
    if len(items) < 2:
        raise AnalysisError(f"{what}: needs at least 2 items")
    sink: list[str] = []
    data = complete_items(frame, items, what=what, sink=sink)
    corr = np.corrcoef(data.to_numpy().T)
    eigenvalues = np.sort(np.linalg.eigvalsh(corr))[::-1]
    share = float(eigenvalues[0] / len(items))
    return {
        "method": "unrotated principal components of the item correlation matrix",
        "n": len(data),
        "n_items": len(items),
        "first_eigenvalue": float(eigenvalues[0]),
        "first_component_share": share,
        "threshold": HARMAN_THRESHOLD,
        "exceeds_threshold": share > HARMAN_THRESHOLD,
        "warnings": sink,
    }


@dataclass
class CommonLatentFactorResult:
    """The trait CFA against the same CFA plus an equal-loading method factor on every item."""

    trait_model: CFAResult
    method_fit: FitIndices
    method_converged: bool
    delta_chi2: float
    delta_df: int
    p_value: float
    method_loading: float
    method_loading_se: float
    method_variance_share: float
    item_method_loadings: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def comparison(self) -> pd.DataFrame:
        rows = []
        for name, fit in (("traits", self.trait_model.fit), ("traits_and_method", self.method_fit)):
            rows.append(
                {
                    "model": name,
                    "chi2": fit.chi2,
                    "df": fit.df,
                    "cfi": fit.cfi,
                    "tli": fit.tli,
                    "rmsea": fit.rmsea,
                    "srmr": fit.srmr,
                }
            )
        out = pd.DataFrame(rows)
        out["delta_chi2"] = [math.nan, self.delta_chi2]
        out["delta_df"] = [math.nan, float(self.delta_df)]
        out["p_value_difference"] = [math.nan, self.p_value]
        return out

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {
            "comparison": self.comparison(),
            "method_loadings": self.item_method_loadings,
            "warnings": pd.DataFrame({"warning": self.warnings}, dtype=object),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "comparison": records(self.comparison()),
            "method_loading": self.method_loading,
            "method_loading_se": self.method_loading_se,
            "method_variance_share": self.method_variance_share,
            "method_loadings": records(self.item_method_loadings),
            "warnings": list(self.warnings),
        }


def method_factor_description(spec: dict[str, tuple[str, ...]], name: str = METHOD_FACTOR) -> str:
    """Traits + a method factor loading equally on every item, orthogonal to the traits.

    Written as loadings fixed to 1 with the method variance free: the same model as one shared
    free loading λ with the variance fixed to 1 (variance = λ²). (semopy 2.3.11 loops forever
    on a factor whose loadings are all labelled and none fixed, so the labelled form is out.)
    """
    items = model_items(spec)
    lines = [measurement_description(spec)]
    lines.append(f"{name} =~ " + " + ".join(f"1*{item}" for item in items))
    lines.append(f"{name} ~~ {name}")
    lines.extend(f"{name} ~~ 0*{construct}" for construct in spec)
    return "\n".join(lines)


def common_latent_factor(
    frame: pd.DataFrame, model: MeasurementModel, *, max_iter: int = MAX_ITER
) -> CommonLatentFactorResult:
    """Unmeasured latent method construct: Δχ² of the CFA against CFA + method factor.

    Constrained: every item loads on the method factor with one common (equal, unstandardized)
    loading, and the method factor is uncorrelated with every trait; so Δdf = 1. It is fitted as
    loadings fixed to 1 with a free method variance (common loading = √variance). Under the null
    the variance sits on its bound 0, where the χ²(1) p-value is conservative.
    `method_variance_share` is the mean squared standardized method loading.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns (the trait model).
    max_iter : int, default MAX_ITER
        The optimizer's iteration limit.

    Returns
    -------
    CommonLatentFactorResult
        The trait CFA, the fit of the model with the method factor, ``delta_chi2``,
        ``delta_df``, ``p_value``, the common ``method_loading`` with its SE, the
        ``method_variance_share``, the standardized method loading of each item and
        ``warnings``.

    Raises
    ------
    AnalysisError
        As `fit_cfa`.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...          "speed": ["x7", "x8", "x9"]}
    >>> result = common_latent_factor(hs, model)
    >>> result.delta_df, result.p_value < 0.001
    (1, True)
    """
    what = "common latent factor"
    spec = checked_model(model, what=what)
    if METHOD_FACTOR in spec:
        raise AnalysisError(f"{what}: a construct is already called {METHOD_FACTOR}")
    sink: list[str] = []
    data = complete_items(frame, model_items(spec), what=what, sink=sink)
    trait_fit = fit_semopy(
        measurement_description(spec), data, what=f"{what} (traits)", max_iter=max_iter
    )
    traits = cfa_result_from_fit(spec, trait_fit, pre_warnings=sink)
    method_fit = fit_semopy(
        method_factor_description(spec), data, what=f"{what} (with method)", max_iter=max_iter
    )
    method_indices = method_fit.fit_indices()
    test = chi2_difference(traits.fit, method_indices)
    params = method_fit.parameters
    variance = params[
        (params["op"] == "~~") & (params["lhs"] == METHOD_FACTOR) & (params["rhs"] == METHOD_FACTOR)
    ].iloc[0]
    method_warnings = []
    for message in method_fit.warnings:
        if "Heywood" in message and f"variance of {METHOD_FACTOR} " in message:
            # A method variance on its bound of 0 is the null result here, not an improper one.
            message = (
                f"{what}: the method factor's variance is estimated at its lower bound of 0 "
                "(no common method variance in this model)"
            )
        method_warnings.append(message)
    loads = params[(params["op"] == "=~") & (params["lhs"] == METHOD_FACTOR)]
    loads = loads.rename(columns={"rhs": "item"})[["item", "std_estimate", "std_se"]]
    loads = loads.set_index("item").loc[model_items(spec)].reset_index()
    loading = math.sqrt(max(float(variance["estimate"]), 0.0))
    # delta method: d sqrt(v)/dv = 1 / (2 sqrt(v))
    loading_se = float(variance["se"]) / (2 * loading) if loading > 0 else math.nan
    return CommonLatentFactorResult(
        trait_model=traits,
        method_fit=method_indices,
        method_converged=method_fit.converged,
        delta_chi2=test["delta_chi2"],
        delta_df=int(test["delta_df"]),
        p_value=test["p_value"],
        method_loading=loading,
        method_loading_se=loading_se,
        method_variance_share=float(np.mean(loads["std_estimate"].to_numpy() ** 2)),
        item_method_loadings=loads,
        warnings=[*traits.warnings, *method_warnings],
    )
