"""Hostile and odd export files (issue 13): a clear error, never a traceback or a partial read.

The refusals are also cases of the bad-input corpus (tests/bad_inputs/); here are those the
corpus cannot hold (a named pipe, a link made at test time) and the odd files that must be
accepted, with what was left out of the responses counted in the report.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd
import pytest

from hazegov.config_check import read_config_file
from hazegov.errors import ExportError, InputError
from hazegov.survey.codebook import load_codebook
from hazegov.survey.ingest import data_source, ingest_export
from tests.support.paths import CODEBOOK, ROOT

SHORT = ROOT / "tests" / "bad_inputs" / "export" / "valid_short.csv"


def _violation(info: pytest.ExceptionInfo, rule: str):
    matches = [v for v in info.value.violations if v.rule == rule]
    assert matches, str(info.value)
    return matches[0]


# --- paths that name no regular file of the project ------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project directory, the working directory, with a secret file outside it."""
    root = tmp_path / "project"
    (root / "data" / "raw").mkdir(parents=True)
    (tmp_path / "secret.csv").write_text("password,hunter2\n", encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def test_a_link_out_of_the_project_is_refused_unread(project, codebook):
    link = Path("data/raw/export.csv")
    link.symlink_to(project.parent / "secret.csv")
    for read in (lambda: ingest_export(link, codebook), lambda: data_source(link)):
        with pytest.raises(ExportError) as info:
            read()
        assert "hunter2" not in str(info.value) and "password" not in str(info.value)
        assert "outside the project" in _violation(info, "inside-project").message
    # a folder linked out of the project is the same
    Path("data/elsewhere").symlink_to(project.parent, target_is_directory=True)
    with pytest.raises(ExportError) as info:
        ingest_export(Path("data/elsewhere/secret.csv"), codebook)
    _violation(info, "inside-project")


def test_links_inside_the_project_and_paths_named_outside_it_are_read(project, codebook):
    inside = project / "data" / "raw" / "export.csv"
    inside.write_bytes(SHORT.read_bytes())
    Path("data/current.csv").symlink_to(inside)
    assert ingest_export(Path("data/current.csv"), codebook).report["rows"] == 8
    outside = project.parent / "named_outside.csv"
    outside.write_bytes(SHORT.read_bytes())
    assert ingest_export(outside, codebook).report["rows"] == 8


def test_a_named_pipe_is_refused_without_reading_it(project, codebook):
    pipe = project / "data" / "raw" / "export.csv"
    os.mkfifo(pipe)  # reading would wait for a writer for ever
    for read in (lambda: ingest_export(pipe, codebook), lambda: data_source(pipe)):
        with pytest.raises(ExportError) as info:
            read()
        assert "named pipe" in _violation(info, "regular-file").message


def test_codebook_and_config_paths_are_checked_the_same_way(project):
    Path("codebook.yaml").mkdir()
    with pytest.raises(InputError) as info:
        load_codebook("codebook.yaml")
    assert "a directory" in _violation(info, "regular-file").message
    Path("config.yaml").symlink_to(project.parent / "secret.csv")
    with pytest.raises(InputError) as info:
        read_config_file("config.yaml")
    _violation(info, "inside-project")
    assert load_codebook(CODEBOOK).path == str(CODEBOOK)  # a path given outside the project


# --- workbooks -------------------------------------------------------------------------------

CORPUS = ROOT / "tests" / "bad_inputs" / "export"


def test_a_named_sheet_is_read_and_the_others_are_listed(codebook):
    result = ingest_export(CORPUS / "two_sheets.xlsx", codebook, sheet_name="Sheet2")
    assert result.responses["export_row"].tolist() == [2, 3, 4, 5]
    assert result.report["sheet"] == "Sheet2"
    assert result.report["sheets_not_read"] == ["'Sheet1' (5 rows)"]
    hidden = ingest_export(CORPUS / "hidden_first_sheet.xlsx", codebook, sheet_name="Sheet1")
    assert hidden.report["rows"] == 8
    assert hidden.report["sheets_not_read"] == ["'旧版' (hidden, 4 rows)"]


def test_empty_extra_sheets_need_no_name(tmp_path, codebook):
    from openpyxl import load_workbook

    book = load_workbook(CORPUS / "valid_short.xlsx")
    book.create_sheet("Sheet2")
    book.create_sheet("Sheet3").sheet_state = "hidden"
    path = tmp_path / "export.xlsx"
    book.save(path)
    result = ingest_export(path, codebook)
    assert result.report["rows"] == 8
    assert result.report["sheet"] == "Sheet1" and result.report["sheets_not_read"] == []


def test_formula_cells_with_a_stored_result_are_read_as_that_result(tmp_path, codebook):
    """A formula Excel has calculated stores its result: that value is the cell's."""
    import zipfile

    source = CORPUS / "formula_without_cached_value.xlsx"
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert data.count(b"<f>60*3</f><v></v>") == 1
                data = data.replace(b"<f>60*3</f><v></v>", b"<f>60*3</f><v>180</v>")
            dst.writestr(info, data)
    result = ingest_export(path, codebook)
    assert result.responses.loc[result.responses["export_row"] == 4, "duration_s"].item() == 180


def test_survey_sheet_is_a_config_key(tmp_path, monkeypatch):
    from hazegov.checks import ROOT_CONFIG, SCHEMA
    from hazegov.config_check import check_config_files

    monkeypatch.chdir(ROOT)
    extra = tmp_path / "sheet.yaml"
    extra.write_text("survey:\n  sheet: 答卷\n", encoding="utf-8")
    assert check_config_files([*ROOT_CONFIG, extra], SCHEMA)["survey"]["sheet"] == "答卷"
    extra.write_text("survey:\n  sheet: ''\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"survey\.sheet"):
        check_config_files([*ROOT_CONFIG, extra], SCHEMA)


# --- cells over the size limit ------------------------------------------------------------

SUGGESTIONS = "14、您对北京雾霾治理还有哪些意见和建议？"


def _with_suggestion(path: Path, text: str, quoted: bool) -> Path:
    rows = list(csv.reader(io.StringIO(SHORT.read_bytes().decode("utf-8-sig"), newline="")))
    rows[5][rows[0].index(SUGGESTIONS)] = text
    out = io.StringIO(newline="")
    quoting = csv.QUOTE_ALL if quoted else csv.QUOTE_MINIMAL
    csv.writer(out, lineterminator="\r\n", quoting=quoting).writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8-sig"))
    return path


@pytest.mark.parametrize("quoted", [False, True])
def test_a_cell_past_the_csv_modules_own_limit_is_named_not_a_traceback(tmp_path, codebook, quoted):
    # 2 MB: more than Arrow's block and the csv module's field limit, so the csv module reads
    # it and stops at its limit; its quotes are doubled in the file, and counted once
    path = _with_suggestion(tmp_path / "export.csv", 'a""b' * 500_000, quoted)
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook)
    v = _violation(info, "cell-size")
    assert (v.row, v.row_kind, v.column) == (6, "line", SUGGESTIONS)
    assert "2,000,000 characters" in v.message


def test_a_quote_never_closed_is_a_cell_size_error_when_it_runs_past_the_limit(tmp_path, codebook):
    text = SHORT.read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    lines[3] = lines[3].replace(",", ',"', 1)  # an opening quote in row 4's second cell
    path = tmp_path / "export.csv"
    path.write_bytes(("\r\n".join(lines) + "x" * 200_000).encode("utf-8-sig"))
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook)
    assert "quotes are unbalanced" in _violation(info, "cell-size").message


