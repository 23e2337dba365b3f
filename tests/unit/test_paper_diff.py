"""Tests for the paper-level diff of a build against a saved baseline."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image, ImageDraw

from hazegov.paper.diff import (
    MANIFEST_FILE,
    PaperDiff,
    PaperDiffError,
    compare_builds,
    main,
    parse_value,
    render_markdown,
    save_baseline,
    write_report,
)
from tests.support import paths

FIXTURES = paths.FIXTURES / "paper_diff"


def _figure(path: Path, bar_end: int) -> None:
    """A tiny bar chart; a different ``bar_end`` changes a known number of pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (40, 20), "white")
    ImageDraw.Draw(image).rectangle((5, 5, bar_end, 14), fill=(30, 90, 200))
    image.save(path)


def _build(tmp_path: Path, name: str, bar_end: int) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    _figure(target / "figures" / "coefficients.png", bar_end)
    Image.new("RGB", (10, 10), "grey").save(target / "figures" / "flow.png")
    return target


@pytest.fixture
def builds(tmp_path: Path) -> tuple[Path, Path]:
    """(baseline, changed): the changed build drops the speeder exclusion."""
    return _build(tmp_path, "baseline", 14), _build(tmp_path, "changed", 24)


@pytest.fixture
def diff(builds: tuple[Path, Path]) -> PaperDiff:
    return compare_builds(*builds)


def _row(frame: pd.DataFrame, **where: object) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    assert mask.sum() == 1, f"expected one row for {where}, found {int(mask.sum())}"
    return frame[mask].iloc[0]


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("text", "kind", "values"),
    [
        ("0.27", "number", ("0.27",)),
        ("89.0", "number", ("89.0",)),
        ("208", "number", ("208",)),
        ("43,824", "number", ("43824",)),
        ("-0.62", "number", ("-0.62",)),
        ("= .023", "number", (".023",)),
        ("93.7%", "number", ("93.7",)),
        ("< .001", "bound", (".001",)),
        ("[0.09, 0.35]", "interval", ("0.09", "0.35")),
        ("[-12.7, 40.4]", "interval", ("-12.7", "40.4")),
        ("2010–2014", "text", ()),
        ("an increase", "text", ()),
    ],
)
def test_parse_value(text: str, kind: str, values: tuple[str, ...]) -> None:
    parsed = parse_value(text)
    assert parsed.kind == kind
    assert parsed.values == tuple(Decimal(v) for v in values)


def test_changed_variables_with_differences(diff: PaperDiff) -> None:
    v = diff.variables
    changed = set(v.loc[v["status"] == "changed", "key"])
    assert changed == {
        "regression.EVAL.p",
        "regression.LEAD.b",
        "regression.LEAD.ci",
        "regression.LEAD.p",
        "regression.n",
        "regression.r2",
        "sample.analysed",
        "sample.analysed_percent",
    }
    assert set(v.loc[v["status"] == "added", "key"]) == {"sample.missing_share"}
    assert set(v.loc[v["status"] == "removed", "key"]) == {"sample.excluded.speeders"}
    assert not _row(v, key="regression.EVAL.q")["changed"]  # '< .001' both times

    count = _row(v, key="sample.analysed")  # an integer count
    assert (count["old"], count["new"], count["kind"]) == ("208", "216", "number")
    assert count["abs_change"] == 8
    assert count["rel_change"] == pytest.approx(8 / 208)
    assert count["group"] == "sample"

    r2 = _row(v, key="regression.r2")
    assert r2["abs_change"] == -0.02  # exact: parsed as decimals
    assert r2["change"] == "-0.02 (-4.1%)"

    ci = _row(v, key="regression.LEAD.ci")
    assert (ci["old"], ci["new"], ci["kind"]) == ("[0.09, 0.35]", "[0.10, 0.33]", "interval")
    assert (ci["low_change"], ci["high_change"]) == (0.01, -0.02)
    assert math.isnan(ci["abs_change"])

    bound = _row(v, key="regression.LEAD.p")  # '< .001' -> '= .002': no difference
    assert (bound["old"], bound["new"], bound["kind"]) == ("< .001", "= .002", "bound")
    assert math.isnan(bound["abs_change"]) and math.isnan(bound["rel_change"])

    p = _row(v, key="regression.EVAL.p")
    assert p["abs_change"] == pytest.approx(0.008)

    removed = _row(v, key="sample.excluded.speeders")
    assert (removed["old"], removed["new"]) == ("8", None)


