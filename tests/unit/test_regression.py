"""Regressions checked against published values (Stata, R car, NIST), hand formulas and
simulated populations with known coefficients."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.datasets import longley

from hazegov.analysis._common import AnalysisError
from hazegov.analysis.regression import brant_test, ols_hc3, ordinal_logit

LONGLEY_X = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]

# Reference file section B, "Stata HC3": HC3 standard errors as published (5 decimals, const
# to the unit). Tolerance: relative 1e-5 as stated, or half a unit in the last published digit,
# since the published values are rounded (GNP 0.05562 and POP 0.32491 carry more rounding
# error than 1e-5 relative: the unrounded HC3 SEs are 0.0556240 and 0.3249058).
STATA_HC3_SE = {
    "GNPDEFL": (91.11939, 5e-6),
    "GNP": (0.05562, 5e-6),
    "UNEMP": (0.82213, 5e-6),
    "ARMED": (0.29879, 5e-6),
    "POP": (0.32491, 5e-6),
    "YEAR": (922.80784, 5e-6),
    "const": (1799477, 0.5),
}
# Reference file section B, "R car::vif", tolerance 0.01.
CAR_VIF = {
    "GNPDEFL": 135.53,
    "GNP": 1788.51,
    "UNEMP": 33.62,
    "ARMED": 3.59,
    "POP": 399.15,
    "YEAR": 758.98,
}
# NIST StRD, Longley, certified values (itl.nist.gov/div898/strd/lls/data/Longley.shtml).
NIST_B = {
    "const": -3482258.63459582,
    "GNPDEFL": 15.0618722713733,
    "GNP": -0.358191792925910e-01,
    "UNEMP": -2.02022980381683,
    "ARMED": -1.03322686717359,
    "POP": -0.511041056535807e-01,
    "YEAR": 1829.15146461355,
}
NIST_R2 = 0.995479004577296
NIST_F = 330.285339234588


@pytest.fixture(scope="module")
def longley_fit():
    return ols_hc3(longley.load_pandas().data, "TOTEMP", LONGLEY_X)


def test_longley_hc3_standard_errors_match_stata(longley_fit) -> None:
    se = longley_fit.coefficients.set_index("column")["se"]
    for column, (value, half_unit) in STATA_HC3_SE.items():
        assert se[column] == pytest.approx(value, rel=1e-5, abs=half_unit), column


def test_longley_vif_matches_car(longley_fit) -> None:
    vif = longley_fit.vif.set_index("term")
    for term, value in CAR_VIF.items():
        assert vif.loc[term, "gvif"] == pytest.approx(value, abs=0.01), term
        assert vif.loc[term, "df"] == 1


def test_longley_estimates_match_nist_certified_values(longley_fit) -> None:
    b = longley_fit.coefficients.set_index("column")["b"]
    for column, value in NIST_B.items():
        assert b[column] == pytest.approx(value, rel=1e-7), column
    assert longley_fit.fit["r2"] == pytest.approx(NIST_R2, rel=1e-9)
    assert longley_fit.fit["f_classical"] == pytest.approx(NIST_F, rel=1e-7)
    assert longley_fit.fit["n"] == 16
    assert longley_fit.fit["adj_r2"] == pytest.approx(1 - (1 - NIST_R2) * 15 / 9, rel=1e-9)


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    """Respondents with four problem constructs, sector and gender; sector shifts LEAD."""
    rng = np.random.default_rng(2024)
    n = 400
    sector = rng.choice(["government", "public_health", "primary_care", "residents"], n)
    shift = pd.Series(sector).map(
        {"government": 0.6, "public_health": 0.2, "primary_care": 0.0, "residents": -0.4}
    )
    data = pd.DataFrame(
        {
            "sector": sector,
            "gender": rng.choice(["female", "male"], n),
            "LEAD": rng.normal(3.0, 0.7, n) + shift.to_numpy(),
            "RESP": rng.normal(3.2, 0.6, n),
            "EVAL": rng.normal(2.9, 0.8, n),
            "PART": rng.normal(3.1, 0.5, n),
        }
    )
    noise = rng.normal(0, 0.4 + 0.2 * (data["sector"] == "residents"), n)  # heteroskedastic
    data["EFF"] = (
        1.0 + 0.4 * data.LEAD + 0.2 * data.RESP - 0.1 * data.EVAL + 0.05 * data.PART + noise
    )
    return data


def design_by_hand(data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    names = ["const", "LEAD", "RESP", "EVAL", "PART"]
    cols = [np.ones(len(data))] + [data[c].to_numpy() for c in names[1:]]
    for level in ["primary_care", "public_health", "residents"]:  # reference: government
        names.append(f"sector[T.{level}]")
        cols.append((data["sector"] == level).to_numpy(dtype=float))
    return np.column_stack(cols), names


def test_hc3_and_wald_f_match_hand_formula(survey: pd.DataFrame) -> None:
    result = ols_hc3(
        survey,
        "EFF",
        ["LEAD", "RESP", "EVAL", "PART"],
        controls=["sector"],
        categorical=["sector"],
        reference={"sector": "government"},
    )
    X, names = design_by_hand(survey)
    y = survey["EFF"].to_numpy()
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    e = y - X @ b
    h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    # MacKinnon & White (1985) HC3: (X'X)⁻¹ X' diag(e²/(1 − h)²) X (X'X)⁻¹.
    cov = xtx_inv @ (X.T * (e**2 / (1 - h) ** 2)) @ X @ xtx_inv
    coef = result.coefficients.set_index("column")
    for i, name in enumerate(names):
        assert coef.loc[name, "b"] == pytest.approx(b[i], rel=1e-9)
        assert coef.loc[name, "se"] == pytest.approx(math.sqrt(cov[i, i]), rel=1e-9)
        t = b[i] / math.sqrt(cov[i, i])
        df = len(y) - X.shape[1]
        assert coef.loc[name, "p"] == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-7)
        half = stats.t.ppf(0.975, df) * math.sqrt(cov[i, i])
        assert coef.loc[name, "ci_low"] == pytest.approx(b[i] - half, rel=1e-9)
    slopes = b[1:]
    f = slopes @ np.linalg.solve(cov[1:, 1:], slopes) / slopes.size
    assert result.fit["f_hc3"] == pytest.approx(f, rel=1e-8)
    assert result.fit["f_hc3_p"] == pytest.approx(stats.f.sf(f, slopes.size, df), rel=1e-6)
    r2 = 1 - (e @ e) / ((y - y.mean()) @ (y - y.mean()))
    assert result.fit["r2"] == pytest.approx(r2, rel=1e-10)


def test_standardized_coefficients_from_standardized_regression(survey: pd.DataFrame) -> None:
    result = ols_hc3(survey, "EFF", ["LEAD", "RESP"], controls=["gender"], categorical=["gender"])
    z = lambda s: (s - s.mean()) / s.std(ddof=1)  # noqa: E731
    X = np.column_stack(
        [
            np.ones(len(survey)),
            z(survey.LEAD),
            z(survey.RESP),
            (survey.gender == "male").astype(float),
        ]
    )
    # z(y) on z(x) and the raw dummy: x-and-y standardized slopes, y-standardized dummy effect.
    beta, *_ = np.linalg.lstsq(X, z(survey.EFF).to_numpy(), rcond=None)
    coef = result.coefficients.set_index("column")
    assert coef.loc["LEAD", "beta"] == pytest.approx(beta[1], rel=1e-9)
    assert coef.loc["RESP", "beta"] == pytest.approx(beta[2], rel=1e-9)
    assert coef.loc["gender[T.male]", "beta"] == pytest.approx(beta[3], rel=1e-9)
    assert coef.loc["gender[T.male]", "beta_kind"] == "y_standardized"
    assert coef.loc["LEAD", "beta_kind"] == "xy_standardized"
    assert math.isnan(coef.loc["const", "beta"])


def test_gvif_matches_det_formula_and_ignores_reference_level(survey: pd.DataFrame) -> None:
    kwargs = {"controls": ["sector"], "categorical": ["sector"]}
    result = ols_hc3(survey, "EFF", ["LEAD", "RESP"], **kwargs)
    other_ref = ols_hc3(
        survey, "EFF", ["LEAD", "RESP"], reference={"sector": "residents"}, **kwargs
    )
    dummies = [(survey.sector == lv).astype(float) for lv in sorted(set(survey.sector))[1:]]
    R = np.corrcoef(np.column_stack([survey.LEAD, survey.RESP, *dummies]), rowvar=False)
    # Fox & Monette (1992): GVIF = det(R11)·det(R22)/det(R); columns 2..4 are the sector term.
    term, rest = [2, 3, 4], [0, 1]
    gvif = (
        np.linalg.det(R[np.ix_(term, term)])
        * np.linalg.det(R[np.ix_(rest, rest)])
        / np.linalg.det(R)
    )
    vif = result.vif.set_index("term")
    assert vif.loc["sector", "df"] == 3
    assert vif.loc["sector", "gvif"] == pytest.approx(gvif, rel=1e-9)
    assert vif.loc["sector", "gvif_root"] == pytest.approx(gvif ** (1 / 6), rel=1e-9)
    assert gvif > 1.05  # sector shifts LEAD, so the check is not trivially 1
    gvif_lead = np.linalg.det(R[np.ix_([1, 2, 3, 4], [1, 2, 3, 4])]) / np.linalg.det(R)
    assert vif.loc["LEAD", "gvif"] == pytest.approx(gvif_lead, rel=1e-9)
    pd.testing.assert_series_equal(other_ref.vif.set_index("term")["gvif"], vif["gvif"], rtol=1e-9)


def test_treatment_dummies_against_stated_reference(survey: pd.DataFrame) -> None:
    result = ols_hc3(
        survey, "EFF", ["sector"], categorical=["sector"], reference={"sector": "residents"}
    )
    means = survey.groupby("sector")["EFF"].mean()
    coef = result.coefficients.set_index("column")
    for level in ["government", "primary_care", "public_health"]:
        diff = means[level] - means["residents"]
        assert coef.loc[f"sector[T.{level}]", "b"] == pytest.approx(diff, rel=1e-9)
    assert coef.loc["const", "b"] == pytest.approx(means["residents"], rel=1e-9)
    terms = result.terms.set_index("term")
    assert terms.loc["sector", "reference"] == "residents"
    assert terms.loc["sector", "df"] == 3
    json.dumps(result.to_dict())


def test_ols_degenerate_data_raise(survey: pd.DataFrame) -> None:
    small = survey.head(8)
    with pytest.raises(AnalysisError, match="8 usable cases, at least 10 needed"):
        ols_hc3(small, "EFF", ["LEAD", "RESP", "EVAL", "PART"])
    flat = survey.assign(PART=3.0)
    with pytest.raises(AnalysisError, match="'PART' is constant"):
        ols_hc3(flat, "EFF", ["LEAD", "PART"])
    with pytest.raises(AnalysisError, match="outcome 'EFF' is constant"):
        ols_hc3(survey.assign(EFF=4.0), "EFF", ["LEAD"])
    collinear = survey.assign(TOTAL=survey.LEAD + survey.RESP)
    with pytest.raises(AnalysisError, match=r"collinear columns: \['LEAD', 'RESP', 'TOTAL'\]"):
        ols_hc3(collinear, "EFF", ["LEAD", "RESP", "TOTAL", "EVAL"])
    one_level = survey.assign(gender="female")
    with pytest.raises(AnalysisError, match="'gender' is constant"):
        ols_hc3(one_level, "EFF", ["LEAD"], controls=["gender"], categorical=["gender"])
    lone = survey.copy()
    lone.loc[lone.index[0], "sector"] = "ngo"
    with pytest.raises(AnalysisError, match=r"leverage 1.*sector\[T.ngo\]"):
        ols_hc3(lone, "EFF", ["LEAD"], controls=["sector"], categorical=["sector"])
    with pytest.raises(AnalysisError, match="neither predictors nor controls"):
        ols_hc3(survey, "EFF", ["LEAD"], categorical=["sector"])


def test_missing_values_are_dropped_listwise(survey: pd.DataFrame) -> None:
    holes = survey.copy()
    holes.loc[holes.index[:5], "RESP"] = np.nan
    holes.loc[holes.index[3:9], "sector"] = None
    result = ols_hc3(holes, "EFF", ["LEAD", "RESP"], controls=["sector"], categorical=["sector"])
    assert result.fit["n_dropped"] == 9
    assert result.fit["n"] == len(survey) - 9


# --------------------------------------------------------------------------------- ordinal


def simulate_po(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Proportional odds: logit P(EFF ≤ j) = τ_j − x'β with known β and τ."""
    data = pd.DataFrame(
        {
            "LEAD": rng.normal(0, 1, n),
            "RESP": rng.normal(0, 1, n),
            "sector": rng.choice(["government", "public_health", "residents"], n),
        }
    )
    xb = (
        TRUE_BETA["LEAD"] * data.LEAD
        + TRUE_BETA["RESP"] * data.RESP
        + TRUE_BETA["sector[T.public_health]"] * (data.sector == "public_health")
        + TRUE_BETA["sector[T.residents]"] * (data.sector == "residents")
    )
    latent = xb + rng.logistic(size=n)
    data["EFF"] = 1 + (latent.to_numpy()[:, None] > np.array(TRUE_TAU)).sum(axis=1)
    return data


