"""Whether the items can be factored, and how many factors to extract.

KMO and Bartlett's test say whether the correlations hold common variance worth factoring;
parallel analysis says how many factors rise above what random data of the same size give, the
retention rule with the best record in simulation studies (eigenvalue > 1 over-extracts).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from factor_analyzer import FactorAnalyzer, calculate_bartlett_sphericity, calculate_kmo

from hazegov.analysis._common import (
    AnalysisError,
    captured_warnings,
    numeric_items,
    require_cases,
    require_positive_definite,
    require_variance,
)
from hazegov.analysis.ml import one_blas_thread

UNIQUENESS_LOWER_BOUND = 0.005  # factor_analyzer's optimizer bound on uniquenesses
HEYWOOD_COMMUNALITY = 0.99  # at or next to that bound: an improper (Heywood) solution
# scikit-learn >= 1.6 deprecation raised inside factor_analyzer on every fit; not about the data
_SKLEARN_RENAME_WARNING = "'force_all_finite' was renamed"
# factor_analyzer's KMO tests det(covariance) against float32 eps, a scale-dependent test that
# fires for well-conditioned Likert data; complete_items has checked the correlation matrix
_KMO_PINV_WARNING = "The inverse of the variance-covariance matrix was calculated using"


def complete_items(frame: pd.DataFrame, items: Sequence[str], *, what: str) -> pd.DataFrame:
    """The items as floats, refused unless complete, varying, > items cases, positive definite.

    factor_analyzer's KMO crashes on missing values, its Bartlett test returns NaN and its factor
    analysis silently imputes medians; the study's missing-data rule is applied before this.
    """
    items = list(items)
    doubled = sorted({i for i in items if items.count(i) > 1})
    if doubled:
        raise AnalysisError(f"{what}: items listed more than once: {doubled}")
    if len(items) < 2:
        raise AnalysisError(f"{what}: needs at least 2 items, got {len(items)}")
    data = numeric_items(frame, items, what=what)
    gaps = data.isna().sum()
    gaps = gaps[gaps > 0]
    if not gaps.empty:
        raise AnalysisError(
            f"{what}: needs complete data; missing values in {gaps.to_dict()} "
            "(apply the study's missing-data rule first)"
        )
    require_cases(len(data), len(items) + 1, what=f"{what} (number of items + 1)")
    require_variance(data, what=what)
    require_positive_definite(np.corrcoef(data.to_numpy(), rowvar=False), what=what)
    return data


def fit_factor_analyzer(data: np.ndarray, sink: list[str], **options: object) -> FactorAnalyzer:
    """Fit factor_analyzer, putting its warnings (non-convergence) in `sink`, not on stderr."""
    with captured_warnings(sink), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_SKLEARN_RENAME_WARNING, category=FutureWarning)
        return FactorAnalyzer(**options).fit(data)  # type: ignore[arg-type]


def kmo(frame: pd.DataFrame, items: Sequence[str]) -> tuple[float, pd.Series]:
    """Kaiser-Meyer-Olkin measure of sampling adequacy: overall and per item (factor_analyzer).

    KMO compares the squared correlations with the squared partial (anti-image) correlations;
    values below 0.6 mean the items share too little common variance to factor. Needs complete
    data (see `complete_items`).
    """
    data = complete_items(frame, items, what="KMO")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_KMO_PINV_WARNING, category=UserWarning)
        per_item, overall = calculate_kmo(data.to_numpy())
    return float(overall), pd.Series(per_item, index=data.columns, name="kmo")


def bartlett_sphericity(frame: pd.DataFrame, items: Sequence[str]) -> dict[str, float | int]:
    """Bartlett's test that the correlation matrix is an identity (factor_analyzer), with its df.

    chi2 = -(n - 1 - (2p + 5)/6) ln|R| on p(p - 1)/2 degrees of freedom. With survey-sized
    samples it almost always rejects, so it is a floor, not evidence of good factorability.
    Needs complete data (see `complete_items`).
    """
    data = complete_items(frame, items, what="Bartlett's test of sphericity")
    n, p = data.shape
    chi2, p_value = calculate_bartlett_sphericity(data.to_numpy())
    return {"chi2": float(chi2), "df": p * (p - 1) // 2, "p": float(p_value), "n": n, "n_items": p}


ParallelMethod = Literal["pca", "fa_smc", "fa_psych"]

PARALLEL_METHODS: dict[str, str] = {
    "pca": (
        "principal components (Horn 1965): eigenvalues of the correlation matrix against those "
        "of random normal data of the same size"
    ),
    "fa_smc": (
        "common factors, SMC: eigenvalues of the reduced correlation matrix with squared "
        "multiple correlations on the diagonal, against the same for random normal data"
    ),
    "fa_psych": (
        "common factors as psych::fa.parallel (fa='fa', sim=TRUE): eigenvalues of the "
        "correlation matrix with the communalities of a one-factor minres fit on the diagonal, "
        "against the same for random normal data"
    ),
}


@dataclass(frozen=True)
class ParallelAnalysisResult:
    """Observed against simulated eigenvalues, and the number of factors they suggest."""

    method: str
    description: str
    eigenvalues: pd.DataFrame
    suggested_n_factors: int
    quantile: float | None  # None: compared with the simulated mean
    n_iter: int
    seed: int
    n: int
    n_items: int
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The eigenvalue table with the settings that produced it on every row."""
        out = self.eigenvalues.copy()
        out.insert(0, "method", self.method)
        out["quantile"] = self.quantile
        out["n_iter"] = self.n_iter
        out["seed"] = self.seed
        out["suggested_n_factors"] = self.suggested_n_factors
        out["warnings"] = "; ".join(self.warnings)
        return out


