"""Group comparisons checked against hand formulas, scipy and a simulated known population."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.groups import (
    _bootstrap_effect_sizes,
    _pair_rows,
    compare_constructs,
    compare_groups,
    kruskal_h,
    kruskal_h_from_counts,
    omega_squared,
    omega_squared_from_counts,
    one_way_anova,
)

# Tiny data set for the hand computations (worked out below).
TINY = {"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 5.0], "c": [5.0, 6.0, 7.0, 8.0]}


def frame_of(groups: dict[str, list[float]], outcome: str = "EFF") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sector": [g for g, values in groups.items() for _ in values],
            outcome: [v for values in groups.values() for v in values],
        }
    )


def likert_means(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """Construct scores as a 5-item mean: multiples of 0.2 within 1..5, many ties."""
    return np.clip(np.round(rng.normal(mean, sd, n) * 5) / 5, 1, 5)


@pytest.fixture(scope="module")
def unequal() -> dict[str, list[float]]:
    """Three sectors with unequal sizes and variances (Welch's design), tied scores."""
    rng = np.random.default_rng(7)
    return {
        "government": list(likert_means(rng, 3.0, 0.4, 12)),
        "public_health": list(likert_means(rng, 3.4, 0.9, 20)),
        "residents": list(likert_means(rng, 3.9, 0.6, 9)),
    }


def test_welch_anova_matches_welch_1951_formula(unequal: dict[str, list[float]]) -> None:
    result = compare_groups(frame_of(unequal), "EFF", "sector", n_boot=50)
    # Welch (1951): w_i = n_i/s_i², weighted mean, A = Σ w_i (m_i − m_w)² / (k − 1),
    # Λ = Σ (1 − w_i/W)² / (n_i − 1), F = A / (1 + 2(k − 2)Λ / (k² − 1)), df2 = (k² − 1)/(3Λ).
    arrays = [np.asarray(v) for v in unequal.values()]
    k = len(arrays)
    n = np.array([a.size for a in arrays])
    m = np.array([a.mean() for a in arrays])
    w = n / np.array([a.var(ddof=1) for a in arrays])
    m_w = (w * m).sum() / w.sum()
    lam = ((1 - w / w.sum()) ** 2 / (n - 1)).sum()
    f = ((w * (m - m_w) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) * lam / (k**2 - 1))
    df2 = (k**2 - 1) / (3 * lam)
    welch = result.omnibus.set_index("test").loc["welch_anova"]
    assert welch["statistic"] == pytest.approx(f, rel=1e-10)
    assert welch["df1"] == k - 1
    assert welch["df2"] == pytest.approx(df2, rel=1e-10)
    assert welch["p"] == pytest.approx(stats.f.sf(f, k - 1, df2), rel=1e-8)


def test_games_howell_pair_matches_studentized_range_by_hand(
    unequal: dict[str, list[float]],
) -> None:
    result = compare_groups(frame_of(unequal), "EFF", "sector", n_boot=50)
    a, b = np.asarray(unequal["government"]), np.asarray(unequal["residents"])
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    q = abs(a.mean() - b.mean()) / math.sqrt((va + vb) / 2)  # Games & Howell (1976)
    p = stats.studentized_range.sf(q, 3, df)
    pairs = result.pairwise.set_index(["method", "group_a", "group_b"])
    row = pairs.loc[("games_howell", "government", "residents")]
    assert row["diff"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert row["se"] == pytest.approx(se, rel=1e-12)
    assert row["statistic"] == pytest.approx((a.mean() - b.mean()) / se, rel=1e-12)
    assert row["df"] == pytest.approx(df, rel=1e-12)
    assert row["p_adj"] == pytest.approx(p, rel=1e-6)


def test_kruskal_wallis_matches_scipy(unequal: dict[str, list[float]]) -> None:
    result = compare_groups(frame_of(unequal), "EFF", "sector", n_boot=50)
    reference = stats.kruskal(*unequal.values())
    kw = result.omnibus.set_index("test").loc["kruskal_wallis"]
    assert kw["statistic"] == pytest.approx(reference.statistic, rel=1e-10)
    assert kw["p"] == pytest.approx(reference.pvalue, rel=1e-8)
    assert kw["df1"] == 2


def test_effect_sizes_match_hand_computation_on_tiny_data() -> None:
    # Means 2, 4, 6.5; grand mean 4.4; SS_between = 3·2.4² + 3·0.4² + 4·2.1² = 35.4;
    # SS_within = 2 + 2 + 5 = 9, MS_within = 9/7; ω² = (35.4 − 2·9/7) / (44.4 + 9/7) = 229.8/319.8.
    # Ranks: a 1, 2, 3.5; b 3.5, 5, 6.5; c 6.5, 8, 9, 10 -> R = 6.5, 15, 33.5;
    # H = (12/110 · (6.5²/3 + 15²/3 + 33.5²/4) − 33) / (1 − 12/990) = 7.325 / (978/990);
    # ε² = H / ((10² − 1)/(10 + 1)) = H / 9.
    omega_hand = 229.8 / 319.8
    h_hand = 7.325 / (978 / 990)
    result = compare_groups(frame_of(TINY), "EFF", "sector", n_boot=200)
    omnibus = result.omnibus.set_index("test")
    assert omnibus.loc["welch_anova", "effect_size"] == pytest.approx(omega_hand, rel=1e-12)
    assert omnibus.loc["kruskal_wallis", "statistic"] == pytest.approx(h_hand, rel=1e-12)
    assert omnibus.loc["kruskal_wallis", "effect_size"] == pytest.approx(h_hand / 9, rel=1e-12)


def test_descriptives_per_group(unequal: dict[str, list[float]]) -> None:
    result = compare_groups(frame_of(unequal), "EFF", "sector", n_boot=50)
    desc = result.descriptives.set_index("group")
    for name, values in unequal.items():
        assert desc.loc[name, "n"] == len(values)
        assert desc.loc[name, "mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert desc.loc[name, "sd"] == pytest.approx(np.std(values, ddof=1), rel=1e-12)
        assert desc.loc[name, "median"] == pytest.approx(np.median(values), rel=1e-12)


def test_vectorised_bootstrap_statistics_match_scipy_on_resamples() -> None:
    """The bootstrap's own H (midranks from counts) against scipy.stats.kruskal on resamples."""
    rng = np.random.default_rng(3)
    sizes = [7, 11, 5]
    rows = np.vstack([likert_means(rng, 3.2, 0.8, sum(sizes)) for _ in range(25)])
    h = kruskal_h(rows, sizes)
    omega = omega_squared(rows, sizes)
    for row, h_row, omega_row in zip(rows, h, omega, strict=True):
        groups = np.split(row, np.cumsum(sizes)[:-1])
        assert h_row == pytest.approx(stats.kruskal(*groups).statistic, rel=1e-10)
        # ω² from scipy's one-way F: ω² = (k − 1)(F − 1) / ((k − 1)(F − 1) + N).
        f = stats.f_oneway(*groups).statistic
        assert omega_row == pytest.approx(2 * (f - 1) / (2 * (f - 1) + row.size), rel=1e-10)


def test_count_statistics_match_scipy_on_resamples() -> None:
    """ω² and H from counts of the distinct scores against scipy on the same resamples."""
    rng = np.random.default_rng(5)
    sizes = [9, 4, 12]
    rows = np.vstack([likert_means(rng, 3.0, 0.9, sum(sizes)) for _ in range(25)])
    values, codes = np.unique(rows, return_inverse=True)
    codes = codes.reshape(rows.shape)
    bounds = np.cumsum(sizes)[:-1]
    counts = np.stack(
        [
            np.stack([np.bincount(c, minlength=values.size) for c in np.split(row, bounds)])
            for row in codes
        ]
    ).astype(float)
    h = kruskal_h_from_counts(counts)
    omega = omega_squared_from_counts(counts, values)
    for row, h_row, omega_row in zip(rows, h, omega, strict=True):
        groups = np.split(row, bounds)
        assert h_row == pytest.approx(stats.kruskal(*groups).statistic, rel=1e-10)
        f = stats.f_oneway(*groups).statistic
        assert omega_row == pytest.approx(2 * (f - 1) / (2 * (f - 1) + row.size), rel=1e-10)


def test_bootstrap_by_counts_gives_the_resampled_respondents_statistics() -> None:
    """The bootstrap keeps counts of the respondents it draws: the same draws (same seed) as
    resampling the scores themselves, so the same ω² and ε² as computing them on those
    resamples, also when the replicates come in chunks."""
    rng = np.random.default_rng(8)
    sizes = [40, 25, 61]
    blocks = [likert_means(rng, 3.0 + 0.2 * g, 0.8, n) for g, n in enumerate(sizes)]
    n_total = sum(sizes)
    draws = np.random.default_rng(42)
    resamples = np.concatenate(
        [b[draws.integers(0, b.size, size=(300, b.size))] for b in blocks], axis=1
    )
    omega, epsilon = _bootstrap_effect_sizes(blocks, sizes, 300, n_total, np.random.default_rng(42))
    np.testing.assert_allclose(omega, omega_squared(resamples, sizes), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        epsilon, kruskal_h(resamples, sizes) * (n_total + 1) / (n_total**2 - 1), rtol=1e-12
    )


def test_pairwise_welch_and_mann_whitney_with_holm_by_hand() -> None:
    rng = np.random.default_rng(11)
    groups = {
        "g1": list(likert_means(rng, 2.8, 0.5, 15)),
        "g2": list(likert_means(rng, 3.1, 0.9, 22)),
        "g3": list(likert_means(rng, 3.5, 0.6, 18)),
        "g4": list(likert_means(rng, 3.6, 0.7, 10)),
    }
    result = compare_groups(frame_of(groups), "EFF", "sector", n_boot=50)
    pairs = [(a, b) for i, a in enumerate(groups) for b in list(groups)[i + 1 :]]

    def holm(p: list[float]) -> np.ndarray:
        # Holm (1979): sort ascending, multiply the i-th smallest by (m − i), running maximum.
        p_arr = np.asarray(p)
        order = np.argsort(p_arr)
        adjusted = np.empty_like(p_arr)
        running = 0.0
        for i, j in enumerate(order):
            running = max(running, min(1.0, (p_arr.size - i) * p_arr[j]))
            adjusted[j] = running
        return adjusted

    table = result.pairwise.set_index(["method", "group_a", "group_b"])
    welch = [stats.ttest_ind(groups[a], groups[b], equal_var=False) for a, b in pairs]
    mwu = [stats.mannwhitneyu(groups[a], groups[b], alternative="two-sided") for a, b in pairs]
    for (a, b), t_ref, p_adj in zip(pairs, welch, holm([t.pvalue for t in welch]), strict=True):
        row = table.loc[("welch_t", a, b)]
        assert row["statistic"] == pytest.approx(t_ref.statistic, rel=1e-10)
        assert row["p_unc"] == pytest.approx(t_ref.pvalue, rel=1e-8)
        assert row["p_adj"] == pytest.approx(p_adj, rel=1e-8)
        assert row["p_adjust"] == "holm"
    for (a, b), u_ref, p_adj in zip(pairs, mwu, holm([u.pvalue for u in mwu]), strict=True):
        row = table.loc[("mann_whitney", a, b)]
        assert row["statistic"] == pytest.approx(u_ref.statistic, rel=1e-12)
        assert row["p_unc"] == pytest.approx(u_ref.pvalue, rel=1e-8)
        assert row["p_adj"] == pytest.approx(p_adj, rel=1e-8)
    # Hedges' g for one pair: pooled-sd d times J = 1 − 3/(4(n1 + n2) − 9).
    x, y = np.asarray(groups["g1"]), np.asarray(groups["g3"])
    pooled = math.sqrt(
        ((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2)
    )
    g = (x.mean() - y.mean()) / pooled * (1 - 3 / (4 * (x.size + y.size) - 9))
    assert table.loc[("welch_t", "g1", "g3"), "hedges_g"] == pytest.approx(g, rel=1e-10)


def test_known_population_differences_are_recovered() -> None:
    """Large simulated sample: mean differences and population ω² lie within their intervals."""
    means, sd, n = {"gov": 3.0, "health": 3.3, "residents": 3.8}, 0.7, 500
    rng = np.random.default_rng(20240601)
    data = frame_of({g: list(rng.normal(mu, sd, n)) for g, mu in means.items()})
    result = compare_groups(data, "EFF", "sector", n_boot=1000, seed=5)
    # Population ω² = σ²_between / (σ²_between + σ²) with equal group weights.
    mu = np.array(list(means.values()))
    var_between = ((mu - mu.mean()) ** 2).mean()
    omega_pop = var_between / (var_between + sd**2)  # = 0.10889 / 0.59889 ≈ 0.1818
    welch = result.omnibus.set_index("test").loc["welch_anova"]
    assert welch["ci_low"] < omega_pop < welch["ci_high"]
    assert welch["effect_size"] == pytest.approx(omega_pop, abs=0.04)
    assert welch["p"] < 1e-12
    for row in result.pairwise.query("method == 'games_howell'").itertuples():
        true_diff = means[row.group_a] - means[row.group_b]
        assert abs(row.diff - true_diff) < 3 * row.se
        assert row.p_adj < 0.001
    assert any("Games-Howell p-value(s) below" in w for w in result.warnings)


def test_bootstrap_is_seeded_and_deterministic() -> None:
    rng = np.random.default_rng(1)
    data = frame_of({g: list(likert_means(rng, 3 + i * 0.2, 0.7, 30)) for i, g in enumerate("xyz")})
    first = compare_groups(data, "EFF", "sector", n_boot=300, seed=42).omnibus
    again = compare_groups(data, "EFF", "sector", n_boot=300, seed=42).omnibus
    other = compare_groups(data, "EFF", "sector", n_boot=300, seed=43).omnibus
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"], other["ci_low"])
    assert (first["ci_low"] <= first["effect_size"]).all()
    assert (first["effect_size"] <= first["ci_high"]).all()


def test_group_with_one_case_is_excluded_with_a_warning() -> None:
    groups = dict(TINY) | {"lone": [4.0]}
    data = frame_of(groups)
    result = compare_groups(data, "EFF", "sector", n_boot=50)
    assert result.excluded_groups == ("lone",)
    assert any("'lone' has 1 case" in w for w in result.warnings)
    assert "lone" not in set(result.descriptives["group"])
    assert result.n == 10
    reference = compare_groups(frame_of(TINY), "EFF", "sector", n_boot=50)
    pd.testing.assert_frame_equal(result.omnibus, reference.omnibus)


def test_degenerate_groups_raise() -> None:
    with pytest.raises(AnalysisError, match="1 group"):
        compare_groups(frame_of({"a": [1.0, 2.0], "b": [3.0]}), "EFF", "sector")
    with pytest.raises(AnalysisError, match="zero variance within group"):
        compare_groups(frame_of({"a": [1.0, 2.0, 3.0], "b": [4.0, 4.0]}), "EFF", "sector")
    with pytest.raises(AnalysisError, match="constant"):
        compare_groups(frame_of({"a": [4.0, 4.0], "b": [4.0, 4.0]}), "EFF", "sector")
    with pytest.raises(AnalysisError, match="not in the data"):
        compare_groups(frame_of(TINY), "EFF", "resp_group")
    with pytest.raises(AnalysisError, match="p_adjust"):
        compare_groups(frame_of(TINY), "EFF", "sector", p_adjust="tukey")


def test_missing_rows_are_dropped_and_counted() -> None:
    data = frame_of(TINY)
    data.loc[len(data)] = ["a", np.nan]
    data.loc[len(data)] = [None, 3.0]
    result = compare_groups(data, "EFF", "sector", n_boot=50)
    assert result.n_missing == 2
    assert result.n == 10


def test_categorical_order_is_kept_and_reversed_pairs_are_turned() -> None:
    data = frame_of(TINY)
    data["sector"] = pd.Categorical(data["sector"], categories=["c", "a", "b"])
    result = compare_groups(data, "EFF", "sector", n_boot=50)
    assert list(result.descriptives["group"]) == ["c", "a", "b"]
    gh = result.pairwise.query("method == 'games_howell'")
    assert list(zip(gh.group_a, gh.group_b, strict=True)) == [("c", "a"), ("c", "b"), ("a", "b")]
    assert gh.iloc[0]["diff"] == pytest.approx(6.5 - 2.0)
    assert gh.iloc[0]["statistic"] > 0
    # A pair pingouin might report as (b, a): t changes sign, U becomes n_a·n_b − U.
    table = pd.DataFrame({"A": ["b"], "B": ["a"], "T": [2.0], "U_val": [7.0]})
    turned_t = _pair_rows(table, ["a", "b"], {"a": 3, "b": 4}, stat="T")[("a", "b")]
    turned_u = _pair_rows(table, ["a", "b"], {"a": 3, "b": 4}, stat="U_val")[("a", "b")]
    assert turned_t["T"] == -2.0
    assert turned_u["U_val"] == 3 * 4 - 7.0


def test_compare_constructs_adjusts_omnibus_across_constructs() -> None:
    rng = np.random.default_rng(2)
    sizes = {"gov": 25, "health": 30, "residents": 35}
    data = pd.DataFrame({"sector": [g for g, n in sizes.items() for _ in range(n)]})
    shift = data["sector"].map({"gov": 0.0, "health": 0.2, "residents": 0.6}).to_numpy()
    for construct, scale in {"LEAD": 1.0, "RESP": 0.3, "EVAL": 0.0}.items():
        data[construct] = likert_means(rng, 3.0, 0.7, len(data)) + scale * shift
    result = compare_constructs(data, ["LEAD", "RESP", "EVAL"], "sector", n_boot=100)
    for test in ("welch_anova", "kruskal_wallis"):
        rows = result.omnibus[result.omnibus["test"] == test]
        p = rows["p"].to_numpy()
        order = np.argsort(p)
        expected = np.maximum.accumulate(np.minimum(1, p[order] * np.array([3, 2, 1])))
        assert rows["p_adj"].to_numpy()[order] == pytest.approx(expected, rel=1e-12)
    single = compare_groups(data, "RESP", "sector", n_boot=100)
    pd.testing.assert_frame_equal(
        result.pairwise.query("outcome == 'RESP'").reset_index(drop=True), single.pairwise
    )
    assert set(result.descriptives["outcome"]) == {"LEAD", "RESP", "EVAL"}
    json.dumps(result.to_dict())
    json.dumps(single.to_dict())


# --- classical one-way ANOVA with eta squared ------------------------------------------------


def test_one_way_anova_matches_scipy_f_oneway(unequal: dict[str, list[float]]) -> None:
    frame = frame_of(unequal)
    result = one_way_anova(frame, "EFF", "sector")
    reference = stats.f_oneway(*unequal.values())
    assert result["F"] == pytest.approx(reference.statistic, rel=1e-12)
    assert result["p"] == pytest.approx(reference.pvalue, rel=1e-10)
    n = sum(len(v) for v in unequal.values())
    assert (result["df1"], result["df2"], result["n"]) == (len(unequal) - 1, n - len(unequal), n)
    assert result["k_groups"] == len(unequal) and result["n_missing"] == 0


def test_one_way_anova_matches_pingouins_printed_pain_threshold_example() -> None:
    """pingouin's documentation of `anova` (pingouin 0.7, parametric.py), on its data set
    "anova" (pain threshold by hair colour, 19 people in 4 groups), prints F 6.791407,
    p 0.004114 and eta squared (n2) 0.575962 on 3 and 15 df, and SS 1360.726 (between) and
    1001.800 (within)."""
    import pingouin as pg

    pain = pg.read_dataset("anova")
    result = one_way_anova(pain, "Pain threshold", "Hair color")
    assert result["F"] == pytest.approx(6.791407, abs=5e-7)
    assert result["p"] == pytest.approx(0.004114, abs=5e-7)
    assert result["eta_squared"] == pytest.approx(0.575962, abs=5e-7)
    assert (result["df1"], result["df2"]) == (3, 15)
    assert result["ss_between"] == pytest.approx(1360.726, abs=5e-4)
    assert result["ss_within"] == pytest.approx(1001.800, abs=5e-4)
    # and pingouin's own computation, to full precision
    table = pg.anova(data=pain, dv="Pain threshold", between="Hair color", effsize="n2")
    assert result["eta_squared"] == pytest.approx(float(table["n2"].iloc[0]), rel=1e-12)
    assert result["F"] == pytest.approx(float(table["F"].iloc[0]), rel=1e-12)


def test_one_way_anova_on_the_tiny_data_by_hand() -> None:
    """Means 2, 4, 6.5, grand mean 4.4: SS_between = 3(2.4²) + 3(0.4²) + 4(2.1²) = 35.4,
    SS_within = 2 + 2 + 5 = 9, F = (35.4 / 2) / (9 / 7), eta² = 35.4 / 44.4."""
    result = one_way_anova(frame_of(TINY), "EFF", "sector")
    assert result["ss_between"] == pytest.approx(35.4, abs=1e-12)
    assert result["ss_within"] == pytest.approx(9.0, abs=1e-12)
    assert result["F"] == pytest.approx(17.7 / (9 / 7), rel=1e-12)
    assert result["eta_squared"] == pytest.approx(35.4 / 44.4, rel=1e-12)


def test_one_way_anova_drops_missing_rows_and_refuses_degenerate_data() -> None:
    frame = frame_of(TINY)
    gappy = pd.concat(
        [frame, pd.DataFrame({"sector": [None, "a"], "EFF": [3.0, np.nan]})], ignore_index=True
    )
    assert one_way_anova(gappy, "EFF", "sector")["n_missing"] == 2
    assert one_way_anova(gappy, "EFF", "sector")["F"] == one_way_anova(frame, "EFF", "sector")["F"]
    with pytest.raises(AnalysisError, match="1 group"):
        one_way_anova(frame_of({"a": [1.0, 2.0]}), "EFF", "sector")
    with pytest.raises(AnalysisError, match="no variance within"):
        one_way_anova(frame_of({"a": [1.0, 1.0], "b": [2.0, 2.0]}), "EFF", "sector")
    with pytest.raises(AnalysisError, match="no residual df"):
        one_way_anova(frame_of({"a": [1.0], "b": [2.0]}), "EFF", "sector")
    with pytest.raises(AnalysisError, match="not in the data"):
        one_way_anova(frame, "EFF", "nope")
