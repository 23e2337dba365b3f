"""Platform presets, Qualtrics exports and ignored columns (issue 14, item 3: "Platforms").

A user with a Qualtrics survey could not use the pipeline: the codebook required a numeric
submission number, a duration column and a channel column literally named ``source``, and every
export column had to be in the codebook (no way to ignore the 230 unused ones). These tests
write a small Qualtrics-style export (three header rows, ResponseId, ``Duration (in seconds)``,
numeric or label answers, many unused columns) and read it with a codebook that names the
platform (`instrument.platform: qualtrics`) and ignores the unused columns by pattern.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from hazegov.errors import CodebookError, ConfigError, ExportError
from hazegov.survey.cleaning import apply_exclusions
from hazegov.survey.codebook import PLATFORM_PRESETS, Codebook, load_codebook
from hazegov.survey.ingest import ingest_export
from hazegov.survey.stages import run_clean, run_ingest
from tests.support.paths import CODEBOOK

RESPONDENTS = 12
# What the unused columns hold: text that must appear in no output of ingest or cleaning.
IGNORED_MARK = "zqIGNOREDq"
# Direct identifiers of the Qualtrics preset, as they are written into the export.
EMAIL = "li.hua{}@example.org"
IP = "203.0.113.{}"
RULES: dict[str, Any] = {
    "duplicates": {"enabled": True},
    "attention_check": {"enabled": True, "missing_counts_as_failure": True},
    "min_duration": {"enabled": True, "seconds": 120},
    "straight_lining": {"enabled": True, "min_modal_share": 0.95},
    "item_nonresponse": {"enabled": True, "max_missing_share": 0.5},
}
IGNORE = [{"glob": "Q*_DO"}, {"regex": r"Timer_\d+_(First|Last) Click"}, "SC0"]


def qualtrics_codebook_raw(answers: str = "codes") -> dict[str, Any]:
    """The study's codebook as a Qualtrics survey has it: platform preset, Q-style column
    names (Q7_1: the first item of question 7), the platform's missing codes, unused columns
    ignored by pattern."""
    raw = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    instrument = raw["instrument"]
    instrument["platform"] = "qualtrics"
    instrument["answers"] = answers
    del instrument["missing_markers"]  # the Qualtrics preset's: -99, and a blank cell
    del raw["platform_columns"]
    for question in raw["questions"]:
        if "items" in question:
            for k, item in enumerate(question["items"]):
                item["header"] = f"Q{question['number']}_{k + 1}"
        else:
            question["header"] = f"Q{question['number']}"
    raw["ignore_columns"] = list(IGNORE)
    return raw


def write_codebook(raw: dict[str, Any], path: Path) -> Codebook:
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_codebook(path)


def _answer(var: Any, code: int, answers: str) -> str:
    if answers == "codes":
        return str(code)
    return next(o.en for o in var.options if o.code == code)


def qualtrics_export(
    cb: Codebook, path: Path, answers: str = "codes", *, import_ids: bool = True
) -> pd.DataFrame:
    """A Qualtrics CSV export of RESPONDENTS answer sheets, written to `path` (UTF-8 with a
    byte-order mark, three header rows); returns its respondent rows (the cells as text)."""
    rng = np.random.default_rng(14)
    platform = [dict(c) for c in PLATFORM_PRESETS["qualtrics"]["columns"]]
    columns: dict[str, list[str]] = {}
    seconds = [str(s) for s in rng.integers(200, 900, RESPONDENTS)]
    seconds[0] = "45"  # a speeder, for exclusions.min_duration
    starts = [f"2026-03-{7 + i // 6:02d} 09:{i:02d}:01" for i in range(RESPONDENTS)]
    ends = [f"2026-03-{7 + i // 6:02d} 10:{i:02d}:01" for i in range(RESPONDENTS)]
    by_header = {
        "StartDate": starts,
        "EndDate": ends,
        "Status": ["0"] * RESPONDENTS,
        "IPAddress": [IP.format(i + 1) for i in range(RESPONDENTS)],
        "Progress": ["100"] * RESPONDENTS,
        "Duration (in seconds)": seconds,
        "Finished": ["1"] * RESPONDENTS,
        "RecordedDate": ends,
        "ResponseId": [f"R_{i + 1}abc{rng.integers(10**6, 10**7)}" for i in range(RESPONDENTS)],
        "RecipientLastName": ["Wangxiaoming"] * RESPONDENTS,
        "RecipientFirstName": ["Xiaohong"] * RESPONDENTS,
        "RecipientEmail": [EMAIL.format(i + 1) for i in range(RESPONDENTS)],
        "ExternalReference": [""] * RESPONDENTS,
        "LocationLatitude": ["39.9042"] * RESPONDENTS,
        "LocationLongitude": ["116.4074"] * RESPONDENTS,
        "DistributionChannel": ["anonymous"] * RESPONDENTS,
        "UserLanguage": ["ZH-S"] * RESPONDENTS,
    }
    texts, ids = [], []
    for col in platform:
        columns[col["header"]] = by_header[col["header"]]
        texts.append(col["label"]["en"])
        ids.append(json.dumps({"ImportId": col["name"], "timeZone": "Asia/Shanghai"}))
    for var in cb.export_variables:
        if var.kind == "platform":
            continue
        if var.kind == "free_text":
            cells = [""] * RESPONDENTS
            cells[1] = "希望加强部门协调。"
        elif var.role == "attention_check":
            cells = [_answer(var, int(var.expected_code), answers)] * RESPONDENTS  # type: ignore[arg-type]
        else:
            codes = [o.code for o in var.options]
            cells = [_answer(var, int(c), answers) for c in rng.choice(codes, RESPONDENTS)]
            cells[2] = "-99"  # seen but unanswered
        columns[str(var.header)] = cells
        texts.append(var.text_en)
        ids.append(json.dumps({"ImportId": f"QID{var.question}"}))
    # the columns the study does not use: display orders, timers, a score
    unused = [f"Q{n}_DO" for n in range(7, 13)]
    unused += [f"Timer_{n}_{end} Click" for n in range(1, 40) for end in ("First", "Last")]
    unused.append("SC0")
    for j, name in enumerate(unused):
        columns[name] = [f"{IGNORED_MARK}{j}r{i}" for i in range(RESPONDENTS)]
        texts.append(f"{name} - unused")
        ids.append(json.dumps({"ImportId": f"unused{j}"}))
    body = pd.DataFrame(columns)
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(list(columns))
        writer.writerow(texts)
        if import_ids:
            writer.writerow(ids)
        writer.writerows(body.itertuples(index=False, name=None))
    return body


@pytest.fixture
def qualtrics(tmp_path: Path) -> tuple[Codebook, Path, Path]:
    """(codebook, its path, the export) of a Qualtrics numeric-values download."""
    cb_path = tmp_path / "codebook.yaml"
    cb = write_codebook(qualtrics_codebook_raw(), cb_path)
    export = tmp_path / "qualtrics.csv"
    qualtrics_export(cb, export)
    return cb, cb_path, export


def test_the_qualtrics_preset_supplies_its_columns_and_roles(qualtrics):
    cb = qualtrics[0]
    assert cb.platform == "qualtrics" and cb.header_rows == 3 and cb.answers == "codes"
    assert cb.submission_key is not None and cb.submission_key.header == "ResponseId"
    assert cb.submission_key.role == "submission_id"
    assert cb.duration is not None and cb.duration.header == "Duration (in seconds)"
    identifiers = {v.header for v in cb.direct_identifiers}
    assert identifiers == {
        "IPAddress",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "ExternalReference",
        "LocationLatitude",
        "LocationLongitude",
    }
    assert all(v.optional for v in cb.variables if v.kind == "platform")
    assert [m.cell for m in cb.missing_markers] == ["-99", ""]


@pytest.mark.parametrize("answers", ["codes", "labels"])
def test_a_qualtrics_export_is_read_through_its_three_header_rows(tmp_path, answers):
    cb = write_codebook(qualtrics_codebook_raw(answers), tmp_path / "codebook.yaml")
    export = tmp_path / "qualtrics.csv"
    body = qualtrics_export(cb, export, answers)
    result = ingest_export(export, cb)
    responses, report = result.responses, result.report
    assert report["rows"] == RESPONDENTS  # rows 2 and 3 are header rows, not respondents
    assert report["platform_header_rows"]["rows"] == [2, 3]
    assert responses["export_row"].tolist() == list(range(4, 4 + RESPONDENTS))
    assert responses["response_id"].tolist() == body["ResponseId"].tolist()
    assert responses["duration_s"].tolist() == [int(s) for s in body["Duration (in seconds)"]]
    codes = {
        _answer(cb.variable("LEAD1"), o.code, answers): o.code for o in cb.variable("LEAD1").options
    }
    expected = [codes.get(c) for c in body["Q7_1"]]
    assert expected.count(None) == 1  # the -99 of row 2
    assert [None if pd.isna(v) else int(v) for v in responses["LEAD1"]] == expected
    assert report["missing_cells_by_item"]["LEAD1"] == {"unanswered": 1}
    assert report["ignored_columns"] == 6 + 78 + 1
    assert report["ignored_columns_by_rule"] == {
        "glob 'Q*_DO' (ignore_columns.0)": 6,
        "regex 'Timer_\\\\d+_(First|Last) Click' (ignore_columns.1)": 78,
        "name 'SC0' (ignore_columns.2)": 1,
    }
    assert set(report["direct_identifier_columns_dropped"]) == {
        "ip_address",
        "recipient_last_name",
        "recipient_first_name",
        "recipient_email",
        "external_reference",
        "location_latitude",
        "location_longitude",
    }
    assert not any(name.startswith(("Q", "Timer", "SC")) for name in responses.columns)


def _output_texts(path: Path) -> str:
    """An output file as text: a Parquet file's cells and metadata (its bytes may be
    compressed), any other file's bytes decoded."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        return table.to_pandas().astype(str).to_csv() + json.dumps(meta) + path.read_text("latin-1")
    return path.read_text(encoding="utf-8")


