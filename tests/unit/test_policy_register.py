"""Policy strand: the register is validated cell by cell; the shipped register and digests."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from hazegov.errors import InputError
from hazegov.policy.readers import read_policy_text
from hazegov.policy.register import (
    REQUIRED_COLUMNS,
    load_register,
    parse_partial_date,
    register_text_files,
)
from hazegov.policy.text import cjk_share, split_paragraphs
from tests.support.paths import BAD_INPUTS, ROOT
from tests.support.policy import POLICY_FIXTURES, REGISTER, corpus_script, lexicon, matches

DIGESTS = ROOT / "data" / "raw" / "policies" / "digests"


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(tmp_path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """The fixture register, edited, beside a copy of the fixture texts."""
    texts = tmp_path / "texts"
    if not texts.exists():
        texts.mkdir()
        for f in (POLICY_FIXTURES / "texts").iterdir():
            (texts / f.name).write_bytes(f.read_bytes())
    columns = columns or list(rows[0])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "register.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _violation(path: Path):
    with pytest.raises(InputError) as caught:
        load_register(path)
    assert len(caught.value.violations) == 1, caught.value
    return caught.value.violations[0]


def test_partial_dates_keep_their_precision():
    assert parse_partial_date("2013-09-10").precision == "day"
    month = parse_partial_date("2013-09")
    assert (month.precision, month.start, month.end) == (
        "month",
        date(2013, 9, 1),
        date(2013, 9, 30),
    )
    year = parse_partial_date("2012")
    assert (year.precision, year.midpoint) == ("year", date(2012, 7, 1))
    for bad in ("2013-13", "2013-02-30", "Sept 2013", "13-09-2013"):
        with pytest.raises(ValueError):
            parse_partial_date(bad)


def test_fixture_register_loads_with_paths_resolved():
    frame = load_register(POLICY_FIXTURES / "register.csv")
    assert list(frame["id"]) == ["doc-a", "doc-b", "doc-c"]
    assert list(frame["register_row"]) == [2, 3, 4]
    assert frame.loc[2, "text_path"] == str(POLICY_FIXTURES / "texts" / "doc_c.txt")


def test_missing_column(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    columns = [c for c in rows[0] if c != "level"]
    v = _violation(_write(tmp_path, rows, columns))
    assert (v.rule, v.row, v.column) == ("required-column", 1, "level")
    assert v.file == str(tmp_path / "register.csv")


def test_duplicate_id(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[2]["id"] = "doc-a"
    v = _violation(_write(tmp_path, rows))
    assert (v.rule, v.row, v.column, v.value) == ("unique-id", 4, "id", "doc-a")
    assert "row 2" in v.message


def test_bad_level(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[1]["level"] = "provincial"
    v = _violation(_write(tmp_path, rows))
    assert (v.rule, v.row, v.column, v.value) == ("known-level", 3, "level", "provincial")


@pytest.mark.parametrize("bad", ["2013-13", "2013-02-30", "Sept 2013"])
def test_bad_date(tmp_path, bad):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[0]["issued"] = bad
    rows[0]["issued_precision"] = ""
    v = _violation(_write(tmp_path, rows))
    assert (v.rule, v.row, v.column, v.value) == ("valid-date", 2, "issued", bad)


def test_precision_must_match_the_date(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[0]["issued_precision"] = "month"
    v = _violation(_write(tmp_path, rows))
    assert (v.rule, v.row, v.column) == ("precision-matches-date", 2, "issued_precision")


def test_in_force_before_issue(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[2]["in_force_from"] = "2013-12-31"
    v = _violation(_write(tmp_path, rows))
    assert (v.rule, v.row, v.column) == ("in-force-after-issue", 4, "in_force_from")


def test_unknown_text_kind(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[0]["text_kind"] = "summary"
    v = _violation(_write(tmp_path, rows))
    assert (v.rule, v.row, v.column, v.value) == ("known-text-kind", 2, "text_kind", "summary")


def test_missing_text_file_names_register_row_and_column(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[1]["text_file"] = "texts/gone.md"
    path = _write(tmp_path, rows)
    v = _violation(path)
    assert (v.file, v.rule, v.row, v.column, v.value) == (
        str(path),
        "text-file-exists",
        3,
        "text_file",
        "texts/gone.md",
    )
    # the workflow's input function never raises: the missing file drops out of the inputs
    assert register_text_files(path) == [
        str(tmp_path / "texts" / "doc_a.txt"),
        str(tmp_path / "texts" / "doc_c.txt"),
    ]
    assert register_text_files(tmp_path / "absent.csv") == []


def test_every_violation_is_listed_at_once(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[0]["level"] = "x"
    rows[1]["issued"] = "2013-00"
    rows[2]["source_url"] = "www.example.org"
    with pytest.raises(InputError) as caught:
        load_register(_write(tmp_path, rows))
    assert [(v.row, v.rule) for v in caught.value.violations] == [
        (2, "known-level"),
        (3, "valid-date"),
        (4, "url-format"),
    ]
    assert "row 3, column 'issued': value '2013-00'" in str(caught.value)


def test_unclosed_quote_names_the_row_where_the_record_starts(tmp_path):
    path = _write(tmp_path, _rows(POLICY_FIXTURES / "register.csv"))
    text = path.read_text(encoding="utf-8").replace(",Document B,", ',"Document B,', 1)
    path.write_text(text, encoding="utf-8")
    v = _violation(path)
    assert (v.file, v.rule, v.row) == (str(path), "csv-syntax", 3)
    assert "starting on line 3" in v.message and "never closed" in v.message


def test_quoted_line_break_and_unicode_line_separator_stay_in_their_cell(tmp_path):
    rows = _rows(POLICY_FIXTURES / "register.csv")
    rows[0]["notes"] = "first line\nsecond line"
    rows[1]["title_zh"] = "文件\u2028乙"  # a web copy's line separator inside a title
    frame = load_register(_write(tmp_path, rows))
    assert frame["notes"].iloc[0] == "first line\nsecond line"
    assert frame["title_zh"].iloc[1] == "文件\u2028乙"
    assert frame["register_row"].tolist() == [2, 3, 4]


def test_register_saved_as_gbk_is_named_at_its_line_with_the_fix(tmp_path):
    path = _write(tmp_path, _rows(POLICY_FIXTURES / "register.csv"))
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    v = _violation(path)
    assert (v.rule, v.row, v.row_kind) == ("utf-8-register", 2, "line")
    assert "GB18030/GBK" in v.message and "CSV UTF-8" in v.message


# --- the bad-input corpus (tests/bad_inputs/policy_*) -------------------------------------------


@pytest.mark.parametrize("folder", ["policy_register", "policy_text"])
def test_bad_input_baseline_register_passes_the_check(folder, tmp_path, monkeypatch, capsys):
    """Every case is this baseline with one defect, so each fails for the defect planted."""
    from hazegov import cli

    monkeypatch.chdir(ROOT)
    register = f"tests/bad_inputs/{folder}/baseline_register.csv"
    assert cli.main(["check", "register", register, "--out", str(tmp_path)]) == 0, (
        capsys.readouterr().err
    )
    assert (tmp_path / "corpus.parquet").is_file()


def test_policy_cases_are_what_the_script_writes():
    """The committed files are byte for byte the script's (PDF/.docx bytes included)."""
    built = corpus_script().build()
    for folder in ("policy_register", "policy_text"):
        expected = {k: v for k, v in built.items() if k.startswith(f"{folder}/")}
        on_disk = {
            p.relative_to(BAD_INPUTS).as_posix(): p.read_bytes()
            for p in (BAD_INPUTS / folder).rglob("*")
            if p.is_file()
        }
        assert sorted(on_disk) == sorted(expected)
        changed = [name for name in expected if on_disk[name] != expected[name]]
        assert changed == [], "run tests/bad_inputs/make_policy_and_air_cases.py"


