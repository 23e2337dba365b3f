"""A compact maximum-likelihood estimator for the study's structural equation models.

semopy spends ~0.4 s on one fit of the path model, mostly in per-parameter Python loops; the
bootstrap refits, the multiverse and the Monte Carlo simulation fit it thousands of times. This
module fits the same models, in semopy's parameterization, in a few milliseconds:

    Σ = Λ (I − B)⁻¹ Ψ (I − B)⁻ᵀ Λᵀ + Θ

with Λ the loadings (first loading per construct fixed to 1), B the regressions among the inner
variables (constructs and observed covariates), Ψ their (residual) covariances and Θ the residual
item covariances. As in semopy (and lavaan): exogenous constructs covary freely, endogenous ones
get disturbance variances, observed covariates are "fixed x" (their variances and covariances are
the sample moments, not parameters), and every variance is bounded below by zero.

The discrepancy is F = log|Σ| + tr(SΣ⁻¹) − log|S| − p with S the covariance using N in the
denominator (lavaan's and semopy's convention), so χ² = N·F. Each derivative ∂Σ/∂θ_k is a
symmetric rank-two matrix s_k(u vᵀ + v uᵀ), which gives the gradient, the expected information
tr(Σ⁻¹ ∂_kΣ Σ⁻¹ ∂_lΣ) and the Hessian in closed form from a handful of small matrix products.
The optimizer is Newton's method (a Fisher-scoring step where the Hessian is not positive
definite), projected onto the bounds, with a backtracking line search; it reaches the optimum to
~1e-10 in 5-10 iterations. Should it fail, L-BFGS-B takes over from the best point. (semopy's
L-BFGS-B stops earlier, at its default tolerances: its estimates differ from the optimum by up to
~1e-4 relative, χ² by ~1e-8.) Standard errors come from the inverse expected
information (N/2 · tr(...), semopy's `calc_fim` and lavaan's default), standardized estimates are
lavaan's std.all, and their standard errors the delta method with a central-difference Jacobian
(as `hazegov.analysis.cfa` computes them for semopy fits). Everything is plain numpy in a fixed
order: no dependence on the hash seed, thread count aside.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy.linalg import lapack

from hazegov.analysis._common import AnalysisError, require_cases
from hazegov.analysis.cfa import (
    MAX_ITER,
    MIN_CASES,
    FitIndices,
    FitParameterRows,
    GroupMoments,
    improper_solution_warnings,
    ml_fit_indices,
)

# Newton's method stops when no free parameter moves by more than this (relative to max(1, |θ|)).
STEP_TOL = 1e-10
# Newton iterations before L-BFGS-B takes over (it converges in 5-10 on the study's models).
NEWTON_ITER = 100
# Smallest eigenvalue of the unit-diagonal information matrix below which it counts as singular.
SINGULAR_TOL = 1e-11
# Relative step of the central differences in the delta method (as for semopy fits).
DELTA_STEP = 1e-6

_KINDS = ("lambda", "beta", "psi", "theta")
_FREE, _FIXED_DATA = "free", "data"


@dataclass(frozen=True)
class _Row:
    """One parameter location: lavaan's (lhs, op, rhs), matrix position, free index or value."""

    lhs: str
    op: str
    rhs: str
    kind: str
    i: int
    j: int
    free: int  # index into the free-parameter vector, -1 if fixed
    value: float  # fixed value (NaN: taken from the sample covariance)


