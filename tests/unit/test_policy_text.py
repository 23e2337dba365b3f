"""Policy strand: language detection, sentences, jieba segmentation and dictionary matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from hazegov.errors import InputError
from hazegov.policy.lexicon import Lexicon, load_lexicon
from hazegov.policy.text import (
    Segmenter,
    cjk_share,
    detect_language,
    jieba_cache_path,
    segmenter_for,
    split_paragraphs,
    split_sentences,
    term_key,
)
from tests.support.paths import ROOT
from tests.support.policy import POLICY_FIXTURES, lexicon, matches


@pytest.fixture
def test_lexicon() -> Lexicon:
    return lexicon("fixture")


@pytest.fixture
def shipped_lexicon() -> Lexicon:
    return lexicon("shipped")


def test_language_by_share_of_cjk_characters():
    assert cjk_share("环境保护部") == 1.0
    assert cjk_share("Ministry of Finance") == 0.0
    assert cjk_share("财政部 MOF") == pytest.approx(3 / 6)
    assert detect_language("大气污染防治行动计划。PM2.5下降。", 0.6, 0.1) == "zh"
    english = "The State Council's action plan, known as the Ten Measures (大气十条), sets targets."
    assert detect_language(english, 0.6, 0.1) == "en"
    bilingual = "国务院印发行动计划。\n\nThe State Council issued the plan."
    assert detect_language(bilingual, 0.6, 0.1) == "zh+en"
    assert detect_language("2013 — 37", 0.6, 0.1) == "und"


def test_paragraphs_join_broken_lines_and_sentences_split_in_both_languages():
    text = "环境保护部会同\n国家发展改革委印发细则。\n\nThe plan, No. 37,\nsets targets. It ends."
    paragraphs = split_paragraphs(text)
    assert paragraphs == [
        "环境保护部会同国家发展改革委印发细则。",
        "The plan, No. 37, sets targets. It ends.",
    ]
    assert split_sentences("第一句。第二句！第三句？") == ["第一句。", "第二句！", "第三句？"]
    assert split_sentences(paragraphs[1]) == ["The plan, No. 37, sets targets.", "It ends."]


def test_aliases_in_both_languages_name_the_canonical_department(shipped_lexicon):
    assert matches("环保部会同发改委印发。", shipped_lexicon) == [
        ("mep", "环保部"),
        ("ndrc", "发改委"),
    ]
    assert matches("The Ministry of Environmental Protection and MEP.", shipped_lexicon) == [
        ("mep", "ministry of environmental protection"),
        ("mep", "mep"),
    ]
    # case, full-width letters and curly apostrophes do not matter
    assert matches("ＭＥＰ and the Beijing Municipal People’s Government", shipped_lexicon) == [
        ("mep", "mep"),
        ("bj_government", "beijing municipal people 's government"),
    ]
    assert matches("The Ministry of Finance's budget.", shipped_lexicon) == [
        ("mof", "ministry of finance")
    ]


def test_a_name_inside_a_longer_word_is_not_a_mention(shipped_lexicon):
    # 环保部门 = "environmental departments", one word: not the ministry 环保部
    assert matches("各级环保部门要加强监管。", shipped_lexicon) == []
    # 财政部 is a department, so the instrument keyword inside it does not fire
    assert ("mof", "财政部") in matches("财政部安排资金。", shipped_lexicon)


def test_overlapping_aliases_count_once_longest_first(test_lexicon, shipped_lexicon):
    found = matches("北京市公安局公安交通管理局实行单双号限行。", test_lexicon)
    assert found == [
        ("bj_traffic", "北京市公安局公安交通管理局"),
        ("vehicle_restrictions", "单双号限行"),
    ]
    # the English keyword phrase counts once, not also as its parts
    found = matches("Odd-even driving restrictions apply.", test_lexicon)
    assert found == [("vehicle_restrictions", "odd-even driving restrictions")]
    # across dictionaries: the education commission is not the instrument "education"
    found = matches("The Beijing Municipal Commission of Education acts.", shipped_lexicon)
    assert found == [("bj_education", "beijing municipal commission of education")]


def test_every_dictionary_word_is_one_jieba_token(shipped_lexicon):
    segmenter = segmenter_for(shipped_lexicon.jieba_words())
    for word in (
        "住房城乡建设部",
        "北京市卫生和计划生育委员会",
        "煤炭消费总量控制",
        "区域联防联控",
    ):
        assert [t.text for t in segmenter.tokens(word)] == [word]


def test_term_keys_are_normalised():
    assert term_key("Ministry  of\tFinance") == "ministry of finance"
    assert term_key("ＰＭ２．５监测") == "pm2.5 监测"
    assert term_key("Urban–Rural") == "urban-rural"


def test_jieba_cache_is_outside_the_repo_and_silent(tmp_path, capfd):
    cache = jieba_cache_path(tmp_path)
    assert cache.parent == tmp_path and cache.name.startswith("jieba-0.42.1")
    Segmenter(["环境保护部"], cache_dir=tmp_path).tokens("环境保护部")
    assert cache.is_file()
    assert capfd.readouterr().err == ""
    default = jieba_cache_path()
    assert ROOT not in default.parents


def test_dictionaries_reject_shared_terms_and_unknown_levels(tmp_path):
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        "departments:\n"
        "  - {id: a, level: central, name: {zh: 甲部, en: A}, aliases: {zh: [甲], en: []}}\n"
        "  - {id: b, level: county, name: {zh: 乙部, en: B}, aliases: {zh: [甲], en: []}}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_lexicon(departments, POLICY_FIXTURES / "instruments.yaml")
    rules = {v.rule: v for v in caught.value.violations}
    assert rules["known-level"].column == "departments[1].level"
    assert rules["known-level"].value == "county"
    assert rules["unique-term"].column == "departments[1].aliases.zh"
    assert rules["unique-term"].value == "甲"
    assert rules["unique-term"].file == str(departments)


def test_shipped_dictionaries_load(shipped_lexicon):
    assert {d.level for d in shipped_lexicon.departments} == {"central", "municipal", "district"}
    assert [c.id for c in shipped_lexicon.categories] == [
        "command_control",
        "market_based",
        "informational_voluntary",
        "coordination",
    ]
    assert all(i.terms_zh and i.terms_en for i in shipped_lexicon.instruments)
    assert isinstance(POLICY_FIXTURES, Path)
