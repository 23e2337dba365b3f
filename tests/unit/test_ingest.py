"""Reading exports through the codebook, and the error each class of bad export gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from hazegov.errors import ExportError
from hazegov.survey.ingest import ROW_NUMBERING, data_source, ingest_export
from hazegov.survey.stages import run_ingest
from tests.support.paths import CODEBOOK, DEFAULT_EXPORT, ROOT

LEAD1 = "7(北京市雾霾治理有明确的牵头主体)"
DURATION = "所用时间"


def test_default_export_is_read_and_deidentified(codebook):
    result = ingest_export(DEFAULT_EXPORT, codebook)
    frame = result.responses
    assert len(frame) == 236
    assert frame["submission_no"].is_unique
    assert not {"source_ip", "source_detail"} & set(frame.columns)
    assert result.report["direct_identifier_columns_dropped"] == ["source_detail", "source_ip"]
    # the generator plants a mobile number and one identifier of each other kind in free text
    # (the WeChat id written as wxid_... is caught by the "微信号" lead-in first)
    assert result.report["identifiers_redacted_in_free_text"] == {
        "mobile_phone": 1,
        "personal_name": 1,
        "id_card": 1,
        "email": 1,
        "wechat_id": 2,
        "landline_phone": 1,
    }
    # free text is quarantined: the responses keep which distinct text a row gave, no text
    free_text = result.free_text
    assert list(free_text.columns) == ["export_row", "role_other", "suggestions", "source"]
    assert free_text["export_row"].tolist() == frame["export_row"].tolist()
    for name in ("suggestions", "role_other", "source"):
        assert frame[name].dtype == "Int64"
        assert frame[name].isna().tolist() == free_text[name].isna().tolist()
        same_text = free_text[name].fillna("").duplicated(keep=False)
        assert (frame[name].fillna(-1).duplicated(keep=False) == same_text).all()
    assert free_text["suggestions"].str.contains(r"1[3-9]\d{9}", na=False).sum() == 0
    assert free_text["suggestions"].str.contains(r"\d{17}[\dX]|@|wxid_", na=False).sum() == 0
    assert free_text["suggestions"].str.contains("mobile_phone removed", na=False).sum() == 1
    assert result.report["out_of_range_cells"] == 3
    assert set(result.quality_log["rule"]) == {"valid-range", "declared-missing"}
    # every coded cell left missing is in the data-quality log, counted by item and reason
    by_item = result.report["missing_cells_by_item"]
    for var in codebook.variables:
        if var.is_coded:
            assert frame[var.name].isna().sum() == sum(by_item.get(var.name, {}).values())
    assert result.report["missing_cells_by_reason"] == {
        "out_of_range": 3,
        "skipped": 84,
        "unanswered": 298,
    }
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


SUGGESTIONS = "14、您对北京雾霾治理还有哪些意见和建议？"


@pytest.mark.parametrize(
    ("locales", "kind"),
    [
        (("CN",), "licence_plate"),
        (("international",), None),
        (("CN", "international"), "licence_plate"),
    ],
)
def test_free_text_is_redacted_with_the_configured_locales(
    codebook, export_table, write_table, locales, kind
):
    """privacy.identifier_locales selects the pattern sets of the redaction at ingest: a
    mainland licence plate is an identifier to the CN set only."""
    table = export_table.copy()
    table[SUGGESTIONS] = ""
    table.loc[3, SUGGESTIONS] = "我的车牌京A12345常被限行"
    result = ingest_export(write_table(table), codebook, locales=locales)
    answer = result.free_text.loc[3, "suggestions"]
    if kind is None:
        assert "京A12345" in answer
        assert result.report["identifiers_redacted_in_free_text"] == {}
    else:
        assert "京A12345" not in answer and f"[{kind} removed]" in answer
        assert result.report["identifiers_redacted_in_free_text"] == {kind: 1}


def test_an_unknown_locale_is_refused_before_the_export_is_read(codebook, tmp_path):
    with pytest.raises(KeyError, match="unknown locale"):
        ingest_export(tmp_path / "not_there.csv", codebook, locales=("XX",))


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
        ("duplicate-id", "unique-submission-number", 6, "序号"),
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
    # named relative to the project; a file outside it (here a temporary directory) by its name
    assert {v.file for v in violations} == {path.name}
    assert row in {v.row for v in violations}
    assert {v.column for v in violations} == {column}
    assert path.name in str(info.value) and f"row {row}" in str(info.value)
    assert str(path.parent) not in str(info.value)


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
            "reason": "out_of_range",
            "cells": 1,
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
    names = ("r.parquet", "q.csv", "report.json", "free_text.parquet")
    outputs = [tmp_path / "out" / name for name in names]
    with pytest.raises(ExportError):
        run_ingest(path, CODEBOOK, "auto", "missing", *outputs)
    assert not any(p.exists() for p in outputs)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# --- the errors the bad-input corpus relies on (tests/bad_inputs/export) --------------------


def _csv(table: pd.DataFrame, path: Path, sep: str = ",", encoding: str = "utf-8-sig") -> Path:
    table.to_csv(path, index=False, sep=sep, encoding=encoding, lineterminator="\r\n")
    return path


def _refused(path: Path, codebook, rule: str, **options):
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook, **options)
    return _violation(info, rule), str(info.value)


def test_the_corpus_controls_pass(codebook):
    for name in ("valid_short.csv", "valid_short.xlsx"):
        result = ingest_export(ROOT / "tests" / "bad_inputs" / "export" / name, codebook)
        assert result.report["rows"] == 8
        assert result.responses["export_row"].tolist() == list(range(2, 10))


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter_is_named_as_such(tmp_path, codebook, export_table, sep, word):
    path = _csv(export_table.head(5), tmp_path / "export.csv", sep=sep)
    v, message = _refused(path, codebook, "comma-separated")
    assert v.row == 1 and word in v.message and "wrong delimiter?" in v.message
    assert "missing from the export" not in message  # not one error per codebook column


def test_header_must_be_the_first_row_and_appear_once(tmp_path, codebook, export_table):
    head = export_table.head(5)
    missing = tmp_path / "no_header.csv"
    missing.write_bytes(
        head.to_csv(index=False, header=False, lineterminator="\r\n").encode("utf-8-sig")
    )
    v, _ = _refused(missing, codebook, "header-row-present")
    assert v.row == 1

    twice = pd.concat([pd.DataFrame([head.columns], columns=head.columns), head])
    v, message = _refused(_csv(twice, tmp_path / "twice.csv"), codebook, "header-once")
    assert v.row == 2
    assert "label-in-codebook" not in message  # the repeated header is not read as answers


def test_xlsx_with_a_group_row_above_the_header_is_refused(tmp_path, codebook, export_table):
    from openpyxl import Workbook

    head = export_table.head(4)
    wb = Workbook()
    ws = wb.active
    ws.append(["答卷信息"] * 6 + ["问卷题目"] * (head.shape[1] - 6))
    ws.append(list(head.columns))
    for row in head.itertuples(index=False):
        ws.append(list(row))
    path = tmp_path / "two_headers.xlsx"
    wb.save(path)
    v, message = _refused(path, codebook, "header-in-first-row")
    assert v.row == 1 and "header is on row 2" in v.message
    assert message.rstrip().endswith(f"({ROW_NUMBERING})")


def test_merged_cells_in_xlsx_are_refused(tmp_path, codebook, export_table):
    from openpyxl import Workbook

    head = export_table.head(6)
    wb = Workbook()
    ws = wb.active
    ws.append(list(head.columns))
    for row in head.itertuples(index=False):
        ws.append(list(row))
    ws.merge_cells("M3:M5")  # LEAD1 of respondents 2-4
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    v, _ = _refused(path, codebook, "no-merged-cells")
    assert (v.row, v.column) == (3, LEAD1) and "M3:M5" in v.message


def test_empty_formatted_columns_of_xlsx_are_ignored(tmp_path, codebook, export_table):
    from openpyxl import Workbook
    from openpyxl.styles import Font

    head = export_table.head(4)
    wb = Workbook()
    ws = wb.active
    ws.append(list(head.columns))
    for row in head.itertuples(index=False):
        ws.append(list(row))
    ws.cell(row=2, column=head.shape[1] + 3).font = Font(bold=True)
    path = tmp_path / "formatted.xlsx"
    wb.save(path)
    assert ingest_export(path, codebook).report["columns"] == head.shape[1]


def test_unclosed_and_stray_quotes_name_their_line(tmp_path, codebook, export_table):
    table = export_table.head(6).copy()
    table.loc[3, "14、您对北京雾霾治理还有哪些意见和建议？"] = "多种树,少开车"
    text = table.to_csv(index=False, lineterminator="\r\n")
    cut = tmp_path / "cut.csv"
    cut.write_bytes(text[: text.index('"多种树') + 3].encode("utf-8-sig"))
    v, _ = _refused(cut, codebook, "closed-quotes")
    assert (v.row, v.row_kind, v.column) == (5, "line", "14、您对北京雾霾治理还有哪些意见和建议？")

    stray = tmp_path / "stray.csv"
    stray.write_bytes(text.replace('"多种树,少开车"', '"多种树"少开车').encode("utf-8-sig"))
    v, _ = _refused(stray, codebook, "csv-syntax")
    assert (v.row, v.row_kind) == (5, "line")


def test_blank_rows_do_not_shift_row_numbers(tmp_path, codebook, export_table):
    table = export_table.head(6).copy()
    table.loc[4, LEAD1] = "很同意"
    lines = table.to_csv(index=False, lineterminator="\r\n").split("\r\n")
    path = tmp_path / "blank.csv"
    path.write_bytes("\r\n".join([*lines[:3], ",,,", *lines[3:]]).encode("utf-8-sig"))
    v, _ = _refused(path, codebook, "label-in-codebook")
    assert v.row == 7  # respondent 5 sits on row 7: below the header, 4 respondents, a blank row


def test_row_length_says_what_probably_happened(tmp_path, codebook, export_table):
    table = export_table.head(5)
    lines = table.to_csv(index=False, lineterminator="\r\n").split("\r\n")
    shifted = tmp_path / "shifted.csv"
    shifted.write_bytes("\r\n".join([*lines[:2], "x," + lines[2], *lines[3:]]).encode())
    v, _ = _refused(shifted, codebook, "row-length")
    assert v.row == 3 and "unquoted comma" in v.message
    cut = tmp_path / "cut.csv"
    cut.write_bytes("\r\n".join([*lines[:5], lines[5][:30]]).encode())
    v, _ = _refused(cut, codebook, "row-length")
    assert v.row == 6 and "cut off" in v.message


def test_declared_encoding_errors_locate_the_bytes(tmp_path, codebook, export_table):
    head = export_table.head(4)
    gb = _csv(head, tmp_path / "gb.csv", encoding="gb18030")
    v, _ = _refused(gb, codebook, "declared-encoding", encoding="utf-8-sig")
    assert (v.row, v.row_kind, v.column) == (1, "line", "#1") and "reads as gb18030" in v.message
    # a GB18030 file whose header happens to be ASCII fails in a respondent's cell
    ascii_header = head.set_axis([f"c{i}" for i in range(head.shape[1])], axis=1)
    gb = _csv(ascii_header, tmp_path / "gb_ascii_header.csv", encoding="gb18030")
    v, _ = _refused(gb, codebook, "declared-encoding", encoding="utf-8")
    assert (v.row, v.row_kind) == (2, "line") and v.column.startswith("c")

    bom = _csv(head, tmp_path / "bom.csv")
    v, _ = _refused(bom, codebook, "declared-encoding", encoding="gb18030")
    assert "byte-order mark" in v.message
    # a byte-order mark is not part of the first header when the file is declared utf-8
    assert ingest_export(bom, codebook, encoding="utf-8").report["rows"] == 4


def test_utf16_text_is_named(tmp_path, codebook, export_table):
    path = _csv(export_table.head(3), tmp_path / "unicode.txt", sep="\t", encoding="utf-16")
    v, _ = _refused(path, codebook, "known-encoding")
    assert "UTF-16" in v.message


def test_a_scale_empty_for_everyone_cannot_be_scored(tmp_path, codebook, export_table):
    table = export_table.head(6).copy()
    items = [codebook.variable(i).header for i in codebook.construct("EFF").items]
    table[items] = "(空)"
    v, _ = _refused(_csv(table, tmp_path / "export.csv"), codebook, "scale-answered")
    assert v.column == items[0] and "EFF" in v.message
    # one respondent leaving a whole scale empty is item non-response, left to the
    # missing-data rule
    table = export_table.head(6).copy()
    table.loc[2, items] = "(空)"
    frame = ingest_export(_csv(table, tmp_path / "one.csv"), codebook).responses
    assert frame.loc[2, list(codebook.construct("EFF").items)].isna().all()
