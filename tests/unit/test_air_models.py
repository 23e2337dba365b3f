"""Known answers: the ITS recovers a simulated level drop, the weather-adjusted trend a known
trend; plus the lag rule, the policy periods and the coverage check itself."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hazegov.air import (
    fit_its_daily,
    fit_its_monthly,
    fit_trend,
    newey_west_lags,
    percent,
    policy_periods,
)
from hazegov.air.models import LEVEL, SLOPE, TREND, simulated_coverage
from hazegov.analysis._common import AnalysisError

PERIODS = policy_periods(dt.date(2013, 9, 10), "exclude")


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    noise = np.empty(n)
    noise[0] = rng.normal(0, sd / np.sqrt(1 - phi**2))
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + rng.normal(0, sd)
    return noise


def _monthly(seed: int, level: float, slope: float = 0.0, phi: float = 0.4) -> pd.DataFrame:
    """60 months of log PM2.5: pre-trend, seasonal cycle, a step at October 2013, AR(1) noise."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2010-01-01", "2014-12-01", freq="MS")
    t = np.arange(len(months)) / 12
    post = (months >= PERIODS.post_start).astype(float)
    since = post * (t - t[months.get_loc(PERIODS.post_start)])
    season = 0.3 * np.cos(2 * np.pi * (months.month - 1) / 12)
    log_pm = 4.5 - 0.02 * t + season + level * post + slope * since
    log_pm = log_pm + _ar1(rng, len(months), phi, 0.1)
    return pd.DataFrame(
        {"series": "sim", "month_start": months, "pm25_mean": np.exp(log_pm), "n_valid_days": 30}
    )


WIND_EFFECT = {"NE": -0.3, "NW": -0.4, "SE": 0.0, "cv": 0.1}


