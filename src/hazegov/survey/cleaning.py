"""Exclusion rules, the participant flow, reverse coding and the released analysis data set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hazegov.errors import ConfigError
from hazegov.survey import display
from hazegov.survey.codebook import Codebook

# Order in which exclusion rules are applied; each sees only what the previous ones kept.
EXCLUSION_ORDER = (
    "duplicates",
    "attention_check",
    "min_duration",
    "straight_lining",
    "item_nonresponse",
)
RULE_LABELS = {
    "duplicates": "Duplicate of an earlier submission",
    "attention_check": "Failed the attention check",
    "min_duration": "Completion time below the minimum",
    "straight_lining": "Straight-lining across the Likert items",
    "item_nonresponse": "Too many Likert items left unanswered",
}


@dataclass
class CleanedSurvey:
    analysis: pd.DataFrame
    flow: pd.DataFrame
    flags: pd.DataFrame


def _flag_duplicates(
    frame: pd.DataFrame, cb: Codebook, kept: np.ndarray | None = None
) -> pd.Series:
    """Submissions (of those `kept`, default all) whose answers, read as text ("<NA>" for
    none) and compared as `_comparable` gives them, repeat an earlier one's."""
    rows = np.arange(len(frame)) if kept is None else np.flatnonzero(kept)
    keys = np.ascontiguousarray(
        np.hstack([_answer_key(frame[name]) for name in cb.answer_columns])[rows]
    )
    # a submission's keys as one bytes string: equal exactly where every key is
    rows_as_bytes = pd.Series([row.tobytes() for row in keys], dtype=object)
    return pd.Series(rows_as_bytes.duplicated(keep="first").to_numpy(), index=frame.index[rows])


def _answer_key(column: pd.Series) -> np.ndarray:
    """Integer columns equal (row by row) where the column's texts (`astype("string")`,
    missing as "<NA>", compared as `_comparable` gives them) are.

    64-bit whole numbers are equal as text where they are equal as numbers, and no number
    reads "<NA>": they are kept, with a second column marking the missing ones. Text columns
    are coded with missing as "<NA>"; other columns through their text.
    """
    if column.dtype == "Int64":
        answers = column.array
        return np.column_stack([answers.to_numpy(dtype=np.int64, na_value=0), answers.isna()])
    if column.dtype == np.int64:
        return column.to_numpy()[:, None]
    if not isinstance(column.dtype, pd.StringDtype):
        column = column.astype("string")
    codes, texts = pd.factorize(column.fillna("<NA>"))
    return pd.factorize(comparable_texts(pd.Index(texts, dtype="string")))[0][codes][:, None]


def comparable_texts(texts: pd.Index) -> pd.Index:
    """Texts as a reader compares them: width-insensitive (NFKC: full-width letters, digits
    and the ideographic space U+3000 as their ASCII forms) and without whitespace.

    A submission sent twice, once with a space typed (or pasted with an ideographic space) in
    a free-text answer, is the same submission; the ingest compares answer labels the same
    way. Applied to the distinct texts of a column only.
    """
    return texts.str.normalize("NFKC").str.replace(r"\s+", "", regex=True)


def _flag_attention(frame: pd.DataFrame, cb: Codebook, rule: dict[str, Any]) -> pd.Series:
    failed = pd.Series(False, index=frame.index)
    for check in cb.attention_checks:
        answer = frame[check.name]
        wrong = answer.ne(check.expected_code).fillna(False).astype(bool)
        missing = answer.isna() if rule.get("missing_counts_as_failure", True) else False
        if check.shown_if is not None:  # a check not shown is neither passed nor failed
            missing = missing & display.holds(check.shown_if, frame, cb)
        failed |= wrong | missing
    return failed


def needed_duration(cb: Codebook, columns: pd.Index | None = None) -> str:
    """The completion-time column `exclusions.min_duration` reads; a clear error without one.

    Platform columns are optional (a Qualtrics export may leave its duration out): the
    completion time is needed only when the rule is enabled, and then its absence, from the
    codebook or from the export read, is said naming the config key and the codebook.

    Parameters
    ----------
    cb
        The codebook, whose platform column with role duration_seconds is the completion time.
    columns
        The columns of the responses read, or None to check the codebook only.

    Returns
    -------
    str
        The name of the completion-time column.
    """
    duration = cb.duration
    if duration is None:
        raise ConfigError.single(
            cb.path,
            "min-duration-needs-duration",
            "exclusions.min_duration is enabled, but the codebook "
            f"{cb.path} declares no platform column with role duration_seconds: add one "
            "(the platform's completion time in whole seconds, as the Wenjuanxing and "
            "Qualtrics presets do) or disable exclusions.min_duration",
            column="exclusions.min_duration",
        )
    if columns is not None and duration.name not in columns:
        raise ConfigError.single(
            cb.path,
            "min-duration-needs-duration",
            "exclusions.min_duration is enabled, but the export read had no "
            f"{duration.header!r} column ({duration.name}, role duration_seconds in the "
            f"codebook {cb.path}): export the completion time, or disable "
            "exclusions.min_duration",
            column="exclusions.min_duration",
        )
    return duration.name


