"""Confirmatory factor analysis of the construct scales, with lavaan's ML fit measures.

`hazegov.analysis.ml` estimates the model (in semopy's parameterization, to the optimum);
`fit_semopy` fits semopy descriptions that it does not cover (the common-method model of `cmv`)
with solver L-BFGS-B (its default SLSQP stops short of the optimum). The fit measures are
computed here, the way lavaan computes them, because semopy's GFI, AGFI, log-likelihood, AIC and
BIC are on other scales and it has no SRMR. Standardized estimates (lavaan's std.all) get
delta-method standard errors, which semopy does not give.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from scipy import optimize

from hazegov.analysis._common import (
    AnalysisError,
    MeasurementModel,
    captured_warnings,
    numeric_items,
    require_cases,
    require_positive_definite,
    require_variance,
)

if TYPE_CHECKING:  # semopy (and sympy under it) loads only when a model is fitted by it
    import semopy

SOLVER = "L-BFGS-B"
ESTIMATORS = ("ML",)
# Fewest respondents any covariance-structure model here is fitted to; the number of free
# parameters raises it further for larger models.
MIN_CASES = 30
MAX_ITER = 10_000
# A variance estimate at or below this share of the item's sample variance sits on semopy's
# lower bound of zero: an unbounded fit would make it negative (a Heywood case).
BOUNDARY_SHARE = 1e-6
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


# --------------------------------------------------------------------------------------------
# Model descriptions and input checks
# --------------------------------------------------------------------------------------------


def checked_model(model: MeasurementModel, *, what: str) -> dict[str, tuple[str, ...]]:
    """The mapping as plain tuples, refusing what lavaan-style syntax or the CFA cannot take."""
    if not model:
        raise AnalysisError(f"{what}: the measurement model has no constructs")
    out: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for construct, items in model.items():
        items = tuple(items)
        if not _NAME.match(construct):
            raise AnalysisError(f"{what}: construct name {construct!r} is not a plain identifier")
        if len(items) < 2:
            raise AnalysisError(f"{what}: construct {construct} needs at least 2 items")
        for item in items:
            if not _NAME.match(item):
                raise AnalysisError(f"{what}: item name {item!r} is not a plain identifier")
            if item in seen:
                raise AnalysisError(
                    f"{what}: item {item} is listed under both {seen[item]} and {construct}"
                )
            seen[item] = construct
        out[construct] = items
    clash = set(out) & set(seen)
    if clash:
        raise AnalysisError(f"{what}: names used both as construct and item: {sorted(clash)}")
    return out


def model_items(model: Mapping[str, Sequence[str]]) -> list[str]:
    return [item for items in model.values() for item in items]


def measurement_description(model: Mapping[str, Sequence[str]]) -> str:
    """lavaan-style lines; semopy fixes each first loading to 1 and frees factor covariances."""
    return "\n".join(f"{construct} =~ {' + '.join(items)}" for construct, items in model.items())


def complete_items(
    frame: pd.DataFrame, items: Sequence[str], *, what: str, sink: list[str]
) -> pd.DataFrame:
    """Numeric item columns of the complete cases, checked for variance and positive definiteness.

    The study's missing-data rule is applied upstream; any case still incomplete here is dropped
    listwise, and the result says how many.
    """
    data = numeric_items(frame, items, what=what)
    complete = data.dropna()
    dropped = len(data) - len(complete)
    if dropped:
        sink.append(f"{what}: {dropped} case(s) with missing item values dropped listwise")
    require_cases(len(complete), MIN_CASES, what=what)
    require_variance(complete, what=what)
    require_positive_definite(np.corrcoef(complete.to_numpy().T), what=what)
    return complete.reset_index(drop=True)


def sample_covariance(data: pd.DataFrame) -> np.ndarray:
    """Covariance with N in the denominator, as ML (and lavaan) use it."""
    values = data.to_numpy(dtype=float)
    return np.atleast_2d(np.cov(values, rowvar=False, ddof=0))


# --------------------------------------------------------------------------------------------
# lavaan's ML fit measures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMoments:
    """One group's sample and model-implied moments (means only with a mean structure)."""

    n: int
    sample_cov: np.ndarray
    implied_cov: np.ndarray
    sample_mean: np.ndarray | None = None
    implied_mean: np.ndarray | None = None


@dataclass(frozen=True)
class FitIndices:
    """Global fit of an ML model, each measure computed as lavaan computes it."""

    n: int
    n_parameters: int
    chi2: float
    df: int
    p_value: float
    baseline_chi2: float
    baseline_df: int
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_lower: float
    rmsea_ci_upper: float
    srmr: float | None
    log_likelihood: float
    aic: float
    bic: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _json_number(v) for k, v in asdict(self).items()}


