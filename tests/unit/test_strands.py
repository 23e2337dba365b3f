"""Strands by config (issue 14): which strands run, what the paper asks of them, and the
simulation's refusal of a population model written for another questionnaire."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hazegov.errors import ConfigError
from hazegov.strands import (
    STRAND_CHAPTERS,
    STRANDS,
    enabled_strands,
    left_out_chapters,
    paper_blocked_message,
    paper_blockers,
    paper_for_strands,
    stage_paper,
    staged_index,
    strand_of,
    strand_passages,
    strand_text,
    without_strands_off,
)
from tests.support.other_instrument import write_other_codebook
from tests.support.paths import CODEBOOK, POPULATION, ROOT

PAPER = ROOT / "paper"
ALL_ON = dict.fromkeys(STRANDS, True)


def _off(*names: str) -> dict[str, bool]:
    return {name: name not in names for name in STRANDS}


def _paper_sources() -> list[str]:
    return sorted(p.name for p in PAPER.iterdir() if p.is_file())


# ------------------------------------------------------------------------------ switches


def test_every_strand_is_on_unless_the_config_switches_it_off():
    assert enabled_strands({}) == ALL_ON
    assert enabled_strands({"strands": {}}) == ALL_ON
    assert enabled_strands({"strands": {"policy": False}}) == _off("policy")


def test_an_unknown_strand_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown strand\(s\) \['weather'\].*air_quality"):
        enabled_strands({"strands": {"weather": False}})


def test_the_default_config_switches_every_strand_on():
    for config_dir in (ROOT / "config", ROOT / ".test" / "config"):
        config = yaml.safe_load((config_dir / "config.yaml").read_text(encoding="utf-8"))
        assert enabled_strands(config) == ALL_ON, config_dir


def test_the_schema_defaults_every_switch_to_on():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text("utf-8"))
    switches = schema["properties"]["strands"]["properties"]
    assert set(switches) == set(STRANDS)
    assert all(switch["default"] is True for switch in switches.values())


# ------------------------------------------------------------------------------ the paper's lists


def test_with_every_strand_on_the_paper_asks_for_what_it_asked_for():
    tables = ["ols", "air_annual", "policy_register", "multiverse", "simulation"]
    assert without_strands_off("tables", tables, ALL_ON) == tables


def test_a_strand_off_takes_its_tables_figures_numbers_and_captions_away():
    tables = ["sample_by_group", "air_annual", "its", "policy_register", "multiverse", "ols"]
    assert without_strands_off("tables", tables, _off("air_quality", "multiverse")) == [
        "sample_by_group",
        "policy_register",
        "ols",
    ]
    figures = ["path_model", "pm25_calendar", "department_network", "simulation"]
    assert without_strands_off("figures", figures, _off("policy", "simulation")) == [
        "path_model",
        "pm25_calendar",
    ]
    fragments = ["results/analysis/cfa/variables.yml", "results/multiverse/variables.yml"]
    assert without_strands_off("fragments", fragments, _off("multiverse")) == fragments[:1]
    assert without_strands_off("labels", ["tbl-ols", "tbl-its"], _off("air_quality")) == ["tbl-ols"]
    assert strand_of("tables", "ols") is None
    assert strand_of("figures", "pm25_stations") == "air_quality"


# ------------------------------------------------------------------------------ chapters


def test_a_strand_of_its_own_chapter_leaves_the_paper_with_it():
    sources = _paper_sources()
    assert paper_for_strands(sources, ALL_ON) == sources
    kept = paper_for_strands(sources, _off("multiverse", "simulation"))
    assert set(sources) - set(kept) == {"_robustness.qmd", "_appendix-simulation.qmd"}
    assert left_out_chapters(ALL_ON) == []
    for chapters in STRAND_CHAPTERS.values():
        assert all((PAPER / chapter).is_file() for chapter in chapters)


def test_the_staged_index_is_unchanged_with_nothing_left_out():
    text = (PAPER / "index.qmd").read_text(encoding="utf-8")
    assert staged_index(text, []) == text


def test_the_staged_index_drops_the_includes_of_chapters_left_out_and_their_blank_line():
    text = (
        "# A\n\n{{< include _one.qmd >}}\n\n{{< include _two.qmd >}}\n\n"
        "{{< include _three.qmd >}}\n"
    )
    assert staged_index(text, ["_two.qmd"]) == (
        "# A\n\n{{< include _one.qmd >}}\n\n{{< include _three.qmd >}}\n"
    )
    index = (PAPER / "index.qmd").read_text(encoding="utf-8")
    staged = staged_index(index, left_out_chapters(_off("multiverse", "simulation")))
    assert "_robustness.qmd" not in staged and "_appendix-simulation.qmd" not in staged
    assert "{{< include _conclusion.qmd >}}" in staged
    assert "\n\n\n" not in staged


def test_staging_leaves_out_the_chapters_and_passages_of_strands_off(tmp_path):
    source, build = tmp_path / "paper", tmp_path / "build"
    source.mkdir()
    (source / "index.qmd").write_text(
        "{{< include _a.qmd >}}\n\n{{< include _robustness.qmd >}}\n", encoding="utf-8"
    )
    (source / "_a.qmd").write_text(
        "Survey.\n<!-- strand:policy -->\nPolicy.\n<!-- /strand:policy -->\nEnd.\n",
        encoding="utf-8",
    )
    (source / "paper.css").write_text("/* <!-- strand:policy --> */\n", encoding="utf-8")
    names = ["index.qmd", "_a.qmd", "paper.css"]
    stage_paper(
        [source / n for n in names], [build / n for n in names], _off("multiverse", "policy")
    )
    assert (build / "index.qmd").read_text(encoding="utf-8") == "{{< include _a.qmd >}}\n\n"
    assert (build / "_a.qmd").read_text(encoding="utf-8") == "Survey.\nEnd.\n"
    # only the chapters are read for passages
    assert (build / "paper.css").read_text(encoding="utf-8") == "/* <!-- strand:policy --> */\n"


# ------------------------------------------------------------------------------ marked passages


def test_with_every_strand_on_the_staged_paper_is_the_paper_without_its_markers():
    """The default paper does not change: stripping the markers gives back the unmarked text."""
    marked = 0
    for path in sorted(PAPER.glob("*.qmd")):
        text = path.read_text(encoding="utf-8")
        staged = strand_text(text, ALL_ON, source=path.name)
        assert "strand:" not in staged, path.name
        marked += len(strand_passages(text, path.name))
        unmarked = re.sub(r"^<!-- /?strand:\w+ -->\n|<!-- /?strand:\w+ -->", "", text, flags=re.M)
        assert staged == unmarked, path.name
    assert marked >= 7


def test_a_passage_inside_a_line_leaves_one_space_between_its_neighbours():
    text = (
        "  Haze is bad. <!-- strand:air_quality -->It was {{< var air.x >}}\n"
        "  µg/m³.<!-- /strand:air_quality --> This study asks.\n"
    )
    assert strand_text(text, _off("air_quality")) == "  Haze is bad. This study asks.\n"
    assert strand_text(text, ALL_ON) == (
        "  Haze is bad. It was {{< var air.x >}}\n  µg/m³. This study asks.\n"
    )
    # with the line breaks kept, line numbers still point into the source
    assert strand_text(text, _off("air_quality"), keep_lines=True).count("\n") == 2


def test_the_study_paper_reads_on_without_air_quality_and_policy():
    enabled = _off("air_quality", "policy")
    index = strand_text((PAPER / "index.qmd").read_text(encoding="utf-8"), enabled)
    assert "citizens alike.\n  This study asks whether" in index
    introduction = strand_text((PAPER / "_introduction.qmd").read_text("utf-8"), enabled)
    assert "## How severe the haze was" not in introduction
    assert "## The policy wave {#sec-policy-wave}" in introduction  # the plans, cited
    assert "{{< var air." not in introduction and "{{< var policy." not in introduction
    conclusion = strand_text((PAPER / "_conclusion.qmd").read_text("utf-8"), enabled)
    assert "@tbl-ordinal). Define each department's duties" in conclusion
    assert "**Policy texts.**" not in conclusion and "**Air-quality evidence.**" not in conclusion
    assert "**Cross-sectional design.**" in conclusion


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<!-- strand:weather -->x<!-- /strand:weather -->",
            "line 1: marker of an unknown strand 'weather'",
        ),
        ("a\n<!-- strand:policy -->\nb\n", "line 2: strand:policy is never closed"),
        ("<!-- /strand:policy -->", "line 1: /strand:policy closes no open passage"),
        (
            "<!-- strand:policy -->\n<!-- strand:air_quality -->\n",
            "line 2: strand:air_quality opens inside the passage of strand:policy",
        ),
    ],
)
def test_a_broken_marker_is_refused_with_its_file_and_line(text, message):
    with pytest.raises(ValueError, match=re.escape(f"_x.qmd, {message}")):
        strand_text(text, ALL_ON, source="_x.qmd")


# ------------------------------------------------------------------------- what blocks the paper


def test_the_study_paper_builds_without_the_multiverse_and_the_simulation():
    enabled = _off("multiverse", "simulation")
    assert paper_blockers(PAPER, paper_for_strands(_paper_sources(), enabled), enabled) == {}


def test_the_study_paper_builds_with_any_strand_off():
    for off in STRANDS:
        enabled = _off(off)
        sources = paper_for_strands(_paper_sources(), enabled)
        assert paper_blockers(PAPER, sources, enabled) == {}, off


def test_an_unmarked_quote_of_a_strand_off_is_named_by_file_section_and_lines(tmp_path):
    (tmp_path / "index.qmd").write_text(
        "---\nabstract: |\n  It was {{< var air.mean >}}.\n---\n\n# Intro\n\n"
        "<!-- strand:air_quality -->\n{{< var air.marked >}}\n<!-- /strand:air_quality -->\n"
        "Then {{< var air.a >}}\nand {{< var air.b >}}.\n",
        encoding="utf-8",
    )
    blockers = paper_blockers(tmp_path, ["index.qmd"], _off("air_quality"))
    name = tmp_path.name
    assert blockers == {
        "air_quality": [
            f"{name}/index.qmd, front matter (title, abstract): line 3",
            f"{name}/index.qmd, Intro: lines 11-12",
        ]
    }
    message = paper_blocked_message(blockers)
    assert "strand 'air_quality' is switched off (config strands.air_quality: false)" in message
    assert f"    {name}/index.qmd, Intro: lines 11-12" in message
    assert "<!-- strand:NAME -->" in message


def test_a_quoted_table_figure_or_reference_blocks_the_paper_too(tmp_path):
    (tmp_path / "index.qmd").write_text(
        "# Results\n\nSee @tbl-multiverse.\n\n## More\n\n{{< include tables/simulation.md >}}\n",
        encoding="utf-8",
    )
    blockers = paper_blockers(tmp_path, ["index.qmd"], _off("multiverse", "simulation"))
    name = tmp_path.name
    assert blockers == {
        "multiverse": [f"{name}/index.qmd, Results: line 3"],
        "simulation": [f"{name}/index.qmd, More: line 7"],
    }


# ------------------------------------------------------------------------------ population model


def test_the_study_population_model_matches_its_codebook():
    from hazegov.robustness.simulation_plan import check_population_model_matches

    assert check_population_model_matches(POPULATION, CODEBOOK) is None


def test_a_population_model_for_another_questionnaire_is_refused_naming_file_key_and_names(
    tmp_path,
):
    from hazegov.robustness.simulation_plan import check_population_model_matches

    other = write_other_codebook(tmp_path)
    with pytest.raises(ConfigError) as caught:
        check_population_model_matches(POPULATION, other)
    problems = [str(v) for v in caught.value.violations]
    assert all(str(POPULATION) in p and "[rule: population-model-codebook]" in p for p in problems)
    loadings = [p for p in problems if "column 'loadings'" in p]
    assert loadings == [
        f"{POPULATION}, column 'loadings': names items ['GRID3', 'GRID4'] that the codebook "
        f"{other} lacks [rule: population-model-codebook]"
    ]
    controls = [p for p in problems if "column 'demographics'" in p]
    assert any("names controls ['education', 'gender', 'years_in_post']" in p for p in controls)
    assert any(
        "lacks the codebook's controls ['schooling', 'sex', 'tenure']" in p for p in controls
    )


@pytest.mark.parametrize(
    ("key", "edit", "expected"),
    [
        ("group_sizes", lambda m: m["group_sizes"].pop("fengtai_epb"), "respondent groups"),
        ("exogenous/structural", lambda m: m["exogenous"].remove("GRID"), "constructs ['GRID']"),
        ("loadings", lambda m: m["loadings"].update(LEAD5=0.5), "names items ['LEAD5']"),
        (
            "sector_mean_shifts",
            lambda m: m["sector_mean_shifts"].pop("community_residents"),
            "lacks the codebook's respondent sectors ['community_residents']",
        ),
    ],
)
def test_each_mismatch_is_named_by_its_key(tmp_path, key, edit, expected):
    from hazegov.robustness.simulation_plan import check_population_model_matches

    model = yaml.safe_load(POPULATION.read_text(encoding="utf-8"))
    edit(model)
    path = tmp_path / "population_model.yaml"
    path.write_text(yaml.safe_dump(model, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        check_population_model_matches(path, CODEBOOK)
    problems = [str(v) for v in caught.value.violations]
    assert any(f"column {key!r}" in p and expected in p for p in problems), problems


def test_the_release_and_paper_names_default_to_the_study_s():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text("utf-8"))
    release = schema["properties"]["release"]["properties"]
    assert release["basename"]["default"] == "haze_governance_survey_release"
    assert release["label"]["default"] == "Beijing haze governance survey"
    assert schema["properties"]["paper"]["properties"]["source_dir"]["default"] == "paper"
    assert Path(ROOT / "paper" / "index.qmd").is_file()