# --- encodings -------------------------------------------------------------------------------


def test_the_likely_encoding_is_named_only_when_another_reading_is_the_header(codebook):
    from hazegov.survey.export_encoding import likely_encoding
    from hazegov.survey.ingest import _header_chars

    chars = _header_chars(codebook)
    text = SHORT.read_bytes().decode("utf-8-sig")
    assert likely_encoding(text.encode("utf-8-sig"), chars, "utf-8-sig") is None
    no_header = text.split("\r\n", 1)[1].encode("utf-8")
    assert likely_encoding(no_header, chars, "utf-8-sig") is None
    assert likely_encoding(text.encode("gb18030"), chars, "cp950").name == "GB18030"
    assert likely_encoding(text.encode("utf-16-be"), chars, None).name.startswith("UTF-16 (big")
    twice = text.encode("utf-8").decode("gb18030", errors="replace").encode("utf-8")
    assert "read as GB18030" in likely_encoding(twice, chars, "utf-8-sig").name


# --- the platform's footer row ---------------------------------------------------------------


def _short_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SHORT.read_bytes().decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("form", ["one cell", "full width", "xlsx"])
def test_a_footer_row_that_counts_right_is_reported_not_read(tmp_path, codebook, form):
    rows = _short_rows()
    footer = ["共8条数据"] + ([""] * (len(rows[0]) - 1) if form != "one cell" else [])
    if form == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        for row in [*rows, footer]:
            book.active.append(row)
        path = tmp_path / "export.xlsx"
        book.save(path)
    else:
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerows([*rows, footer, []])
        path = tmp_path / "export.csv"
        path.write_bytes(out.getvalue().encode("utf-8-sig"))
    result = ingest_export(path, codebook)
    assert result.responses["export_row"].tolist() == list(range(2, 10))
    assert result.report["rows"] == 8
    assert result.report["platform_footer_row"] == {
        "row": 10,
        "text": "共8条数据",
        "responses_stated": 8,
        "action": "recognised as the platform's footer, not read as a response",
    }
    plain = ingest_export(SHORT, codebook)
    assert "platform_footer_row" not in plain.report


# --- identifier columns are optional ---------------------------------------------------------


def _without_columns(path: Path, headers: set[str]) -> Path:
    rows = _short_rows()
    keep = [j for j, name in enumerate(rows[0]) if name not in headers]
    assert len(keep) == len(rows[0]) - len(headers)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([[r[j] for j in keep] for r in rows])
    path.write_bytes(out.getvalue().encode("utf-8-sig"))
    return path


def test_an_export_without_its_identifier_columns_is_accepted(tmp_path, codebook):
    gone = {v.header for v in codebook.direct_identifiers}
    result = ingest_export(_without_columns(tmp_path / "export.csv", gone), codebook)
    pd.testing.assert_frame_equal(result.responses, ingest_export(SHORT, codebook).responses)
    assert result.report["direct_identifier_columns_dropped"] == []
    assert result.report["direct_identifier_columns_absent"] == ["source_detail", "source_ip"]
    # the IP column deleted, the referrer kept
    partial = ingest_export(_without_columns(tmp_path / "partial.csv", {"来自IP"}), codebook)
    assert partial.report["direct_identifier_columns_dropped"] == ["source_detail"]
    assert partial.report["direct_identifier_columns_absent"] == ["source_ip"]


def test_a_bad_byte_after_a_cell_past_the_csv_modules_limit_is_located_without_a_traceback(
    tmp_path, codebook
):
    text = SHORT.read_bytes().decode("utf-8-sig")
    path = tmp_path / "export.csv"
    path.write_bytes(('"' + "x" * 200_000 + text).encode("utf-8") + b"\xff")
    with pytest.raises(ExportError) as info:
        ingest_export(path, codebook, encoding="utf-8-sig")
    assert _violation(info, "declared-encoding").row_kind == "line"
