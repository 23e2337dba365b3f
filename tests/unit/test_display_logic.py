"""Items not shown by design are not applicable, not missing (issue 14, display logic).

The user's report: item non-response flagged 36 respondents where 4 had really skipped, and
listwise deletion dropped the third who never saw one block. Here the codebook says which
items each respondent was shown (`shown_if`, by an experimental-arm column); the export gives
arm-1 respondents the effectiveness and grid blocks empty. They are counted as not_shown, not
flagged for item non-response, not dropped by listwise deletion; a respondent shown the blocks
who skipped them is non-response as before; and a broken condition is refused naming the
codebook line, key and rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hazegov.analysis.regression import ols_hc3
from hazegov.analysis.reliability import scale_reliability
from hazegov.analysis.sample import (
    apply_missing_data_rule,
    build_analysis_sample,
    measurement_model,
)
from hazegov.analysis.stages import shown_every_item
from hazegov.errors import CodebookError, ExportError
from hazegov.paper.variables import questionnaire_markdown
from hazegov.privacy.release import data_dictionary
from hazegov.survey.cleaning import apply_exclusions
from hazegov.survey.codebook import Codebook, load_codebook
from hazegov.survey.display import shown
from hazegov.survey.ingest import ingest_export
from tests.support.other_instrument import (
    ARM_BLOCKS,
    ARM_HEADER,
    arm_codebook_raw,
    write_arm_codebook,
)

NONRESPONSE_ONLY = {"item_nonresponse": {"enabled": True, "max_missing_share": 0.2}}
SKIPPER = 4  # an arm-2 respondent who was shown both blocks and left them unanswered
STRAY = 0  # an arm-1 respondent whose export holds an answer to an item not shown


def _block_items(cb: Codebook) -> list[str]:
    return [i for c in ARM_BLOCKS for i in cb.construct(c).items]


@pytest.fixture
def arm_study(tmp_path: Path, export_table: pd.DataFrame, write_table):
    """The arm codebook and an export of it: arms 1, 2, 3 in turn; arm 1's block cells empty
    (half "(跳过)", half blank) but for one stray answer; respondent SKIPPER (arm 2) left
    every block item "(空)"."""
    cb = load_codebook(write_arm_codebook(tmp_path))
    table = export_table.copy()
    arms = np.arange(len(table)) % 3 + 1
    table.insert(table.columns.get_loc("来自IP") + 1, ARM_HEADER, [str(a) for a in arms])
    headers = [cb.variable(i).header for i in _block_items(cb)]
    arm1 = np.flatnonzero(arms == 1)
    for k, row in enumerate(arm1):
        table.loc[row, headers] = "(跳过)" if k % 2 else ""
    table.loc[STRAY, headers[0]] = "同意"
    assert arms[SKIPPER] == 2 and arms[STRAY] == 1
    table.loc[SKIPPER, headers] = "(空)"
    return cb, write_table(table), table, arms


def test_items_not_shown_are_counted_apart_from_non_response(arm_study):
    cb, path, table, arms = arm_study
    result = ingest_export(path, cb)
    responses = result.responses
    assert responses["arm"].tolist() == arms.tolist()
    block = _block_items(cb)
    arm1 = arms == 1
    # not shown: no answer, the stray one included
    assert responses.loc[arm1, block].isna().all().all()
    by_item = result.report["missing_cells_by_item"]
    for item in block:
        unanswered = int((table[cb.variable(item).header] == "(空)").sum())
        assert by_item[item].get("unanswered", 0) == unanswered >= 1
        stray = int(item == block[0])
        assert by_item[item]["not_shown"] == int(arm1.sum()) - stray
        assert by_item[item].get("answered_not_shown", 0) == stray
        # the platform's own markers of arm-1 cells are not counted as skipped or blank
        assert "skipped" not in by_item[item] and "blank" not in by_item[item]
    log = result.quality_log
    stray_entry = log[(log["variable"] == block[0]) & (log["reason"] == "answered_not_shown")]
    assert stray_entry[["rule", "action", "cells"]].to_dict("records") == [
        {"rule": "shown-if", "action": "set to missing", "cells": 1}
    ]
    assert result.report["missing_cells_by_reason"]["not_shown"] == len(block) * int(arm1.sum()) - 1
    # items without display logic are counted as before, and every item in export order
    assert "not_shown" not in by_item.get("LEAD1", {})
    # (an item whose only missing cells are out of range is listed after the counts)
    counted = [cb.variable(i).header for i in by_item if set(by_item[i]) - {"out_of_range"}]
    assert counted == [h for h in table.columns if h in counted]


def test_item_nonresponse_counts_only_items_shown(arm_study, tmp_path: Path):
    cb, path, _, arms = arm_study
    responses = ingest_export(path, cb).responses
    flags = apply_exclusions(responses, cb, NONRESPONSE_ONLY).flags
    by_number = dict(zip(flags["submission_no"], flags["item_nonresponse"], strict=True))
    flagged = {int(n) for n, hit in by_number.items() if hit}
    skipper = int(responses.loc[SKIPPER, "submission_no"])
    assert skipper in flagged
    arm1 = set(responses.loc[arms == 1, "submission_no"].astype(int))
    assert not flagged & arm1

    # the same export read without the display conditions: every arm-1 respondent is flagged
    raw = arm_codebook_raw()
    for question in raw["questions"]:
        question.pop("shown_if", None)
    plain_path = tmp_path / "plain.yaml"
    plain_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    plain = load_codebook(plain_path)
    plain_flags = apply_exclusions(ingest_export(path, plain).responses, plain, NONRESPONSE_ONLY)
    plain_flagged = set(
        plain_flags.flags.loc[plain_flags.flags["item_nonresponse"], "submission_no"]
    )
    assert arm1 <= {int(n) for n in plain_flagged}


def test_listwise_keeps_respondents_not_shown_a_block(arm_study):
    cb, path, _, arms = arm_study
    cleaned = apply_exclusions(ingest_export(path, cb).responses, cb, {}).analysis
    assert cleaned["arm"].tolist() == arms.tolist()  # the condition's column is kept
    sample = build_analysis_sample(cleaned, cb, "listwise", controls=[])
    kept = sample.frame
    block = _block_items(cb)
    others = [i for c in cb.constructs for i in c.items if i not in block]
    rating = cb.overall_rating.name
    complete = cleaned[[*others, rating]].notna().all(axis=1)
    shown_complete = complete & cleaned[block].notna().all(axis=1)
    arm1 = cleaned["arm"] == 1
    # arm 1: kept when complete on what they were shown; arms 2-3 need the blocks too
    assert int((kept["arm"] == 1).sum()) == int((arm1 & complete).sum()) > 0
    assert len(kept) == int((arm1 & complete).sum() + (~arm1 & shown_complete).sum())
    # the respondent shown the blocks who skipped them is dropped, as before
    skipped = cleaned.loc[~arm1 & cleaned[block].isna().all(axis=1), "respondent_id"]
    assert len(skipped) == 1 and not kept["respondent_id"].isin(skipped).any()
    assert kept.loc[kept["arm"] == 1, [f"score_{c}" for c in ARM_BLOCKS]].isna().all().all()
    report = sample.report
    assert report["not_shown_by_variable"] == dict.fromkeys(
        sorted(block), int((kept["arm"] == 1).sum())
    )
    assert report["n_shown_by_construct"]["GRID"] == int((kept["arm"] != 1).sum())
    assert report["n_shown_by_construct"]["LEAD"] == len(kept)
    # the cells counted missing are those of respondents shown the item (the skipper's)
    left = report["missing_after_imputation_by_variable"]
    for item in block:
        assert left[item] == int((cleaned[item].isna() & ~arm1).sum()) >= 1


def test_person_mean_does_not_impute_items_not_shown(arm_study):
    cb, path, _, _ = arm_study
    cleaned = apply_exclusions(ingest_export(path, cb).responses, cb, {}).analysis
    sample = build_analysis_sample(cleaned, cb, "person_mean", controls=[], min_items_answered=2)
    kept = sample.frame
    arm1 = kept["arm"] == 1
    assert arm1.any()
    assert kept.loc[arm1, _block_items(cb)].isna().all().all()
    assert kept.loc[~arm1, _block_items(cb)].notna().all().all()


def test_the_haze_study_has_no_display_logic(codebook: Codebook):
    assert not codebook.has_display_logic
    assert codebook.display_variables == ()


def test_conditions_combine_and_reach_items(tmp_path: Path):
    raw = arm_codebook_raw()
    grid = next(q for q in raw["questions"] if q.get("construct") == "GRID")
    grid["shown_if"] = {
        "any": [{"variable": "arm", "not_in": [1]}, {"variable": "resp_group", "in": [8]}]
    }
    grid["items"][0]["shown_if"] = {"variable": "gender", "in": [2]}
    path = tmp_path / "combined.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cb = load_codebook(path)
    frame = pd.DataFrame(
        {
            "arm": pd.array([1, 1, 2, 3], dtype="Int64"),
            "resp_group": pd.array(["community_residents", "fengtai_cdc"] * 2, dtype="string"),
            "gender": pd.array([2, 2, 1, pd.NA], dtype="Int64"),
        }
    )
    got = shown(frame, cb, ["GRID1", "GRID2", "LEAD1"])
    assert got.to_dict("list") == {
        "GRID1": [True, False, False, False],  # the item's own condition and its question's
        "GRID2": [True, False, True, True],
        "LEAD1": [True] * 4,
    }
    assert [v.name for v in cb.display_variables] == ["arm", "resp_group", "gender"]


def _refused(tmp_path: Path, mutate) -> list:
    raw = arm_codebook_raw()
    mutate(raw)
    path = tmp_path / "broken.yaml"
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    return [v for v in info.value.violations if v.rule.startswith("shown-if")], text


def _grid(raw: dict) -> dict:
    return next(q for q in raw["questions"] if q.get("construct") == "GRID")


GRID_QUESTION = next(
    i for i, q in enumerate(arm_codebook_raw()["questions"]) if q.get("construct") == "GRID"
)


@pytest.mark.parametrize(
    ("condition", "rule", "key", "words"),
    [
        ({"variable": "armm", "in": [2]}, "shown-if-variable", "shown_if.variable", "'armm'"),
        (
            {"variable": "satisfaction", "in": [2]},
            "shown-if-earlier",
            "shown_if.variable",
            "not asked before",
        ),
        ({"variable": "arm", "in": [2, 7]}, "shown-if-codes", "shown_if.in", "[7]"),
        ({"variable": "arm", "in": [2], "not_in": [1]}, "shown-if-form", "shown_if", "exactly"),
        ({"variable": "arm", "in": "2"}, "shown-if-codes", "shown_if.in", "non-empty list"),
        (
            {"all": [{"variable": "resp_group", "not_in": [9]}]},
            "shown-if-codes",
            "shown_if.all.0.not_in",
            "[9]",
        ),
    ],
)
def test_a_broken_condition_is_refused_naming_line_key_and_rule(
    tmp_path: Path, condition, rule, key, words
):
    def mutate(raw):
        _grid(raw)["shown_if"] = condition

    found, text = _refused(tmp_path, mutate)
    assert len(found) == 1, found
    (violation,) = found
    assert violation.rule == rule
    assert words in violation.message
    assert violation.column == f"questions.{GRID_QUESTION}.{key}"
    line = text.splitlines()[violation.row - 1]
    assert violation.row_kind == "line" and line.strip(" -").startswith(key.split(".")[-1])
    assert f"[rule: {rule}]" in str(violation)


def test_a_condition_on_a_later_item_of_its_own_question_is_refused(tmp_path: Path):
    def mutate(raw):
        _grid(raw)["items"][0]["shown_if"] = {"variable": "GRID2", "in": [4]}

    found, _ = _refused(tmp_path, mutate)
    assert [v.rule for v in found] == ["shown-if-earlier"]
    assert found[0].column.endswith("items.0.shown_if.variable")
    assert "the display condition of item GRID1 of question 12 tests GRID2" in found[0].message


def test_a_condition_on_a_column_without_codes_is_refused(tmp_path: Path):
    def mutate(raw):
        _grid(raw)["shown_if"] = {"variable": "source", "in": [1]}

    found, _ = _refused(tmp_path, mutate)
    assert [v.rule for v in found] == ["shown-if-coded"]


def test_scale_analyses_use_the_respondents_shown_the_scale(arm_study):
    """Reliability of a scale shown to some respondents rests on those shown it; a regression
    uses the respondents with every variable it uses, and reports how many it left out."""
    cb, path, _, _ = arm_study
    cleaned = apply_exclusions(ingest_export(path, cb).responses, cb, {}).analysis
    sample = build_analysis_sample(cleaned, cb, "listwise", controls=[])
    frame, model = sample.frame, measurement_model(cb)
    shown_n = sample.report["n_shown_by_construct"]
    reliability = scale_reliability(
        frame, model, reverse_items={c: cb.reverse_items(c) for c in model}
    ).set_index("construct")
    assert reliability["n"].to_dict() == shown_n
    assert shown_n["EFF"] < shown_n["LEAD"] == len(frame)
    predictors = ["score_RESP", "score_EVAL"]
    fit = ols_hc3(frame, "score_EFF", predictors).to_frames()["fit"].iloc[0]
    assert (fit["n"], fit["n_dropped"]) == (shown_n["EFF"], len(frame) - shown_n["EFF"])
    fit = ols_hc3(frame, "score_LEAD", predictors).to_frames()["fit"].iloc[0]
    assert (fit["n"], fit["n_dropped"]) == (len(frame), 0)


def test_an_attention_check_not_shown_is_neither_passed_nor_failed(
    tmp_path: Path, export_table: pd.DataFrame, write_table
):
    raw = arm_codebook_raw()
    part = next(q for q in raw["questions"] if q.get("construct") == "PART")
    part["shown_if"] = {"variable": "arm", "not_in": [1]}
    path = tmp_path / "part_by_arm.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cb = load_codebook(path)
    table = export_table.copy()
    arms = np.arange(len(table)) % 3 + 1
    table[ARM_HEADER] = [str(a) for a in arms]
    part_headers = [cb.variable(i).header for i in (*cb.construct("PART").items, "ATTN")]
    table.loc[arms == 1, part_headers] = "(跳过)"
    responses = ingest_export(write_table(table), cb).responses
    rule = {"attention_check": {"enabled": True, "missing_counts_as_failure": True}}
    failed = apply_exclusions(responses, cb, rule).flags.set_index("submission_no")
    failed = failed["attention_check"]
    number = responses["submission_no"].to_numpy()
    attn = responses["ATTN"]
    expected_fail = (arms != 1) & (attn.isna() | attn.ne(4).fillna(False)).to_numpy(dtype=bool)
    assert failed.loc[number].to_numpy().tolist() == expected_fail.tolist()
    assert not failed.loc[number[arms == 1]].any()


def test_straight_lining_reads_only_items_shown(arm_study):
    """Answers in the cells of items not shown (responses that did not come through the
    ingest) do not make or break a straight-liner."""
    cb, path, _, arms = arm_study
    responses = ingest_export(path, cb).responses
    likert = [v.name for v in cb.likert_items]
    block = _block_items(cb)
    row = int(np.flatnonzero(arms == 1)[1])
    responses.loc[row, [i for i in likert if i not in block]] = 4
    responses.loc[row, block] = [1, 2, 3, 5, 1, 2, 3, 5]
    rule = {"straight_lining": {"enabled": True, "min_modal_share": 0.95}}
    flags = apply_exclusions(responses, cb, rule).flags.set_index("submission_no")
    assert flags.loc[responses.loc[row, "submission_no"], "straight_lining"]


def test_the_joint_factor_analysis_uses_the_respondents_shown_every_item(
    arm_study, codebook: Codebook
):
    cb, path, _, _ = arm_study
    cleaned = apply_exclusions(ingest_export(path, cb).responses, cb, {}).analysis
    frame = build_analysis_sample(cleaned, cb, "listwise", controls=[]).frame
    items = [i for c in cb.constructs for i in c.items]
    joint = shown_every_item(frame, cb, items, what="factor structure")
    assert joint["arm"].isin([2, 3]).all()
    assert len(joint) == int((frame["arm"] != 1).sum())
    assert joint[items].notna().all().all()
    # without display logic the sample is analysed as it is
    assert shown_every_item(frame, codebook, [], what="factor structure") is frame


def test_the_questionnaire_appendix_says_who_was_shown_a_block(tmp_path: Path, codebook):
    raw = arm_codebook_raw()
    grid = _grid(raw)
    grid["items"][0]["shown_if"] = {"variable": "gender", "not_in": [1]}
    path = tmp_path / "appendix.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    text = questionnaire_markdown(load_codebook(path))
    arm = "Experimental arm (arm) is 2 第2组 (Arm 2) or 3 第3组 (Arm 3)"
    # EFF: one line for the block; GRID: a line per item, GRID1's with both conditions
    assert text.count(f"Shown if / 显示条件: {arm}\n") == 1
    assert f"GRID1 shown if / 显示条件: ({arm}) and (Gender: (gender) is not 1 男 (Male))" in text
    assert f"GRID2 shown if / 显示条件: {arm}  " in text
    assert "显示条件" not in questionnaire_markdown(codebook)


def test_the_arm_column_is_read_as_codes_or_labels_and_checked(
    tmp_path: Path, export_table: pd.DataFrame, write_table
):
    raw = arm_codebook_raw()
    arm = next(c for c in raw["platform_columns"] if c["name"] == "arm")
    arm["options"] = [o for o in arm["options"] if o["code"] != 2]  # arms 1 and 3
    for question in raw["questions"]:
        if "shown_if" in question:
            question["shown_if"]["in"] = [3]
    path = tmp_path / "arms_1_3.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cb = load_codebook(path)
    table = export_table.copy()
    table[ARM_HEADER] = ["第3组" if i % 2 else "1" for i in range(len(table))]
    responses = ingest_export(write_table(table), cb).responses
    assert responses["arm"].dtype == "Int64"
    assert responses["arm"].tolist() == [3 if i % 2 else 1 for i in range(len(table))]
    table.loc[5, ARM_HEADER] = "2"  # within 1..3, but no arm's code
    with pytest.raises(ExportError) as info:
        ingest_export(write_table(table, "bad_arm.csv"), cb)
    assert any(v.column == "arm" for v in info.value.violations), str(info.value)


def test_the_data_dictionary_says_who_was_shown_each_item(arm_study, codebook: Codebook):
    cb, path, _, _ = arm_study
    cleaned = apply_exclusions(ingest_export(path, cb).responses, cb, {}).analysis
    dictionary = data_dictionary(cb, cleaned).set_index("variable")
    arm = "Experimental arm (arm) is 2 第2组 (Arm 2) or 3 第3组 (Arm 3)"
    assert dictionary.loc["GRID1", "shown_if"] == arm
    assert dictionary.loc[["LEAD1", "sector", "arm"], "shown_if"].tolist() == ["", "", ""]
    assert dictionary.loc["arm", "values"] == "1=Arm 1; 2=Arm 2; 3=Arm 3"
    plain = apply_exclusions(ingest_export(path, cb).responses, codebook, {}).analysis
    assert "shown_if" not in data_dictionary(codebook, plain).columns


def test_person_mean_counts_answered_items_not_items_not_shown():
    """Under person_mean, a scale's gap is filled only from enough answered items: an item
    not shown is neither a gap nor an answer."""
    answers = pd.DataFrame(
        {"LEAD1": [4.0, 4.0], "LEAD2": [2.0, 2.0], "LEAD3": [np.nan, np.nan], "LEAD4": [np.nan] * 2}
    )
    shown_items = pd.DataFrame(
        {"LEAD1": [True] * 2, "LEAD2": [True] * 2, "LEAD3": [True] * 2, "LEAD4": [False, True]}
    )
    model = {"LEAD": ["LEAD1", "LEAD2", "LEAD3", "LEAD4"]}
    sample = apply_missing_data_rule(
        answers, model, "person_mean", min_items_answered=2, shown=shown_items
    )
    # respondent 1: LEAD3 filled from 2 answers, LEAD4 not shown; respondent 2: both filled
    assert sample.report["cells_imputed"] == 3
    assert sample.frame["LEAD3"].tolist() == [3.0, 3.0]
    assert np.isnan(sample.frame.loc[0, "LEAD4"]) and sample.frame.loc[1, "LEAD4"] == 3.0
    assert sample.report["not_shown_by_variable"] == {"LEAD4": 1}
    strict = apply_missing_data_rule(
        answers, model, "person_mean", min_items_answered=3, shown=shown_items
    )
    # two answers are too few: no gap is filled, and both respondents lack a shown item
    assert (strict.report["cells_imputed"], strict.report["n_after"]) == (0, 0)
