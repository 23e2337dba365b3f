"""Small-cell suppression: the rule, complementary suppression, the note, and the checker."""

from __future__ import annotations

import pandas as pd
import pytest

from hazegov.analysis.groups import published_frames
from hazegov.paper.tables import Column, pipe_table
from hazegov.privacy.disclosure import (
    WITHHELD,
    check_results,
    display_count,
    has_note,
    markdown_shows_counts,
    note,
    small_counts_in_frame,
    small_counts_in_markdown,
    suppress,
    suppress_columns,
)
from hazegov.survey.describe import (
    plot_participant_flow,
    published_flow,
    published_sample_by_group,
    sample_by_group,
    sample_table_markdown,
)


def test_counts_below_the_minimum_are_shown_as_less_than():
    cells = suppress([10, 3, 0, 7, 1], 5)
    assert cells.display() == ["10", "<5", "0", "7", "<5"]
    assert cells.primary == (False, True, False, False, True)
    assert not any(cells.secondary)
    assert suppress([3], 3).display() == ["3"]
    assert suppress([2], 3).display() == ["<3"]
    assert display_count(4, 5) == "<5" and display_count(0, 5) == "0"


def test_the_minimum_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="min_count"):
        suppress([1, 2], 0)
    with pytest.raises(ValueError, match="negative"):
        suppress([-1, 2], 5)


def test_a_total_that_would_reveal_one_suppressed_cell_hides_the_next_smallest():
    # 3 + 8 + 12 + 20 = 43 is published: alone, "<5" would be 43 - 40 = 3.
    cells = suppress([20, 3, 8, 12], 5, [range(4)])
    assert cells.display() == ["20", "<5", WITHHELD, "12"]
    assert cells.secondary == (False, False, True, False)


def test_complementary_suppression_skips_zero_cells_and_breaks_ties_by_order():
    assert suppress([0, 2, 9, 9], 5, [range(4)]).display() == ["0", "<5", "x", "9"]


def test_two_suppressed_cells_of_a_margin_need_no_complement():
    # 2 + 3 = 5: each could be anything from 1 to 4.
    assert suppress([2, 3, 40], 5, [range(3)]).display() == ["<5", "<5", "40"]


def test_a_complement_is_added_while_the_margin_still_pins_a_cell_down():
    # Hiding 1 and 5 leaves their sum 6; as "x" is at least 5, "<5" could only be 1.
    assert suppress([1, 5, 30], 5, [range(3)]).display() == ["<5", "x", "x"]
    # Two "<5" cells summing to 2 must both be 1.
    assert suppress([1, 1, 40, 50], 5, [range(4)]).display() == ["<5", "<5", "x", "50"]


def test_every_margin_is_protected_not_only_the_total():
    # Sector subtotals (cells 0+1 and 2+3) are published elsewhere: the complement must come
    # from the suppressed cell's own sector, although 16 is smaller than 23.
    cells = suppress([23, 3, 16, 30], 5, [range(4), [0, 1], [2, 3]])
    assert cells.display() == ["x", "<5", "16", "30"]


def test_percentages_and_small_group_statistics_are_withheld():
    cells = suppress([20, 3, 8, 12], 5, [range(4)])
    assert cells.withhold([46.5, 7.0, 18.6, 27.9]) == [46.5, "x", "x", 27.9]
    assert cells.withhold([3.1, 2.2, 2.9, 3.0], when="primary") == [3.1, "x", 2.9, 3.0]
    assert cells.withhold([0.5, 0.25, 1.0, 2.0], fmt="{:.1f}".format) == ["0.5", "x", "x", "2.0"]


def test_independent_count_columns_keep_their_type_when_nothing_is_small():
    frame = pd.DataFrame({"n": [208, 210], "n_complete": [207, 3], "chi2": [1.5, 2.0]})
    out = suppress_columns(frame, ["n", "n_complete", "missing"], 5)
    assert out["n"].dtype == frame["n"].dtype
    assert out["n_complete"].tolist() == [207, "<5"]
    assert out["chi2"].tolist() == [1.5, 2.0]


def test_the_note_states_the_configured_minimum():
    assert note(5).startswith("Counts below 5 are suppressed (shown as <5).")
    assert note(10).startswith("Counts below 10 are suppressed (shown as <10).")
    assert "(shown as x)" in note(5)


# --------------------------------------------------------------------------- tables


