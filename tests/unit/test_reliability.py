"""Item statistics, alpha, omega and item analysis against independent references.

References: the published psych::alpha values of section C of the shared reference file, hand
formulas written out here, and simulated populations whose reliability is known analytically.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.items import item_statistics
from hazegov.analysis.reliability import (
    NO_REVERSE_ITEM_WARNING,
    cronbach_alpha,
    item_reliability,
    mcdonald_omega,
    scale_reliability,
)


def exact_sample(corr: np.ndarray, n: int, seed: int, prefix: str = "x") -> pd.DataFrame:
    """n cases whose sample correlation matrix is exactly `corr` (whitened noise, rotated)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, corr.shape[0]))
    q, _ = np.linalg.qr(z - z.mean(axis=0))
    x = q @ np.linalg.cholesky(corr).T * np.sqrt(n - 1)
    return pd.DataFrame(x, columns=[f"{prefix}{i + 1}" for i in range(corr.shape[0])])


def congeneric_sample(loadings: np.ndarray, n: int, seed: int) -> pd.DataFrame:
    """Standardized one-factor (congeneric) data: x = λ f + sqrt(1 - λ²) e."""
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((n, 1))
    noise = rng.standard_normal((n, loadings.size))
    x = factor * loadings + noise * np.sqrt(1 - loadings**2)
    return pd.DataFrame(x, columns=[f"x{i + 1}" for i in range(loadings.size)])


def likert(frame: pd.DataFrame) -> pd.DataFrame:
    """Cut standardized scores into 5-point answers."""
    return frame.apply(
        lambda c: pd.cut(c, [-np.inf, -1.5, -0.5, 0.5, 1.5, np.inf], labels=False) + 1
    )


def population_omega(loadings: np.ndarray) -> float:
    total = loadings.sum() ** 2
    return float(total / (total + (1 - loadings**2).sum()))


def hand_alpha(data: pd.DataFrame) -> float:
    k = data.shape[1]
    return k / (k - 1) * (1 - data.var(ddof=1).sum() / data.sum(axis=1).var(ddof=1))


# --- item statistics -------------------------------------------------------------------------


def test_item_statistics_match_hand_formulas() -> None:
    answers = [1, 2, 2, 3, 3, 3, 4, 5, 5, 5, 1, 4, np.nan, 2, np.nan, 3]
    frame = pd.DataFrame({"q1": answers, "q2": [5 - (a % 5) if a == a else a for a in answers]})
    table = item_statistics(frame, ["q1", "q2"]).set_index("item")
    x = np.array([a for a in answers if a == a], dtype=float)
    n = x.size
    d = x - x.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    g1, g2 = m3 / m2**1.5, m4 / m2**2 - 3
    skew_adjusted = np.sqrt(n * (n - 1)) / (n - 2) * g1
    kurt_adjusted = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    row = table.loc["q1"]
    assert row["n"] == 14
    assert row["mean"] == pytest.approx(x.sum() / n, abs=1e-12)
    assert row["sd"] == pytest.approx(np.sqrt((d**2).sum() / (n - 1)), abs=1e-12)
    assert row["skewness"] == pytest.approx(skew_adjusted, abs=1e-12)
    assert row["excess_kurtosis"] == pytest.approx(kurt_adjusted, abs=1e-12)
    assert row["floor_share"] == pytest.approx(2 / 14)
    assert row["ceiling_share"] == pytest.approx(3 / 14)
    assert row["missing_share"] == pytest.approx(2 / 16)
    assert row["warnings"] == ""
    assert list(table.columns) == [
        "n", "mean", "sd", "skewness", "excess_kurtosis",
        "floor_share", "ceiling_share", "missing_share", "warnings",
    ]  # fmt: skip


def test_item_statistics_use_the_scale_not_the_observed_range() -> None:
    frame = pd.DataFrame({"q": [2, 3, 4, 4, 3, 2, 3]})
    row = item_statistics(frame, ["q"]).iloc[0]
    assert row["floor_share"] == 0.0 and row["ceiling_share"] == 0.0
    row7 = item_statistics(frame, ["q"], scale_min=2, scale_max=7).iloc[0]
    assert row7["floor_share"] == pytest.approx(2 / 7) and row7["ceiling_share"] == 0.0


