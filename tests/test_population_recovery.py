"""The analyses recover the generator's stated population (large samples, and CI coverage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hazegov.synthetic import (
    draw_latent_responses,
    draw_respondents,
    expected_score,
    latent_score_regression,
    load_population_model,
)

from .conftest import POPULATION

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