@pytest.fixture
def small_sample(codebook) -> pd.DataFrame:
    groups = (
        ["bj_health_commission"] * 23
        + ["fengtai_epb"] * 3
        + ["daxing_cdc"] * 16
        + ["fengtai_cdc"] * 30
        + ["community_residents"] * 40
    )
    return sample_by_group(pd.DataFrame({"resp_group": groups}), codebook)


def test_sample_table_suppresses_within_the_sector(small_sample, codebook):
    shown = published_sample_by_group(small_sample, 5).set_index("resp_group")
    assert shown.loc["fengtai_epb", "n"] == "<5"
    # Government administration = the commission + the bureau: the commission is withheld.
    assert shown.loc["bj_health_commission", "n"] == "x"
    assert shown.loc["bj_health_commission", "percent"] == "x"
    assert shown.loc["fengtai_epb", "percent"] == "x"
    assert shown.loc["daxing_cdc", "n"] == 16
    assert shown.loc["total", "n"] == 112
    assert shown.loc["cdc_environmental_health_institute", "n"] == 0
    md = sample_table_markdown(small_sample, synthetic=False, min_count=5)
    assert "| Fengtai District Environmental Protection Bureau | 丰台区环境保护局 |" in md
    assert "| <5 | x |" in md
    assert small_counts_in_markdown(md, 5) == []
    assert has_note(md, 5) and markdown_shows_counts(md)


def test_sample_table_without_small_groups_is_unchanged(codebook):
    table = sample_by_group(pd.DataFrame({"resp_group": ["daxing_cdc"] * 6}), codebook)
    assert published_sample_by_group(table, 5) is table
    assert has_note(sample_table_markdown(table, synthetic=True), 5)


def _flow(excluded: list[int], received: int = 100) -> pd.DataFrame:
    steps = ["duplicates", "attention_check", "min_duration", "straight_lining", "item_nonresponse"]
    rows, remaining = [("received", "Submissions", True, 0, received)], received
    for step, n in zip(steps, excluded, strict=True):
        remaining -= n
        rows.append((step, step, True, n, remaining))
    rows.append(("analysed", "Respondents analysed", True, 0, remaining))
    return pd.DataFrame(rows, columns=["step", "rule", "applied", "excluded", "remaining"])


def test_participant_flow_hides_a_small_step_and_what_would_reveal_it():
    shown = published_flow(_flow([2, 0, 8, 6, 0]), 5).set_index("step")
    assert shown["excluded"].tolist() == [0, "<5", 0, 8, "x", 0, 0]
    # Received 100 and analysed 84 are published; any remaining count between the two hidden
    # steps would give the first one away.
    assert shown["remaining"].tolist() == [100, "x", "x", "x", 84, 84, 84]
    assert published_flow(_flow([6, 7, 8, 5, 0]), 5).equals(_flow([6, 7, 8, 5, 0]))


def test_participant_flow_figure_prints_suppressed_counts(tmp_path):
    flow = published_flow(_flow([2, 0, 8, 6, 0]), 5).assign(data_source="synthetic")
    csv = tmp_path / "flow.csv"
    flow.to_csv(csv, index=False)
    path = tmp_path / "flow.png"
    plot_participant_flow(pd.read_csv(csv), path, synthetic=True, min_count=5)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_group_comparison_frames_withhold_small_groups():
    descriptives = pd.DataFrame(
        {
            "outcome": ["EFF"] * 3,
            "group": ["a", "b", "c"],
            "n": [3, 20, 30],
            "mean": [2.0, 3.0, 3.5],
            "sd": [0.5, 0.6, 0.7],
            "median": [2.0, 3.0, 3.5],
        }
    )
    omnibus = pd.DataFrame({"outcome": ["EFF"], "test": ["welch_anova"], "n": [53], "p": [0.01]})
    pairwise = pd.DataFrame(
        {
            "outcome": ["EFF"] * 3,
            "group_a": ["a", "a", "b"],
            "group_b": ["b", "c", "c"],
            "mean_a": [2.0, 2.0, 3.0],
            "mean_b": [3.0, 3.5, 3.5],
            "diff": [-1.0, -1.5, -0.5],
            "se": [0.3, 0.3, 0.2],
            "statistic": [-3.3, -5.0, -2.5],
            "p_adj": [0.01, 0.001, 0.02],
            "hedges_g": [-1.6, -2.0, -0.8],
        }
    )
    frames = {"descriptives": descriptives, "omnibus": omnibus, "pairwise": pairwise}
    out = published_frames(frames, 5)
    d = out["descriptives"].set_index("group")
    assert d.loc["a"].tolist() == ["EFF", "<5", "x", "x", "x"]
    assert d.loc["b", "n"] == "x" and d.loc["b", "mean"] == 3.0  # complement: count only
    assert d.loc["c", "n"] == 30
    p = out["pairwise"]
    assert p.loc[0, ["mean_a", "mean_b", "diff", "se", "statistic", "hedges_g"]].tolist() == [
        "x", 3.0, "x", "x", "x", "x"
    ]  # fmt: skip
    assert p.loc[0, "p_adj"] == 0.01
    assert p.loc[2].tolist() == pairwise.loc[2].tolist()
    assert small_counts_in_frame(out["descriptives"], 5) == []
    big = {**frames, "descriptives": descriptives.assign(n=[10, 20, 30])}
    assert published_frames(big, 5)["descriptives"] is big["descriptives"]


