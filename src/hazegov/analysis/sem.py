"""Structural equation model: the measurement model plus paths among the constructs.

`hazegov.analysis.ml` fits it by ML in semopy's parameterization (semopy itself takes tenths of
a second a fit, which the bootstrap multiplies by 500); fit measures come from `cfa.ml_fit_indices`,
standardized estimates (std.all) with delta-method SEs from the estimator. Indirect effects
(products of paths along a chain such as LEAD -> RESP -> EFF) get percentile bootstrap CIs: rows
are resampled with replacement and the model refitted (warm-started from the full-sample
estimates; the optimum does not depend on the start), with a seeded generator; failed refits are
counted and reported, never silently replaced.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hazegov.analysis._common import AnalysisError, MeasurementModel
from hazegov.analysis.cfa import (
    MAX_ITER,
    FitIndices,
    FittedModel,
    checked_model,
    complete_items,
    fit_frames,
    model_items,
    records,
)
from hazegov.analysis.ml import MLModel, one_blas_thread

PathSpec = str | Sequence[tuple[str, str]] | Sequence[Sequence[str]]
N_BOOT = 500
# Below this share of successful bootstrap refits the CIs get an explicit warning.
MIN_BOOT_SUCCESS = 0.9


def parse_paths(paths: PathSpec, constructs: Sequence[str]) -> list[tuple[str, str]]:
    """(outcome, predictor) pairs from pairs or lavaan-style lines ("EFF ~ RESP + EVAL")."""
    pairs: list[tuple[str, str]] = []
    if isinstance(paths, str):
        for line in re.split(r"[\n;]", paths):
            line = line.strip()
            if not line:
                continue
            if line.count("~") != 1 or "=~" in line or "~~" in line:
                raise AnalysisError(f"path model: cannot read path line {line!r}")
            outcome, rhs = (part.strip() for part in line.split("~"))
            pairs.extend((outcome, p.strip()) for p in rhs.split("+"))
    else:
        for pair in paths:
            if len(pair) != 2:
                raise AnalysisError(f"path model: a path is (outcome, predictor), got {pair!r}")
            pairs.append((str(pair[0]), str(pair[1])))
    if not pairs:
        raise AnalysisError("path model: no structural paths given")
    unknown = sorted({c for pair in pairs for c in pair} - set(constructs))
    if unknown:
        raise AnalysisError(f"path model: paths name constructs not in the model: {unknown}")
    for outcome, predictor in pairs:
        if outcome == predictor:
            raise AnalysisError(f"path model: {outcome} cannot predict itself")
    if len(set(pairs)) != len(pairs):
        raise AnalysisError("path model: a path is listed twice")
    _require_acyclic(pairs)
    return pairs


def _require_acyclic(pairs: Sequence[tuple[str, str]]) -> None:
    """Only recursive models: indirect effects as path products need an acyclic graph."""
    children: dict[str, list[str]] = {}
    for outcome, predictor in pairs:
        children.setdefault(predictor, []).append(outcome)
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in children.get(node, []):
            if state.get(nxt) == 1:
                raise AnalysisError(f"path model: the paths form a cycle through {nxt}")
            if state.get(nxt) is None:
                visit(nxt)
        state[node] = 2

    for node in list(children):
        if node not in state:
            visit(node)


def structural_description(pairs: Sequence[tuple[str, str]]) -> str:
    by_outcome: dict[str, list[str]] = {}
    for outcome, predictor in pairs:
        by_outcome.setdefault(outcome, []).append(predictor)
    return "\n".join(f"{o} ~ {' + '.join(ps)}" for o, ps in by_outcome.items())


def _check_chains(
    chains: Sequence[Sequence[str]], pairs: Sequence[tuple[str, str]]
) -> list[tuple[str, ...]]:
    out = []
    for chain in chains:
        chain = tuple(chain)
        if len(chain) < 3:
            raise AnalysisError(f"path model: an indirect chain needs 3+ constructs: {chain}")
        for a, b in itertools.pairwise(chain):
            if (b, a) not in pairs:
                raise AnalysisError(f"path model: chain {' -> '.join(chain)} uses no path {a}->{b}")
        out.append(chain)
    return out


def _path_values(
    fit: FittedModel,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Unstandardized and std.all coefficient of every (outcome, predictor) path."""
    rows = fit.rows("~")
    raw = {(r.lhs, r.rhs): float(r.estimate) for r in rows.itertuples()}
    std = {(r.lhs, r.rhs): float(r.std_estimate) for r in rows.itertuples()}
    return raw, std


