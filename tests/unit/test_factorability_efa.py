"""KMO, Bartlett, parallel analysis and EFA against hand formulas and known populations."""

from __future__ import annotations

import itertools

import factor_analyzer.factor_analyzer as fa_module
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.efa import exploratory_factor_analysis
from hazegov.analysis.factorability import (
    PARALLEL_METHODS,
    bartlett_sphericity,
    kmo,
    parallel_analysis,
)


def factor_sample(loadings: np.ndarray, phi: np.ndarray, n: int, seed: int) -> pd.DataFrame:
    """Standardized common-factor data: pattern `loadings`, factor correlations `phi`."""
    rng = np.random.default_rng(seed)
    factors = rng.multivariate_normal(np.zeros(phi.shape[0]), phi, size=n)
    unique = 1 - np.diag(loadings @ phi @ loadings.T)
    x = factors @ loadings.T + rng.standard_normal((n, loadings.shape[0])) * np.sqrt(unique)
    return pd.DataFrame(x, columns=[f"q{i + 1}" for i in range(loadings.shape[0])])


def simple_structure(k: int, per_factor: int = 4, loading: float = 0.7) -> np.ndarray:
    pattern = np.zeros((k * per_factor, k))
    for j in range(k):
        pattern[j * per_factor : (j + 1) * per_factor, j] = loading
    return pattern


def exact_sample(corr: np.ndarray, n: int, seed: int) -> pd.DataFrame:
    """n cases whose sample correlation matrix is exactly `corr`."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, corr.shape[0]))
    q, _ = np.linalg.qr(z - z.mean(axis=0))
    x = q @ np.linalg.cholesky(corr).T * np.sqrt(n - 1)
    return pd.DataFrame(x, columns=[f"x{i + 1}" for i in range(corr.shape[0])])


@pytest.fixture(scope="module")
def two_factor() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Simple structure, unequal loadings, factor correlation 0.4.

    Without cross-loadings the population's oblimin (quartimin) solution is the generating
    pattern itself (criterion 0), so what remains is sampling error (about 0.02 at this n).
    """
    pattern = np.array(
        [
            [0.80, 0.00],
            [0.70, 0.00],
            [0.65, 0.00],
            [0.55, 0.00],
            [0.00, 0.75],
            [0.00, 0.70],
            [0.00, 0.60],
            [0.00, 0.50],
        ]
    )
    phi = np.array([[1.0, 0.4], [0.4, 1.0]])
    return factor_sample(pattern, phi, 10_000, seed=42), pattern, phi


# --- KMO and Bartlett: hand formulas ----------------------------------------------------------


def test_kmo_matches_the_anti_image_formula(two_factor) -> None:
    frame, _, _ = two_factor
    frame = frame.iloc[:300]
    r = np.corrcoef(frame.to_numpy(), rowvar=False)
    inverse = np.linalg.inv(r)
    partial = -inverse / np.sqrt(np.outer(np.diag(inverse), np.diag(inverse)))
    off = ~np.eye(r.shape[0], dtype=bool)
    r2, p2 = np.where(off, r**2, 0), np.where(off, partial**2, 0)
    expected_items = r2.sum(axis=0) / (r2.sum(axis=0) + p2.sum(axis=0))
    expected_overall = r2.sum() / (r2.sum() + p2.sum())
    overall, per_item = kmo(frame, list(frame.columns))
    assert overall == pytest.approx(expected_overall, abs=1e-10)
    assert per_item.to_numpy() == pytest.approx(expected_items, abs=1e-10)
    assert list(per_item.index) == list(frame.columns) and per_item.name == "kmo"


def test_kmo_is_silent_for_small_item_variances(two_factor) -> None:
    """factor_analyzer warns (pinv) when det(covariance) < 1.2e-7, e.g. for small variances."""
    frame, _, _ = two_factor
    small = frame.iloc[:300] * 0.05
    overall, _ = kmo(small, list(small.columns))  # warnings are errors in this suite
    assert overall == pytest.approx(kmo(frame.iloc[:300], list(frame.columns))[0], abs=1e-10)


