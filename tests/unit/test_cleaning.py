"""Exclusion rules against the generator's known defects, reverse coding, and the release."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from hazegov.survey.cleaning import apply_exclusions, modal_share, reverse_code
from hazegov.survey.ingest import ingest_export
from tests.support.paths import DEFAULT_EXPORT
from tests.support.survey import DEFAULT_DEFECTS, RULES


@pytest.fixture(scope="module")
def responses(codebook) -> pd.DataFrame:
    return ingest_export(DEFAULT_EXPORT, codebook).responses


def test_rules_find_exactly_the_defects_the_generator_planted(responses, codebook):
    cleaned = apply_exclusions(responses, codebook, RULES)
    flow = cleaned.flow.set_index("step")
    for step, planted in DEFAULT_DEFECTS.items():
        assert flow.loc[step, "excluded"] == planted, step
    assert flow.loc["received", "remaining"] == 236
    assert flow.loc["analysed", "remaining"] == 236 - sum(DEFAULT_DEFECTS.values())
    assert len(cleaned.analysis) == flow.loc["analysed", "remaining"]
    # the flow adds up: each step removes what it says
    steps = cleaned.flow["remaining"].tolist()
    assert all(
        a - b == e for a, b, e in zip(steps, steps[1:], cleaned.flow["excluded"][1:], strict=False)
    )


def test_a_rule_switched_off_excludes_nobody_and_says_so(responses, codebook):
    rules = copy.deepcopy(RULES)
    rules["min_duration"]["enabled"] = False
    flow = apply_exclusions(responses, codebook, rules).flow.set_index("step")
    assert not flow.loc["min_duration", "applied"]
    assert flow.loc["min_duration", "excluded"] == 0
    assert flow.loc["analysed", "remaining"] == 236 - sum(DEFAULT_DEFECTS.values()) + 8


def test_speeder_threshold_is_a_real_choice(responses, codebook):
    rules = copy.deepcopy(RULES)
    rules["min_duration"]["seconds"] = 0
    assert (
        apply_exclusions(responses, codebook, rules)
        .flow.set_index("step")
        .loc["min_duration", "excluded"]
        == 0
    )


def test_reverse_coding_turns_round_only_reverse_items(codebook):
    frame = pd.DataFrame(
        {v.name: pd.array([1, 2, 5, None], dtype="Int64") for v in codebook.likert_items}
    )
    out = reverse_code(frame, codebook)
    assert out["LEAD4"].tolist() == [5, 4, 1, pd.NA]
    assert out["LEAD1"].tolist() == [1, 2, 5, pd.NA]


def test_modal_share_ignores_missing_answers():
    frame = pd.DataFrame({"a": [3, 1, None], "b": [3, 2, None], "c": [None, 3, None]})
    shares = modal_share(frame, ["a", "b", "c"])
    assert shares.iloc[0] == 1.0
    assert shares.iloc[1] == pytest.approx(1 / 3)
    assert pd.isna(shares.iloc[2])


def test_released_data_set_holds_no_identifying_columns(responses, codebook):
    analysis = apply_exclusions(responses, codebook, RULES).analysis
    forbidden = {
        "submission_no",
        "submitted_at",
        "duration_s",
        "source",
        "source_ip",
        "source_detail",
        "suggestions",
        "role_other",
        "export_row",
    }
    assert not forbidden & set(analysis.columns)
    assert analysis["respondent_id"].is_unique
    assert set(analysis["sector"]) == {s.id for s in codebook.sectors}
    reverse_items = [v.name for v in codebook.likert_items if v.reverse]
    # reversed in the release: a reverse item now correlates positively with its scale mates
    for name in reverse_items:
        construct = codebook.variable(name).construct
        mates = [i for i in codebook.construct(construct).items if i != name]
        score = analysis[mates].astype(float).mean(axis=1)
        assert analysis[name].astype(float).corr(score) > 0.2, name


def test_duplicates_differing_only_in_whitespace_or_width_are_caught(responses, codebook):
    text = next(v.name for v in codebook.variables if v.kind == "free_text")
    frame = responses.head(3).copy()
    frame[text] = pd.array(["空气 质量要改善", "ＰＭ2.5", "没有"], dtype="string")
    copies = frame.copy()
    copies["submission_no"] += 10_000
    # an ideographic space (U+3000), full-width letters undone, a space typed inside
    copies[text] = pd.array(["空气\u3000质量要改善", "PM2.5", "没 有"], dtype="string")
    different = frame.head(1).copy()
    different["submission_no"] += 20_000
    different[text] = pd.array(["空气质量要改善了"], dtype="string")
    rules = {"duplicates": {"enabled": True}}
    cleaned = apply_exclusions(pd.concat([frame, copies, different]), codebook, rules)
    flow = cleaned.flow.set_index("step")
    assert flow.loc["duplicates", "excluded"] == 3
    excluded = cleaned.flags.loc[cleaned.flags["duplicates"], "submission_no"]
    assert sorted(excluded) == sorted(copies["submission_no"])


def test_free_text_classes_compare_texts_as_the_duplicate_rule_does():
    """Ingest keeps only which text a row gave (the text itself is quarantined): texts the
    duplicate rule takes as equal (U+3000, width, spaces) must get the same class."""
    from hazegov.survey.ingest import text_classes

    texts = pd.Series(
        ["空气 质量要改善", "空气\u3000质量要改善", None, "ＰＭ2.5", "PM2.5", "没有"],
        dtype="string",
    )
    classes = text_classes(texts)
    assert str(classes.dtype) == "Int64"
    assert classes[0] == classes[1]
    assert classes[3] == classes[4]
    assert classes.isna().tolist() == [False, False, True, False, False, False]
    assert classes.nunique() == 3