def _daily(seed: int, trend: float, level: float = 0.0, dew_drift: float = 1.5) -> pd.DataFrame:
    """Five years of daily log PM2.5 driven by weather, a trend, an optional step, AR(1) noise.

    Dew point drifts upward over the years, so a model without weather mistakes the drift for
    a trend: the adjustment has something to correct.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2010-01-01", "2014-12-31", freq="D")
    n = len(dates)
    t = np.asarray((dates - dates[0]).days / 365.25)
    doy = 2 * np.pi * np.asarray(dates.dayofyear) / 365.25
    dewp = -5 - 12 * np.cos(doy) + dew_drift * t + rng.normal(0, 4, n)
    temp = 12 - 14 * np.cos(doy) + rng.normal(0, 3, n)
    pres = 1016 + 10 * np.cos(doy) + rng.normal(0, 5, n)
    precip = rng.poisson(0.4, n).astype(float)
    wind = rng.gamma(1.5, 15, n)
    wind_dir = rng.choice(list(WIND_EFFECT), n, p=[0.15, 0.3, 0.35, 0.2])
    post = (dates >= PERIODS.post_start).astype(float)
    log_pm = (
        10
        + trend * t
        + level * post
        + 0.06 * dewp
        - 0.03 * temp
        - 0.005 * pres
        - 0.05 * precip
        - 0.2 * np.log1p(wind)
        + pd.Series(wind_dir).map(WIND_EFFECT).to_numpy()
        + 0.2 * np.cos(doy)
        + _ar1(rng, n, 0.5, 0.3)
    )
    return pd.DataFrame(
        {
            "series": "sim",
            "date": dates,
            "pm25": np.exp(log_pm),
            "valid": True,
            "dewp": dewp,
            "temp": temp,
            "pres": pres,
            "precip_hours": precip,
            "wind_speed_cum": wind,
            "wind_speed": np.nan,
            "wind_dir": pd.array(wind_dir, dtype="string"),
        }
    )


def test_monthly_its_recovers_a_known_level_drop():
    true_level = -0.3  # a drop of 25.9%
    fit = fit_its_monthly(_monthly(20140101, true_level), PERIODS, min_valid_days=15)
    level = fit.term(LEVEL)
    assert abs(level["b"] - true_level) < 0.1
    assert level["ci_low"] <= true_level <= level["ci_high"]
    assert level["p"] < 0.01
    assert percent(true_level) == pytest.approx(-25.92, abs=0.01)
    slope = fit.term(SLOPE)
    assert slope["ci_low"] <= 0.0 <= slope["ci_high"]
    assert (fit.info["n_pre"], fit.info["n_post"], fit.hac_lags) == (44, 15, 3)
    assert fit.info["post_start"] == "2013-10-01" and fit.info["transition_excluded"]


def test_monthly_its_finds_no_step_where_there_is_none():
    fit = fit_its_monthly(_monthly(7, 0.0), PERIODS, min_valid_days=15)
    level = fit.term(LEVEL)
    assert level["ci_low"] <= 0.0 <= level["ci_high"]


def test_monthly_its_figure_table_holds_the_counterfactual():
    fit = fit_its_monthly(_monthly(20140101, -0.3), PERIODS, min_valid_days=15)
    fitted = fit.fitted
    assert fitted is not None
    september = fitted["month_start"] == pd.Timestamp("2013-09-01")
    assert not fitted.loc[september, "used"].item()  # the transition month is not fitted
    post = fitted["post"]
    trend, counterfactual = fitted["trend_deseasonalised"], fitted["counterfactual_deseasonalised"]
    # In the first post-policy month the segments differ by the level change alone.
    first_post = (trend[post] / counterfactual[post]).iloc[0]
    assert first_post == pytest.approx(np.exp(fit.term(LEVEL)["b"]), rel=1e-9)
    assert (trend[~post] == counterfactual[~post]).all()


def test_weather_adjusted_trend_recovers_a_known_trend():
    true_trend = -0.05  # -4.9% a year
    daily = _daily(11, true_trend)
    adjusted = fit_trend(daily, adjust=True).term(TREND)
    assert abs(adjusted["b"] - true_trend) < 0.025
    assert adjusted["ci_low"] <= true_trend <= adjusted["ci_high"]
    unadjusted = fit_trend(daily, adjust=False).term(TREND)
    assert unadjusted["b"] > true_trend + 0.05  # the dew-point drift masquerades as a trend
    assert not unadjusted["ci_low"] <= true_trend <= unadjusted["ci_high"]


def test_weather_adjusted_daily_its_recovers_a_known_step():
    true_level = -0.2
    fit = fit_its_daily(_daily(3, 0.0, level=true_level), PERIODS, adjust=True)
    level = fit.term(LEVEL)
    assert abs(level["b"] - true_level) < 0.1
    assert level["ci_low"] <= true_level <= level["ci_high"]
    assert fit.hac_lags == newey_west_lags(fit.n)
    assert fit.info["wind_reference"] == "SE"


def test_long_lag_window_is_reported_beside_the_default():
    fit = fit_trend(_daily(5, -0.05), adjust=True, long_lags=30)
    row = fit.term(TREND)
    assert row["hac_lags_long"] == 30 and row["se_long"] > 0
    assert row["ci_low_long"] < row["b"] < row["ci_high_long"]


def test_newey_west_lag_rule():
    assert newey_west_lags(59) == 3
    assert newey_west_lags(100) == 4
    assert newey_west_lags(1711) == 7
    assert newey_west_lags(1711, setting=12) == 12


def test_policy_periods():
    excluded = policy_periods(dt.date(2013, 9, 10), "exclude")
    assert excluded.transition_start == pd.Timestamp("2013-09-01")
    assert excluded.post_start == pd.Timestamp("2013-10-01")
    counted = policy_periods(dt.date(2013, 9, 10), "post")
    assert counted.post_start == pd.Timestamp("2013-09-01") and not counted.transition_excluded
    first = policy_periods(dt.date(2013, 10, 1), "exclude")
    assert first.post_start == pd.Timestamp("2013-10-01") and not first.transition_excluded


def test_coverage_check_is_near_nominal_where_hac_should_work():
    """Long white-noise series: the simulated coverage of a 95% interval is close to 95%."""
    rng = np.random.default_rng(1)
    n = 600
    t = np.arange(n) / 12
    post = (np.arange(n) >= 300).astype(float)
    exog = pd.DataFrame({"const": 1.0, TREND: t, LEVEL: post, SLOPE: post * (t - t[300])})
    y = exog.to_numpy() @ np.array([4.0, -0.01, -0.2, 0.0]) + rng.normal(0, 0.1, n)
    res = sm.OLS(y, exog).fit(cov_type="HAC", cov_kwds={"maxlags": 6}, use_t=True)
    coverage = simulated_coverage(res, exog, 6, LEVEL, n_sim=300, seed=2)
    assert 0.9 <= coverage <= 0.99


def test_monthly_coverage_check_runs_and_is_seeded():
    data = _monthly(20140101, -0.3)
    a = fit_its_monthly(data, PERIODS, min_valid_days=15, coverage_simulations=100, seed=5)
    b = fit_its_monthly(data, PERIODS, min_valid_days=15, coverage_simulations=100, seed=5)
    assert a.info["level_ci_coverage"] == b.info["level_ci_coverage"]
    assert 0.5 < a.info["level_ci_coverage"] <= 1.0


def test_too_few_post_policy_months_is_refused():
    data = _monthly(1, -0.3)
    short = data[data["month_start"] <= pd.Timestamp("2013-11-01")]
    with pytest.raises(AnalysisError, match="post-policy"):
        fit_its_monthly(short, PERIODS, min_valid_days=15)


def _station_daily(model, start="2013-03-01", end="2017-02-28", seed=1) -> pd.DataFrame:
    """Daily rows of a simulated multi-site station, as `fit_trend` takes them."""
    from hazegov.air.simulate import simulate_daily

    days = simulate_daily(model, start, end, seed)
    return pd.DataFrame(
        {
            "series": model.name,
            "date": days["date"],
            "pm25": np.exp(days["log_pm25"]),
            "valid": True,
            "dewp": days["dewp"],
            "temp": days["temp"],
            "pres": days["pres"],
            "precip_hours": (days["rain_mm"] > 0).astype(float) * 3,
            "wind_speed_cum": np.nan,
            "wind_speed": days["wind_speed"],
            "wind_dir": pd.array(days["wind_dir"], dtype="string"),
        }
    )


def test_trend_decomposition_is_exact():
    """Unadjusted minus adjusted trend = sum of each weather term's effect times its trend."""
    from hazegov.air.models import trend_decomposition
    from hazegov.air.simulate import StationModel

    table = trend_decomposition(_station_daily(StationModel("S", dew_trend=0.8)))
    rows = table.set_index("term")
    terms = table[~table["term"].isin(["unadjusted", "adjusted", "difference"])]
    assert terms["contribution"].sum() == pytest.approx(rows.loc["difference", "contribution"])
    daily = _station_daily(StationModel("S", dew_trend=0.8))
    assert rows.loc["adjusted", "contribution"] == pytest.approx(
        fit_trend(daily, adjust=True).term(TREND)["b"], abs=1e-9
    )
    assert rows.loc["unadjusted", "contribution"] == pytest.approx(
        fit_trend(daily, adjust=False).term(TREND)["b"], abs=1e-9
    )