def _logdet(matrix: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(matrix)
    if sign <= 0:
        raise AnalysisError("a covariance matrix in the fit is not positive definite")
    return float(value)


def ml_discrepancy(group: GroupMoments) -> float:
    """F_ML of one group: log|Σ| + tr(SΣ⁻¹) − log|S| − p (+ mean misfit with a mean structure)."""
    s, sigma = group.sample_cov, group.implied_cov
    p = s.shape[0]
    inv = np.linalg.inv(sigma)
    value = _logdet(sigma) + float(np.trace(s @ inv)) - _logdet(s) - p
    if group.sample_mean is not None and group.implied_mean is not None:
        d = group.sample_mean - group.implied_mean
        value += float(d @ inv @ d)
    return value


def rmsea_interval(
    chi2: float, df: int, n: int, *, groups: int = 1, level: float = 0.90
) -> tuple[float, float, float]:
    """RMSEA and its CI from the noncentral chi-square, as lavaan: N (not N−1), × √groups."""
    from scipy import stats

    if df < 1:
        return math.nan, math.nan, math.nan
    scale = math.sqrt(groups)
    point = math.sqrt(max((chi2 - df) / (n * df), 0.0)) * scale
    upper_p, lower_p = (1 - level) / 2, 1 - (1 - level) / 2

    def tail(ncp: float, target: float) -> float:
        cdf = stats.chi2.cdf(chi2, df) if ncp == 0 else stats.ncx2.cdf(chi2, df, ncp)
        return float(cdf) - target

    lower = 0.0
    if tail(0.0, lower_p) > 0:
        lam = optimize.brentq(tail, 0.0, chi2, args=(lower_p,), xtol=1e-10)
        lower = math.sqrt(lam / (n * df)) * scale
    upper = 0.0
    bound = max(n, 4 * chi2)
    if tail(0.0, upper_p) > 0 and tail(bound, upper_p) < 0:
        lam = optimize.brentq(tail, 0.0, bound, args=(upper_p,), xtol=1e-10)
        upper = math.sqrt(lam / (n * df)) * scale
    return point, lower, upper


def srmr_bentler(sample_cov: np.ndarray, implied_cov: np.ndarray) -> float:
    """lavaan's SRMR without mean structure: residual correlations over the lower triangle."""
    sd_s = np.sqrt(np.diag(sample_cov))
    sd_m = np.sqrt(np.diag(implied_cov))
    residual = sample_cov / np.outer(sd_s, sd_s) - implied_cov / np.outer(sd_m, sd_m)
    rows, cols = np.tril_indices(sample_cov.shape[0])
    return float(np.sqrt(np.mean(residual[rows, cols] ** 2)))


def ml_fit_indices(
    groups: Sequence[GroupMoments], n_parameters: int, *, mean_structure: bool
) -> FitIndices:
    """chi2 = Σ N_g·F_g, baseline (independence) model, CFI, TLI, RMSEA, SRMR, logL, AIC, BIC.

    Without a mean structure the means are saturated and not counted as parameters (lavaan's
    default for a single-group CFA); SRMR is given for that case only.
    """
    from scipy import stats

    n = sum(g.n for g in groups)
    p = groups[0].sample_cov.shape[0]
    moments = len(groups) * (p * (p + 1) // 2 + (p if mean_structure else 0))
    df = moments - n_parameters
    if df < 0:
        raise AnalysisError(
            f"the model has {n_parameters} free parameters but the data only {moments} moments: "
            "it is not identified"
        )
    chi2 = float(sum(g.n * ml_discrepancy(g) for g in groups))
    chi2 = max(chi2, 0.0)
    p_value = float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan
    baseline_chi2 = float(
        sum(g.n * (np.sum(np.log(np.diag(g.sample_cov))) - _logdet(g.sample_cov)) for g in groups)
    )
    baseline_df = len(groups) * p * (p - 1) // 2
    t1 = max(chi2 - df, 0.0)
    t2 = max(chi2 - df, baseline_chi2 - baseline_df, 0.0)
    cfi = 1.0 if t1 == 0 and t2 == 0 else 1.0 - t1 / t2
    if df > 0:
        b = baseline_chi2 / baseline_df - 1.0
        t = baseline_chi2 / baseline_df - chi2 / df
        tli = 1.0 if (t < 0 and b < 0) else t / b
    else:
        tli = math.nan
    rmsea, lower, upper = rmsea_interval(chi2, df, n, groups=len(groups))
    loglik = 0.0
    for g in groups:
        inv = np.linalg.inv(g.implied_cov)
        misfit = 0.0
        if mean_structure and g.sample_mean is not None and g.implied_mean is not None:
            d = g.sample_mean - g.implied_mean
            misfit = float(d @ inv @ d)
        loglik -= (
            g.n
            / 2
            * (
                p * math.log(2 * math.pi)
                + _logdet(g.implied_cov)
                + float(np.trace(g.sample_cov @ inv))
                + misfit
            )
        )
    srmr = (
        srmr_bentler(groups[0].sample_cov, groups[0].implied_cov)
        if len(groups) == 1 and not mean_structure
        else None
    )
    return FitIndices(
        n=n,
        n_parameters=n_parameters,
        chi2=chi2,
        df=df,
        p_value=p_value,
        baseline_chi2=baseline_chi2,
        baseline_df=baseline_df,
        cfi=cfi,
        tli=tli,
        rmsea=rmsea,
        rmsea_ci_lower=lower,
        rmsea_ci_upper=upper,
        srmr=srmr,
        log_likelihood=loglik,
        aic=-2 * loglik + 2 * n_parameters,
        bic=-2 * loglik + n_parameters * math.log(n),
    )


def chi2_difference(restricted: FitIndices, general: FitIndices) -> dict[str, float]:
    """Likelihood-ratio (Δχ²) test of a model nested in a more general one."""
    from scipy import stats

    delta = restricted.chi2 - general.chi2
    ddf = restricted.df - general.df
    p = float(stats.chi2.sf(max(delta, 0.0), ddf)) if ddf > 0 else math.nan
    return {"delta_chi2": delta, "delta_df": float(ddf), "p_value": p}


# --------------------------------------------------------------------------------------------
# semopy fits, parameter tables and standardized estimates
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def captured_logging(sink: list[str]) -> Iterator[None]:
    """semopy reports problems through the logging module; keep them as result warnings."""

    class _Sink(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = f"semopy: {record.getMessage()}"
            if message not in sink:
                sink.append(message)

    handler = _Sink(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


class FitParameterRows:
    """What both fits (`SemopyFit`, `ml.MLFit`) read alike from their data and parameter table."""

    data: pd.DataFrame
    parameters: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.data)

    def rows(self, op: str) -> pd.DataFrame:
        return self.parameters[self.parameters["op"] == op].reset_index(drop=True)


def fit_frames(result: Any, tables: Sequence[str]) -> dict[str, pd.DataFrame]:
    """A fitted model's tidy frames: its fit (with convergence) first, then its `tables` (the
    result's attributes of those names), its warnings last."""
    frame = pd.DataFrame([result.fit.to_dict()])
    frame.insert(0, "converged", result.converged)
    return {
        "fit": frame,
        **{name: getattr(result, name) for name in tables},
        "warnings": pd.DataFrame({"warning": result.warnings}, dtype=object),
    }


@dataclass
class SemopyFit(FitParameterRows):
    """A fitted semopy model with its parameter table and delta-method standardized SEs.

    `parameters` has one row per parameter location: lhs, op (=~, ~, ~~), rhs, free (index into
    the free-parameter vector or -1), estimate, se, z, p_value, std_estimate (lavaan's
    std.all) and std_se.
    """

    model: semopy.Model
    data: pd.DataFrame
    converged: bool
    message: str
    parameters: pd.DataFrame
    vcov: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def n_free(self) -> int:
        return len(self.model.param_vals)

    @property
    def x(self) -> np.ndarray:
        """The free parameters' estimates (start values of a refit)."""
        return np.array(self.model.param_vals, dtype=float)

    @property
    def observed(self) -> list[str]:
        return list(self.model.vars["observed"])  # semopy's order, not the frame's

    @property
    def inner(self) -> list[str]:
        return list(self.model.vars["inner"])

    @property
    def latent(self) -> list[str]:
        return sorted(self.model.vars["latent"])

    def implied_cov(self) -> np.ndarray:
        sigma, _ = self.model.calc_sigma()
        return sigma

    def fit_indices(self) -> FitIndices:
        observed = self.observed
        group = GroupMoments(self.n, sample_covariance(self.data[observed]), self.implied_cov())
        return ml_fit_indices([group], self.n_free, mean_structure=False)

    def inner_cov(self) -> pd.DataFrame:
        """Model-implied covariance of the constructs (total, not residual)."""
        _, (_, c) = self.model.calc_sigma()
        inner = self.model.vars["inner"]
        return pd.DataFrame(c @ self.model.mx_psi @ c.T, index=inner, columns=inner)


class FittedModel(Protocol):
    """What the CFA and path-model code reads from a fit: `SemopyFit` or `ml.MLFit`."""

    data: pd.DataFrame
    converged: bool
    message: str
    parameters: pd.DataFrame
    warnings: list[str]

    @property
    def n(self) -> int: ...

    @property
    def n_free(self) -> int: ...

    @property
    def x(self) -> np.ndarray: ...

    @property
    def observed(self) -> list[str]: ...

    @property
    def inner(self) -> list[str]: ...

    @property
    def latent(self) -> list[str]: ...

    def implied_cov(self) -> np.ndarray: ...

    def fit_indices(self) -> FitIndices: ...

    def inner_cov(self) -> pd.DataFrame: ...

    def rows(self, op: str) -> pd.DataFrame: ...


@functools.cache
def _ordered_model() -> type:
    """`OrderedModel`, defined on first use so that importing this module does not load semopy."""
    import semopy

    class OrderedModel(semopy.Model):
        """semopy.Model whose implied covariances come out the same in every Python process.

        semopy 2.3 frees the covariances it implies (observed exogenous pairs, and output or
        exogenous latent pairs) by iterating `combinations` over sets of names, so which of a pair
        becomes the row, and the order of the free parameters, follow the string hash seed. The
        optimizer then takes a different path and the estimates differ in their last digits from
        one run to the next. This is semopy's `preprocess_effects` with the pairs put in one order.
        """

        def preprocess_effects(self, effects: dict) -> None:
            cov = effects[self.symb_covariance]
            exo = self.vars["exogenous"]
            obs_exo = sorted(set(self.vars["observed"]) & exo)
            for v in obs_exo:
                if v not in cov[v]:
                    cov[v][v] = self.symb_starting_values
            for v in sorted({*self.vars["endogenous"], *self.vars["latent"]}):
                if v not in cov[v]:
                    cov[v][v] = None
            for a, b in combinations(obs_exo, 2):
                if a not in cov[b] and b not in cov[a]:
                    cov[a][b] = self.symb_starting_values
            if not self.cov_diag:
                exo_lat = self.vars["exogenous"] & self.vars["latent"]
                pairs = {
                    *combinations(sorted(self.vars["output"]), 2),
                    *combinations(sorted(exo_lat), 2),
                }
                for a, b in sorted(pairs):
                    if b not in cov[a] and a not in cov[b]:
                        cov[a][b] = None

    return OrderedModel


def _matrix_kinds(model: semopy.Model) -> dict[int, str]:
    return {
        id(model.mx_beta): "beta",
        id(model.mx_lambda): "lambda",
        id(model.mx_psi): "psi",
        id(model.mx_theta): "theta",
    }


def _locations(model: semopy.Model) -> list[dict[str, Any]]:
    """Every parameter location as (lhs, op, rhs) in lavaan's terms."""
    kinds = _matrix_kinds(model)
    names = {
        "beta": model.names_beta,
        "lambda": model.names_lambda,
        "psi": model.names_psi,
        "theta": model.names_theta,
    }
    free_names = [name for name, p in model.parameters.items() if p.active]
    out = []
    for name, param in model.parameters.items():
        for loc in param.locations:
            kind = kinds.get(id(loc.matrix))
            if kind is None:
                continue
            i, j = loc.indices
            rows, cols = names[kind]
            if kind == "lambda":
                lhs, op, rhs = cols[j], "=~", rows[i]
            elif kind == "beta":
                lhs, op, rhs = rows[i], "~", cols[j]
            else:
                lhs, op, rhs = rows[i], "~~", cols[j]
            out.append(
                {
                    "lhs": lhs,
                    "op": op,
                    "rhs": rhs,
                    "kind": kind,
                    "i": i,
                    "j": j,
                    "free": free_names.index(name) if param.active else -1,
                }
            )
    return out


def _standardized(model: semopy.Model, locations: list[dict[str, Any]]) -> np.ndarray:
    """lavaan's std.all of every location, from the model's current matrices."""
    sigma, (_, c) = model.calc_sigma()
    inner = c @ model.mx_psi @ c.T
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_obs = np.sqrt(np.diag(sigma))
        sd_inner = np.sqrt(np.diag(inner))
        mats = {
            "beta": model.mx_beta,
            "lambda": model.mx_lambda,
            "psi": model.mx_psi,
            "theta": model.mx_theta,
        }
        out = np.empty(len(locations))
        for k, loc in enumerate(locations):
            i, j = loc["i"], loc["j"]
            value = mats[loc["kind"]][i, j]
            if loc["kind"] == "lambda":
                out[k] = value * sd_inner[j] / sd_obs[i]
            elif loc["kind"] == "beta":
                out[k] = value * sd_inner[j] / sd_inner[i]
            elif loc["kind"] == "psi":
                out[k] = value / (sd_inner[i] * sd_inner[j])
            else:
                out[k] = value / (sd_obs[i] * sd_obs[j])
    return out


def _delta_method_se(
    model: semopy.Model, locations: list[dict[str, Any]], vcov: np.ndarray
) -> np.ndarray:
    """SEs of std.all by the delta method: numerical Jacobian (central differences) × vcov."""
    x0 = np.array(model.param_vals, dtype=float)
    jac = np.empty((len(locations), len(x0)))
    try:
        for k in range(len(x0)):
            h = 1e-6 * max(1.0, abs(x0[k]))
            up, down = x0.copy(), x0.copy()
            up[k] += h
            down[k] -= h
            model.update_matrices(up)
            f_up = _standardized(model, locations)
            model.update_matrices(down)
            f_down = _standardized(model, locations)
            jac[:, k] = (f_up - f_down) / (2 * h)
    finally:
        model.update_matrices(x0)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, vcov, jac), 0.0, None))


