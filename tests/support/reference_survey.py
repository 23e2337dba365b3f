"""The row-by-row survey code that the columnar code replaced, kept as a test oracle.

`ingest_export` here is the ingest as it was before issue 12 (one Python pass per cell); the
tests compare the columnar `hazegov.survey.ingest.ingest_export` with it on tricky exports: the same
responses, data-quality log and report, or the same error message. `apply_exclusions` is
the former exclusion step (one DataFrame per rule), with its straight-lining share
`modal_share` and duplicate rule `flag_duplicates`; `apply_missing_data_rule` and
`construct_scores` the former missing-data rule (person-mean imputation, items not shown
left out) and scores, `build_analysis_sample` the former analysis sample (a copy of the
analysis data set changed column by column). Since issue 14 it reads as missing only the
cells the codebook declares missing for each variable (no code is missing for its sign) and
counts them, by item and reason, in the data-quality log.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazegov.analysis._common import AnalysisError, MeasurementModel
from hazegov.analysis.sample import MISSING_DATA_RULES, AnalysisSample
from hazegov.errors import Violation
from hazegov.privacy.identifiers import export_label, quote_cell, redact
from hazegov.survey import display
from hazegov.survey.cleaning import EXCLUSION_ORDER, RULE_LABELS, CleanedSurvey
from hazegov.survey.codebook import Codebook, MissingMarker, Variable
from hazegov.survey.ingest import (
    OUT_OF_RANGE_POLICIES,
    QUALITY_LOG_COLUMNS,
    TIME_FORMATS,
    ExportTableError,
    IngestResult,
    _check_header_row,
    _enough,
    _header_keys,
    _header_score,
    _match_columns,
    _norm,
    _typed,
    _unanswered_scales,
    _validate_frame,
    missing_cell_counts,
    read_export_table,
)


def ingest_export(
    path: str | Path,
    codebook: Codebook,
    *,
    encoding: str = "auto",
    out_of_range: str = "missing",
) -> IngestResult:
    """Map an export through the codebook; raise ExportError listing every violation."""
    path = Path(path)
    if out_of_range not in OUT_OF_RANGE_POLICIES:
        raise ValueError(f"out_of_range must be one of {OUT_OF_RANGE_POLICIES}")
    table = read_export_table(path, encoding)
    header = table.header
    file = export_label(path)
    _check_header_row(table, codebook, path)
    problems: list[Violation] = []
    columns = _match_columns(table, codebook, file, problems)
    if problems:
        raise ExportTableError(problems)

    expected = _header_keys(codebook)
    # free text: the free-text questions, the fill-ins and the channel (role metadata)
    quarantined = [v.name for v in codebook.variables if v.kind in {"free_text", "fill_in"}]
    quarantined += [v.name for v in codebook.variables if v.role == "metadata"]
    quality: list[dict[str, Any]] = []
    declared: Counter[tuple[str, MissingMarker]] = Counter()
    redactions: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    answered: Counter[str] = Counter()
    numbers: dict[int, int] = {}
    last_row = table.rows[-1][0]
    for file_row, row in table.rows:
        if _header_score(row, expected) >= _enough(expected):
            problems.append(
                Violation(
                    file,
                    "header-once",
                    f"this row repeats the header of row {table.header_row} (a header pasted "
                    "twice, or two exports joined); an export has one header row",
                    row=file_row,
                )
            )
            continue
        if len(row) != len(header):
            hint = ""
            if len(row) > len(header):
                hint = ": an unquoted comma in an answer, or a row shifted to the right?"
            elif file_row == last_row:
                hint = ": it is the last row, so the file looks cut off mid-row"
            problems.append(
                Violation(
                    file,
                    "row-length",
                    f"has {len(row)} cells, the header {len(header)}{hint}",
                    row=file_row,
                )
            )
            continue
        record: dict[str, Any] = {"export_row": file_row}
        for var, idx in columns.items():
            cell = row[idx].strip()
            free = var.name in quarantined or any(o.fill_in for o in var.options)
            shown = quote_cell(cell) if free else cell
            where = {"row": file_row, "column": header[idx], "value": shown}
            if var.role == "direct_identifier":
                continue
            marker = _missing_marker(cell, var)
            if marker is None:
                answered[var.name] += 1
            if var.kind == "platform" and var.name not in quarantined:
                value = _platform_value(var, cell, file, where, problems)
                if var.role == "submission_number" and value is not None:
                    if value in numbers:
                        problems.append(
                            Violation(
                                file,
                                "unique-submission-number",
                                f"submission number {value} is already used by row "
                                f"{numbers[value]}; every answer sheet has its own number "
                                "(a row copied, or two exports joined?)",
                                **where,
                            )
                        )
                    numbers.setdefault(value, file_row)
                record[var.name] = value
            elif var.kind == "free_text" or var.name in quarantined:
                if marker is not None:
                    declared[(var.name, marker)] += 1
                text, found = redact("" if marker is not None else cell)
                redactions.update(found)
                record[var.name] = text or None
            else:
                if marker is not None:
                    declared[(var.name, marker)] += 1
                code, fill = _code(
                    var, cell, codebook, file, where, problems, out_of_range, quality
                )
                record[var.name] = code
                fill_var = next((o.fill_in for o in var.options if o.fill_in), None)
                if fill_var:
                    text, found = redact(fill or "")
                    redactions.update(found)
                    record[fill_var] = text or None
        records.append(record)
    if records:
        problems.extend(_unanswered_scales(codebook, answered, len(records), file))
    if problems:
        raise ExportTableError(problems)

    responses = pd.DataFrame.from_records(records)
    _validate_frame(responses, codebook, file)
    responses = _typed(responses, codebook)
    free_text = responses[["export_row", *quarantined]].copy()
    for name in quarantined:  # each distinct text numbered in order of appearance
        seen: dict[str, int] = {}
        classes = [None if pd.isna(t) else seen.setdefault(t, len(seen)) for t in responses[name]]
        responses[name] = pd.array(classes, dtype="Int64")
    for var, idx in columns.items():
        for marker in var.missing:
            if declared[(var.name, marker)]:
                quality.append(
                    {
                        "row": None,
                        "column": header[idx],
                        "variable": var.name,
                        "value": marker.cell,
                        "rule": "declared-missing",
                        "action": "set to missing",
                        "reason": marker.reason,
                        "cells": declared[(var.name, marker)],
                    }
                )
    quality_log = pd.DataFrame(quality, columns=list(QUALITY_LOG_COLUMNS))
    quality_log["row"] = quality_log["row"].astype("Int64")
    quality_log["cells"] = quality_log["cells"].astype(np.int64)
    report = {
        "export_file": file,
        "encoding": table.encoding,
        "rows": len(responses),
        "columns": len(header),
        "direct_identifier_columns_dropped": sorted(
            v.name for v in codebook.direct_identifiers if v in columns
        ),
        "identifiers_redacted_in_free_text": dict(sorted(redactions.items())),
        "out_of_range_cells": int(sum(q["rule"] == "valid-range" for q in quality)),
        "out_of_range_policy": out_of_range,
        **missing_cell_counts(quality_log),
    }
    return IngestResult(responses, quality_log, report, free_text)


def _missing_marker(cell: str, var: Variable) -> MissingMarker | None:
    """The first of the variable's declared markers the cell is (a text, or a code)."""
    for m in var.missing:
        if m.text is not None and _norm(cell) == _norm(m.text):
            return m
        if (
            m.code is not None
            and re.fullmatch(r"-?\d+", _norm(cell))
            and int(_norm(cell)) == m.code
        ):
            return m
    return None


