"""Regressions of perceived effectiveness on the problem constructs, with controls.

Two models, one design: numeric terms enter as they are, categorical terms (sector, gender, age
band, education, years in post) as treatment dummies against a stated reference level (the first
level, in categorical order or sorted, unless `reference` names another). Rows missing any model
column are dropped listwise and counted.

- `ols_hc3`: OLS with HC3 standard errors, because heteroskedasticity is the rule for bounded
  Likert means; t and F use the residual degrees of freedom, as Stata's `regress, vce(hc3)` does.
- `ordinal_logit`: proportional-odds model for an ordered outcome, with a hand-written Brant test
  of the proportional-odds assumption (no Python library has one).

Refused with `AnalysisError`: fewer than (parameters + `min_residual_df`) cases, a constant outcome
or term, perfectly collinear columns (named), and for HC3 a case with leverage 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from hazegov.analysis._common import AnalysisError, captured_warnings, numeric_items

MIN_RESIDUAL_DF = 5  # cases beyond the number of parameters that a fit needs, at least
INTERCEPT = "const"


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: NaN becomes None, numpy scalars become Python ones."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in cleaned.to_dict(orient="records")
    ]


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------- design


@dataclass(frozen=True)
class _Design:
    y: pd.Series
    X: pd.DataFrame  # design columns, no intercept
    terms: pd.DataFrame  # term, role, kind, df, reference, columns
    term_columns: dict[str, list[str]]
    column_kind: dict[str, str]  # column -> "numeric" | "dummy"
    n_dropped: int


def _levels(values: pd.Series) -> list[object]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.unique())
        return [c for c in values.cat.categories if c in present]
    uniques = list(values.unique())
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=str)


def build_design(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    controls: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object] | None,
    *,
    what: str,
    numeric_outcome: bool,
) -> _Design:
    """Complete cases; numeric terms as they are, categorical ones as treatment dummies
    ("term[T.level]") against the reference level (default: the lowest present level)."""
    predictors, controls, categorical = list(predictors), list(controls), list(categorical)
    reference = dict(reference or {})
    terms = predictors + controls
    _check_design_terms(frame, outcome, predictors, terms, categorical, reference, what=what)

    # Column by column on numpy arrays: a replication of the simulation and a multiverse
    # specification build a design each, and pandas indexing per term cost more than the fit.
    complete = np.ones(len(frame), dtype=bool)
    for column in dict.fromkeys([outcome, *terms]):
        complete &= frame[column].notna().to_numpy()
    n_dropped = int((~complete).sum())
    index = frame.index[complete]

    def usable(column: str) -> pd.Series:
        return frame[column][complete]

    def as_float(column: str) -> np.ndarray:
        series = frame[column]
        if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype):
            return series.to_numpy()[complete].astype(float)  # as numeric_items gives them
        return numeric_items(frame.loc[complete, [column]], [column], what=what)[column].to_numpy()

    if numeric_outcome:
        y = pd.Series(as_float(outcome), index=index, name=outcome)
    else:
        y = usable(outcome)
    if y.nunique() < 2:
        raise AnalysisError(f"{what}: the outcome {outcome!r} is constant in the usable cases")

    columns: dict[str, np.ndarray] = {}
    term_columns: dict[str, list[str]] = {}
    column_kind: dict[str, str] = {}
    rows = []
    for term in terms:
        role = "predictor" if term in predictors else "control"
        if term in categorical:
            ref, dummies = _treatment_dummies(usable(term), term, reference, what=what)
            columns |= dummies
            column_kind |= dict.fromkeys(dummies, "dummy")
            names = list(dummies)
            rows.append((term, role, "categorical", len(names), ref, names))
        else:
            values = as_float(term)
            if not np.var(values) > 0:
                raise AnalysisError(f"{what}: term {term!r} is constant in the usable cases")
            columns[term] = values
            column_kind[term] = "numeric"
            names = [term]
            rows.append((term, role, "numeric", 1, None, names))
        term_columns[term] = names
    X = pd.DataFrame(columns, index=index)
    info = pd.DataFrame(rows, columns=["term", "role", "kind", "df", "reference", "columns"])
    return _Design(y, X, info, term_columns, column_kind, n_dropped)


def _check_design_terms(
    frame: pd.DataFrame,
    outcome: str,
    predictors: list[str],
    terms: list[str],
    categorical: list[str],
    reference: Mapping[str, object],
    *,
    what: str,
) -> None:
    """Refuse a model whose terms contradict each other or name columns the data lack."""
    if not predictors:
        raise AnalysisError(f"{what}: no predictors given")
    if len(set(terms)) != len(terms):
        raise AnalysisError(f"{what}: a term is listed twice among predictors and controls")
    if outcome in terms:
        raise AnalysisError(f"{what}: the outcome {outcome!r} is also a term")
    stray = [c for c in categorical if c not in terms]
    if stray:
        raise AnalysisError(f"{what}: categorical {stray} are neither predictors nor controls")
    stray = [c for c in reference if c not in categorical]
    if stray:
        raise AnalysisError(f"{what}: reference levels given for non-categorical {stray}")
    missing = [c for c in [outcome, *terms] if c not in frame.columns]
    if missing:
        raise AnalysisError(f"{what}: columns not in the data: {missing}")


def _treatment_dummies(
    values: pd.Series, term: str, reference: Mapping[str, object], *, what: str
) -> tuple[object, dict[str, np.ndarray]]:
    """A categorical term's reference level and its other levels' 0/1 columns ("term[T.level]")."""
    levels = _levels(values)
    if len(levels) < 2:
        raise AnalysisError(f"{what}: categorical {term!r} is constant (one level)")
    ref = reference.get(term, levels[0])
    if ref not in levels:
        raise AnalysisError(
            f"{what}: reference level {ref!r} of {term!r} is not among its levels "
            f"in the usable cases {levels}"
        )
    observed = values.to_numpy()
    dummies = {
        f"{term}[T.{level}]": (observed == level).astype(float) for level in levels if level != ref
    }
    return ref, dummies


def _require_full_rank(X: pd.DataFrame, *, what: str) -> None:
    """Refuse perfectly collinear designs, naming the columns in each exact linear dependence."""
    design = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
    names = [INTERCEPT, *X.columns]
    scaled = design / np.linalg.norm(design, axis=0)
    # Only the singular values and right singular vectors are needed: with n ≥ p rows they are
    # those of the p × p triangular factor R of scaled = QR, so the SVD runs on R, not on n rows.
    thin = scaled.shape[0] >= scaled.shape[1]
    if thin:
        scaled = np.linalg.qr(scaled, mode="r")
    _, singular, vt = np.linalg.svd(scaled, full_matrices=not thin)
    singular = np.concatenate([singular, np.zeros(design.shape[1] - singular.size)])
    null = vt[singular < 1e-10 * singular[0]]
    if null.size:
        involved = sorted(
            {names[j] for vector in null for j in np.flatnonzero(np.abs(vector) > 1e-6)},
            key=names.index,
        )
        raise AnalysisError(f"{what}: perfectly collinear columns: {involved}")


def _require_cases(n: int, n_params: int, min_residual_df: int, *, what: str) -> None:
    needed = n_params + min_residual_df
    if n < needed:
        raise AnalysisError(
            f"{what}: {n} usable cases, at least {needed} needed "
            f"({n_params} parameters + {min_residual_df} residual degrees of freedom)"
        )


# ------------------------------------------------------------------------------------------ OLS


@dataclass(frozen=True)
class OlsResult:
    """OLS with HC3 standard errors: coefficients, VIFs and fit, as tidy frames."""

    outcome: str
    coefficients: pd.DataFrame
    vif: pd.DataFrame
    terms: pd.DataFrame
    fit: dict[str, object]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {
            "coefficients": self.coefficients,
            "vif": self.vif,
            "terms": self.terms,
            "fit": pd.DataFrame([self.fit]),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "fit": {k: _plain(v) for k, v in self.fit.items()},
            "warnings": list(self.warnings),
            "coefficients": _records(self.coefficients),
            "vif": _records(self.vif),
            "terms": _records(self.terms),
        }


def generalized_vif(X: pd.DataFrame, term_columns: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """VIF per term as R `car::vif` gives it (Fox & Monette 1992).

    Computed from R, the correlation matrix of the design columns (one pass over the rows, then
    p × p algebra): single-column terms get the ordinary VIF 1/(1 − R²_j) = (R⁻¹)_jj;
    multi-column terms (dummy sets) GVIF = det(R11)·det(R22)/det(R) as car does, which equals
    det(C11)/det(C11 − C12 C22⁻¹ C21), the ratio of the term's covariance to its covariance given
    the other columns; it does not depend on the reference level. `gvif_root` = GVIF^(1/(2·df)),
    comparable across terms. (`_regression_vif` keeps the regression definition, for the tests.)
    """
    values = X.to_numpy(dtype=float)
    centred = values - values.mean(axis=0)
    cross = centred.T @ centred
    scale = 1 / np.sqrt(np.diag(cross))
    corr = cross * np.outer(scale, scale)
    inverse = np.linalg.inv(corr)
    _, logdet_all = np.linalg.slogdet(corr)
    position = {name: i for i, name in enumerate(X.columns)}
    rows = []
    for term, cols in term_columns.items():
        idx = [position[c] for c in cols]
        if len(idx) == 1:
            gvif = float(inverse[idx[0], idx[0]])
        else:
            rest = [i for i in range(len(position)) if i not in idx]
            _, logdet_term = np.linalg.slogdet(corr[np.ix_(idx, idx)])
            _, logdet_rest = np.linalg.slogdet(corr[np.ix_(rest, rest)]) if rest else (1.0, 0.0)
            gvif = float(np.exp(logdet_term + logdet_rest - logdet_all))
        rows.append(
            {"term": term, "df": len(idx), "gvif": gvif, "gvif_root": gvif ** (1 / (2 * len(idx)))}
        )
    return pd.DataFrame(rows)


def _regression_vif(X: pd.DataFrame, term_columns: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """The definition by regressions on the N rows (statsmodels' VIF; the residual covariance of
    a dummy set given the other columns): what `generalized_vif` computes from R."""
    exog = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
    position = {name: i + 1 for i, name in enumerate(X.columns)}
    rows = []
    for term, cols in term_columns.items():
        idx = [position[c] for c in cols]
        if len(idx) == 1:
            from statsmodels.stats.outliers_influence import variance_inflation_factor

            gvif = float(variance_inflation_factor(exog, idx[0]))
        else:
            rest = [i for i in range(exog.shape[1]) if i not in idx]
            block = exog[:, idx]
            centred = block - block.mean(axis=0)
            coef, *_ = np.linalg.lstsq(exog[:, rest], block, rcond=None)
            resid = block - exog[:, rest] @ coef
            _, logdet_total = np.linalg.slogdet(centred.T @ centred)
            _, logdet_given = np.linalg.slogdet(resid.T @ resid)
            gvif = float(np.exp(logdet_total - logdet_given))
        rows.append(
            {"term": term, "df": len(idx), "gvif": gvif, "gvif_root": gvif ** (1 / (2 * len(idx)))}
        )
    return pd.DataFrame(rows)


def _single_case_levels(design: _Design) -> list[str]:
    return [
        c for c, kind in design.column_kind.items() if kind == "dummy" and design.X[c].sum() == 1
    ]


def ols_hc3(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    *,
    controls: Sequence[str] = (),
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    ci: float = 0.95,
    min_residual_df: int = MIN_RESIDUAL_DF,
) -> OlsResult:
    """OLS of `outcome` on predictors and controls, HC3 standard errors, VIFs.

    HC3 because survey outcomes are heteroscedastic and the samples small, where HC3 keeps its
    level best. Standardized coefficients (`beta`, estimation sample, sd with ddof=1):
    b·sd(x)/sd(y) for numeric terms (`beta_kind` "xy_standardized"); b/sd(y) for dummies
    ("y_standardized"), since a standardized 0/1 variable has no meaning. `fit` has R², adjusted
    R², the classical F and the HC3 Wald F that all slopes are zero (F(df_model, df_resid), as
    Stata reports it).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent; incomplete cases are dropped (counted in ``fit``).
    outcome : str
        The numeric outcome column.
    predictors : sequence of str
        The terms of interest.
    controls : sequence of str, default ()
        Further terms.
    categorical : sequence of str, default ()
        Which of the terms enter as treatment dummies.
    reference : mapping, optional
        Reference level of a categorical term (default: its first level).
    ci : float, default 0.95
        The confidence level.
    min_residual_df : int, default 5
        The fewest residual degrees of freedom accepted.

    Returns
    -------
    OlsResult
        ``coefficients`` (b, HC3 se, t, p, CI, beta), ``vif`` (VIF and GVIF per term),
        ``terms`` and ``fit``.

    Raises
    ------
    AnalysisError
        On unknown or constant terms, perfect collinearity or too few residual degrees of
        freedom.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> result = ols_hc3(hs, "x9", ["x7", "x8"])
    >>> result.coefficients[["term", "b", "se"]].round(3).values.tolist()
    [['const', 2.71, 0.268], ['x7', 0.148, 0.053], ['x8', 0.37, 0.054]]
    """
    what = f"ols_hc3({outcome!r})"
    design = build_design(
        frame,
        outcome,
        predictors,
        controls,
        categorical,
        reference,
        what=what,
        numeric_outcome=True,
    )
    X, y = design.X, design.y.astype(float)
    n, k = len(y), X.shape[1] + 1
    _require_cases(n, k, min_residual_df, what=what)
    _require_full_rank(X, what=what)
    exog = pd.concat([pd.Series(1.0, index=X.index, name=INTERCEPT), X], axis=1)

    # here, not at the top: the simulation and multiverse jobs use only `build_design`, and
    # statsmodels takes half a second to import (its `api` module a second)
    from statsmodels.regression.linear_model import OLS

    notes: list[str] = []
    with captured_warnings(notes):
        res = OLS(y, exog).fit(cov_type="HC3", use_t=True)
    # the leverages HC3 divides by, h_i = x_i'(X'X)⁻¹x_i, as statsmodels computes them (from the
    # fit's (X'X)⁻¹: no N-row QR)
    values = exog.to_numpy(dtype=float)
    leverage = np.einsum("ij,ik,kj->i", values, values, res.normalized_cov_params)
    if leverage.max() > 1 - 1e-8:
        single = _single_case_levels(design)
        hint = f"; dummy columns with a single case: {single}" if single else ""
        raise AnalysisError(
            f"{what}: {int((leverage > 1 - 1e-8).sum())} case(s) with leverage 1, so HC3 is "
            f"undefined{hint}"
        )
    with captured_warnings(notes):
        conf = res.conf_int(alpha=1 - ci)
        vif = generalized_vif(X, design.term_columns)
        f_hc3 = res.f_test(np.eye(k)[1:])
    coefficients = _ols_coefficients(res, exog, X, y, design, conf)
    coefficients["ci_level"] = ci
    coefficients["se_type"] = "HC3"
    fit = _ols_fit(res, n, k, design.n_dropped, f_hc3)
    roles = dict(zip(design.terms["term"], design.terms["role"], strict=True))
    vif.insert(1, "role", vif["term"].map(roles))
    return OlsResult(
        outcome=outcome,
        coefficients=coefficients,
        vif=vif,
        terms=_terms_frame(design),
        fit=fit,
        warnings=tuple(notes),
    )


def _ols_coefficients(
    res: Any, exog: pd.DataFrame, X: pd.DataFrame, y: pd.Series, design: _Design, conf: pd.DataFrame
) -> pd.DataFrame:
    """One row per design column: b, HC3 se, t, p, interval and the standardized beta."""
    sd_y = float(y.std(ddof=1))
    rows = []
    for name in exog.columns:
        kind = "intercept" if name == INTERCEPT else design.column_kind[name]
        term = INTERCEPT if name == INTERCEPT else _term_of(design, name)
        b = float(res.params[name])
        if kind == "numeric":
            beta, beta_kind = b * float(X[name].std(ddof=1)) / sd_y, "xy_standardized"
        elif kind == "dummy":
            beta, beta_kind = b / sd_y, "y_standardized"
        else:
            beta, beta_kind = math.nan, ""
        rows.append(
            {
                "term": term,
                "column": name,
                "kind": kind,
                "b": b,
                "se": float(res.bse[name]),
                "t": float(res.tvalues[name]),
                "df": float(res.df_resid),
                "p": float(res.pvalues[name]),
                "ci_low": float(conf.loc[name, 0]),
                "ci_high": float(conf.loc[name, 1]),
                "beta": beta,
                "beta_kind": beta_kind,
            }
        )
    return pd.DataFrame(rows)


def _ols_fit(res: Any, n: int, k: int, n_dropped: int, f_hc3: Any) -> dict[str, object]:
    """R², adjusted R², the HC3 Wald F and the classical F of an OLS fit, with its counts."""
    # scipy.stats in the functions that use it: the simulation's and multiverse's jobs, which
    # use only `build_design`, then start without it (about 0.4 CPU-s each)
    from scipy import stats

    df_model, df_resid = float(res.df_model), float(res.df_resid)
    r2 = float(res.rsquared)
    f_classical = (r2 / df_model) / ((1 - r2) / df_resid)
    return {
        "n": n,
        "n_dropped": n_dropped,
        "k_params": k,
        "df_model": df_model,
        "df_resid": df_resid,
        "r2": r2,
        "adj_r2": float(res.rsquared_adj),
        "f_hc3": float(np.squeeze(f_hc3.fvalue)),
        "f_hc3_p": float(f_hc3.pvalue),
        "f_classical": f_classical,
        "f_classical_p": float(stats.f.sf(f_classical, df_model, df_resid)),
        "se_type": "HC3",
    }


def _term_of(design: _Design, column: str) -> str:
    return next(t for t, cols in design.term_columns.items() if column in cols)


def _terms_frame(design: _Design) -> pd.DataFrame:
    out = design.terms.copy()
    out["columns"] = out["columns"].map(lambda cols: ";".join(cols))
    out["reference"] = out["reference"].map(lambda r: None if r is None else str(r))
    return out


# ------------------------------------------------------------------------------ ordinal logit


@dataclass(frozen=True)
class OrdinalLogitResult:
    """Proportional-odds model: odds ratios, thresholds, fit and the Brant test."""

    outcome: str
    levels: tuple[object, ...]
    coefficients: pd.DataFrame
    thresholds: pd.DataFrame
    brant: pd.DataFrame
    terms: pd.DataFrame
    fit: dict[str, object]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {
            "coefficients": self.coefficients,
            "thresholds": self.thresholds,
            "brant": self.brant,
            "terms": self.terms,
            "fit": pd.DataFrame([self.fit]),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "levels": [_plain(v) for v in self.levels],
            "fit": {k: _plain(v) for k, v in self.fit.items()},
            "warnings": list(self.warnings),
            "coefficients": _records(self.coefficients),
            "thresholds": _records(self.thresholds),
            "brant": _records(self.brant),
            "terms": _records(self.terms),
        }


def _ordered_levels(y: pd.Series, *, what: str) -> list[object]:
    """The outcome's order: an ordered categorical's categories, or sorted numeric values."""
    if isinstance(y.dtype, pd.CategoricalDtype):
        if not y.cat.ordered:
            raise AnalysisError(f"{what}: the outcome is an unordered categorical")
        return _levels(y)
    if not pd.api.types.is_numeric_dtype(y):
        raise AnalysisError(f"{what}: the outcome must be numeric or an ordered categorical")
    return sorted(y.unique())


def brant_test(
    codes: np.ndarray, X: pd.DataFrame, term_columns: Mapping[str, Sequence[str]]
) -> tuple[pd.DataFrame, list[str]]:
    """Brant (1990) Wald test that the slopes are equal across the cumulative splits.

    For each cut j, a binary logit of [y > j] on X gives β_j; Var(β_j, β_l) =
    (X'W_jj X)⁻¹ (X'W_jl X) (X'W_ll X)⁻¹ with w_jl = π_l − π_j·π_l (l ≥ j), as in R `brant`.
    H0: β_1 = … = β_{J−1} (slopes only); overall df = (J − 2)·p, per term (J − 2)·df_term.
    """
    from scipy import stats
    from statsmodels.discrete.discrete_model import Logit

    notes: list[str] = []
    n_cuts = int(codes.max())
    columns = list(X.columns)
    p = len(columns)
    exog = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
    betas, probs, inv_info = [], [], []
    with captured_warnings(notes):
        for j in range(n_cuts):
            split = (codes > j).astype(float)
            # the design's rank was checked (`_require_full_rank`); no N-row QR per split
            res = Logit(split, exog, check_rank=False).fit(disp=0, method="newton", maxiter=100)
            if not res.mle_retvals.get("converged", False):
                notes.append(f"Brant test: the binary logit for split > {j} did not converge")
            pi = res.predict(exog)
            betas.append(np.asarray(res.params)[1:])
            probs.append(pi)
            inv_info.append(np.linalg.inv(exog.T @ (exog * (pi * (1 - pi))[:, None])))
    var = np.zeros((n_cuts * p, n_cuts * p))
    for j in range(n_cuts):
        for m in range(j, n_cuts):
            if m == j:
                block = inv_info[j]
            else:
                w = probs[m] - probs[j] * probs[m]
                block = inv_info[j] @ (exog.T @ (exog * w[:, None])) @ inv_info[m]
            block = block[1:, 1:]
            var[j * p : (j + 1) * p, m * p : (m + 1) * p] = block
            var[m * p : (m + 1) * p, j * p : (j + 1) * p] = block.T
    stacked = np.concatenate(betas)

    def wald(cols: Sequence[int]) -> tuple[float, int]:
        rows = []
        for j in range(1, n_cuts):
            for c in cols:
                row = np.zeros(n_cuts * p)
                row[c] = 1.0
                row[j * p + c] = -1.0
                rows.append(row)
        d = np.array(rows)
        diff = d @ stacked
        stat = float(diff @ np.linalg.solve(d @ var @ d.T, diff))
        return stat, len(rows)

    out = []
    stat, df = wald(range(p))
    out.append({"test": "omnibus", "chi2": stat, "df": df, "p": float(stats.chi2.sf(stat, df))})
    for term, cols in term_columns.items():
        stat, df = wald([columns.index(c) for c in cols])
        out.append({"test": term, "chi2": stat, "df": df, "p": float(stats.chi2.sf(stat, df))})
    return pd.DataFrame(out), notes


def ordinal_logit(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    *,
    controls: Sequence[str] = (),
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    ci: float = 0.95,
    maxiter: int = 1000,
    min_residual_df: int = MIN_RESIDUAL_DF,
) -> OrdinalLogitResult:
    """Proportional-odds (cumulative logit) model, statsmodels `OrderedModel(distr="logit")`.

    For ordered outcomes such as a satisfaction rating, where OLS would treat the distance
    between answer codes as known. Parameterisation: logit P(y ≤ level_j) = τ_j − x'b, so b > 0
    (odds ratio > 1) means higher outcome levels. Threshold SEs by the delta method from
    statsmodels' increment parameterisation. Pseudo R² is McFadden's, 1 − llf/llnull (null:
    thresholds only). The proportional-odds assumption is tested by `brant_test` (overall and
    per term). A fit that does not converge is returned with a warning, not refused.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent; incomplete cases are dropped.
    outcome : str
        The outcome: numeric codes or an ordered categorical.
    predictors, controls, categorical, reference, ci, min_residual_df
        As in `ols_hc3`.
    maxiter : int, default 1000
        The optimizer's iteration limit.

    Returns
    -------
    OrdinalLogitResult
        ``levels``, ``coefficients`` (b, se, z, p, CI, odds ratios), ``thresholds``, ``brant``
        (the Brant test), ``terms``, ``fit`` and ``warnings``.

    Raises
    ------
    AnalysisError
        On an unordered or non-numeric outcome, or as `ols_hc3`.

    Examples
    --------
    >>> import pandas as pd
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> hs["speed_band"] = pd.cut(hs["x9"], 3, labels=["low", "middle", "high"])
    >>> result = ordinal_logit(hs, "speed_band", ["x7", "x8"])
    >>> result.coefficients[["term", "odds_ratio"]].round(2).values.tolist()
    [['x7', 1.35], ['x8', 1.99]]
    """
    from scipy import stats

    what = f"ordinal_logit({outcome!r})"
    design = build_design(
        frame,
        outcome,
        predictors,
        controls,
        categorical,
        reference,
        what=what,
        numeric_outcome=False,
    )
    levels = _ordered_levels(design.y, what=what)
    codes = design.y.map({level: i for i, level in enumerate(levels)}).to_numpy(dtype=int)
    X = design.X
    n, n_cuts = len(codes), len(levels) - 1
    _require_cases(n, X.shape[1] + n_cuts, min_residual_df, what=what)
    _require_full_rank(X, what=what)

    from hazegov.analysis.ordinal_model import LogitOrderedModel

    notes: list[str] = []
    with captured_warnings(notes):
        model = LogitOrderedModel(codes, X, distr="logit")
        res = model.fit(method="bfgs", maxiter=maxiter, gtol=1e-8, disp=False)
    converged = bool(res.mle_retvals.get("converged", False))
    if not converged:
        notes.append(f"{what}: the fit did not converge within {maxiter} iterations")
    params = np.asarray(res.params, dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)
    if not np.all(np.isfinite(np.diag(cov))) or np.any(np.diag(cov) < 0):
        notes.append(f"{what}: the information matrix is singular; standard errors are invalid")
    z_crit = float(stats.norm.ppf(0.5 + ci / 2))

    k = X.shape[1]
    coefficients = _ordinal_coefficients(params, cov, X, design, z_crit)
    coefficients["ci_level"] = ci
    thresholds = _ordinal_thresholds(params[k:], cov[k:, k:], levels, z_crit)

    if n_cuts >= 2:
        brant, brant_notes = brant_test(codes, X, design.term_columns)
        notes.extend(brant_notes)
        _note_empty_cells(design, codes, notes, what=what)
    else:
        brant = pd.DataFrame(columns=["test", "chi2", "df", "p"])
        notes.append(f"{what}: the Brant test needs at least 3 outcome levels; not run")

    fit = _ordinal_fit(res, codes, len(levels), design.n_dropped, k, converged)
    return OrdinalLogitResult(
        outcome=outcome,
        levels=tuple(levels),
        coefficients=coefficients,
        thresholds=thresholds,
        brant=brant,
        terms=_terms_frame(design),
        fit=fit,
        warnings=tuple(notes),
    )


def _ordinal_fit(
    res: Any, codes: np.ndarray, k_levels: int, n_dropped: int, k: int, converged: bool
) -> dict[str, object]:
    """Counts, likelihoods, the LR test of all slopes and McFadden's pseudo R² of the fit."""
    counts = np.bincount(codes, minlength=k_levels)
    return {
        "n": len(codes),
        "n_dropped": n_dropped,
        "k_levels": k_levels,
        "min_level_count": int(counts.min()),
        "llf": float(res.llf),
        "llnull": float(res.llnull),
        "lr_chi2": float(res.llr),
        "lr_df": k,
        "lr_p": float(res.llr_pvalue),
        "pseudo_r2_mcfadden": float(res.prsquared),
        "converged": converged,
        "brant_method": "Brant (1990) Wald test from the J-1 binary logits",
    }


def _ordinal_coefficients(
    params: np.ndarray, cov: np.ndarray, X: pd.DataFrame, design: _Design, z_crit: float
) -> pd.DataFrame:
    """One row per design column: b, se, z, p, interval and the odds ratios."""
    from scipy import stats

    rows = []
    for i, name in enumerate(X.columns):
        b, se = params[i], math.sqrt(cov[i, i]) if cov[i, i] >= 0 else math.nan
        low, high = b - z_crit * se, b + z_crit * se
        rows.append(
            {
                "term": _term_of(design, name),
                "column": name,
                "kind": design.column_kind[name],
                "b": b,
                "se": se,
                "z": b / se,
                "p": float(2 * stats.norm.sf(abs(b / se))),
                "ci_low": low,
                "ci_high": high,
                "odds_ratio": math.exp(b),
                "or_ci_low": math.exp(low),
                "or_ci_high": math.exp(high),
            }
        )
    return pd.DataFrame(rows)


def _ordinal_thresholds(
    raw: np.ndarray, cov: np.ndarray, levels: list[object], z_crit: float
) -> pd.DataFrame:
    """The cut points between adjacent outcome levels from statsmodels' threshold parameters
    (`raw`, with their covariance `cov`): τ_1 = a_1, τ_j = a_1 + Σ_{i≤j} exp(a_i), with
    delta-method standard errors."""
    n_cuts = len(levels) - 1
    tau = np.cumsum(np.concatenate([[raw[0]], np.exp(raw[1:])]))
    jac = np.zeros((n_cuts, n_cuts))
    jac[:, 0] = 1.0
    for j in range(1, n_cuts):
        jac[j:, j] = math.exp(raw[j])
    tau_se = np.sqrt(np.clip(np.diag(jac @ cov @ jac.T), 0, None))
    return pd.DataFrame(
        {
            "threshold": [f"{levels[j]}|{levels[j + 1]}" for j in range(n_cuts)],
            "below": levels[:-1],
            "above": levels[1:],
            "estimate": tau,
            "se": tau_se,
            "ci_low": tau - z_crit * tau_se,
            "ci_high": tau + z_crit * tau_se,
        }
    )


def _note_empty_cells(design: _Design, codes: np.ndarray, notes: list[str], *, what: str) -> None:
    """As R `brant` warns: empty outcome × category cells make the binary logits unreliable."""
    for term, cols in design.term_columns.items():
        if design.column_kind[cols[0]] != "dummy":
            continue
        level_of = design.X[cols].to_numpy() @ np.arange(1, len(cols) + 1)  # 0: reference
        table = pd.crosstab(codes, level_of)
        empty = int((table == 0).sum().sum())
        if empty:
            notes.append(
                f"{what}: {empty} outcome-level × {term!r} cells are empty; the Brant test for "
                "this model may be invalid"
            )