def test_item_statistics_use_each_items_own_range() -> None:
    # issue 14: every item's floor and ceiling were taken at the first item's range
    frame = pd.DataFrame(
        {
            "agree5": [1, 1, 5, 3, 2, 5, 5, 4],  # floor 1: 2 of 8, ceiling 5: 3 of 8
            "agree7": [1, 5, 7, 6, 6, 5, 5, 2],  # floor 1: 1 of 8, ceiling 7: 1 of 8 (5: 3)
            "rating2to6": [2, 2, 2, 6, 4, 3, 3, np.nan],  # floor 2: 3 of 7, ceiling 6: 1 of 7
        }
    )
    ranges = {"agree5": (1, 5), "agree7": (1, 7), "rating2to6": (2, 6)}
    table = item_statistics(frame, list(frame.columns), ranges=ranges).set_index("item")
    assert table["floor_share"].tolist() == pytest.approx([2 / 8, 1 / 8, 3 / 7])
    assert table["ceiling_share"].tolist() == pytest.approx([3 / 8, 1 / 8, 1 / 7])
    # items `ranges` leaves out keep the common range, and a 7 is outside a 5-point item
    with pytest.raises(AnalysisError, match=r"'agree7'.*outside the 1–5 scale.*\[6\.0, 7\.0\]"):
        item_statistics(frame, ["agree5", "agree7"], ranges={"agree5": (1, 5)})
    with pytest.raises(AnalysisError, match="scale_min 7 must be < scale_max 1 of 'agree7'"):
        item_statistics(frame, ["agree7"], ranges={"agree7": (7, 1)})


def test_item_statistics_refuse_answers_outside_the_scale() -> None:
    with pytest.raises(AnalysisError, match=r"'q'.*outside the 1–5 scale.*\[0\.0, 9\.0\]"):
        item_statistics(pd.DataFrame({"q": [1, 0, 3, 9]}), ["q"])


def test_item_statistics_flag_what_an_item_cannot_support() -> None:
    frame = pd.DataFrame(
        {"flat": [3, 3, 3, 3, 3], "short": [1, 5, 2, np.nan, np.nan], "empty": [np.nan] * 5}
    )
    table = item_statistics(frame, ["flat", "short", "empty"]).set_index("item")
    # pandas itself reports 0.0 skewness for a constant item: that must not come through
    assert np.isnan(table.loc["flat", "skewness"]) and np.isnan(
        table.loc["flat", "excess_kurtosis"]
    )
    assert "zero variance" in table.loc["flat", "warnings"]
    assert not np.isnan(table.loc["short", "skewness"])
    assert np.isnan(table.loc["short", "excess_kurtosis"])
    assert "kurtosis needs at least 4" in table.loc["short", "warnings"]
    assert table.loc["empty", "n"] == 0 and table.loc["empty", "missing_share"] == 1.0
    assert "sd needs at least 2" in table.loc["empty", "warnings"]


# --- Cronbach's alpha: section C of the reference file (psych::alpha) ------------------------


@pytest.fixture(scope="module")
def cronbach_wide_missing() -> pd.DataFrame:
    return pingouin.read_dataset("cronbach_wide_missing")


def test_alpha_pairwise_reproduces_psych(cronbach_wide_missing: pd.DataFrame) -> None:
    result = cronbach_alpha(cronbach_wide_missing, list(cronbach_wide_missing.columns))
    assert result.alpha == pytest.approx(0.732660835214447, abs=1e-12)
    assert result.ci_lower == pytest.approx(0.435, abs=5e-4)  # published to 3 decimals
    assert result.ci_upper == pytest.approx(0.909, abs=5e-4)
    assert (result.n, result.n_complete, result.k, result.missing) == (12, 9, 11, "pairwise")
    assert result.warnings == []


def test_alpha_listwise_reproduces_psych(cronbach_wide_missing: pd.DataFrame) -> None:
    items = list(cronbach_wide_missing.columns)
    result = cronbach_alpha(cronbach_wide_missing, items, missing="listwise")
    assert result.alpha == pytest.approx(0.8016949152542373, abs=1e-12)
    assert result.ci_lower == pytest.approx(0.581, abs=5e-4)
    assert result.ci_upper == pytest.approx(0.933, abs=5e-4)
    assert result.alpha == pytest.approx(hand_alpha(cronbach_wide_missing.dropna()), abs=1e-12)
    frame = result.to_frame()
    assert list(frame.columns) == [
        "alpha", "ci_lower", "ci_upper", "ci_level", "n", "n_complete", "k", "missing", "warnings",
    ]  # fmt: skip
    assert frame.loc[0, "ci_lower"] != round(frame.loc[0, "ci_lower"], 3)  # not rounded


