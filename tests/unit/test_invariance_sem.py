"""Multi-group invariance and the structural model against independent references.

Invariance: lavaan's published multi-group results for Holzinger & Swineford (1939) by school,
from the lavaan tutorial ("Multiple groups", lavaan 0.5-16; source tutorial.src/groups.tex in
github.com/yrosseel/lavaan.org.old; the configural chi2 115.851/df 48 and per-group 64.309 /
51.542 are unchanged on lavaan.ugent.be/tutorial/groups.html for lavaan 0.6-21):
`cfa(HS.model, data = HolzingerSwineford1939, group = "school")`, with
`group.equal = "loadings"` and `c("loadings", "intercepts")`, and semTools'
`measurementInvariance()` summary printed there.

Structural model: data simulated from a known SEM, and lavaan's HS CFA (a saturated structural
part is the same model as the CFA).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.invariance import fit_multigroup, measurement_invariance
from hazegov.analysis.sem import fit_path_model, parse_paths

HS_MODEL = {
    "visual": ["x1", "x2", "x3"],
    "textual": ["x4", "x5", "x6"],
    "speed": ["x7", "x8", "x9"],
}


@pytest.fixture(scope="module")
def invariance(hs: pd.DataFrame):
    return measurement_invariance(hs, HS_MODEL, "school")


# --- measurement invariance ----------------------------------------------------------------


def test_invariance_chi2_and_df_match_lavaan(invariance) -> None:
    table = invariance.table.set_index("model")
    assert list(table.index) == ["configural", "metric", "scalar"]
    assert table["chi2"].to_numpy() == pytest.approx([115.851, 124.044, 164.103], abs=0.01)
    assert table["df"].tolist() == [48, 54, 60]
    assert table["converged"].all()
    assert invariance.warnings == []


def test_invariance_takes_a_boolean_group_column(hs: pd.DataFrame) -> None:
    """The study's split is government True/False; any hashable group codes must work."""
    fit = fit_multigroup(
        hs.assign(pasteur=hs["school"] == "Pasteur"), HS_MODEL, "pasteur", "metric"
    )
    assert fit.groups == ["True", "False"]
    assert fit.fit.chi2 == pytest.approx(124.044, abs=0.01)


def test_invariance_fit_indices_and_differences_match_semtools(invariance) -> None:
    """measurementInvariance(): cfi .923/.921/.882, rmsea .097/.093/.107,
    bic 7706.822/7680.771/7686.588; model 1 vs 2: delta.chisq 8.192, df 6, p .224,
    delta.cfi .002; model 2 vs 3: delta.chisq 40.059, df 6, delta.cfi .038."""
    table = invariance.table.set_index("model")
    assert table["cfi"].to_numpy() == pytest.approx([0.923, 0.921, 0.882], abs=0.001)
    assert table["rmsea"].to_numpy() == pytest.approx([0.097, 0.093, 0.107], abs=0.001)
    assert table["bic"].to_numpy() == pytest.approx([7706.822, 7680.771, 7686.588], abs=0.01)
    metric, scalar = table.loc["metric"], table.loc["scalar"]
    assert metric["compared_with"] == "configural" and scalar["compared_with"] == "metric"
    assert metric["delta_chi2"] == pytest.approx(8.192, abs=0.01)
    assert metric["delta_df"] == 6 and metric["delta_p_value"] == pytest.approx(0.224, abs=0.001)
    assert metric["delta_cfi"] == pytest.approx(-0.002, abs=0.001)
    assert scalar["delta_chi2"] == pytest.approx(40.059, abs=0.01)
    assert scalar["delta_df"] == 6
    assert scalar["delta_cfi"] == pytest.approx(-0.038, abs=0.001)
    assert np.isnan(table.loc["configural", "delta_chi2"])