def test_bartlett_matches_the_hand_formula(two_factor) -> None:
    frame, _, _ = two_factor
    frame = frame.iloc[:200]
    n, p = frame.shape
    _, logdet = np.linalg.slogdet(np.corrcoef(frame.to_numpy(), rowvar=False))
    chi2 = -(n - 1 - (2 * p + 5) / 6) * logdet
    result = bartlett_sphericity(frame, list(frame.columns))
    assert result["chi2"] == pytest.approx(chi2, rel=1e-10)
    assert result["df"] == p * (p - 1) // 2 == 28
    assert result["p"] == pytest.approx(stats.chi2.sf(chi2, 28), rel=1e-8, abs=1e-300)
    assert (result["n"], result["n_items"]) == (200, 8)


def test_bartlett_does_not_reject_for_independent_items() -> None:
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(rng.standard_normal((500, 6)), columns=list("abcdef"))
    assert bartlett_sphericity(frame, list(frame.columns))["p"] > 0.05


def test_factorability_refuses_incomplete_and_degenerate_data(two_factor) -> None:
    frame, _, _ = two_factor
    items = list(frame.columns)
    gappy = frame.iloc[:100].copy()
    gappy.loc[3, "q2"] = np.nan
    gappy.loc[[5, 6], "q7"] = np.nan
    for analysis in (kmo, bartlett_sphericity, parallel_analysis):
        with pytest.raises(AnalysisError, match=r"missing values in \{'q2': 1, 'q7': 2\}"):
            analysis(gappy, items, missing="complete")
    with pytest.raises(AnalysisError, match="8 usable cases, at least 9 needed"):
        kmo(frame.iloc[:8], items)
    with pytest.raises(AnalysisError, match=r"zero variance: \['q3'\]"):
        bartlett_sphericity(frame.assign(q3=2.0), items)
    with pytest.raises(AnalysisError, match="not positive definite"):
        kmo(frame.assign(q9=frame["q1"]), [*items, "q9"])


# --- parallel analysis ------------------------------------------------------------------------

N_ITER = {"pca": 100, "fa_smc": 100, "fa_psych": 15}  # fa_psych fits a factor model per data set


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("method", list(PARALLEL_METHODS))
def test_parallel_analysis_recovers_the_number_of_factors(method: str, k: int) -> None:
    phi = np.full((k, k), 0.3) + 0.7 * np.eye(k)
    frame = factor_sample(simple_structure(k), phi, 400, seed=100 + k)
    result = parallel_analysis(frame, list(frame.columns), method=method, n_iter=N_ITER[method])  # type: ignore[arg-type]
    assert result.suggested_n_factors == k
    assert result.method == method and result.description == PARALLEL_METHODS[method]
    assert result.eigenvalues["retained"].sum() == k and result.warnings == []


@pytest.mark.parametrize("method", list(PARALLEL_METHODS))
def test_parallel_analysis_finds_nothing_in_noise(method: str) -> None:
    rng = np.random.default_rng(9)
    frame = pd.DataFrame(rng.standard_normal((400, 10)), columns=[f"z{i}" for i in range(10)])
    result = parallel_analysis(frame, list(frame.columns), method=method, n_iter=N_ITER[method])  # type: ignore[arg-type]
    assert result.suggested_n_factors <= 1


def test_parallel_analysis_observed_eigenvalues_match_hand_computations() -> None:
    lam = np.array([0.8, 0.7, 0.6])
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1)
    frame = exact_sample(corr, 250, seed=4)
    items = list(frame.columns)
    observed = {
        m: parallel_analysis(frame, items, method=m, n_iter=5).eigenvalues["observed"].to_numpy()  # type: ignore[arg-type]
        for m in PARALLEL_METHODS
    }
    assert observed["pca"] == pytest.approx(np.sort(np.linalg.eigvalsh(corr))[::-1], abs=1e-10)
    # SMC as the R² of regressing each item on the others (not via the inverse)
    x = frame.to_numpy()
    smc = []
    for j in range(3):
        others = np.column_stack([np.ones(len(x)), np.delete(x, j, axis=1)])
        fitted = others @ np.linalg.lstsq(others, x[:, j], rcond=None)[0]
        smc.append(np.corrcoef(fitted, x[:, j])[0, 1] ** 2)
    reduced = corr.copy()
    np.fill_diagonal(reduced, smc)
    assert observed["fa_smc"] == pytest.approx(
        np.sort(np.linalg.eigvalsh(reduced))[::-1], abs=1e-10
    )
    # one factor fits three items exactly: communalities λ², eigenvalues (Σλ², 0, 0)
    assert observed["fa_psych"] == pytest.approx([(lam**2).sum(), 0, 0], abs=1e-4)