def _platform_value(
    var: Variable, cell: str, file: str, where: dict[str, Any], problems: list[Violation]
) -> Any:
    if var.role == "submission_number":
        if not cell.isdigit():
            problems.append(
                Violation(
                    file,
                    "integer-submission-number",
                    "submission number must be a whole number",
                    **where,
                )
            )
            return None
        return int(cell)
    if var.role == "duration_seconds":
        text = cell.removesuffix(var.unit_suffix or "").strip()
        if not text.isdigit():
            problems.append(
                Violation(
                    file,
                    "numeric-duration",
                    "completion time must be whole "
                    f"seconds (optionally followed by {var.unit_suffix!r})",
                    **where,
                )
            )
            return None
        return int(text)
    if var.role == "submission_time":
        for fmt in TIME_FORMATS:
            try:
                return datetime.strptime(cell, fmt)
            except ValueError:
                continue
        problems.append(
            Violation(
                file, "valid-timestamp", "not a date and time such as 2016/3/7 9:05:01", **where
            )
        )
        return None
    return cell


def _code(
    var: Variable,
    cell: str,
    cb: Codebook,
    file: str,
    where: dict[str, Any],
    problems: list[Violation],
    out_of_range: str,
    quality: list[dict[str, Any]],
) -> tuple[int | None, str | None]:
    """Answer code of one cell, and the fill-in text of an 'other (please specify)' answer."""
    if _missing_marker(cell, var) is not None:
        return None, None
    key = _norm(cell)
    for opt in var.options:
        if key in (_norm(opt.zh), _norm(opt.en)):
            return opt.code, None
    left, right = cb.fill_in_brackets
    for opt in var.options:
        if (
            opt.fill_in
            and key.startswith(_norm(opt.zh) + _norm(left))
            and key.endswith(_norm(right))
        ):
            inner = cell.split(left, 1)[1].rsplit(right, 1)[0]
            return opt.code, inner.strip()
    if re.fullmatch(r"-?\d+", key):
        code = int(key)
        lo, hi = var.valid_range  # type: ignore[misc]
        if lo <= code <= hi:
            return code, None
        if out_of_range == "error":
            problems.append(
                Violation(
                    file,
                    "valid-range",
                    f"code outside the valid range {lo} to {hi} of {var.name}",
                    **where,
                )
            )
            return None, None
        quality.append(
            {
                "row": where["row"],
                "column": where["column"],
                "variable": var.name,
                "value": cell,
                "rule": "valid-range",
                "action": "set to missing",
                "reason": "out_of_range",
                "cells": 1,
            }
        )
        return None, None
    labels = " / ".join(o.zh for o in var.options)
    problems.append(
        Violation(
            file,
            "label-in-codebook",
            f"not an answer label of {var.name} ({labels}) nor a code",
            **where,
        )
    )
    return None, None


