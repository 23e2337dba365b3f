"""Issue 14 point 6: the generated results report, for the study's codebook and another one.

The analyses run here on answers drawn for each codebook (`tests/support/other_instrument.py`),
through the same `hazegov.analysis.stages` functions the workflow's rules call; the report is then
generated from their outputs. The workflow's `results_report` target is built end to end by
tests/e2e/test_results_report_target.py.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hazegov.analysis.sample import build_analysis_sample
from hazegov.analysis.stages import (
    run_cfa,
    run_factor_structure,
    run_group_comparisons,
    run_measurement_invariance,
    run_regressions,
    run_reliability,
)
from hazegov.io import write_parquet
from hazegov.paper.checks import (
    digits_in_prose,
    quarto_syntax,
    undefined_variables,
    unresolved_crossrefs,
)
from hazegov.paper.quarto_syntax import SHORTCODE_SPAN_RE
from hazegov.paper.render import render_preview
from hazegov.paper.results_report import NOT_ESTIMABLE, ReportInputs, scale_key, write_report
from hazegov.paper.variables import REAL_NOTICE, SYNTHETIC_NOTICE
from hazegov.survey.cleaning import RULE_LABELS
from hazegov.survey.codebook import Codebook, load_codebook
from tests.support.other_instrument import CONTROLS, other_analysis_frame, write_other_codebook
from tests.support.paths import CODEBOOK, ROOT

TEMPLATES = ROOT / "src" / "hazegov" / "paper" / "results_report" / "templates"
# Words of the haze study that generic prose must not contain (whole words, any case).
STUDY_WORDS = [
    "haze",
    "Beijing",
    "PM2.5",
    "PM₂.₅",
    "grid",
    "policy",
    "policies",
    "government",
    "sector",
    "air quality",
    "effectiveness",
    "leadership",
    "participation",
    "雾霾",
    "北京",
]
DEFAULT_CONTROLS = ["sector", "gender", "age_band", "education", "years_in_post"]
MIN_CELL_COUNT = 5


def _flow(n: int, synthetic: bool) -> pd.DataFrame:
    """A participant flow as the cleaning step writes it, the straight-lining rule off."""
    rows = [("received", "Submissions in the export", True, 0, n + 19)]
    remaining = n + 19
    for step, excluded in (("duplicates", 6), ("attention_check", 7), ("min_duration", 6)):
        remaining -= excluded
        rows.append((step, RULE_LABELS[step], True, excluded, remaining))
    rows.append(("straight_lining", RULE_LABELS["straight_lining"], False, 0, remaining))
    rows.append(("item_nonresponse", RULE_LABELS["item_nonresponse"], True, 0, remaining))
    rows.append(("analysed", "Respondents analysed", True, 0, remaining))
    frame = pd.DataFrame(rows, columns=["step", "rule", "applied", "excluded", "remaining"])
    return frame.assign(data_source="synthetic" if synthetic else "real")


def _analyse(base: Path, codebook: Path, controls: list[str], synthetic: bool = True) -> dict:
    """The analysis outputs the report reads, made as the workflow's rules make them."""
    cb = load_codebook(codebook)
    result = build_analysis_sample(
        other_analysis_frame(cb, n=200, seed=6), cb, "person_mean", controls=controls
    )
    out = base / "results"
    out.mkdir(parents=True)
    sample = out / "analysis_sample.parquet"
    write_parquet(result.frame, sample, {"synthetic": synthetic, "seed": 6})
    flow = _flow(len(result.frame), synthetic)
    flow.to_csv(out / "participant_flow.csv", index=False)
    (out / "missing_data.json").write_text(
        json.dumps({"rule": "person_mean", "n_before": 200, "n_after": len(result.frame)}),
        encoding="utf-8",
    )
    run_reliability(
        sample,
        codebook,
        {t: out / f"{t}.csv" for t in ("item_statistics", "scale_reliability", "item_reliability")},
        out / "reliability.yml",
        out / "reliability.md",
        min_cell_count=MIN_CELL_COUNT,
    )
    factor_tables = (
        "kmo",
        "parallel_analysis",
        "efa_loadings",
        "efa_factor_correlations",
        "efa_variance",
        "efa_communalities",
    )
    with warnings.catch_warnings():
        # seaborn's heatmap (the loadings figure) calls matplotlib's set_bad, which this
        # matplotlib marks as pending deprecation; the figure is not what is tested here
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        run_factor_structure(
            sample,
            codebook,
            {
                "parallel_analysis": {"method": "fa_smc", "n_iter": 20, "quantile": 0.95},
                "efa": {"rotation": "oblimin", "method": "minres"},
            },
            6,
            {t: out / f"{t}.csv" for t in factor_tables},
            out / "factor_structure.json",
            out / "factors.yml",
            out / "scree.png",
            out / "heatmap.png",
        )
    cfa_tables = (
        "fit",
        "loadings",
        "factor_variances",
        "factor_covariances",
        "residual_variances",
        "validity",
        "validity_pairs",
    )
    run_cfa(
        sample,
        codebook,
        {t: out / f"cfa_{t}.csv" for t in cfa_tables},
        out / "cfa.yml",
        out / "cfa.md",
        min_cell_count=MIN_CELL_COUNT,
    )
    run_measurement_invariance(
        sample,
        codebook,
        "government",
        out / "invariance.csv",
        out / "invariance.json",
        out / "invariance.yml",
        out / "invariance.md",
        min_cell_count=MIN_CELL_COUNT,
    )
    run_group_comparisons(
        sample,
        codebook,
        {"group": "sector", "n_boot": 100},
        6,
        {t: out / f"groups_{t}.csv" for t in ("descriptives", "omnibus", "pairwise")},
        out / "groups.json",
        out / "groups.png",
        out / "groups.yml",
        out / "groups.md",
        min_cell_count=MIN_CELL_COUNT,
    )
    regression = {
        "outcome": "EFF",
        "predictors": ["LEAD", "RESP", "EVAL", "PART"],
        "controls": controls,
        "categorical": ["sector", controls[1]],
    }
    run_regressions(
        sample,
        codebook,
        regression,
        {t: out / f"ols_{t}.csv" for t in ("coefficients", "vif", "terms", "fit")},
        {t: out / f"ordinal_{t}.csv" for t in ("coefficients", "thresholds", "brant", "fit")},
        out / "regression.json",
        out / "forest.png",
        out / "regression.yml",
        out / "ols.md",
        out / "ordinal.md",
        min_cell_count=MIN_CELL_COUNT,
    )
    inputs = ReportInputs(
        flow=out / "participant_flow.csv",
        missing_data=out / "missing_data.json",
        item_statistics=out / "item_statistics.csv",
        scale_reliability=out / "scale_reliability.csv",
        factor_structure=out / "factor_structure.json",
        efa_loadings=out / "efa_loadings.csv",
        efa_variance=out / "efa_variance.csv",
        cfa_fit=out / "cfa_fit.csv",
        cfa_loadings=out / "cfa_loadings.csv",
        invariance_models=out / "invariance.csv",
        invariance_summary=out / "invariance.json",
        group_omnibus=out / "groups_omnibus.csv",
        ols_coefficients=out / "ols_coefficients.csv",
        ols_fit=out / "ols_fit.csv",
        ordinal_coefficients=out / "ordinal_coefficients.csv",
        ordinal_fit=out / "ordinal_fit.csv",
    )
    settings = {"invariance_group": "government", "group": "sector", "regression": regression}
    return {"codebook": codebook, "cb": cb, "inputs": inputs, "settings": settings}


