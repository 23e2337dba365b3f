from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.sample import (
    apply_missing_data_rule,
    build_analysis_sample,
    construct_scores,
    years_in_post_numeric,
)

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
    from hazegov.cleaning import apply_exclusions
    from hazegov.ingest import ingest_export

    from .conftest import DEFAULT_EXPORT
    from .test_cleaning import RULES

    analysis = apply_exclusions(
        ingest_export(DEFAULT_EXPORT, codebook).responses, codebook, RULES
    ).analysis
    sample = build_analysis_sample(analysis, codebook, "person_mean")
    assert sample.report["n_before"] == len(analysis)
    assert {f"score_{c.id}" for c in codebook.constructs} <= set(sample.frame.columns)
    residents = sample.frame["sector"] == "community_residents"
    assert (sample.frame.loc[residents, "years_in_post"] == 0).all()
    assert sample.frame.filter(like="score_").notna().all().all()