TRUE_BETA = {"LEAD": 0.8, "RESP": -0.5, "sector[T.public_health]": 0.4, "sector[T.residents]": -0.3}
TRUE_TAU = [-1.0, 0.5, 2.0]


@pytest.fixture(scope="module")
def po_fit():
    data = simulate_po(np.random.default_rng(101), 3000)
    return ordinal_logit(data, "EFF", ["LEAD", "RESP"], controls=["sector"], categorical=["sector"])


def test_ordinal_recovers_known_coefficients_and_thresholds(po_fit) -> None:
    coef = po_fit.coefficients.set_index("column")
    for column, value in TRUE_BETA.items():
        assert abs(coef.loc[column, "b"] - value) < 3 * coef.loc[column, "se"], column
        assert coef.loc[column, "odds_ratio"] == pytest.approx(math.exp(coef.loc[column, "b"]))
    thresholds = po_fit.thresholds
    assert list(thresholds["threshold"]) == ["1|2", "2|3", "3|4"]
    for est, se, value in zip(thresholds.estimate, thresholds.se, TRUE_TAU, strict=True):
        assert abs(est - value) < 3 * se
    assert po_fit.fit["converged"] is True
    assert po_fit.fit["n"] == 3000
    json.dumps(po_fit.to_dict())


def test_brant_does_not_reject_proportional_odds_data(po_fit) -> None:
    brant = po_fit.brant.set_index("test")
    assert brant.loc["omnibus", "df"] == (4 - 2) * 4
    assert brant.loc["sector", "df"] == (4 - 2) * 2
    assert brant.loc["omnibus", "p"] > 0.05