def _complete_observed(
    data: pd.DataFrame, observed: Sequence[str], *, what: str, sink: list[str]
) -> pd.DataFrame:
    """`data` without the cases missing an observed variable, their number noted in `sink`.

    The wording is `complete_items`'s, so that `fit_semopy` and `fit_cfa` report a listwise
    deletion alike. Complete data are returned as they are (the same object).
    """
    absent = [v for v in observed if v not in data.columns]
    if absent:
        raise AnalysisError(f"{what}: observed variables not in the data: {absent}")
    incomplete = data[list(observed)].isna().any(axis=1).to_numpy()
    dropped = int(incomplete.sum())
    if not dropped:
        return data
    sink.append(f"{what}: {dropped} case(s) with missing item values dropped listwise")
    return data.loc[~incomplete].reset_index(drop=True)


def fit_semopy(
    description: str,
    data: pd.DataFrame,
    *,
    what: str,
    max_iter: int = MAX_ITER,
    start: np.ndarray | None = None,
    standard_errors: bool = True,
    solver_options: Mapping[str, Any] | None = None,
) -> SemopyFit:
    """Fit a description by ML with L-BFGS-B; everything semopy warns about is kept.

    Cases missing any of the model's observed variables are dropped listwise and the result
    says how many, as `fit_cfa` does: semopy would otherwise keep them, count them in n and
    return a NaN chi-square without a word.

    Parameters
    ----------
    description : str
        The model in semopy's lavaan-like syntax (``=~``, ``~``, ``~~``).
    data : pandas.DataFrame
        One row per respondent, numeric columns only, among them every observed variable of
        the model.
    what : str
        The analysis's name, put in front of every warning and error.
    max_iter : int, default MAX_ITER
        The optimizer's iteration limit.
    start : numpy.ndarray, optional
        Start values of the free parameters (a warm-started refit).
    standard_errors : bool, default True
        Whether to invert the information matrix for standard errors.
    solver_options : mapping, optional
        Options for scipy's L-BFGS-B on top of maxiter (tests tighten ftol/gtol with them to
        compare `hazegov.analysis.ml` with semopy at the optimum).

    Returns
    -------
    SemopyFit
        The fitted model, its parameter table (with lavaan's std.all and their delta-method
        standard errors) and the warnings, among them the number of cases dropped.

    Raises
    ------
    AnalysisError
        On syntax semopy cannot read, observed variables absent from `data`, or fewer
        complete cases than MIN_CASES or than free parameters.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> data = holzinger39.get_data()[["x1", "x2", "x3"]]
    >>> data.loc[data.index[:5], "x2"] = float("nan")
    >>> fit = fit_semopy("visual =~ x1 + x2 + x3", data, what="visual")
    >>> fit.n, fit.warnings
    (296, ['visual: 5 case(s) with missing item values dropped listwise'])
    """
    from scipy import stats

    sink: list[str] = []
    with captured_warnings(sink), captured_logging(sink):
        try:
            model = _ordered_model()(description)
        except Exception as exc:  # semopy raises bare Exceptions/SyntaxErrors on bad syntax
            raise AnalysisError(f"{what}: semopy cannot read the model ({exc})") from None
        data = _complete_observed(data, sorted(model.vars["observed"]), what=what, sink=sink)
        n_free = sum(1 for p in model.parameters.values() if p.active)
        require_cases(len(data), max(MIN_CASES, n_free), what=f"{what} ({n_free} free parameters)")
        model.load(data=data)
        if start is not None:
            model.param_vals = np.array(start, dtype=float)
        options = {"maxiter": max_iter, **(solver_options or {})}
        result = model.fit(solver=SOLVER, options=options)
        locations = _locations(model)
        if standard_errors:
            try:
                vcov = model.calc_fim(inverse=True)[1]
            except np.linalg.LinAlgError:
                vcov = np.full((n_free, n_free), np.nan)
            if getattr(model, "_fim_warn", False):
                sink.append(
                    f"{what}: the information matrix is singular; the model may not be "
                    "identified and its standard errors are unreliable"
                )
        else:
            vcov = np.full((n_free, n_free), np.nan)
    warnings = [w for w in sink if "Solver didnt converge" not in w.replace("'", "")]
    converged = bool(result.success)
    if not converged:
        warnings.append(f"{what}: the optimizer did not converge ({result.message})")
    x = np.array(model.param_vals, dtype=float)
    mats = {
        "beta": model.mx_beta,
        "lambda": model.mx_lambda,
        "psi": model.mx_psi,
        "theta": model.mx_theta,
    }
    estimate = np.array([mats[loc["kind"]][loc["i"], loc["j"]] for loc in locations])
    free = np.array([loc["free"] for loc in locations])
    se = np.array([math.sqrt(max(vcov[f, f], 0.0)) if f >= 0 else math.nan for f in free])
    if standard_errors and np.all(np.isfinite(vcov)):
        std_se = _delta_method_se(model, locations, vcov)
    else:
        std_se = np.full(len(locations), math.nan)
    model.update_matrices(x)
    std = _standardized(model, locations)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = estimate / se
    table = pd.DataFrame(
        {
            "lhs": [loc["lhs"] for loc in locations],
            "op": [loc["op"] for loc in locations],
            "rhs": [loc["rhs"] for loc in locations],
            "free": free,
            "estimate": estimate,
            "se": se,
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "std_estimate": std,
            "std_se": std_se,
        }
    )
    fit = SemopyFit(model, data, converged, str(result.message), table, vcov, warnings)
    fit.warnings.extend(improper_solution_warnings(fit, what=what))
    return fit