def modal_share(frame: pd.DataFrame, items: list[str]) -> pd.Series:
    """Share of a respondent's answered Likert items that carry their most frequent answer."""
    values = frame[items]

    def share(row: pd.Series) -> float:
        answered = row.dropna()
        return float(answered.value_counts().iloc[0] / len(answered)) if len(answered) else np.nan

    return values.apply(share, axis=1)


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

    - ``listwise``: keep respondents with every scale item and every `also_required` variable.
    - ``person_mean``: a missing scale item takes the mean of the respondent's answered items of
      the same scale when at least `min_items_answered` were answered (person-mean imputation,
      Downey & King 1998); then listwise as above. Imputed cells are counted in the report.

    An item a respondent was not `shown` (a column per item with display logic) is neither
    imputed nor a gap, and is counted apart.
    """
    if rule not in MISSING_DATA_RULES:
        raise AnalysisError(
            f"unknown missing-data rule {rule!r}; choose one of {MISSING_DATA_RULES}"
        )
    items = [i for construct_items in model.values() for i in construct_items]
    absent = [c for c in [*items, *also_required] if c not in frame.columns]
    if absent:
        raise AnalysisError(f"missing-data rule: columns not in the data: {absent}")
    out = frame.copy()
    for column in items:
        out[column] = out[column].astype("Float64").astype(float)
    required = [*items, *also_required]
    applicable = pd.DataFrame(True, index=frame.index, columns=list(dict.fromkeys(required)))
    for column in [] if shown is None else shown.columns:
        if column in applicable.columns:
            applicable[column] = shown[column].astype(bool)
    imputed = 0
    if rule == "person_mean":
        for construct_items in model.values():
            block = out[list(construct_items)]
            answered = block.notna().sum(axis=1)
            fill = block.mean(axis=1).where(answered >= min_items_answered)
            holes = (
                block.isna() & applicable[list(construct_items)] & fill.notna().to_numpy()[:, None]
            )
            imputed += int(holes.to_numpy().sum())
            out[list(construct_items)] = block.mask(holes, fill, axis=0)
    absent = {c: out[c].isna() & applicable[c] for c in required}
    complete = ~pd.concat(list(absent.values()), axis=1).any(axis=1)
    per_variable = {c: int(cells.sum()) for c, cells in absent.items() if cells.any()}
    kept = out[complete].reset_index(drop=True)
    report = {
        "rule": rule,
        "min_items_answered": min_items_answered if rule == "person_mean" else None,
        "n_before": len(frame),
        "n_after": len(kept),
        "n_dropped": int((~complete).sum()),
        "cells_imputed": imputed,
        "missing_after_imputation_by_variable": dict(sorted(per_variable.items())),
    }
    if shown is not None:
        hidden = {c: int((out[c].isna() & ~applicable[c])[complete].sum()) for c in required}
        report["not_shown_by_variable"] = {c: n for c, n in sorted(hidden.items()) if n}
        report["n_shown_by_construct"] = {
            construct: int(applicable[list(construct_items)][complete].any(axis=1).sum())
            for construct, construct_items in model.items()
        }
    return AnalysisSample(frame=kept, report=report)


def build_analysis_sample(
    analysis: pd.DataFrame,
    codebook: Codebook,
    rule: str,
    *,
    controls: Sequence[str],
    min_items_answered: int = 3,
) -> AnalysisSample:
    """The analysis sample built frame by frame: a copy of the analysis data set with the
    controls a group skips coded 0 for it, the missing-data rule (items not shown are not
    applicable), the scores appended, the other controls and the rating as whole numbers."""
    model = {c.id: list(c.items) for c in codebook.constructs}
    frame = analysis.copy()
    defined = {v.name for v in codebook.variables}
    required = [c for c in controls if c in defined]
    for name in required:
        skipped = codebook.variable(name).skipped_for_groups
        if skipped:
            structural = frame["resp_group"].isin(list(skipped))
            frame[name] = frame[name].astype("Float64").astype(float).mask(structural, 0.0)
    rating = codebook.overall_rating.name
    shown = None
    if codebook.has_display_logic:
        items = list(dict.fromkeys(i for group in model.values() for i in group))
        shown = display.shown(frame, codebook, [*items, *required, rating])
    sample = apply_missing_data_rule(
        frame,
        model,
        rule,
        also_required=[*required, rating],
        min_items_answered=min_items_answered,
        shown=shown,
    )
    scores = construct_scores(sample.frame, model).add_prefix("score_")
    out = pd.concat([sample.frame, scores], axis=1)
    for column in [*required, rating]:
        var = codebook.variable(column)
        if not var.skipped_for_groups and var.shown_if is None:
            out[column] = out[column].astype("Int64").astype(np.int64)
    sectors = out["sector"].value_counts()
    sample.report["n_by_sector"] = {str(k): int(sectors[k]) for k in sorted(sectors.index)}
    return AnalysisSample(frame=out, report=sample.report)


def construct_scores(frame: pd.DataFrame, model: MeasurementModel) -> pd.DataFrame:
    """Mean of each construct's items (reverse-worded items already reversed in the release)."""
    return pd.DataFrame(
        {
            construct: frame[list(items)].astype(float).mean(axis=1)
            for construct, items in model.items()
        }
    )