def modal_share(frame: pd.DataFrame, items: list[str]) -> pd.Series:
    """Share of a respondent's answered Likert items that carry their most frequent answer.

    Parameters
    ----------
    frame
        One row per respondent.
    items
        The columns compared; missing answers are left out.

    Returns
    -------
    pandas.Series
        Per row, the count of the most frequent answer over the count of answered items
        (float; NaN where no item is answered), indexed as `frame`.
    """
    try:  # column by column: taking the columns as one frame first costs more than the rest
        data = np.column_stack(
            [frame[item].to_numpy(dtype=float, na_value=np.nan) for item in items]
        )
    except (TypeError, ValueError):  # answers that are not numbers: row by row
        return frame[items].apply(_row_modal_share, axis=1).astype(float)
    answered = np.count_nonzero(~np.isnan(data), axis=1)
    # Sorted, equal answers are adjacent (missing ones last, equal to nothing): the longest run
    # of equal neighbours is the count of the most frequent answer.
    data = np.sort(data, axis=1)
    longest = np.minimum(answered, 1)
    run = np.ones(len(data), dtype=np.int64)
    for j in range(1, data.shape[1]):
        run = np.where(data[:, j] == data[:, j - 1], run + 1, 1)
        longest = np.maximum(longest, run)
    share = np.full(len(data), np.nan)
    some = answered > 0
    share[some] = longest[some] / answered[some]
    return pd.Series(share, index=frame.index, dtype=float)


def _row_modal_share(row: pd.Series) -> float:
    answered = row.dropna()
    return float(answered.value_counts().iloc[0] / len(answered)) if len(answered) else np.nan


def _straight_lining_shares(frame: pd.DataFrame, cb: Codebook) -> pd.Series:
    """The modal share of each respondent's shown, answered Likert items (`modal_share`).

    An item not shown has no answer (the ingest sets any it has to missing), so the modal
    share is over the items the respondent was shown and answered; masked here as well for
    responses that did not come through the ingest.
    """
    items = [v.name for v in cb.likert_items]
    answers = frame
    if cb.has_display_logic:
        answers = frame[items].where(display.shown(frame, cb, items))
    return modal_share(answers, items)


def _unanswered_shares(frame: pd.DataFrame, cb: Codebook) -> np.ndarray:
    """The share of the Likert items they were shown that respondents left unanswered; an item
    not shown (display logic) is not applicable, not non-response."""
    items = [v.name for v in cb.likert_items]
    if not cb.has_display_logic:
        unanswered = np.column_stack([frame[item].isna().to_numpy() for item in items])
        return unanswered.mean(axis=1)  # as DataFrame.mean: the count over the items
    shown = display.shown(frame, cb, items).to_numpy()
    unanswered = (frame[items].isna().to_numpy() & shown).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = unanswered / shown.sum(axis=1)
    # a respondent shown no Likert item left none unanswered
    return np.nan_to_num(share, nan=0.0)


def apply_exclusions(responses: pd.DataFrame, cb: Codebook, rules: dict[str, Any]) -> CleanedSurvey:
    """Apply the configured exclusion rules in order and count the participant flow.

    Each rule sees only the submissions the rules before it kept. The rules that judge a
    submission by its own answers (attention check, completion time, straight-lining, item
    non-response) are evaluated for all submissions at once and read for those kept; the
    duplicate rule, which compares submissions, on those kept.

    Parameters
    ----------
    responses
        The ingested responses (one row per submission).
    cb
        The codebook: answer columns, attention checks, Likert items.
    rules
        The configured rules by name (see `EXCLUSION_ORDER`), each with `enabled` and its
        settings.

    Returns
    -------
    CleanedSurvey
        The analysis data set (reverse-coded, no identifying columns), the participant flow
        and which rule excluded each submission.
    """
    verdict = exclusion_verdict(responses, cb, rules)
    analysis = analysis_frame(verdict.frame, verdict.kept, cb)
    return CleanedSurvey(
        analysis=analysis, flow=pd.DataFrame(verdict.flow), flags=pd.DataFrame(verdict.flags)
    )