def test_parallel_analysis_is_deterministic_for_a_seed_and_tidy(two_factor) -> None:
    frame, _, _ = two_factor
    items = list(frame.columns)
    first = parallel_analysis(frame.iloc[:300], items, n_iter=40, seed=5)
    again = parallel_analysis(frame.iloc[:300], items, n_iter=40, seed=5)
    other = parallel_analysis(frame.iloc[:300], items, n_iter=40, seed=6)
    pd.testing.assert_frame_equal(first.eigenvalues, again.eigenvalues)
    assert not np.allclose(first.eigenvalues["simulated_mean"], other.eigenvalues["simulated_mean"])
    table = first.to_frame()
    assert list(table.columns) == [
        "method", "factor", "observed", "simulated_mean", "simulated_quantile", "retained",
        "quantile", "n_iter", "seed", "suggested_n_factors", "warnings",
    ]  # fmt: skip
    assert (table["method"] == "fa_smc").all() and (table["quantile"] == 0.95).all()
    sims = first.eigenvalues
    assert (sims["simulated_quantile"] >= sims["simulated_mean"]).all()


def test_parallel_analysis_can_compare_with_the_simulated_mean(two_factor) -> None:
    frame, _, _ = two_factor
    result = parallel_analysis(frame.iloc[:300], list(frame.columns), n_iter=40, quantile=None)
    table = result.eigenvalues
    above = table["observed"] > table["simulated_mean"]
    assert result.suggested_n_factors == int(np.argmin(above.to_numpy()))
    assert result.quantile is None and table["simulated_quantile"].isna().all()


def test_parallel_analysis_refuses_unknown_variants(two_factor) -> None:
    frame, _, _ = two_factor
    with pytest.raises(AnalysisError, match="unknown method 'kaiser'"):
        parallel_analysis(frame, list(frame.columns), method="kaiser")  # type: ignore[arg-type]


# --- exploratory factor analysis --------------------------------------------------------------


def align(
    estimate: np.ndarray, truth: np.ndarray
) -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
    """Columns of `estimate` permuted and re-signed to best match `truth`."""
    best = None
    for order in itertools.permutations(range(truth.shape[1])):
        candidate = estimate[:, order]
        signs = np.sign((candidate * truth).sum(axis=0))
        error = np.abs(candidate * signs - truth).max()
        if best is None or error < best[0]:
            best = (error, order, signs)
    assert best is not None
    _, order, signs = best
    return estimate[:, order] * signs, order, signs


@pytest.mark.parametrize("method", ["minres", "ml"])
def test_efa_recovers_a_known_two_factor_model(two_factor, method: str) -> None:
    frame, pattern, phi = two_factor
    result = exploratory_factor_analysis(frame, list(frame.columns), 2, method=method)  # type: ignore[arg-type]
    assert result.warnings == [] and result.rotation == "oblimin" and result.n == 10_000
    loadings, order, signs = align(result.loadings.to_numpy(), pattern)
    assert loadings == pytest.approx(pattern, abs=0.05)
    assert result.factor_correlations is not None and result.structure is not None
    phi_hat = result.factor_correlations.to_numpy()[np.ix_(order, order)] * np.outer(signs, signs)
    assert phi_hat == pytest.approx(phi, abs=0.05)
    true_communality = np.diag(pattern @ phi @ pattern.T)
    assert result.communalities.to_numpy() == pytest.approx(true_communality, abs=0.05)
    assert result.uniquenesses.to_numpy() == pytest.approx(1 - true_communality, abs=0.05)
    # structure = item-factor correlations of the population
    structure, _, _ = align(result.structure.to_numpy(), pattern @ phi)
    assert structure == pytest.approx(pattern @ phi, abs=0.05)
    true_ss = np.diag(phi @ pattern.T @ pattern)[list(order)]
    variance = result.variance
    assert variance["ss_loadings"].to_numpy() == pytest.approx(true_ss, abs=0.1)
    assert variance["ss_loadings"].is_monotonic_decreasing
    assert variance["proportion"].to_numpy() == pytest.approx(variance["ss_loadings"] / 8)
    assert variance["cumulative"].iloc[-1] == pytest.approx(true_communality.sum() / 8, abs=0.02)