def test_alpha_ci_level_is_honoured(cronbach_wide_missing: pd.DataFrame) -> None:
    items = list(cronbach_wide_missing.columns)
    wide = cronbach_alpha(cronbach_wide_missing, items, ci=0.99)
    narrow = cronbach_alpha(cronbach_wide_missing, items, ci=0.90)
    assert wide.ci_lower < narrow.ci_lower < narrow.alpha < narrow.ci_upper < wide.ci_upper


def test_alpha_refuses_degenerate_scales() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 2, 2], "c": [1, 3, 2, 4]})
    with pytest.raises(AnalysisError, match="at least 2 items, got 1"):
        cronbach_alpha(frame, ["a"])
    with pytest.raises(AnalysisError, match=r"zero variance: \['b'\]"):
        cronbach_alpha(frame, ["a", "b", "c"])
    with pytest.raises(AnalysisError, match="listed more than once"):
        cronbach_alpha(frame, ["a", "a", "c"])
    sparse = pd.DataFrame({"a": [1, 2, np.nan], "c": [np.nan, 3, 4]})
    with pytest.raises(AnalysisError, match=r"1 usable cases, at least 2 needed"):
        cronbach_alpha(sparse, ["a", "c"], missing="listwise")
    with pytest.raises(AnalysisError, match="fewer than 2 joint answers"):
        cronbach_alpha(sparse, ["a", "c"], missing="pairwise")


def test_alpha_warns_when_items_covary_negatively() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [5, 4, 3, 2, 1], "c": [2, 1, 4, 3, 5]})
    result = cronbach_alpha(frame, ["a", "b", "c"])
    assert result.alpha < 0 and "reverse-keyed" in result.warnings[0]


# --- McDonald's omega -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ml", "minres"])
def test_omega_is_exact_on_a_just_identified_population(method: str) -> None:
    """Three items: the one-factor model fits exactly, so omega is known by hand."""
    lam = np.array([0.8, 0.7, 0.6])
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1)
    frame = exact_sample(corr, 200, seed=3)
    result = mcdonald_omega(frame, list(frame.columns), method=method)  # type: ignore[arg-type]
    expected = 2.1**2 / (2.1**2 + (0.36 + 0.51 + 0.64))  # = 0.744932...
    assert result.omega_total == pytest.approx(expected, abs=1e-4)
    assert result.loadings.to_numpy() == pytest.approx(lam, abs=1e-3)
    assert result.method == f"{method}_one_factor" and result.n == 200 and result.warnings == []


def test_omega_recovers_a_congeneric_population() -> None:
    lam = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    frame = congeneric_sample(lam, 20_000, seed=11)
    result = mcdonald_omega(frame, list(frame.columns))
    # (Σλ)² = 3.9² = 15.21; Σ(1 - λ²) = 6 - 2.71 = 3.29
    assert population_omega(lam) == pytest.approx(15.21 / 18.5, abs=1e-12)
    assert result.omega_total == pytest.approx(population_omega(lam), abs=0.005)
    assert result.loadings.to_numpy() == pytest.approx(lam, abs=0.02)
    # unequal loadings: alpha understates reliability, omega does not
    alpha = cronbach_alpha(frame, list(frame.columns)).alpha
    assert alpha < result.omega_total


def test_omega_refuses_or_warns_on_degenerate_scales() -> None:
    lam = np.array([0.8, 0.7, 0.6, 0.5])
    frame = congeneric_sample(lam, 300, seed=5)
    with pytest.raises(AnalysisError, match="at least 3 items"):
        mcdonald_omega(frame, ["x1", "x2"])
    duplicated = frame.assign(x5=frame["x1"])
    with pytest.raises(AnalysisError, match="not positive definite"):
        mcdonald_omega(duplicated, ["x1", "x2", "x3", "x5"])
    with pytest.raises(AnalysisError, match=r"3 usable cases, at least 5 needed"):
        mcdonald_omega(frame.head(3), ["x1", "x2", "x3", "x4"])
    reversed_item = frame.assign(x4=-frame["x4"])
    result = mcdonald_omega(reversed_item, ["x1", "x2", "x3", "x4"])
    assert any("negative loadings for ['x4']" in w for w in result.warnings)


def test_omega_warns_of_a_heywood_case() -> None:
    # r12 r13 / r23 = 1.6: a one-factor fit needs a loading above 1 for x1
    corr = np.array([[1, 0.8, 0.8], [0.8, 1, 0.4], [0.8, 0.4, 1]])
    frame = exact_sample(corr, 300, seed=7)
    result = mcdonald_omega(frame, list(frame.columns))
    assert any(w.startswith("Heywood case") and "'x1'" in w for w in result.warnings)


