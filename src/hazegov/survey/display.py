"""Display logic: which items each respondent was shown, from the codebook's `shown_if`.

An item a respondent was not shown is not applicable, not missing (issue 14: items hidden by
design were counted as non-response, so the item non-response rule flagged 36 respondents
where 4 had skipped, and listwise deletion dropped the third who never saw one block). The
ingest, the exclusion rules and the missing-data rule all ask this module, so that they agree
on what was shown.

A condition's test reads the variable's answer code; a respondent without one (the question
unanswered, or itself not shown) has no code, so ``in`` does not hold and ``not_in`` does.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from hazegov.survey.codebook import Codebook, ShownIf, Variable


def _codes(frame: pd.DataFrame, var: Variable) -> np.ndarray:
    """The variable's answer codes as floats (NaN: none), read from a column of codes or, in
    the analysis data set, of option ids (the respondent group is released by its ids)."""
    column = frame[var.name]
    if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
        by_id = {o.id: float(o.code) for o in var.options if o.id is not None}
        if by_id and column.dropna().isin(list(by_id)).all():
            return column.map(by_id).astype(float).to_numpy()
    return pd.to_numeric(column, errors="coerce").astype(float).to_numpy()


def holds(condition: ShownIf, frame: pd.DataFrame, cb: Codebook) -> np.ndarray:
    """Whether the condition holds for each respondent (row) of `frame`.

    Parameters
    ----------
    condition
        A display condition of the codebook.
    frame
        Respondents with the columns the condition tests (codes, or option ids).
    cb
        The codebook, for the tested variables' options.

    Returns
    -------
    numpy.ndarray
        One bool per row.
    """
    if condition.combine is not None:
        parts = [holds(part, frame, cb) for part in condition.parts]
        reduce = np.logical_and if condition.combine == "all" else np.logical_or
        return reduce.reduce(parts, axis=0)
    values = _codes(frame, cb.variable(str(condition.variable)))
    among = np.isin(values, np.asarray(condition.codes, dtype=float))
    return ~among if condition.negate else among


def shown(frame: pd.DataFrame, cb: Codebook, items: Iterable[str]) -> pd.DataFrame:
    """Which of `items` each respondent was shown (True: shown, or no condition).

    Parameters
    ----------
    frame
        Respondents: the ingested responses or the cleaned analysis data set, which keeps the
        variables display conditions test (`Codebook.display_variables`).
    cb
        The codebook with the items' display conditions.
    items
        Item (variable) names.

    Returns
    -------
    pandas.DataFrame
        Bool, one column per item, indexed as `frame`.
    """
    out = {}
    for name in items:
        condition = cb.variable(name).shown_if
        out[name] = (
            np.ones(len(frame), dtype=bool) if condition is None else holds(condition, frame, cb)
        )
    return pd.DataFrame(out, index=frame.index, columns=list(out))


def describe(condition: ShownIf, cb: Codebook) -> str:
    """A display condition in words, both languages' labels of the codes named, for the
    questionnaire appendix: "Experimental arm (arm) is 2 第2组 (Arm 2) or 3 第3组 (Arm 3)"
    (English labels only in an English-only codebook: "... is 2 Arm 2 or 3 Arm 3")."""
    if condition.combine is not None:
        joiner = " and " if condition.combine == "all" else " or "
        parts = [describe(part, cb) for part in condition.parts]
        return joiner.join(f"({p})" if len(parts) > 1 else p for p in parts)
    var = cb.variable(str(condition.variable))
    label = {
        o.code: f"{o.code} {o.zh} ({o.en})" if o.zh else f"{o.code} {o.en}" for o in var.options
    }
    codes = " or ".join(label[c] for c in condition.codes)
    return f"{var.text_en} ({var.name}) is {'not ' if condition.negate else ''}{codes}"


def not_shown_counts(frame: pd.DataFrame, cb: Codebook, items: Iterable[str]) -> dict[str, int]:
    """Respondents not shown each item, for the items some respondents were not shown."""
    mask = shown(frame, cb, items)
    return {name: int(n) for name, n in (~mask).sum().items() if n}


__all__ = ["describe", "holds", "not_shown_counts", "shown"]