def test_efa_phi_follows_reordered_factors() -> None:
    """A broad weak factor beside a narrow strong one: sorting by variance re-orders the factors.

    On these data factor_analyzer 0.5.1's own oblimin Phi is off by about 0.2 (it re-orders the
    loadings but not Phi); Phi here must match the population after aligning the factors.
    """
    pattern = np.zeros((15, 3))
    pattern[0:8, 0], pattern[8:11, 1], pattern[11:15, 2] = 0.45, 0.9, 0.6
    phi = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])
    frame = factor_sample(pattern, phi, 10_000, seed=5)
    result = exploratory_factor_analysis(frame, list(frame.columns), 3)
    loadings, order, signs = align(result.loadings.to_numpy(), pattern)
    assert order != (0, 1, 2)  # the factors did come out in another order than generated
    assert loadings == pytest.approx(pattern, abs=0.05)
    assert result.factor_correlations is not None
    phi_hat = result.factor_correlations.to_numpy()[np.ix_(order, order)] * np.outer(signs, signs)
    assert phi_hat == pytest.approx(phi, abs=0.05)


def test_efa_oblique_solution_reproduces_the_correlations() -> None:
    """Cross-loadings: communality is diag(Λ Φ Λ'), not the row sum of squared pattern loadings.

    Whatever the rotation, Λ Φ Λ' must reproduce the sample correlations off the diagonal, and
    the communalities must be the population's (the rotation-invariant part of the solution).
    """
    pattern = np.array(
        [[0.7, 0.0], [0.6, 0.0], [0.5, 0.4], [0.4, 0.5], [0.0, 0.7], [0.0, 0.6], [0.6, 0.0]]
    )
    phi = np.array([[1.0, 0.5], [0.5, 1.0]])
    frame = factor_sample(pattern, phi, 10_000, seed=13)
    result = exploratory_factor_analysis(frame, list(frame.columns), 2, method="ml")
    assert result.factor_correlations is not None
    lam, phi_hat = result.loadings.to_numpy(), result.factor_correlations.to_numpy()
    implied = lam @ phi_hat @ lam.T
    sample = np.corrcoef(frame.to_numpy(), rowvar=False)
    off = ~np.eye(7, dtype=bool)
    assert implied[off] == pytest.approx(sample[off], abs=0.02)
    true_communality = np.diag(pattern @ phi @ pattern.T)  # item 3: 0.41 + 2(0.5)(0.4)(0.5) = 0.61
    assert result.communalities.to_numpy() == pytest.approx(true_communality, abs=0.04)
    assert result.variance["ss_loadings"].sum() == pytest.approx(true_communality.sum(), abs=0.1)


def test_efa_tidy_outputs(two_factor) -> None:
    frame, _, _ = two_factor
    result = exploratory_factor_analysis(frame, list(frame.columns), 2)
    long = result.loadings_long()
    assert list(long.columns) == ["item", "factor", "loading", "structure"]
    assert len(long) == 16 and set(long["factor"]) == {"factor_1", "factor_2"}
    wide = result.to_frame()
    assert list(wide.columns) == ["item", "factor_1", "factor_2", "communality", "uniqueness"]
    assert list(result.variance.columns) == ["factor", "ss_loadings", "proportion", "cumulative"]


def test_efa_orthogonal_and_single_factor_have_no_phi(two_factor) -> None:
    frame, pattern, _ = two_factor
    varimax = exploratory_factor_analysis(frame, list(frame.columns), 2, rotation="varimax")
    assert varimax.factor_correlations is None and varimax.structure is None
    ss = (varimax.loadings.to_numpy() ** 2).sum(axis=0)
    assert varimax.variance["ss_loadings"].to_numpy() == pytest.approx(ss)
    one = exploratory_factor_analysis(frame, list(frame.columns)[:4], 1)
    assert one.rotation is None and one.factor_correlations is None and one.warnings == []
    assert one.loadings["factor_1"].to_numpy() == pytest.approx(pattern[:4, 0], abs=0.12)


