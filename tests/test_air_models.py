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