def test_invariance_parameters_and_group_chi2_match_lavaan(invariance) -> None:
    """Per-group chi2 (configural 64.309 / 51.542; metric 68.825 / 55.219) and loadings:
    configural Pasteur x2 .394 x3 .570 x5 1.183 x6 .875 x8 1.125 x9 .922,
    Grant-White x2 .736 x3 .925 x5 .990 x6 .963 x8 1.226 x9 1.058; metric (both) x2 .599
    x3 .784 x5 1.083 x6 .912 x8 1.201 x9 1.038; configural Pasteur intercept x1 4.941,
    factor variance visual 1.097."""
    configural, metric = invariance.fits["configural"], invariance.fits["metric"]
    assert configural.group_chi2["Pasteur"] == pytest.approx(64.309, abs=0.01)
    assert configural.group_chi2["Grant-White"] == pytest.approx(51.542, abs=0.01)
    assert metric.group_chi2["Pasteur"] == pytest.approx(68.825, abs=0.01)
    assert metric.group_chi2["Grant-White"] == pytest.approx(55.219, abs=0.01)

    def loadings(fit, group: str) -> list[float]:
        p = fit.parameters
        rows = p[(p["group"] == group) & (p["op"] == "=~")].set_index("rhs")
        return rows.loc[["x2", "x3", "x5", "x6", "x8", "x9"], "estimate"].tolist()

    assert loadings(configural, "Pasteur") == pytest.approx(
        [0.394, 0.570, 1.183, 0.875, 1.125, 0.922], abs=0.002
    )
    assert loadings(configural, "Grant-White") == pytest.approx(
        [0.736, 0.925, 0.990, 0.963, 1.226, 1.058], abs=0.002
    )
    for group in ("Pasteur", "Grant-White"):
        assert loadings(metric, group) == pytest.approx(
            [0.599, 0.784, 1.083, 0.912, 1.201, 1.038], abs=0.002
        )
    p = configural.parameters
    pasteur = p[p["group"] == "Pasteur"]
    x1 = pasteur[(pasteur["lhs"] == "x1") & (pasteur["op"] == "~1")]["estimate"].item()
    visual = pasteur[(pasteur["lhs"] == "visual") & (pasteur["rhs"] == "visual")]["estimate"]
    assert x1 == pytest.approx(4.941, abs=0.002)
    assert visual.item() == pytest.approx(1.097, abs=0.002)


def test_invariance_results_are_tidy(invariance) -> None:
    frames = invariance.to_frames()
    assert set(frames) == {"invariance", "parameters", "warnings"}
    assert json.dumps(invariance.to_dict(), allow_nan=False)


def test_invariance_degenerate_groups_raise(hs: pd.DataFrame) -> None:
    with pytest.raises(AnalysisError, match="group column"):
        measurement_invariance(hs, HS_MODEL, "nope")
    with pytest.raises(AnalysisError, match="2\\+ needed"):
        measurement_invariance(hs.assign(one="a"), HS_MODEL, "one")
    tiny = hs.assign(g=np.where(np.arange(len(hs)) < 10, "small", "large"))
    with pytest.raises(AnalysisError, match="small"):
        measurement_invariance(tiny, HS_MODEL, "g")
    flat = hs.copy()
    flat.loc[flat["school"] == "Pasteur", "x3"] = 2.0
    with pytest.raises(AnalysisError, match="zero variance"):
        measurement_invariance(flat, HS_MODEL, "school")


def test_invariance_non_convergence_is_a_result_warning(hs: pd.DataFrame) -> None:
    fit = fit_multigroup(hs, HS_MODEL, "school", "scalar", max_iter=3)
    assert not fit.converged
    assert any("did not converge" in w for w in fit.warnings)


# --- structural model ----------------------------------------------------------------------

SEM_MODEL = {c: [f"{c}{k}" for k in (1, 2, 3)] for c in ["LEAD", "RESP", "EVAL", "EFF"]}
SEM_PATHS = [("RESP", "LEAD"), ("EFF", "RESP"), ("EFF", "LEAD"), ("EFF", "EVAL")]
TRUE_PATHS = {
    ("RESP", "LEAD"): 0.5,
    ("EFF", "RESP"): 0.4,
    ("EFF", "LEAD"): 0.2,
    ("EFF", "EVAL"): 0.3,
}