def improper_solution_warnings(fit: FittedModel, *, what: str) -> list[str]:
    """Heywood cases and non-positive-definite construct covariances, named.

    Plain arrays rather than pandas row access: this runs after every fit of the simulation and
    the multiverse, where row-wise pandas took half of a fit's time.
    """
    out = []
    sample_var = dict(zip(fit.data.columns, np.var(fit.data.to_numpy(), axis=0), strict=True))
    params = fit.parameters
    lhs, op, rhs = (params[c].to_numpy() for c in ("lhs", "op", "rhs"))
    estimate = params["estimate"].to_numpy(dtype=float)
    std = params["std_estimate"].to_numpy(dtype=float)
    for k in np.flatnonzero((op == "~~") & (lhs == rhs)):
        scale = sample_var.get(lhs[k], 1.0)
        if estimate[k] <= BOUNDARY_SHARE * scale:
            kind = "residual variance of item" if lhs[k] in sample_var else "variance of"
            out.append(
                f"{what}: Heywood case: {kind} {lhs[k]} is {estimate[k]:.3g} (at the lower "
                "bound of zero; an unbounded fit would make it negative)"
            )
    for k in np.flatnonzero(op == "=~"):
        if abs(std[k]) > 1:
            out.append(
                f"{what}: Heywood case: standardized loading of {rhs[k]} on {lhs[k]} is "
                f"{std[k]:.3f} (> 1)"
            )
    inner = fit.inner_cov()
    names = {v: k for k, v in enumerate(inner.index)}
    values = inner.to_numpy()
    latent = set(fit.latent)
    # Constructs whose variance sits on zero are reported above; test the others.
    chosen = [names[v] for v in fit.inner if v in latent and values[names[v], names[v]] > 1e-8]
    if chosen:
        cov = values[np.ix_(chosen, chosen)]
        sd = np.sqrt(np.diag(cov))
        if np.linalg.eigvalsh(cov / np.outer(sd, sd)).min() <= 1e-8:
            out.append(
                f"{what}: the model-implied covariance matrix of the constructs is not "
                "positive definite (a factor correlation at or beyond ±1)"
            )
    return out


