"""What every analysis shares: its error, result warnings, and input checks."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from hazegov.errors import AnalysisError

MeasurementModel = Mapping[str, Sequence[str]]  # construct -> its item columns, in order


@contextlib.contextmanager
def captured_warnings(sink: list[str]) -> Iterator[None]:
    """Turn library warnings into result warnings, so they are reported instead of lost."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        message = f"{w.category.__name__}: {w.message}"
        if message not in sink:
            sink.append(message)


def numeric_items(frame: pd.DataFrame, items: Sequence[str], *, what: str) -> pd.DataFrame:
    """The item columns as floats; refuses unknown columns and non-numeric data."""
    missing = [c for c in items if c not in frame.columns]
    if missing:
        raise AnalysisError(f"{what}: columns not in the data: {missing}")
    out = frame.loc[:, list(items)]
    if all(
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in out.dtypes
    ):
        return out.astype(float)  # already numeric: to_numeric would change nothing
    try:
        return out.apply(pd.to_numeric, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{what}: non-numeric values in the item columns ({exc})") from None


def require_cases(n: int, needed: int, *, what: str) -> None:
    if n < needed:
        raise AnalysisError(f"{what}: {n} usable cases, at least {needed} needed")


def zero_variance(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not np.nanvar(frame[c].to_numpy(dtype=float)) > 0]


def require_variance(frame: pd.DataFrame, *, what: str) -> None:
    flat = zero_variance(frame)
    if flat:
        raise AnalysisError(f"{what}: items with zero variance: {flat}")


def require_positive_definite(matrix: np.ndarray, *, what: str, tol: float = 1e-10) -> None:
    eigenvalues = np.linalg.eigvalsh(np.asarray(matrix, dtype=float))
    if eigenvalues.min() <= tol:
        raise AnalysisError(
            f"{what}: the correlation matrix is not positive definite "
            f"(smallest eigenvalue {eigenvalues.min():.3g})"
        )
