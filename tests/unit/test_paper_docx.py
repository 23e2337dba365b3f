"""DOCX output of the paper renderer, for co-authors and journals who work in Word."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest

from hazegov.paper.render import (
    DOCX_NOTICE_STYLE,
    FORMATS,
    PREVIEW_NOTICE,
    PaperRenderError,
    render_paper,
    render_preview,
)
from tests.support.paper import CHINESE_SUBTITLE, stage_minimal_paper


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docx")
    out = root / "out" / "paper.docx"
    render_preview(stage_minimal_paper(root / "paper"), {"docx": out})
    return out


@pytest.fixture(scope="module")
def document(rendered: Path) -> docx.document.Document:
    return docx.Document(str(rendered))


def _text(document: docx.document.Document) -> str:
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_docx_is_a_format() -> None:
    assert "docx" in FORMATS


def test_notice_is_the_first_paragraph(document: docx.document.Document) -> None:
    first = document.paragraphs[0]
    assert first.text == PREVIEW_NOTICE
    assert first.style is not None and first.style.name == DOCX_NOTICE_STYLE
    assert all(run.bold for run in first.runs)
    assert document.paragraphs[1].style.name == "Title"


def test_chinese_text_figure_table_and_citation(document: docx.document.Document) -> None:
    text = _text(document)
    assert CHINESE_SUBTITLE in text
    assert "调查问卷" in text
    assert "We received 1234 questionnaires" in text
    assert "Figure 1: Flow of questionnaires" in text
    assert "Table 1: Sample composition" in text
    assert "Liang 2015" in text  # citeproc resolved the citation ...
    assert "fixture article on haze governance" in " ".join(text.split()).lower()  # ... and list
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "1\tIntroduction" in headings
    assert "Appendix A: Questionnaire" in headings  # titled by its letter, as in HTML and PDF
    assert document.tables, "the pipe table became no Word table"
    assert "Section\u00a01.1" in text


def test_figure_is_embedded(document: docx.document.Document) -> None:
    assert len(document.inline_shapes) == 1
    images = [
        rel.target_part.blob
        for rel in document.part.rels.values()
        if rel.reltype.endswith("/image") and not rel.is_external
    ]
    assert images and images[0].startswith(b"\x89PNG")


def test_page_break_and_internal_links(rendered: Path) -> None:
    with zipfile.ZipFile(rendered) as archive:
        body = archive.read("word/document.xml").decode("utf-8")
    assert '<w:br w:type="page"' in body  # {{< pagebreak >}}
    assert 'w:anchor="sec-sample"' in body  # cross-references are links
    assert "#pagebreak" not in body and "page-break-after" not in body  # no raw typst or HTML


def test_docx_is_byte_identical_across_renders(rendered: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.docx"
    render_preview(stage_minimal_paper(tmp_path / "paper"), {"docx": again})
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(rendered.read_bytes()).digest()
    )
    with zipfile.ZipFile(io.BytesIO(again.read_bytes())) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert "1970-01-01T00:00:00Z" in core  # SOURCE_DATE_EPOCH, not today


def test_all_three_formats_together(tmp_path: Path) -> None:
    outputs = {fmt: tmp_path / "out" / f"paper.{fmt}" for fmt in ("html", "pdf", "docx")}
    render_preview(stage_minimal_paper(tmp_path / "paper"), outputs)
    assert outputs["html"].read_text(encoding="utf-8").count(PREVIEW_NOTICE) == 1
    assert outputs["pdf"].read_bytes().startswith(b"%PDF")
    assert zipfile.is_zipfile(outputs["docx"])


def test_unknown_format_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(PaperRenderError, match=r"odt.*html, pdf, docx"):
        render_preview(stage_minimal_paper(tmp_path / "paper"), {"odt": tmp_path / "p.odt"})


FAKE_QUARTO = """\
#!{python}
import pathlib, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("1.6.40")
    sys.exit(0)
assert args[:2] == ["render", "index.qmd"], args
to = args[args.index("--to") + 1]
name = {{"html": "index.html", "typst": "index.pdf", "docx": "index.docx"}}[to]
pathlib.Path(name).write_text("quarto " + to)
"""


def test_quarto_renders_docx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = stage_minimal_paper(tmp_path / "paper")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "quarto"
    script.write_text(FAKE_QUARTO.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    outputs = {"docx": tmp_path / "out" / "p.docx", "html": tmp_path / "out" / "p.html"}
    assert render_paper(build, outputs) == "quarto"
    assert outputs["docx"].read_text() == "quarto docx"
    assert outputs["html"].read_text() == "quarto html"


def _reference_doc(path: Path) -> None:
    """pandoc's own reference document with a recognisable body font, as a journal would."""
    import pypandoc

    data = subprocess.run(
        [pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    template = docx.Document(io.BytesIO(data))
    template.styles["Normal"].font.name = "Fixture Journal Serif"
    template.save(str(path))


def test_reference_doc_from_quarto_config(tmp_path: Path) -> None:
    build = stage_minimal_paper(tmp_path / "paper")
    _reference_doc(build / "journal.docx")
    config = build / "_quarto.yml"
    config.write_text(
        config.read_text(encoding="utf-8") + "  docx:\n    reference-doc: journal.docx\n",
        encoding="utf-8",
    )
    out = tmp_path / "p.docx"
    render_preview(build, {"docx": out})
    with zipfile.ZipFile(out) as archive:
        assert b"Fixture Journal Serif" in archive.read("word/styles.xml")
    assert docx.Document(str(out)).paragraphs[0].text == PREVIEW_NOTICE

    (build / "journal.docx").unlink()
    with pytest.raises(PaperRenderError, match=r"reference-doc not found: journal\.docx"):
        render_preview(build, {"docx": out})
