"""The analysis sample: one missing-data rule, applied once, used by every analysis.

Every analysis family reads the frame this module writes, so the missing-data rule set in config
is applied the same way everywhere and reported once.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hazegov.analysis._common import AnalysisError, MeasurementModel
from hazegov.survey import display

MISSING_DATA_RULES = ("listwise", "person_mean")
NOT_APPLICABLE_CODE = 0  # years in post for respondents who hold no post (skipped by design)


@dataclass
class AnalysisSample:
    frame: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def measurement_model(codebook: Any) -> dict[str, list[str]]:
    """Construct -> its items, in questionnaire order, from the codebook."""
    return {c.id: list(c.items) for c in codebook.constructs}


def apply_missing_data_rule(
    frame: pd.DataFrame,
    model: MeasurementModel,
    rule: str,
    *,
    also_required: Sequence[str] = (),
    min_items_answered: int = 3,
    shown: pd.DataFrame | None = None,
) -> AnalysisSample:
    """Apply the study's missing-data rule to the scale items and the other variables analysed.

    Applied once, upstream of every analysis, so that all of them use the same respondents and
    the rule is reported in one place.

    - ``listwise``: keep respondents with every scale item and every `also_required` variable.
    - ``person_mean``: a missing scale item takes the mean of the respondent's answered items of
      the same scale when at least `min_items_answered` were answered (person-mean imputation,
      Downey & King 1998); then listwise as above. Imputed cells are counted in the report.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent.
    model : mapping of str to sequence of str
        Construct -> its item columns.
    rule : {"listwise", "person_mean"}
        The missing-data rule set in the study's configuration.
    also_required : sequence of str, default ()
        Other variables every kept respondent must have (group, controls).
    min_items_answered : int, default 3
        Under ``person_mean``, the fewest answered items of a scale for its gaps to be filled.
    shown : pandas.DataFrame, optional
        Which items each respondent was shown (`hazegov.survey.display.shown`; bool, indexed as
        `frame`, a column per item with display logic). An item not shown is not applicable:
        it neither drops the respondent nor is imputed (a scale not shown is left unanswered
        and its score missing, as the items' mean needs them), and the report counts it
        apart (``not_shown_by_variable``). None: every item was shown to everyone.

    Returns
    -------
    AnalysisSample
        ``frame``: the kept respondents (index reset); ``report``: the rule, n before and after,
        n dropped, cells imputed and the missing cells left per variable.

    Raises
    ------
    AnalysisError
        On an unknown rule or columns absent from `frame`.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame(
    ...     {"LEAD1": [4, 5, None, 2], "LEAD2": [4, 4, 3, None], "LEAD3": [5, 4, 3, 2]}
    ... )
    >>> sample = apply_missing_data_rule(answers, {"LEAD": ["LEAD1", "LEAD2", "LEAD3"]}, "listwise")
    >>> sample.report["n_after"], sample.report["missing_after_imputation_by_variable"]
    (2, {'LEAD1': 1, 'LEAD2': 1})
    >>> kept = apply_missing_data_rule(
    ...     answers, {"LEAD": ["LEAD1", "LEAD2", "LEAD3"]}, "person_mean", min_items_answered=2
    ... )
    >>> kept.report["n_after"], kept.report["cells_imputed"]
    (4, 2)
    """
    columns = {column: frame[column].array for column in frame.columns}
    applied = _missing_data_rule(
        columns, len(frame), model, rule, also_required, min_items_answered, shown
    )
    # the kept rows built column by column: the items as floats (imputed), the rest as they are
    kept = pd.DataFrame(
        {
            column: applied.item_values(column)
            if column in applied.position
            else values[applied.complete]
            for column, values in columns.items()
        }
    )
    return AnalysisSample(frame=kept, report=applied.report)


@dataclass
class _RuleApplied:
    """The missing-data rule's outcome before a frame is built: the scale items' values
    (imputed) of every respondent, a column per distinct item, which respondents are kept
    (`complete`) and the report."""

    position: dict[str, int]
    values: np.ndarray
    complete: np.ndarray
    report: dict[str, Any]

    def item_values(self, column: str) -> np.ndarray:
        """The kept respondents' values of the item `column`."""
        return self.values[self.complete, self.position[column]]


def _missing_data_rule(
    columns: Mapping[str, Any],
    n: int,
    model: MeasurementModel,
    rule: str,
    also_required: Sequence[str],
    min_items_answered: int,
    shown: pd.DataFrame | None,
) -> _RuleApplied:
    """`apply_missing_data_rule` on the values of a frame's `columns` (name -> array, `n`
    respondents), the items taken as one block of floats: the analysis sample is built from
    arrays, without a frame to read each column from again."""
    if rule not in MISSING_DATA_RULES:
        raise AnalysisError(
            f"unknown missing-data rule {rule!r}; choose one of {MISSING_DATA_RULES}"
        )
    items = [i for construct_items in model.values() for i in construct_items]
    absent = [c for c in [*items, *also_required] if c not in columns]
    if absent:
        raise AnalysisError(f"missing-data rule: columns not in the data: {absent}")
    position = {column: j for j, column in enumerate(dict.fromkeys(items))}
    values = np.empty((n, len(position)), order="F")  # a column contiguous, as in a frame
    for column, j in position.items():
        values[:, j] = _as_float(columns[column])
    required = [*items, *also_required]
    applicable = {
        column: shown[column].to_numpy(dtype=bool)
        for column in required
        if shown is not None and column in shown.columns
    }
    everyone = np.ones(n, dtype=bool)

    def applies_to(columns: Sequence[str]) -> np.ndarray:
        return np.column_stack([applicable.get(c, everyone) for c in columns])

    imputed = 0
    if rule == "person_mean":
        for construct_items in model.values():
            positions = [position[c] for c in construct_items]
            block = np.ascontiguousarray(values[:, positions])  # as np.column_stack gives it
            answered = ~np.isnan(block)
            # only an item shown and left unanswered is a gap to fill
            missing = ~answered & applies_to(construct_items)
            fill = _row_means(block)
            fill[answered.sum(axis=1) < min_items_answered] = np.nan
            holes = missing & ~np.isnan(fill)[:, None]
            imputed += int(holes.sum())
            block[holes] = np.broadcast_to(fill[:, None], block.shape)[holes]
            values[:, positions] = block
    applies = applies_to(required)
    gaps = np.column_stack(
        [
            np.isnan(values[:, position[c]]) if c in position else pd.isna(columns[c])
            for c in required
        ]
    )
    absent_cells = gaps & applies
    complete = ~absent_cells.any(axis=1)
    per_variable = {c: int(n) for c, n in zip(required, absent_cells.sum(axis=0), strict=True) if n}
    n_after = int(complete.sum())
    report = {
        "rule": rule,
        "min_items_answered": min_items_answered if rule == "person_mean" else None,
        "n_before": n,
        "n_after": n_after,
        "n_dropped": n - n_after,
        "cells_imputed": imputed,
        "missing_after_imputation_by_variable": dict(sorted(per_variable.items())),
    }
    if shown is not None:
        hidden = (gaps & ~applies)[complete]
        report["not_shown_by_variable"] = {
            c: int(n) for c, n in sorted(zip(required, hidden.sum(axis=0), strict=True)) if n
        }
        # respondents of the sample shown each scale: the n its scores and analyses rest on
        report["n_shown_by_construct"] = {
            construct: int(applies_to(construct_items)[complete].any(axis=1).sum())
            for construct, construct_items in model.items()
        }
    return _RuleApplied(position, values, complete, report)


def model_items(model: MeasurementModel) -> list[str]:
    """The items of a measurement model, each once, in its order."""
    return list(dict.fromkeys(i for construct_items in model.values() for i in construct_items))


def construct_scores(frame: pd.DataFrame, model: MeasurementModel) -> pd.DataFrame:
    """Mean of each construct's items (reverse-worded items already reversed in the release).

    The score of a construct is the mean of the answered items, the scoring the questionnaire's
    scales were designed for; run `apply_missing_data_rule` first for scores on complete scales.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per respondent, with every item of `model`.
    model : mapping of str to sequence of str
        Construct -> its items.

    Returns
    -------
    pandas.DataFrame
        One column per construct: the mean of the respondent's answered items of it (NaN when
        none is answered), indexed as `frame`.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame(
    ...     {"LEAD1": [4, 5, None, 2], "LEAD2": [4, 4, 3, None], "LEAD3": [5, 4, 3, 2]}
    ... )
    >>> construct_scores(answers, {"LEAD": ["LEAD1", "LEAD2", "LEAD3"]})["LEAD"].round(2).tolist()
    [4.33, 4.33, 3.0, 2.0]
    """
    if not model:
        return pd.DataFrame({})
    items = list(dict.fromkeys(i for construct_items in model.values() for i in construct_items))
    values = frame[items].astype(float).to_numpy()
    position = {item: j for j, item in enumerate(items)}
    return pd.DataFrame(
        {
            construct: _row_means(values[:, [position[i] for i in construct_items]])
            for construct, construct_items in model.items()
        },
        index=frame.index,
    )


def _as_float(values: pd.api.extensions.ExtensionArray | np.ndarray) -> np.ndarray:
    """A column's values as floats, missing as NaN: what `astype("Float64").astype(float)`
    gives."""
    if isinstance(values, pd.arrays.IntegerArray):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(values, pd.arrays.NumpyExtensionArray):  # a frame's column of numpy values
        values = values.to_numpy()
    if values.dtype == np.float64:
        return np.array(values, dtype=np.float64)
    return pd.Series(values).astype("Float64").astype(float).to_numpy()


def _row_means(block: np.ndarray) -> np.ndarray:
    """Mean of each row's non-missing values, NaN where none: pandas' `mean(axis=1)`, which also
    sums the row with missing values as 0 and divides by the count of the others."""
    missing = np.isnan(block)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(missing, 0.0, block).sum(axis=1) / (~missing).sum(axis=1)


def years_in_post_numeric(
    frame: pd.DataFrame, skipped_groups: Sequence[str], column: str = "years_in_post"
) -> pd.Series:
    """Years-in-post band as a number, 0 for respondents who hold no post.

    Residents skip the question by design. Coding them 0 alongside the respondent-sector dummy
    (dummy-variable adjustment for a structurally not-applicable item) keeps them in the models;
    the years effect is then estimated among post holders. Any control a respondent group skips
    by design is coded so; `column` names it (the haze study's is ``years_in_post``).
    """
    years = _skipped_coded(frame[column].array, frame["resp_group"].array, skipped_groups)
    return pd.Series(years, index=frame.index, name=column)


def _skipped_coded(values: Any, resp_group: Any, skipped_groups: Sequence[str]) -> np.ndarray:
    """`years_in_post_numeric` of a column's values and the respondent groups."""
    structural = pd.Series(resp_group).isin(list(skipped_groups)).to_numpy(dtype=bool)
    return np.where(structural, float(NOT_APPLICABLE_CODE), _as_float(values))


def sample_controls(codebook: Any, controls: Sequence[str]) -> list[str]:
    """The configured controls a respondent must have answered to enter the sample.

    Controls are named in config (``analysis.regression.controls``), never here, so that another
    questionnaire's controls work unchanged. Only those the codebook defines are required:
    columns the cleaning step derives from the respondent group (the haze study's ``sector``)
    are complete whenever the group is.
    """
    defined = {v.name for v in codebook.variables}
    return [c for c in controls if c in defined]


def build_analysis_sample(
    analysis: pd.DataFrame,
    codebook: Any,
    rule: str,
    *,
    controls: Sequence[str],
    min_items_answered: int = 3,
) -> AnalysisSample:
    """The frame all analyses use: items, construct scores, the overall rating and controls.

    Parameters
    ----------
    analysis
        The cleaned analysis data set, one row per respondent.
    codebook
        The instrument: it says which items form each scale, which question is the overall
        rating (by its role, whatever its name) and which groups skip a control by design.
    rule
        The missing-data rule, one of `MISSING_DATA_RULES`.
    controls
        The regression's controls from config; those the codebook defines must be answered.
    min_items_answered
        For ``person_mean``: the fewest answered items of a scale that allow imputation.

    Returns
    -------
    AnalysisSample
        The sample with ``score_<construct>`` columns, and the missing-data report.
    """
    return sample_of_columns(
        {column: analysis[column].array for column in analysis.columns},
        len(analysis),
        codebook,
        rule,
        controls=controls,
        min_items_answered=min_items_answered,
    )


def sample_of_columns(
    analysis: dict[str, Any],
    n: int,
    codebook: Any,
    rule: str,
    *,
    controls: Sequence[str],
    min_items_answered: int,
) -> AnalysisSample:
    """`build_analysis_sample` of the analysis data set's columns (name -> values, `n`
    respondents, as `cleaning.analysis_columns` gives them): the sample is built once, from
    arrays, and no column is read back from a frame (the simulation builds one per replication)."""
    model = measurement_model(codebook)
    unknown = [c for c in controls if c not in analysis]
    if unknown:
        raise AnalysisError(
            f"analysis sample: the controls {unknown} (analysis.regression.controls in config) "
            "are not columns of the analysis data set: neither answers the codebook defines nor "
            "columns the cleaning step derives"
        )
    required = sample_controls(codebook, controls)
    columns = dict(analysis)
    # a control some groups skip by design, coded as a number (`years_in_post_numeric`)
    for name in required:
        skipped = codebook.variable(name).skipped_for_groups
        if skipped:
            columns[name] = _skipped_coded(columns[name], columns["resp_group"], skipped)
    rating = codebook.overall_rating.name
    shown = None
    if getattr(codebook, "has_display_logic", False):
        frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
        shown = display.shown(frame, codebook, [*model_items(model), *required, rating])
    applied = _missing_data_rule(
        columns, n, model, rule, [*required, rating], min_items_answered, shown
    )
    complete = applied.complete
    whole_numbers = {
        column
        for column in [*required, rating]
        if not codebook.variable(column).skipped_for_groups
        and getattr(codebook.variable(column), "shown_if", None) is None
    }
    # the kept rows column by column: the items as floats (imputed), the skipped controls as
    # coded, the other controls and the rating as whole numbers, the rest as they are
    out: dict[str, Any] = {}
    for column, values in columns.items():
        kept = applied.item_values(column) if column in applied.position else values[complete]
        out[column] = _as_int64(kept) if column in whole_numbers else kept
    # laid out as `construct_scores` reads them from a frame, so that its sums are the same
    items = np.asfortranarray(applied.values[complete])
    for construct, construct_items in model.items():
        positions = [applied.position[i] for i in construct_items]
        out[f"score_{construct}"] = _row_means(items[:, positions])
    sector = out["sector"]
    sectors = collections.Counter(sector[~pd.isna(sector)].tolist())
    report = applied.report
    report["n_by_sector"] = {str(k): int(sectors[k]) for k in sorted(sectors)}
    return AnalysisSample(frame=pd.DataFrame(out), report=report)


def _as_int64(values: pd.api.extensions.ExtensionArray | np.ndarray) -> np.ndarray:
    """`astype("Int64").astype(np.int64)` of a column's values: the whole numbers of a
    complete column (an error for a missing one), without the intermediate column where they
    are Int64 already."""
    if values.dtype == "Int64":
        return values.to_numpy(dtype=np.int64)
    return pd.Series(values).astype("Int64").astype(np.int64).to_numpy()
