"""Measurement invariance of the construct scales across respondent groups.

semopy 2.3.11 cannot do this: `semopy.multigroup` fits one independent model per group and has no
cross-group equality constraints. So the multi-group ML fit is written here: the stacked
likelihood with a mean structure, in lavaan's parameterization (marker loadings fixed to 1):

- configural: loadings, intercepts, factor (co)variances and residual variances free in every
  group; latent means fixed to 0;
- metric: loadings equal across groups;
- scalar: loadings and intercepts equal; latent means free in every group after the first.

chi2 = Σ_g N_g·F_g with F_g the ML discrepancy of group g (N_g in the covariance denominator),
as lavaan computes it. Residual and factor variances are bounded below by a tiny positive value;
an estimate on that bound is reported as a Heywood case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from hazegov.analysis._common import (
    AnalysisError,
    MeasurementModel,
    numeric_items,
    require_cases,
    require_positive_definite,
    require_variance,
)
from hazegov.analysis.cfa import (
    MIN_CASES,
    FitIndices,
    GroupMoments,
    checked_model,
    chi2_difference,
    ml_discrepancy,
    ml_fit_indices,
    model_items,
    records,
    sample_covariance,
)

LEVELS = ("configural", "metric", "scalar")
# Each group must support its own covariance matrix and the per-group parameters.
MIN_GROUP_CASES = MIN_CASES
_VARIANCE_FLOOR = 1e-6  # relative to the item's (or marker's) pooled sample variance


@dataclass(frozen=True)
class _Slot:
    """Where one free parameter sits: matrix, row, column, group."""

    matrix: str  # lambda, phi, theta, nu, alpha
    row: int
    col: int
    group: int


@dataclass
class MultigroupFit:
    """One invariance level fitted to all groups."""

    level: str
    groups: list[str]
    fit: FitIndices
    group_chi2: dict[str, float]
    converged: bool
    message: str
    parameters: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


class _MultigroupModel:
    """Free parameters, their slots per group, and the ML objective with its analytic gradient."""

    def __init__(
        self,
        spec: dict[str, tuple[str, ...]],
        moments: list[tuple[int, np.ndarray, np.ndarray]],
        level: str,
    ) -> None:
        self.spec = spec
        self.items = model_items(spec)
        self.constructs = list(spec)
        self.p, self.k = len(self.items), len(self.constructs)
        self.moments = moments  # (n, S with N denominator, mean) per group
        self.n_total = sum(n for n, _, _ in moments)
        self.level = level
        self.n_groups = len(moments)
        equal_loadings = level in ("metric", "scalar")
        equal_intercepts = level == "scalar"
        self.lambda_fixed = np.zeros((self.p, self.k))
        self.pattern: list[tuple[int, int]] = []
        for f, (_, items) in enumerate(spec.items()):
            for position, item in enumerate(items):
                i = self.items.index(item)
                if position == 0:
                    self.lambda_fixed[i, f] = 1.0
                else:
                    self.pattern.append((i, f))
        self.keys: dict[tuple[Any, ...], int] = {}
        self.slots: list[list[tuple[_Slot, int]]] = [[] for _ in range(self.n_groups)]
        self.lower: list[float | None] = []
        pooled_var = np.mean([np.diag(s) for _, s, _ in moments], axis=0)

        def add(key: tuple[Any, ...], slot: _Slot, lower: float | None = None) -> None:
            if key not in self.keys:
                self.keys[key] = len(self.keys)
                self.lower.append(lower)
            self.slots[slot.group].append((slot, self.keys[key]))

        for g in range(self.n_groups):
            for i, f in self.pattern:
                owner = 0 if equal_loadings else g
                add(("lambda", i, f, owner), _Slot("lambda", i, f, g))
            for f in range(self.k):
                marker = self.items.index(spec[self.constructs[f]][0])
                add(("phi", f, f, g), _Slot("phi", f, f, g), _VARIANCE_FLOOR * pooled_var[marker])
                for h in range(f):
                    add(("phi", f, h, g), _Slot("phi", f, h, g))
            for i in range(self.p):
                add(("theta", i, g), _Slot("theta", i, i, g), _VARIANCE_FLOOR * pooled_var[i])
                owner = 0 if equal_intercepts else g
                add(("nu", i, owner), _Slot("nu", i, 0, g))
            if equal_intercepts and g > 0:
                for f in range(self.k):
                    add(("alpha", f, g), _Slot("alpha", f, 0, g))
        self.n_free = len(self.keys)
        # Per group and matrix: (rows, cols, parameter indices), for vectorized fills/gradients.
        self.index: list[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        for g in range(self.n_groups):
            per: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            for kind in ("lambda", "phi", "theta", "nu", "alpha"):
                chosen = [(sl.row, sl.col, i) for sl, i in self.slots[g] if sl.matrix == kind]
                arr = np.array(chosen, dtype=int).reshape(-1, 3)
                per[kind] = (arr[:, 0], arr[:, 1], arr[:, 2])
            self.index.append(per)

    def start(self) -> np.ndarray:
        """Loadings 1, half of each item's variance to its residual, means at the sample means."""
        x = np.zeros(self.n_free)
        started: set[int] = set()
        for g, (_, s, mean) in enumerate(self.moments):
            for slot, index in self.slots[g]:
                if slot.matrix == "lambda":
                    x[index] = 1.0
                elif slot.matrix == "phi" and slot.row == slot.col:
                    marker = self.items.index(self.spec[self.constructs[slot.row]][0])
                    x[index] = 0.5 * s[marker, marker]
                elif slot.matrix == "theta":
                    x[index] = 0.5 * s[slot.row, slot.row]
                elif slot.matrix == "nu" and index not in started:
                    x[index] = mean[slot.row]
                    started.add(index)
        return x

    def matrices(self, x: np.ndarray, g: int) -> tuple[np.ndarray, ...]:
        ix = self.index[g]
        lam = self.lambda_fixed.copy()
        rows, cols, idx = ix["lambda"]
        lam[rows, cols] = x[idx]
        phi = np.zeros((self.k, self.k))
        rows, cols, idx = ix["phi"]
        phi[rows, cols] = x[idx]
        phi[cols, rows] = x[idx]
        theta = np.zeros(self.p)
        rows, _, idx = ix["theta"]
        theta[rows] = x[idx]
        nu = np.zeros(self.p)
        rows, _, idx = ix["nu"]
        nu[rows] = x[idx]
        alpha = np.zeros(self.k)
        rows, _, idx = ix["alpha"]
        alpha[rows] = x[idx]
        return lam, phi, theta, nu, alpha

    def implied(self, x: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
        lam, phi, theta, nu, alpha = self.matrices(x, g)
        return lam @ phi @ lam.T + np.diag(theta), nu + lam @ alpha

    def objective(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Σ_g (N_g/N)·F_g and its gradient."""
        total = 0.0
        grad = np.zeros_like(x)
        for g, (n, s, mean) in enumerate(self.moments):
            lam, phi, theta, nu, alpha = self.matrices(x, g)
            sigma = lam @ phi @ lam.T + np.diag(theta)
            mu = nu + lam @ alpha
            try:
                chol = np.linalg.cholesky(sigma)
            except np.linalg.LinAlgError:
                return 1e10, np.zeros_like(x)
            inv = np.linalg.inv(sigma)
            d = mean - mu
            logdet = 2 * np.sum(np.log(np.diag(chol)))
            _, logdet_s = np.linalg.slogdet(s)
            f = logdet + np.trace(s @ inv) - logdet_s - self.p + d @ inv @ d
            w = n / self.n_total
            total += w * f
            # dF/dΣ (symmetric W) and dF/dμ
            big_w = inv - inv @ (s + np.outer(d, d)) @ inv
            g_mu = -2 * inv @ d
            g_lam = 2 * big_w @ lam @ phi + np.outer(g_mu, alpha)
            g_phi = lam.T @ big_w @ lam
            g_alpha = lam.T @ g_mu
            ix = self.index[g]
            rows, cols, idx = ix["lambda"]
            np.add.at(grad, idx, w * g_lam[rows, cols])
            rows, cols, idx = ix["phi"]
            np.add.at(grad, idx, w * np.where(rows == cols, 1.0, 2.0) * g_phi[rows, cols])
            rows, _, idx = ix["theta"]
            np.add.at(grad, idx, w * big_w[rows, rows])
            rows, _, idx = ix["nu"]
            np.add.at(grad, idx, w * g_mu[rows])
            rows, _, idx = ix["alpha"]
            np.add.at(grad, idx, w * g_alpha[rows])
        return float(total), grad

    def parameter_table(self, x: np.ndarray, groups: list[str]) -> pd.DataFrame:
        rows = []
        for g, name in enumerate(groups):
            for slot, index in self.slots[g]:
                if slot.matrix == "lambda":
                    lhs, op, rhs = self.constructs[slot.col], "=~", self.items[slot.row]
                elif slot.matrix == "phi":
                    lhs, op, rhs = self.constructs[slot.row], "~~", self.constructs[slot.col]
                elif slot.matrix == "theta":
                    lhs = rhs = self.items[slot.row]
                    op = "~~"
                elif slot.matrix == "nu":
                    lhs, op, rhs = self.items[slot.row], "~1", ""
                else:
                    lhs, op, rhs = self.constructs[slot.row], "~1", ""
                rows.append(
                    {
                        "group": name,
                        "lhs": lhs,
                        "op": op,
                        "rhs": rhs,
                        "estimate": float(x[index]),
                        "parameter": index,
                        "at_lower_bound": self.lower[index] is not None
                        and x[index] <= self.lower[index] * (1 + 1e-6),
                    }
                )
        return pd.DataFrame(rows)


def _group_moments(
    frame: pd.DataFrame, items: list[str], group: str
) -> tuple[list[str], list[tuple[int, np.ndarray, np.ndarray]], list[str]]:
    what = "measurement invariance"
    warnings: list[str] = []
    if group not in frame.columns:
        raise AnalysisError(f"{what}: group column {group!r} is not in the data")
    data = numeric_items(frame, items, what=what)
    data[group] = frame[group].to_numpy()
    complete = data.dropna()
    dropped = len(data) - len(complete)
    if dropped:
        warnings.append(
            f"{what}: {dropped} case(s) with a missing item value or group dropped listwise"
        )
    names = list(pd.unique(complete[group]))
    if len(names) < 2:
        raise AnalysisError(f"{what}: column {group!r} has {len(names)} group(s); 2+ needed")
    moments = []
    for name in names:
        part = complete.loc[complete[group] == name, items]
        label = f"{what}, group {name!r}"
        require_cases(len(part), MIN_GROUP_CASES, what=label)
        require_variance(part, what=label)
        require_positive_definite(np.corrcoef(part.to_numpy().T), what=label)
        moments.append((len(part), sample_covariance(part), part.mean().to_numpy()))
    return [str(n) for n in names], moments, warnings


def fit_multigroup(
    frame: pd.DataFrame,
    model: MeasurementModel,
    group: str,
    level: str,
    *,
    max_iter: int = 10_000,
) -> MultigroupFit:
    """Fit one invariance level by multi-group ML (see the module docstring)."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {LEVELS}")
    spec = checked_model(model, what="measurement invariance")
    groups, moments, warnings = _group_moments(frame, model_items(spec), group)
    return _fit_level(spec, groups, moments, level, warnings, max_iter=max_iter)


def _fit_level(
    spec: dict[str, tuple[str, ...]],
    groups: list[str],
    moments: list[tuple[int, np.ndarray, np.ndarray]],
    level: str,
    pre_warnings: Sequence[str],
    *,
    max_iter: int,
) -> MultigroupFit:
    mg = _MultigroupModel(spec, moments, level)
    require_cases(
        mg.n_total,
        mg.n_free,
        what=f"measurement invariance, {level} ({mg.n_free} free parameters)",
    )
    bounds = [(low, None) for low in mg.lower]
    result = optimize.minimize(
        mg.objective,
        mg.start(),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "maxfun": 10 * max_iter, "ftol": 1e-14, "gtol": 1e-9},
    )
    warnings = list(pre_warnings)
    x = result.x
    converged = bool(result.success)
    if not converged:
        warnings.append(f"{level} model: the optimizer did not converge ({result.message})")
    table = mg.parameter_table(x, groups)
    for row in table[table["at_lower_bound"]].itertuples():
        warnings.append(
            f"{level} model, group {row.group}: Heywood case: variance of {row.lhs} is at the "
            "lower bound (an unbounded fit would make it negative)"
        )
    group_moments = []
    group_chi2 = {}
    for g, (n, s, mean) in enumerate(moments):
        sigma, mu = mg.implied(x, g)
        _, phi, *_ = mg.matrices(x, g)
        if np.linalg.eigvalsh(phi).min() <= 1e-10:
            warnings.append(
                f"{level} model, group {groups[g]}: the factor covariance matrix is not "
                "positive definite"
            )
        gm = GroupMoments(n, s, sigma, mean, mu)
        group_moments.append(gm)
        group_chi2[groups[g]] = float(n * ml_discrepancy(gm))
    fit = ml_fit_indices(group_moments, mg.n_free, mean_structure=True)
    return MultigroupFit(
        level, groups, fit, group_chi2, converged, str(result.message), table, warnings
    )