def test_ignored_columns_and_identifiers_reach_no_output(tmp_path, qualtrics):
    _, cb_path, export = qualtrics
    out = tmp_path / "out"
    out.mkdir()
    run_ingest(
        export,
        cb_path,
        "auto",
        "missing",
        out / "responses.parquet",
        out / "quality.csv",
        out / "ingest_report.json",
        out / "free_text.parquet",
    )
    run_clean(
        out / "responses.parquet",
        cb_path,
        RULES,
        out / "analysis.parquet",
        out / "flow.csv",
        min_cell_count=1,
    )
    outputs = sorted(out.iterdir())
    assert len(outputs) == 6
    flow = pd.read_csv(out / "flow.csv")
    assert flow.set_index("step").loc["min_duration", "excluded"] == 1  # the speeder
    for path in outputs:
        text = _output_texts(path)
        assert IGNORED_MARK not in text, path.name
        for i in range(1, RESPONDENTS + 1):
            assert EMAIL.format(i) not in text, path.name
        assert IP.format("") not in text, path.name
        assert "Wangxiaoming" not in text and "116.4074" not in text, path.name


def test_an_export_column_neither_in_the_codebook_nor_ignored_is_named(tmp_path):
    raw = qualtrics_codebook_raw()
    raw["ignore_columns"] = IGNORE[1:]  # the display orders are no longer ignored
    cb = write_codebook(raw, tmp_path / "codebook.yaml")
    export = tmp_path / "qualtrics.csv"
    qualtrics_export(cb, export)
    with pytest.raises(ExportError) as info:
        ingest_export(export, cb)
    found = {(v.rule, v.column, v.row) for v in info.value.violations}
    assert found == {("export-column-in-codebook", f"Q{n}_DO", 1) for n in range(7, 13)}
    assert "nor ignored by its ignore_columns" in str(info.value)


