"""The analyses recover the generator's stated population (large samples, and CI coverage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazegov.survey.synthetic import (
    draw_latent_responses,
    draw_respondents,
    expected_score,
    latent_score_regression,
    load_population_model,
)
from tests.support.paths import POPULATION

PROBLEMS = ["LEAD", "RESP", "EVAL", "PART"]


@pytest.fixture(scope="module")
def model(codebook):
    return load_population_model(POPULATION, codebook)


def latent_scores(latent: pd.DataFrame, codebook) -> pd.DataFrame:
    """Mean scores over the continuous latent responses, reverse items turned round."""
    out = {}
    for construct in codebook.constructs:
        columns = []
        for item in construct.items:
            sign = -1.0 if codebook.variable(item).reverse else 1.0
            columns.append(sign * latent[f"ystar_{item}"])
        out[construct.id] = pd.concat(columns, axis=1).mean(axis=1)
    return pd.DataFrame(out).assign(sector=latent["sector"].to_numpy())


def test_sector_means_of_scores_match_the_population(model, codebook):
    sample = draw_respondents(model, codebook, n=46000)
    for sector in ("government_administration", "community_residents"):
        rows = sample[sample["sector"] == sector]
        for construct in ("LEAD", "EFF", "GRID"):
            items = list(codebook.construct(construct).items)
            answers = rows[items].astype(float)
            for item in items:
                if codebook.variable(item).reverse:
                    answers[item] = 6 - answers[item]
            score = answers.mean(axis=1)
            want = expected_score(model, codebook, construct, sector)
            assert abs(score.mean() - want) < 4 * score.std() / np.sqrt(len(score)), (
                sector,
                construct,
            )


def test_score_regression_population_slopes(model, codebook):
    latent = draw_latent_responses(model, codebook, n=46000)
    scores = latent_scores(latent, codebook)
    within = scores[scores["sector"] == "government_administration"]
    x = np.column_stack([np.ones(len(within)), within[PROBLEMS].to_numpy()])
    slopes = np.linalg.lstsq(x, within["EFF"].to_numpy(), rcond=None)[0][1:]
    want = latent_score_regression(model, codebook, "EFF", PROBLEMS)
    np.testing.assert_allclose(slopes, [want[c] for c in PROBLEMS], atol=0.03)


def _single_population(model):
    """The model without sector differences: one population, for coverage checks."""
    raw = {
        **model.raw,
        "sector_mean_shifts": {
            s: dict.fromkeys(v, 0.0) for s, v in model.raw["sector_mean_shifts"].items()
        },
    }
    return type(model)(model.path, raw)


def _with_seed(model, seed):
    return type(model)(model.path, {**model.raw, "seed": seed})


def test_ols_on_scores_recovers_population_slopes(model, codebook):
    from hazegov.analysis.regression import ols_hc3

    latent = draw_latent_responses(_single_population(model), codebook, n=20000)
    scores = latent_scores(latent, codebook)
    result = ols_hc3(scores, "EFF", PROBLEMS)
    coefficients = result.to_frames()["coefficients"].set_index("term")
    want = latent_score_regression(model, codebook, "EFF", PROBLEMS)
    for construct in PROBLEMS:
        row = coefficients.loc[construct]
        assert abs(row["b"] - want[construct]) < 4 * row["se"], construct


def test_ols_hc3_intervals_cover_at_the_study_size(model, codebook):
    """At N = 230, HC3 95% intervals cover the population slopes about 95% of the time."""
    from hazegov.analysis.regression import ols_hc3

    base = _single_population(model)
    want = latent_score_regression(model, codebook, "EFF", PROBLEMS)
    covered = total = 0
    for replication in range(60):
        latent = draw_latent_responses(_with_seed(base, 1000 + replication), codebook, n=230)
        table = ols_hc3(latent_scores(latent, codebook), "EFF", PROBLEMS).to_frames()
        coefficients = table["coefficients"].set_index("term")
        for construct in PROBLEMS:
            row = coefficients.loc[construct]
            covered += int(row["ci_low"] <= want[construct] <= row["ci_high"])
            total += 1
    # 240 intervals: the binomial 99.9% range around 0.95 is about 0.90 to 0.99
    assert 0.90 <= covered / total <= 0.99, covered / total


def _population_alpha(model, codebook, construct):
    loadings = np.array([model.raw["loadings"][i] for i in codebook.construct(construct).items])
    k = len(loadings)
    total = loadings.sum() ** 2 + (1 - loadings**2).sum()
    return k / (k - 1) * (1 - k / total)


def test_alpha_recovers_the_population_reliability(model, codebook):
    from hazegov.analysis.reliability import cronbach_alpha

    latent = draw_latent_responses(_single_population(model), codebook, n=20000)
    for construct in ("LEAD", "EVAL", "GRID"):
        items = []
        for item in codebook.construct(construct).items:
            sign = -1.0 if codebook.variable(item).reverse else 1.0
            items.append((sign * latent[f"ystar_{item}"]).rename(item))
        frame = pd.concat(items, axis=1)
        result = cronbach_alpha(frame, list(frame.columns))
        want = _population_alpha(model, codebook, construct)
        assert result.ci_lower - 0.005 <= want <= result.ci_upper + 0.005, construct
        assert abs(result.alpha - want) < 0.01


def test_sector_differences_are_recovered_by_the_group_comparison(model, codebook):
    from hazegov.analysis.groups import compare_groups

    sample = draw_respondents(model, codebook, n=23000)
    items = list(codebook.construct("EFF").items)
    answers = sample[items].astype(float)
    for item in items:
        if codebook.variable(item).reverse:
            answers[item] = 6 - answers[item]
    frame = pd.DataFrame({"EFF": answers.mean(axis=1), "sector": sample["sector"]})
    result = compare_groups(frame, "EFF", "sector", n_boot=100, seed=1)
    means = result.descriptives.set_index("group")
    for sector in means.index:
        want = expected_score(model, codebook, "EFF", sector)
        se = means.loc[sector, "sd"] / np.sqrt(means.loc[sector, "n"])
        assert abs(means.loc[sector, "mean"] - want) < 4 * se, sector


def _latent_items(latent: pd.DataFrame, codebook) -> pd.DataFrame:
    """Continuous item responses, reverse-worded items turned round."""
    columns = {}
    for item in codebook.likert_items:
        sign = -1.0 if item.reverse else 1.0
        columns[item.name] = sign * latent[f"ystar_{item.name}"]
    return pd.DataFrame(columns)


@pytest.fixture(scope="module")
def latent_items(model, codebook) -> pd.DataFrame:
    latent = draw_latent_responses(_single_population(model), codebook, n=8000)
    return _latent_items(latent, codebook)


def test_cfa_recovers_stated_loadings_and_factor_correlations(model, codebook, latent_items):
    from hazegov.analysis.cfa import fit_cfa
    from hazegov.analysis.sample import measurement_model
    from hazegov.survey.synthetic import latent_construct_covariance

    result = fit_cfa(latent_items, measurement_model(codebook))
    loadings = result.to_frames()["loadings"].set_index("item")
    for item, stated in model.raw["loadings"].items():
        row = loadings.loc[item]
        assert abs(row["std_estimate"] - stated) < 4 * row["std_se"] + 0.005, item
    population = latent_construct_covariance(model)
    covariances = result.to_frames()["factor_covariances"]
    for row in covariances.itertuples(index=False):
        want = population.loc[row.construct_1, row.construct_2]
        assert abs(row.correlation - want) < 4 * row.correlation_se + 0.005, (
            row.construct_1,
            row.construct_2,
        )


def test_path_model_recovers_the_structural_coefficients(model, codebook, latent_items):
    from hazegov.analysis.sample import measurement_model
    from hazegov.analysis.sem import fit_path_model

    constructs = [*PROBLEMS, "EFF"]
    full = measurement_model(codebook)
    result = fit_path_model(
        latent_items,
        {c: full[c] for c in constructs},
        [("EFF", c) for c in PROBLEMS],
        n_boot=0,
        seed=1,
    )
    paths = result.to_frames()["path_coefficients"].set_index("predictor")
    for construct, beta in model.beta.items():
        row = paths.loc[construct]
        assert abs(row["std_estimate"] - beta) < 4 * row["std_se"] + 0.005, construct
