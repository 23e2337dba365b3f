"""Policy strand end to end (without Snakemake): outputs, variables, tables, figures, settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml

from hazegov.errors import ConfigError
from hazegov.policy.figures import plot_policy_timeline, policy_events
from hazegov.policy.register import load_register
from hazegov.policy.settings import analysis_settings, ingest_settings
from hazegov.policy.stages import ANALYSIS_TABLES, run_policy_corpus, run_policy_text_analysis
from tests.support.paths import ROOT
from tests.support.policy import (
    POLICY_FIXTURES,
    REGISTER,
    SHIPPED_DEPARTMENTS,
    SHIPPED_INSTRUMENTS,
    register_with_scan,
)

SETTINGS = yaml.safe_load((ROOT / "config" / "policies.yaml").read_text(encoding="utf-8"))[
    "policies"
]


def _run(out: Path, register: Path, departments: Path, instruments: Path, **analysis) -> Path:
    run_policy_corpus(register, SETTINGS["ingest"], out / "corpus.parquet", out / "report.json")
    run_policy_text_analysis(
        out / "corpus.parquet",
        departments,
        instruments,
        SETTINGS["language"],
        SETTINGS["analysis"] | analysis,
        {t: out / f"{t}.csv" for t in ANALYSIS_TABLES},
        out / "summary.json",
        out / "variables.yml",
        out / "policy_instruments.md",
        out / "policy_register.md",
        out / "policy_timeline.png",
        out / "department_network.png",
    )
    return out


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("shipped")
    return _run(out, REGISTER, SHIPPED_DEPARTMENTS, SHIPPED_INSTRUMENTS)


def _variables(out: Path) -> dict:
    return yaml.safe_load((out / "variables.yml").read_text(encoding="utf-8"))["policy"]


def _digest(out: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.iterdir())
        if p.suffix in (".csv", ".md", ".png", ".yml", ".json")
    }


def test_shipped_register_gives_the_introduction_its_numbers(shipped):
    v = _variables(shipped)
    assert (v["n_documents"], v["n_coded"], v["n_skipped"]) == (8, 8, 0)
    assert v["by_level"] == {"central": 2, "municipal": 6, "district": 0}
    assert (v["first_issued"], v["first_issued_id"]) == ("July 2011", "bj-2011-cap")
    assert (v["last_issued"], v["last_issued_id"]) == ("September 2018", "bj-2018-bluesky")
    assert (v["wave_start"], v["wave_end"], v["n_wave_documents"]) == (2012, 2014, 6)
    assert (v["n_digests"], v["n_official_full_texts"]) == (8, 0)
    assert v["codings_source"] == "project digests"
    assert v["n_provisional_dates"] == 1
    assert v["window"] == "document"
    # the digests name the State Council, the six issuers of the MEP rules, the Beijing
    # government and the Beijing People's Congress
    assert v["n_departments_named"] == 9
    assert v["departments_named_by_level"] == {"central": 7, "municipal": 2, "district": 0}
    assert set(v["instrument_share"]) == {
        "command_control",
        "market_based",
        "informational_voluntary",
        "coordination",
    }
    shares = [float(s) for s in v["instrument_share"].values()]
    assert sum(shares) == pytest.approx(100, abs=0.2)
    assert v["most_central"]["department"] == "State Council"  # tied on degree, named most often
    assert v["most_central"]["ties"] == 7


def test_outputs_agree_with_each_other(shipped):
    nodes = pd.read_csv(shipped / "network_nodes.csv")
    edges = pd.read_csv(shipped / "network_edges.csv")
    mentions = pd.read_csv(shipped / "mentions.csv")
    v = _variables(shipped)
    assert len(nodes) == mentions.loc[mentions["kind"] == "department", "entry_id"].nunique()
    assert len(edges) == v["n_comention_edges"]
    assert nodes["degree"].sum() == 2 * len(edges)
    coding = pd.read_csv(shipped / "instrument_coding.csv")
    assert coding["mentions"].sum() == (mentions["kind"] == "instrument").sum()
    assert coding["mentions"].sum() == v["instrument_mentions"]
    spread = pd.read_csv(shipped / "responsibility_spread.csv").set_index("category")
    links = pd.read_csv(shipped / "department_category_links.csv")
    for category, group in links.groupby("category"):
        shares = group["mentions"] / group["mentions"].sum()
        assert spread.loc[category, "hhi"] == pytest.approx((shares**2).sum(), abs=1e-6)
        assert spread.loc[category, "n_departments"] == len(group)
        assert v["hhi"][category] == f"{(shares**2).sum():.2f}"


def test_tables_carry_labels_and_say_where_codings_come_from(shipped):
    instruments = (shipped / "policy_instruments.md").read_text(encoding="utf-8")
    assert "{#tbl-policy-instruments}" in instruments
    assert "come from the project's own digests, not from the official full texts" in instruments
    assert "Synthetic data" not in instruments
    register = (shipped / "policy_register.md").read_text(encoding="utf-8")
    assert "{#tbl-policy-register}" in register
    assert "| 2012\u2020 |" in register and "国发〔2013〕37号" in register
    for figure in ("policy_timeline.png", "department_network.png"):
        assert (shipped / figure).read_bytes().startswith(b"\x89PNG")


def test_fixture_corpus_twice_gives_identical_bytes(tmp_path):
    runs = []
    for name in ("one", "two"):
        out = tmp_path / name
        out.mkdir()
        _run(
            out,
            POLICY_FIXTURES / "register.csv",
            POLICY_FIXTURES / "departments.yaml",
            POLICY_FIXTURES / "instruments.yaml",
            window="sentence",
        )
        runs.append(_digest(out))
    assert runs[0] == runs[1]
    v = _variables(tmp_path / "one")
    assert v["codings_source"] == "project digests (1) and official full texts (2)"
    assert v["mean_departments_per_category"] == "2.00"
    assert v["hhi"] == {
        "command_control": "0.25",
        "market_based": "1.00",
        "informational_voluntary": "1.00",
        "coordination": "0.50",
    }
    assert v["most_central"]["short"] == "MEP"
    table = (tmp_path / "one" / "policy_instruments.md").read_text(encoding="utf-8")
    assert "of 1 documents come from the project's digests and of 2 from official" in table


def test_timeline_events_and_overlay_on_another_axis():
    events = policy_events(load_register(REGISTER)).set_index("id")
    row = events.loc["bj-2012-measures"]
    assert (row["precision"], bool(row["provisional"])) == ("year", True)
    assert row["date"] == pd.Timestamp("2012-07-01")
    assert events.loc["bj-2014-reg", "in_force_from"] == pd.Timestamp("2014-03-01")
    fig, ax = plt.subplots()
    series = pd.Series([89.5, 85.9, 80.6], index=pd.to_datetime(["2013", "2014", "2015"]))
    ax.plot(series.index, series.to_numpy())
    assert plot_policy_timeline(events.reset_index(), ax, overlay=True) is ax
    assert len(ax.lines) == 1 + len(events)
    plt.close(fig)


def test_settings_are_checked():
    assert ingest_settings(SETTINGS["ingest"]).on_unreadable == "error"
    assert analysis_settings(SETTINGS["language"], SETTINGS["analysis"]).window == "document"
    with pytest.raises(ConfigError) as caught:
        ingest_settings({"on_unreadable": "ignore"})
    assert caught.value.violations[0].column == "ingest.on_unreadable"
    with pytest.raises(ConfigError) as caught:
        analysis_settings({"zh_min_cjk_share": 1.5}, {"window": "page", "policy_wave": [2014]})
    assert {v.column for v in caught.value.violations} == {
        "language.zh_min_cjk_share",
        "analysis.window",
        "analysis.policy_wave",
    }


def test_same_texts_in_other_formats_give_the_same_codings(tmp_path):
    """doc-a as GB18030 text, doc-c as .docx: the codings do not depend on the file format."""
    import docx

    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "doc_b.md").write_bytes((POLICY_FIXTURES / "texts" / "doc_b.md").read_bytes())
    zh_a = (POLICY_FIXTURES / "texts" / "doc_a.txt").read_text(encoding="utf-8")
    (texts / "doc_a.txt").write_bytes(zh_a.encode("gb18030"))
    document = docx.Document()
    document.add_paragraph(
        (POLICY_FIXTURES / "texts" / "doc_c.txt").read_text(encoding="utf-8").strip()
    )
    document.save(str(texts / "doc_c.docx"))
    register = tmp_path / "register.csv"
    register.write_text(
        (POLICY_FIXTURES / "register.csv")
        .read_text(encoding="utf-8")
        .replace("doc_c.txt", "doc_c.docx"),
        encoding="utf-8",
    )
    dictionaries = (POLICY_FIXTURES / "departments.yaml", POLICY_FIXTURES / "instruments.yaml")
    other = _run(tmp_path / "other", register, *dictionaries, window="sentence")
    plain = _run(
        tmp_path / "plain", POLICY_FIXTURES / "register.csv", *dictionaries, window="sentence"
    )
    for table in ("instrument_coding", "department_mentions", "network_nodes", "network_edges"):
        pd.testing.assert_frame_equal(
            pd.read_csv(other / f"{table}.csv"), pd.read_csv(plain / f"{table}.csv")
        )
    report = yaml.safe_load((other / "report.json").read_text(encoding="utf-8"))
    assert [(d["reader"], d["encoding"]) for d in report["documents"]] == [
        ("plain_text", "gb18030"),
        ("markdown", "utf-8"),
        ("docx", None),
    ]


def test_a_skipped_text_stays_in_the_register_and_out_of_the_codings(tmp_path):
    register = register_with_scan(tmp_path)
    out = tmp_path / "out"
    run_policy_corpus(register, {"on_unreadable": "warn"}, out / "corpus.parquet", out / "r.json")
    run_policy_text_analysis(
        out / "corpus.parquet",
        POLICY_FIXTURES / "departments.yaml",
        POLICY_FIXTURES / "instruments.yaml",
        SETTINGS["language"],
        SETTINGS["analysis"],
        {t: out / f"{t}.csv" for t in ANALYSIS_TABLES},
        out / "summary.json",
        out / "variables.yml",
        out / "instruments.md",
        out / "register.md",
        out / "timeline.png",
        out / "network.png",
    )
    v = _variables(out)
    assert (v["n_documents"], v["n_coded"], v["n_skipped"]) == (3, 2, 1)
    documents = pd.read_csv(out / "documents.csv").set_index("document_id")
    assert documents.loc["doc-c", "status"] == "skipped"
    assert "bj_traffic" not in set(pd.read_csv(out / "network_nodes.csv")["department"])
    assert len(pd.read_csv(out / "policy_events.csv")) == 3
