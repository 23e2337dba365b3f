"""CFA, construct validity and common-method checks against independent references.

References: lavaan's published Holzinger & Swineford (1939) results (the lavaan tutorial,
`cfa(HS.model, data = HolzingerSwineford1939)`), hand formulas on population correlation
matrices, and data simulated from known populations.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.cfa import (
    construct_validity,
    fit_cfa,
    fit_semopy,
    measurement_description,
)
from hazegov.analysis.cmv import common_latent_factor, harman_single_factor

HS_MODEL = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}


@pytest.fixture(scope="module")
def hs_fit(hs: pd.DataFrame):
    return fit_cfa(hs, HS_MODEL)


def exact_sample(corr: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Data whose N-denominator covariance matrix equals `corr` exactly (whitened normals)."""
    z = np.random.default_rng(seed).standard_normal((n, corr.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, ddof=0))).T
    return z @ np.linalg.cholesky(corr).T


def population_corr(loadings: list[list[float]], phi: np.ndarray) -> np.ndarray:
    """Item correlations implied by standardized loadings (one factor per item) and phi."""
    p = sum(len(block) for block in loadings)
    lam = np.zeros((p, len(loadings)))
    row = 0
    for f, block in enumerate(loadings):
        for value in block:
            lam[row, f] = value
            row += 1
    corr = lam @ phi @ lam.T
    np.fill_diagonal(corr, 1.0)
    return corr


# --- lavaan tutorial, cfa(HS.model, data = HolzingerSwineford1939) -----------------------------


def test_hs_global_fit_matches_lavaan(hs_fit) -> None:
    fit = hs_fit.fit
    assert hs_fit.converged and hs_fit.warnings == []
    assert fit.n == 301
    assert fit.chi2 == pytest.approx(85.306, abs=0.01) and fit.df == 24
    assert fit.baseline_chi2 == pytest.approx(918.852, abs=0.01) and fit.baseline_df == 36
    assert fit.cfi == pytest.approx(0.931, abs=0.001)
    assert fit.tli == pytest.approx(0.896, abs=0.001)
    assert fit.rmsea == pytest.approx(0.092, abs=0.001)
    assert fit.rmsea_ci_lower == pytest.approx(0.071, abs=0.001)
    assert fit.rmsea_ci_upper == pytest.approx(0.114, abs=0.001)
    assert fit.srmr == pytest.approx(0.065, abs=0.001)
    # lavaan: logL -3737.745, AIC 7517.490, BIC 7595.339 (21 free parameters)
    assert fit.n_parameters == 21
    assert fit.log_likelihood == pytest.approx(-3737.745, abs=0.01)
    assert fit.aic == pytest.approx(7517.490, abs=0.01)
    assert fit.bic == pytest.approx(7595.339, abs=0.01)


def test_hs_loadings_and_factor_covariances_match_lavaan(hs_fit) -> None:
    load = hs_fit.loadings.set_index("item")
    free = ["x2", "x3", "x5", "x6", "x8", "x9"]
    assert load.loc[free, "estimate"].to_numpy() == pytest.approx(
        [0.554, 0.729, 1.113, 0.926, 1.180, 1.082], abs=0.002
    )
    assert load.loc[free, "se"].to_numpy() == pytest.approx(
        [0.100, 0.109, 0.065, 0.055, 0.165, 0.151], abs=0.002
    )
    assert load.loc[["x1", "x4", "x7"], "marker"].all()
    assert load["std_estimate"].to_numpy() == pytest.approx(
        [0.772, 0.424, 0.581, 0.852, 0.855, 0.838, 0.570, 0.723, 0.665], abs=0.002
    )
    var = hs_fit.factor_variances.set_index("construct")["estimate"]
    assert var[["visual", "textual", "speed"]].to_numpy() == pytest.approx(
        [0.809, 0.979, 0.384], abs=0.002
    )
    cov = hs_fit.factor_covariances.set_index(["construct_1", "construct_2"])
    pairs = [("visual", "textual"), ("visual", "speed"), ("textual", "speed")]
    assert cov.loc[pairs, "covariance"].to_numpy() == pytest.approx(
        [0.408, 0.262, 0.173], abs=0.002
    )
    assert cov.loc[pairs, "correlation"].to_numpy() == pytest.approx(
        [0.459, 0.471, 0.283], abs=0.002
    )


