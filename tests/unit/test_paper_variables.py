from __future__ import annotations

import pandas as pd
import yaml

from hazegov.paper.variables import SYNTHETIC_NOTICE, paper_variables, questionnaire_markdown
from hazegov.survey.describe import sample_by_group, sample_table_markdown
from tests.support.paths import ROOT

RULES = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["exclusions"]


def test_questionnaire_appendix_prints_every_item_in_both_languages(codebook):
    text = questionnaire_markdown(codebook)
    for var in codebook.variables:
        if var.kind in ("likert", "single_choice", "rating", "free_text"):
            assert var.text_zh in text and var.text_en in text, var.name
    for option in codebook.respondent_group.options:
        assert option.zh in text and option.en in text


def _flow() -> pd.DataFrame:
    rows = [
        ("received", 0, 100),
        ("duplicates", 2, 98),
        ("attention_check", 3, 95),
        ("min_duration", 4, 91),
        ("straight_lining", 1, 90),
        ("item_nonresponse", 0, 90),
        ("analysed", 0, 90),
    ]
    return pd.DataFrame(rows, columns=["step", "excluded", "remaining"])


def test_variables_come_from_the_outputs(codebook):
    analysis = pd.DataFrame({"resp_group": ["community_residents"] * 50 + ["fengtai_cdc"] * 40})
    sample = sample_by_group(analysis, codebook)
    report = {
        "export_file": "x.csv",
        "encoding": "gb18030",
        "out_of_range_cells": 2,
        "out_of_range_policy": "missing",
        "identifiers_redacted_in_free_text": {"email": 3},
        "direct_identifier_columns_dropped": ["source_ip"],
    }
    variables = paper_variables(
        _flow(), sample, report, {"synthetic": True, "export_sha256": "ab" * 32}, codebook, RULES
    )
    assert variables["sample"]["received"] == 100
    assert variables["sample"]["analysed"] == 90
    assert variables["sample"]["excluded"]["min_duration"] == 4
    assert variables["sample"]["analysed_percent"] == "90.0"
    assert variables["sample"]["largest_group"] == "Community residents"
    assert variables["sample"]["largest_group_percent"] == "55.6"
    assert variables["sample"]["n_groups_nonempty"] == 2
    assert variables["quality"]["identifiers_redacted"] == 3
    assert variables["data"]["notice"] == SYNTHETIC_NOTICE
    real = paper_variables(_flow(), sample, report, {"export_sha256": "cd" * 32}, codebook, RULES)
    assert real["data"]["source"] == "real" and "Synthetic" not in real["data"]["notice"]


def test_sample_table_is_a_labelled_quarto_table(codebook):
    analysis = pd.DataFrame({"resp_group": ["daxing_cdc"] * 3 + ["fengtai_epb"]})
    table = sample_by_group(analysis, codebook)
    assert table.set_index("resp_group").loc["total", "n"] == 4
    assert table.set_index("resp_group").loc["daxing_cdc", "percent"] == 75.0
    md = sample_table_markdown(table, synthetic=True)
    assert md.rstrip().endswith(
        "Synthetic data. {{< var made_by.tbl_sample_by_group >}} {#tbl-sample-by-group}"
    )
    assert "| Daxing District CDC | 大兴区疾病预防控制中心 |" in md