def _chain_product(values: dict[tuple[str, str], float], chain: Sequence[str]) -> float:
    return float(np.prod([values[(b, a)] for a, b in itertools.pairwise(chain)], dtype=float))


def resample_covariance(
    values: np.ndarray,
    rows: np.ndarray,
    buffers: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Covariance (ddof 0) of the resampled rows `values[rows]` from how often each row was
    drawn (w): m = Σ w_i x_i / n, then Σ w_i (x_i − m)(x_i − m)ᵀ / n, two passes as `np.cov`
    does. The same matrix as `np.cov(values[rows], ddof=0)` up to rounding, without gathering
    an n-row copy per resample. For integer item scores the mean is exact, so a column that is
    constant in the resample has variance exactly 0, as with `np.cov`. `buffers`: two arrays
    shaped like `values` to work in (reused across resamples, they spare the allocations)."""
    n = len(rows)
    counts = np.bincount(rows, minlength=values.shape[0]).astype(float)
    mean = counts @ values / n
    if buffers is None:
        buffers = (np.empty_like(values), np.empty_like(values))
    centred, weighted = buffers
    np.subtract(values, mean, out=centred)
    np.multiply(centred, counts[:, None], out=weighted)
    cov = centred.T @ weighted / n
    return np.atleast_2d((cov + cov.T) / 2)


def _usable_resample(cov: np.ndarray) -> bool:
    """A resample with a constant item or a singular correlation matrix cannot be refitted."""
    variances = np.diag(cov)
    if not np.all(variances > 0):
        return False
    corr = cov / np.sqrt(np.outer(variances, variances))
    if not np.all(np.isfinite(corr)):
        return False
    return bool(np.linalg.eigvalsh(corr).min() > 1e-10)


@dataclass
class PathModelResult:
    """A fitted structural model: fit, paths, R², loadings and bootstrapped indirect effects."""

    model: dict[str, tuple[str, ...]]
    paths: list[tuple[str, str]]
    converged: bool
    fit: FitIndices
    path_coefficients: pd.DataFrame
    r_squared: pd.DataFrame
    loadings: pd.DataFrame
    indirect_effects: pd.DataFrame
    n_boot: int
    n_boot_failed: int
    seed: int | None
    warnings: list[str] = field(default_factory=list)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        tables = ("path_coefficients", "r_squared", "loadings", "indirect_effects")
        return fit_frames(self, tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {k: list(v) for k, v in self.model.items()},
            "paths": [list(p) for p in self.paths],
            "converged": self.converged,
            "fit": self.fit.to_dict(),
            "path_coefficients": records(self.path_coefficients),
            "r_squared": records(self.r_squared),
            "loadings": records(self.loadings),
            "indirect_effects": records(self.indirect_effects),
            "n_boot": self.n_boot,
            "n_boot_failed": self.n_boot_failed,
            "seed": self.seed,
            "warnings": list(self.warnings),
        }


def fit_path_model(
    frame: pd.DataFrame,
    model: MeasurementModel,
    paths: PathSpec,
    *,
    indirect: Sequence[Sequence[str]] = (),
    n_boot: int = N_BOOT,
    seed: int | None = None,
    confidence: float = 0.95,
    max_iter: int = MAX_ITER,
) -> PathModelResult:
    """Fit measurement model + paths; bootstrap the indirect effects of the `indirect` chains.

    The structural model of the study's argument (governance problems -> perceived
    effectiveness), estimated with the measurement model in one ML fit, so that the paths are
    between constructs free of item error. CIs of indirect effects are percentile intervals over
    `n_boot` row resamples (bootstrap refits start from the full-sample estimates).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns.
    paths : str or sequence
        (outcome, predictor) pairs or lavaan-style lines such as ``"EFF ~ RESP + EVAL"``.
    indirect : sequence of sequence of str, default ()
        Chains such as ("LEAD", "RESP", "EFF") (predictor first) whose indirect effect is
        bootstrapped.
    n_boot : int, default N_BOOT
        The number of bootstrap resamples (0: no bootstrap, no intervals).
    seed : int or None, default None
        Seed of the resampling.
    confidence : float, default 0.95
        The level of the bootstrap intervals.
    max_iter : int, default MAX_ITER
        The optimizer's iteration limit.

    Returns
    -------
    PathModelResult
        ``fit``, ``path_coefficients`` (unstandardized and standardized, with SEs),
        ``r_squared``, ``loadings``, ``indirect_effects`` with their intervals, the bootstrap
        settings and ``warnings``.

    Raises
    ------
    AnalysisError
        On unreadable or cyclic paths, paths or chains naming unknown constructs, or as
        `fit_cfa`.
    ValueError
        On `confidence` outside (0, 1) or a negative `n_boot`.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...          "speed": ["x7", "x8", "x9"]}
    >>> result = fit_path_model(hs, model, "speed ~ visual + textual", n_boot=0)
    >>> result.path_coefficients[["predictor", "std_estimate"]].round(2).values.tolist()
    [['visual', 0.43], ['textual', 0.09]]
    """
    what = "path model"
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    if n_boot < 0:
        raise ValueError("n_boot cannot be negative")
    spec = checked_model(model, what=what)
    pairs = parse_paths(paths, list(spec))
    chains = _check_chains(indirect, pairs)
    sink: list[str] = []
    data = complete_items(frame, model_items(spec), what=what, sink=sink)
    structure = MLModel(spec, pairs)  # built once, refitted to every resample
    fit = structure.fit(data, what=what, max_iter=max_iter)
    warnings = [*sink, *fit.warnings]
    fit_indices = fit.fit_indices()

    path_coefficients = _path_coefficients(fit, pairs)
    r_squared = _r_squared(fit.parameters, pairs)
    loadings = fit.rows("=~").rename(columns={"lhs": "construct", "rhs": "item"})
    loadings = loadings[["construct", "item", "estimate", "se", "std_estimate", "std_se"]]
    raw, std = _path_values(fit)
    boot_raw, boot_std, failed = _bootstrap_indirect(
        structure, data, fit.x, chains, n_boot, seed, max_iter, warnings
    )
    indirect_effects = _indirect_effects(chains, raw, std, boot_raw, boot_std, confidence)
    return PathModelResult(
        model=spec,
        paths=pairs,
        converged=fit.converged,
        fit=fit_indices,
        path_coefficients=path_coefficients,
        r_squared=r_squared,
        loadings=loadings.reset_index(drop=True),
        indirect_effects=indirect_effects,
        n_boot=n_boot if chains else 0,
        n_boot_failed=failed,
        seed=seed,
        warnings=warnings,
    )


def _path_coefficients(fit: FittedModel, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """The structural paths' estimates in the order the paths were given."""
    coef = fit.rows("~").rename(columns={"lhs": "outcome", "rhs": "predictor"})
    order = {pair: k for k, pair in enumerate(pairs)}
    coef["order"] = [order[pair] for pair in zip(coef["outcome"], coef["predictor"], strict=True)]
    return coef.sort_values("order")[
        ["outcome", "predictor", "estimate", "se", "z", "p_value", "std_estimate", "std_se"]
    ].reset_index(drop=True)


