"""The generator: byte-reproducible, readable in every format, and true to its population model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from scipy.stats import multivariate_normal, norm

from hazegov.errors import ConfigError
from hazegov.survey.ingest import ingest_export
from hazegov.survey.synthetic import (
    draw_respondents,
    generate,
    load_population_model,
    sidecar_path,
)
from tests.support.paths import CODEBOOK, DEFAULT_EXPORT, POPULATION, TEST_EXPORT


@pytest.mark.parametrize(("committed", "n"), [(DEFAULT_EXPORT, None), (TEST_EXPORT, 400)])
def test_regenerating_the_committed_export_gives_the_same_bytes(tmp_path, committed, n):
    out = generate(CODEBOOK, POPULATION, tmp_path / committed.name, n=n)
    assert out.read_bytes() == committed.read_bytes()
    assert sidecar_path(out).read_bytes() == sidecar_path(committed).read_bytes()
    record = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
    assert record["synthetic"] is True
    assert str(tmp_path) not in sidecar_path(out).read_text(encoding="utf-8")


@pytest.mark.parametrize(("fmt", "suffix"), [("csv-gb18030", "csv"), ("xlsx", "xlsx")])
def test_other_formats_are_reproducible_and_read_the_same(tmp_path, codebook, fmt, suffix):
    a = generate(CODEBOOK, POPULATION, tmp_path / "a" / f"export.{suffix}", fmt=fmt, n=50)
    b = generate(CODEBOOK, POPULATION, tmp_path / "b" / f"export.{suffix}", fmt=fmt, n=50)
    assert a.read_bytes() == b.read_bytes()
    reference = generate(CODEBOOK, POPULATION, tmp_path / "c" / "export.csv", n=50)
    got = ingest_export(a, codebook).responses
    want = ingest_export(reference, codebook).responses
    assert got.drop(columns="export_row").equals(want.drop(columns="export_row"))


def test_export_looks_like_a_platform_export(codebook):
    raw = DEFAULT_EXPORT.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, as the platform writes
    header = raw.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("序号,提交答卷时间,所用时间,来源,来源详情,来自IP,1、您的工作单位：")
    text = raw.decode("utf-8-sig")
    for label in ("非常同意", "不同意", "(空)", "(跳过)", "秒", "〖"):
        assert label in text


def _category_probs(mean: float) -> np.ndarray:
    cuts = np.array([-np.inf, -1.6, -0.6, 0.3, 1.3, np.inf])
    return np.diff(norm.cdf(cuts - mean))


def test_answers_follow_the_population_model(codebook):
    """Category shares at large n match the probabilities the stated model implies."""
    model = load_population_model(POPULATION, codebook)
    sample = draw_respondents(model, codebook, n=46000)
    raw = model.raw
    beta = model.beta
    phi = model.phi
    exo = model.exogenous
    for sector in ("government_administration", "community_residents"):
        rows = sample[sample["sector"] == sector]
        shift = raw["sector_mean_shifts"][sector]
        eff_mean = shift["EFF"] + sum(beta[c] * shift[c] for c in beta)
        for item, construct_mean in [
            ("LEAD1", shift["LEAD"]),
            ("LEAD4", shift["LEAD"]),
            ("GRID1", shift["GRID"]),
            ("EFF1", eff_mean),
        ]:
            lam = raw["loadings"][item]
            sign = -1 if codebook.variable(item).reverse else 1
            want = _category_probs(sign * lam * construct_mean + model.intercept(item))
            got = rows[item].value_counts(normalize=True).reindex(range(1, 6), fill_value=0)
            se = np.sqrt(want * (1 - want) / len(rows))
            assert np.all(np.abs(got.to_numpy() - want) < 4 * se + 1e-3), (sector, item, got, want)

    # Joint agreement with LEAD1 and EFF1 reflects the structural path LEAD -> EFF.
    rows = sample[sample["sector"] == "government_administration"]
    i = exo.index("LEAD")
    b = np.array([beta.get(c, 0.0) for c in exo])
    corr_lead_eff = float((phi @ b)[i])
    lam1, lam2 = raw["loadings"]["LEAD1"], raw["loadings"]["EFF1"]
    rho = lam1 * lam2 * corr_lead_eff
    both_agree = multivariate_normal(cov=[[1, rho], [rho, 1]]).cdf(
        [-0.3, -0.3]
    )  # P(y1>0.3, y2>0.3)
    got = float(((rows["LEAD1"] >= 4) & (rows["EFF1"] >= 4)).mean())
    assert abs(got - both_agree) < 4 * np.sqrt(both_agree * (1 - both_agree) / len(rows))
    independent = (1 - norm.cdf(0.3)) ** 2
    assert got > independent + 0.03


def _model_file(tmp_path, mutate):
    raw = yaml.safe_load(POPULATION.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "population.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (
            lambda r: (
                r["factor_correlations"][0].__setitem__(1, 0.99)
                or r["factor_correlations"][1].__setitem__(0, 0.99)
                or r["factor_correlations"][1].__setitem__(2, -0.9)
                or r["factor_correlations"][2].__setitem__(1, -0.9)
            ),
            "positive-definite",
        ),
        (lambda r: r["group_sizes"].__setitem__("fengtai_cdc", 31), "population-model"),
        (lambda r: r["structural"]["EFF"].__setitem__("LEAD", 1.5), "residual-variance"),
        (lambda r: r.pop("loadings"), "required-key"),
    ],
    ids=["not-positive-definite", "sizes-do-not-sum", "overfull-structural", "missing-key"],
)
def test_inconsistent_population_model_is_refused(tmp_path, codebook, mutate, rule):
    with pytest.raises(ConfigError) as info:
        load_population_model(_model_file(tmp_path, mutate), codebook)
    assert any(v.rule == rule for v in info.value.violations), str(info.value)