def simulate_sem(n: int, seed: int) -> pd.DataFrame:
    """LEAD, EVAL ~ N(0, 1) with r = .3; RESP = .5 LEAD + ζ (var .75);
    EFF = .4 RESP + .2 LEAD + .3 EVAL + ζ (var .5); items 1, .8, .7 × construct + N(0, .4)."""
    rng = np.random.default_rng(seed)
    exo = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], n)
    lead, evaluation = exo[:, 0], exo[:, 1]
    resp = 0.5 * lead + rng.normal(0, np.sqrt(0.75), n)
    eff = 0.4 * resp + 0.2 * lead + 0.3 * evaluation + rng.normal(0, np.sqrt(0.5), n)
    cols = {}
    for name, eta in [("LEAD", lead), ("RESP", resp), ("EVAL", evaluation), ("EFF", eff)]:
        for k, lam in enumerate([1.0, 0.8, 0.7], start=1):
            cols[f"{name}{k}"] = lam * eta + rng.normal(0, np.sqrt(0.4), n)
    return pd.DataFrame(cols)


def true_standardized_paths() -> dict[tuple[str, str], float]:
    """std.all = b · sd(predictor) / sd(outcome), from the population latent covariances."""
    names = ["LEAD", "EVAL", "RESP", "EFF"]
    beta = np.zeros((4, 4))
    for (outcome, predictor), b in TRUE_PATHS.items():
        beta[names.index(outcome), names.index(predictor)] = b
    psi = np.diag([1.0, 1.0, 0.75, 0.5])
    psi[0, 1] = psi[1, 0] = 0.3
    c = np.linalg.inv(np.eye(4) - beta)
    sd = np.sqrt(np.diag(c @ psi @ c.T))
    return {(o, p): b * sd[names.index(p)] / sd[names.index(o)] for (o, p), b in TRUE_PATHS.items()}


@pytest.fixture(scope="module")
def sem_result():
    return fit_path_model(
        simulate_sem(2000, seed=11),
        SEM_MODEL,
        SEM_PATHS,
        indirect=[("LEAD", "RESP", "EFF")],
        n_boot=100,
        seed=20160315,
    )


def test_path_model_recovers_the_simulated_paths(sem_result) -> None:
    assert sem_result.converged
    coef = sem_result.path_coefficients.set_index(["outcome", "predictor"])
    std_true = true_standardized_paths()
    for pair, b in TRUE_PATHS.items():
        row = coef.loc[pair]
        assert abs(row["estimate"] - b) < 3 * row["se"], pair
        assert abs(row["std_estimate"] - std_true[pair]) < 3 * row["std_se"], pair
        assert row["std_se"] < 0.05
    # a correctly specified model: chi2 near its df
    assert sem_result.fit.p_value > 0.01
    assert sem_result.fit.cfi > 0.99