def test_adjusted_trend_recovers_the_known_trend_when_the_weather_really_changes():
    """True dew point rises 0.8 °C a year and PM2.5 follows it: only the adjusted trend is right."""
    from hazegov.air.simulate import StationModel

    model = StationModel("S", trend_pct_per_year=-6.0, dew_trend=0.8)
    true_b = np.log1p(-0.06)
    hits_adjusted = hits_unadjusted = 0
    for seed in range(8):
        daily = _station_daily(model, seed=seed)
        adjusted = fit_trend(daily, adjust=True).term(TREND)
        unadjusted = fit_trend(daily, adjust=False).term(TREND)
        hits_adjusted += adjusted["ci_low"] <= true_b <= adjusted["ci_high"]
        hits_unadjusted += unadjusted["ci_low"] <= true_b <= unadjusted["ci_high"]
        # the dew-point effect (0.04 per °C) times its trend (0.8 °C/yr) biases the unadjusted one
        assert unadjusted["b"] - adjusted["b"] == pytest.approx(0.04 * 0.8, abs=0.02)
    assert hits_adjusted >= 6 and hits_unadjusted <= 2


def test_a_drifting_weather_record_moves_the_adjusted_trend_and_the_decomposition_names_it():
    """The sign pattern of station trends: the recorded dew point drifts +1.5 °C a year at one
    station (an instrument change) while the air does not change. The unadjusted trend stays at
    the true -6%; the adjusted one is pushed down by effect x drift (0.04 x 1.5), enough to turn
    a station's trend significant or, for a station with a small true trend, to flip its sign.
    The decomposition shows it: the dew point's own trend and its contribution."""
    from hazegov.air.models import trend_decomposition
    from hazegov.air.simulate import StationModel

    true_b = np.log1p(-0.06)
    covers_unadjusted = covers_adjusted = 0
    for seed in range(6):
        drifting = _station_daily(StationModel("D", recorded_dew_drift=1.5), seed=seed)
        unadjusted = fit_trend(drifting, adjust=False).term(TREND)
        adjusted = fit_trend(drifting, adjust=True).term(TREND)
        assert adjusted["b"] - unadjusted["b"] == pytest.approx(-0.04 * 1.5, abs=0.015)
        covers_unadjusted += unadjusted["ci_low"] <= true_b <= unadjusted["ci_high"]
        covers_adjusted += adjusted["ci_low"] <= true_b <= adjusted["ci_high"]
    assert covers_unadjusted >= 4 and covers_adjusted <= 2
    table = trend_decomposition(drifting).set_index("term")
    assert table.loc["dewp", "drift_per_year"] == pytest.approx(1.5, abs=0.3)
    weather = table.drop(index=["unadjusted", "adjusted", "difference"])
    assert weather["contribution"].abs().idxmax() == "dewp"
    # A flat station with a drifting record: the adjusted trend turns significantly negative
    # and a rising record (-1.5 °C/yr, negative drift) turns it positive: both signs.
    for drift, sign in ((1.5, -1), (-1.5, 1)):
        flat = _station_daily(
            StationModel("F", trend_pct_per_year=0.0, recorded_dew_drift=drift), seed=7
        )
        row = fit_trend(flat, adjust=True).term(TREND)
        assert (row["ci_high"] < 0) if sign < 0 else (row["ci_low"] > 0)
        plain = fit_trend(flat, adjust=False).term(TREND)
        assert plain["ci_low"] <= 0.0 <= plain["ci_high"]


