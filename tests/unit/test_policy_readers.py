"""Policy strand: reading .txt, .md, .docx and .pdf, and the 'cannot read' errors."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pytest

from hazegov.errors import InputError
from hazegov.policy.readers import UnreadableTextError, read_policy_text
from hazegov.policy.stages import read_corpus
from hazegov.policy.text import split_paragraphs
from tests.support.policy import image_pdf, register_with_scan

ZH = "环境保护部会同国家发展改革委制定排放标准。"
EN = "The Ministry of Finance provides subsidies."


def _rule(exc: pytest.ExceptionInfo[UnreadableTextError]) -> str:
    return exc.value.violations[0].rule


def _text_pdf(path: Path) -> Path:
    """A small text PDF in Chinese and English, set by typst with the Noto CJK font of mplfonts."""
    import mplfonts
    import typst

    fonts = Path(mplfonts.__file__).parent / "fonts"
    source = path.with_suffix(".typ")
    source.write_text(
        f'#set text(font: ("Libertinus Serif", "Noto Sans CJK SC"))\n{ZH}\n\n{EN}\n',
        encoding="utf-8",
    )
    path.write_bytes(typst.compile(str(source), font_paths=[str(fonts)], ignore_system_fonts=True))
    return path


def test_plain_text_in_utf8_with_and_without_bom_and_gb18030(tmp_path):
    for name, data, encoding in (
        ("utf8.txt", ZH.encode("utf-8"), "utf-8"),
        ("bom.txt", b"\xef\xbb\xbf" + ZH.encode("utf-8"), "utf-8"),
        ("gb.txt", ZH.encode("gb18030"), "gb18030"),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        read = read_policy_text(path)
        assert read.text.strip() == ZH
        assert (read.reader, read.encoding) == ("plain_text", encoding)
    with pytest.raises(UnreadableTextError) as caught:
        read_policy_text(tmp_path / "gb.txt", encoding="utf-8")
    assert _rule(caught) == "decodable-text"


def test_markdown_is_stripped_to_paragraphs(tmp_path):
    path = tmp_path / "digest.md"
    path.write_text(
        f"# 标题 Title\n\n> {ZH}\n>\n> {EN}\n\n- 第一项\n- **Second** [item](https://example.org)\n",
        encoding="utf-8",
    )
    read = read_policy_text(path)
    assert read.reader == "markdown"
    assert split_paragraphs(read.text) == ["标题 Title", ZH, EN, "第一项", "Second item"]


def test_docx_paragraphs_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph(ZH)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "财政部"
    table.cell(0, 1).text = "补贴"
    document.add_paragraph(EN)
    path = tmp_path / "text.docx"
    document.save(str(path))
    read = read_policy_text(path)
    assert read.reader == "docx"
    assert read.text.split("\n\n") == [ZH, "财政部 补贴", EN + "\n"]


def test_text_pdf_in_chinese_and_english(tmp_path):
    read = read_policy_text(_text_pdf(tmp_path / "text.pdf"))
    assert (read.reader, read.pages) == ("pdf", 1)
    assert ZH in read.text.replace("\n", "")
    assert EN in read.text.replace("\n", " ")


@pytest.mark.parametrize(
    ("name", "make", "rule"),
    [
        ("scan.pdf", lambda p: image_pdf(p), "pdf-text-layer"),
        ("cut.pdf", lambda p: p.write_bytes(b"%PDF-1.4\nnot really a pdf"), "pdf-complete"),
        ("broken.pdf", lambda p: p.write_bytes(b"%PDF-1.4\nnot a pdf\n%%EOF\n"), "readable-pdf"),
        ("page.pdf", lambda p: p.write_bytes(b"<!DOCTYPE html><html></html>"), "pdf-signature"),
        ("broken.docx", lambda p: p.write_bytes(b"PK\x03\x04 not a zip"), "readable-docx"),
        ("empty.txt", lambda p: p.write_bytes(b""), "non-empty-text"),
        ("blank.md", lambda p: p.write_text(" \n\n\t\n", encoding="utf-8"), "non-empty-text"),
        ("latin1.txt", lambda p: p.write_bytes("café".encode("latin-1")), "decodable-text"),
        ("utf16.txt", lambda p: p.write_bytes(ZH.encode("utf-16-le")), "not-binary-text"),
        ("bom16.txt", lambda p: p.write_bytes(ZH.encode("utf-16")), "decodable-text"),
        ("scan.png", lambda p: p.write_bytes(b"\x89PNG"), "known-text-format"),
        ("missing.txt", lambda p: None, "text-file-exists"),
    ],
)
def test_unreadable_files_say_which_file_and_why(tmp_path, name, make, rule):
    path = tmp_path / name
    make(path)
    with pytest.raises(UnreadableTextError) as caught:
        read_policy_text(path, context="named by register.csv, row 3, column 'text_file'")
    violation = caught.value.violations[0]
    assert (violation.file, violation.rule) == (str(path), rule)
    assert "cannot read" in violation.message and "row 3" in violation.message


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_bytes(b"PK\x03\x04 cut"), "ZIP directory, is missing: the file is"),
        (lambda p: p.write_bytes(b"{\\rtf1 text}"), "is a ZIP package, and this file is not one"),
        (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)), "(.doc)"),
        (lambda p: _zip(p, {"notes.txt": b"x"}), "no [Content_Types].xml (it holds notes.txt)"),
    ],
)
def test_a_file_that_is_not_a_docx_says_what_it_is(tmp_path, make, says):
    path = tmp_path / "text.docx"
    make(path)
    with pytest.raises(UnreadableTextError) as caught:
        read_policy_text(path)
    assert _rule(caught) == "readable-docx"
    assert says in caught.value.violations[0].message


def test_a_truncated_pdf_is_named_as_truncated(tmp_path):
    whole = _text_pdf(tmp_path / "whole.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: whole.rindex(b"%%EOF")])
    with pytest.raises(UnreadableTextError) as caught:
        read_policy_text(cut)
    assert _rule(caught) == "pdf-complete" and "truncated" in caught.value.violations[0].message


@pytest.mark.parametrize(
    ("data", "encoding", "says"),
    [
        ("qualité de l'air".encode("latin-1"), "auto", "neither UTF-8 nor GB18030 (byte 6"),
        ("qualité de l'air".encode("latin-1"), "auto", "another encoding"),
        (ZH.encode("utf-16"), "auto", "looks like UTF-16"),
        (ZH.encode("gb18030"), "utf-8", "reads as GB18030: set policies.ingest.text_encoding"),
    ],
)
def test_undecodable_text_names_the_byte_and_a_likely_encoding(tmp_path, data, encoding, says):
    path = tmp_path / "text.txt"
    path.write_bytes(data)
    with pytest.raises(UnreadableTextError) as caught:
        read_policy_text(path, encoding)
    assert _rule(caught) == "decodable-text" and says in caught.value.violations[0].message


def test_encrypted_pdf_cannot_be_read(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = _text_pdf(tmp_path / "plain.pdf")
    writer = PdfWriter(clone_from=PdfReader(str(plain)))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "locked.pdf"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnreadableTextError) as caught:
        read_policy_text(path)
    assert _rule(caught) == "unencrypted-pdf"
    assert "encrypted" in caught.value.violations[0].message


def test_corpus_stops_at_an_unreadable_text_by_default(tmp_path):
    register = register_with_scan(tmp_path)
    with pytest.raises(InputError) as caught:
        read_corpus(register)
    violation = caught.value.violations[0]
    assert violation.file.endswith("scan.pdf") and violation.rule == "pdf-text-layer"
    assert f"named by {register}, row 4, column 'text_file'" in violation.message


def test_stopping_corpus_logs_no_skipped_text_and_writes_nothing(tmp_path, caplog):
    from hazegov.policy.stages import run_policy_corpus

    register = register_with_scan(tmp_path)
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="hazegov.policy"), pytest.raises(InputError):
        run_policy_corpus(register, None, out / "corpus.parquet", out / "corpus_report.json")
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]
    assert not out.exists() or not any(out.iterdir())


def test_corpus_can_skip_an_unreadable_text_with_a_warning(tmp_path, caplog):
    register = register_with_scan(tmp_path)
    with caplog.at_level(logging.WARNING, logger="hazegov.policy"):
        corpus, report = read_corpus(register, on_unreadable="warn")
    assert corpus.set_index("id")["status"].to_dict() == {
        "doc-a": "read",
        "doc-b": "read",
        "doc-c": "skipped",
    }
    assert "pdf-text-layer" in corpus.set_index("id").loc["doc-c", "reason"]
    assert any("scan.pdf" in r.getMessage() for r in caplog.records)
    assert [r["status"] for r in report] == ["read", "read", "skipped"]