@pytest.fixture(scope="module", params=["default", "other"])
def study(request, tmp_path_factory):
    """Analysis outputs and the generated report, for the study's codebook and the variant."""
    base = tmp_path_factory.mktemp(f"report_{request.param}")
    if request.param == "default":
        made = _analyse(base, CODEBOOK, DEFAULT_CONTROLS)
    else:
        made = _analyse(base, write_other_codebook(base), CONTROLS)
    out = base / "report"
    variables = write_report(
        made["inputs"], made["codebook"], made["settings"], out, min_cell_count=MIN_CELL_COUNT
    )
    return {**made, "kind": request.param, "out": out, "variables": variables}


def _study_words(cb: Codebook) -> list[str]:
    """The haze study's words, and this codebook's own scale names and labels."""
    own = [c.en for c in cb.constructs] + [c.zh for c in cb.constructs]
    own += [c.id for c in cb.constructs] + [cb.title_en, cb.instrument_id]
    return STUDY_WORDS + own


def _found(text: str, words: list[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.IGNORECASE)]


def test_templates_name_nothing_of_the_study(codebook):
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(TEMPLATES.iterdir())}
    assert {"index.qmd", "sample.qmd", "items.qmd", "regression.qmd"} <= set(texts)
    found = {name: _found(text, _study_words(codebook)) for name, text in texts.items()}
    assert {name: words for name, words in found.items() if words} == {}