# --------------------------------------------------------------------------------------------
# The CFA
# --------------------------------------------------------------------------------------------


@dataclass
class CFAResult:
    """A fitted CFA: lavaan-comparable fit, loadings, factor (co)variances, warnings."""

    model: dict[str, tuple[str, ...]]
    converged: bool
    fit: FitIndices
    loadings: pd.DataFrame
    factor_variances: pd.DataFrame
    factor_covariances: pd.DataFrame
    residual_variances: pd.DataFrame
    sample_cov: pd.DataFrame
    implied_cov: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.fit.n

    def factor_correlation_matrix(self) -> pd.DataFrame:
        constructs = list(self.model)
        out = pd.DataFrame(np.eye(len(constructs)), index=constructs, columns=constructs)
        for row in self.factor_covariances.itertuples():
            out.loc[row.construct_1, row.construct_2] = row.correlation
            out.loc[row.construct_2, row.construct_1] = row.correlation
        return out

    def item_correlations(self) -> pd.DataFrame:
        sd = np.sqrt(np.diag(self.sample_cov.to_numpy()))
        return self.sample_cov / np.outer(sd, sd)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        tables = ("loadings", "factor_variances", "factor_covariances", "residual_variances")
        return fit_frames(self, tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {k: list(v) for k, v in self.model.items()},
            "converged": self.converged,
            "fit": self.fit.to_dict(),
            "loadings": records(self.loadings),
            "factor_variances": records(self.factor_variances),
            "factor_covariances": records(self.factor_covariances),
            "residual_variances": records(self.residual_variances),
            "warnings": list(self.warnings),
        }


