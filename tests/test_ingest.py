"""Reading exports through the codebook, and the error each class of bad export gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from hazegov.errors import ExportError
from hazegov.ingest import data_source, ingest_export
from hazegov.pipeline import run_ingest

from .conftest import CODEBOOK, DEFAULT_EXPORT

LEAD1 = "7(北京市雾霾治理有明确的牵头主体)"
DURATION = "所用时间"


def test_default_export_is_read_and_deidentified(codebook):
    result = ingest_export(DEFAULT_EXPORT, codebook)
    frame = result.responses
    assert len(frame) == 236
    assert frame["submission_no"].is_unique
    assert not {"source_ip", "source_detail"} & set(frame.columns)
    assert result.report["direct_identifier_columns_dropped"] == ["source_detail", "source_ip"]
    assert result.report["identifiers_redacted_in_free_text"] == {"mobile_phone": 1}
    assert frame["suggestions"].str.contains(r"1[3-9]\d{9}", na=False).sum() == 0
    assert frame["suggestions"].str.contains("mobile_phone removed", na=False).sum() == 1
    assert result.report["out_of_range_cells"] == 3
    assert set(result.quality_log["rule"]) == {"valid-range"}
    unique_submissions = frame.drop_duplicates(subset=codebook.answer_columns)
    assert len(unique_submissions) == 230
    assert unique_submissions["role_other"].notna().sum() == 4
    residents = frame["resp_group"] == 8
    assert frame.loc[residents, "years_in_post"].isna().all()
    for item in codebook.likert_items:
        assert set(frame[item.name].dropna().unique()) <= {1, 2, 3, 4, 5}


def test_synthetic_sidecar_marks_the_data_source(tmp_path):
    assert data_source(DEFAULT_EXPORT)["synthetic"] is True
    real = tmp_path / "survey.csv"
    real.write_bytes(DEFAULT_EXPORT.read_bytes())
    assert data_source(real)["synthetic"] is False
    changed = tmp_path / "changed.csv"
    changed.write_bytes(DEFAULT_EXPORT.read_bytes() + b"\r\n")
    (tmp_path / "changed.csv.synthetic.json").write_bytes(
        Path(str(DEFAULT_EXPORT) + ".synthetic.json").read_bytes()
    )
    with pytest.raises(ExportError, match="sidecar-matches-export"):
        data_source(changed)


def test_labels_are_matched_ignoring_width_and_spacing(codebook, export_table, write_table):
    table = export_table.copy()
    table.loc[0, LEAD1] = " 非常 同意 "
    table.loc[1, "3、您的年龄："] = "25～34岁"  # full-width tilde
    table.loc[2, LEAD1] = "Agree"  # English label
    frame = ingest_export(write_table(table), codebook).responses
    assert frame.loc[0, "LEAD1"] == 5
    assert frame.loc[1, "age_band"] == 2
    assert frame.loc[2, "LEAD1"] == 4


def _violation(info: pytest.ExceptionInfo, rule: str):
    matches = [v for v in info.value.violations if v.rule == rule]
    assert matches, str(info.value)
    return matches[0]


def _corrupt(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    table = table.copy()
    if kind == "unknown-label":
        table.loc[4, LEAD1] = "很同意"
    elif kind == "duration-text":
        table.loc[4, DURATION] = "约五分钟"
    elif kind == "bad-time":
        table.loc[4, "提交答卷时间"] = "2016/13/45 25:00:00"
    elif kind == "missing-column":
        table = table.drop(columns=[LEAD1])
    elif kind == "extra-column":
        table["15、您的姓名："] = "张三"
    elif kind == "duplicate-id":
        table.loc[4, "序号"] = table.loc[3, "序号"]
    return table


@pytest.mark.parametrize(
    ("kind", "rule", "row", "column"),
    [
        ("unknown-label", "label-in-codebook", 6, LEAD1),
        ("duration-text", "numeric-duration", 6, DURATION),
        ("bad-time", "valid-timestamp", 6, "提交答卷时间"),
        ("missing-column", "codebook-column-in-export", 1, LEAD1),
        ("extra-column", "export-column-in-codebook", 1, "15、您的姓名："),
        ("duplicate-id", "field_uniqueness", 6, "submission_no"),
    ],
)
def test_bad_export_names_file_row_column_and_rule(
    codebook, export_table, write_table, kind, rule, row, column
):
    path = write_table(_corrupt(export_table, kind))
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook)
    violations = [v for v in info.value.violations if v.rule == rule]
    assert violations, str(info.value)
    assert {v.file for v in violations} == {str(path)}
    assert row in {v.row for v in violations}
    assert {v.column for v in violations} == {column}
    assert str(path) in str(info.value) and f"row {row}" in str(info.value)


def test_out_of_range_code_stops_the_run_when_configured(codebook, export_table, write_table):
    table = export_table.copy()
    table.loc[7, LEAD1] = "7"
    path = write_table(table)
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook, out_of_range="error")
    v = _violation(info, "valid-range")
    assert (v.row, v.column, v.value) == (9, LEAD1, "7")
    logged = ingest_export(path, codebook, out_of_range="missing")
    assert pd.isna(logged.responses.loc[7, "LEAD1"])
    logged_cells = logged.quality_log.query("row == 9").to_dict("records")
    assert logged_cells == [
        {
            "row": 9,
            "column": LEAD1,
            "variable": "LEAD1",
            "value": "7",
            "rule": "valid-range",
            "action": "set to missing",
        }
    ]


@pytest.mark.parametrize(
    ("content", "name", "rule"),
    [
        (b"", "empty.csv", "non-empty-file"),
        ("序号,提交答卷时间\r\n".encode("utf-8-sig"), "header_only.csv", "has-respondents"),
        (b"\xff\xfe\x00\x00\x81\x30", "binary.csv", "known-encoding"),
        (b"{}", "export.json", "known-format"),
        (b"not a zip", "export.xlsx", "readable-xlsx"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, codebook, content, name, rule):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook)
    assert _violation(info, rule).file == str(path)


def test_truncated_file_and_duplicate_header(codebook, export_table, write_table):
    path = write_table(export_table)
    lines = path.read_bytes().split(b"\r\n")
    truncated = path.with_name("truncated.csv")
    truncated.write_bytes(b"\r\n".join([*lines[:5], b",".join(lines[5].split(b",")[:12])]))
    with pytest.raises(ExportError) as info:
        ingest_export(truncated, codebook)
    assert _violation(info, "row-length").row == 6

    cut = path.with_name("cut_mid_character.csv")
    data = path.read_bytes()
    cut.write_bytes(data[: data.index("非常".encode()) + 1])
    with pytest.raises(ExportError) as info:
        ingest_export(cut, codebook)
    assert "cut off mid-character" in str(_violation(info, "known-encoding"))

    doubled = export_table.copy()
    doubled.columns = [*doubled.columns[:-1], doubled.columns[-2]]
    with pytest.raises(ExportError) as info:
        ingest_export(write_table(doubled, "doubled.csv"), codebook)
    assert _violation(info, "unique-column").column == doubled.columns[-1]


def test_declared_encoding_must_match(codebook, export_table, write_table):
    path = write_table(export_table, "gb.csv", fmt="csv-gb18030")
    assert ingest_export(path, codebook).report["encoding"] == "gb18030"
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook, encoding="utf-8-sig")
    assert _violation(info, "declared-encoding").file == str(path)


def test_failed_ingest_leaves_no_output_and_raw_file_untouched(tmp_path, export_table, write_table):
    path = write_table(_corrupt(export_table, "unknown-label"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    outputs = [tmp_path / "out" / name for name in ("r.parquet", "q.csv", "report.json")]
    with pytest.raises(ExportError):
        run_ingest(path, CODEBOOK, "auto", "missing", *outputs)
    assert not any(p.exists() for p in outputs)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