@dataclass
class InvarianceResult:
    """Configural, metric and scalar fits and the comparisons of successive levels."""

    table: pd.DataFrame
    fits: dict[str, MultigroupFit]
    warnings: list[str] = field(default_factory=list)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        parameters = pd.concat(
            [f.parameters.assign(level=level) for level, f in self.fits.items()],
            ignore_index=True,
        )
        return {
            "invariance": self.table,
            "parameters": parameters,
            "warnings": pd.DataFrame({"warning": self.warnings}, dtype=object),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"invariance": records(self.table), "warnings": list(self.warnings)}


def measurement_invariance(
    frame: pd.DataFrame, model: MeasurementModel, group: str, *, max_iter: int = 10_000
) -> InvarianceResult:
    """Configural, metric and scalar invariance across the groups of `group`.

    Whether the constructs mean the same in every group (e.g. sector) before their scores are
    compared: configural (same pattern), metric (equal loadings) and scalar (equal loadings and
    intercepts), each fitted by multi-group ML. Each row: chi2, df, p, CFI, TLI, RMSEA
    (lavaan's: × √groups), BIC, and against the previous level Δχ², Δdf, its p, ΔCFI and ΔRMSEA
    (current minus previous: a drop in CFI is negative).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns.
    group : str
        The column of group labels (at least 2 groups).
    max_iter : int, default 10000
        The optimizer's iteration limit per level.

    Returns
    -------
    InvarianceResult
        ``table`` (one row per level, as above), the multi-group ``fits`` by level and
        ``warnings``.

    Raises
    ------
    AnalysisError
        On a group column absent from the data or with fewer than 2 groups, or as `fit_cfa`
        within a group.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...          "speed": ["x7", "x8", "x9"]}
    >>> table = measurement_invariance(hs, model, "school").table
    >>> table["model"].tolist(), table["df"].tolist(), table["chi2"].round(1).tolist()
    (['configural', 'metric', 'scalar'], [48, 54, 60], [115.9, 124.0, 164.1])
    """
    spec = checked_model(model, what="measurement invariance")
    groups, moments, warnings = _group_moments(frame, model_items(spec), group)
    fits = {
        level: _fit_level(spec, groups, moments, level, [], max_iter=max_iter) for level in LEVELS
    }
    rows = []
    previous: MultigroupFit | None = None
    for level, fit in fits.items():
        row: dict[str, Any] = {
            "model": level,
            "n_groups": len(groups),
            "n": fit.fit.n,
            "n_parameters": fit.fit.n_parameters,
            "chi2": fit.fit.chi2,
            "df": fit.fit.df,
            "p_value": fit.fit.p_value,
            "cfi": fit.fit.cfi,
            "tli": fit.fit.tli,
            "rmsea": fit.fit.rmsea,
            "rmsea_ci_lower": fit.fit.rmsea_ci_lower,
            "rmsea_ci_upper": fit.fit.rmsea_ci_upper,
            "bic": fit.fit.bic,
            "converged": fit.converged,
            "compared_with": None,
            "delta_chi2": math.nan,
            "delta_df": math.nan,
            "delta_p_value": math.nan,
            "delta_cfi": math.nan,
            "delta_rmsea": math.nan,
        }
        if previous is not None:
            test = chi2_difference(fit.fit, previous.fit)
            row.update(
                compared_with=previous.level,
                delta_chi2=test["delta_chi2"],
                delta_df=test["delta_df"],
                delta_p_value=test["p_value"],
                delta_cfi=fit.fit.cfi - previous.fit.cfi,
                delta_rmsea=fit.fit.rmsea - previous.fit.rmsea,
            )
        rows.append(row)
        warnings.extend(fit.warnings)
        previous = fit
    return InvarianceResult(pd.DataFrame(rows), fits, warnings)