def test_shipped_register_validates_and_matches_the_facts():
    frame = load_register(REGISTER)
    assert set(REQUIRED_COLUMNS) <= set(frame.columns)
    frame = frame.set_index("id")
    assert len(frame) == 8
    assert frame["level"].value_counts().to_dict() == {"municipal": 6, "central": 2}
    assert frame.loc["sc-2013-apcap", "issued"] == "2013-09-10"
    assert frame.loc["sc-2013-apcap", "doc_number"] == "国发〔2013〕37号"
    assert frame.loc["bj-2014-reg", "in_force_from"] == "2014-03-01"
    assert frame.loc["bj-2012-measures", "issued_precision"] == "year"
    assert frame.loc["bj-2012-measures", "provisional_fields"] == "issued"
    assert frame.loc["sc-2013-apcap", "provisional_fields"] == "source_url"
    assert set(frame["text_kind"]) == {"project_digest"}


def test_shipped_digests_are_headed_bilingual_and_carry_no_term_in_the_notice():
    shipped = lexicon("shipped")
    frame = load_register(REGISTER)
    assert sorted(p.name for p in DIGESTS.iterdir()) == sorted(f"{i}.md" for i in frame["id"])
    for record in frame.itertuples():
        raw = Path(record.text_path).read_text(encoding="utf-8")
        assert raw.startswith("# 项目摘要") and "Project digest" in raw.splitlines()[0]
        assert "不是官方文本" in raw and "not the official text" in raw
        text = read_policy_text(record.text_path).text
        assert 0.1 < cjk_share(text) < 0.6  # Chinese and English
        assert record.title_zh in text
        notice = [p for p in split_paragraphs(text) if "项目摘要" in p or "Project digest" in p]
        assert notice and all(matches(p, shipped) == [] for p in notice[1:])