def test_hs_standardized_standard_errors_match_lavaan(hs_fit) -> None:
    """lavaan standardizedSolution() SEs (delta method) for cfa(HS.model, ...), as printed on
    the nomologR reference page of nomo_cfa() (github.com/JUhalt/nomologR,
    reference/nomo_cfa.md): loadings 0.0550 0.0596 0.0551 0.0225 0.0223 0.0234 0.0532 0.0505
    0.0511; factor-correlation 95% CIs visual-textual 0.334-0.584, visual-speed 0.328-0.613,
    textual-speed 0.148-0.418."""
    assert hs_fit.loadings["std_se"].to_numpy() == pytest.approx(
        [0.0550, 0.0596, 0.0551, 0.0225, 0.0223, 0.0234, 0.0532, 0.0505, 0.0511], abs=0.001
    )
    cov = hs_fit.factor_covariances
    lower = cov["correlation"] - 1.959964 * cov["correlation_se"]
    upper = cov["correlation"] + 1.959964 * cov["correlation_se"]
    assert lower.to_numpy() == pytest.approx([0.334, 0.328, 0.148], abs=0.002)
    assert upper.to_numpy() == pytest.approx([0.584, 0.613, 0.418], abs=0.002)


def test_item_order_in_the_frame_does_not_change_the_fit(hs: pd.DataFrame) -> None:
    """semopy sorts observed variables by name; the fit must not depend on that order."""
    renamed = hs.rename(columns={"x1": "zz_vis", "x4": "aa_txt", "x9": "mm_spd"})
    model = {
        "speed": ["x7", "x8", "mm_spd"],
        "visual": ["zz_vis", "x2", "x3"],
        "textual": ["aa_txt", "x5", "x6"],
    }
    result = fit_cfa(renamed, model)
    assert result.fit.chi2 == pytest.approx(85.306, abs=0.01)
    assert result.fit.srmr == pytest.approx(0.065, abs=0.001)
    load = result.loadings.set_index("item")
    assert load.loc["mm_spd", "estimate"] == pytest.approx(1.082, abs=0.002)


def test_results_serialize_to_json_and_frames(hs_fit) -> None:
    text = json.dumps(hs_fit.to_dict(), allow_nan=False)
    assert '"chi2"' in text
    frames = hs_fit.to_frames()
    assert set(frames) >= {"fit", "loadings", "factor_covariances"}
    for frame in frames.values():
        assert all(c == c.lower() and " " not in c for c in frame.columns)


# --- construct validity --------------------------------------------------------------------


def test_cr_ave_htmt_fornell_larcker_on_a_population_matrix() -> None:
    """Two factors, standardized loadings (.8, .7, .6) and (.7, .7, .5), correlation .4.
    The sample correlation matrix equals the population one, so the CFA recovers it exactly."""
    phi = np.array([[1.0, 0.4], [0.4, 1.0]])
    corr = population_corr([[0.8, 0.7, 0.6], [0.7, 0.7, 0.5]], phi)
    frame = pd.DataFrame(exact_sample(corr, 400), columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    model = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]}
    result = construct_validity(frame, model)
    rel = result.reliability.set_index("construct")
    # CR = (Σλ)² / ((Σλ)² + Σ(1-λ²)); AVE = Σλ²/k
    cr_a = 2.1**2 / (2.1**2 + (1 - 0.64) + (1 - 0.49) + (1 - 0.36))
    cr_b = 1.9**2 / (1.9**2 + (1 - 0.49) + (1 - 0.49) + (1 - 0.25))
    assert rel.loc["A", "composite_reliability"] == pytest.approx(cr_a, abs=1e-4)
    assert rel.loc["B", "composite_reliability"] == pytest.approx(cr_b, abs=1e-4)
    assert rel.loc["A", "ave"] == pytest.approx((0.64 + 0.49 + 0.36) / 3, abs=1e-4)
    assert rel.loc["B", "ave"] == pytest.approx((0.49 + 0.49 + 0.25) / 3, abs=1e-4)
    assert rel["fornell_larcker_met"].all()
    # HTMT = mean heterotrait r / sqrt(mean monotrait r_A * mean monotrait r_B)
    hetero = np.mean([la * lb * 0.4 for la in (0.8, 0.7, 0.6) for lb in (0.7, 0.7, 0.5)])
    mono_a = (0.8 * 0.7 + 0.8 * 0.6 + 0.7 * 0.6) / 3
    mono_b = (0.7 * 0.7 + 0.7 * 0.5 + 0.7 * 0.5) / 3
    pair = result.pairs.iloc[0]
    assert pair["htmt"] == pytest.approx(hetero / math.sqrt(mono_a * mono_b), abs=1e-6)
    assert pair["factor_correlation"] == pytest.approx(0.4, abs=1e-4)
    table = result.fornell_larcker_matrix()
    assert table.loc["A", "A"] == pytest.approx(math.sqrt((0.64 + 0.49 + 0.36) / 3), abs=1e-4)
    assert table.loc["A", "B"] == pytest.approx(0.4, abs=1e-4)