def _json_number(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None)."""
    return [{k: _json_number(v) for k, v in row.items()} for row in frame.to_dict("records")]


def fit_cfa(
    frame: pd.DataFrame,
    model: MeasurementModel,
    *,
    estimator: str = "ML",
    max_iter: int = MAX_ITER,
) -> CFAResult:
    """Fit the measurement model by ML (first loading of each construct fixed to 1).

    `hazegov.analysis.ml` estimates it, in semopy's parameterization, to the optimum (semopy's
    L-BFGS-B stops ~1e-4 short of it in relative terms, and takes ~100 times longer). The fit
    measures are lavaan's. Cases missing an item are dropped listwise, and the result says how
    many. Non-convergence, Heywood cases and a non-positive-definite factor covariance matrix
    become result warnings, not errors.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns (at least 2 per construct, each item under one construct).
    estimator : {"ML"}, default "ML"
        The estimator; only maximum likelihood.
    max_iter : int, default MAX_ITER
        The optimizer's iteration limit.

    Returns
    -------
    CFAResult
        ``fit`` (chi2, df, CFI, TLI, RMSEA with its interval, SRMR, logL, AIC, BIC),
        ``loadings`` (unstandardized and standardized, with SEs), factor variances and
        covariances (with correlations), residual variances and ``warnings``.

    Raises
    ------
    AnalysisError
        On too few cases (fewer than MIN_CASES or than free parameters), a zero-variance item or
        a non-positive-definite item correlation matrix.
    ValueError
        On an estimator other than ML.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...          "speed": ["x7", "x8", "x9"]}
    >>> result = fit_cfa(hs, model)
    >>> round(result.fit.chi2, 3), result.fit.df, round(result.fit.cfi, 3)
    (85.306, 24, 0.931)
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator {estimator!r} is not supported; use one of {ESTIMATORS}")
    from hazegov.analysis.ml import MLModel  # ml builds on this module

    what = "CFA"
    spec = checked_model(model, what=what)
    sink: list[str] = []
    data = complete_items(frame, model_items(spec), what=what, sink=sink)
    fit = MLModel(spec).fit(data, what=what, max_iter=max_iter)
    return cfa_result_from_fit(spec, fit, pre_warnings=sink)