def flag_duplicates(frame: pd.DataFrame, cb: Codebook) -> pd.Series:
    """The former duplicate-submission rule: every answer column compared as text."""
    return frame[cb.answer_columns].astype("string").fillna("<NA>").duplicated(keep="first")


def _flag_attention(frame: pd.DataFrame, cb: Codebook, rule: dict[str, Any]) -> pd.Series:
    failed = pd.Series(False, index=frame.index)
    for check in cb.attention_checks:
        answer = frame[check.name]
        wrong = answer.ne(check.expected_code).fillna(False).astype(bool)
        missing = answer.isna() if rule.get("missing_counts_as_failure", True) else False
        failed |= wrong | missing
    return failed


def _flag_speeders(frame: pd.DataFrame, rule: dict[str, Any]) -> pd.Series:
    return frame["duration_s"] < float(rule["seconds"])


def _flag_straight_lining(frame: pd.DataFrame, cb: Codebook, rule: dict[str, Any]) -> pd.Series:
    items = [v.name for v in cb.likert_items]
    return modal_share(frame, items).ge(float(rule["min_modal_share"])).fillna(False)


def _flag_nonresponse(frame: pd.DataFrame, cb: Codebook, rule: dict[str, Any]) -> pd.Series:
    items = [v.name for v in cb.likert_items]
    return frame[items].isna().mean(axis=1) > float(rule["max_missing_share"])