@dataclass
class ExclusionVerdict:
    """What the exclusion rules decided: the submissions in their order (`frame`), which are
    kept, and the participant flow and each rule's flags (as `apply_exclusions` reports them)."""

    frame: pd.DataFrame
    kept: np.ndarray
    flow: list[dict[str, Any]]
    flags: dict[str, Any]


# What each rule reads of a submission before comparing it with the rule's threshold.
RULE_MEASURES = {
    "duplicates": "duplicate",
    "attention_check": "attention_failed",
    "min_duration": "duration",
    "straight_lining": "modal_share",
    "item_nonresponse": "missing_share",
}
# The setting a rule compares its measure with; a rule's other settings decide the measure.
RULE_THRESHOLDS = {
    "min_duration": "seconds",
    "straight_lining": "min_modal_share",
    "item_nonresponse": "max_missing_share",
}


def measured_settings(rules: Mapping[str, Any]) -> dict[str, Any]:
    """The exclusion settings the measures of `exclusion_measures` depend on: the rules
    without their thresholds. Two settings equal here give the same measures."""
    return {
        name: {k: v for k, v in dict(rule).items() if k != RULE_THRESHOLDS.get(name)}
        for name, rule in rules.items()
    }


def exclusion_measures(
    responses: pd.DataFrame, cb: Codebook, rules: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The submissions in the rules' order and what each enabled rule measures of them.

    The measures (one column per enabled rule, `RULE_MEASURES`) are whether a submission
    repeats an earlier one, whether it failed the attention check, its completion time, the
    modal share of its Likert answers and the share it left unanswered. They do not depend on
    the rules' thresholds (`measured_settings`), so a changed threshold is judged from kept
    measures (`judge_measures`) without reading the answers again.

    The duplicate rule, first in `EXCLUSION_ORDER`, compares every submission: no rule before
    it has excluded any.
    """
    duration = None
    if rules.get("min_duration", {}).get("enabled", False):
        duration = needed_duration(cb, responses.columns)
    frame = ordered_submissions(responses, cb)
    measures: dict[str, Any] = {}
    for name in EXCLUSION_ORDER:
        rule = rules.get(name, {"enabled": False})
        if not rule.get("enabled", False):
            continue
        if name == "duplicates":
            measure: Any = _flag_duplicates(frame, cb)
        elif name == "attention_check":
            measure = _flag_attention(frame, cb, rule)
        elif name == "min_duration":
            measure = frame[duration]
        elif name == "straight_lining":
            measure = _straight_lining_shares(frame, cb)
        else:
            measure = _unanswered_shares(frame, cb)
        measures[RULE_MEASURES[name]] = measure
    return frame, pd.DataFrame(measures, index=frame.index)


def _rule_hits(name: str, rule: Mapping[str, Any], measures: pd.DataFrame) -> pd.Series:
    """The submissions an enabled rule flags: its measure compared with its threshold."""
    measure = measures[RULE_MEASURES[name]]
    if name == "min_duration":
        return measure < float(rule["seconds"])
    if name == "straight_lining":
        return measure.ge(float(rule["min_modal_share"])).fillna(False)
    if name == "item_nonresponse":
        return measure > float(rule["max_missing_share"])
    return measure


def judge_measures(
    measures: pd.DataFrame, rules: Mapping[str, Any]
) -> tuple[np.ndarray, list[dict[str, Any]], dict[str, np.ndarray]]:
    """Which submissions the rules keep, the participant flow and each rule's flags.

    Each rule, in `EXCLUSION_ORDER`, judges only the submissions the rules before it kept.

    Parameters
    ----------
    measures
        `exclusion_measures`' measures of the submissions, in the rules' order.
    rules
        The configured rules by name, each with `enabled` and its settings (the measures'
        `measured_settings` must be these rules').

    Returns
    -------
    tuple
        The kept submissions (bool array), the flow (one record per step) and, by rule, the
        submissions it excluded (bool arrays).
    """
    size = len(measures)
    flow = [
        {
            "step": "received",
            "rule": "Submissions in the export",
            "applied": True,
            "excluded": 0,
            "remaining": size,
        }
    ]
    flags: dict[str, np.ndarray] = {}
    kept = np.ones(size, dtype=bool)
    for name in EXCLUSION_ORDER:
        rule = rules.get(name, {"enabled": False})
        applied = bool(rule.get("enabled", False))
        excluded = np.zeros(size, dtype=bool)
        if applied:
            excluded[kept] = _rule_hits(name, rule, measures)[kept].to_numpy(dtype=bool)
        flags[name] = excluded
        kept &= ~excluded
        flow.append(
            {
                "step": name,
                "rule": RULE_LABELS[name],
                "applied": applied,
                "excluded": int(excluded.sum()),
                "remaining": int(kept.sum()),
            }
        )
    flow.append(
        {
            "step": "analysed",
            "rule": "Respondents analysed",
            "applied": True,
            "excluded": 0,
            "remaining": int(kept.sum()),
        }
    )
    return kept, flow, flags


def exclusion_verdict(
    responses: pd.DataFrame, cb: Codebook, rules: dict[str, Any]
) -> ExclusionVerdict:
    """The exclusion rules of `apply_exclusions` applied, without building the analysis data set.

    The simulation asks this first: a changed rule that keeps the same submissions keeps the
    same analysis sample, which need not be built again.
    """
    frame, measures = exclusion_measures(responses, cb, rules)
    kept, flow, rule_flags = judge_measures(measures, rules)
    key = submission_order(cb, responses)
    return ExclusionVerdict(frame, kept, flow, {key: frame[key], **rule_flags})


def ordered_submissions(responses: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """The submissions in the order the rules judge them (`ExclusionVerdict.frame`)."""
    key = submission_order(cb, responses)
    return responses.sort_values(key, kind="stable").reset_index(drop=True)


def submission_order(cb: Codebook, responses: pd.DataFrame) -> str:
    """The column submissions are ordered by, earliest first (the duplicate rule keeps the
    first): the submission number where the platform numbers submissions (Wenjuanxing's
    序号); else the export's row (a text id such as Qualtrics' ResponseId has no order)."""
    key = cb.submission_key
    if key is not None and key.role == "submission_number" and key.name in responses.columns:
        return key.name
    return "export_row"


def reverse_code(frame: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Reverse-worded items turned round, so that a high code means the same on every item."""
    out = frame.copy()
    for var in cb.likert_items:
        if var.reverse:
            lo, hi = var.valid_range  # type: ignore[misc]
            out[var.name] = (lo + hi) - out[var.name]
    return out


def analysis_frame(frame: pd.DataFrame, kept: np.ndarray, cb: Codebook) -> pd.DataFrame:
    """The released data set of the `kept` rows: no submission numbers, times, channels or
    free text. Built column by column on the kept rows' arrays (the simulation builds one per
    replication)."""
    return pd.DataFrame(analysis_columns(frame, kept, cb))


def analysis_columns(frame: pd.DataFrame, kept: np.ndarray, cb: Codebook) -> dict[str, Any]:
    """The columns of `analysis_frame` (name -> values) before the frame is made: the
    simulation builds the analysis sample from them without reading them back from a frame."""

    def answers(name: str) -> pd.api.extensions.ExtensionArray:
        return _int64(frame[name])[kept]

    group = cb.respondent_group
    code_to_id = {o.code: o.id for o in group.options}
    group_sector = cb.group_sector()
    government = {s.id: s.government for s in cb.sectors}
    resp_group = _mapped(answers(group.name), code_to_id, "string")
    sector = _mapped(resp_group, group_sector, "string")
    ids = [f"R{i + 1:03d}" for i in range(int(kept.sum()))]
    # as pandas makes the column: text, or float when no respondent is left
    ids = np.array(ids, dtype=object) if ids else np.array([], dtype=float)
    out: dict[str, Any] = {
        "respondent_id": ids,
        "resp_group": resp_group,
        "sector": sector,
        "government": _mapped(sector, government, "boolean"),
    }
    for var in cb.demographics:
        out[var.name] = answers(var.name)
    for var in cb.likert_items:
        if var.reverse:  # as reverse_code turns it round
            lo, hi = var.valid_range  # type: ignore[misc]
            out[var.name] = (lo + hi) - answers(var.name)
        else:
            out[var.name] = answers(var.name)
    for var in cb.variables:
        if var.kind == "rating":  # the overall rating, whatever its name
            out[var.name] = answers(var.name)
    # what display conditions test (an experimental arm, an earlier answer) is kept as codes,
    # so that the analyses can tell an item not shown from one left unanswered
    for var in cb.display_variables:
        if var.name not in out:
            out[var.name] = answers(var.name)
    return out


def _mapped(
    values: pd.api.extensions.ExtensionArray, mapping: Mapping[Any, Any], dtype: str
) -> pd.api.extensions.ExtensionArray:
    """`Series.map(mapping).astype(dtype)` of the values: missing where a value is missing
    or not in `mapping`."""
    # read as Python objects, not one by one from the array, which was most of the cost
    answers = values.to_numpy(dtype=object, na_value=None).tolist()
    return pd.array(
        [None if value is None else mapping.get(value) for value in answers], dtype=dtype
    )


def _int64(column: pd.Series) -> pd.api.extensions.ExtensionArray:
    """The column's values as Int64 (`astype("Int64")`, without a copy when they are)."""
    return column.array if column.dtype == "Int64" else column.astype("Int64").array