def cfa_result_from_fit(
    spec: dict[str, tuple[str, ...]], fit: FittedModel, *, pre_warnings: Sequence[str] = ()
) -> CFAResult:
    """Tidy the loadings and factor (co)variances of a fitted measurement model."""
    params = fit.parameters
    constructs = list(spec)
    order = {c: k for k, c in enumerate(constructs)}
    item_order = {item: k for k, item in enumerate(model_items(spec))}
    load = params[(params["op"] == "=~") & params["lhs"].isin(constructs)].copy()
    load["marker"] = load["free"] < 0
    load = load.sort_values("rhs", key=lambda s: s.map(item_order)).rename(
        columns={"lhs": "construct", "rhs": "item"}
    )
    loadings = load[
        ["construct", "item", "estimate", "se", "z", "p_value", "std_estimate", "std_se", "marker"]
    ].reset_index(drop=True)

    psi = params[(params["op"] == "~~") & params["lhs"].isin(constructs)]
    var = psi[psi["lhs"] == psi["rhs"]].sort_values("lhs", key=lambda s: s.map(order))
    factor_variances = var.rename(columns={"lhs": "construct"})[
        ["construct", "estimate", "se", "z", "p_value"]
    ].reset_index(drop=True)

    factor_covariances = _factor_covariances(psi[psi["lhs"] != psi["rhs"]], order)

    theta = params[(params["op"] == "~~") & params["lhs"].isin(item_order)]
    theta = theta[theta["lhs"] == theta["rhs"]].sort_values("lhs", key=lambda s: s.map(item_order))
    residual_variances = theta.rename(columns={"lhs": "item"})[
        ["item", "estimate", "se", "std_estimate"]
    ].reset_index(drop=True)

    items = fit.observed
    s = pd.DataFrame(sample_covariance(fit.data[items]), index=items, columns=items)
    sigma = pd.DataFrame(fit.implied_cov(), index=items, columns=items)
    ordered = model_items(spec)
    fit_indices = fit.fit_indices()
    warnings = [*pre_warnings, *fit.warnings]
    if fit_indices.df == 0:
        warnings.append(
            "the model is just-identified (df = 0): chi2 is 0 by construction and the fit "
            "indices say nothing about fit"
        )
    return CFAResult(
        model=spec,
        converged=fit.converged,
        fit=fit_indices,
        loadings=loadings,
        factor_variances=factor_variances,
        factor_covariances=factor_covariances,
        residual_variances=residual_variances,
        sample_cov=s.loc[ordered, ordered],
        implied_cov=sigma.loc[ordered, ordered],
        warnings=warnings,
    )


def _factor_covariances(pairs: pd.DataFrame, order: dict[str, int]) -> pd.DataFrame:
    """One row per pair of constructs (in model order): covariance and correlation with SEs."""
    rows = []
    for r in pairs.itertuples():
        a, b = sorted((r.lhs, r.rhs), key=order.__getitem__)
        rows.append(
            {
                "construct_1": a,
                "construct_2": b,
                "covariance": r.estimate,
                "se": r.se,
                "z": r.z,
                "p_value": r.p_value,
                "correlation": r.std_estimate,
                "correlation_se": r.std_se,
            }
        )
    factor_covariances = pd.DataFrame(
        rows,
        columns=[
            "construct_1",
            "construct_2",
            "covariance",
            "se",
            "z",
            "p_value",
            "correlation",
            "correlation_se",
        ],
    )
    if len(factor_covariances):
        factor_covariances = factor_covariances.sort_values(
            ["construct_1", "construct_2"], key=lambda s: s.map(order)
        ).reset_index(drop=True)
    return factor_covariances


# --------------------------------------------------------------------------------------------
# Convergent and discriminant validity
# --------------------------------------------------------------------------------------------


@dataclass
class ConstructValidity:
    """CR, AVE and the Fornell-Larcker criterion per construct; factor r and HTMT per pair."""

    reliability: pd.DataFrame
    pairs: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def fornell_larcker_matrix(self) -> pd.DataFrame:
        """sqrt(AVE) on the diagonal, factor correlations off it (the usual table)."""
        constructs = list(self.reliability["construct"])
        out = pd.DataFrame(np.nan, index=constructs, columns=constructs)
        for row in self.reliability.itertuples():
            out.loc[row.construct, row.construct] = row.sqrt_ave
        for row in self.pairs.itertuples():
            out.loc[row.construct_1, row.construct_2] = row.factor_correlation
            out.loc[row.construct_2, row.construct_1] = row.factor_correlation
        return out

    def htmt_matrix(self) -> pd.DataFrame:
        constructs = list(self.reliability["construct"])
        out = pd.DataFrame(np.nan, index=constructs, columns=constructs)
        for row in self.pairs.itertuples():
            out.loc[row.construct_1, row.construct_2] = row.htmt
            out.loc[row.construct_2, row.construct_1] = row.htmt
        return out

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {
            "reliability": self.reliability,
            "pairs": self.pairs,
            "warnings": pd.DataFrame({"warning": self.warnings}, dtype=object),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "reliability": records(self.reliability),
            "pairs": records(self.pairs),
            "warnings": list(self.warnings),
        }