def test_efa_warns_of_a_heywood_case() -> None:
    corr = np.array([[1, 0.8, 0.8], [0.8, 1, 0.4], [0.8, 0.4, 1]])  # needs λ1² = 1.6
    frame = exact_sample(corr, 300, seed=7)
    for method in ("minres", "ml"):
        result = exploratory_factor_analysis(frame, list(frame.columns), 1, method=method)  # type: ignore[arg-type]
        assert any(w.startswith("Heywood case") and "['x1']" in w for w in result.warnings)


def test_efa_warns_when_the_rotation_does_not_converge(two_factor) -> None:
    frame, _, _ = two_factor
    result = exploratory_factor_analysis(frame, list(frame.columns), 2, rotation_max_iter=1)
    assert "oblimin rotation did not converge within 1 iterations" in result.warnings


def test_efa_warns_when_the_extraction_does_not_converge(two_factor, monkeypatch) -> None:
    real_minimize = fa_module.minimize

    def failing_minimize(*args, **kwargs):
        result = real_minimize(*args, **kwargs)
        result.success = False
        result.message = "ABNORMAL_TERMINATION_IN_LNSRCH"
        return result

    monkeypatch.setattr(fa_module, "minimize", failing_minimize)
    frame, _, _ = two_factor
    result = exploratory_factor_analysis(frame, list(frame.columns), 2)
    assert any("Failed to converge: ABNORMAL_TERMINATION_IN_LNSRCH" in w for w in result.warnings)


def test_efa_refuses_unidentified_or_degenerate_models(two_factor) -> None:
    frame, _, _ = two_factor
    items = list(frame.columns)
    with pytest.raises(
        AnalysisError, match=r"5 factors cannot be identified from 8 items.*at most 4"
    ):
        exploratory_factor_analysis(frame, items, 5)
    with pytest.raises(AnalysisError, match="not positive definite"):
        exploratory_factor_analysis(frame.assign(q9=frame["q2"]), [*items, "q9"], 2)
    with pytest.raises(AnalysisError, match=r"zero variance: \['q1'\]"):
        exploratory_factor_analysis(frame.assign(q1=4.0), items, 2)
    with pytest.raises(AnalysisError, match="5 usable cases, at least 9 needed"):
        exploratory_factor_analysis(frame.iloc[:5], items, 2)
    with pytest.raises(AnalysisError, match="unknown rotation 'oblique'"):
        exploratory_factor_analysis(frame, items, 2, rotation="oblique")


def test_parallel_analysis_simulation_equals_fresh_draws_and_np_corrcoef(two_factor) -> None:
    """The reused buffer gets the same draws as calling
    `rng.standard_normal((n, p))` each time, and the in-place correlation is np.corrcoef's."""
    from hazegov.analysis.factorability import (
        _corrcoef_in_place,
        _eigenvalues,
        _normal_data_sets,
    )

    n, p, n_iter, seed = 357, 6, 7, 12
    reference = np.random.default_rng(seed)
    for noise in _normal_data_sets(np.random.default_rng(seed), n, p, n_iter):
        expected = reference.standard_normal((n, p))
        np.testing.assert_array_equal(noise, expected)
        np.testing.assert_array_equal(
            _corrcoef_in_place(noise), np.corrcoef(expected, rowvar=False)
        )
    # the whole analysis: the old loop, written out
    frame = two_factor[0].iloc[:300]
    items = list(frame.columns)
    result = parallel_analysis(frame, items, n_iter=30, seed=seed, method="fa_smc")
    rng = np.random.default_rng(seed)
    old = np.array(
        [
            _eigenvalues(
                np.corrcoef(rng.standard_normal((len(frame), len(items))), rowvar=False),
                "fa_smc",
                [],
            )
            for _ in range(30)
        ]
    )
    table = result.eigenvalues
    np.testing.assert_array_equal(table["simulated_mean"], old.mean(axis=0))
    np.testing.assert_array_equal(table["simulated_quantile"], np.quantile(old, 0.95, axis=0))


