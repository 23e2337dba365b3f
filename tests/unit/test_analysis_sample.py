from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.sample import (
    apply_missing_data_rule,
    build_analysis_sample,
    construct_scores,
    years_in_post_numeric,
)
from tests.support.other_instrument import CONTROLS as OTHER_CONTROLS
from tests.support.other_instrument import other_analysis_frame, other_codebook
from tests.support.paths import ROOT

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
MODEL = {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2", "b3"]}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a1": [1, 2, None, None, 5],
            "a2": [1, 2, 3, None, 5],
            "a3": [1, 2, 3, 4, 5],
            "a4": [1, 2, 3, 4, 5],
            "b1": [2, 3, 4, 5, None],
            "b2": [2, 3, 4, 5, 1],
            "b3": [2, 3, 4, 5, 1],
            "control": [1, 1, 1, 1, None],
        },
        dtype="Float64",
    )


def test_listwise_keeps_only_complete_respondents():
    sample = apply_missing_data_rule(_frame(), MODEL, "listwise", also_required=["control"])
    assert len(sample.frame) == 2
    assert sample.report["n_dropped"] == 3
    assert sample.report["cells_imputed"] == 0


def test_person_mean_fills_from_the_same_scale_only_when_enough_items_answered():
    sample = apply_missing_data_rule(_frame(), MODEL, "person_mean", min_items_answered=3)
    # respondent 3 answered 3 of A: a1 takes the mean of a2..a4 = 3; respondent 4 only 2 of A
    # (dropped); respondent 5 answered 2 of B with min 3 (dropped)
    assert len(sample.frame) == 3
    assert sample.frame.loc[2, "a1"] == pytest.approx(3.0)
    assert sample.report["cells_imputed"] == 1
    assert sample.report["n_dropped"] == 2


def test_unknown_rule_and_columns_are_refused():
    with pytest.raises(AnalysisError, match="unknown missing-data rule"):
        apply_missing_data_rule(_frame(), MODEL, "hot_deck")
    with pytest.raises(AnalysisError, match="not in the data"):
        apply_missing_data_rule(_frame(), {"C": ["c1"]}, "listwise")


def test_construct_scores_are_item_means():
    frame = _frame().dropna()
    scores = construct_scores(frame, MODEL)
    np.testing.assert_allclose(scores["A"], frame[MODEL["A"]].astype(float).mean(axis=1))


def test_years_in_post_is_zero_for_those_who_hold_no_post():
    frame = pd.DataFrame(
        {
            "years_in_post": pd.array([3, None, 2], dtype="Int64"),
            "resp_group": ["fengtai_cdc", "community_residents", "daxing_cdc"],
        }
    )
    assert years_in_post_numeric(frame, ["community_residents"]).tolist() == [3.0, 0.0, 2.0]


def test_default_analysis_sample(codebook):
    from hazegov.survey.cleaning import apply_exclusions
    from hazegov.survey.ingest import ingest_export
    from tests.support.paths import DEFAULT_EXPORT
    from tests.support.survey import RULES

    analysis = apply_exclusions(
        ingest_export(DEFAULT_EXPORT, codebook).responses, codebook, RULES
    ).analysis
    controls = CONFIG["analysis"]["regression"]["controls"]
    sample = build_analysis_sample(analysis, codebook, "person_mean", controls=controls)
    assert sample.report["n_before"] == len(analysis)
    assert {f"score_{c.id}" for c in codebook.constructs} <= set(sample.frame.columns)
    residents = sample.frame["sector"] == "community_residents"
    assert (sample.frame.loc[residents, "years_in_post"] == 0).all()
    assert sample.frame.filter(like="score_").notna().all().all()


def test_another_instruments_sample_uses_its_own_controls_and_rating(tmp_path):
    # issue 14: the haze study's controls were written into the sample (KeyError:
    # 'years_in_post'); another instrument's controls come from config, its rating by role
    cb = other_codebook(tmp_path)
    analysis = other_analysis_frame(cb)
    sample = build_analysis_sample(analysis, cb, "listwise", controls=OTHER_CONTROLS)
    frame = sample.frame
    # only the respondent who skipped PART2 goes: residents skip tenure by design and stay in
    assert sample.report["n_dropped"] == 1
    assert sample.report["missing_after_imputation_by_variable"] == {"PART2": 1}
    residents = frame["sector"] == "community_residents"
    assert residents.sum() == 7 and (frame.loc[residents, "tenure"] == 0).all()
    assert (frame.loc[~residents, "tenure"] >= 1).all()
    for column in ("sex", "age_band", "schooling", "overall_rating"):
        assert frame[column].dtype == np.int64, column
    assert {f"score_{c.id}" for c in cb.constructs} <= set(frame.columns)
    assert frame["score_PART"].max() <= 7 and frame["score_PART"].min() >= 1
    np.testing.assert_allclose(frame["score_GRID"], frame[["GRID1", "GRID2"]].mean(axis=1))


def test_another_instruments_two_item_scale_and_seven_point_items_are_imputed(tmp_path):
    cb = other_codebook(tmp_path)
    analysis = other_analysis_frame(cb)
    sample = build_analysis_sample(
        analysis, cb, "person_mean", controls=OTHER_CONTROLS, min_items_answered=2
    )
    assert sample.report["n_dropped"] == 0 and sample.report["cells_imputed"] == 1
    answered = analysis.loc[3, ["PART1", "PART3", "PART4"]].astype(float)
    assert sample.frame.loc[3, "PART2"] == pytest.approx(answered.mean())


def test_controls_the_data_set_lacks_are_named(tmp_path):
    cb = other_codebook(tmp_path)
    haze_controls = CONFIG["analysis"]["regression"]["controls"]
    with pytest.raises(AnalysisError, match=r"\['gender', 'education', 'years_in_post'\]"):
        build_analysis_sample(other_analysis_frame(cb), cb, "listwise", controls=haze_controls)