def test_brant_rejects_non_parallel_slopes() -> None:
    """Generalized ordered logit: P(y > 1) = L(1 + 2x), P(y > 2) = L(−1 + 0.2x), x in [−1, 1]."""
    rng = np.random.default_rng(202)
    n = 2000
    x = rng.uniform(-1, 1, n)
    other = rng.normal(0, 1, n)
    p1, p2 = 1 / (1 + np.exp(-(1 + 2 * x))), 1 / (1 + np.exp(-(-1 + 0.2 * x)))
    u = rng.uniform(size=n)
    data = pd.DataFrame({"LEAD": x, "RESP": other, "EFF": 1 + (u < p1) + (u < p2)})
    brant = ordinal_logit(data, "EFF", ["LEAD", "RESP"]).brant.set_index("test")
    assert brant.loc["omnibus", "p"] < 1e-6
    assert brant.loc["LEAD", "p"] < 1e-6
    assert brant.loc["RESP", "p"] > 0.001


def test_brant_statistic_follows_chi_square_under_proportional_odds() -> None:
    """Monte Carlo: under H0 the statistic is χ²(df); a wrong covariance would shift it."""
    rng = np.random.default_rng(303)
    n, reps = 300, 1000
    values = []
    for _ in range(reps):
        X = pd.DataFrame({"LEAD": rng.normal(0, 1, n), "RESP": rng.normal(0, 1, n)})
        latent = 0.7 * X.LEAD - 0.4 * X.RESP + rng.logistic(size=n)
        codes = (latent.to_numpy()[:, None] > np.array([-0.5, 0.8])).sum(axis=1)
        table, _ = brant_test(codes, X, {"LEAD": ["LEAD"], "RESP": ["RESP"]})
        values.append(table.set_index("test").loc["omnibus", "chi2"])
    values = np.asarray(values)
    # E χ²(2) = 2 (Monte Carlo se ≈ 0.06). Leaving out Brant's cross-covariance between the
    # binary logits gives a mean near 1 and a 5% test that rejects 0.3% of the time.
    assert values.mean() == pytest.approx(2.0, abs=0.25)
    assert stats.kstest(values, stats.chi2(2).cdf).pvalue > 0.01
    assert 0.03 <= (values > stats.chi2.ppf(0.95, 2)).mean() <= 0.08


