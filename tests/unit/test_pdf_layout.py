"""The PDF layout check on PDFs whose faults are known: typst documents made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from hazegov.paper.pdf_layout import TextArea, layout_problems, render_pages

A4_MARGINS = TextArea.from_cm(2.5, 2.5)


def _pdf(tmp_path: Path, body: str, name: str = "doc.pdf") -> Path:
    import typst

    source = f'#set page(paper: "a4", margin: 2.5cm)\n#set text(font: "Libertinus Serif")\n{body}'
    pdf = typst.compile(source.encode("utf-8"), ignore_system_fonts=True)
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def test_a_clean_page_has_no_problems(tmp_path: Path) -> None:
    pdf = _pdf(tmp_path, "= A heading\n\n" + "Plain text that wraps inside the margins. " * 40)
    assert layout_problems(pdf, A4_MARGINS) == []


def test_overprinted_glyphs_are_found_pair_by_pair(tmp_path: Path) -> None:
    body = "#place(dx: 1cm, dy: 1cm)[Overlap]\n#place(dx: 1cm, dy: 1cm)[Overlap]\nBelow.\n"
    problems = layout_problems(_pdf(tmp_path, body), A4_MARGINS)
    assert [p.kind for p in problems] == ["overprint"] * len("Overlap")
    assert all(p.page == 1 for p in problems)
    assert "'O' and 'O'" in str(problems[0])


def test_slightly_touching_glyphs_do_not_count(tmp_path: Path) -> None:
    # two words 0.5 pt apart vertically overlap by far less than 30% of a glyph box... and
    # lines of ordinary leading never touch
    body = "#place(dx: 1cm, dy: 1cm)[Word]\n#place(dx: 1cm, dy: 1cm + 9pt)[Word]\n"
    assert layout_problems(_pdf(tmp_path, body), A4_MARGINS) == []


def test_punctuation_is_left_out(tmp_path: Path) -> None:
    body = "#place(dx: 1cm, dy: 1cm)[.,;]\n#place(dx: 1cm, dy: 1cm)[.,;]\n"
    assert layout_problems(_pdf(tmp_path, body), A4_MARGINS) == []


def test_text_beyond_the_right_margin_or_the_page(tmp_path: Path) -> None:
    body = "#place(dx: 15.5cm, dy: 2cm)[Outside]\n#place(dx: 19cm, dy: 4cm)[Gone]\n"
    problems = layout_problems(_pdf(tmp_path, body), A4_MARGINS)
    assert {p.kind for p in problems} == {"outside-text-area"}
    texts = {p.detail.split("'")[1] for p in problems}
    assert {"d", "G", "o", "n"} <= texts and "O" not in texts  # "Outs" still fits
    # with a narrow right margin the first word fits; the second is off the page
    wide = layout_problems(_pdf(tmp_path, body, "again.pdf"), TextArea.from_cm(2.5, 0.5))
    assert wide and all("Gone" in p.detail for p in wide)


def test_pages_are_rendered_for_a_person_to_look_at(tmp_path: Path) -> None:
    pdf = _pdf(tmp_path, "First page.\n#pagebreak()\nSecond page.\n")
    written = render_pages(pdf, tmp_path / "pages")
    assert [p.name for p in written] == ["doc-page-01.png", "doc-page-02.png"]
    from PIL import Image

    with Image.open(written[0]) as image:
        assert image.width > 800 and image.height > image.width


@pytest.mark.parametrize("overlap", [0.0, 0.3])
def test_the_overlap_share_is_a_parameter(tmp_path: Path, overlap: float) -> None:
    body = "#place(dx: 1cm, dy: 1cm)[M]\n#place(dx: 1cm + 2pt, dy: 1cm)[M]\n"
    problems = layout_problems(_pdf(tmp_path, body), A4_MARGINS, overlap=overlap)
    assert len(problems) == 1