def test_sentences_old_and_new_wording(diff: PaperDiff) -> None:
    s = diff.sentences
    analysed = s[s["key"] == "sample.analysed"]
    assert list(analysed["file"]) == ["index.qmd", "chapters/_results.qmd"]  # reading order

    abstract = _row(s, key="sample.analysed", file="index.qmd")
    assert abstract["section"] == "front matter: abstract"
    assert abstract["line"] == 4
    assert abstract["old_sentence"] == "We analysed 208 respondents over 2010–2014."
    assert abstract["new_sentence"] == "We analysed 216 respondents over 2010–2014."

    # the sentence runs over three source lines; its neighbours are not part of it
    sample = _row(s, key="sample.analysed_percent")
    assert (sample["file"], sample["line"]) == ("chapters/_results.qmd", 5)
    assert sample["section"] == "Results > Sample"
    assert sample["old_sentence"] == (
        "After the exclusions (6 duplicates), 208 respondents (90.4 percent) were analysed."
    )
    assert sample["new_sentence"] == (
        "After the exclusions (6 duplicates), 216 respondents (93.9 percent) were analysed."
    )

    lead = _row(s, key="regression.LEAD.ci")
    assert lead["section"] == "Results > Regression"
    assert lead["old_sentence"] == (
        "Leadership predicts effectiveness, b = 0.22, 95% CI [0.09, 0.35], p < .001."
    )
    assert lead["new_sentence"] == (
        "Leadership predicts effectiveness, b = 0.215, 95% CI [0.10, 0.33], p = .002."
    )
    # 'e.g.' does not end a sentence
    assert _row(s, key="regression.EVAL.p")["new_sentence"] == (
        "Evaluation adds to it (p = .031, e.g. beyond leadership)."
    )
    # unchanged keys and code blocks give no sentences; a figure caption is one unit
    assert "reliability.alpha_min" not in set(s["key"])
    assert set(s.loc[s["key"] == "sample.analysed", "line"]) == {4, 5}
    figure = s[(s["key"] == "regression.n") & s["old_sentence"].str.startswith("![")]
    assert list(figure["new_sentence"]) == [
        "![Coefficients over 2010–2014. Made with n = 216.](figures/coefficients.png){#fig-coef}"
    ]


def test_removed_key_still_quoted_is_shown_as_undefined(builds: tuple[Path, Path]) -> None:
    baseline, changed = builds
    chapter = changed / "chapters" / "_results.qmd"
    chapter.write_text(
        chapter.read_text(encoding="utf-8").replace(
            "As in Liang", "Speeders: {{< var sample.excluded.speeders >}}. As in Liang"
        ),
        encoding="utf-8",
    )
    diff = compare_builds(baseline, changed)
    row = _row(diff.sentences, key="sample.excluded.speeders")
    assert row["old_sentence"] == "Speeders: 8."
    assert row["new_sentence"] == "Speeders: ⟨sample.excluded.speeders not defined⟩."
    texts = diff.texts.set_index("file")
    assert texts.loc["chapters/_results.qmd", "status"] == "changed"
    assert texts.loc["chapters/_results.qmd", "lines_added"] == 1
    assert texts.loc["index.qmd", "status"] == "unchanged"


# --------------------------------------------------------------------------- tables, figures


def test_changed_table_cells(diff: PaperDiff) -> None:
    t = diff.tables
    assert set(t["table"]) == {"tables/regression.md"}
    cells = {(r.row, r.column): (r.old, r.new) for r in t.itertuples()}
    assert cells == {
        ("LEAD", "b"): ("0.220", "0.215"),
        ("LEAD", "95% CI"): ("[0.09, 0.35]", "[0.10, 0.33]"),
        ("LEAD", "p"): ("< .001", ".002"),
        ("EVAL", "p"): (".023", ".031"),
        ("(note)", ""): ("*Note.* n = 208, R² = 0.49.", "*Note.* n = 216, R² = 0.47."),
    }
    assert _row(t, row="LEAD", column="b")["abs_change"] == -0.005
    files = diff.table_files.set_index("table")
    assert files.loc["tables/regression.md", "status"] == "changed"
    assert files.loc["tables/regression.md", "label"] == "tbl-regression"
    assert files.loc["tables/sample.md", "status"] == "unchanged"


