"""The one number formatter: every number a table, a caption or the prose shows is written here.

`num` (a statistic), `pct` (a share as a percentage), `fmt_p` and `fmt_p_op` (p-values, APA
style) and `fmt_ci` (a confidence interval). `hazegov.paper.tables` lays the formatted cells out.
"""

from __future__ import annotations

import math


def _missing(value: object) -> bool:
    return value is None or not math.isfinite(float(value))  # type: ignore[arg-type]


def num(value: object, digits: int = 2, missing: str | None = None, thousands: bool = False) -> str:
    """`value` rounded to `digits` decimals, never "-0.00"; thousands separated if asked.

    A missing value (None, NaN, an infinity) reads `missing` when it is given (NaN otherwise
    reads "nan").

    Examples
    --------
    >>> num(-0.001), num(1234.5, 1, thousands=True), num(None, missing="–")
    ('0.00', '1,234.5', '–')
    """
    if missing is not None and _missing(value):
        return missing
    rounded = round(float(value), digits)  # type: ignore[arg-type]
    rounded = rounded + 0.0 if rounded == 0 else rounded
    return f"{rounded:,.{digits}f}" if thousands else f"{rounded:.{digits}f}"


def pct(share: object, digits: int = 1, missing: str | None = None) -> str:
    """A share (0.123) as a percentage without the sign ("12.3"), as :func:`num` writes it.

    Examples
    --------
    >>> pct(0.1234), pct(1.0, 0), pct(None, missing="–")
    ('12.3', '100', '–')
    """
    if missing is not None and _missing(share):
        return missing
    return num(100 * float(share), digits)  # type: ignore[arg-type]


def fmt_p(p: object) -> str:
    """APA style: no leading zero, < .001 below that."""
    value = float(p)  # type: ignore[arg-type]
    if value != value:
        return ""
    if value < 0.001:
        return "< .001"
    return f"{value:.3f}".lstrip("0")


def fmt_p_op(p: object) -> str:
    """A p-value for prose after 'p': '= .023' or '< .001'."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def fmt_ci(low: float, high: float, digits: int = 2) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"