def _smc_reduced(corr: np.ndarray) -> np.ndarray:
    reduced = corr.copy()
    np.fill_diagonal(reduced, 1 - 1 / np.diag(np.linalg.inv(corr)))
    return reduced


def _one_factor_reduced(corr: np.ndarray, sink: list[str]) -> np.ndarray:
    fitted = fit_factor_analyzer(
        corr, sink, n_factors=1, rotation=None, method="minres", is_corr_matrix=True
    )
    reduced = corr.copy()
    np.fill_diagonal(reduced, (fitted.loadings_**2).sum(axis=1))
    return reduced


def _eigenvalues(corr: np.ndarray, method: str, sink: list[str]) -> np.ndarray:
    if method == "fa_smc":
        corr = _smc_reduced(corr)
    elif method == "fa_psych":
        corr = _one_factor_reduced(corr, sink)
    return np.linalg.eigvalsh(corr)[::-1]


def _corrcoef_in_place(data: np.ndarray) -> np.ndarray:
    """`np.corrcoef(data, rowvar=False)` for an n × p float array, step for step as numpy
    computes it (the same numbers), but centring `data` in place instead of in an n-row copy.
    `data` is overwritten."""
    x = data.T
    x -= np.average(x, axis=1)[:, None]
    c = np.dot(x, x.T.conj())
    c *= np.true_divide(1, x.shape[1] - 1)
    stddev = np.sqrt(np.diag(c).real)
    c /= stddev[:, None]
    c /= stddev[None, :]
    np.clip(c.real, -1, 1, out=c.real)
    return c


def _normal_data_sets(
    rng: np.random.Generator, n: int, p: int, n_iter: int
) -> Iterator[np.ndarray]:
    """`n_iter` standard normal n × p data sets: the draws of `rng.standard_normal((n, p))`
    called `n_iter` times, in the same order, filled into one reused buffer (no n × p
    allocation per data set), with BLAS on one thread; each yielded array is valid until the
    next is requested."""
    buffer = np.empty((n, p))
    with one_blas_thread():
        for _ in range(n_iter):
            rng.standard_normal(out=buffer)
            yield buffer


def parallel_analysis(
    frame: pd.DataFrame,
    items: Sequence[str],
    *,
    method: ParallelMethod = "fa_smc",
    n_iter: int = 200,
    seed: int = 20240101,
    quantile: float | None = 0.95,
) -> ParallelAnalysisResult:
    """Horn's parallel analysis in one of three named variants (they can disagree; see below).

    - ``pca``: eigenvalues of R against those of random normal data (components).
    - ``fa_smc``: eigenvalues of R with squared multiple correlations on the diagonal (factors).
    - ``fa_psych``: psych::fa.parallel's factor eigenvalues: R with the communalities of a
      one-factor minres fit on the diagonal, for the data and for each random data set. Only
      psych's simulated-normal comparison, not its resampled one. factor_analyzer's minres also
      weighs the diagonal residuals, psych's does not; for a one-factor fit the two agreed to
      about 1e-5 in communality when checked against a transcription of psych's objective.

    Each of `n_iter` data sets is standard normal with the data's n and number of items, drawn
    from ``numpy.random.default_rng(seed)``, so a seed gives the same result. The suggested
    number is the count of leading observed eigenvalues above the simulated `quantile` (or the
    simulated mean when `quantile` is None, psych's default). Needs complete data.
    """
    if method not in PARALLEL_METHODS:
        raise AnalysisError(
            f"parallel analysis: unknown method {method!r}; choose one of {list(PARALLEL_METHODS)}"
        )
    if quantile is not None and not 0 < quantile < 1:
        raise AnalysisError(
            f"parallel analysis: quantile must be in (0, 1) or None, not {quantile}"
        )
    if n_iter < 1:
        raise AnalysisError(f"parallel analysis: n_iter must be at least 1, not {n_iter}")
    data = complete_items(frame, items, what="parallel analysis")
    n, p = data.shape
    notes: list[str] = []
    observed = _eigenvalues(np.corrcoef(data.to_numpy(), rowvar=False), method, notes)
    simulated = np.empty((n_iter, p))
    sim_notes: list[str] = []
    for i, noise in enumerate(_normal_data_sets(np.random.default_rng(seed), n, p, n_iter)):
        simulated[i] = _eigenvalues(_corrcoef_in_place(noise), method, sim_notes)
    notes.extend(f"in simulated data: {w}" for w in sim_notes)
    simulated_mean = simulated.mean(axis=0)
    simulated_quantile = (
        np.quantile(simulated, quantile, axis=0) if quantile is not None else simulated_mean
    )
    above = observed > simulated_quantile
    suggested = p if above.all() else int(np.argmin(above))
    table = pd.DataFrame(
        {
            "factor": np.arange(1, p + 1),  # factor (component) number
            "observed": observed,
            "simulated_mean": simulated_mean,
            "simulated_quantile": simulated_quantile if quantile is not None else np.nan,
            "retained": np.arange(p) < suggested,
        }
    )
    return ParallelAnalysisResult(
        method=method,
        description=PARALLEL_METHODS[method],
        eigenvalues=table,
        suggested_n_factors=suggested,
        quantile=quantile,
        n_iter=n_iter,
        seed=seed,
        n=n,
        n_items=p,
        warnings=notes,
    )