def test_table_rows_and_tables_added_or_removed(builds: tuple[Path, Path]) -> None:
    baseline, changed = builds
    sample = changed / "tables" / "sample.md"
    sample.write_text(
        sample.read_text(encoding="utf-8").replace(
            "| Staff | 88 | 42.3 |", "| Staff | 88 | 42.3 |\n| Speeders | 8 | 3.8 |"
        ),
        encoding="utf-8",
    )
    (changed / "tables" / "new.md").write_text("| A | B |\n|--|--|\n| x | 1 |\n")
    (baseline / "tables" / "old.md").write_text("| A | B |\n|--|--|\n| x | 1 |\n")
    diff = compare_builds(baseline, changed)
    added = diff.tables[(diff.tables["table"] == "tables/sample.md")]
    assert set(added["status"]) == {"added"}
    assert {(r.row, r.column, r.new) for r in added.itertuples()} == {
        ("Speeders", "n", "8"),
        ("Speeders", "%", "3.8"),
    }
    status = diff.table_files.set_index("table")["status"]
    assert (status["tables/new.md"], status["tables/old.md"]) == ("added", "removed")
    report = render_markdown(diff)
    assert "### tables/new.md\n\nTable added." in report


def test_table_layout_and_header_changes(builds: tuple[Path, Path]) -> None:
    baseline, changed = builds
    sample = changed / "tables" / "sample.md"
    sample.write_text(sample.read_text(encoding="utf-8").replace("|:--|--:|--:|", "|:-|-:|-:|"))
    diff = compare_builds(baseline, changed)
    record = diff.table_files.set_index("table").loc["tables/sample.md"]
    assert (record["status"], record["cells_changed"]) == ("changed", 0)
    assert "Only the Markdown layout changed" in render_markdown(diff)

    sample.write_text(sample.read_text(encoding="utf-8").replace("| Group |", "| Sector |"))
    header = compare_builds(baseline, changed).tables
    assert {
        (r.row, r.old, r.new) for r in header[header["table"] == "tables/sample.md"].itertuples()
    } == {("(header)", "Group", "Sector")}


def test_changed_figure_detected(diff: PaperDiff) -> None:
    f = diff.figures.set_index("figure")
    assert f.loc["figures/flow.png", "status"] == "unchanged"
    changed = f.loc["figures/coefficients.png"]
    assert changed["status"] == "changed"
    assert changed["old_sha256"] != changed["new_sha256"]
    assert changed["pixel_share"] == pytest.approx(10 * 10 / (40 * 20))  # bar grew by 10 px
    assert changed["old_size"] == changed["new_size"] == "40x20"


def test_figures_added_removed_and_resized(builds: tuple[Path, Path]) -> None:
    baseline, changed = builds
    Image.new("RGB", (12, 10), "grey").save(changed / "figures" / "flow.png")
    _figure(changed / "figures" / "extra.png", 10)
    (baseline / "figures" / "coefficients.png").unlink()
    f = compare_builds(baseline, changed).figures.set_index("figure")
    assert f.loc["figures/extra.png", "status"] == "added"
    assert f.loc["figures/coefficients.png", "status"] == "added"
    resized = f.loc["figures/flow.png"]
    assert resized["status"] == "changed"
    assert math.isnan(resized["pixel_share"])
    assert (resized["old_size"], resized["new_size"]) == ("10x10", "12x10")


# --------------------------------------------------------------------------- identical builds