def test_htmt_on_hs_matches_semtools(hs_fit) -> None:
    """semTools::htmt (absolute correlations, its default) on HolzingerSwineford1939, as printed
    in nomologR's reference/nomo_validity.md: textual-speed 0.290, the two visual pairs 0.467
    and 0.424 (their labels are cut off there, so the pair is compared as a set)."""
    pairs = construct_validity(hs_fit, HS_MODEL).pairs.set_index(["construct_1", "construct_2"])
    assert pairs.loc[("textual", "speed"), "htmt"] == pytest.approx(0.290, abs=0.001)
    visual = sorted(pairs.loc[[("visual", "textual"), ("visual", "speed")], "htmt"])
    assert visual == pytest.approx([0.424, 0.467], abs=0.001)


def test_construct_validity_refuses_a_result_of_another_model(hs_fit) -> None:
    with pytest.raises(AnalysisError, match="another model"):
        construct_validity(hs_fit, {"visual": ["x1", "x2", "x3"], "speed": ["x7", "x8", "x9"]})


# --- degenerate data -----------------------------------------------------------------------


def test_too_few_cases_raise(hs: pd.DataFrame) -> None:
    with pytest.raises(AnalysisError, match="usable cases"):
        fit_cfa(hs.head(20), HS_MODEL)
    # 40 rows pass the minimum of 30 but not the 51 free parameters of this 18-item model
    wide = pd.concat([hs[HS_MODEL["visual"] + HS_MODEL["textual"] + HS_MODEL["speed"]]] * 2, axis=1)
    wide.columns = [f"i{k}" for k in range(18)]
    model = {f"F{k}": [f"i{j}" for j in range(3 * k, 3 * k + 3)] for k in range(6)}
    with pytest.raises(AnalysisError, match="free parameters"):
        fit_cfa(wide.head(40) + np.random.default_rng(0).normal(0, 1, (40, 18)), model)


def test_zero_variance_item_raises(hs: pd.DataFrame) -> None:
    flat = hs.assign(x5=3.0)
    with pytest.raises(AnalysisError, match=r"zero variance.*x5"):
        fit_cfa(flat, HS_MODEL)


def test_non_positive_definite_correlations_raise(hs: pd.DataFrame) -> None:
    collinear = hs.assign(x6=hs["x4"] + hs["x5"])
    with pytest.raises(AnalysisError, match="not positive definite"):
        fit_cfa(collinear, HS_MODEL)


def test_non_convergence_is_a_result_warning(hs: pd.DataFrame) -> None:
    result = fit_cfa(hs, HS_MODEL, max_iter=2)
    assert not result.converged
    assert any("did not converge" in w for w in result.warnings)


def test_heywood_case_is_a_result_warning() -> None:
    """Item a1 correlates .75 with a2..a4, which correlate .5: its loading would be
    sqrt(.75²/.5) = 1.06 > 1, so its residual variance must go negative (here: stop at 0)."""
    corr = np.full((4, 4), 0.5)
    corr[0, 1:] = corr[1:, 0] = 0.75
    np.fill_diagonal(corr, 1.0)
    frame = pd.DataFrame(exact_sample(corr, 300), columns=["a1", "a2", "a3", "a4"])
    result = fit_cfa(frame, {"A": ["a1", "a2", "a3", "a4"]})
    assert any("Heywood" in w and "a1" in w for w in result.warnings)


def test_missing_values_are_dropped_and_reported(hs: pd.DataFrame) -> None:
    gappy = hs.copy()
    gappy.loc[gappy.index[:5], "x2"] = np.nan
    result = fit_cfa(gappy, HS_MODEL)
    assert result.n == 296
    assert any("5 case(s)" in w for w in result.warnings)


HS_ITEMS = [item for items in HS_MODEL.values() for item in items]


def test_fit_semopy_drops_and_reports_missing_values_as_fit_cfa_does(hs: pd.DataFrame) -> None:
    """semopy kept incomplete cases in n and gave a NaN chi-square without a word; now the
    incomplete cases are dropped listwise and reported in the words of `fit_cfa`, and the fit is
    the fit of the complete cases alone."""
    data = hs[HS_ITEMS]
    gappy = data.copy()
    gappy.loc[gappy.index[:5], "x2"] = np.nan
    description = measurement_description(HS_MODEL)
    fit = fit_semopy(description, gappy, what="CFA")
    report = "CFA: 5 case(s) with missing item values dropped listwise"
    assert fit.n == fit_cfa(gappy, HS_MODEL).n == 296
    assert report in fit.warnings
    assert report in fit_cfa(gappy, HS_MODEL).warnings
    assert math.isfinite(fit.fit_indices().chi2)
    alone = fit_semopy(description, data.iloc[5:].reset_index(drop=True), what="CFA")
    pd.testing.assert_frame_equal(fit.parameters, alone.parameters)
    assert fit.fit_indices() == alone.fit_indices()