def test_a_qualtrics_export_without_its_import_id_row_is_refused(tmp_path, qualtrics):
    cb = qualtrics[0]
    export = tmp_path / "no_import_ids.csv"
    qualtrics_export(cb, export, import_ids=False)
    with pytest.raises(ExportError) as info:
        ingest_export(export, cb)
    (violation,) = info.value.violations
    assert (violation.rule, violation.row, violation.column) == (
        "qualtrics-import-id-row",
        3,
        "StartDate",
    )
    assert violation.file.endswith("no_import_ids.csv")
    assert "three header rows" in violation.message


def test_an_ignore_pattern_matching_a_codebook_item_is_refused(tmp_path):
    raw = qualtrics_codebook_raw()
    raw["ignore_columns"] = [{"glob": "Q7_*"}]
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    hits = [v for v in info.value.violations if v.rule == "ignore-not-codebook-column"]
    assert [v.value for v in hits] == ["Q7_1", "Q7_2", "Q7_3", "Q7_4"]
    line = path.read_text(encoding="utf-8").splitlines().index("- glob: Q7_*") + 1
    assert {(v.file, v.row, v.column) for v in hits} == {(str(path), line, "ignore_columns.0")}


def test_a_bad_ignore_rule_is_refused_naming_its_key(tmp_path):
    raw = qualtrics_codebook_raw()
    raw["ignore_columns"] = [{"regex": "Timer_(("}, {"pattern": "x"}]
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    found = {(v.rule, v.column) for v in info.value.violations}
    assert found == {
        ("ignore-regex", "ignore_columns.0.regex"),
        ("ignore-rule", "ignore_columns.1"),
    }


def test_an_unknown_platform_preset_is_refused(tmp_path):
    raw = qualtrics_codebook_raw()
    raw["instrument"]["platform"] = "qualtrix"
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    rules = {(v.rule, v.column) for v in info.value.violations}
    assert ("known-platform-preset", "instrument.platform") in rules