# --- scale and item tables ------------------------------------------------------------------


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    """Three Likert scales: a 4-item one, a 2-item one and a 1-item one, with some gaps."""
    rng = np.random.default_rng(2024)
    lam = np.array([0.8, 0.75, 0.7, 0.65])
    trust = likert(congeneric_sample(lam, 400, seed=21)).add_prefix("trust_")
    pair = likert(congeneric_sample(np.array([0.7, 0.7]), 400, seed=22)).add_prefix("pair_")
    frame = pd.concat([trust, pair], axis=1)
    frame["single_x1"] = rng.integers(1, 6, 400)
    frame = frame.astype(float)
    frame.iloc[rng.integers(0, 400, 30), 1] = np.nan
    return frame


MODEL = {
    "trust": ["trust_x1", "trust_x2", "trust_x3", "trust_x4"],
    "pair": ["pair_x1", "pair_x2"],
    "single": ["single_x1"],
}


def test_scale_reliability_is_tidy_and_explains_every_gap(survey: pd.DataFrame) -> None:
    table = scale_reliability(survey, MODEL).set_index("construct")
    trust = table.loc["trust"]
    complete = survey[MODEL["trust"]].dropna()
    assert trust["k"] == 4 and trust["n"] == 400 and trust["n_complete"] == len(complete) < 400
    assert trust["alpha_listwise"] == pytest.approx(hand_alpha(complete), abs=1e-12)
    assert (
        trust["alpha_pairwise_ci_lower"]
        < trust["alpha_pairwise"]
        < trust["alpha_pairwise_ci_upper"]
    )
    assert trust["omega_n"] == len(complete) and 0.7 < trust["omega_total"] < 0.95
    assert trust["warnings"] == ""
    pair = table.loc["pair"]
    assert not np.isnan(pair["alpha_pairwise"]) and np.isnan(pair["omega_total"])
    assert "omega: McDonald's omega: needs at least 3 items" in pair["warnings"]
    single = table.loc["single"]
    assert np.isnan(single["alpha_pairwise"]) and np.isnan(single["alpha_listwise"])
    assert "needs at least 2 items, got 1" in single["warnings"]
    assert all(c == c.lower() and " " not in c for c in table.reset_index().columns)


def test_scale_reliability_reports_a_zero_variance_item(survey: pd.DataFrame) -> None:
    flat = survey.assign(trust_x3=3.0)
    row = scale_reliability(flat, {"trust": MODEL["trust"]}).iloc[0]
    assert np.isnan(row["alpha_pairwise"]) and np.isnan(row["omega_total"])
    assert "zero variance: ['trust_x3']" in row["warnings"]


def test_item_reliability_matches_data_level_formulas(survey: pd.DataFrame) -> None:
    table = item_reliability(survey, {"trust": MODEL["trust"]}, missing="listwise")
    complete = survey[MODEL["trust"]].dropna()
    for row in table.itertuples():
        rest = complete.drop(columns=row.item)
        r_drop = np.corrcoef(complete[row.item], rest.sum(axis=1))[0, 1]
        assert row.corrected_item_total_r == pytest.approx(r_drop, abs=1e-12)
        assert row.alpha_if_deleted == pytest.approx(hand_alpha(rest), abs=1e-12)
        assert row.warnings == ""


def covariance_alpha(cov: np.ndarray) -> float:
    """Cronbach's alpha from a covariance matrix, written out independently of the package.

    Parameters
    ----------
    cov : numpy.ndarray
        k x k covariance matrix of the items.

    Returns
    -------
    float
        ``k / (k - 1) * (1 - trace(cov) / sum(cov))``.
    """
    k = cov.shape[0]
    return k / (k - 1) * (1 - np.trace(cov) / cov.sum())


def test_item_reliability_pairwise_matches_a_hand_computation(survey: pd.DataFrame) -> None:
    """Alpha if deleted under pairwise deletion, computed by hand with numpy from the
    pairwise-complete covariance matrix of the remaining items (pandas' ``DataFrame.cov``
    uses every pair of answers), not with the package's own `cronbach_alpha`."""
    table = item_reliability(survey, {"trust": MODEL["trust"]}).set_index("item")
    assert survey[MODEL["trust"]].isna().any().any()  # gaps: pairwise differs from listwise
    for item in MODEL["trust"]:
        rest = [i for i in MODEL["trust"] if i != item]
        expected = covariance_alpha(survey[rest].cov().to_numpy())
        assert table.loc[item, "alpha_if_deleted"] == pytest.approx(expected, abs=1e-12)


