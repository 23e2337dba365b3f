"""Issue 14, point 4: the second language is optional. An English-only codebook loads, is read
and printed in English only; a bilingual codebook (the haze study's) prints as before."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hazegov.paper.variables import questionnaire_markdown
from hazegov.privacy.release import data_dictionary, write_sav
from hazegov.survey.codebook import CodebookError, load_codebook
from hazegov.survey.describe import sample_by_group, sample_table_markdown
from hazegov.survey.display import describe
from tests.support.paths import FIXTURES

FIXTURE = FIXTURES / "second_questionnaire" / "codebook.yaml"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


@pytest.fixture(scope="module")
def english():
    return load_codebook(FIXTURE)


def _variant(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_an_english_only_codebook_loads_with_no_chinese_text(english):
    assert not english.bilingual
    assert english.title_en == "Trust in local climate adaptation policy"
    assert all(v.text_zh == "" and v.text_en for v in english.variables)
    assert all(o.zh == "" for v in english.variables for o in v.options)
    assert all(c.zh == "" for c in english.constructs)
    # the Qualtrics preset's own columns, which carry Chinese labels, are taken in English
    assert english.variable("response_id").text_en == "Response ID"


def test_the_haze_codebook_stays_bilingual(codebook):
    assert codebook.bilingual
    assert all(v.text_zh for v in codebook.variables)


def test_chinese_text_in_an_english_only_codebook_is_refused_where_it_is(tmp_path):
    path = _variant(tmp_path, lambda raw: raw["questions"][1]["text"].update(zh="性别："))
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    (violation,) = info.value.violations
    assert violation.rule == "one-language"
    assert violation.column == "questions.1.text.zh"
    assert (
        violation.row
        == path.read_text(encoding="utf-8")
        .splitlines()
        .index(next(line for line in path.read_text("utf-8").splitlines() if "性别" in line))
        + 1
    )
    assert "instrument.title" in violation.message


def test_english_text_is_still_required(tmp_path):
    path = _variant(tmp_path, lambda raw: raw["questions"][1]["text"].pop("en"))
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert [(v.rule, v.column) for v in info.value.violations] == [
        ("english-text", "questions.1.text")
    ]


def test_two_options_with_one_english_label_are_refused(tmp_path):
    def repeat(raw):
        raw["questions"][1]["options"][1]["en"] = "Man"

    with pytest.raises(CodebookError) as info:
        load_codebook(_variant(tmp_path, repeat))
    assert [v.rule for v in info.value.violations] == ["unique-option-label"]
    assert "'Man'" in str(info.value)


def test_the_questionnaire_appendix_is_english_only(english):
    text = questionnaire_markdown(english)
    assert not CJK.search(text), CJK.search(text)
    assert text.startswith("**Trust in local climate adaptation policy**\n")
    assert "| Item | Statement | Reverse-worded |" in text
    assert "Answers: -3 Strongly disagree; -2 Disagree;" in text
    assert "Shown if: Experimental arm (arm) is 2 Information treatment" in text
    assert "Missing: -8 (Don't know)" in text


def test_the_bilingual_appendix_keeps_both_languages(codebook):
    text = questionnaire_markdown(codebook)
    assert text.startswith(f"**{codebook.title_zh}**  \n*{codebook.title_en}*\n")
    assert "| Item | 题项 | Statement | Reverse-worded |" in text
    assert "1 非常不同意 (Strongly disagree)" in text


def test_display_conditions_are_described_in_english(english):
    condition = english.variable("info_recall").shown_if
    assert describe(condition, english) == ("Experimental arm (arm) is 2 Information treatment")


def _analysis_frame(cb, n: int = 40) -> pd.DataFrame:
    groups = [cb.respondent_group.options[i % 5].id for i in range(n)]
    sector = cb.group_sector()
    government = {s.id: s.government for s in cb.sectors}
    return pd.DataFrame(
        {
            "respondent_id": [f"R{i:03d}" for i in range(n)],
            "resp_group": pd.array(groups, dtype="string"),
            "sector": pd.array([sector[g] for g in groups], dtype="string"),
            "government": pd.array([government[sector[g]] for g in groups], dtype="boolean"),
            "gender": pd.array([1 + i % 2 for i in range(n)], dtype="Int64"),
            "TRUST1": pd.array([(i % 7) - 3 for i in range(n)], dtype="Int64"),
        }
    )


def test_the_sample_table_has_no_chinese_column(english):
    table = sample_by_group(_analysis_frame(english), english)
    assert "group_zh" not in table.columns
    markdown = sample_table_markdown(table, synthetic=True)
    assert not CJK.search(markdown)
    assert markdown.startswith("| Respondent group | Sector | n | % |")


def test_data_dictionary_and_spss_labels_are_english_only(english, tmp_path):
    import pyreadstat

    frame = _analysis_frame(english)
    dictionary = data_dictionary(english, frame)
    assert "label_zh" not in dictionary.columns
    # the group column is resp_group whatever the codebook calls the question (organisation)
    group = dictionary.set_index("variable").loc["resp_group"]
    assert group["label_en"] == "Where do you work?"
    assert group["values"].startswith("national_agency=National government agency; ")
    assert not dictionary.astype(str).apply(lambda c: c.str.contains(CJK)).any().any()
    path = tmp_path / "release.sav"
    write_sav(frame, english, path, "English only")
    _data, meta = pyreadstat.read_sav(str(path))
    labels = meta.column_names_to_labels
    assert labels["TRUST1"] == "Local authorities plan well for heat waves"
    assert labels["sector"] == "Respondent sector"
    assert meta.variable_value_labels["TRUST1"][-3.0] == "Strongly disagree"
    assert meta.variable_value_labels["sector"][1.0] == "Government"


def _age_levels() -> tuple[dict, list[dict]]:
    """A release spec and English-only levels of the second questionnaire's age bands."""
    levels = [
        {"code": 1, "en": "Under 50", "from": [1, 2]},
        {"code": 2, "en": "50 or older", "from": [3, 4]},
    ]
    return {"k": 5, "quasi_identifiers": ["age_band"], "withheld": [], "generalise": {}}, levels


def test_generalised_levels_need_chinese_labels_only_for_a_bilingual_codebook(english, codebook):
    from hazegov.errors import ConfigError
    from hazegov.privacy.release import ReleaseSpec

    release, levels = _age_levels()
    spec = ReleaseSpec.from_config(release | {"generalise": {"age_band": levels}})
    spec.validate(["age_band"], english)
    # the haze codebook's age bands differ: give it levels of its own five codes
    haze_levels = [
        {"code": 1, "en": "Under 45", "from": [1, 2, 3]},
        {"code": 2, "en": "45 or older", "from": [4, 5]},
    ]
    spec = ReleaseSpec.from_config(release | {"generalise": {"age_band": haze_levels}})
    with pytest.raises(ConfigError, match=r"age_band level 1 needs a Chinese label \(zh\)"):
        spec.validate(["age_band"], codebook)
    for level, text in zip(haze_levels, ("45岁以下", "45岁及以上"), strict=True):
        level["zh"] = text
    ReleaseSpec.from_config(release | {"generalise": {"age_band": haze_levels}}).validate(
        ["age_band"], codebook
    )