def test_short_pre_period_gives_a_level_only_its_without_a_spurious_step():
    """Six months before the policy (as in the UCI multi-site files) and no step: the segmented
    model's pre-trend runs wild; the level-only model keeps one trend and finds no step."""
    from hazegov.air.models import LEVEL_ONLY, SEGMENTED
    from hazegov.air.simulate import StationModel

    covered = 0
    for seed in range(6):
        daily = _station_daily(StationModel("S", trend_pct_per_year=-8.0), seed=seed)
        fit = fit_its_daily(daily, PERIODS, adjust=False, min_pre_months=24)
        assert fit.info["design"] == LEVEL_ONLY and fit.info["pre_months"] == 6
        assert SLOPE not in set(fit.coefficients["term"])
        level = fit.term(LEVEL)
        covered += level["ci_low"] <= 0.0 <= level["ci_high"]
        assert fit.term(TREND)["b"] == pytest.approx(np.log1p(-0.08), abs=0.04)
    assert covered >= 5
    segmented = fit_its_daily(daily, PERIODS, adjust=False, min_pre_months=0)
    assert segmented.info["design"] == SEGMENTED and SLOPE in set(segmented.coefficients["term"])


def test_monthly_its_draws_the_continued_trend_only_as_far_as_the_pre_period_reaches():
    data = _monthly(3, -0.3)
    short = data[data["month_start"] >= pd.Timestamp("2012-09-01")]  # 12 months before
    fit = fit_its_monthly(short, PERIODS, min_valid_days=15, min_pre_months=12)
    fitted = fit.fitted
    supported = fitted.loc[fitted["counterfactual_supported"], "month_start"]
    assert supported.min() == PERIODS.post_start
    assert supported.max() == PERIODS.post_start + pd.DateOffset(months=11)


def test_agreement_sentence_counts_in_words_for_any_number():
    from hazegov.air.paper import its_agreement

    fits = [fit_its_monthly(_monthly(s, 0.0), PERIODS, min_valid_days=15) for s in (7, 8, 9)]
    text = its_agreement(fits)
    assert "no of the" not in text
    if "do not agree" in text:
        assert "none of the three" in text or " of the three confidence intervals" in text
    two = its_agreement(fits[:2])
    assert "The two model variants" in two
    assert "all" not in two.split(":")[-1] or "both" in two