def test_binary_outcome_matches_statsmodels_logit() -> None:
    rng = np.random.default_rng(404)
    n = 600
    data = pd.DataFrame({"LEAD": rng.normal(3, 0.7, n), "RESP": rng.normal(0, 1, n)})
    latent = -2.0 + 0.9 * data.LEAD - 0.6 * data.RESP + rng.logistic(size=n)
    data["EFF"] = (latent > 0).astype(int)
    result = ordinal_logit(data, "EFF", ["LEAD", "RESP"])
    logit = sm.Logit(data["EFF"], sm.add_constant(data[["LEAD", "RESP"]])).fit(disp=0)
    coef = result.coefficients.set_index("column")
    conf = logit.conf_int()
    for name in ["LEAD", "RESP"]:
        assert coef.loc[name, "b"] == pytest.approx(logit.params[name], rel=1e-5)
        assert coef.loc[name, "se"] == pytest.approx(logit.bse[name], rel=1e-4)
        assert coef.loc[name, "odds_ratio"] == pytest.approx(math.exp(logit.params[name]), rel=1e-5)
        assert coef.loc[name, "or_ci_low"] == pytest.approx(math.exp(conf.loc[name, 0]), rel=1e-4)
        assert coef.loc[name, "or_ci_high"] == pytest.approx(math.exp(conf.loc[name, 1]), rel=1e-4)
    # logit P(y ≤ 0) = τ − x'b, so τ = −intercept of the binary logit.
    tau = result.thresholds.iloc[0]
    assert tau["estimate"] == pytest.approx(-logit.params["const"], rel=1e-5)
    assert tau["se"] == pytest.approx(logit.bse["const"], rel=1e-4)
    assert result.fit["pseudo_r2_mcfadden"] == pytest.approx(logit.prsquared, rel=1e-7)
    assert result.brant.empty
    assert any("Brant test needs at least 3" in w for w in result.warnings)


