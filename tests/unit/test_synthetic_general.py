"""The generator for any questionnaire (hazegov.survey.synthetic_general, issue 14): latent
scales on any response scale, negative and declared missing codes, experimental arms with
display logic, English labels, and the Qualtrics-style CSV with its three header rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import norm

from hazegov.errors import CodebookError, ConfigError
from hazegov.survey.codebook import PLATFORM_PRESETS, load_codebook
from hazegov.survey.ingest import ingest_export
from hazegov.survey.synthetic import generate, sidecar_path
from hazegov.survey.synthetic_general import (
    QUALTRICS_TIMERS,
    draw_answers,
    draw_latent,
    load_scale_model,
)
from tests.support.paths import CODEBOOK, FIXTURES

FIXTURE = FIXTURES / "second_questionnaire"
CODEBOOK2 = FIXTURE / "codebook.yaml"
MODEL2 = FIXTURE / "population_model.yaml"
LARGE = 60_000


@pytest.fixture(scope="module")
def cb():
    return load_codebook(CODEBOOK2)


@pytest.fixture(scope="module")
def model(cb):
    return load_scale_model(MODEL2, cb)


@pytest.fixture(scope="module")
def large(model, cb):
    return draw_latent(model, cb, LARGE), draw_answers(model, cb, LARGE)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate(CODEBOOK2, MODEL2, tmp_path_factory.mktemp("q") / "export.csv", n=400)


def test_latent_responses_follow_the_model(model, cb, large):
    """Within one sector the continuous responses have the stated loadings, structural
    coefficients and means (4 standard errors: a correlation's SE is (1 - r^2) / sqrt(n))."""
    latent, _answers = large
    rows = latent[latent["sector"] == "government"]
    n = len(rows)
    for item in cb.likert_items:
        lam = model.raw["loadings"][item.name]
        want = -lam if item.reverse else lam
        got = np.corrcoef(rows[f"ystar_{item.name}"], rows[f"eta_{item.construct}"])[0, 1]
        assert abs(got - want) < 4 * (1 - lam**2) / np.sqrt(n), item.name
    design = np.column_stack([np.ones(n), *(rows[f"eta_{c}"] for c in model.factors)])
    slopes = np.linalg.lstsq(design, rows["eta_SUPPORT"], rcond=None)[0][1:]
    se = np.sqrt(model.residual_variance("SUPPORT") / n) * 1.2  # factors correlate up to .3
    for factor, got in zip(model.factors, slopes, strict=True):
        assert abs(got - model.structural["SUPPORT"][factor]) < 4 * se, factor
    for sector in ("business", "civil_society"):
        part = latent[latent["sector"] == sector]
        for construct in ("TRUST", "RISK", "SUPPORT"):
            want = model.construct_mean(construct, sector)
            assert abs(part[f"eta_{construct}"].mean() - want) < 4 / np.sqrt(len(part))


@pytest.mark.parametrize("item", ["TRUST1", "NORM1", "RISK1"])
def test_answers_fall_in_the_scales_categories_at_their_cut_points(model, cb, large, item):
    """Codes -3..+3, 1..3 or 1..5, in the shares the thresholds imply (government sector)."""
    _latent, answers = large
    var = cb.variable(item)
    rows = answers[answers["sector"] == "government"]
    cuts = np.array([-np.inf, *model.raw["thresholds"][var.scale], np.inf])
    want = np.diff(norm.cdf(cuts))  # mean 0 in the reference sector, intercept 0, unit variance
    codes = sorted(o.code for o in var.options)
    got = rows[item].value_counts(normalize=True).reindex(codes, fill_value=0).to_numpy()
    se = np.sqrt(want * (1 - want) / len(rows))
    assert np.all(np.abs(got - want) < 4 * se), (got, want)
    if item == "TRUST1":
        assert codes == [-3, -2, -1, 0, 1, 2, 3]


def test_arms_are_drawn_in_their_shares_and_decide_what_is_shown(large):
    _latent, answers = large
    assert set(answers["arm"]) == {1, 2}
    assert abs((answers["arm"] == 2).mean() - 0.5) < 4 * np.sqrt(0.25 / LARGE)
    shown = answers["info_recall"].notna()
    assert (shown == (answers["arm"] == 2)).all()


def test_the_export_is_a_qualtrics_csv_with_three_header_rows(export, cb):
    raw = export.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(export, dtype=str, keep_default_na=False, header=None)
    names, texts, ids = table.iloc[0], table.iloc[1], table.iloc[2]
    qualtrics = [c["header"] for c in PLATFORM_PRESETS["qualtrics"]["columns"]]
    assert list(names[: len(qualtrics)]) == qualtrics
    assert "Q4_1" in set(names) and "arm" in set(names)
    assert {f"Q4_Timer_{t}" for t in QUALTRICS_TIMERS} <= set(names)
    assert dict(zip(names, texts, strict=True))["Q4_1"] == (
        "How far do you agree with these statements on local adaptation policy? - "
        "Local authorities plan well for heat waves"
    )
    parsed = [json.loads(cell) for cell in ids]
    assert all("ImportId" in p for p in parsed)
    assert dict(zip(names, parsed, strict=True))["StartDate"]["ImportId"] == "startDate"
    data = pd.read_csv(export, dtype=str, keep_default_na=False, skiprows=[1, 2])
    assert len(data) == 400
    assert data["ResponseId"].str.fullmatch(r"R_[0-9A-Za-z]{15}").all()
    assert data["ResponseId"].is_unique
    assert data["IPAddress"].str.fullmatch(r"\d+\.\d+\.\d+\.\d+").all()
    # the question shown to arm 2 only is empty, as Qualtrics writes it, for arm 1
    assert (data.loc[data["arm"] == "1", "Q7"] == "").all()
    assert (data.loc[data["arm"] == "2", "Q7"] != "").all()
    trust = data[[cb.variable(i).header for i in cb.construct("TRUST").items]].stack()
    assert {"-3", "-8", "-99"} <= set(trust)
    # the don't-know code belongs to the 7-point scale only
    assert not data[["Q5_1", "Q6_1", "Q8_1"]].isin(["-8"]).any().any()


def test_the_export_is_byte_reproducible_and_marked_synthetic(export, tmp_path):
    again = generate(CODEBOOK2, MODEL2, tmp_path / export.name, n=400)
    assert again.read_bytes() == export.read_bytes()
    record = json.loads(sidecar_path(again).read_text(encoding="utf-8"))
    assert record["synthetic"] is True
    assert record["format"] == "qualtrics-csv"
    assert record["population_model"] == "population_model.yaml"


def test_the_ingest_reads_back_the_drawn_codes(export, cb, model):
    """Every coded answer the generator drew is the one the ingest reads, negative codes
    included; the cells written as declared missing codes (-8, -99) or not shown are missing."""
    responses = ingest_export(export, cb).responses.reset_index(drop=True)
    drawn = draw_answers(model, cb, 400)  # the same draws, in the export's row order
    data = pd.read_csv(export, dtype=str, keep_default_na=False, skiprows=[1, 2])
    assert (responses["arm"].to_numpy() == drawn["arm"].to_numpy()).all()
    for var in cb.variables:
        if not var.is_coded or var.role == "respondent_group":
            continue
        cells = data[var.header]
        written = ~cells.isin(["-8", "-99", ""]).to_numpy()
        read = responses[var.name].to_numpy(dtype=float, na_value=np.nan)
        want = drawn[var.name].to_numpy(dtype=float, na_value=np.nan)
        assert np.isnan(read[~written]).all(), var.name
        if var.role == "attention_check":
            continue  # attention failures are written over the drawn answer
        assert (read[written] == want[written]).all(), var.name
    assert (responses["TRUST1"] < 0).sum() > 0


def test_an_export_with_answer_labels_writes_the_english_labels(tmp_path, export, cb):
    raw = yaml.safe_load(CODEBOOK2.read_text(encoding="utf-8"))
    raw["instrument"]["answers"] = "labels"
    labelled = tmp_path / "codebook.yaml"
    labelled.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = generate(labelled, MODEL2, tmp_path / "labels.csv", n=400)
    data = pd.read_csv(out, dtype=str, keep_default_na=False, skiprows=[1, 2])
    assert "Strongly agree" in set(data["Q4_1"])
    assert set(data["Q2"]) == {"Man", "Woman"}
    by_labels = ingest_export(out, load_codebook(labelled)).responses
    by_codes = ingest_export(export, cb).responses
    answers = [v.name for v in cb.variables if v.is_coded]
    assert by_labels[answers].equals(by_codes[answers])


def _mutated(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(MODEL2.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "population_model.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "column"),
    [
        (lambda r: r["thresholds"].__setitem__("agree7", [-1.0, 0.0, 1.0]), "thresholds.agree7"),
        (lambda r: r["thresholds"].__setitem__("agree3", [0.6, -0.6]), "thresholds.agree3"),
        (lambda r: r["group_sizes"].__setitem__("firm", 261), "group_sizes"),
        (lambda r: r["structural"]["SUPPORT"].__setitem__("TRUST", 1.2), "structural.SUPPORT"),
        (lambda r: r["missing_rates"].__setitem__("refused", 0.01), "missing_rates.refused"),
        (lambda r: r["arms"].__setitem__("arm", {1: 0.5, 3: 0.5}), "arms.arm"),
        (lambda r: r["loadings"].pop("NORM2"), "loadings"),
        (lambda r: r.pop("factors"), "factors"),
    ],
    ids=[
        "too-few-cut-points",
        "cut-points-out-of-order",
        "sizes-do-not-sum",
        "overfull-structural",
        "undeclared-missing-reason",
        "unknown-arm-code",
        "missing-loading",
        "missing-key",
    ],
)
def test_an_inconsistent_model_is_refused_naming_file_and_key(tmp_path, cb, mutate, column):
    path = _mutated(tmp_path, mutate)
    with pytest.raises(ConfigError) as info:
        load_scale_model(path, cb)
    assert any(v.column == column and v.file == str(path) for v in info.value.violations), str(
        info.value
    )


def test_a_codebook_of_another_platform_is_refused(tmp_path):
    with pytest.raises(CodebookError, match=r"instrument\.platform: qualtrics"):
        generate(CODEBOOK, MODEL2, tmp_path / "export.csv")
