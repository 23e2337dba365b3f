"""Item-level description of Likert answers: location, spread, shape, floor/ceiling, missingness.

Reported before any scale analysis, because skewed or piled-up items bias correlations and thus
alpha, omega and factor solutions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hazegov.analysis._common import AnalysisError, numeric_items

ITEM_STATISTICS_COLUMNS = [
    "item",
    "n",
    "mean",
    "sd",
    "skewness",
    "excess_kurtosis",
    "floor_share",
    "ceiling_share",
    "missing_share",
    "warnings",
]


def item_statistics(
    frame: pd.DataFrame,
    items: Sequence[str],
    *,
    scale_min: float = 1,
    scale_max: float = 5,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """One row per item: n, mean, sd (ddof=1), skewness, excess kurtosis, floor/ceiling, missing.

    Skewness and excess kurtosis are the bias-adjusted sample estimators G1 and G2 (as SPSS, SAS
    and pandas ``.skew()``/``.kurt()`` report), not the moment estimators g1/g2. Floor and
    ceiling shares are shares of the answered cases at `scale_min` / `scale_max` (the lowest and
    highest codes the item allows, not the lowest and highest observed); the missing share is of
    all rows. Answers outside the scale raise `AnalysisError` (a miscoded item would otherwise
    pass as a real answer). Statistics an item cannot support (G1 needs 3 answers, G2 needs 4,
    both need variance) are NaN with the reason in ``warnings``, never a number pandas makes up
    (pandas reports 0 skewness for a constant item).

    `ranges` gives an item its own (lowest, highest) code; items it does not name use
    `scale_min` / `scale_max`. An instrument may mix 5- and 7-point items, and the floor of a
    7-point item is not at the 5-point item's lowest code.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        The item columns.
    scale_min, scale_max : float, default 1 and 5
        The lowest and highest answer codes of the items' scale.
    ranges : mapping of str to (float, float), optional
        An item's own lowest and highest codes, where they differ from the scale's.

    Returns
    -------
    pandas.DataFrame
        Columns ``item``, ``n``, ``mean``, ``sd``, ``skewness``, ``excess_kurtosis``,
        ``floor_share``, ``ceiling_share``, ``missing_share`` and ``warnings``.

    Raises
    ------
    AnalysisError
        On unknown or non-numeric columns, or answers outside the scale.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({"LEAD1": [4, 5, None, 2], "LEAD3": [5, 4, 3, 2]})
    >>> table = item_statistics(answers, ["LEAD1", "LEAD3"])
    >>> table[["item", "n", "mean", "missing_share"]].round(2).values.tolist()
    [['LEAD1', 3, 3.67, 0.25], ['LEAD3', 4, 3.5, 0.0]]
    """
    own = dict(ranges or {})
    for item, (lo, hi) in [("every item", (scale_min, scale_max)), *own.items()]:
        if not lo < hi:
            which = "" if item == "every item" else f" of {item!r}"
            raise AnalysisError(f"item statistics: scale_min {lo} must be < scale_max {hi}{which}")
    doubled = sorted({i for i in items if list(items).count(i) > 1})
    if doubled:
        raise AnalysisError(f"item statistics: items listed more than once: {doubled}")
    data = numeric_items(frame, items, what="item statistics")
    rows = []
    for item in data.columns:
        lowest, highest = own.get(item, (scale_min, scale_max))
        answers = data[item].dropna()
        outside = answers[(answers < lowest) | (answers > highest)]
        if not outside.empty:
            raise AnalysisError(
                f"item statistics: {item!r} has answers outside the {lowest:g}–{highest:g} "
                f"scale: {sorted(outside.unique().tolist())}"
            )
        n = int(answers.size)
        notes: list[str] = []
        sd = float(answers.std(ddof=1)) if n >= 2 else float("nan")
        skewness = kurtosis = float("nan")
        if n < 2:
            notes.append(f"{n} answers: sd needs at least 2")
        elif not sd > 0:
            notes.append("zero variance: skewness and kurtosis undefined")
        else:
            if n >= 3:
                skewness = float(answers.skew())
            else:
                notes.append(f"{n} answers: skewness needs at least 3")
            if n >= 4:
                kurtosis = float(answers.kurt())
            else:
                notes.append(f"{n} answers: kurtosis needs at least 4")
        rows.append(
            {
                "item": item,
                "n": n,
                "mean": float(answers.mean()) if n else float("nan"),
                "sd": sd,
                "skewness": skewness,
                "excess_kurtosis": kurtosis,
                "floor_share": float((answers == lowest).mean()) if n else float("nan"),
                "ceiling_share": float((answers == highest).mean()) if n else float("nan"),
                "missing_share": float(data[item].isna().mean()) if len(data) else float("nan"),
                "warnings": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=ITEM_STATISTICS_COLUMNS).astype({"n": np.int64})