def test_identical_builds_give_an_empty_diff(builds: tuple[Path, Path], tmp_path: Path) -> None:
    baseline, _ = builds
    diff = compare_builds(baseline, baseline)
    assert diff.is_empty
    assert not diff.variables["changed"].any()
    assert diff.sentences.empty and diff.tables.empty
    assert set(diff.figures["status"]) == {"unchanged"}
    report = write_report(diff, tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Nothing changed: the build matches the baseline" in report
    assert "## Changed numbers" not in report


# --------------------------------------------------------------------------- baseline


def test_save_baseline_copies_what_is_needed(builds: tuple[Path, Path], tmp_path: Path) -> None:
    build, _ = builds
    (build / "_output").mkdir()
    (build / "_output" / "index.html").write_text("<html></html>")
    (build / "references.bib").write_text("@misc{x}")
    target = save_baseline(build, tmp_path / "saved" / "default")
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    expected = [
        "_variables.yml",
        "appendix/questionnaire.md",
        "chapters/_results.qmd",
        "figures/coefficients.png",
        "figures/flow.png",
        "index.qmd",
        "tables/regression.md",
        "tables/sample.md",
    ]
    assert files == sorted([*expected, MANIFEST_FILE])
    manifest = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == expected
    for name, digest in manifest["files"].items():
        assert digest == hashlib.sha256((build / name).read_bytes()).hexdigest()
    assert "time" not in json.dumps(manifest) and str(tmp_path) not in json.dumps(manifest)
    assert compare_builds(target, build).is_empty


def test_save_baseline_replaces_a_baseline_but_not_other_directories(
    builds: tuple[Path, Path], tmp_path: Path
) -> None:
    baseline, changed = builds
    target = save_baseline(baseline, tmp_path / "saved")
    save_baseline(changed, target)  # replaced in one swap
    assert compare_builds(target, changed).is_empty
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(PaperDiffError, match="not a saved baseline"):
        save_baseline(changed, precious)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_modified_baseline_is_refused(builds: tuple[Path, Path], tmp_path: Path) -> None:
    baseline, changed = builds
    target = save_baseline(baseline, tmp_path / "saved")
    (target / "tables" / "sample.md").write_text("| edited |\n")
    with pytest.raises(PaperDiffError, match=r"modified tables/sample\.md"):
        compare_builds(target, changed)


# --------------------------------------------------------------------------- report, CLI


def test_report_lists_the_changes(diff: PaperDiff) -> None:
    report = render_markdown(diff)
    assert report.startswith("# Paper diff: baseline → changed\n")
    assert "- Numbers (variables): 8 changed, 1 added, 1 removed, of 16 keys." in report
    assert "| `sample.analysed` | `208` | `216` | +8 (+3.8%) |" in report
    assert (
        "| `regression.LEAD.ci` | `[0.09, 0.35]` | `[0.10, 0.33]` | lower +0.01, upper -0.02 |"
        in report
    )
    assert "| `regression.LEAD.p` | `< .001` | `= .002` | text changed" in report
    assert "**Results > Sample** (line 5): `sample.analysed`, `sample.analysed_percent`" in report
    assert "- New: After the exclusions (6 duplicates), 216 respondents" in report
    assert "| LEAD | 95% CI | `[0.09, 0.35]` | `[0.10, 0.33]` |" in report
    assert "| `figures/coefficients.png` | changed | 12.5% | 40x20 |" in report
    assert report.index("## Changed numbers") < report.index("## Sentences")
    assert report.index("## Sentences") < report.index("## Tables") < report.index("## Figures")


def test_report_is_deterministic(builds: tuple[Path, Path], tmp_path: Path) -> None:
    baseline, changed = builds
    for suffix in (".md", ".html"):
        first = write_report(compare_builds(baseline, changed), tmp_path / f"a{suffix}")
        second = write_report(compare_builds(baseline, changed), tmp_path / f"b{suffix}")
        data = first.read_bytes()
        assert data == second.read_bytes()
        assert str(tmp_path).encode() not in data


def test_cli_end_to_end(
    builds: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, changed = builds
    saved = tmp_path / "saved"
    assert main(["save", str(baseline), str(saved)]) == 0
    assert (saved / MANIFEST_FILE).is_file()
    html = tmp_path / "out" / "report.html"
    assert main(["compare", str(saved), str(changed), "--out", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "<title>Paper diff: saved → changed</title>" in page
    assert "<code>[0.09, 0.35]</code>" in page
    markdown = tmp_path / "report.md"
    assert main(["compare", str(saved), str(changed), "--out", str(markdown)]) == 0
    assert "## Sentences" in markdown.read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert "10 variables, 6 sentences, 5 table entries and 1 figure differ" in out


def test_cli_reports_a_directory_without_variables(
    builds: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, _ = builds
    empty = tmp_path / "not_a_build"
    empty.mkdir()
    report = tmp_path / "report.md"
    assert main(["compare", str(baseline), str(empty), "--out", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"build directory {empty} has no _variables.yml" in err
    assert not report.exists()
    assert main(["save", str(empty), str(tmp_path / "saved")]) == 2
    assert "has no _variables.yml" in capsys.readouterr().err
    assert main(["compare", str(baseline), str(baseline), "--out", str(tmp_path / "r.txt")]) == 2
    assert "must end in .md or .html" in capsys.readouterr().err
