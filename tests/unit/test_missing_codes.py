"""Missing cells are what the codebook declares, never a code read as missing for its sign.

Issue 14: codes -1, -2 and -3 were read as missing on every item, so on a -3..+3 item the
negative answers vanished without a trace. These tests hold the ingest to the codebook's
declarations (instrument presets, scale, question and item lists), check that every cell set to
missing is counted by item and reason in the data-quality log and by `hazegov check`, and that
a codebook declaring an answer code missing is refused, naming the file, item and rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hazegov.cli import main
from hazegov.errors import CodebookError, ExportError
from hazegov.survey.codebook import MISSING_PRESETS, load_codebook
from hazegov.survey.ingest import ingest_export
from hazegov.survey.synthetic import draw_respondents, load_population_model, synthesize_export
from tests.support.paths import CODEBOOK, POPULATION

EFF_ITEMS = ("EFF1", "EFF2", "EFF3", "EFF4")
# A bipolar answer scale: -3 (strongly worse) to +3 (strongly better), with the platform's
# numeric export writing -99 for an item seen but left unanswered.
BIPOLAR7 = {
    "label": {"zh": "七级双极量表", "en": "Seven-point bipolar scale"},
    "options": [
        {"code": c, "zh": zh, "en": en}
        for c, zh, en in zip(
            range(-3, 4),
            ("明显变差", "变差", "略有变差", "没有变化", "略有改善", "改善", "明显改善"),
            (
                "Much worse",
                "Worse",
                "Slightly worse",
                "No change",
                "Slightly better",
                "Better",
                "Much better",
            ),
            strict=True,
        )
    ],
    "missing": [
        {"code": -99, "reason": "unanswered", "meaning": {"zh": "未作答", "en": "not answered"}}
    ],
}


def _codebook_file(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _bipolar_effectiveness(raw: dict) -> None:
    """The effectiveness question (11) answered on the -3..+3 scale."""
    raw["response_scales"]["bipolar7"] = BIPOLAR7
    next(q for q in raw["questions"] if q.get("construct") == "EFF")["scale"] = "bipolar7"


def _header(cb, name: str) -> str:
    return cb.variable(name).header


@pytest.fixture
def bipolar(tmp_path, codebook, export_table, write_table):
    """A codebook with EFF on the -3..+3 scale, and an export of it: each answered EFF cell
    holds its five-point code minus 3 (every one of -2..+2 occurs), respondent 1 answers -3,
    two cells hold the declared -99; the cells the platform left "(空)" and the paper forms'
    keying errors ("6", "0", "44") stay as they are."""
    path = _codebook_file(tmp_path, _bipolar_effectiveness)
    cb = load_codebook(path)
    table = export_table.copy()
    five_point = codebook.variable("EFF1").options
    labels = {o.zh: o.code for o in five_point} | {str(o.code): o.code for o in five_point}
    for item in EFF_ITEMS:
        column = _header(cb, item)
        codes = table[column].map(lambda cell: labels.get(cell, cell))
        table[column] = [str(c - 3) if isinstance(c, int) else c for c in codes]
    table.loc[0, _header(cb, "EFF1")] = "-3"
    table.loc[[3, 5], _header(cb, "EFF2")] = "-99"
    return cb, write_table(table), table


def test_negative_answers_of_a_bipolar_item_are_kept_and_the_declared_code_counted(bipolar):
    cb, path, table = bipolar
    result = ingest_export(path, cb)
    responses = result.responses
    for item in EFF_ITEMS:
        cells = table[_header(cb, item)]
        numeric = cells.isin([str(c) for c in range(-3, 4)])
        # every number written is read as that answer: nothing valid is lost
        got = responses.loc[numeric.to_numpy(), item].astype(int).tolist()
        assert got == cells[numeric].astype(int).tolist()
        assert responses.loc[~numeric.to_numpy(), item].isna().all()
    assert {-3, -2, -1} <= set(responses["EFF1"].dropna().astype(int))
    assert responses.loc[0, "EFF1"] == -3
    assert responses.loc[[3, 5], "EFF2"].isna().all()

    log = result.quality_log
    declared = log[(log["variable"] == "EFF2") & (log["value"] == "-99")]
    assert declared[["rule", "action", "reason", "cells"]].to_dict("records") == [
        {
            "rule": "declared-missing",
            "action": "set to missing",
            "reason": "unanswered",
            "cells": 2,
        }
    ]
    # no negative answer was logged or set to missing: only the declared code and markers
    assert not log["value"].isin(["-1", "-2", "-3"]).any()
    empty = int((table[_header(cb, "EFF2")] == "(空)").sum())
    assert result.report["missing_cells_by_item"]["EFF2"] == {"unanswered": empty + 2}


def test_reverse_coding_turns_a_bipolar_item_round_zero(bipolar):
    from hazegov.survey.cleaning import reverse_code

    cb, path, _ = bipolar
    responses = ingest_export(path, cb).responses
    turned = reverse_code(responses, cb)
    assert cb.variable("EFF4").reverse
    answered = responses["EFF4"].notna()
    assert (turned.loc[answered, "EFF4"] == -responses.loc[answered, "EFF4"]).all()


def test_an_undeclared_negative_code_on_a_one_to_five_item_is_not_silently_dropped(
    codebook, export_table, write_table
):
    table = export_table.copy()
    lead1 = _header(codebook, "LEAD1")
    table.loc[2, lead1] = "-1"
    path = write_table(table)
    logged = ingest_export(path, codebook, out_of_range="missing")
    entry = logged.quality_log.query("row == 4").to_dict("records")
    assert [(e["variable"], e["value"], e["rule"], e["reason"]) for e in entry] == [
        ("LEAD1", "-1", "valid-range", "out_of_range")
    ]
    with pytest.raises(ExportError, match="valid-range"):
        ingest_export(path, codebook, out_of_range="error")


def test_qualtrics_preset_reads_minus_99_as_unanswered_and_blank_as_skipped(
    tmp_path, codebook, export_table, write_table
):
    def qualtrics(raw: dict) -> None:
        raw["instrument"].pop("missing_markers")
        raw["instrument"]["missing_preset"] = "qualtrics"

    cb = load_codebook(_codebook_file(tmp_path, qualtrics))
    assert [(m.cell, m.reason) for m in cb.missing_markers] == [
        ("-99", "unanswered"),
        ("", "skipped"),
    ]
    as_qualtrics = export_table.replace({"(空)": "-99", "(跳过)": ""})
    result = ingest_export(write_table(as_qualtrics), cb)
    wenjuanxing = ingest_export(write_table(export_table, "wjx.csv"), codebook)
    pd.testing.assert_frame_equal(result.responses, wenjuanxing.responses)
    by_item = result.report["missing_cells_by_item"]
    for name, counts in wenjuanxing.report["missing_cells_by_item"].items():
        if name != "suggestions":  # "(空)" of free text became blank, so skipped here
            assert by_item[name] == counts
    assert result.report["missing_cells_by_reason"]["skipped"] > 0
    # Wenjuanxing's markers are not Qualtrics' missing cells
    with pytest.raises(ExportError, match="label-in-codebook"):
        ingest_export(write_table(export_table, "wjx2.csv"), cb)


def test_the_generator_writes_the_markers_its_codebook_declares(
    tmp_path, codebook, export_table, write_table
):
    def qualtrics(raw: dict) -> None:
        raw["instrument"].pop("missing_markers")
        raw["instrument"]["missing_preset"] = "qualtrics"

    cb = load_codebook(_codebook_file(tmp_path, qualtrics))
    table = synthesize_export(load_population_model(POPULATION, cb), cb, n=40)
    cells = set(table.to_numpy().ravel().tolist())
    assert "-99" in cells and "" in cells
    assert not cells & {"(空)", "(跳过)"}
    # the same draws, written with the other platform's markers, read as the same answers
    ours = ingest_export(write_table(table, "qualtrics.csv"), cb).responses
    theirs = ingest_export(write_table(export_table, "wjx.csv"), codebook).responses
    pd.testing.assert_frame_equal(ours, theirs)


def test_codebook_without_markers_takes_the_wenjuanxing_preset(tmp_path, codebook):
    cb = load_codebook(
        _codebook_file(tmp_path, lambda raw: raw["instrument"].pop("missing_markers"))
    )
    assert [(m.cell, m.reason) for m in cb.missing_markers] == [
        (m["text"], m["reason"]) for m in MISSING_PRESETS["wenjuanxing"]
    ]
    assert [(m.cell, m.reason) for m in cb.missing_markers] == [
        (m.cell, m.reason) for m in codebook.missing_markers
    ]


def test_an_item_declaration_overrides_the_instrument_for_that_item_only(tmp_path):
    def blank_is_skipped_on_lead1(raw: dict) -> None:
        item = next(q for q in raw["questions"] if q.get("construct") == "LEAD")["items"][0]
        item["missing"] = [
            {"text": "", "reason": "skipped", "meaning": {"zh": "未显示", "en": "not shown"}}
        ]

    cb = load_codebook(_codebook_file(tmp_path, blank_is_skipped_on_lead1))
    assert cb.variable("LEAD1").missing_reason("").reason == "skipped"
    assert cb.variable("LEAD2").missing_reason("").reason == "blank"
    assert cb.variable("LEAD1").missing_reason("(空)").reason == "unanswered"
    assert cb.variable("LEAD1").missing_reason("3") is None


@pytest.mark.parametrize(
    ("where", "marker"),
    [
        ("scale", {"code": 3, "reason": "unanswered"}),
        ("item", {"text": "同意", "reason": "unanswered"}),
        ("item", {"text": "4", "reason": "unanswered"}),
    ],
)
def test_a_missing_code_that_is_an_answer_code_is_refused(tmp_path, where, marker):
    marker = marker | {"meaning": {"zh": "未作答", "en": "not answered"}}

    def collide(raw: dict) -> None:
        if where == "scale":
            raw["response_scales"]["agree5"]["missing"] = [marker]
        else:
            item = next(q for q in raw["questions"] if q.get("construct") == "RESP")["items"][1]
            item["missing"] = [marker]

    path = _codebook_file(tmp_path, collide)
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    [violation] = info.value.violations
    assert violation.rule == "missing-not-answer"
    assert violation.file == str(path)
    message = str(info.value)
    assert str(path) in message and "missing-not-answer" in message
    assert "RESP2" in message  # the item named (a scale's collision names all its items)
    assert "either an answer or missing" in message
    if where == "scale":
        assert violation.column == "response_scales.agree5.missing.0"
        assert "LEAD1" in message
    else:
        assert violation.column == "questions.7.items.1.missing.0"
        assert violation.row is not None  # the line of the declaration


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (
            '{text: "(空)", reason: unanswered,',
            '{text: "(空)", code: -1, reason: unanswered,',
            "missing-marker-text-or-code",
        ),
        ("reason: skipped,", "reason: Skipped Cells,", "missing-reason"),
        (
            "  missing_markers:\n",
            "  missing_preset: surveymonkey\n  missing_markers:\n",
            "known-missing-preset",
        ),
        ('{text: "", reason: blank,', '{text: "(空)", reason: blank,', "unique-missing-marker"),
    ],
)
def test_malformed_missing_markers_name_file_line_and_rule(tmp_path, old, new, rule):
    text = CODEBOOK.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "codebook.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert [v.rule for v in info.value.violations] == [rule]
    violation = info.value.violations[0]
    assert violation.file == str(path)
    assert violation.row is not None and violation.column.startswith("instrument.missing_")


def test_skipped_questions_are_drawn_as_missing_not_as_a_negative_code(codebook):
    model = load_population_model(POPULATION, codebook)
    codes = draw_respondents(model, codebook, n=300)
    for var in codebook.variables:
        if var.skipped_for_groups:
            skipped = codes["resp_group"].isin(var.skipped_for_groups)
            assert skipped.any()
            assert codes.loc[skipped, var.name].isna().all()
            assert codes.loc[~skipped, var.name].notna().all()
    coded = codes.drop(columns=["resp_group", "sector"]).astype("Float64").to_numpy(np.float64)
    assert np.nanmin(coded) >= 1


def test_check_export_reports_the_cells_set_to_missing(bipolar, tmp_path, capsys):
    cb, path, table = bipolar
    out = tmp_path / "checked"
    status = main(
        ["check", "export", str(path), "--option", f"codebook={cb.path}", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "no problems found" in printed
    eff2 = int((table[_header(cb, "EFF2")] == "(空)").sum()) + 2
    assert f"  EFF2: unanswered {eff2}\n" in printed
    skipped = int((table[_header(cb, "years_in_post")] == "(跳过)").sum())
    assert f"  years_in_post: skipped {skipped}\n" in printed
    log = pd.read_csv(out / "data_quality.csv", keep_default_na=False)
    assert list(log.columns) == [
        "row",
        "column",
        "variable",
        "value",
        "rule",
        "action",
        "reason",
        "cells",
        "data_source",
    ]
    counted = log[log["variable"] == "EFF2"].groupby("reason")["cells"].sum().to_dict()
    assert counted == {"unanswered": eff2}
    total = printed.split("cells set to missing: ", 1)[1].split(" ", 1)[0]
    assert int(total) == int(log["cells"].sum())


def test_questionnaire_appendix_names_the_missing_codes_a_scale_declares(bipolar, codebook):
    from hazegov.paper.variables import questionnaire_markdown

    cb, _, _ = bipolar
    text = questionnaire_markdown(cb)
    assert text.count("Missing / 缺失: -99 未作答 (not answered)") == 1
    assert "-3 明显变差 (Much worse)" in text
    # the study's codebook declares only the instrument's markers: its appendix is unchanged
    assert "Missing / 缺失" not in questionnaire_markdown(codebook)