# psych::alpha's "Reliability if an item is dropped" raw_alpha column, printed to 2 decimals,
# for alpha(bfi[,1:25]) (as is) and alpha(bfi[,1:25], check.keys = TRUE) (13 items reversed,
# psych's 7 - x), both with psych's default pairwise-complete covariances. Source: Jinjian Mu,
# "Factor Analysis in R" (blog post, 2021-04-15), section "Preliminary Work": knitted
# R Markdown output on psych's bfi data (tests/fixtures/bfi/README.md).
PSYCH_BFI_ALPHA_DROP = {
    "A1": 0.54, "A2": 0.52, "A3": 0.52, "A4": 0.53, "A5": 0.53,
    "C1": 0.53, "C2": 0.52, "C3": 0.54, "C4": 0.53, "C5": 0.54,
    "E1": 0.56, "E2": 0.55, "E3": 0.52, "E4": 0.54, "E5": 0.53,
    "N1": 0.48, "N2": 0.49, "N3": 0.47, "N4": 0.50, "N5": 0.49,
    "O1": 0.53, "O2": 0.53, "O3": 0.53, "O4": 0.52, "O5": 0.54,
}  # fmt: skip
PSYCH_BFI_KEYED_ALPHA_DROP = {
    "A1": 0.82, "A2": 0.81, "A3": 0.81, "A4": 0.82, "A5": 0.81,
    "C1": 0.82, "C2": 0.82, "C3": 0.82, "C4": 0.81, "C5": 0.81,
    "E1": 0.82, "E2": 0.81, "E3": 0.81, "E4": 0.81, "E5": 0.81,
    "N1": 0.81, "N2": 0.81, "N3": 0.81, "N4": 0.81, "N5": 0.82,
    "O1": 0.82, "O2": 0.82, "O3": 0.81, "O4": 0.83, "O5": 0.82,
}  # fmt: skip
PSYCH_BFI_REVERSED = ["A1", "C4", "C5", "E1", "E2", "N1", "N2", "N3", "N4", "N5", "O2", "O4", "O5"]


@pytest.mark.parametrize("keyed", [False, True], ids=["as_is", "check_keys"])
def test_item_reliability_pairwise_reproduces_psych_on_bfi(bfi: pd.DataFrame, keyed: bool) -> None:
    data = bfi.assign(**{c: 7 - bfi[c] for c in PSYCH_BFI_REVERSED}) if keyed else bfi
    printed = PSYCH_BFI_KEYED_ALPHA_DROP if keyed else PSYCH_BFI_ALPHA_DROP
    table = item_reliability(data, {"bfi": list(bfi.columns)}).set_index("item")
    assert list(table.index) == list(printed)
    for item, value in printed.items():
        # printed to 2 decimals: within half a unit of the last digit
        assert table.loc[item, "alpha_if_deleted"] == pytest.approx(value, abs=5e-3)


def test_item_reliability_flags_short_scales_and_reversed_items(survey: pd.DataFrame) -> None:
    reversed_item = survey.assign(trust_x4=6 - survey["trust_x4"])
    table = item_reliability(reversed_item, MODEL).set_index("item")
    assert table.loc["trust_x4", "corrected_item_total_r"] < 0
    assert "reverse-keyed" in table.loc["trust_x4", "warnings"]
    assert np.isnan(table.loc["pair_x1", "alpha_if_deleted"])
    assert "needs 3+ items" in table.loc["pair_x1", "warnings"]
    assert np.isnan(table.loc["single_x1", "corrected_item_total_r"])
    assert "at least 2 items" in table.loc["single_x1", "warnings"]


def test_a_scale_without_reverse_worded_items_is_warned_about() -> None:
    rng = np.random.default_rng(14)
    common = rng.normal(size=200)
    frame = pd.DataFrame(
        {
            f"{c}{i}": np.rint(3 + common + rng.normal(size=200)).clip(1, 5)
            for c in "ab"
            for i in (1, 2, 3)
        }
    )
    model = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]}
    table = scale_reliability(frame, model, reverse_items={"A": ["a3"], "B": []})
    warnings = table.set_index("construct")["warnings"]
    assert NO_REVERSE_ITEM_WARNING in warnings["B"]
    assert NO_REVERSE_ITEM_WARNING not in warnings["A"]
    # the reliability estimates themselves do not change
    plain = scale_reliability(frame, model)
    pd.testing.assert_frame_equal(table.drop(columns="warnings"), plain.drop(columns="warnings"))
    assert not plain["warnings"].str.contains("reverse").any()
