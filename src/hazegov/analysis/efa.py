"""Exploratory factor analysis of the questionnaire items (factor_analyzer, tidy results).

Extraction is factor_analyzer's; the rotation is applied here with its `Rotator` so that the
factor correlations (Phi) follow the factors when they are re-signed and re-ordered
(factor_analyzer 0.5.1 re-orders the loadings but not Phi), and communalities come from the
unrotated solution (factor_analyzer sums squared pattern loadings, wrong for oblique rotations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from factor_analyzer.rotator import OBLIQUE_ROTATIONS, POSSIBLE_ROTATIONS, Rotator

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.factorability import (
    HEYWOOD_COMMUNALITY,
    UNIQUENESS_LOWER_BOUND,
    complete_items,
    fit_factor_analyzer,
)

ExtractionMethod = Literal["minres", "ml"]


@dataclass(frozen=True)
class EfaResult:
    """A fitted, rotated factor solution with its warnings."""

    n_factors: int
    method: str
    rotation: str | None  # None when unrotated (also for a single factor)
    n: int
    loadings: pd.DataFrame  # pattern loadings, items x factor_1..factor_m
    structure: pd.DataFrame | None  # item-factor correlations; None unless oblique
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame  # factor, ss_loadings, proportion, cumulative
    factor_correlations: pd.DataFrame | None  # Phi; None unless oblique
    warnings: list[str] = field(default_factory=list)

    def loadings_long(self) -> pd.DataFrame:
        """One row per item and factor: pattern (and, if oblique, structure) loading."""
        long = self.loadings.rename_axis("item").reset_index()
        long = long.melt(id_vars="item", var_name="factor", value_name="loading")
        if self.structure is not None:
            structure = self.structure.rename_axis("item").reset_index()
            structure = structure.melt(id_vars="item", var_name="factor", value_name="structure")
            long = long.merge(structure, on=["item", "factor"], how="left")
        return long

    def to_frame(self) -> pd.DataFrame:
        """One row per item: pattern loadings (wide), communality and uniqueness."""
        out = self.loadings.copy()
        out["communality"] = self.communalities
        out["uniqueness"] = self.uniquenesses
        return out.rename_axis("item").reset_index()


def _rotate(
    unrotated: np.ndarray, rotation: str, max_iter: int, notes: list[str]
) -> tuple[np.ndarray, np.ndarray | None]:
    rotator = Rotator(method=rotation, max_iter=max_iter)
    rotated = rotator.fit_transform(unrotated.copy())
    # Rotator stops silently at max_iter; one more allowed step changes nothing iff it converged
    check = Rotator(method=rotation, max_iter=max_iter + 1).fit_transform(unrotated.copy())
    if not np.array_equal(rotated, check):
        notes.append(f"{rotation} rotation did not converge within {max_iter} iterations")
    phi = rotator.phi_ if rotation in OBLIQUE_ROTATIONS else None
    return np.asarray(rotated), None if phi is None else np.asarray(phi)


def _check_identified(n_factors: int, p: int, what: str) -> None:
    """Refuse more factors than `p` items identify (model df below 0)."""
    dof = ((p - n_factors) ** 2 - (p + n_factors)) / 2
    if n_factors < 1 or dof < 0:
        largest = max(m for m in range(p + 1) if ((p - m) ** 2 - (p + m)) >= 0)
        raise AnalysisError(
            f"{what}: {n_factors} factors cannot be identified from {p} items "
            f"(model df {dof:g} < 0); at most {largest} factors"
        )


def _signed_and_ordered(
    loadings: np.ndarray, phi: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Factors signed so their loadings sum positive, ordered by the variance they account for
    (diag(Φ Λ'Λ) when oblique, else the SS loadings): loadings, Φ and that variance."""
    signs = np.where(loadings.sum(axis=0) < 0, -1.0, 1.0)
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
        ss = np.diag(phi @ loadings.T @ loadings)
    else:
        ss = (loadings**2).sum(axis=0)
    order = np.argsort(-ss, kind="stable")
    loadings, ss = loadings[:, order], ss[order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    return loadings, phi, ss


def exploratory_factor_analysis(
    frame: pd.DataFrame,
    items: Sequence[str],
    n_factors: int,
    *,
    rotation: str | None = "oblimin",
    method: ExtractionMethod = "minres",
    rotation_max_iter: int = 500,
) -> EfaResult:
    """EFA by minres or maximum likelihood, rotated (oblimin by default: constructs correlate).

    Factors are signed so that their pattern loadings sum positive and ordered by the variance
    they account for. For oblique rotations that variance is diag(Φ Λ'Λ), as psych reports it,
    so the SS loadings add up to the total communality; for orthogonal ones it is the column sum
    of squared loadings. Needs complete data and a model with df >= 0. Non-convergence (of the
    extraction or the rotation) and Heywood cases (communality >= 0.99: uniqueness at the
    optimizer's bound of 0.005 or a loading beyond 1) come back as warnings in the result.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent, complete on `items`.
    items : sequence of str
        The item columns.
    n_factors : int
        The number of factors (e.g. from `parallel_analysis`).
    rotation : str or None, default "oblimin"
        A factor_analyzer rotation ("oblimin", "promax", "varimax", ...) or None.
    method : {"minres", "ml"}, default "minres"
        The extraction.
    rotation_max_iter : int, default 500
        The rotation's iteration limit.

    Returns
    -------
    EfaResult
        Pattern ``loadings`` (items x factor_1..factor_m), ``structure`` and
        ``factor_correlations`` (oblique rotations), ``communalities``, ``uniquenesses``,
        ``variance`` and ``warnings``.

    Raises
    ------
    AnalysisError
        On missing values, too few cases, a zero-variance item, a non-positive-definite
        correlation matrix, an unknown rotation or more factors than the items identify.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> efa = exploratory_factor_analysis(hs, [f"x{k}" for k in range(1, 10)], 3)
    >>> efa.loadings.idxmax(axis=1).str.replace("factor_", "").tolist()  # each item's factor
    ['2', '2', '2', '1', '1', '1', '3', '3', '3']
    """
    what = "exploratory factor analysis"
    if method not in ("minres", "ml"):
        raise AnalysisError(f"{what}: method must be 'minres' or 'ml', not {method!r}")
    if rotation is not None and rotation not in POSSIBLE_ROTATIONS:
        raise AnalysisError(
            f"{what}: unknown rotation {rotation!r}; choose one of {POSSIBLE_ROTATIONS} or None"
        )
    data = complete_items(frame, items, what=what)
    n, p = data.shape
    _check_identified(n_factors, p, what)
    notes: list[str] = []
    fitted = fit_factor_analyzer(
        data.to_numpy(), notes, n_factors=n_factors, rotation=None, method=method
    )
    unrotated = np.asarray(fitted.loadings_)
    communalities = (unrotated**2).sum(axis=1)  # invariant under any rotation
    used_rotation = rotation if n_factors > 1 else None
    phi: np.ndarray | None = None
    loadings = unrotated
    if used_rotation is not None:
        loadings, phi = _rotate(unrotated, used_rotation, rotation_max_iter, notes)
    loadings, phi, ss = _signed_and_ordered(loadings, phi)
    factors = [f"factor_{j + 1}" for j in range(n_factors)]
    items_index = pd.Index(data.columns, name="item")
    structure = None
    factor_correlations = None
    if phi is not None:
        factor_correlations = pd.DataFrame(phi, index=factors, columns=factors)
        structure = pd.DataFrame(loadings @ phi, index=items_index, columns=factors)
    proportion = ss / p
    variance = pd.DataFrame(
        {
            "factor": factors,
            "ss_loadings": ss,
            "proportion": proportion,
            "cumulative": np.cumsum(proportion),
        }
    )
    heywood = [
        item
        for item, h2 in zip(data.columns, communalities, strict=True)
        if h2 >= HEYWOOD_COMMUNALITY
    ]
    if heywood:
        notes.append(
            f"Heywood case: communality >= {HEYWOOD_COMMUNALITY} for {heywood} (uniqueness at "
            f"the lower bound {UNIQUENESS_LOWER_BOUND}); the solution is improper"
        )
    return EfaResult(
        n_factors=n_factors,
        method=method,
        rotation=used_rotation,
        n=n,
        loadings=pd.DataFrame(loadings, index=items_index, columns=factors),
        structure=structure,
        communalities=pd.Series(communalities, index=items_index, name="communality"),
        uniquenesses=pd.Series(1 - communalities, index=items_index, name="uniqueness"),
        variance=variance,
        factor_correlations=factor_correlations,
        warnings=notes,
    )