def test_pipe_table_with_counts_carries_the_note():
    frame = pd.DataFrame({"label": ["A"], "n": ["<5"]})
    text = pipe_table(
        frame,
        [Column("label", "Construct", align="left"), Column("n", "n")],
        caption="Example",
        label="tbl-example",
        synthetic=False,
        note="First note.",
        min_cell_count=5,
    )
    assert "*Note.* First note. Counts below 5 are suppressed (shown as <5)." in text
    assert has_note(text, 5) and small_counts_in_markdown(text, 5) == []


# --------------------------------------------------------------------------- the checker

PLANTED = """| Respondent group | 受访单位 | n | % |
|:--|:--|---:|--:|
| A | 甲 | 12 | 40.0 |
| B | 乙 | **3** | 10.0 |
| C | 丙 | <5 | x |

: Caption. {#tbl-x}

*Note.* n = 2, R² = 0.40. Items: 4.
"""


def test_checker_finds_planted_small_cells_in_a_markdown_table():
    findings = small_counts_in_markdown(PLANTED, 5, "planted.md")
    assert [f.value for f in findings] == [3, 2]
    assert "row 2, 'n'" in str(findings[0]) and "'n = 2'" in str(findings[1])
    assert markdown_shows_counts(PLANTED) and not has_note(PLANTED, 5)
    assert small_counts_in_markdown(PLANTED, 2) == []
    # "Items: 4" and the % column are not respondent counts.
    assert not markdown_shows_counts("| Construct | Items |\n|:--|--:|\n| A | 4 |\n")


def test_checker_finds_planted_small_cells_in_csv_count_columns():
    frame = pd.DataFrame(
        {"group": ["a", "b", "c"], "n": ["12", "3", "<5"], "k": ["2", "2", "2"]}, dtype=str
    )
    findings = small_counts_in_frame(frame, 5, name="x.csv")
    assert [(f.value, f.where) for f in findings] == [(3, "x.csv, line 3, column 'n'")]


def test_check_results_walks_survey_csvs_and_paper_tables(tmp_path):
    results = tmp_path / "results"
    (results / "analysis/groups").mkdir(parents=True)
    (results / "analysis/air").mkdir(parents=True)
    (results / "paper/tables").mkdir(parents=True)
    pd.DataFrame({"group": ["a", "b"], "n": [20, 2]}).to_csv(
        results / "analysis/groups/descriptives.csv", index=False
    )
    pd.DataFrame({"year": [2010], "n": [3]}).to_csv(results / "analysis/air/x.csv", index=False)
    (results / "paper/tables/sample.md").write_text(PLANTED, encoding="utf-8")
    (results / "paper/tables/validity.md").write_text("| CR |\n|--:|\n| 0.8 |\n", "utf-8")
    findings, missing_note = check_results(results, 5)
    assert sorted(f.value for f in findings) == [2, 2, 3]
    assert all("air" not in f.where for f in findings)
    assert missing_note == ["paper/tables/sample.md"]


def test_the_group_figure_draws_no_respondent_of_a_small_group(tmp_path, monkeypatch):
    import matplotlib.axes

    from hazegov.paper.figures import group_comparison

    scores = pd.DataFrame(
        {
            "bureau": ["small"] * 3 + ["large"] * 12,
            "EFF": [1.0, 2.0, 3.0] + [3.0, 4.0] * 6,
        }
    )
    drawn: list[int] = []
    original = matplotlib.axes.Axes.scatter

    def counting_scatter(self, x, y, *args, **kwargs):
        drawn.append(len(y))
        return original(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "scatter", counting_scatter)
    labels = {"small": "Small bureau", "large": "Large bureau"}
    path = tmp_path / "groups.png"
    group_comparison(scores, ["EFF"], "bureau", labels, path, synthetic=True, min_count=5)
    assert drawn == [12]
    assert path.read_bytes().startswith(b"\x89PNG")
    drawn.clear()
    group_comparison(scores, ["EFF"], "bureau", labels, path, synthetic=True, min_count=3)
    assert sorted(drawn) == [3, 12]


