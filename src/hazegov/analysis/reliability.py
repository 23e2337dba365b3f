"""Internal consistency of the construct scales: Cronbach's alpha, McDonald's omega, item analysis.

Alpha is reported because readers expect it; omega total is reported beside it because alpha
assumes equal loadings (tau-equivalence), which Likert scales rarely meet, and then understates
reliability. Item analysis shows which item drags a scale down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pingouin
from scipy import stats

from hazegov.analysis._common import (
    AnalysisError,
    MeasurementModel,
    numeric_items,
    require_cases,
    require_positive_definite,
    require_variance,
)
from hazegov.analysis.factorability import (
    HEYWOOD_COMMUNALITY,
    UNIQUENESS_LOWER_BOUND,
    fit_factor_analyzer,
)

MissingRule = Literal["pairwise", "listwise"]
OmegaMethod = Literal["ml", "minres"]

MIN_ITEMS_ALPHA = 2
MIN_ITEMS_OMEGA = 3  # a one-factor model is not identified with fewer items
MIN_CASES_ALPHA = 2  # covariances need two answers


def _distinct_items(items: Sequence[str], *, what: str) -> list[str]:
    items = list(items)
    doubled = sorted({i for i in items if items.count(i) > 1})
    if doubled:
        raise AnalysisError(f"{what}: items listed more than once: {doubled}")
    return items


def _answered_rows(frame: pd.DataFrame, items: Sequence[str], *, what: str) -> pd.DataFrame:
    """The scale's items as floats, without respondents who answered none of them."""
    data = numeric_items(frame, _distinct_items(items, what=what), what=what)
    return data.dropna(how="all")


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha with its Feldt confidence interval."""

    alpha: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    n: int  # respondents who answered at least one item: the n of the Feldt interval
    n_complete: int  # respondents who answered every item
    k: int
    missing: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["warnings"] = "; ".join(self.warnings)
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def cronbach_alpha(
    frame: pd.DataFrame,
    items: Sequence[str],
    *,
    missing: MissingRule = "pairwise",
    ci: float = 0.95,
) -> AlphaResult:
    """Cronbach's alpha (pingouin) with an unrounded Feldt (1987) F-based confidence interval.

    ``missing="pairwise"`` uses every available pair for each covariance (psych::alpha's default);
    ``"listwise"`` keeps respondents who answered every item. As in psych::alpha and pingouin,
    the interval's n is the number of respondents (who answered at least one item) under both
    rules, so the listwise interval is the one those packages print (pingouin rounds it to three
    decimals, hence the interval is computed here). Needs >= 2 items with variance and >= 2 cases.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        The scale's item columns (reverse-worded items already reversed).
    missing : {"pairwise", "listwise"}, default "pairwise"
        How missing answers enter the item covariances (see above).
    ci : float, default 0.95
        The confidence level of the Feldt interval.

    Returns
    -------
    AlphaResult
        ``alpha``, ``ci_lower``, ``ci_upper``, ``ci_level``, ``n``, ``n_complete``, ``k``,
        ``missing`` and ``warnings``.

    Raises
    ------
    AnalysisError
        On fewer than 2 items or cases, items listed twice, or a zero-variance item.

    Examples
    --------
    >>> import pingouin as pg
    >>> answers = pg.read_dataset("cronbach_wide_missing")
    >>> result = cronbach_alpha(answers, list(answers.columns))
    >>> round(result.alpha, 3), round(result.ci_lower, 3), round(result.ci_upper, 3)
    (0.733, 0.435, 0.909)
    """
    what = "Cronbach's alpha"
    if missing not in ("pairwise", "listwise"):
        raise AnalysisError(f"{what}: missing must be 'pairwise' or 'listwise', not {missing!r}")
    if not 0 < ci < 1:
        raise AnalysisError(f"{what}: ci must be between 0 and 1, not {ci}")
    k = len(list(items))
    if k < MIN_ITEMS_ALPHA:
        raise AnalysisError(f"{what}: needs at least {MIN_ITEMS_ALPHA} items, got {k}")
    data = _answered_rows(frame, items, what=what)
    n = len(data)
    complete = data.dropna()
    used = complete if missing == "listwise" else data
    require_cases(len(used), MIN_CASES_ALPHA, what=f"{what} ({missing})")
    require_variance(used, what=what)
    covariance = used.cov()
    if covariance.isna().to_numpy().any():
        pairs = [
            (a, b)
            for i, a in enumerate(covariance.columns)
            for b in covariance.columns[i + 1 :]
            if np.isnan(covariance.loc[a, b])
        ]
        raise AnalysisError(f"{what}: fewer than 2 joint answers for item pairs {pairs}")
    alpha, _rounded_ci = pingouin.cronbach_alpha(data=used, nan_policy=missing)
    alpha = float(alpha)
    df1 = n - 1
    df2 = df1 * (k - 1)
    tail = (1 - ci) / 2
    lower = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    upper = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    notes = []
    if alpha < 0:
        notes.append(
            "alpha is negative: the items covary negatively on average "
            "(reverse-keyed items not recoded?)"
        )
    return AlphaResult(
        alpha=alpha,
        ci_lower=float(lower),
        ci_upper=float(upper),
        ci_level=ci,
        n=n,
        n_complete=len(complete),
        k=k,
        missing=missing,
        warnings=notes,
    )


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega total from a one-factor model, with the standardized solution."""

    omega_total: float
    method: str  # "ml_one_factor" or "minres_one_factor"
    n: int  # complete cases the factor model was fitted on
    k: int
    loadings: pd.Series  # standardized loadings
    uniquenesses: pd.Series  # 1 - loading²
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: its standardized loading and uniqueness, with the scale's omega."""
        out = pd.DataFrame(
            {
                "item": self.loadings.index,
                "loading": self.loadings.to_numpy(),
                "uniqueness": self.uniquenesses.to_numpy(),
            }
        )
        out["omega_total"] = self.omega_total
        out["method"] = self.method
        out["n"] = self.n
        out["warnings"] = "; ".join(self.warnings)
        return out


def mcdonald_omega(
    frame: pd.DataFrame, items: Sequence[str], *, method: OmegaMethod = "ml"
) -> OmegaResult:
    """Omega total = (Σλ)² / ((Σλ)² + Σψ) from a one-factor fit to the items' correlations.

    Fitted by maximum likelihood by default (the same model as a one-factor CFA, so omega equals
    the CFA-based composite reliability), or minres; on complete cases (listwise), because a
    factor model needs one proper correlation matrix. The solution is standardized: ψ = 1 - λ².
    Needs >= 3 items (a one-factor model is not identified with fewer). Negative loadings and
    Heywood cases (communality >= 0.99, the uniqueness at the optimizer's bound) are warned of.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        The scale's item columns (at least 3).
    method : {"ml", "minres"}, default "ml"
        The extraction of the one-factor model.

    Returns
    -------
    OmegaResult
        ``omega_total``, ``method``, ``n`` (complete cases), ``k``, the standardized ``loadings``
        and ``uniquenesses``, and ``warnings``.

    Raises
    ------
    AnalysisError
        On fewer than 3 items, a zero-variance item, too few complete cases or a
        non-positive-definite correlation matrix.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> round(mcdonald_omega(hs, ["x4", "x5", "x6"]).omega_total, 3)
    0.885
    """
    what = "McDonald's omega"
    if method not in ("ml", "minres"):
        raise AnalysisError(f"{what}: method must be 'ml' or 'minres', not {method!r}")
    k = len(list(items))
    if k < MIN_ITEMS_OMEGA:
        raise AnalysisError(
            f"{what}: needs at least {MIN_ITEMS_OMEGA} items (a one-factor model is not "
            f"identified with fewer), got {k}"
        )
    data = _answered_rows(frame, items, what=what).dropna()
    require_cases(len(data), k + 1, what=f"{what} (complete cases; items + 1)")
    require_variance(data, what=what)
    require_positive_definite(np.corrcoef(data.to_numpy(), rowvar=False), what=what)
    notes: list[str] = []
    fitted = fit_factor_analyzer(data.to_numpy(), notes, n_factors=1, rotation=None, method=method)
    loadings = fitted.loadings_[:, 0]
    if loadings.sum() < 0:  # factor_analyzer leaves the sign of a single factor arbitrary
        loadings = -loadings
    uniquenesses = 1 - loadings**2
    total = loadings.sum() ** 2
    omega = float(total / (total + uniquenesses.sum()))
    negative = [item for item, value in zip(data.columns, loadings, strict=True) if value < 0]
    if negative:
        notes.append(
            f"negative loadings for {negative}: reverse-code these items before computing omega"
        )
    heywood = [
        item
        for item, value in zip(data.columns, loadings**2, strict=True)
        if value >= HEYWOOD_COMMUNALITY
    ]
    if heywood:
        notes.append(
            f"Heywood case: communality >= {HEYWOOD_COMMUNALITY} for {heywood} (uniqueness at "
            f"the lower bound {UNIQUENESS_LOWER_BOUND}); the solution is improper"
        )
    return OmegaResult(
        omega_total=omega,
        method=f"{method}_one_factor",
        n=len(data),
        k=k,
        loadings=pd.Series(loadings, index=data.columns, name="loading"),
        uniquenesses=pd.Series(uniquenesses, index=data.columns, name="uniqueness"),
        warnings=notes,
    )


NO_REVERSE_ITEM_WARNING = "no reverse-worded item: acquiescence cannot be told apart from agreement"
SCALE_RELIABILITY_COLUMNS = [
    "construct",
    "k",
    "n",
    "n_complete",
    "ci_level",
    "alpha_pairwise",
    "alpha_pairwise_ci_lower",
    "alpha_pairwise_ci_upper",
    "alpha_listwise",
    "alpha_listwise_ci_lower",
    "alpha_listwise_ci_upper",
    "omega_total",
    "omega_method",
    "omega_n",
    "warnings",
]


def scale_reliability(
    frame: pd.DataFrame,
    model: MeasurementModel,
    *,
    ci: float = 0.95,
    omega_method: OmegaMethod = "ml",
    reverse_items: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """One row per construct: alpha (pairwise and listwise, Feldt CI) and omega total.

    A statistic a construct cannot support (one usable item, zero variance, too few cases, a
    non-positive-definite correlation matrix) is NaN with the reason in ``warnings``, so one
    weak scale does not hide the others.

    `reverse_items` (construct -> its reverse-worded items, from the codebook) adds a warning
    to a construct that has none: answers that agree with every item then cannot be told apart
    from acquiescence, which inflates alpha. Without it no such check is made.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns.
    ci : float, default 0.95
        The confidence level of the alpha intervals.
    omega_method : {"ml", "minres"}, default "ml"
        The extraction behind omega (see `mcdonald_omega`).
    reverse_items : mapping of str to sequence of str, optional
        Construct -> its reverse-worded items; a construct with none gets a warning.

    Returns
    -------
    pandas.DataFrame
        One row per construct: ``k``, ``n``, ``n_complete``, both alphas with their intervals,
        ``omega_total``, ``omega_method``, ``omega_n`` and ``warnings``.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}
    >>> table = scale_reliability(hs, model)
    >>> table[["construct", "alpha_listwise", "omega_total"]].round(2).values.tolist()
    [['visual', 0.63, 0.64], ['textual', 0.88, 0.88]]
    """
    rows = []
    for construct, items in model.items():
        items = list(items)
        notes: list[str] = []
        row: dict[str, object] = {
            "construct": construct,
            "k": len(items),
            "ci_level": ci,
            "omega_method": f"{omega_method}_one_factor",
        }
        try:
            answered = _answered_rows(frame, items, what=f"construct {construct!r}")
            row["n"] = len(answered)
            row["n_complete"] = len(answered.dropna())
        except AnalysisError as exc:
            row["n"] = row["n_complete"] = 0
            notes.append(str(exc))
        for rule in ("pairwise", "listwise"):
            try:
                result = cronbach_alpha(frame, items, missing=rule, ci=ci)  # type: ignore[arg-type]
            except AnalysisError as exc:
                notes.append(f"alpha ({rule}): {exc}")
                continue
            row[f"alpha_{rule}"] = result.alpha
            row[f"alpha_{rule}_ci_lower"] = result.ci_lower
            row[f"alpha_{rule}_ci_upper"] = result.ci_upper
            notes.extend(f"alpha ({rule}): {w}" for w in result.warnings)
        try:
            omega = mcdonald_omega(frame, items, method=omega_method)
        except AnalysisError as exc:
            notes.append(f"omega: {exc}")
        else:
            row["omega_total"] = omega.omega_total
            row["omega_n"] = omega.n
            notes.extend(f"omega: {w}" for w in omega.warnings)
        if reverse_items is not None and not reverse_items.get(construct):
            notes.append(NO_REVERSE_ITEM_WARNING)
        row["warnings"] = "; ".join(dict.fromkeys(notes))
        rows.append(row)
    out = pd.DataFrame(rows, columns=SCALE_RELIABILITY_COLUMNS)
    return out.astype({"k": "int64", "n": "int64", "n_complete": "int64", "omega_n": "Int64"})


ITEM_RELIABILITY_COLUMNS = [
    "construct",
    "item",
    "corrected_item_total_r",
    "alpha_if_deleted",
    "missing",
    "warnings",
]


def _item_rows(
    frame: pd.DataFrame, construct: str, items: list[str], missing: MissingRule
) -> list[dict[str, object]]:
    what = f"item analysis of {construct!r}"
    if len(items) < MIN_ITEMS_ALPHA:
        raise AnalysisError(f"{what}: needs at least {MIN_ITEMS_ALPHA} items, got {len(items)}")
    data = _answered_rows(frame, items, what=what)
    used = data.dropna() if missing == "listwise" else data
    require_cases(len(used), MIN_CASES_ALPHA, what=f"{what} ({missing})")
    require_variance(used, what=what)
    cov = used.cov().to_numpy()
    if np.isnan(cov).any():
        raise AnalysisError(f"{what}: some item pairs have fewer than 2 joint answers")
    rows = []
    k = len(items)
    for i, item in enumerate(items):
        rest = [j for j in range(k) if j != i]
        rest_cov = cov[np.ix_(rest, rest)]
        rest_total_var = rest_cov.sum()
        item_rest_cov = cov[i, rest].sum()
        r_drop = item_rest_cov / np.sqrt(cov[i, i] * rest_total_var)
        notes = []
        if k - 1 >= MIN_ITEMS_ALPHA:
            alpha_drop = (k - 1) / (k - 2) * (1 - np.trace(rest_cov) / rest_total_var)
        else:
            alpha_drop = float("nan")
            notes.append(f"alpha if deleted needs {MIN_ITEMS_ALPHA + 1}+ items in the scale")
        if r_drop < 0:
            notes.append("negative corrected item-total correlation: reverse-keyed item?")
        rows.append(
            {
                "construct": construct,
                "item": item,
                "corrected_item_total_r": float(r_drop),
                "alpha_if_deleted": float(alpha_drop),
                "missing": missing,
                "warnings": "; ".join(notes),
            }
        )
    return rows


def item_reliability(
    frame: pd.DataFrame, model: MeasurementModel, *, missing: MissingRule = "pairwise"
) -> pd.DataFrame:
    """One row per item: corrected item-total correlation and alpha if the item is deleted.

    Both come from the scale's covariance matrix under the same missing-data rule as its alpha
    (as psych::alpha's ``r.drop`` and ``alpha.drop``), so the item-deleted alphas differ from
    the scale's alpha only by the item. A construct that cannot be analysed gets NaN rows with
    the reason in ``warnings``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns.
    missing : {"pairwise", "listwise"}, default "pairwise"
        As in `cronbach_alpha`.

    Returns
    -------
    pandas.DataFrame
        Columns ``construct``, ``item``, ``corrected_item_total_r``, ``alpha_if_deleted``,
        ``missing`` and ``warnings``.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> table = item_reliability(hs, {"textual": ["x4", "x5", "x6"]})
    >>> table[["item", "corrected_item_total_r", "alpha_if_deleted"]].round(2).values.tolist()
    [['x4', 0.78, 0.83], ['x5', 0.79, 0.83], ['x6', 0.77, 0.84]]
    """
    if missing not in ("pairwise", "listwise"):
        raise AnalysisError(
            f"item analysis: missing must be 'pairwise' or 'listwise', not {missing!r}"
        )
    rows: list[dict[str, object]] = []
    for construct, items in model.items():
        items = list(items)
        try:
            rows.extend(_item_rows(frame, construct, items, missing))
        except AnalysisError as exc:
            rows.extend(
                {
                    "construct": construct,
                    "item": item,
                    "corrected_item_total_r": float("nan"),
                    "alpha_if_deleted": float("nan"),
                    "missing": missing,
                    "warnings": str(exc),
                }
                for item in items
            )
    return pd.DataFrame(rows, columns=ITEM_RELIABILITY_COLUMNS)
