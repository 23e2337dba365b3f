"""Tests for the paper renderer (pandoc/typst preview path and the Quarto dispatch)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hazegov.paper import render as paper_render
from hazegov.paper.render import (
    PREVIEW_NOTICE,
    PaperRenderError,
    cjk_font_dir,
    convert_callouts,
    expand_shortcodes,
    number_crossrefs,
    quarto_version,
    render_paper,
    render_preview,
    typst_blocks,
)
from tests.support.paper import CHINESE_SUBTITLE, stage_minimal_paper


def _pdf_text(pdf: Path) -> str | None:
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        return "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    if shutil.which("pdftotext"):
        proc = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        )
        return proc.stdout
    return None


def _squash(text: str) -> str:
    return re.sub(r"[\s\u00ad]+", "", text)


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    return stage_minimal_paper(tmp_path / "paper")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rendered")
    build = stage_minimal_paper(root / "paper")
    outputs = {"html": root / "out" / "paper.html", "pdf": root / "out" / "pdf" / "paper.pdf"}
    render_preview(build, outputs)
    return outputs


# --------------------------------------------------------------------------- shortcodes


def test_var_substitution_uses_dotted_paths(tmp_path: Path) -> None:
    variables = {"data": {"n_received": 1234, "ok": True}, "flat.key": "x"}
    text = "n={{< var data.n_received >}}, ok={{< var data.ok >}}, {{< var flat.key >}}"
    assert expand_shortcodes(text, tmp_path, variables) == "n=1234, ok=true, x"


def test_unknown_var_names_key_and_file(tmp_path: Path) -> None:
    with pytest.raises(PaperRenderError, match=r"chap\.qmd.*'data\.n_lost'"):
        expand_shortcodes(
            "{{< var data.n_lost >}}", tmp_path, {"data": {}}, source=tmp_path / "chap.qmd"
        )


def test_non_scalar_var_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PaperRenderError, match="not a scalar"):
        expand_shortcodes("{{< var data >}}", tmp_path, {"data": {"n": 1}})


def test_includes_paste_files_beside_the_main_document(build_dir: Path) -> None:
    text = expand_shortcodes(
        "{{< include introduction.qmd >}}",
        build_dir,
        {"data": {"n_received": 7, "response_rate": "50%"}},
        source=build_dir / "index.qmd",
    )
    assert "We received 7 questionnaires" in text
    assert "## Sample {#sec-sample}" in text  # sample.qmd, included by introduction.qmd
    assert ": Sample composition {#tbl-sample}" in text  # tables/sample.md, from sample.qmd
    assert "{{<" not in text


def test_missing_include_names_including_file_and_path(build_dir: Path) -> None:
    chapter = build_dir / "sample.qmd"
    chapter.write_text("{{< include tables/missing.md >}}\n", encoding="utf-8")
    with pytest.raises(PaperRenderError) as info:
        expand_shortcodes(
            "{{< include sample.qmd >}}", build_dir, {}, source=build_dir / "index.qmd"
        )
    assert "sample.qmd" in str(info.value)
    assert "tables/missing.md" in str(info.value)


def test_include_that_quarto_releases_resolve_differently_is_refused(tmp_path: Path) -> None:
    # From chapters/c.qmd, "tables/t.md" is tables/t.md beside index.qmd for one Quarto release
    # and chapters/tables/t.md for another: the preview refuses rather than guess.
    (tmp_path / "chapters").mkdir()
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "t.md").write_text("table\n", encoding="utf-8")
    (tmp_path / "chapters" / "c.qmd").write_text("{{< include tables/t.md >}}\n", encoding="utf-8")
    with pytest.raises(PaperRenderError, match=r"c\.qmd:1: include path 'tables/t.md' resolves"):
        expand_shortcodes(
            "{{< include chapters/c.qmd >}}", tmp_path, {}, source=tmp_path / "index.qmd"
        )


def test_root_relative_include_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shared.md").write_text("shared text\n", encoding="utf-8")
    with pytest.raises(PaperRenderError, match="starts with '/'"):
        expand_shortcodes("{{< include /shared.md >}}", tmp_path, {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Text {{< include a.qmd >}} inline.", "only from a line of its own"),
        ("Text above.\n{{< include a.qmd >}}\n", "blank line before and after"),
        ("{{< include a.qmd >}}\nText below.\n", "blank line before and after"),
    ],
)
def test_include_must_stand_alone_between_blank_lines(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "a.qmd").write_text("a\n", encoding="utf-8")
    with pytest.raises(PaperRenderError, match=message):
        expand_shortcodes(text, tmp_path, {})


def test_a_line_quarto_reads_as_one_block_shortcode_is_refused(tmp_path: Path) -> None:
    # Quarto takes a line that starts with "{{< " and ends with " >}}" for one block shortcode;
    # the apostrophe then breaks its parameter grammar ("Invalid Shortcode").
    variables = {"a": 1, "b": 2}
    text = "{{< var a >}}, and McDonald's ω {{< var b >}}\n"
    with pytest.raises(PaperRenderError, match=r"chap\.qmd:1: Quarto stops here"):
        expand_shortcodes(text, tmp_path, variables, source=tmp_path / "chap.qmd")
    with pytest.raises(PaperRenderError, match="misreads this line"):
        expand_shortcodes("{{< var a >}} to {{< var b >}}\n", tmp_path, variables)
    assert expand_shortcodes("From {{< var a >}} to {{< var b >}}\n", tmp_path, variables) == (
        "From 1 to 2\n"
    )


def test_include_cycle_is_detected(tmp_path: Path) -> None:
    (tmp_path / "a.qmd").write_text("{{< include b.qmd >}}", encoding="utf-8")
    (tmp_path / "b.qmd").write_text("{{< include a.qmd >}}", encoding="utf-8")
    with pytest.raises(PaperRenderError, match="include cycle"):
        expand_shortcodes("{{< include a.qmd >}}", tmp_path, {}, source=tmp_path / "index.qmd")


def test_pagebreak_escape_and_unknown_shortcodes(tmp_path: Path) -> None:
    text = expand_shortcodes("a\n\n{{< pagebreak >}}\n\nb {{{< var x >}}}", tmp_path, {})
    assert '```{=html}\n<div style="page-break-after: always;"></div>\n```' in text
    assert "```{=typst}\n#pagebreak(weak: true)\n```" in text
    assert text.endswith("b {{< var x >}}")
    with pytest.raises(PaperRenderError, match="unsupported shortcode"):
        expand_shortcodes("{{< video https://example.org >}}", tmp_path, {})


# --------------------------------------------------------------------------- cross-references

NUMBERING_DOC = """\
# Intro {#sec-intro}