def test_fit_semopy_on_complete_data_is_as_before(hs: pd.DataFrame) -> None:
    """No case dropped, nothing reported, and lavaan's published fit of the HS model."""
    fit = fit_semopy(measurement_description(HS_MODEL), hs[HS_ITEMS], what="CFA")
    assert fit.n == 301
    assert not any("dropped" in w for w in fit.warnings)
    assert fit.fit_indices().chi2 == pytest.approx(85.306, abs=0.01)


def test_fit_semopy_refuses_too_few_complete_cases(hs: pd.DataFrame) -> None:
    gappy = hs[HS_ITEMS].copy()
    gappy.loc[gappy.index[:280], "x5"] = np.nan  # 21 complete cases left, fewer than MIN_CASES
    with pytest.raises(AnalysisError, match="21"):
        fit_semopy(measurement_description(HS_MODEL), gappy, what="CFA")
    with pytest.raises(AnalysisError, match="not in the data"):
        fit_semopy("visual =~ x1 + x2 + nope", hs[HS_ITEMS], what="CFA")


def test_bad_model_and_estimator_are_refused(hs: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="estimator"):
        fit_cfa(hs, HS_MODEL, estimator="ULS")
    with pytest.raises(AnalysisError, match="both"):
        fit_cfa(hs, {"A": ["x1", "x2", "x3"], "B": ["x3", "x4", "x5"]})
    with pytest.raises(AnalysisError, match="not in the data"):
        fit_cfa(hs, {"A": ["x1", "x2", "nope"]})


# --- common method variance ----------------------------------------------------------------


@pytest.mark.parametrize("r", [0.3, 0.5])
def test_harman_share_matches_the_compound_symmetry_eigenvalue(r: float) -> None:
    """With all 6 correlations equal to r the first eigenvalue is 1 + 5r, its share (1+5r)/6."""
    corr = np.full((6, 6), r)
    np.fill_diagonal(corr, 1.0)
    frame = pd.DataFrame(exact_sample(corr, 200), columns=[f"q{k}" for k in range(6)])
    out = harman_single_factor(frame, list(frame.columns))
    assert out["first_component_share"] == pytest.approx((1 + 5 * r) / 6, abs=1e-9)
    assert out["exceeds_threshold"] is ((1 + 5 * r) / 6 > 0.5)
    assert "principal components" in out["method"]


def simulate_method_data(method_loading: float, n: int = 500, seed: int = 3) -> pd.DataFrame:
    """Three correlated traits (r = .3), 4 items each with loadings .9 .75 .6 .5, residual SD .6,
    plus an orthogonal method factor loading `method_loading` on every item."""
    rng = np.random.default_rng(seed)
    phi = np.full((3, 3), 0.3)
    np.fill_diagonal(phi, 1.0)
    traits = rng.multivariate_normal(np.zeros(3), phi, n)
    method = rng.standard_normal(n)
    cols = {}
    for f, name in enumerate(["LEAD", "RESP", "EVAL"]):
        for k, lam in enumerate([0.9, 0.75, 0.6, 0.5], start=1):
            cols[f"{name}{k}"] = (
                lam * traits[:, f] + method_loading * method + rng.normal(0, 0.6, n)
            )
    return pd.DataFrame(cols)


METHOD_MODEL = {c: [f"{c}{k}" for k in range(1, 5)] for c in ["LEAD", "RESP", "EVAL"]}


def test_common_latent_factor_detects_a_simulated_method_factor() -> None:
    result = common_latent_factor(simulate_method_data(0.5), METHOD_MODEL)
    assert result.delta_df == 1
    assert result.p_value < 0.001
    assert result.method_loading == pytest.approx(0.5, abs=3 * result.method_loading_se)
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_common_latent_factor_is_not_significant_without_one() -> None:
    result = common_latent_factor(simulate_method_data(0.0), METHOD_MODEL)
    assert result.delta_df == 1
    assert result.p_value > 0.05
    assert result.comparison()["model"].tolist() == ["traits", "traits_and_method"]


@pytest.mark.slow
def test_the_holzinger_swineford_fit_is_the_same_under_every_hash_seed():
    """semopy orients the covariances it implies by set order; OrderedModel fixes the order so
    that the estimates agree to the last digit from one Python process to the next."""
    import os
    import subprocess
    import sys

    script = (
        "from semopy.examples import holzinger39\n"
        "from hazegov.analysis.cfa import fit_semopy\n"
        "desc = 'visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9\\n'\n"
        "desc += 'speed ~ visual + textual + ageyr + sex\\n'\n"
        "data = holzinger39.get_data().drop(columns=['id', 'school', 'grade'])\n"
        "fit = fit_semopy(desc, data, what='HS')\n"
        "print(fit.parameters.to_json(double_precision=15))\n"
    )
    printed = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3", "4", "5")
    }
    assert len(printed) == 1
    assert '"estimate"' in next(iter(printed))