# --- missing answers: pairwise-complete correlations (psych's use="pairwise") ------------------
#
# References, printed by psych on its `bfi` data (2,800 respondents, 25 items, 364 respondents
# with a skipped item; tests/fixtures/bfi/README.md), all with pairwise-complete correlations:
# - KMO(bfi[1:25]) and fa.parallel(bfi[1:25]): Murat Koptur, "Factor Analysis" (R Markdown,
#   2018), github.com/mrtkp9993/Statistical-Modeling-Examples, notebooks/Factor_Analysis.md.
# - cortest.bartlett(bfi[1:200, 1:10]): psych's reference page "Bartlett's test that a
#   correlation matrix is an identity matrix", personality-project.github.io/psych/reference/
#   cortest.bartlett.html (example section). A rendering of the page for psych 2.5.6 prints
#   366.5438 for the same call instead; the author's page agrees with psych 2.2.9, whose bfi the
#   fixture is. The `bfi` fixture is in tests/conftest.py.

# KMO(bfi[1:25]): "Overall MSA = 0.85" and the MSA of each item, to 2 decimals
PSYCH_BFI_MSA = {
    "A1": 0.74, "A2": 0.84, "A3": 0.87, "A4": 0.87, "A5": 0.90,
    "C1": 0.83, "C2": 0.79, "C3": 0.85, "C4": 0.82, "C5": 0.86,
    "E1": 0.83, "E2": 0.88, "E3": 0.89, "E4": 0.87, "E5": 0.89,
    "N1": 0.78, "N2": 0.78, "N3": 0.86, "N4": 0.88, "N5": 0.86,
    "O1": 0.85, "O2": 0.78, "O3": 0.84, "O4": 0.76, "O5": 0.76,
}  # fmt: skip


def test_the_bfi_fixture_has_psychs_missing_answers(bfi: pd.DataFrame) -> None:
    """2,800 x 25 with 364 incomplete rows (psych: sum(!complete.cases(bfi[1:25])))."""
    assert bfi.shape == (2800, 25)
    assert list(bfi.columns) == list(PSYCH_BFI_MSA)
    assert int(bfi.isna().any(axis=1).sum()) == 364


def test_kmo_with_missing_answers_matches_psych_on_bfi(bfi: pd.DataFrame) -> None:
    overall, per_item = kmo(bfi, list(bfi.columns))
    assert round(overall, 2) == 0.85
    assert per_item.round(2).to_dict() == PSYCH_BFI_MSA


def test_bartlett_with_missing_answers_matches_psych_reference_page(bfi: pd.DataFrame) -> None:
    """cortest.bartlett(bfi[1:200, 1:10]): chisq 457.457, p 1.136106e-69, df 45 (n = 200 rows;
    198 to 200 cases behind a correlation)."""
    result = bartlett_sphericity(bfi.iloc[:200], list(bfi.columns[:10]))
    assert result["chi2"] == pytest.approx(457.457, abs=5e-4)
    assert result["p"] == pytest.approx(1.136106e-69, abs=5e-76)
    assert (result["df"], result["n"], result["n_items"]) == (45, 200, 10)
    assert result["missing"] == "pairwise"
    assert (result["n_pair_min"], result["n_pair_max"]) == (198, 200)


@pytest.mark.parametrize("method", ["fa_psych", "pca"])
def test_parallel_analysis_with_missing_answers_suggests_psychs_six_on_bfi(
    bfi: pd.DataFrame, method: str
) -> None:
    """fa.parallel(bfi[1:25]): "the number of factors = 6 and the number of components = 6",
    with psych's defaults: 20 simulated normal data sets, their 95% quantile."""
    result = parallel_analysis(bfi, list(bfi.columns), method=method, n_iter=20, quantile=0.95)
    assert result.suggested_n_factors == 6
    assert result.n == 2800
    assert any("pairwise-complete" in w for w in result.warnings)


def gappy_two_factor(frame: pd.DataFrame) -> pd.DataFrame:
    """The first 400 cases with answers skipped at random, a different set for each item."""
    rng = np.random.default_rng(5)
    gappy = frame.iloc[:400].copy()
    return gappy.mask(rng.random(gappy.shape) < 0.06)


