"""Policy strand: codings, co-mention network and responsibility spread against hand-worked values.

The fixture corpus (tests/fixtures/policy/texts) has three documents:

  doc-a (zh)  s1: 环保部 + 发改委 + 财政部 + 排放标准        s2: 市政府 + 监测
  doc-b (en)  s1: MEP + municipal government + joint prevention and control
              s2: Ministry of Finance + subsidies
  doc-c (zh)  s1: 北京市公安局公安交通管理局 + 单双号限行  s2: 北京市人民政府 + 交通管理局

With sentence windows the co-mention graph is a triangle MEP-NDRC-MOF with a tail
MEP - BJ government - BJ traffic: a = MEP, b = NDRC, c = MOF, d = BJ government, e = traffic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hazegov.policy.coding import (
    LanguageSettings,
    centralities,
    code_corpus,
    comention_network,
    department_category_links,
    department_mentions,
    edge_list,
    hhi,
    instrument_coding,
    instrument_mix,
    most_central,
    responsibility_spread,
)
from hazegov.policy.stages import read_corpus
from hazegov.policy.text import segmenter_for
from tests.support.policy import POLICY_FIXTURES, lexicon


@pytest.fixture(scope="module")
def coded():
    corpus, _ = read_corpus(POLICY_FIXTURES / "register.csv")
    lex = lexicon("fixture")
    texts = dict(zip(corpus["id"], corpus["text"], strict=True))
    return code_corpus(texts, lex, segmenter_for(lex.jieba_words()), LanguageSettings())


def _by(frame: pd.DataFrame, *keys: str) -> dict:
    return frame.set_index(list(keys)).iloc[:, 0].to_dict()


def test_languages_and_tokens(coded):
    docs = coded.documents.set_index("document_id")
    assert docs["language"].to_dict() == {"doc-a": "zh", "doc-b": "en", "doc-c": "zh"}
    # doc-b: "Document B" (2) + 15 + 6 English words
    assert docs.loc["doc-b", "tokens"] == 23
    assert docs.loc["doc-b", "sentences"] == 3


def test_coding_matrix(coded):
    coding = instrument_coding(coded, lexicon("fixture"))
    assert len(coding) == 3 * 5
    found = coding[coding["mentions"] > 0]
    assert _by(found[["document_id", "instrument", "mentions"]], "document_id", "instrument") == {
        ("doc-a", "emission_standards"): 1,
        ("doc-a", "monitoring"): 1,
        ("doc-b", "regional_cooperation"): 1,
        ("doc-b", "subsidies"): 1,
        ("doc-c", "vehicle_restrictions"): 1,  # 单双号限行 once, not also 限行
    }
    assert (coding["present"] == (coding["mentions"] > 0)).all()
    row = coding[(coding["document_id"] == "doc-b") & (coding["instrument"] == "subsidies")]
    assert row["per_1000_tokens"].item() == pytest.approx(1000 / 23)


def test_department_mentions(coded):
    table = department_mentions(coded, lexicon("fixture"))
    found = table[table["mentions"] > 0]
    assert _by(found[["document_id", "department", "mentions"]], "document_id", "department") == {
        ("doc-a", "mep"): 1,
        ("doc-a", "ndrc"): 1,
        ("doc-a", "mof"): 1,
        ("doc-a", "bj_government"): 1,
        ("doc-b", "mep"): 1,
        ("doc-b", "bj_government"): 1,
        ("doc-b", "mof"): 1,
        ("doc-c", "bj_traffic"): 2,  # never also 北京市公安局, whose name lies inside
        ("doc-c", "bj_government"): 1,
    }


def test_instrument_mix_shares(coded):
    mix = instrument_mix(instrument_coding(coded, lexicon("fixture")), lexicon("fixture"))
    categories = mix[mix["level"] == "category"].set_index("category")
    assert categories["mentions"].to_dict() == {
        "command_control": 2,
        "market_based": 1,
        "informational_voluntary": 1,
        "coordination": 1,
    }
    assert categories["mention_share"].to_dict() == pytest.approx(
        {
            "command_control": 40,
            "market_based": 20,
            "informational_voluntary": 20,
            "coordination": 20,
        }
    )
    assert categories.loc["command_control", "document_share"] == pytest.approx(200 / 3)


def test_sentence_network_centralities_by_hand(coded):
    lex = lexicon("fixture")
    graph = comention_network(coded, lex, "sentence")
    edges = edge_list(graph, lex)
    assert list(zip(edges["source"], edges["target"], edges["weight"], strict=True)) == [
        ("mep", "ndrc", 1),
        ("mep", "mof", 1),
        ("mep", "bj_government", 1),
        ("ndrc", "mof", 1),
        ("bj_government", "bj_traffic", 1),
    ]
    nodes = centralities(graph, lex, coded.mentions).set_index("department")
    assert list(nodes.index) == ["mep", "ndrc", "mof", "bj_government", "bj_traffic"]
    # degree / (n - 1), n = 5
    assert nodes["degree_centrality"].to_dict() == pytest.approx(
        {"mep": 3 / 4, "ndrc": 2 / 4, "mof": 2 / 4, "bj_government": 2 / 4, "bj_traffic": 1 / 4}
    )
    # MEP lies on the shortest paths NDRC-BJgov, NDRC-traffic, MOF-BJgov, MOF-traffic (4 of the
    # 6 pairs not involving it); BJ government on MEP-, NDRC-, MOF-traffic (3 of 6)
    assert nodes["betweenness"].to_dict() == pytest.approx(
        {"mep": 4 / 6, "ndrc": 0, "mof": 0, "bj_government": 3 / 6, "bj_traffic": 0}
    )
    # A x = lambda x: lambda a = 2b + d, lambda b = a + b, lambda d = a + e, lambda e = d
    # gives lambda^3 - 4 lambda - 2 = 0 and x = (1, 1/(l-1), 1/(l-1), l/(l^2-1), 1/(l^2-1))
    lam = max(np.roots([1, 0, -4, -2]).real)
    x = np.array([1, 1 / (lam - 1), 1 / (lam - 1), lam / (lam**2 - 1), 1 / (lam**2 - 1)])
    x /= np.linalg.norm(x)
    assert nodes["eigenvector"].to_numpy() == pytest.approx(x, abs=1e-8)
    assert nodes["in_largest_component"].all()
    top, ties = most_central(nodes.reset_index(), "degree_centrality")
    assert (top["department"], ties) == ("mep", 1)


def test_document_network_weights_and_tie_count(coded):
    lex = lexicon("fixture")
    graph = comention_network(coded, lex, "document")
    weights = {tuple(sorted((a, b))): d["weight"] for a, b, d in graph.edges(data=True)}
    assert weights == {
        ("mep", "ndrc"): 1,
        ("mep", "mof"): 2,
        ("bj_government", "mep"): 2,
        ("mof", "ndrc"): 1,
        ("bj_government", "ndrc"): 1,
        ("bj_government", "mof"): 2,
        ("bj_government", "bj_traffic"): 1,
    }
    nodes = centralities(graph, lex, coded.mentions).set_index("department")
    assert nodes.loc["bj_government", "strength"] == 6
    assert nodes.loc["bj_government", "degree_centrality"] == 1.0
    assert nodes.loc["bj_government", "betweenness"] == pytest.approx(3 / 6)
    top, ties = most_central(nodes.reset_index(), "degree_centrality")
    assert (top["department"], ties) == ("bj_government", 1)
    # MEP, NDRC and MOF tie on degree (3/4): the tie count says so
    assert (
        most_central(nodes.drop(index="bj_government").reset_index(), "degree_centrality")[1] == 3
    )


def test_hhi_by_hand():
    assert hhi([2, 1, 1]) == pytest.approx((0.5**2) + 2 * (0.25**2))
    assert hhi([5]) == 1.0
    assert math.isnan(hhi([]))


def test_responsibility_spread_sentence_window(coded):
    lex = lexicon("fixture")
    links = department_category_links(coded, lex, "sentence")
    assert _by(links[["category", "department", "mentions"]], "category", "department") == {
        ("command_control", "mep"): 1,
        ("command_control", "ndrc"): 1,
        ("command_control", "mof"): 1,
        ("command_control", "bj_traffic"): 1,
        ("market_based", "mof"): 1,
        ("informational_voluntary", "bj_government"): 1,
        ("coordination", "mep"): 1,
        ("coordination", "bj_government"): 1,
    }
    spread = responsibility_spread(links, lex).set_index("category")
    assert spread["n_departments"].to_dict() == {
        "command_control": 4,
        "market_based": 1,
        "informational_voluntary": 1,
        "coordination": 2,
    }
    assert spread["hhi"].to_dict() == pytest.approx(
        {
            "command_control": 0.25,
            "market_based": 1,
            "informational_voluntary": 1,
            "coordination": 0.5,
        }
    )
    assert spread.loc["command_control", "hhi_normalized"] == pytest.approx(0)
    assert spread.loc["command_control", "effective_departments"] == pytest.approx(4)
    assert spread["n_departments"].mean() == 2.0


def test_responsibility_spread_document_window(coded):
    lex = lexicon("fixture")
    spread = responsibility_spread(department_category_links(coded, lex, "document"), lex)
    spread = spread.set_index("category")
    # command-and-control: doc-a (MEP, NDRC, MOF, BJ gov once each) and doc-c (traffic twice,
    # BJ gov once): mentions 1, 1, 1, 2, 2 of 7
    assert spread.loc["command_control", "n_departments"] == 5
    assert spread.loc["command_control", "hhi"] == pytest.approx(11 / 49)
    assert spread.loc["command_control", "hhi_normalized"] == pytest.approx((11 / 49 - 0.2) / 0.8)
    assert spread.loc["command_control", "top_department"] == "bj_government"
    assert spread.loc["market_based", "hhi"] == pytest.approx(1 / 3)
    assert spread["n_departments"].mean() == pytest.approx(3.75)


@pytest.mark.parametrize(("keep", "expected"), [("zh", 1), ("en", 1), ("both", 2)])
def test_bilingual_texts_are_coded_in_one_half(keep, expected):
    lex = lexicon("fixture")
    text = "财政部提供补贴。\n\nThe Ministry of Finance provides subsidies."
    coded = code_corpus(
        {"d": text}, lex, segmenter_for(lex.jieba_words()), LanguageSettings(bilingual_keep=keep)
    )
    assert coded.documents["language"].item() == "zh+en"
    counts = coded.mentions["entry_id"].value_counts().to_dict()
    assert counts == {"mof": expected, "subsidies": expected}