def test_generated_prose_names_nothing_of_the_study(study):
    index = (study["out"] / "index.qmd").read_text(encoding="utf-8")
    # what a reader sees of the sources: not the keys and paths of shortcodes nor the anchors
    prose = re.sub(r"\{#[^{}]*\}", "", SHORTCODE_SPAN_RE.sub("", index))
    # every family of the report is there: the outputs support all of them
    assert study["variables"]["sections"] == [
        "sample",
        "items",
        "reliability",
        "efa",
        "cfa",
        "invariance",
        "groups",
        "regression",
    ]
    assert _found(prose, _study_words(study["cb"])) == []
    # the scales are named in the prose through variables only
    assert index.count("{{< var scales.") >= 3 * len(study["cb"].constructs)


def test_every_variable_resolves_and_quarto_accepts_the_sources(study):
    out = study["out"]
    assert quarto_syntax(out) == []
    assert undefined_variables(out) == []
    assert unresolved_crossrefs(out) == []
    assert digits_in_prose([out / "index.qmd"]) == []


def test_the_preview_renders_the_report(study, tmp_path):
    html = tmp_path / "index.html"
    render_preview(study["out"], {"html": html})
    text = html.read_text(encoding="utf-8")
    assert "{{&lt;" not in text and "{{<" not in text
    for construct in study["cb"].constructs:
        assert construct.en in text
    assert "Synthetic data." in text


def test_numbers_equal_the_analysis_outputs(study):
    variables, inputs, cb = study["variables"], study["inputs"], study["cb"]
    flow = pd.read_csv(inputs.flow).set_index("step")
    assert variables["sample"]["received"] == flow.loc["received", "remaining"]
    assert variables["sample"]["analysed"] == flow.loc["analysed", "remaining"]
    # the straight-lining rule is off in this flow: the report does not list it
    assert set(variables["sample"]["steps"]) == set(flow.index[flow["applied"]]) - {
        "received",
        "analysed",
    }
    for step, entry in variables["sample"]["steps"].items():
        assert entry["excluded"] == flow.loc[step, "excluded"]

    stats = pd.read_csv(inputs.item_statistics).set_index("item")
    scales = pd.read_csv(inputs.scale_reliability).set_index("construct")
    for construct in cb.constructs:
        key = scale_key(construct.id)
        items = stats.loc[list(construct.items)]
        assert float(variables["items"][key]["mean_max"]) == round(items["mean"].max(), 2)
        assert float(variables["items"][key]["floor_max"]) == round(
            100 * items["floor_share"].max(), 1
        )
        assert float(variables["items"][key]["ceiling_max"]) == round(
            100 * items["ceiling_share"].max(), 1
        )
        row = scales.loc[construct.id]
        assert float(variables["reliability"][key]["alpha"]) == round(row["alpha_listwise"], 2)
        omega = variables["reliability"][key]["omega"]
        if pd.isna(row["omega_total"]):  # a two-item scale has no one-factor omega
            assert (omega, len(construct.items)) == (NOT_ESTIMABLE, 2)
        else:
            assert float(omega) == round(row["omega_total"], 2)
        assert variables["scales"][key]["k"] == row["k"]

    fit = pd.read_csv(inputs.cfa_fit).iloc[0]
    assert float(variables["cfa"]["cfi"]) == round(fit["cfi"], 3)
    assert variables["cfa"]["df"] == fit["df"]
    summary = json.loads(Path(inputs.factor_structure).read_text(encoding="utf-8"))
    assert variables["efa"]["n_factors"] == summary["efa"]["n_factors"]
    assert float(variables["efa"]["kmo"]) == round(summary["kmo_overall"], 2)

    omnibus = pd.read_csv(inputs.group_omnibus)
    welch = omnibus[omnibus["test"] == "welch_anova"].set_index("outcome")
    for construct, row in welch.iterrows():
        assert float(variables["groups"][scale_key(construct)]["f"]) == round(row["statistic"], 2)
    assert variables["groups"]["n_significant"] == int((welch["p_adj"] < 0.05).sum())

    ols = pd.read_csv(inputs.ols_fit).iloc[0]
    assert float(variables["regression"]["ols"]["r2"]) == round(ols["r2"], 2)
    assert variables["regression"]["ols"]["n"] == ols["n"]
    ordinal = pd.read_csv(inputs.ordinal_fit).iloc[0]
    assert variables["regression"]["ordinal"]["lr_df"] == ordinal["lr_df"]

    written = yaml.safe_load((study["out"] / "_variables.yml").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(variables))


