"""Checks of the paper's sources and build: on fixtures, then on the real `paper/` sources.

The checks of the real paper that need the generated inputs of a build (variables, cross
references, figures) are end to end: tests/e2e/test_real_paper_checks.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hazegov.paper.checks import (
    DIGIT_ALLOWLIST,
    AllowedNumber,
    Problem,
    appendices_and_offline,
    check_paper,
    digits_in_prose,
    figure_text_sizes,
    format_problems,
    main,
    missing_figures,
    paper_sources,
    quarto_syntax,
    read_supplementary,
    undefined_variables,
    unresolved_crossrefs,
    unused_variables,
)
from tests.support.paper import png
from tests.support.paths import FIXTURES, ROOT

PAPER = ROOT / "paper"
FIXTURE = FIXTURES / "paper_checks"


@pytest.fixture
def fixture_build(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    shutil.copytree(FIXTURE / "build", build)
    (build / "figures").mkdir()
    (build / "figures" / "flow.png").write_bytes(png())
    return build


def _found(problems: list[Problem]) -> list[tuple[str, int]]:
    return [(p.file, p.line) for p in problems]


# --------------------------------------------------------------------------- digits


def test_digits_in_prose_finds_only_hand_typed_numbers() -> None:
    problems = digits_in_prose([FIXTURE / "prose" / "digits.qmd"], root=FIXTURE)
    numbers = [(p.line, p.message.split("'")[1]) for p in problems]
    assert numbers == [
        (16, "3"),  # an image caption is prose
        (25, "12"),  # so is a footnote
        (31, "37"),
        (31, "4.5"),
        (31, "95"),
        (31, "３００"),  # full-width digits count too
    ], format_problems(problems)
    assert {p.file for p in problems} == {"prose/digits.qmd"}
    assert "Hand-typed: 37 respondents" in problems[2].message


def test_without_the_allowlist_years_and_names_are_reported() -> None:
    problems = digits_in_prose([FIXTURE / "prose" / "digits.qmd"], allowlist=())
    numbers = {p.message.split("'")[1] for p in problems}
    assert {"2013", "2017", "2012", "2020", "37", "27", "2.5", "10", "3095", "633"} <= numbers
    # ... but what is not prose stays ignored
    assert not {"42", "17", "5", "99", "33", "182", "85", "1", "2"} & numbers


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("in 2013 and 1998", True),
        ("the 2013–2017 plan and the 2012-2020 measures", True),
        ("国发〔2013〕37号 and 京政发〔2013〕27号", True),
        ("Guofa [2013] No. 37", True),
        ("Beijing (2013) 5 plans", False),  # a year in brackets is no document number
        ("北京市（2013）10个", False),
        ("GB 3095-2012, GB/T 3095—2012 and HJ 633-2012", True),
        ("PM2.5, PM 2.5 and PM10", True),
        ("2013年9月", False),  # the month is a typed number
        ("1850 respondents", False),  # outside 1900-2099
        ("20130 cases", False),
        ("2013.5 µg", False),
        ("PM2.55", False),
        ("2015%", False),
    ],
)
def test_allowlist_patterns(tmp_path: Path, text: str, allowed: bool) -> None:
    qmd = tmp_path / "x.qmd"
    qmd.write_text(text + "\n", encoding="utf-8")
    assert (digits_in_prose([qmd]) == []) is allowed


def test_allowlist_is_short_and_documented() -> None:
    assert 1 <= len(DIGIT_ALLOWLIST) <= 8
    for entry in DIGIT_ALLOWLIST:
        assert isinstance(entry, AllowedNumber)
        assert entry.name and len(entry.reason) > 20


# --------------------------------------------------------------------------- variables


def test_undefined_variables(fixture_build: Path) -> None:
    problems = undefined_variables(fixture_build)
    assert [str(p) for p in problems] == [
        "_one.qmd:4: variable 'sample.typo' is not in _variables.yml",
        "_one.qmd:4: variable 'sample' is a mapping, not a scalar",
    ]


def test_unused_variables_with_a_supplementary_file(fixture_build: Path) -> None:
    problems = unused_variables(fixture_build, FIXTURE / "supplementary_variables.txt")
    assert [(p.file.rsplit("/", 1)[-1], p.line) for p in problems] == [
        ("_variables.yml", 7),
        ("supplementary_variables.txt", 3),
    ]
    assert "'sample.unused_count'" in problems[0].message
    assert "'gone.*' matches no variable" in problems[1].message


def test_unused_variables_with_patterns_or_none(fixture_build: Path, tmp_path: Path) -> None:
    assert (
        unused_variables(fixture_build, ["extra.kept", "extra.also_kept", "sample.unused_*"]) == []
    )
    keys = {p.message.split("'")[1] for p in unused_variables(fixture_build)}
    assert keys == {"sample.unused_count", "extra.kept", "extra.also_kept"}
    missing = unused_variables(fixture_build, tmp_path / "nowhere.txt")
    assert any(p.message == "supplementary variable list not found" for p in missing)


def test_read_supplementary_skips_comments() -> None:
    assert read_supplementary(FIXTURE / "supplementary_variables.txt") == [
        ("extra.*", 2),
        ("gone.*", 3),
    ]


def test_missing_variables_file(fixture_build: Path) -> None:
    (fixture_build / "_variables.yml").unlink()
    for check in (undefined_variables, unused_variables):
        problems = check(fixture_build)
        assert problems and "not found" in problems[0].message


# --------------------------------------------------------------------------- includes


def test_includes_resolve_from_the_main_document(fixture_build: Path) -> None:
    # _one.qmd, beside index.qmd, includes tables/counts.md: both readings of Quarto agree
    assert undefined_variables(fixture_build)[0].file == "_one.qmd"
    (fixture_build / "tables" / "counts.md").unlink()
    problems = unresolved_crossrefs(fixture_build)
    assert "_one.qmd:11: included file not found: {{< include tables/counts.md >}}" in map(
        str, problems
    )
    assert any("@tbl-counts has no label" in p.message for p in problems)


def test_an_include_quarto_releases_resolve_differently_is_reported(fixture_build: Path) -> None:
    (fixture_build / "chapters").mkdir()
    (fixture_build / "_one.qmd").rename(fixture_build / "chapters" / "_one.qmd")
    index = fixture_build / "index.qmd"
    index.write_text(
        index.read_text(encoding="utf-8").replace("include _one.qmd", "include chapters/_one.qmd"),
        encoding="utf-8",
    )
    problems = [str(p) for p in quarto_syntax(fixture_build)]
    assert any(
        p.startswith("chapters/_one.qmd:11: include path 'tables/counts.md' resolves")
        for p in problems
    ), problems


def test_quarto_block_shortcode_rule(fixture_build: Path) -> None:
    chapter = fixture_build / "_two.qmd"
    chapter.write_text(
        "# Two {#sec-two}\n\n"
        "{{< var sample.n >}}, and McDonald's {{< var sample.rate >}}\n"
        "{{< var sample.n >}} of {{< var sample.rate >}}\n"
        "Fine: {{< var sample.n >}} of {{< var sample.rate >}}\n"
        "Text before.\n{{< include tables/counts.md >}}\n\n"
        "An inline {{< include tables/counts.md >}} include.\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in quarto_syntax(fixture_build)]
    assert problems[0].startswith("_two.qmd:3: Quarto stops here ('Invalid Shortcode')")
    assert problems[1].startswith("_two.qmd:4: Quarto misreads this line as one block shortcode")
    assert "_two.qmd:7: Quarto needs a blank line before and after an include" in problems
    assert any(p.startswith("_two.qmd:9: an include must stand alone") for p in problems)
    assert len(problems) == 4, problems


def test_include_cycle_is_reported(fixture_build: Path) -> None:
    chapter = fixture_build / "_two.qmd"
    chapter.write_text("{{< include index.qmd >}}\n", encoding="utf-8")
    problems = missing_figures(fixture_build)
    assert any(p.message.startswith("include cycle") for p in problems)


# --------------------------------------------------------------------------- refs, figures


def test_unresolved_crossrefs(fixture_build: Path) -> None:
    assert [str(p) for p in unresolved_crossrefs(fixture_build)] == [
        "_one.qmd:5: @fig-nowhere has no label {#fig-nowhere}",
        "_one.qmd:5: @tbl-gone has no label {#tbl-gone}",
        "_two.qmd:13: label 'fig-flow' also defined at _one.qmd:7",
    ]


def test_code_cell_labels_count(fixture_build: Path) -> None:
    chapter = fixture_build / "_two.qmd"
    chapter.write_text(
        "# Two {#sec-two}\n\nSee @fig-cell.\n\n```{python}\n#| label: fig-cell\nplot()\n```\n",
        encoding="utf-8",
    )
    assert _found(unresolved_crossrefs(fixture_build)) == [
        ("_one.qmd", 5),
        ("_one.qmd", 5),
    ]


def test_missing_figures(fixture_build: Path) -> None:
    assert [str(p) for p in missing_figures(fixture_build)] == [
        "_one.qmd:9: image not found: figures/missing.png",
        "_two.qmd:11: image not found: figures/raw.png",
    ]


def test_check_paper_and_main(fixture_build: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper_dir = FIXTURE / "prose"
    problems = check_paper(fixture_build, paper_dir, [])
    # digits, undefined, unused, crossrefs, images, and the figures' print sizes (one PNG
    # without recorded text sizes, two figures without a width)
    assert len(problems) == 6 + 2 + 3 + 3 + 2 + 3
    assert main([str(fixture_build), str(paper_dir)]) == 1
    out = capsys.readouterr()
    assert "image not found: figures/missing.png" in out.out
    assert "supplementary variable list not found" in out.out


# --------------------------------------------------------------------------- the real paper


def test_paper_sources_are_found() -> None:
    names = {p.relative_to(PAPER).as_posix() for p in paper_sources(PAPER)}
    assert "index.qmd" in names
    assert any(name.startswith("_") for name in names)


def test_paper_prose_has_no_hand_typed_digits() -> None:
    problems = digits_in_prose(paper_sources(PAPER), root=ROOT)
    assert problems == [], "\n" + format_problems(problems)


def test_missing_figures_resolves_variables_in_paths(fixture_build: Path) -> None:
    chapter = fixture_build / "_two.qmd"
    chapter.write_text(
        "![A](figures/{{< var table.note >}}.png)\n\n![B](figures/{{< var no.such >}}.png)\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in missing_figures(fixture_build)]
    assert "_two.qmd:1: image not found: figures/synthetic.png" in problems
    assert not any(":3:" in p for p in problems)  # left to undefined_variables


# --------------------------------------------------------------------------- print sizes


def _figure(path: Path, width_in: float, fontsize: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hazegov.survey.describe import save_png

    fig, ax = plt.subplots(figsize=(width_in, 3), dpi=50)
    ax.set_title("Title", fontsize=12)
    ax.tick_params(labelsize=fontsize)
    save_png(fig, path)


@pytest.mark.parametrize(
    ("width_in", "fontsize", "width_attr", "ok"),
    [
        (6.3, 6.0, "width=100%", True),  # 6 pt at its own size, printed at its own size
        (6.3, 6.0, "width=80%", False),  # shrunk to 80%: 4.8 pt
        (12.6, 12.0, "width=100%", True),  # twice the column, printed at half its size
        (12.6, 11.0, "width=100%", False),
        (6.3, 8.0, "width=12cm", True),  # 8 pt x 12 / 16 cm
        (6.3, 8.0, "width=20cm", False),  # wider than the text column
    ],
)
def test_figure_text_prints_at_six_points(
    fixture_build: Path, width_in: float, fontsize: float, width_attr: str, ok: bool
) -> None:
    _figure(fixture_build / "figures" / "sized.png", width_in, fontsize)
    (fixture_build / "_two.qmd").write_text(
        f"# Two {{#sec-two}}\n\n![Sized](figures/sized.png){{#fig-sized {width_attr}}}\n",
        encoding="utf-8",
    )
    problems = [p for p in figure_text_sizes(fixture_build) if p.file == "_two.qmd"]
    assert (problems == []) is ok, format_problems(problems)


def test_figures_without_a_width_or_recorded_sizes(fixture_build: Path) -> None:
    problems = [str(p) for p in figure_text_sizes(fixture_build)]
    assert problems == [
        "_one.qmd:7: figure figures/flow.png does not record its text size",
        "_one.qmd:9: figure figures/missing.png has no width=, so no known print size",
        "_two.qmd:13: figure figures/flow.png has no width=, so no known print size",
    ]


# --------------------------------------------------------------------------- appendices


def test_appendix_letters_links_and_callouts(fixture_build: Path) -> None:
    (fixture_build / "_two.qmd").write_text(
        "# Two {#sec-two}\n\nSee [Appendix A](#sec-app-a), [Appendix B](#sec-app-a) and "
        "[Appendix C](#sec-two).\n\n::: {.callout-note}\nA note.\n:::\n\n"
        "# Appendix A: First {#sec-app-a .unnumbered}\n\n"
        "# Appendix C: Second {#sec-app-b}\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in appendices_and_offline(fixture_build)]
    assert problems == [
        "_two.qmd:3: link 'Appendix B' points at #sec-app-a, which is Appendix A",
        "_two.qmd:3: link 'Appendix C' points at #sec-two, which is no appendix heading",
        "_two.qmd:5: a callout: Quarto's typst output imports the typst package "
        "@preview/fontawesome for it, which needs the network; use a .block div",
        "_two.qmd:11: Appendix C should be Appendix B: appendices are lettered in order",
        "_two.qmd:11: an appendix heading must be {.unnumbered}",
    ]


def test_the_supplementary_entries_of_a_strand_switched_off_are_not_stale(
    fixture_build: Path,
) -> None:
    """With config strands.air_quality false the build has no air.* number at all."""
    kept = ["extra.kept", "extra.also_kept", "sample.unused_*"]
    assert unused_variables(fixture_build, [*kept, "air.by_series.*", "simulation.alpha"]) == []
    # a namespace that is no strand's is still reported
    stale = unused_variables(fixture_build, [*kept, "ari.by_series.*"])
    assert [p.message for p in stale] == [
        "supplementary entry 'ari.by_series.*' matches no variable"
    ]