@functools.cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context with BLAS on one thread: the matrices here are tiny, and OpenBLAS's threads
    only contend (on a busy machine a 20×20 triangular solve took 1 ms instead of 10 µs)."""
    return _controller().limit(limits=1, user_api="blas")


def _cholesky(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor. LAPACK directly: scipy.linalg's triangular solves go multithreaded
    on these tiny matrices and cost a millisecond each on a busy machine."""
    factor, info = lapack.dpotrf(a, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("not positive definite")
    return factor


def _inverse_factor(a: np.ndarray) -> tuple[np.ndarray, float]:
    """L⁻¹ with a = LLᵀ, and log|a|."""
    factor = _cholesky(a)
    inverse, info = lapack.dtrtri(factor, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("singular factor")
    return inverse, 2.0 * float(np.sum(np.log(np.diag(factor))))


def _solve_pd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a⁻¹b for positive definite a."""
    _, x, info = lapack.dposv(a, b, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("not positive definite")
    return x


def _inverse_pd(a: np.ndarray) -> np.ndarray:
    """a⁻¹ for positive definite a (Cholesky, as semopy's `chol_inv`)."""
    inv_l, _ = _inverse_factor(a)  # (dpotri is another one that goes multithreaded)
    return inv_l.T @ inv_l


def _near_singular(information: np.ndarray) -> bool:
    """Whether the information, scaled to unit diagonal, has an eigenvalue ≤ SINGULAR_TOL.

    An unidentified model's information is singular, but rounding can leave it just positive
    definite (eigenvalue ~1e-17), where a Cholesky factor still exists and the SEs come out huge.
    """
    diagonal = np.diag(information)
    if not np.all(diagonal > 0):
        return True
    scaled = information / np.sqrt(np.outer(diagonal, diagonal))
    return bool(np.linalg.eigvalsh(scaled)[0] <= SINGULAR_TOL)


def _frozen(a: np.ndarray) -> np.ndarray:
    """`a`, made read-only: a matrix built once and shared by every call must not be changed."""
    a.flags.writeable = False
    return a


@functools.cache
def _identity(n: int) -> np.ndarray:
    """A read-only n×n identity, shared: Newton's ridge needs one per iteration."""
    return _frozen(np.eye(n))


def _grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for outcome, predictor in pairs:
        out.setdefault(outcome, []).append(predictor)
    return out


def _variable_roles(
    measurement: Mapping[str, tuple[str, ...]],
    regressions: Sequence[tuple[str, str]],
    covariances: Sequence[tuple[str, str]],
) -> tuple[set[str], list[str], set[str], set[str]]:
    """The model's constructs, items, regressed constructs and observed covariates, checked."""
    latents = set(measurement)
    items = [item for its in measurement.values() for item in its]
    if len(set(items)) != len(items) or latents & set(items):
        raise AnalysisError("ML model: an item is listed twice or is also a construct")
    outcomes = {o for o, _ in regressions}
    if outcomes - latents:
        raise AnalysisError(
            f"ML model: only constructs can be regressed: {sorted(outcomes - latents)}"
        )
    covariates = {p for _, p in regressions if p not in latents}
    if covariates & set(items):
        raise AnalysisError(f"ML model: items used as predictors: {sorted(covariates)}")
    for a, b in covariances:
        if {a, b} - latents - covariates - set(items):
            raise AnalysisError(f"ML model: covariance {a} ~~ {b} names unknown variables")
    return latents, items, outcomes, covariates


class MLModel:
    """The structure of one SEM, built once and fitted to any number of data sets.

    Parameters
    ----------
    measurement : mapping of str to sequence of str
        Construct -> its items, in order; the first item is the marker (loading fixed to 1).
    regressions : sequence of (outcome, predictor)
        Structural paths. Outcomes are constructs; predictors are constructs or observed
        covariates (columns that are not items), which enter as fixed x.
    covariances : sequence of (a, b)
        Further free covariances (e.g. between a construct and a covariate).

    Examples
    --------
    >>> model = MLModel({"F": ["a", "b", "c"], "G": ["d", "e", "f"]}, [("G", "F")])
    >>> model.n_free
    13
    >>> [(r.lhs, r.op, r.rhs) for r in model.rows if r.op == "~"]
    [('G', '~', 'F')]
    """

    def __init__(
        self,
        measurement: Mapping[str, Sequence[str]],
        regressions: Sequence[tuple[str, str]] = (),
        covariances: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.measurement = {c: tuple(items) for c, items in measurement.items()}
        self.regressions = [(str(o), str(p)) for o, p in regressions]
        self.covariances = [(str(a), str(b)) for a, b in covariances]
        latents, items, outcomes, covariates = _variable_roles(
            self.measurement, self.regressions, self.covariances
        )
        # semopy's classification and orders: inner = constructs then covariates, each sorted;
        # observed = items then covariates, each sorted.
        exogenous = (latents | covariates) - outcomes
        endogenous = outcomes | set(items)
        self.latent = sorted(latents)
        self.covariates = sorted(covariates)
        self.inner = self.latent + self.covariates
        self.observed = sorted(items) + self.covariates
        self.p, self.k = len(self.observed), len(self.inner)
        cov = self._covariance_structure(latents, exogenous, endogenous)
        rows, lower = self._parameter_rows(cov)
        self.rows = rows
        self.lower = np.array(lower)
        self._variances = np.flatnonzero(self.lower == 0.0)
        self.n_free = len(lower)
        self._index()

    def _covariance_structure(
        self, latents: set[str], exogenous: set[str], endogenous: set[str]
    ) -> dict[str, dict[str, Any]]:
        """Which (co)variances the model has, each free, fixed or taken from the data, grouped
        by the variable that first names them, in semopy's order."""
        cov: dict[str, dict[str, Any]] = {}
        for a, b in self.covariances:
            cov.setdefault(a, {})[b] = _FREE
        for v in self.covariates:
            cov.setdefault(v, {}).setdefault(v, _FIXED_DATA)
        for v in sorted(endogenous | latents):
            cov.setdefault(v, {}).setdefault(v, _FREE)
        for a, b in combinations(self.covariates, 2):
            if a not in cov.setdefault(b, {}) and b not in cov.setdefault(a, {}):
                cov[a][b] = _FIXED_DATA
        for a, b in combinations(sorted(exogenous & latents), 2):
            if b not in cov[a] and a not in cov[b]:
                cov[a][b] = _FREE
        return cov

    def _parameter_rows(self, cov: dict[str, dict[str, Any]]) -> tuple[list[_Row], list[float]]:
        """Every parameter location, in semopy's order, and each free one's lower bound."""
        inner_ix = {v: n for n, v in enumerate(self.inner)}
        obs_ix = {v: n for n, v in enumerate(self.observed)}
        rows: list[_Row] = []
        lower: list[float] = []

        def add(lhs: str, op: str, rhs: str, kind: str, i: int, j: int, how: Any) -> None:
            if how == _FREE:
                free = len(lower)
                lower.append(0.0 if kind in ("psi", "theta") and i == j else -np.inf)
                value = math.nan
            else:
                free = -1
                value = math.nan if how == _FIXED_DATA else float(how)
            rows.append(_Row(lhs, op, rhs, kind, i, j, free, value))

        # Parameters in semopy's order: loadings, regressions, then covariances grouped by the
        # variable that first names them (explicit ones, covariates, constructs and items).
        for construct, its in self.measurement.items():
            for position, item in enumerate(its):
                how = 1.0 if position == 0 else _FREE
                add(construct, "=~", item, "lambda", obs_ix[item], inner_ix[construct], how)
        for outcome, predictors in _grouped(self.regressions).items():
            for predictor in predictors:
                i, j = inner_ix[outcome], inner_ix[predictor]
                add(outcome, "~", predictor, "beta", i, j, _FREE)
        for a, targets in cov.items():
            for b, how in targets.items():
                if a in inner_ix and b in inner_ix:
                    add(a, "~~", b, "psi", inner_ix[a], inner_ix[b], how)
                elif a in obs_ix and b in obs_ix and a not in inner_ix and b not in inner_ix:
                    add(a, "~~", b, "theta", obs_ix[a], obs_ix[b], how)
                else:
                    raise AnalysisError(f"ML model: covariance {a} ~~ {b} mixes items and inner")
        return rows, lower

    # ----------------------------------------------------------------------------- structure

    def _index(self) -> None:
        """Index arrays for filling matrices and for the rank-two derivatives of Σ."""
        p, k = self.p, self.k
        free = [r for r in self.rows if r.free >= 0]
        self._fill = {
            kind: (
                np.array([r.i for r in free if r.kind == kind], dtype=int),
                np.array([r.j for r in free if r.kind == kind], dtype=int),
                np.array([r.free for r in free if r.kind == kind], dtype=int),
            )
            for kind in _KINDS
        }
        lam0 = np.zeros((p, k))
        for v in self.covariates:  # covariates measure themselves
            lam0[self.observed.index(v), self.inner.index(v)] = 1.0
        for r in self.rows:
            if r.free < 0 and r.kind == "lambda":
                lam0[r.i, r.j] = r.value
        self._lam0 = lam0
        self._data_psi = [
            (r.i, r.j, self.observed.index(r.lhs), self.observed.index(r.rhs))
            for r in self.rows
            if r.free < 0 and r.kind == "psi" and math.isnan(r.value)
        ]
        # ∂Σ/∂θ = s (u vᵀ + v uᵀ) with u, v columns of [I_p | ΛC | ΛCΨCᵀ] (loading λ_ij:
        # e_i and column j of ΛCΨCᵀ; path b_ij: column i of ΛC and column j of ΛCΨCᵀ;
        # ψ_ij: columns i, j of ΛC; θ_ij: e_i, e_j), s = ½ on a variance. cu, cv index them.
        cu = np.zeros(self.n_free, dtype=int)
        cv = np.zeros(self.n_free, dtype=int)
        scale = np.ones(self.n_free)
        for r in free:
            if r.kind == "lambda":
                cu[r.free], cv[r.free] = r.i, p + k + r.j
            elif r.kind == "beta":
                cu[r.free], cv[r.free] = p + r.i, p + k + r.j
            elif r.kind == "psi":
                cu[r.free], cv[r.free] = p + r.i, p + r.j
            else:
                cu[r.free], cv[r.free] = r.i, r.j
            if r.kind in ("psi", "theta") and r.i == r.j:
                scale[r.free] = 0.5
        self._cu, self._cv, self._scale = cu, cv, scale
        self._info_scale = 2.0 * np.outer(scale, scale)
        self._second_derivative_index(free)
        self._rows_kind = np.array([_KINDS.index(r.kind) for r in self.rows])
        self._rows_i = np.array([r.i for r in self.rows], dtype=int)
        self._rows_j = np.array([r.j for r in self.rows], dtype=int)
        self._rows_free = np.array([r.free for r in self.rows], dtype=int)
        self._beta_rows = [n for n, r in enumerate(self.rows) if r.kind == "beta"]
        self._rows_names = {
            name: [getattr(r, name) for r in self.rows] for name in ("lhs", "op", "rhs")
        }
        # identities of every call of the objective, built once (read-only: they are shared)
        self._eye_p, self._eye_k = _frozen(np.eye(p)), _frozen(np.eye(k))

    def _second_derivative_index(self, free: list[_Row]) -> None:
        """Where the columns of ΛC and ΛCΨCᵀ move with each parameter (for the Hessian).

        ∂(ΛC)/∂λ_ab = e_a C[b,:]; ∂(ΛC)/∂b_ab = (ΛC)[:,a] C[b,:]; ∂(ΛG)/∂λ_ab = e_a G[b,:];
        ∂(ΛG)/∂b_ab = (ΛC)[:,a] G[b,:] + (ΛG)[:,b] Cᵀ[a,:]; ∂(ΛG)/∂ψ_ab = (ΛC)[:,a] Cᵀ[b,:]
        (+ (ΛC)[:,b] Cᵀ[a,:] off the diagonal), with G = CΨCᵀ. Each term is a column of
        [I | ΛC | ΛG] ("pool") times a row of [C; G; Cᵀ] ("coef").
        """
        p, k = self.p, self.k
        terms: dict[str, list[list[tuple[int, int, int]]]] = {"M": [[], []], "N": [[], []]}
        for r in free:
            a, b = r.i, r.j
            if r.kind == "lambda":
                listing = {"M": [(a, b)], "N": [(a, k + b)]}
            elif r.kind == "beta":
                listing = {"M": [(p + a, b)], "N": [(p + a, k + b), (p + k + b, 2 * k + a)]}
            elif r.kind == "psi":
                pairs = [(p + a, 2 * k + b)] + ([(p + b, 2 * k + a)] if a != b else [])
                listing = {"M": [], "N": pairs}
            else:
                listing = {"M": [], "N": []}
            for block, found in listing.items():
                for slot, (pool, coef) in enumerate(found):
                    terms[block][slot].append((r.free, pool, coef))
        self._hess_terms = []
        for block, offset in (("M", p), ("N", p + k)):
            for slot in range(2):
                if not terms[block][slot]:
                    continue
                ls = np.array([t[0] for t in terms[block][slot]], dtype=int)
                pools = np.array([t[1] for t in terms[block][slot]], dtype=int)
                coefs = np.array([t[2] for t in terms[block][slot]], dtype=int)
                for mine, other in ((self._cu, self._cv), (self._cv, self._cu)):
                    ks = np.flatnonzero((mine >= offset) & (mine < offset + k))
                    if len(ks):
                        blocks = np.ix_(ks, ls), np.ix_(other[ks], pools)
                        self._hess_terms.append((*blocks, mine[ks] - offset, coefs))

    def sample_moments(self, data: pd.DataFrame) -> np.ndarray:
        """S of the observed columns in the model's order, N in the denominator."""
        missing = [c for c in self.observed if c not in data.columns]
        if missing:
            raise AnalysisError(f"ML model: columns not in the data: {missing}")
        values = data[self.observed].to_numpy(dtype=float)
        return np.atleast_2d(np.cov(values, rowvar=False, ddof=0))

    def _base(self, s: np.ndarray) -> tuple[np.ndarray, ...]:
        """B, Λ, Ψ, Θ with the fixed entries in place (covariate moments from S)."""
        beta = np.zeros((self.k, self.k))
        psi = np.zeros((self.k, self.k))
        for i, j, a, b in self._data_psi:
            psi[i, j] = psi[j, i] = s[a, b]
        return beta, self._lam0.copy(), psi, np.zeros((self.p, self.p))

    def matrices(self, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
        """B, Λ, Ψ, Θ at parameter vector `x` (covariate moments from `s`)."""
        mats = self._base(s)
        for kind, mat in zip(_KINDS, (mats[1], mats[0], mats[2], mats[3]), strict=True):
            rows, cols, idx = self._fill[kind]
            mat[rows, cols] = x[idx]
            if kind in ("psi", "theta"):
                mat[cols, rows] = x[idx]
        return mats

    def start(self, s: np.ndarray) -> np.ndarray:
        """Loadings from the regression on the marker, half of each variance to the residual."""
        x = np.zeros(self.n_free)
        obs_ix = {v: n for n, v in enumerate(self.observed)}
        marker = {c: obs_ix[its[0]] for c, its in self.measurement.items()}
        for r in self.rows:
            if r.free < 0:
                continue
            if r.kind == "lambda":
                m = marker[r.lhs]
                x[r.free] = s[m, r.i] / s[m, m]
            elif r.kind == "theta" and r.i == r.j:
                x[r.free] = 0.5 * s[r.i, r.i]
            elif r.kind == "psi" and r.i == r.j:
                name = self.inner[r.i]
                where = marker[name] if name in marker else obs_ix[name]
                x[r.free] = 0.5 * s[where, where]
        return x

    # ----------------------------------------------------------------------------- objective

    def _sigma(self, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
        beta, lam, psi, theta = self.matrices(x, s)
        c = np.linalg.inv(self._eye_k - beta)
        m = lam @ c
        sigma = m @ psi @ m.T + theta
        return sigma, m, c, psi, lam

    def discrepancy(self, x: np.ndarray, s: np.ndarray, logdet_s: float) -> float:
        """F_ML at `x` (infinite where Σ is not positive definite)."""
        try:
            inv_l, logdet = _inverse_factor(self._sigma(x, s)[0])
        except (np.linalg.LinAlgError, ValueError):
            return math.inf
        tr = float(np.einsum("ij,ij->", inv_l @ s, inv_l))
        return logdet + tr - logdet_s - self.p

    def _derivatives(
        self,
        x: np.ndarray,
        s: np.ndarray,
        logdet_s: float,
        *,
        info: bool = True,
        hessian: bool = False,
    ) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """F, its gradient, the expected information tr(Σ⁻¹∂_kΣ Σ⁻¹∂_lΣ) and the Hessian.

        With u, v whitened by Σ = LLᵀ and S̃ = L⁻¹SL⁻ᵀ: ∂_kF = 2s_k u_kᵀ(I − S̃)v_k, and
        ∂²F = −info + 2 tr(M_k S̃ M_l) + tr(W ∂²_klΣ), M_k = L⁻¹∂_kΣL⁻ᵀ, W = Σ⁻¹(Σ − S)Σ⁻¹.
        """
        sigma, m, c, psi, lam = self._sigma(x, s)
        inv_l, logdet = _inverse_factor(sigma)
        s_w = inv_l @ s @ inv_l.T  # whitened S
        f = logdet + float(np.trace(s_w)) - logdet_s - self.p
        cpc = c @ psi @ c.T
        z = inv_l @ np.hstack([self._eye_p, m, lam @ cpc])  # L⁻¹[I | ΛC | ΛCΨCᵀ]
        u, v = z[:, self._cu], z[:, self._cv]
        resid = self._eye_p - s_w
        grad = 2.0 * self._scale * np.einsum("ij,ij->j", u, resid @ v)
        if not (info or hessian):
            return f, grad, None, None
        uu, vv, uv = u.T @ u, v.T @ v, u.T @ v
        vu = uv.T
        information = self._info_scale * (uu * vv + uv * vu)
        if not hessian:
            return f, grad, information, None
        su, sv = s_w @ u, s_w @ v
        t = (v.T @ su) * uv + (v.T @ sv) * uu + (u.T @ su) * vv + (u.T @ sv) * vu
        hess = 2.0 * (0.5 * self._info_scale) * t - information
        a = z.T @ resid @ z  # [I | ΛC | ΛG]ᵀ W [I | ΛC | ΛG]
        coef = np.vstack([c, cpc, c.T])
        q2 = np.zeros_like(hess)
        for target, source, cols, coefs in self._hess_terms:
            q2[target] += coef[coefs][:, cols].T * a[source]
        q2 *= 2.0 * self._scale[:, None]
        hess += 0.5 * (q2 + q2.T)
        return f, grad, information, hess

    # ----------------------------------------------------------------------------- optimizer

    def estimate(
        self, s: np.ndarray, *, start: np.ndarray | None = None, max_iter: int = MAX_ITER
    ) -> Solution:
        """Minimize F for the sample covariance `s` (in the model's `observed` order).

        Parameters
        ----------
        s : ndarray
            Sample covariance matrix, N in the denominator.
        start : ndarray, optional
            Start values (e.g. another fit's estimates, for bootstrap refits); default the
            model's own (`start`).
        max_iter : int
            Iteration limit of each optimizer (Newton, then L-BFGS-B if needed).

        Returns
        -------
        Solution
            The estimates, F at them, whether the optimizer converged, and how.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> f = rng.standard_normal((200, 1))
        >>> items = f @ [[1.0, 0.8, 0.6]] + rng.normal(0, 0.5, (200, 3))
        >>> data = pd.DataFrame(items, columns=list("abc"))
        >>> model = MLModel({"F": ["a", "b", "c"]})
        >>> solution = model.estimate(model.sample_moments(data))
        >>> solution.converged, round(solution.f, 12)
        (True, 0.0)
        """
        with one_blas_thread():
            return self._estimate(s, start, max_iter)

    def _estimate(self, s: np.ndarray, start: np.ndarray | None, max_iter: int) -> Solution:
        logdet_s = float(np.linalg.slogdet(s)[1])
        x0 = self.start(s) if start is None else np.array(start, dtype=float)
        if x0.shape != (self.n_free,):
            raise ValueError(f"start has shape {x0.shape}, the model {self.n_free} parameters")
        x0 = np.maximum(x0, self.lower)
        if not math.isfinite(self.discrepancy(x0, s, logdet_s)) and start is not None:
            x0 = np.maximum(self.start(s), self.lower)
        solution = self._newton(x0, s, logdet_s, min(max_iter, NEWTON_ITER))
        if solution.converged and not np.any(solution.x[self._variances] <= 0.0):
            return solution
        if solution.converged:  # a variance on its bound: a poorer optimum is possible there
            other = self._lbfgsb(x0, s, logdet_s, max_iter)
            if other.converged and other.f < solution.f - 1e-10 * (1.0 + abs(solution.f)):
                polished = self._newton(other.x, s, logdet_s, min(max_iter, NEWTON_ITER))
                return polished if polished.converged and polished.f <= other.f else other
            return solution
        # Where Newton stalled may be a poor basin (a factor variance pinned at zero): L-BFGS-B
        # starts again from the start values as well as from there, and the lower F wins.
        tries = [self._lbfgsb(x0, s, logdet_s, max_iter)]
        if not np.array_equal(solution.x, x0):
            tries.append(self._lbfgsb(solution.x, s, logdet_s, max_iter))
        finite = [t for t in tries if math.isfinite(t.f)] or tries
        fallback = min(finite, key=lambda t: (not t.converged, t.f))
        if fallback.converged:
            # polish: Newton from L-BFGS-B's point reaches the optimum to STEP_TOL
            polished = self._newton(fallback.x, s, logdet_s, min(max_iter, NEWTON_ITER))
            if polished.converged:
                return Solution(
                    polished.x,
                    polished.f,
                    True,
                    f"{fallback.message}; then {polished.message}",
                    solution.iterations + fallback.iterations + polished.iterations,
                )
            return fallback
        better = fallback if fallback.f <= solution.f else solution
        return Solution(
            better.x,
            better.f,
            False,
            f"{solution.message}; L-BFGS-B: {fallback.message}",
            solution.iterations + fallback.iterations,
        )

    def _newton(self, x: np.ndarray, s: np.ndarray, logdet_s: float, limit: int) -> Solution:
        """Fisher scoring until a step is taken in full, then Newton's method with the analytic
        Hessian (scoring again wherever it is not positive definite); projected onto the bounds
        (a variance at zero stays there while the gradient pushes it down), backtracking on F.

        Newton steps far from the optimum overshoot into the bounds (a factor variance of zero
        leaves its loadings without information); scoring is the steadier start.
        """
        lower = self.lower
        f = math.inf
        newton = False
        for iteration in range(1, limit + 1):
            try:
                f, grad, info, hess = self._derivatives(x, s, logdet_s, hessian=newton)
            except (np.linalg.LinAlgError, ValueError):
                return Solution(x, f, False, "Newton: Σ is not positive definite", iteration - 1)
            assert info is not None
            free = ~((x <= lower) & (grad > 0))
            # all free (the usual case): the whole matrices, which LAPACK copies as it would
            # the blocks
            block = (slice(None), slice(None)) if free.all() else np.ix_(free, free)
            ridge = 1e-8 * np.mean(np.diag(info)[free]) * _identity(int(free.sum()))
            candidates = [info[block], info[block] + ridge]
            if hess is not None:
                candidates.insert(0, hess[block])
            step = np.zeros_like(x)
            for matrix in candidates:
                try:
                    step[free] = _solve_pd(matrix, -grad[free])
                    break
                except (np.linalg.LinAlgError, ValueError):
                    continue
            else:
                message = "Newton: the information matrix is singular"
                return Solution(x, f, False, message, iteration)
            if not np.all(np.isfinite(step)):
                return Solution(x, f, False, "Newton: non-finite step", iteration)
            done = np.max(np.abs(step) / np.maximum(1.0, np.abs(x)), initial=0.0) <= STEP_TOL
            t = 1.0
            for _ in range(60):
                trial = np.maximum(x + t * step, lower)
                f_trial = self.discrepancy(trial, s, logdet_s)
                # Armijo on the projected step, with room for rounding near the optimum
                if f_trial <= f + 1e-4 * float(grad @ (trial - x)) + 1e-13 * (1.0 + abs(f)):
                    break
                t *= 0.5
            else:
                return Solution(x, f, False, "Newton: the line search failed", iteration)
            x, f = trial, f_trial
            newton = newton or t == 1.0
            if done:
                return Solution(
                    x, f, True, f"Newton converged in {iteration} iterations", iteration
                )
        return Solution(x, f, False, f"Newton: {limit} iterations without convergence", limit)

    def _lbfgsb(self, x: np.ndarray, s: np.ndarray, logdet_s: float, max_iter: int) -> Solution:
        """scipy's L-BFGS-B with the analytic gradient and tight tolerances: the fallback."""

        def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
            try:
                f, grad, _, _ = self._derivatives(z, s, logdet_s, info=False)
            except (np.linalg.LinAlgError, ValueError):
                return 1e10, np.zeros_like(z)
            return f, grad

        bounds = [(low if math.isfinite(low) else None, None) for low in self.lower]
        result = optimize.minimize(
            objective,
            x,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "maxfun": 10 * max_iter, "ftol": 1e-15, "gtol": 1e-10},
        )
        f = self.discrepancy(result.x, s, logdet_s)
        converged = bool(result.success) and math.isfinite(f)
        return Solution(result.x, f, converged, str(result.message), int(result.nit))

    # ----------------------------------------------------------------------------- solutions

    def _batch(self, xs: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
        """Matrices of many parameter vectors at once: B, Λ, Ψ, Θ, CΨCᵀ, diag Σ."""
        n = xs.shape[0]
        mats = [np.repeat(m[None], n, axis=0) for m in self._base(s)]
        beta, lam, psi, theta = mats
        for kind, mat in zip(_KINDS, (lam, beta, psi, theta), strict=True):
            rows, cols, idx = self._fill[kind]
            mat[:, rows, cols] = xs[:, idx]
            if kind in ("psi", "theta"):
                mat[:, cols, rows] = xs[:, idx]
        c = np.linalg.inv(np.eye(self.k)[None] - beta)
        inner = c @ psi @ np.swapaxes(c, 1, 2)
        sigma_diag = np.einsum("nij,njk,nik->ni", lam, inner, lam) + np.diagonal(
            theta, axis1=1, axis2=2
        )
        return beta, lam, psi, theta, inner, sigma_diag

    def standardized(self, xs: np.ndarray, s: np.ndarray) -> np.ndarray:
        """lavaan's std.all of every row of `rows`, for each parameter vector in `xs`."""
        xs = np.atleast_2d(xs)
        beta, lam, psi, theta, inner, sigma_diag = self._batch(xs, s)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd_obs = np.sqrt(sigma_diag)
            sd_inner = np.sqrt(np.diagonal(inner, axis1=1, axis2=2))
            out = np.empty((xs.shape[0], len(self.rows)))
            kind, i, j = self._rows_kind, self._rows_i, self._rows_j
            for code, mat, left, right in (
                (0, lam, sd_inner, sd_obs),  # λ · sd(factor) / sd(item)
                (1, beta, sd_inner, sd_inner),  # b · sd(predictor) / sd(outcome)
            ):
                sel = kind == code
                out[:, sel] = mat[:, i[sel], j[sel]] * left[:, j[sel]] / right[:, i[sel]]
            for code, mat, sd in ((2, psi, sd_inner), (3, theta, sd_obs)):
                sel = kind == code
                out[:, sel] = mat[:, i[sel], j[sel]] / (sd[:, i[sel]] * sd[:, j[sel]])
        return out

    def path_values(self, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unstandardized and std.all coefficients of the regressions, in `regression_rows`."""
        rows = self._beta_rows
        std = self.standardized(x, s)[0, rows]
        raw = x[self._rows_free[rows]]
        return raw, std

    @property
    def regression_rows(self) -> list[tuple[str, str]]:
        """(outcome, predictor) of each regression row, in the order of `path_values`."""
        return [(self.rows[n].lhs, self.rows[n].rhs) for n in self._beta_rows]

    def information(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Expected information of F per case: tr(Σ⁻¹ ∂_kΣ Σ⁻¹ ∂_lΣ)."""
        logdet_s = float(np.linalg.slogdet(s)[1])
        info = self._derivatives(x, s, logdet_s)[2]
        assert info is not None
        return info

    def _delta_method_se(self, x: np.ndarray, s: np.ndarray, vcov: np.ndarray) -> np.ndarray:
        """SEs of std.all: central-difference Jacobian (step 1e-6·max(1, |θ|)) × vcov."""
        h = DELTA_STEP * np.maximum(1.0, np.abs(x))
        shifts = np.diag(h)
        values = self.standardized(np.vstack([x + shifts, x - shifts]), s)
        q = self.n_free
        jac = ((values[:q] - values[q:]) / (2 * h)[:, None]).T
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, vcov, jac), 0.0, None))

    def fit(
        self,
        data: pd.DataFrame,
        *,
        what: str,
        start: np.ndarray | None = None,
        max_iter: int = MAX_ITER,
        standard_errors: bool = True,
    ) -> MLFit:
        """Fit the model to the complete cases in `data`: estimates, SEs, std.all, warnings.

        Parameters
        ----------
        data : DataFrame
            Complete numeric data with every `observed` column (others are ignored).
        what : str
            Name of the analysis, for errors and warnings.
        start : ndarray, optional
            Start values (another fit's `x`); the optimum does not depend on them.
        max_iter : int
            Iteration limit of the optimizer.
        standard_errors : bool
            Whether to compute the information matrix, SEs and delta-method std SEs.

        Returns
        -------
        MLFit
            With a parameter table in `SemopyFit`'s layout.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> f = rng.standard_normal((200, 1))
        >>> items = f @ [[1.0, 0.8, 0.6]] + rng.normal(0, 0.5, (200, 3))
        >>> data = pd.DataFrame(items, columns=list("abc"))
        >>> fit = MLModel({"F": ["a", "b", "c"]}).fit(data, what="example")
        >>> fit.converged, fit.fit_indices().df
        (True, 0)
        """
        n_free = self.n_free
        require_cases(len(data), max(MIN_CASES, n_free), what=f"{what} ({n_free} free parameters)")
        with one_blas_thread():
            return self._fit(data, what, start, max_iter, standard_errors)

    def _fit(
        self,
        data: pd.DataFrame,
        what: str,
        start: np.ndarray | None,
        max_iter: int,
        standard_errors: bool,
    ) -> MLFit:
        s = self.sample_moments(data)
        solution, vcov, warnings = self._solve(s, len(data), what, start, max_iter, standard_errors)
        x = solution.x
        beta, lam, psi, theta = self.matrices(x, s)
        mats = (lam, beta, psi, theta)
        estimate = np.array([mats[_KINDS.index(r.kind)][r.i, r.j] for r in self.rows])
        everything = slice(None)
        columns = self._columns(x, s, vcov, estimate, everything, standard_errors)
        table = pd.DataFrame({**self._rows_names, "free": self._rows_free, **columns})
        result = MLFit(
            self,
            data[self.observed],
            s,
            x,
            solution.converged,
            solution.message,
            table,
            vcov,
            warnings,
        )
        result.warnings.extend(improper_solution_warnings(result, what=what))
        return result

    def _solve(
        self,
        s: np.ndarray,
        n_cases: int,
        what: str,
        start: np.ndarray | None,
        max_iter: int,
        standard_errors: bool,
    ) -> tuple[Solution, np.ndarray, list[str]]:
        """The optimum for S, the covariance of the estimates (NaN without SEs) and the warnings
        about them: what `fit` and `fit_regressions` share."""
        n_free = self.n_free
        solution = self._estimate(s, start, max_iter)
        warnings: list[str] = []
        vcov = np.full((n_free, n_free), np.nan)
        if standard_errors:
            fim = 0.5 * n_cases * self.information(solution.x, s)
            try:
                if _near_singular(fim):
                    raise np.linalg.LinAlgError("singular information")
                vcov = _inverse_pd(fim)
            except (np.linalg.LinAlgError, ValueError):
                vcov = np.linalg.pinv(fim)  # as semopy: the Moore-Penrose inverse
                warnings.append(
                    f"{what}: the information matrix is singular; the model may not be "
                    "identified and its standard errors are unreliable"
                )
        if not solution.converged:
            warnings.append(f"{what}: the optimizer did not converge ({solution.message})")
        return solution, vcov, warnings

    def _columns(
        self,
        x: np.ndarray,
        s: np.ndarray,
        vcov: np.ndarray,
        estimate: np.ndarray,
        rows: slice | list[int],
        standard_errors: bool,
    ) -> dict[str, np.ndarray]:
        """The parameter table's numeric columns for `rows` (positions in `self.rows`).

        std.all and its delta-method SE are computed for every row and then picked, so that a
        subset's numbers are those of the whole table to the bit.
        """
        free = self._rows_free[rows]
        se = np.array([math.sqrt(max(vcov[f, f], 0.0)) if f >= 0 else math.nan for f in free])
        if standard_errors and np.all(np.isfinite(vcov)):
            std_se = self._delta_method_se(x, s, vcov)[rows]
        else:
            std_se = np.full(len(free), math.nan)
        std = self.standardized(x, s)[0, rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = estimate / se
        return {
            "estimate": estimate,
            "se": se,
            "z": z,
            "p_value": 2 * special.ndtr(-np.abs(z)),  # the normal tail, as stats.norm.sf
            "std_estimate": std,
            "std_se": std_se,
        }

    def fit_regressions(
        self,
        data: pd.DataFrame,
        *,
        what: str,
        start: np.ndarray | None = None,
        max_iter: int = MAX_ITER,
    ) -> RegressionFit:
        """The regression rows of `fit` alone, the same numbers to the bit, without the rest of
        the parameter table, the fit object and its improper-solution warnings: the simulation
        refits the path model thousands of times and reads only these.

        Parameters
        ----------
        data, what, start, max_iter
            As for `fit` (standard errors are always computed). S comes from the DataFrame as
            in `fit`: np.cov's sums follow the array's memory layout, which pandas decides, so
            the same numbers in a hand-built array could differ in the last bit.

        Returns
        -------
        RegressionFit
            The regression rows' estimate, se, z, p_value, std_estimate and std_se, and
            whether the optimizer converged.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> f = rng.standard_normal((200, 1))
        >>> g = 0.5 * f + rng.standard_normal((200, 1))
        >>> items = np.hstack([f @ [[1.0, 0.8, 0.6]], g @ [[1.0, 0.7, 0.9]]])
        >>> data = pd.DataFrame(items + rng.normal(0, 0.5, (200, 6)), columns=list("abcdef"))
        >>> model = MLModel({"F": ["a", "b", "c"], "G": ["d", "e", "f"]}, [("G", "F")])
        >>> lean = model.fit_regressions(data, what="example")
        >>> full = model.fit(data, what="example").rows("~").iloc[0]
        >>> lean.rows, bool(lean.row("G", "F")["std_se"] == full["std_se"])
        ([('G', 'F')], True)
        """
        n_free = self.n_free
        require_cases(len(data), max(MIN_CASES, n_free), what=f"{what} ({n_free} free parameters)")
        with one_blas_thread():
            s = self.sample_moments(data)
            solution, vcov, _ = self._solve(s, len(data), what, start, max_iter, True)
            rows = self._beta_rows
            estimate = solution.x[self._rows_free[rows]]  # B's entries are these, copied
            columns = self._columns(solution.x, s, vcov, estimate, rows, True)
        return RegressionFit(self.regression_rows, solution.converged, solution.message, columns)


@dataclass(frozen=True)
class RegressionFit:
    """The regression rows of a fit (`MLModel.fit_regressions`): (outcome, predictor) pairs in
    `MLModel.regression_rows` order, and the parameter table's numeric columns for them."""

    rows: list[tuple[str, str]]
    converged: bool
    message: str
    columns: dict[str, np.ndarray]

    def row(self, outcome: str, predictor: str) -> dict[str, float]:
        """One path's estimate, se, z, p_value, std_estimate and std_se."""
        k = self.rows.index((outcome, predictor))
        return {name: float(values[k]) for name, values in self.columns.items()}


@dataclass(frozen=True)
class Solution:
    """Where the optimizer stopped: estimates, F, convergence, message, iterations."""

    x: np.ndarray
    f: float
    converged: bool
    message: str
    iterations: int


@dataclass
class MLFit(FitParameterRows):
    """A fitted `MLModel`, with the interface of `hazegov.analysis.cfa.SemopyFit`.

    `parameters` has one row per parameter location: lhs, op (=~, ~, ~~), rhs, free (index into
    `x`, or -1), estimate, se, z, p_value, std_estimate (std.all) and std_se, in semopy's order.
    """

    model: MLModel
    data: pd.DataFrame
    sample_cov: np.ndarray
    x: np.ndarray
    converged: bool
    message: str
    parameters: pd.DataFrame
    vcov: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def n_free(self) -> int:
        return self.model.n_free

    @property
    def observed(self) -> list[str]:
        return list(self.model.observed)

    @property
    def inner(self) -> list[str]:
        return list(self.model.inner)

    @property
    def latent(self) -> list[str]:
        return list(self.model.latent)

    def implied_cov(self) -> np.ndarray:
        """Σ at the estimates, in `observed` order."""
        return self.model._sigma(self.x, self.sample_cov)[0]

    def fit_indices(self) -> FitIndices:
        group = GroupMoments(self.n, self.sample_cov, self.implied_cov())
        return ml_fit_indices([group], self.n_free, mean_structure=False)

    def inner_cov(self) -> pd.DataFrame:
        """Model-implied covariance of the inner variables (total, not residual)."""
        _, _, c, psi, _ = self.model._sigma(self.x, self.sample_cov)
        return pd.DataFrame(c @ psi @ c.T, index=self.inner, columns=self.inner)