def test_min_duration_without_a_duration_column_names_the_key_and_the_codebook(tmp_path):
    raw = qualtrics_codebook_raw()
    raw["ignore_columns"] = [*IGNORE, "Duration (in seconds)"]  # a preset column may be ignored
    cb = write_codebook(raw, tmp_path / "codebook.yaml")
    assert cb.duration is None
    export = tmp_path / "qualtrics.csv"
    qualtrics_export(cb, export)
    responses = ingest_export(export, cb).responses
    assert "duration_s" not in responses.columns
    without = {**RULES, "min_duration": {"enabled": False, "seconds": 120}}
    assert len(apply_exclusions(responses, cb, without).analysis) > 0
    with pytest.raises(ConfigError) as info:
        apply_exclusions(responses, cb, RULES)
    (violation,) = info.value.violations
    assert violation.rule == "min-duration-needs-duration"
    assert violation.column == "exclusions.min_duration"
    assert str(cb.path) in violation.message and "duration_seconds" in violation.message


def test_min_duration_with_the_duration_column_left_out_of_the_export(tmp_path, qualtrics):
    cb = qualtrics[0]
    export = tmp_path / "qualtrics.csv"
    qualtrics_export(cb, export)
    table = pd.read_csv(export, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    table.drop(columns=["Duration (in seconds)"]).to_csv(export, index=False)
    responses = ingest_export(export, cb).responses  # an optional column: not an error
    with pytest.raises(ConfigError, match="'Duration \\(in seconds\\)' column"):
        apply_exclusions(responses, cb, RULES)


def test_the_wenjuanxing_preset_reads_the_study_export_as_the_listed_columns_do(
    tmp_path, codebook, export_table, write_table
):
    raw = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    raw["instrument"]["platform"] = "wenjuanxing"
    del raw["platform_columns"]
    preset = write_codebook(raw, tmp_path / "codebook.yaml")
    listed = [(v.name, v.header, v.role, v.unit_suffix) for v in codebook.variables]
    assert [(v.name, v.header, v.role, v.unit_suffix) for v in preset.variables] == listed
    export = write_table(export_table)
    expected, got = ingest_export(export, codebook), ingest_export(export, preset)
    pd.testing.assert_frame_equal(got.responses, expected.responses)
    pd.testing.assert_frame_equal(got.quality_log, expected.quality_log)
    assert got.report == expected.report


def test_a_listed_platform_column_replaces_the_presets_in_place(tmp_path):
    raw = qualtrics_codebook_raw()
    raw["instrument"]["platform"] = "Qualtrics"  # a preset's name in any case
    raw["platform_columns"] = [
        {
            "name": "response",
            "header": "ResponseId",
            "role": "submission_id",
            "label": {"zh": "答卷编号", "en": "Response"},
        },
        {
            "name": "panel",
            "header": "panel_wave",
            "role": "metadata",
            "label": {"zh": "调查批次", "en": "Panel wave"},
            "optional": True,
        },
    ]
    cb = write_codebook(raw, tmp_path / "codebook.yaml")
    platform = [v for v in cb.variables if v.kind == "platform"]
    preset = [c["header"] for c in PLATFORM_PRESETS["qualtrics"]["columns"]]
    assert [v.header for v in platform] == [*preset, "panel_wave"]
    listed = {
        v.header: (v.name, v.optional) for v in platform if v.header in ("ResponseId", "panel_wave")
    }
    assert listed == {"ResponseId": ("response", False), "panel_wave": ("panel", True)}
    export = tmp_path / "qualtrics.csv"
    body = qualtrics_export(cb, export)
    assert ingest_export(export, cb).responses["response"].tolist() == body["ResponseId"].tolist()


def test_a_repeated_response_id_is_named_by_its_row(tmp_path, qualtrics):
    cb = qualtrics[0]
    export = tmp_path / "qualtrics.csv"
    qualtrics_export(cb, export)
    lines = export.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    first_id = lines[3].split(",")[8]
    assert first_id.startswith("R_1abc")
    cells = lines[5].split(",")
    cells[8] = first_id
    lines[5] = ",".join(cells)
    export.write_text("".join(lines), encoding="utf-8-sig")
    with pytest.raises(ExportError) as info:
        ingest_export(export, cb)
    (violation,) = info.value.violations
    assert (violation.rule, violation.row, violation.column) == (
        "unique-submission-number",
        6,
        "ResponseId",
    )
    assert f"submission id {first_id} is already used by row 4" in violation.message