def test_pairwise_results_match_a_hand_computation_on_pandas_correlations(two_factor) -> None:
    """Independent of the code under test: pandas' DataFrame.corr is pairwise-complete; the
    anti-image and Bartlett formulas are written out here."""
    gappy = gappy_two_factor(two_factor[0])
    items = list(gappy.columns)
    r = gappy.corr().to_numpy()
    inverse = np.linalg.inv(r)
    partial = -inverse / np.sqrt(np.outer(np.diag(inverse), np.diag(inverse)))
    off = ~np.eye(len(items), dtype=bool)
    r2, p2 = np.where(off, r**2, 0), np.where(off, partial**2, 0)
    overall, per_item = kmo(gappy, items)
    assert overall == pytest.approx(r2.sum() / (r2.sum() + p2.sum()), abs=1e-12)
    assert per_item.to_numpy() == pytest.approx(
        r2.sum(axis=0) / (r2.sum(axis=0) + p2.sum(axis=0)), abs=1e-12
    )
    n, p = len(gappy), len(items)
    chi2 = -(n - 1 - (2 * p + 5) / 6) * np.log(np.linalg.det(r))
    result = bartlett_sphericity(gappy, items)
    assert result["chi2"] == pytest.approx(chi2, rel=1e-10)
    assert result["p"] == pytest.approx(stats.chi2.sf(chi2, p * (p - 1) // 2), rel=1e-8)
    pair_counts = [
        int((gappy[a].notna() & gappy[b].notna()).sum())
        for a, b in itertools.combinations(items, 2)
    ]
    assert (result["n_pair_min"], result["n_pair_max"]) == (min(pair_counts), max(pair_counts))
    observed = parallel_analysis(gappy, items, method="pca", n_iter=5).eigenvalues["observed"]
    assert observed.to_numpy() == pytest.approx(np.linalg.eigvalsh(r)[::-1], abs=1e-12)


def test_complete_data_give_the_same_results_under_either_rule(two_factor) -> None:
    frame = two_factor[0].iloc[:300]
    items = list(frame.columns)
    overall, per_item = kmo(frame, items, missing="pairwise")
    assert (overall, per_item.to_dict()) == (
        kmo(frame, items, missing="complete")[0],
        kmo(frame, items, missing="complete")[1].to_dict(),
    )
    assert bartlett_sphericity(frame, items, missing="pairwise") == bartlett_sphericity(
        frame, items, missing="complete"
    )
    pa = parallel_analysis(frame, items, n_iter=20, missing="pairwise")
    pd.testing.assert_frame_equal(
        pa.to_frame(), parallel_analysis(frame, items, n_iter=20, missing="complete").to_frame()
    )
    assert pa.warnings == []


def test_pairwise_refuses_what_it_cannot_compute(two_factor) -> None:
    frame = two_factor[0].iloc[:300]
    items = list(frame.columns)
    gappy = gappy_two_factor(frame)
    with pytest.raises(AnalysisError, match="unknown missing-data rule 'listwise'"):
        kmo(gappy, items, missing="listwise")  # type: ignore[arg-type]
    sparse = frame.iloc[:40].copy()
    sparse.loc[sparse.index[:35], "q1"] = np.nan  # 5 cases behind each correlation with q1
    with pytest.raises(AnalysisError, match="5 usable cases, at least 9 needed"):
        bartlett_sphericity(sparse, items)
    # each pair answered by its own 100 respondents: a~b and b~c near 1 but a~c near -1, which
    # no data set answering all three could give (the matrix is not positive definite)
    rng = np.random.default_rng(3)
    x, y, z = rng.standard_normal((3, 100))
    noise = rng.normal(0, 0.1, (3, 100))
    gap = np.full(100, np.nan)
    split = pd.DataFrame(
        {
            "a": np.concatenate([x, gap, z]),
            "b": np.concatenate([x + noise[0], y, gap]),
            "c": np.concatenate([gap, y + noise[1], -z + noise[2]]),
        }
    )
    with pytest.raises(AnalysisError, match="not positive definite"):
        parallel_analysis(split, ["a", "b", "c"])