def test_scales_keep_their_own_length_and_range_and_controls_their_names(study):
    variables, cb = study["variables"], study["cb"]
    for construct in cb.constructs:
        entry = variables["scales"][scale_key(construct.id)]
        low, high = cb.score_range(construct.id)  # type: ignore[misc]
        assert (entry["label"], entry["k"], entry["low"], entry["high"]) == (
            construct.en,
            len(construct.items),
            low,
            high,
        )
        table = (study["out"] / f"tables/items_{scale_key(construct.id).lower()}.md").read_text(
            encoding="utf-8"
        )
        assert f"| {low}–{high} |" in table
    controls = CONTROLS if study["kind"] == "other" else DEFAULT_CONTROLS
    assert variables["regression"]["controls"] == ", ".join(controls[:-1]) + f" and {controls[-1]}"
    if study["kind"] == "other":
        assert (variables["scales"]["GRID"]["k"], variables["scales"]["PART"]["high"]) == (2, 7)
        ols = (study["out"] / "tables" / "ols.md").read_text(encoding="utf-8")
        assert "| sex: " in ols and "| schooling |" in ols and "| tenure |" in ols


def test_results_that_are_not_there_leave_their_sections_out(study, tmp_path):
    inputs = study["inputs"]
    not_estimable = tmp_path / "invariance.json"
    not_estimable.write_text(
        json.dumps({"status": "not estimable", "reason": "too few cases"}), encoding="utf-8"
    )
    partial = ReportInputs(
        flow=inputs.flow,
        item_statistics=inputs.item_statistics,
        scale_reliability=inputs.scale_reliability,
        invariance_models=inputs.invariance_models,
        invariance_summary=not_estimable,
        group_omnibus=inputs.group_omnibus,
        ols_coefficients=inputs.ols_coefficients,
        ols_fit=inputs.ols_fit,
    )
    settings = {**study["settings"], "group": None}
    out = tmp_path / "report"
    variables = write_report(partial, study["codebook"], settings, out, min_cell_count=5)
    assert variables["sections"] == ["sample", "items", "reliability", "regression"]
    assert not {"efa", "cfa", "invariance", "groups", "missing"} & set(variables)
    assert "ordinal" not in variables["regression"]
    index = (out / "index.qmd").read_text(encoding="utf-8")
    for gone in ("sec-efa", "sec-cfa", "sec-invariance", "sec-groups", "tbl-ordinal", "missing."):
        assert gone not in index
    assert sorted(p.name for p in (out / "tables").iterdir()) == sorted(
        ["flow.md", "reliability.md", "ols.md"]
        + [f"items_{scale_key(c.id).lower()}.md" for c in study["cb"].constructs]
    )
    assert quarto_syntax(out) == []
    assert undefined_variables(out) == []
    assert unresolved_crossrefs(out) == []


def test_real_data_are_not_labelled_synthetic(study, tmp_path):
    inputs = study["inputs"]
    flow = pd.read_csv(inputs.flow).assign(data_source="real")
    flow.to_csv(tmp_path / "flow.csv", index=False)
    real = ReportInputs(flow=tmp_path / "flow.csv", scale_reliability=inputs.scale_reliability)
    variables = write_report(real, study["codebook"], {}, tmp_path / "report", min_cell_count=5)
    assert variables["data"] == {"synthetic": False, "notice": REAL_NOTICE}
    tables = [p.read_text(encoding="utf-8") for p in (tmp_path / "report/tables").iterdir()]
    assert len(tables) == 2 and not any("Synthetic data." in t for t in tables)
    assert study["variables"]["data"] == {"synthetic": True, "notice": SYNTHETIC_NOTICE}


def test_a_small_exclusion_count_stays_suppressed(study, tmp_path):
    from hazegov.privacy.disclosure import check_results
    from hazegov.survey.describe import published_flow

    raw = pd.read_csv(study["inputs"].flow)
    raw.loc[raw["step"] == "attention_check", "excluded"] = 2
    steps = ~raw["step"].isin(["received", "analysed"])
    start = int(raw.loc[raw["step"] == "received", "remaining"].iloc[0])
    raw.loc[steps, "remaining"] = start - raw.loc[steps, "excluded"].cumsum()
    raw.loc[raw["step"] == "analysed", "remaining"] = raw.loc[steps, "remaining"].iloc[-1]
    published = published_flow(raw.drop(columns="data_source"), MIN_CELL_COUNT)
    flow = tmp_path / "flow.csv"
    published.assign(data_source="synthetic").to_csv(flow, index=False)
    results = tmp_path / "results"
    variables = write_report(
        ReportInputs(flow=flow, scale_reliability=study["inputs"].scale_reliability),
        study["codebook"],
        {},
        results / "report",
        min_cell_count=MIN_CELL_COUNT,
    )
    assert variables["sample"]["steps"]["attention_check"]["excluded"] == f"<{MIN_CELL_COUNT}"
    assert check_results(results, MIN_CELL_COUNT) == ([], [])
    assert undefined_variables(results / "report") == []