def _r_squared(params: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """R² of each outcome construct: one minus its standardized residual variance."""
    outcomes = list(dict.fromkeys(o for o, _ in pairs))
    resid = params[(params["op"] == "~~") & (params["lhs"] == params["rhs"])]
    r2_rows = []
    for construct in outcomes:
        std_resid = float(resid.loc[resid["lhs"] == construct, "std_estimate"].iloc[0])
        r2_rows.append({"construct": construct, "r_squared": 1.0 - std_resid})
    return pd.DataFrame(r2_rows, columns=["construct", "r_squared"])


def _bootstrap_indirect(
    structure: MLModel,
    data: pd.DataFrame,
    start: np.ndarray,
    chains: list[tuple[str, ...]],
    n_boot: int,
    seed: int | None,
    max_iter: int,
    warnings: list[str],
) -> tuple[np.ndarray, np.ndarray, int]:
    """Refit the model to row resamples: each chain's indirect effect (raw, standardized) per
    resample (NaN where the refit failed), and how many failed; notes go to `warnings`."""
    boot_raw = np.full((n_boot, len(chains)), np.nan)
    boot_std = np.full((n_boot, len(chains)), np.nan)
    failed = 0
    if chains and n_boot > 0:
        if seed is None:
            warnings.append("bootstrap not seeded: its confidence intervals are not reproducible")
        rng = np.random.default_rng(seed)
        values = np.asfortranarray(data[structure.observed].to_numpy(dtype=float))
        buffers = (np.empty_like(values), np.empty_like(values))
        for b in range(n_boot):
            rows = rng.integers(0, len(data), len(data))
            with one_blas_thread():  # an n × p by p × p product: threads only contend
                cov = resample_covariance(values, rows, buffers)
            if not _usable_resample(cov):
                failed += 1
                continue
            try:
                refit = structure.estimate(cov, start=start, max_iter=max_iter)
            except (AnalysisError, np.linalg.LinAlgError, ValueError, FloatingPointError):
                failed += 1
                continue
            if not refit.converged:
                failed += 1
                continue
            b_raw, b_std = structure.path_values(refit.x, cov)
            raw_of = dict(zip(structure.regression_rows, b_raw, strict=True))
            std_of = dict(zip(structure.regression_rows, b_std, strict=True))
            boot_raw[b] = [_chain_product(raw_of, c) for c in chains]
            boot_std[b] = [_chain_product(std_of, c) for c in chains]
    n_ok = n_boot - failed
    if chains and n_boot > 0:
        if failed:
            warnings.append(f"bootstrap: {failed} of {n_boot} refits failed and were left out")
        if n_ok < MIN_BOOT_SUCCESS * n_boot:
            warnings.append(
                f"bootstrap: only {n_ok} of {n_boot} refits succeeded; the CIs are unreliable"
            )
    return boot_raw, boot_std, failed


def _indirect_effects(
    chains: list[tuple[str, ...]],
    raw: dict[tuple[str, str], float],
    std: dict[tuple[str, str], float],
    boot_raw: np.ndarray,
    boot_std: np.ndarray,
    confidence: float,
) -> pd.DataFrame:
    """Each chain's indirect effect with its percentile bootstrap interval and SE."""
    alpha = 1 - confidence
    rows = []
    for k, chain in enumerate(chains):
        ok_raw = boot_raw[:, k][np.isfinite(boot_raw[:, k])]
        ok_std = boot_std[:, k][np.isfinite(boot_std[:, k])]
        if len(ok_raw) >= 2:
            lo, hi = np.quantile(ok_raw, [alpha / 2, 1 - alpha / 2])
            slo, shi = np.quantile(ok_std, [alpha / 2, 1 - alpha / 2])
        else:
            lo = hi = slo = shi = math.nan
        rows.append(
            {
                "chain": " -> ".join(chain),
                "estimate": _chain_product(raw, chain),
                "ci_lower": float(lo),
                "ci_upper": float(hi),
                "std_estimate": _chain_product(std, chain),
                "std_ci_lower": float(slo),
                "std_ci_upper": float(shi),
                "boot_se": float(np.std(ok_raw, ddof=1)) if len(ok_raw) >= 2 else math.nan,
                "confidence": confidence,
                "n_boot_ok": len(ok_raw),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "chain",
            "estimate",
            "ci_lower",
            "ci_upper",
            "std_estimate",
            "std_ci_lower",
            "std_ci_upper",
            "boot_se",
            "confidence",
            "n_boot_ok",
        ],
    )