def apply_exclusions(responses: pd.DataFrame, cb: Codebook, rules: dict[str, Any]) -> CleanedSurvey:
    """Apply the configured exclusion rules in order and count the participant flow."""
    frame = responses.sort_values("submission_no", kind="stable").reset_index(drop=True)
    flags = pd.DataFrame({"submission_no": frame["submission_no"]})
    flow = [
        {
            "step": "received",
            "rule": "Submissions in the export",
            "applied": True,
            "excluded": 0,
            "remaining": len(frame),
        }
    ]
    kept = pd.Series(True, index=frame.index)
    for name in EXCLUSION_ORDER:
        rule = rules.get(name, {"enabled": False})
        applied = bool(rule.get("enabled", False))
        current = frame[kept]
        if not applied:
            hit = pd.Series(False, index=current.index)
        elif name == "duplicates":
            hit = flag_duplicates(current, cb)
        elif name == "attention_check":
            hit = _flag_attention(current, cb, rule)
        elif name == "min_duration":
            hit = _flag_speeders(current, rule)
        elif name == "straight_lining":
            hit = _flag_straight_lining(current, cb, rule)
        else:
            hit = _flag_nonresponse(current, cb, rule)
        flags[name] = False
        flags.loc[hit[hit].index, name] = True
        kept.loc[hit[hit].index] = False
        flow.append(
            {
                "step": name,
                "rule": RULE_LABELS[name],
                "applied": applied,
                "excluded": int(hit.sum()),
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
    analysis = _analysis_frame(frame[kept].reset_index(drop=True), cb)
    return CleanedSurvey(analysis=analysis, flow=pd.DataFrame(flow), flags=flags)


def reverse_code(frame: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Reverse-worded items turned round, so that a high code means the same on every item."""
    out = frame.copy()
    for var in cb.likert_items:
        if var.reverse:
            lo, hi = var.valid_range  # type: ignore[misc]
            out[var.name] = (lo + hi) - out[var.name]
    return out


def _analysis_frame(kept: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """The released data set: no submission numbers, times, channels or free text."""
    group = cb.respondent_group
    code_to_id = {o.code: o.id for o in group.options}
    group_sector = cb.group_sector()
    frame = reverse_code(kept, cb)
    out = pd.DataFrame({"respondent_id": [f"R{i + 1:03d}" for i in range(len(frame))]})
    out["resp_group"] = frame[group.name].map(code_to_id).astype("string")
    out["sector"] = out["resp_group"].map(group_sector).astype("string")
    government = {s.id: s.government for s in cb.sectors}
    out["government"] = out["sector"].map(government).astype("boolean")
    for var in cb.demographics:
        out[var.name] = frame[var.name].astype("Int64")
    for var in cb.likert_items:
        out[var.name] = frame[var.name].astype("Int64")
    out["satisfaction"] = frame["satisfaction"].astype("Int64")
    return out
