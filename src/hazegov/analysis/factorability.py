"""Whether the items can be factored, and how many factors to extract.

KMO and Bartlett's test say whether the correlations hold common variance worth factoring;
parallel analysis says how many factors rise above what random data of the same size give, the
retention rule with the best record in simulation studies (eigenvalue > 1 over-extracts).

Missing answers: with ``missing="pairwise"`` (the default, psych's ``use="pairwise"``) each
correlation is computed from the respondents who answered both items, and the number of cases is
the number of respondents who answered at least one item (psych counts every row, the same number
unless a row answers none). Complete data take the same path as before this option existed, so
their results are unchanged. ``missing="complete"`` refuses any missing answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from factor_analyzer import FactorAnalyzer, calculate_bartlett_sphericity, calculate_kmo
from scipy import stats

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


MissingRule = Literal["pairwise", "complete"]
MISSING_RULES: tuple[str, ...] = ("pairwise", "complete")


def _item_list(items: Sequence[str], *, what: str) -> list[str]:
    items = list(items)
    doubled = sorted({i for i in items if items.count(i) > 1})
    if doubled:
        raise AnalysisError(f"{what}: items listed more than once: {doubled}")
    if len(items) < 2:
        raise AnalysisError(f"{what}: needs at least 2 items, got {len(items)}")
    return items


def complete_items(frame: pd.DataFrame, items: Sequence[str], *, what: str) -> pd.DataFrame:
    """The items as floats, refused unless complete, varying, > items cases, positive definite.

    factor_analyzer's KMO crashes on missing values, its Bartlett test returns NaN and its factor
    analysis silently imputes medians; the study's missing-data rule is applied before this.
    """
    items = _item_list(items, what=what)
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


@dataclass(frozen=True)
class PairwiseCorrelations:
    """Pairwise-complete correlations of items with missing answers, and their case counts.

    `n` is the number of respondents who answered at least one item (psych's n.obs, which
    counts every row); `pair_counts` the number who answered both items of each pair.
    """

    corr: pd.DataFrame
    pair_counts: pd.DataFrame
    n: int

    def count_range(self) -> tuple[int, int]:
        """The fewest and the most cases behind a correlation (pairs of distinct items)."""
        counts = self.pair_counts.to_numpy()
        off = counts[~np.eye(len(counts), dtype=bool)]
        return int(off.min()), int(off.max())


def _items_with_gaps(
    frame: pd.DataFrame, items: Sequence[str], *, what: str, missing: str
) -> pd.DataFrame | None:
    """The numeric items when they have missing answers and `missing` is pairwise, else None
    (complete data, or the complete-data rule, which `complete_items` then applies)."""
    if missing not in MISSING_RULES:
        raise AnalysisError(
            f"{what}: unknown missing-data rule {missing!r}; choose one of {list(MISSING_RULES)}"
        )
    items = _item_list(items, what=what)
    data = numeric_items(frame, items, what=what)
    if missing == "complete" or not data.isna().to_numpy().any():
        return None
    return data


def pairwise_correlations(data: pd.DataFrame, *, what: str) -> PairwiseCorrelations:
    """Pearson correlations from the cases that answered both items (psych's use="pairwise").

    Refused when the sparsest pair of items has no more cases than items (the check
    `complete_items` applies to the complete cases), when an item does not vary, or when the
    matrix is not positive definite (pairwise matrices can fail to be, and then KMO, Bartlett's
    determinant and the factor eigenvalues are meaningless).
    """
    answered = data.notna().to_numpy(dtype=float)
    counts = pd.DataFrame(answered.T @ answered, index=data.columns, columns=data.columns)
    n = int(answered.any(axis=1).sum())
    result = PairwiseCorrelations(data.corr(method="pearson"), counts.astype(int), n)
    fewest, _ = result.count_range()
    require_cases(
        fewest, data.shape[1] + 1, what=f"{what} (pair of items with the fewest cases; items + 1)"
    )
    require_variance(data, what=what)
    if result.corr.isna().to_numpy().any():
        raise AnalysisError(
            f"{what}: a correlation is undefined: an item does not vary among the cases that "
            "answered it and another item"
        )
    require_positive_definite(result.corr.to_numpy(), what=f"{what} (pairwise correlations)")
    return result


def kmo_from_correlations(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser-Rice MSA from a correlation matrix: overall and per item.

    The anti-image (partial) correlations are -R⁻¹ scaled by the square roots of its diagonal;
    MSA = Σr² / (Σr² + Σq²) over the off-diagonal elements (per item: over its column). The
    same formula as factor_analyzer's and psych's, which take raw data or (psych) a matrix.
    """
    corr = np.asarray(corr, dtype=float)
    inverse = np.linalg.inv(corr)
    scale = 1 / np.sqrt(np.diag(inverse))
    partial = -inverse * np.outer(scale, scale)
    r2, q2 = corr**2, partial**2
    np.fill_diagonal(r2, 0.0)
    np.fill_diagonal(q2, 0.0)
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return float(r2.sum() / (r2.sum() + q2.sum())), per_item


def bartlett_from_correlations(corr: np.ndarray, n: int) -> tuple[float, float]:
    """Bartlett's chi2 = -(n - 1 - (2p + 5)/6) ln|R| and its p on p(p - 1)/2 df."""
    corr = np.asarray(corr, dtype=float)
    p = corr.shape[0]
    _, logdet = np.linalg.slogdet(corr)
    chi2 = -(n - 1 - (2 * p + 5) / 6) * logdet
    return float(chi2), float(stats.chi2.sf(chi2, p * (p - 1) // 2))


def fit_factor_analyzer(data: np.ndarray, sink: list[str], **options: object) -> FactorAnalyzer:
    """Fit factor_analyzer, putting its warnings (non-convergence) in `sink`, not on stderr."""
    with captured_warnings(sink), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_SKLEARN_RENAME_WARNING, category=FutureWarning)
        return FactorAnalyzer(**options).fit(data)  # type: ignore[arg-type]


def kmo(
    frame: pd.DataFrame, items: Sequence[str], *, missing: MissingRule = "pairwise"
) -> tuple[float, pd.Series]:
    """Kaiser-Meyer-Olkin measure of sampling adequacy: overall and per item.

    KMO compares the squared correlations with the squared partial (anti-image) correlations;
    values below 0.6 mean the items share too little common variance to factor.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        The item columns (at least 2, each once).
    missing : {"pairwise", "complete"}, default "pairwise"
        With missing answers, "pairwise" uses pairwise-complete correlations (psych::KMO's
        ``cor(x, use="pairwise")``) and "complete" refuses. Complete data give the same
        result either way (factor_analyzer's computation, as before the option existed).

    Returns
    -------
    overall : float
        The overall MSA.
    per_item : pandas.Series
        The MSA of each item, named ``kmo``, indexed by item.

    Raises
    ------
    AnalysisError
        On a zero-variance item, too few cases, a non-positive-definite correlation matrix, or
        a missing answer under ``missing="complete"``.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> overall, per_item = kmo(hs, ["x1", "x2", "x3", "x4", "x5", "x6"])
    >>> round(overall, 2), round(float(per_item["x1"]), 2)
    (0.76, 0.78)
    """
    what = "KMO"
    gappy = _items_with_gaps(frame, items, what=what, missing=missing)
    if gappy is not None:
        pairwise = pairwise_correlations(gappy, what=what)
        overall, per_item = kmo_from_correlations(pairwise.corr.to_numpy())
        return overall, pd.Series(per_item, index=gappy.columns, name="kmo")
    data = complete_items(frame, items, what=what)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_KMO_PINV_WARNING, category=UserWarning)
        per_item, overall = calculate_kmo(data.to_numpy())
    return float(overall), pd.Series(per_item, index=data.columns, name="kmo")


def bartlett_sphericity(
    frame: pd.DataFrame, items: Sequence[str], *, missing: MissingRule = "pairwise"
) -> dict[str, float | int | str]:
    """Bartlett's test that the correlation matrix is an identity, with its df.

    chi2 = -(n - 1 - (2p + 5)/6) ln|R| on p(p - 1)/2 degrees of freedom. With survey-sized
    samples it almost always rejects, so it is a floor, not evidence of good factorability.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        The item columns (at least 2, each once).
    missing : {"pairwise", "complete"}, default "pairwise"
        With missing answers, "pairwise" takes R from pairwise-complete correlations and n as
        the respondents who answered at least one item (psych::cortest.bartlett on raw data:
        ``cor(x, use="pairwise")`` and the number of rows); "complete" refuses.

    Returns
    -------
    dict
        ``chi2``, ``df``, ``p``, ``n`` and ``n_items``. When pairwise correlations were used
        (missing answers), also ``missing`` ("pairwise") and ``n_pair_min`` and
        ``n_pair_max``, the fewest and most cases behind a correlation.

    Raises
    ------
    AnalysisError
        As `kmo`.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> test = bartlett_sphericity(hs, ["x1", "x2", "x3"])
    >>> round(test["chi2"], 1), test["df"], test["p"] < 0.001
    (110.2, 3, True)
    """
    what = "Bartlett's test of sphericity"
    gappy = _items_with_gaps(frame, items, what=what, missing=missing)
    if gappy is not None:
        pairwise = pairwise_correlations(gappy, what=what)
        p = gappy.shape[1]
        chi2, p_value = bartlett_from_correlations(pairwise.corr.to_numpy(), pairwise.n)
        fewest, most = pairwise.count_range()
        return {
            "chi2": chi2,
            "df": p * (p - 1) // 2,
            "p": p_value,
            "n": pairwise.n,
            "n_items": p,
            "missing": "pairwise",
            "n_pair_min": fewest,
            "n_pair_max": most,
        }
    data = complete_items(frame, items, what=what)
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
    missing: MissingRule = "pairwise",
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
    simulated mean when `quantile` is None). psych::fa.parallel compares with the 95% quantile
    of 20 simulated data sets by default (``quant=.95``, ``n.iter=20``).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        The item columns (at least 2, each once).
    method : {"fa_smc", "pca", "fa_psych"}, default "fa_smc"
        The variant, named in the result (see above).
    n_iter : int, default 200
        The number of simulated data sets.
    seed : int, default 20240101
        Seed of ``numpy.random.default_rng`` for the simulated data.
    quantile : float or None, default 0.95
        The simulated quantile an observed eigenvalue must exceed; None for the mean.
    missing : {"pairwise", "complete"}, default "pairwise"
        With missing answers, "pairwise" takes the observed eigenvalues from pairwise-complete
        correlations (psych's ``use="pairwise"``) and simulates data sets with as many rows as
        respondents who answered at least one item (psych's n.obs); the result says so in its
        warnings. "complete" refuses missing answers. Complete data: the same either way.

    Returns
    -------
    ParallelAnalysisResult
        The observed and simulated eigenvalues, the suggested number of factors (components
        for ``pca``), the settings and any warnings.

    Raises
    ------
    AnalysisError
        On an unknown method or missing-data rule, a quantile outside (0, 1), ``n_iter < 1``,
        or data refused as by `kmo`.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> items = [f"x{k}" for k in range(1, 10)]
    >>> result = parallel_analysis(hs, items, method="pca", n_iter=50, seed=1)
    >>> result.suggested_n_factors
    3
    >>> [round(v, 2) for v in result.eigenvalues["observed"].head(3)]
    [3.22, 1.64, 1.37]
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
    what = "parallel analysis"
    notes: list[str] = []
    gappy = _items_with_gaps(frame, items, what=what, missing=missing)
    if gappy is not None:
        pairwise = pairwise_correlations(gappy, what=what)
        n, p = pairwise.n, gappy.shape[1]
        fewest, most = pairwise.count_range()
        notes.append(
            f"{what}: missing answers; observed eigenvalues from pairwise-complete correlations "
            f"({fewest} to {most} cases per pair of items), simulated data sets of n = {n} "
            "(respondents who answered at least one item)"
        )
        observed = _eigenvalues(pairwise.corr.to_numpy(), method, notes)
    else:
        data = complete_items(frame, items, what=what)
        n, p = data.shape
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