def test_indirect_effect_and_its_bootstrap_ci_cover_the_truth(sem_result) -> None:
    effect = sem_result.indirect_effects.iloc[0]
    std_true = true_standardized_paths()
    assert effect["chain"] == "LEAD -> RESP -> EFF"
    assert effect["estimate"] == pytest.approx(0.5 * 0.4, abs=0.04)
    assert effect["ci_lower"] < 0.2 < effect["ci_upper"]
    std_indirect = std_true[("RESP", "LEAD")] * std_true[("EFF", "RESP")]
    assert effect["std_ci_lower"] < std_indirect < effect["std_ci_upper"]
    assert effect["n_boot_ok"] == 100 and sem_result.n_boot_failed == 0
    assert json.dumps(sem_result.to_dict(), allow_nan=False)


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    data = simulate_sem(300, seed=5)
    runs = [
        fit_path_model(
            data, SEM_MODEL, SEM_PATHS, indirect=[("LEAD", "RESP", "EFF")], n_boot=8, seed=42
        ).indirect_effects
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_saturated_structure_reproduces_the_lavaan_cfa(hs: pd.DataFrame) -> None:
    """All three paths among three constructs: same covariance structure as the CFA, so
    lavaan's chi2 85.306 (df 24) and SRMR .065 must come back; std path visual -> textual equals
    the factor correlation .459."""
    result = fit_path_model(hs, HS_MODEL, "textual ~ visual\nspeed ~ visual + textual", n_boot=0)
    assert result.fit.chi2 == pytest.approx(85.306, abs=0.01) and result.fit.df == 24
    assert result.fit.srmr == pytest.approx(0.065, abs=0.001)
    coef = result.path_coefficients.set_index(["outcome", "predictor"])
    assert coef.loc[("textual", "visual"), "std_estimate"] == pytest.approx(0.459, abs=0.002)
    assert result.indirect_effects.empty and result.n_boot == 0


def test_failed_bootstrap_refits_are_counted() -> None:
    """EFF3 takes a second value in 2 of 60 rows, so ~13% of resamples have a constant EFF3
    and cannot be refitted; they must be counted, not hidden."""
    data = simulate_sem(60, seed=2)
    data["EFF3"] = 0.0
    data.loc[[3, 40], "EFF3"] = 1.0
    result = fit_path_model(
        data, SEM_MODEL, SEM_PATHS, indirect=[("LEAD", "RESP", "EFF")], n_boot=40, seed=1
    )
    effect = result.indirect_effects.iloc[0]
    assert result.n_boot_failed > 0
    assert effect["n_boot_ok"] + result.n_boot_failed == 40
    assert any(f"{result.n_boot_failed} of 40 refits failed" in w for w in result.warnings)


def test_paths_are_parsed_and_checked() -> None:
    constructs = list(SEM_MODEL)
    as_text = parse_paths("RESP ~ LEAD\nEFF ~ RESP + LEAD + EVAL", constructs)
    assert as_text == SEM_PATHS
    with pytest.raises(AnalysisError, match="cycle"):
        parse_paths([("RESP", "LEAD"), ("LEAD", "EFF"), ("EFF", "RESP")], constructs)
    with pytest.raises(AnalysisError, match="not in the model"):
        parse_paths([("RESP", "GRID")], constructs)
    with pytest.raises(AnalysisError, match="no path"):
        fit_path_model(
            simulate_sem(100, 1), SEM_MODEL, SEM_PATHS, indirect=[("EVAL", "RESP", "EFF")]
        )


def test_path_model_degenerate_data_raise() -> None:
    data = simulate_sem(100, seed=3)
    with pytest.raises(AnalysisError, match="usable cases"):
        fit_path_model(data.head(25), SEM_MODEL, SEM_PATHS, n_boot=0)
    with pytest.raises(AnalysisError, match="zero variance"):
        fit_path_model(data.assign(RESP2=1.0), SEM_MODEL, SEM_PATHS, n_boot=0)


def test_resample_covariance_from_counts_equals_the_gathered_rows() -> None:
    from hazegov.analysis.sem import resample_covariance

    rng = np.random.default_rng(11)
    likert = rng.integers(1, 6, size=(400, 6)).astype(float)
    scores = np.column_stack([likert, rng.normal(3, 0.8, 400)])  # and a non-integer column
    for _ in range(20):
        rows = rng.integers(0, len(scores), len(scores))
        gathered = np.cov(scores[rows], rowvar=False, ddof=0)
        np.testing.assert_allclose(
            resample_covariance(scores, rows), gathered, rtol=1e-12, atol=1e-14
        )
        fortran = np.asfortranarray(scores)
        buffers = (np.empty_like(fortran), np.empty_like(fortran))
        np.testing.assert_allclose(
            resample_covariance(fortran, rows, buffers), gathered, rtol=1e-12, atol=1e-14
        )
    # a column constant in the resample: variance exactly 0 either way (refit refused)
    constant = likert.copy()
    constant[:, 2] = 4.0
    constant[7, 2] = 5.0
    rows = rng.integers(0, len(constant), len(constant))
    rows = rows[rows != 7]
    rows = np.concatenate([rows, rows[: len(constant) - len(rows)]])
    cov = resample_covariance(constant, rows)
    assert np.cov(constant[rows], rowvar=False, ddof=0)[2, 2] == 0.0
    assert cov[2, 2] == 0.0 and np.all(cov[2] == 0.0)