def htmt(
    correlations: pd.DataFrame,
    items_a: Sequence[str],
    items_b: Sequence[str],
    *,
    absolute: bool = True,
) -> float:
    """Henseler, Ringle & Sarstedt (2015): mean heterotrait r / √(product of mean monotrait r).

    Discriminant validity without a fitted model: values near 1 say two constructs' items are
    as correlated across constructs as within them. With `absolute` (semTools::htmt's default)
    the correlations enter as absolute values, so a negative heterotrait correlation cannot pull
    the ratio down; without it, a non-positive monotrait mean leaves the ratio undefined (NaN).

    Parameters
    ----------
    correlations : pandas.DataFrame
        Item correlation matrix, labelled by item on both axes.
    items_a, items_b : sequence of str
        The items of the two constructs (at least 2 each).
    absolute : bool, default True
        Whether to take absolute correlations.

    Returns
    -------
    float
        The heterotrait-monotrait ratio (NaN when undefined).

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> r = hs[["x1", "x2", "x3", "x4", "x5", "x6"]].corr()
    >>> round(htmt(r, ["x1", "x2", "x3"], ["x4", "x5", "x6"]), 3)
    0.424
    """
    r = correlations.abs() if absolute else correlations
    hetero = r.loc[list(items_a), list(items_b)].to_numpy().mean()

    def mono(items: Sequence[str]) -> float:
        block = r.loc[list(items), list(items)].to_numpy()
        return float(block[np.triu_indices(len(items), k=1)].mean())

    ma, mb = mono(items_a), mono(items_b)
    if ma <= 0 or mb <= 0:
        return math.nan
    return float(hetero / math.sqrt(ma * mb))


def construct_validity(
    result_or_frame: CFAResult | pd.DataFrame,
    model: MeasurementModel,
    *,
    absolute_htmt: bool = True,
) -> ConstructValidity:
    """CR and AVE from standardized loadings, Fornell-Larcker, and HTMT from item correlations.

    CR = (Σλ)² / ((Σλ)² + Σ(1 − λ²)); AVE = mean λ² (Fornell & Larcker 1981), λ = std.all
    loadings. HTMT uses absolute item correlations unless `absolute_htmt` is False (see
    `htmt`). A data frame is first fitted with `fit_cfa`.

    Parameters
    ----------
    result_or_frame : CFAResult or pandas.DataFrame
        A CFA fitted to `model`, or the data to fit it to.
    model : mapping of str to sequence of str
        Construct -> its item columns.
    absolute_htmt : bool, default True
        Whether HTMT takes absolute correlations (semTools' default).

    Returns
    -------
    ConstructValidity
        ``reliability``: one row per construct (CR, AVE, √AVE, the largest factor correlation,
        whether Fornell-Larcker is met); ``pairs``: factor correlation and HTMT per pair of
        constructs; ``warnings``.

    Raises
    ------
    AnalysisError
        When the CFA result was fitted to another model, or as `fit_cfa`.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}
    >>> validity = construct_validity(hs, model)
    >>> validity.pairs[["factor_correlation", "htmt"]].round(2).values.tolist()
    [[0.46, 0.42]]
    """
    spec = checked_model(model, what="construct validity")
    if isinstance(result_or_frame, CFAResult):
        result = result_or_frame
        if result.model != spec:
            raise AnalysisError("construct validity: the CFA result was fitted to another model")
    else:
        result = fit_cfa(result_or_frame, spec)
    warnings = list(result.warnings)
    corr = result.factor_correlation_matrix()
    r_items = result.item_correlations()
    rows = []
    for construct, items in spec.items():
        lam = (
            result.loadings[result.loadings["construct"] == construct]["std_estimate"]
            .to_numpy()
            .astype(float)
        )
        total = lam.sum()
        cr = total**2 / (total**2 + np.sum(1 - lam**2))
        ave = float(np.mean(lam**2))
        others = corr.loc[construct].drop(construct).abs()
        max_r = float(others.max()) if len(others) else math.nan
        rows.append(
            {
                "construct": construct,
                "n_items": len(items),
                "composite_reliability": float(cr),
                "ave": ave,
                "sqrt_ave": math.sqrt(ave),
                "max_abs_factor_correlation": max_r,
                "fornell_larcker_met": bool(math.sqrt(ave) > max_r) if len(others) else None,
            }
        )
    pairs = []
    constructs = list(spec)
    for k, a in enumerate(constructs):
        for b in constructs[k + 1 :]:
            value = htmt(r_items, spec[a], spec[b], absolute=absolute_htmt)
            if math.isnan(value):
                warnings.append(
                    f"HTMT {a}-{b} is undefined: a mean within-construct item correlation is "
                    "not positive (check reverse-coded items)"
                )
            pairs.append(
                {
                    "construct_1": a,
                    "construct_2": b,
                    "factor_correlation": float(corr.loc[a, b]),
                    "htmt": value,
                }
            )
    pairs_frame = pd.DataFrame(
        pairs, columns=["construct_1", "construct_2", "factor_correlation", "htmt"]
    )
    return ConstructValidity(pd.DataFrame(rows), pairs_frame, warnings)