def test_mcfadden_pseudo_r2_uses_thresholds_only_null(po_fit) -> None:
    data = simulate_po(np.random.default_rng(101), 3000)
    counts = data["EFF"].value_counts().to_numpy()
    llnull = float((counts * np.log(counts / counts.sum())).sum())  # marginal proportions
    assert po_fit.fit["llnull"] == pytest.approx(llnull, rel=1e-10)
    assert po_fit.fit["pseudo_r2_mcfadden"] == pytest.approx(
        1 - po_fit.fit["llf"] / llnull, rel=1e-10
    )


def test_ordinal_non_convergence_is_a_result_warning() -> None:
    data = simulate_po(np.random.default_rng(505), 300)
    result = ordinal_logit(data, "EFF", ["LEAD", "RESP"], maxiter=1)
    assert result.fit["converged"] is False
    assert any("did not converge" in w for w in result.warnings)


def test_ordinal_outcome_order_and_degenerate_data() -> None:
    data = simulate_po(np.random.default_rng(606), 200)
    labels = {1: "low", 2: "mid", 3: "high", 4: "top"}
    ordered = data.assign(
        EFF=pd.Categorical(
            data.EFF.map(labels), categories=["low", "mid", "high", "top"], ordered=True
        )
    )
    result = ordinal_logit(ordered, "EFF", ["LEAD"])
    numeric = ordinal_logit(data, "EFF", ["LEAD"])
    assert list(result.thresholds["threshold"]) == ["low|mid", "mid|high", "high|top"]
    np.testing.assert_allclose(result.thresholds.estimate, numeric.thresholds.estimate)
    with pytest.raises(AnalysisError, match="unordered categorical"):
        ordinal_logit(ordered.assign(EFF=ordered.EFF.cat.as_unordered()), "EFF", ["LEAD"])
    with pytest.raises(AnalysisError, match="constant"):
        ordinal_logit(data.assign(EFF=3), "EFF", ["LEAD"])
    with pytest.raises(AnalysisError, match="'RESP' is constant"):
        ordinal_logit(data.assign(RESP=1.0), "EFF", ["LEAD", "RESP"])
    with pytest.raises(AnalysisError, match="usable cases, at least"):
        ordinal_logit(data.head(8), "EFF", ["LEAD", "RESP"])
    with pytest.raises(AnalysisError, match=r"collinear columns: \['LEAD', 'DOUBLE'\]"):
        ordinal_logit(data.assign(DOUBLE=2 * data.LEAD), "EFF", ["LEAD", "DOUBLE"])