See @fig-a, @fig-b, [@tbl-x], @tbl-y and [-@fig-b]; also @sec-deep and [Appendix B](#sec-app-two).

![First](a.png){#fig-a}

| a |
|---|
| 1 |

: Table X {#tbl-x}

## Deep {#sec-deep}

![Second [with brackets]](b.png){#fig-b width=50%}

# Not counted {.unnumbered}

## Still numbered {#sec-still}

# Method {#sec-method}

Table: Table Y {#tbl-y}

| b |
|---|
| 2 |

# Appendix A: Questionnaire {#sec-app-one .unnumbered}

## Items {#sec-items .unnumbered}

# Appendix B: Codebook {#sec-app-two .unnumbered}

Refs to @sec-still, @sec-method, [the items](#sec-items) and [Appendix A](#sec-app-one).
"""


def test_numbering_of_figures_tables_sections_and_unnumbered_appendices() -> None:
    out = number_crossrefs(NUMBERING_DOC)
    assert "![Figure 1: First](a.png){#fig-a}" in out
    assert "![Figure 2: Second [with brackets]](b.png){#fig-b width=50%}" in out
    assert ": Table 1: Table X {#tbl-x}" in out
    assert "Table: Table 2: Table Y {#tbl-y}" in out
    assert '# Intro {#sec-intro number="1"}' in out
    assert '## Deep {#sec-deep number="1.1"}' in out
    assert "# Not counted {.unnumbered}\n" in out
    assert '## Still numbered {#sec-still number="1.2"}' in out
    assert '# Method {#sec-method number="2"}' in out
    # as Quarto 1.8 outside book projects: appendices are titled, not numbered, by the author
    assert "# Appendix A: Questionnaire {#sec-app-one .unnumbered}\n" in out
    assert "## Items {#sec-items .unnumbered}\n" in out
    assert "# Appendix B: Codebook {#sec-app-two .unnumbered}\n" in out

    nbsp = "\u00a0"
    assert f"See [Figure{nbsp}1](#fig-a), [Figure{nbsp}2](#fig-b)," in out
    assert f"[Table{nbsp}1](#tbl-x), [Table{nbsp}2](#tbl-y) and [2](#fig-b);" in out
    assert f"[Section{nbsp}1.1](#sec-deep) and [Appendix B](#sec-app-two)." in out
    assert f"[Section{nbsp}1.2](#sec-still), [Section{nbsp}2](#sec-method)" in out
    assert "[the items](#sec-items) and [Appendix A](#sec-app-one)." in out
    assert "@" not in out


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("# Questionnaire {#sec-q .appendix}\n", "Quarto 1.8 letters appendices only in book"),
        ("# A {#sec-a .unnumbered}\n\nSee @sec-a.\n", "refers to the unnumbered section 'A'"),
        ("Some text.\n\n: A caption {#tbl-a}\n\nMore text.\n", "is not next to a table"),
    ],
)
def test_what_quarto_would_number_otherwise_is_refused(doc: str, message: str) -> None:
    with pytest.raises(PaperRenderError, match=message):
        number_crossrefs(doc)


def test_crossref_options_change_the_words() -> None:
    out = number_crossrefs(
        "![Flow](f.png){#fig-f}\n\nSee @fig-f.\n", {"fig-title": "图", "title-delim": "："}
    )
    assert "![图 1： Flow](f.png){#fig-f}" in out
    assert "[图\u00a01](#fig-f)" in out


def test_unresolved_references_are_listed() -> None:
    with pytest.raises(PaperRenderError) as info:
        number_crossrefs("# A {#sec-a}\n\nSee @fig-missing, @sec-a and [@tbl-gone].\n")
    assert "@fig-missing" in str(info.value)
    assert "@tbl-gone" in str(info.value)
    assert "@sec-a" not in str(info.value)


def test_duplicate_labels_are_an_error() -> None:
    doc = "# A {#sec-a}\n\n![x](x.png){#fig-x}\n\n![y](y.png){#fig-x}\n"
    with pytest.raises(PaperRenderError, match=r"duplicate.*fig-x"):
        number_crossrefs(doc)


def test_citations_emails_and_code_are_left_alone() -> None:
    doc = (
        "# A {#sec-a}\n\n"
        "Cite [@liang2015, p. 3], @liang2015 and [@fig-a; @liang2015]. Mail x@fig-a.org.\n"
        "A bracket [see\n@fig-a] spans lines.\n"
        "Inline `@fig-nowhere` code.\n\n"
        "```python\nprint('@tbl-nowhere')\n```\n\n"
        "<!-- @sec-nowhere -->\n\n"
        "![A](a.png){#fig-a}\n"
    )
    out = number_crossrefs(doc)
    assert "Cite [@liang2015, p. 3], @liang2015 and [Figure\u00a01](#fig-a); [@liang2015]." in out
    assert "Mail x@fig-a.org." in out
    assert "A bracket see [Figure\u00a01](#fig-a) spans lines." in out
    assert "`@fig-nowhere`" in out
    assert "print('@tbl-nowhere')" in out
    assert "<!-- @sec-nowhere -->" in out


def test_div_figures_are_rejected_clearly() -> None:
    with pytest.raises(PaperRenderError, match="div-style"):
        number_crossrefs("::: {#fig-x}\n![](x.png)\n\nCaption\n:::\n\n@fig-x\n")


# --------------------------------------------------------------------------- callouts


def test_callouts_get_title_and_typst_box() -> None:
    doc = (
        "::: {.callout-warning}\n## Careful\nBody one.\n:::\n\n"
        '::: {.callout-note title="Heads up"}\nBody two.\n:::\n\n'
        "::: {.callout-tip}\nBody three.\n:::\n\n"
        "::: {.other}\nPlain div.\n:::\n"
    )
    out = convert_callouts(doc)
    assert "::: {.callout .callout-warning}" in out
    assert "**Careful**" in out
    assert "## Careful" not in out
    assert "**Heads up**" in out
    assert "title=" not in out
    assert "**Tip**" in out
    assert out.count("```{=typst}\n#block(") == 3
    assert out.count("```{=typst}\n]\n```") == 3
    assert "::: {.other}\nPlain div.\n:::" in out


def test_block_divs_become_typst_blocks_as_in_quarto() -> None:
    doc = '::: {.block .note fill="luma(230)" inset=8pt}\nBody.\n:::\n'
    out = typst_blocks(doc)
    assert out.startswith('::: {.block .note fill="luma(230)" inset=8pt}\n')
    assert "```{=typst}\n#block(\nfill:luma(230),\ninset:8pt,\n[\n```" in out
    assert out.rstrip().endswith("```{=typst}\n])\n```\n\n:::") or "])" in out
    assert "Body." in out


def test_callouts_are_refused_for_the_pdf(build_dir: Path, tmp_path: Path) -> None:
    chapter = build_dir / "sample.qmd"
    chapter.write_text(
        chapter.read_text(encoding="utf-8") + "\n::: {.callout-note}\nA note.\n:::\n",
        encoding="utf-8",
    )
    with pytest.raises(PaperRenderError, match="@preview/fontawesome"):
        render_preview(build_dir, {"pdf": tmp_path / "p.pdf"})
    render_preview(build_dir, {"html": tmp_path / "p.html"})  # HTML has no such need
    assert 'class="callout callout-note"' in (tmp_path / "p.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- preview render


def test_html_preview(rendered: dict[str, Path]) -> None:
    page = rendered["html"].read_text(encoding="utf-8")
    words = " ".join(page.split())
    assert PREVIEW_NOTICE in page
    assert CHINESE_SUBTITLE in page
    assert "调查问卷" in page
    assert 'src="data:image/png;base64,' in page
    assert "Figure 1:" in page
    assert "Table 1:" in page
    assert "We received 1234 questionnaires" in page
    assert '<a href="#sec-sample">Section\u00a01.1</a>' in page
    assert '<a href="#sec-questionnaire">Appendix A</a>' in page
    assert "Appendix A: Questionnaire" in words
    assert "<code>@fig-flow</code>" in page
    assert "Answers are self-reported" in page
    assert 'class="block caveat"' in page
    # citeproc resolved the citation and built the reference list
    assert "Liang 2015" in page
    assert "fixture article on haze governance" in words.lower()
    assert "survey@example.org" in page
    assert "Noto Sans CJK SC" in page


def test_pdf_preview(rendered: dict[str, Path]) -> None:
    data = rendered["pdf"].read_bytes()
    assert data.startswith(b"%PDF")
    assert b"NotoSansCJK" in data
    assert b"SimHei" not in data
    text = _pdf_text(rendered["pdf"])
    if text is None:
        pytest.skip("neither pypdf nor pdftotext is available to read the PDF text")
    squashed = _squash(text)
    assert _squash(PREVIEW_NOTICE) in squashed
    assert CHINESE_SUBTITLE in squashed
    assert "Figure1:Flowofquestionnaires" in squashed
    assert "AppendixA" in squashed
    assert "fixturearticleonhazegovernance" in squashed.lower()
    assert "Answersareself-reported" in squashed


def test_preview_is_deterministic(rendered: dict[str, Path], tmp_path: Path) -> None:
    build = stage_minimal_paper(tmp_path / "paper")
    outputs = {"html": tmp_path / "again.html", "pdf": tmp_path / "again.pdf"}
    render_preview(build, outputs)
    for fmt, path in outputs.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == hashlib.sha256(rendered[fmt].read_bytes()).hexdigest(), fmt


def test_unknown_var_in_chapter_fails_before_writing(build_dir: Path, tmp_path: Path) -> None:
    chapter = build_dir / "sample.qmd"
    chapter.write_text("{{< var data.n_typo >}}\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(PaperRenderError, match=r"sample\.qmd.*data\.n_typo"):
        render_preview(build_dir, {"html": out / "p.html"})
    assert not out.exists() or not any(out.iterdir())


def test_failing_pandoc_leaves_no_output(build_dir: Path, tmp_path: Path) -> None:
    (build_dir / "references.bib").unlink()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PaperRenderError, match="pandoc") as info:
        render_preview(build_dir, {"html": out / "p.html", "pdf": out / "p.pdf"})
    assert "references.bib" in str(info.value)
    assert list(out.iterdir()) == []


def test_failing_typst_leaves_no_output(build_dir: Path, tmp_path: Path) -> None:
    chapter = build_dir / "sample.qmd"
    chapter.write_text(
        chapter.read_text(encoding="utf-8") + "\n```{=typst}\n#undefined-function(\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PaperRenderError, match="typst"):
        render_preview(build_dir, {"html": out / "p.html", "pdf": out / "p.pdf"})
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[@liang2015]", "[@liang2016]", "citation liang2016 not found"),
        ("figures/flow.png", "figures/missing.png", "missing.png"),
    ],
)
def test_missing_citation_or_image_is_an_error(
    build_dir: Path, tmp_path: Path, old: str, new: str, message: str
) -> None:
    for chapter in build_dir.glob("*.qmd"):
        chapter.write_text(chapter.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    out = tmp_path / "p.html"
    with pytest.raises(PaperRenderError, match=message):
        render_preview(build_dir, {"html": out})
    assert not out.exists()


def test_unknown_format_is_rejected(build_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PaperRenderError, match="odt"):
        render_preview(build_dir, {"odt": tmp_path / "p.docx"})


def test_cjk_font_dir() -> None:
    font_dir = cjk_font_dir()
    if font_dir is None:
        pytest.skip("mplfonts is not installed")
    assert (font_dir / paper_render.CJK_FONT_FILE).is_file()


# --------------------------------------------------------------------------- quarto dispatch


FAKE_QUARTO = """\
#!{python}
import pathlib, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("{version}")
    sys.exit(0)
assert args[:2] == ["render", "index.qmd"], args
to = args[args.index("--to") + 1]
name = {{"html": "index.html", "typst": "index.pdf"}}[to]
pathlib.Path(name).write_text("quarto " + to)
"""


def _fake_quarto(bin_dir: Path, version: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "quarto"
    script.write_text(FAKE_QUARTO.format(python=sys.executable, version=version))
    script.chmod(0o755)


def test_quarto_version_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert quarto_version() is None


def test_render_paper_uses_recent_quarto(
    build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_quarto(tmp_path / "bin", "1.6.40")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert quarto_version() == (1, 6, 40)
    outputs = {"html": tmp_path / "out" / "p.html", "pdf": tmp_path / "out" / "p.pdf"}
    assert render_paper(build_dir, outputs) == "quarto"
    assert outputs["html"].read_text() == "quarto html"
    assert outputs["pdf"].read_text() == "quarto typst"


def test_render_paper_falls_back_to_preview_for_old_quarto(
    build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_quarto(tmp_path / "bin", "1.4.550")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    outputs = {"html": tmp_path / "out" / "p.html"}
    assert render_paper(build_dir, outputs) == "preview"
    assert PREVIEW_NOTICE in outputs["html"].read_text(encoding="utf-8")