# --- the only published aggregate of the quarantined free text --------------------------------


def test_free_text_answer_counts_are_suppressed_when_small_or_recoverable(codebook):
    from hazegov.survey.free_text import answered_counts

    n = 40
    free_text = pd.DataFrame(
        {
            "export_row": range(2, n + 2),
            "role_other": ["网格员"] * 3 + [None] * (n - 3),  # 3 answered: small
            "suggestions": ["建议"] * 38 + [None] * 2,  # 2 left empty: recoverable from n
            "source": ["手机提交"] * 20 + [None] * 20,
        }
    )
    table = answered_counts(free_text, codebook, 5)
    shown = dict(zip(table["variable"], table["n"], strict=True))
    assert shown == {"role_other": "<5", "suggestions": "x", "source": 20}
    assert set(table.columns) == {"variable", "label", "n"}
    assert not small_counts_in_frame(table.astype(str), 5)


def test_rounded_variant_sizes_never_differ_by_a_small_count():
    from hazegov.privacy.disclosure import rounded_count

    assert [rounded_count(n, 5) for n in (0, 1, 4, 5, 7, 8, 232)] == [0, "<5", "<5", 5, 5, 10, 230]
    for n in range(5, 300):
        for removed in range(1, 5):  # two attention-check failures, say
            a, b = rounded_count(n + removed, 5), rounded_count(n, 5)
            assert (a - b) % 5 == 0  # the difference is 0 or a multiple of 5, never `removed`


def test_a_multiverse_sample_report_is_published_with_rounded_counts():
    from hazegov.privacy.disclosure import rounded_counts

    report = {
        "n_received": 236,
        "excluded": {"duplicates": 6, "attention_check": 2, "speeders": 0},
        "n_after_exclusions": 228,
        "missing_data": {"rule": "listwise", "n_before": 228, "n_after": 226, "cells_imputed": 3},
        "n_sectors_left_out": 0,
        "n": 226,
        "settings": {"min_duration": {"seconds": 120}},
    }
    published = rounded_counts({"samples": {"v1": report}, "records": [{"n": 226}]}, 5)
    sample = published["samples"]["v1"]
    assert sample["excluded"] == {"duplicates": 5, "attention_check": "<5", "speeders": 0}
    assert (sample["n_received"], sample["n_after_exclusions"], sample["n"]) == (235, 230, 225)
    assert sample["missing_data"] == {
        "rule": "listwise", "n_before": 230, "n_after": 225, "cells_imputed": 3
    }  # fmt: skip
    assert sample["settings"] == report["settings"] and published["records"] == [{"n": 225}]


def test_check_results_reads_json_yaml_and_parquet_too(tmp_path):
    import json

    import yaml

    results = tmp_path / "results"
    for folder in ("multiverse/groups", "analysis/regression", "paper", "interim", "release"):
        (results / folder).mkdir(parents=True)
    group = {"samples": {"v1": {"excluded": {"attention_check": 2, "duplicates": 6}, "n": 230}}}
    (results / "multiverse/groups/g1.json").write_text(json.dumps(group), "utf-8")
    variables = {"sample": {"received": "236", "analysed": "3"}, "air": {"stations": {"n": 1}}}
    (results / "paper/_variables.yml").write_text(yaml.safe_dump(variables), "utf-8")
    pd.DataFrame({"n": [4, 50]}).to_parquet(results / "release/counts.parquet")
    # internal files are not published: not read
    pd.DataFrame({"n": [1]}).to_parquet(results / "interim/responses.parquet")
    (results / "interim/ingest_report.json").write_text('{"n": 1}', "utf-8")
    findings, _ = check_results(results, 5)
    assert sorted((f.where, f.value) for f in findings) == [
        ("multiverse/groups/g1.json: samples.v1.excluded.attention_check", 2),
        ("paper/_variables.yml: sample.analysed", 3),
        ("release/counts.parquet, line 2, column 'n'", 4),
    ]
    # suppressed and rounded counts pass
    group["samples"]["v1"]["excluded"]["attention_check"] = "<5"
    (results / "multiverse/groups/g1.json").write_text(json.dumps(group), "utf-8")
    assert len(check_results(results, 5)[0]) == 2