def test_ordinal_analytic_derivatives_match_statsmodels_numerical_ones() -> None:
    """The analytic score and Hessian of `_LogitOrderedModel` are those of statsmodels'
    OrderedModel log-likelihood (same value), and the fit reaches the same optimum."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.tools.numdiff import approx_fprime, approx_hess

    from hazegov.analysis.ordinal_model import LogitOrderedModel as _LogitOrderedModel

    data = simulate_po(np.random.default_rng(707), 1500)
    X = pd.get_dummies(data[["LEAD", "RESP", "sector"]], columns=["sector"], drop_first=True)
    X = X.astype(float)
    codes = data["EFF"].to_numpy() - 1
    fast = _LogitOrderedModel(codes, X, distr="logit")
    plain = OrderedModel(codes, X, distr="logit")
    theta = np.array([0.7, -0.4, 0.3, -0.2, -0.9, 0.2, 0.5])
    assert fast.loglike(theta) == plain.loglike(theta)
    np.testing.assert_allclose(
        fast.score(theta), approx_fprime(theta, plain.loglike, centered=True), atol=1e-5
    )
    np.testing.assert_allclose(
        fast.score_obs(theta),
        approx_fprime(theta, plain.loglikeobs, centered=True),
        rtol=1e-6,
        atol=1e-8,
    )
    hess = fast.hessian(theta)
    scale = np.abs(hess).max()
    numeric = approx_fprime(theta, fast.score, centered=True)
    np.testing.assert_allclose(hess, numeric, rtol=1e-7, atol=1e-9 * scale)
    np.testing.assert_allclose(hess, approx_hess(theta, plain.loglike), atol=1e-6 * scale)
    old = plain.fit(method="bfgs", maxiter=1000, gtol=1e-8, disp=False)
    new = fast.fit(method="bfgs", maxiter=1000, gtol=1e-8, disp=False)
    np.testing.assert_allclose(new.params, old.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(new.bse, old.bse, rtol=1e-5)
    assert new.llf == pytest.approx(old.llf, rel=1e-12)


def _sector_design(survey: pd.DataFrame):
    """EFF on LEAD, RESP and the sector dummies: a design with a multi-column term."""
    from hazegov.analysis.regression import build_design

    return build_design(
        survey,
        "EFF",
        ["LEAD", "RESP"],
        ["sector"],
        ["sector"],
        None,
        what="t",
        numeric_outcome=True,
    )


def test_gvif_from_correlations_equals_the_regression_definition(survey: pd.DataFrame) -> None:
    from hazegov.analysis.regression import _regression_vif, generalized_vif

    design = _sector_design(survey)
    fast = generalized_vif(design.X, design.term_columns)
    slow = _regression_vif(design.X, design.term_columns)
    pd.testing.assert_frame_equal(fast, slow, rtol=1e-10)
    longley_X = longley.load_pandas().data[LONGLEY_X]
    columns = {c: [c] for c in LONGLEY_X}
    pd.testing.assert_frame_equal(
        generalized_vif(longley_X, columns), _regression_vif(longley_X, columns), rtol=1e-8
    )


def test_rank_check_on_the_triangular_factor_names_the_same_columns() -> None:
    from hazegov.analysis.regression import _require_full_rank

    rng = np.random.default_rng(808)
    X = pd.DataFrame(rng.normal(size=(500, 4)), columns=["a", "b", "c", "d"])
    _require_full_rank(X, what="t")
    with pytest.raises(AnalysisError, match=r"collinear columns: \['b', 'c', 'e'\]"):
        _require_full_rank(X.assign(e=X.b - 2 * X.c), what="t")
    with pytest.raises(AnalysisError, match=r"collinear columns: \['const', 'a', 'e'\]"):
        _require_full_rank(X.assign(e=3 + X.a), what="t")


def test_leverage_from_the_fit_equals_the_qr_leverage(survey: pd.DataFrame) -> None:
    """ols_hc3 checks the leverages statsmodels' HC3 uses, x_i'(X'X)⁻¹x_i from the fit, which
    are the squared row norms of Q in X = QR."""
    design = _sector_design(survey)
    exog = sm.add_constant(design.X).to_numpy()
    res = sm.OLS(design.y.astype(float).to_numpy(), exog).fit(cov_type="HC3")
    leverage = np.einsum("ij,ik,kj->i", exog, exog, res.normalized_cov_params)
    q, _ = np.linalg.qr(exog)
    np.testing.assert_allclose(leverage, (q**2).sum(axis=1), rtol=1e-10)


def test_ordinal_score_is_the_sum_of_the_case_scores() -> None:
    from hazegov.analysis.ordinal_model import LogitOrderedModel as _LogitOrderedModel

    data = simulate_po(np.random.default_rng(909), 800)
    model = _LogitOrderedModel(data["EFF"].to_numpy() - 1, data[["LEAD", "RESP"]], distr="logit")
    theta = np.array([0.5, -0.3, -0.8, 0.1, 0.4])
    np.testing.assert_allclose(model.score(theta), model.score_obs(theta).sum(axis=0), rtol=1e-12)
