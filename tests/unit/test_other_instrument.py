"""Issue 14: the measurement and group steps run on another questionnaire without code changes.

The instrument is the variant in `tests/support/other_instrument.py` (a 2-item scale, a 7-point
scale, scales without reverse-worded items, controls and the overall rating under other names).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from hazegov.analysis.reliability import NO_REVERSE_ITEM_WARNING
from hazegov.analysis.sample import build_analysis_sample
from hazegov.analysis.stages import invariance_caption, run_regressions, run_reliability
from hazegov.io import write_parquet
from tests.support.other_instrument import CONTROLS, other_analysis_frame, write_other_codebook

PROBLEMS = ["LEAD", "RESP", "EVAL", "PART"]


@pytest.fixture
def other_study(tmp_path):
    """The variant codebook and its analysis sample, as the workflow writes them."""
    from hazegov.survey.codebook import load_codebook

    codebook = write_other_codebook(tmp_path)
    cb = load_codebook(codebook)
    sample = build_analysis_sample(
        other_analysis_frame(cb), cb, "person_mean", controls=CONTROLS
    ).frame
    path = tmp_path / "analysis_sample.parquet"
    write_parquet(sample, path, {"synthetic": True, "seed": 14})
    return path, codebook, cb, sample


def test_reliability_warns_about_scales_without_reverse_items(other_study, tmp_path, caplog):
    sample, codebook, _cb, frame = other_study
    tables = {
        name: tmp_path / f"{name}.csv"
        for name in ("item_statistics", "scale_reliability", "item_reliability")
    }
    with caplog.at_level(logging.WARNING, logger="hazegov"):
        run_reliability(
            sample,
            codebook,
            tables,
            tmp_path / "variables.yml",
            tmp_path / "reliability.md",
            min_cell_count=5,
        )
    scales = pd.read_csv(tables["scale_reliability"], keep_default_na=False).set_index("construct")
    flagged = scales["warnings"].str.contains(NO_REVERSE_ITEM_WARNING, regex=False)
    assert sorted(scales.index[flagged]) == ["EFF", "GRID"]
    assert scales.loc["GRID", "k"] == 2
    logged = [r.getMessage() for r in caplog.records if "reverse-worded" in r.getMessage()]
    assert [m.split()[1] for m in logged] == ["EFF", "GRID"]
    note = (tmp_path / "reliability.md").read_text(encoding="utf-8")
    assert "No reverse-worded item in: Perceived effectiveness of haze governance, Support" in note
    # floor and ceiling at each item's own range: 1 and 7 for the 7-point PART items
    stats = pd.read_csv(tables["item_statistics"]).set_index("item")
    for item in ("PART1", "LEAD1"):
        lowest, highest = (1, 7) if item.startswith("PART") else (1, 5)
        answers = frame[item]
        assert stats.loc[item, "floor_share"] == pytest.approx((answers == lowest).mean())
        assert stats.loc[item, "ceiling_share"] == pytest.approx((answers == highest).mean())
    assert stats.loc["PART1", "ceiling_share"] > 0


def test_ordinal_model_uses_the_rating_whatever_its_name(other_study, tmp_path):
    sample, codebook, _cb, _frame = other_study
    ols_frames = ("coefficients", "vif", "terms", "fit")
    ordinal_frames = ("coefficients", "thresholds", "brant", "fit")
    run_regressions(
        sample,
        codebook,
        {
            "outcome": "EFF",
            "predictors": PROBLEMS,
            "controls": CONTROLS,
            "categorical": ["sector", "sex"],
        },
        {name: tmp_path / f"ols_{name}.csv" for name in ols_frames},
        {name: tmp_path / f"ordinal_{name}.csv" for name in ordinal_frames},
        tmp_path / "summary.json",
        tmp_path / "forest.png",
        tmp_path / "variables.yml",
        tmp_path / "ols.md",
        tmp_path / "ordinal.md",
        min_cell_count=5,
    )
    terms = set(pd.read_csv(tmp_path / "ordinal_coefficients.csv")["term"])
    assert {f"score_{c}" for c in PROBLEMS} | {"tenure", "schooling"} <= terms
    assert int(pd.read_csv(tmp_path / "ordinal_fit.csv")["n"].iloc[0]) == 60


def test_group_plot_axis_shows_each_scales_range(other_study, tmp_path, monkeypatch):
    import hazegov.paper.figures as plots

    _sample, _codebook, cb, frame = other_study
    drawn = {}
    monkeypatch.setattr(
        plots,
        "save_png",
        lambda fig, path: drawn.update(
            {ax.get_title(): ax.get_ylabel() for ax in fig.axes if ax.get_visible()}
        ),
    )
    scores = frame[["sector"]].join(frame[["score_LEAD", "score_PART"]])
    scores.columns = ["sector", "LEAD", "PART"]
    plots.group_comparison(
        scores,
        ["LEAD", "PART"],
        "sector",
        {s.id: s.en for s in cb.sectors},
        tmp_path / "groups.png",
        synthetic=True,
        score_ranges={c: cb.score_range(c) for c in ("LEAD", "PART")},
    )
    assert drawn == {"LEAD": "Score (1-5)", "PART": "Score (1-7)"}


def test_invariance_caption_names_the_groups_compared(codebook, tmp_path):
    assert (
        invariance_caption("government", [np.True_, np.False_], codebook)
        == "Measurement invariance across government and non-government respondents"
    )
    assert invariance_caption(
        "sector", ["primary_care_provider", "community_residents"], codebook
    ) == (
        "Measurement invariance across groups of sector: Primary health-care providers and "
        "Community residents"
    )
    other = write_other_codebook(tmp_path)
    from hazegov.survey.codebook import load_codebook

    assert (
        invariance_caption("sex", [1, 2], load_codebook(other))
        == "Measurement invariance across groups of sex: Male and Female"
    )
    assert "government" not in invariance_caption("sex", [1, 2], load_codebook(other))
