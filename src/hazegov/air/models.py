"""Trend and interrupted-time-series models of log PM2.5 with Newey-West standard errors.

Weather drives much of the day-to-day and year-to-year variation of PM2.5 in Beijing: southerly
humid stagnant air brings haze, dry northerly wind clears it (Liang et al. 2015). A trend or a
break read off raw concentrations mixes emission changes with weather, so each model is fitted
with and without the daily weather, always with seasonal terms. Concentrations are modelled on the
log scale, so coefficients read as proportional changes; they are reported as percentages,
100 (exp(b) - 1), with the confidence limits transformed the same way.

Days and months are serially correlated, so the standard errors are Newey-West (HAC, Bartlett
kernel) with a t reference distribution on the residual degrees of freedom. Rows are taken in
time order; the few missing days or months are skipped, not filled, so a lag counts rows, not
calendar days. The default lag count is floor(4 (n/100)^(2/9)) (Newey and West 1994).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from hazegov.analysis._common import AnalysisError, captured_warnings

CONST = "const"
TREND = "trend_per_year"
LEVEL = "level_change"
SLOPE = "slope_change_per_year"
WIND_DIR = "wind_dir"
DAYS_PER_YEAR = 365.25


def newey_west_lags(n: int, setting: int | None = None) -> int:
    """The configured lag count, or floor(4 (n/100)^(2/9)) (Newey and West 1994) for "auto"."""
    if setting is not None:
        return int(setting)
    return math.floor(4 * (n / 100) ** (2 / 9))


def percent(b: float) -> float:
    """A log-scale coefficient as a percentage change."""
    return 100 * (math.exp(b) - 1)


def seasonal_terms(
    dates: pd.Series, kind: str, n_harmonics: int = 2, *, monthly: bool = False
) -> pd.DataFrame:
    """Month dummies (January the reference) or sin/cos pairs of the time of year."""
    dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    if kind == "month":
        months = dates.dt.month
        return pd.DataFrame({f"month_{m:02d}": (months == m).astype(float) for m in range(2, 13)})
    if kind != "harmonics":
        raise ValueError(f"unknown seasonal terms {kind!r}")
    if monthly:
        phase = 2 * np.pi * (dates.dt.month - 0.5) / 12
    else:
        phase = 2 * np.pi * (dates.dt.dayofyear - 0.5) / DAYS_PER_YEAR
    out = {}
    for k in range(1, n_harmonics + 1):
        out[f"sin_{k}"] = np.sin(k * phase)
        out[f"cos_{k}"] = np.cos(k * phase)
    return pd.DataFrame(out)


@dataclass(frozen=True)
class WeatherTerms:
    """The weather columns of a design and how each was built."""

    frame: pd.DataFrame
    wind_measure: str
    wind_reference: str
    descriptions: dict[str, str]


def weather_terms(daily: pd.DataFrame) -> WeatherTerms:
    """Daily weather covariates: dew point, temperature, pressure, precipitation, wind.

    Wind speed enters as log(1 + daily mean): the cumulated wind speed of the single-site family
    when present, else the hourly wind speed of the multi-site family. Wind direction is the
    day's modal direction as dummies, the most frequent direction the reference.
    """
    daily = daily.reset_index(drop=True)
    if daily["wind_speed_cum"].notna().any():
        wind_column, wind_label = "wind_speed_cum", "cumulated wind speed (Iws)"
    elif daily["wind_speed"].notna().any():
        wind_column, wind_label = "wind_speed", "wind speed (WSPM)"
    else:
        raise AnalysisError("weather adjustment: the data hold no wind speed")
    out = pd.DataFrame(
        {
            "dewp": daily["dewp"],
            "temp": daily["temp"],
            "pres": daily["pres"],
            "precip_hours": daily["precip_hours"],
            "log_wind": np.log1p(daily[wind_column]),
        }
    )
    directions = daily[WIND_DIR].astype("string")
    counts = directions.dropna().value_counts()
    if counts.empty:
        raise AnalysisError("weather adjustment: the data hold no wind direction")
    top = counts[counts == counts.max()]
    reference = sorted(top.index)[0]
    for code in sorted(counts.index):
        if code != reference:
            out[f"wind_dir_{code}"] = (directions == code).astype(float).where(directions.notna())
    descriptions = {
        "dewp": "daily mean dew point (°C)",
        "temp": "daily mean temperature (°C)",
        "pres": "daily mean pressure (hPa)",
        "precip_hours": "hours with rain or snow",
        "log_wind": f"log(1 + daily mean {wind_label}, m/s)",
    } | {
        c: f"modal wind direction {c.removeprefix('wind_dir_')} (vs {reference})"
        for c in out.columns
        if c.startswith("wind_dir_")
    }
    return WeatherTerms(out, wind_label, str(reference), descriptions)


def _model_fit(
    model: str,
    series: str,
    res: Any,
    table: pd.DataFrame,
    n_lags: int,
    *,
    adjusted: bool,
    info: dict[str, Any],
    notes: list[str],
    fitted: pd.DataFrame | None = None,
) -> ModelFit:
    """A ModelFit from a statsmodels OLS result: the facts every model reports, taken once."""
    return ModelFit(
        model=model,
        series=series,
        coefficients=table,
        n=int(res.nobs),
        n_params=len(table),
        hac_lags=n_lags,
        r2=float(res.rsquared),
        resid_acf1=_acf1(np.asarray(res.resid)),
        adjusted=adjusted,
        info=info,
        warnings=notes,
        fitted=fitted,
    )


@dataclass
class ModelFit:
    """One fitted model: coefficients and the facts a reader needs to judge it."""

    model: str
    series: str
    coefficients: pd.DataFrame
    n: int
    n_params: int
    hac_lags: int
    r2: float
    resid_acf1: float
    adjusted: bool
    info: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fitted: pd.DataFrame | None = None

    def term(self, name: str) -> pd.Series:
        return self.coefficients.set_index("term").loc[name]

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "series": self.series,
            "n": self.n,
            "n_params": self.n_params,
            "hac_lags": self.hac_lags,
            "r2": self.r2,
            "resid_acf1": self.resid_acf1,
            "adjusted": self.adjusted,
            "warnings": self.warnings,
        } | self.info


def _fit(
    y: pd.Series,
    X: pd.DataFrame,
    lags: int | None,
    what: str,
    long_lags: int | None = None,
    ci: float = 0.95,
) -> tuple[Any, pd.DataFrame, int, list[str]]:
    """OLS with a constant and HAC covariance; refuses designs that cannot be estimated.

    With `long_lags`, the table also holds SE, p and CI under that longer lag window, a check
    that slow (e.g. seasonal-anomaly) dependence the default window misses does not drive a claim.
    Constant columns (a weather measure that never varies) are dropped and noted.
    """
    constant = [c for c in X.columns if X[c].nunique(dropna=False) <= 1]
    notes: list[str] = []
    if constant:
        notes.append(f"constant column(s) dropped, the intercept carries them: {constant}")
    X = X.drop(columns=constant)
    exog = pd.concat([pd.Series(1.0, index=X.index, name=CONST), X], axis=1)
    n, k = exog.shape
    if n < k + 5:
        raise AnalysisError(f"{what}: {n} usable observations for {k} parameters")
    rank = np.linalg.matrix_rank(exog.to_numpy())
    if rank < k:
        raise AnalysisError(f"{what}: the design is collinear (rank {rank} of {k} columns)")
    n_lags = newey_west_lags(n, lags)
    with captured_warnings(notes):
        res = OLS(y.to_numpy(dtype=float), exog).fit(
            cov_type="HAC", cov_kwds={"maxlags": n_lags, "use_correction": True}, use_t=True
        )
        conf = res.conf_int(alpha=1 - ci)
        table = pd.DataFrame(
            {
                "term": exog.columns,
                "b": res.params.to_numpy(),
                "se": res.bse.to_numpy(),
                "t": res.tvalues.to_numpy(),
                "p": res.pvalues.to_numpy(),
                "ci_low": conf.iloc[:, 0].to_numpy(),
                "ci_high": conf.iloc[:, 1].to_numpy(),
                "hac_lags": n_lags,
            }
        )
        if long_lags is not None:
            wide = res.get_robustcov_results(
                cov_type="HAC", maxlags=int(long_lags), use_correction=True, use_t=True
            )
            wide_conf = np.asarray(wide.conf_int(alpha=1 - ci))
            table["se_long"] = np.asarray(wide.bse)
            table["p_long"] = np.asarray(wide.pvalues)
            table["ci_low_long"] = wide_conf[:, 0]
            table["ci_high_long"] = wide_conf[:, 1]
            table["hac_lags_long"] = int(long_lags)
    return res, table, n_lags, notes


def _level_slope_correlation(res: Any) -> float | None:
    """How far the data can tell a level change from a slope change (near +-1: hardly)."""
    cov = res.cov_params()
    if SLOPE not in cov.index:
        return None
    return float(cov.loc[LEVEL, SLOPE] / math.sqrt(cov.loc[LEVEL, LEVEL] * cov.loc[SLOPE, SLOPE]))


def simulated_coverage(
    res: Any, exog: pd.DataFrame, lags: int, term: str, n_sim: int, seed: int, ci: float = 0.95
) -> float:
    """Share of draws from the fitted model whose nominal interval covers the true `term`.

    The draws keep the design and coefficients and replace the residuals with AR(1) noise of
    the residuals' lag-1 autocorrelation and variance; each draw is refitted with the same
    Newey-West lags. In short series HAC intervals are too narrow; this says by how much.
    """
    rng = np.random.default_rng(seed)
    X = exog.to_numpy(dtype=float)
    beta = np.asarray(res.params, dtype=float)
    where = list(exog.columns).index(term)
    resid = np.asarray(res.resid, dtype=float)
    phi = float(np.clip(_acf1(resid), -0.95, 0.95))
    sigma = float(resid.std(ddof=X.shape[1]) * math.sqrt(1 - phi**2))
    n, hits = len(resid), 0
    for _ in range(n_sim):
        shocks = rng.normal(0.0, sigma, n)
        noise = np.empty(n)
        noise[0] = shocks[0] / math.sqrt(1 - phi**2)
        for i in range(1, n):
            noise[i] = phi * noise[i - 1] + shocks[i]
        fit = OLS(X @ beta + noise, X).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
        )
        low, high = np.asarray(fit.conf_int(alpha=1 - ci))[where]
        hits += int(low <= beta[where] <= high)
    return hits / n_sim


def _acf1(resid: np.ndarray) -> float:
    r = resid - resid.mean()
    return float((r[1:] * r[:-1]).sum() / (r**2).sum())


def _log_outcome(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    keep = frame[column].notna() & (frame[column] > 0)
    return frame[keep], int((frame[column].notna() & ~keep).sum())


@dataclass(frozen=True)
class _TrendDesign:
    """One series' valid days with positive PM2.5, and its linear trend and seasonal terms."""

    series: str
    what: str
    days: pd.DataFrame
    nonpositive: int
    start: pd.Timestamp
    X: pd.DataFrame


def _trend_design(
    daily: pd.DataFrame, analysis: str, seasonal: str, n_harmonics: int
) -> _TrendDesign:
    """The days and terms that the trend and its decomposition share; no valid day is an error."""
    series = str(daily["series"].iloc[0]) if "series" in daily else ""
    what = f"{analysis} of {series or 'the series'}"
    days = daily[daily["valid"]].sort_values("date").reset_index(drop=True)
    days, nonpositive = _log_outcome(days, "pm25")
    days = days.reset_index(drop=True)
    if days.empty:
        raise AnalysisError(f"{what}: no valid days")
    start = days["date"].min()
    X = pd.DataFrame({TREND: (days["date"] - start).dt.days / DAYS_PER_YEAR})
    X = X.join(seasonal_terms(days["date"], seasonal, n_harmonics))
    return _TrendDesign(series, what, days, nonpositive, start, X)


def fit_trend(
    daily: pd.DataFrame,
    *,
    adjust: bool,
    seasonal: str = "month",
    n_harmonics: int = 2,
    lags: int | None = None,
    long_lags: int | None = None,
) -> ModelFit:
    """log daily PM2.5 on a linear time trend and seasonal terms, with or without weather."""
    design = _trend_design(daily, "trend", seasonal, n_harmonics)
    series, what, days, X = design.series, design.what, design.days, design.X
    info: dict[str, Any] = {
        "first_day": str(design.start.date()),
        "nonpositive_days": design.nonpositive,
    }
    if adjust:
        weather = weather_terms(days)
        X = X.join(weather.frame)
        info |= {
            "wind_measure": weather.wind_measure,
            "wind_reference": weather.wind_reference,
            "weather_terms": weather.descriptions,
        }
    complete = X.notna().all(axis=1)
    info["days_without_weather"] = int((~complete).sum())
    X, days = X[complete], days[complete]
    y = np.log(days["pm25"])
    res, table, n_lags, notes = _fit(y, X, lags, what, long_lags)
    info["last_day"] = str(days["date"].max().date())
    return _model_fit(
        "trend_adjusted" if adjust else "trend_unadjusted",
        series,
        res,
        table,
        n_lags,
        adjusted=adjust,
        info=info,
        notes=notes,
    )


@dataclass(frozen=True)
class PolicyPeriods:
    """Pre-policy ends at `transition_start`; post-policy starts at `post_start`."""

    policy_date: dt.date
    transition_start: pd.Timestamp
    post_start: pd.Timestamp
    transition_excluded: bool


def policy_periods(policy_date: dt.date, transition: str) -> PolicyPeriods:
    """The month holding the policy date is a transition, dropped or counted as post-policy."""
    month_start = pd.Timestamp(policy_date.year, policy_date.month, 1)
    if policy_date.day == 1:
        return PolicyPeriods(policy_date, month_start, month_start, False)
    if transition == "post":
        return PolicyPeriods(policy_date, month_start, month_start, False)
    return PolicyPeriods(policy_date, month_start, month_start + pd.offsets.MonthBegin(1), True)


SEGMENTED = "segmented"
LEVEL_ONLY = "level_only"
DESIGNS = {
    SEGMENTED: "pre-policy trend, level change and slope change",
    LEVEL_ONLY: "one trend throughout and a level change (the pre-policy period is too short "
    "for a trend of its own)",
}


def pre_policy_months(first: pd.Timestamp, periods: PolicyPeriods) -> int:
    """Calendar months from the first month of a series to the start of the policy month."""
    first = pd.Timestamp(first)
    start = periods.transition_start
    return max(0, (start.year - first.year) * 12 + start.month - first.month)


def its_design(pre_months: int, min_pre_months: int) -> str:
    """The segmented design needs `min_pre_months` before the policy; otherwise level only.

    With less than about two seasonal cycles before the policy, a pre-policy trend of its own is
    confounded with the seasonal terms and extrapolates far beyond the data, so the model keeps
    one trend for the whole series and estimates the level change against it.
    """
    return SEGMENTED if pre_months >= min_pre_months else LEVEL_ONLY


def _its_terms(
    time_years: pd.Series,
    when: pd.Series,
    periods: PolicyPeriods,
    post_time: float,
    design: str = SEGMENTED,
) -> pd.DataFrame:
    post = (when >= periods.post_start).astype(float)
    terms = {TREND: time_years.to_numpy(), LEVEL: post.to_numpy()}
    if design == SEGMENTED:
        terms[SLOPE] = (post * (time_years - post_time)).to_numpy()
    return pd.DataFrame(terms)


def _its_info(used: pd.Series, periods: PolicyPeriods, unit: str) -> dict[str, Any]:
    post = used >= periods.post_start
    return {
        "unit": unit,
        "policy_date": periods.policy_date.isoformat(),
        "post_start": str(periods.post_start.date()),
        "transition_excluded": periods.transition_excluded,
        "n_pre": int((~post).sum()),
        "n_post": int(post.sum()),
        "first": str(used.min().date()),
        "last": str(used.max().date()),
    }


def _require_both_sides(info: Mapping[str, Any], minimum: int, what: str) -> None:
    if info["n_pre"] < minimum or info["n_post"] < minimum:
        raise AnalysisError(
            f"{what}: {info['n_pre']} pre- and {info['n_post']} post-policy observations; "
            f"at least {minimum} on each side needed"
        )


def _months_used(
    monthly: pd.DataFrame, periods: PolicyPeriods, min_valid_days: int
) -> pd.DataFrame:
    """The months in order, `used` where enough days were valid and not in the transition."""
    rows = monthly.sort_values("month_start").reset_index(drop=True)
    return rows.assign(
        used=(rows["n_valid_days"] >= min_valid_days)
        & (rows["pm25_mean"] > 0)
        & ~(
            periods.transition_excluded
            & (rows["month_start"] >= periods.transition_start)
            & (rows["month_start"] < periods.post_start)
        )
    )


def _years_since(origin: pd.Timestamp, stamps: pd.Series) -> pd.Series:
    """Whole months from the origin's month, in years."""
    return ((stamps.dt.year - origin.year) * 12 + stamps.dt.month - origin.month) / 12


def _its_monthly_curves(
    rows: pd.DataFrame,
    every: pd.DataFrame,
    table: pd.DataFrame,
    periods: PolicyPeriods,
    pre_months: int,
    design: str,
    seasonal: str,
    n_harmonics: int,
) -> dict[str, Any]:
    """The fit over every month: with season, season averaged, and without the policy terms.

    `every` holds the ITS terms of every month; the seasonal average is taken over one
    calendar year, and the continued pre-policy trend is supported no further past the policy
    than the pre-period reaches before it (every month under the level-only design).
    """
    seasons = seasonal_terms(rows["month_start"], seasonal, n_harmonics, monthly=True)
    matrix = pd.concat([pd.Series(1.0, index=every.index, name=CONST), every, seasons], axis=1)
    b = table.set_index("term")["b"].reindex(matrix.columns).fillna(0.0)
    season_cols = list(seasons.columns)
    twelve = seasonal_terms(
        pd.Series(pd.date_range("2001-01-01", periods=12, freq="MS")),
        seasonal,
        n_harmonics,
        monthly=True,
    )
    mean_season = float((twelve[season_cols] @ b[season_cols]).mean())
    policy_terms = [c for c in (LEVEL, SLOPE) if c in every.columns]
    linear = matrix[[CONST, TREND, *policy_terms]] @ b[[CONST, TREND, *policy_terms]]
    policy = matrix[policy_terms] @ b[policy_terms]
    post = rows["month_start"] >= periods.post_start
    reach = periods.post_start + pd.DateOffset(months=pre_months)
    supported = post & ((rows["month_start"] < reach) | (design == LEVEL_ONLY))
    return {
        "month_start": rows["month_start"],
        "pm25_mean": rows["pm25_mean"],
        "n_valid_days": rows["n_valid_days"],
        "used": rows["used"],
        "post": post,
        "fitted": np.exp(matrix @ b),
        "trend_deseasonalised": np.exp(linear + mean_season),
        "counterfactual_deseasonalised": np.exp(linear - policy + mean_season),
        "counterfactual_supported": supported,
    }


def fit_its_monthly(
    monthly: pd.DataFrame,
    periods: PolicyPeriods,
    *,
    min_valid_days: int,
    seasonal: str = "month",
    n_harmonics: int = 2,
    lags: int | None = None,
    coverage_simulations: int = 0,
    seed: int = 0,
    min_pre_months: int = 0,
) -> ModelFit:
    """Segmented regression of log monthly mean PM2.5: pre-trend, level change, slope change.

    With fewer than `min_pre_months` calendar months before the policy month the model keeps
    one trend and estimates the level change only (`info["design"]`, see `its_design`).
    With `coverage_simulations` > 0, `info["level_ci_coverage"]` is the simulated coverage of
    the nominal 95% interval of the level change (see `simulated_coverage`).
    `fitted["counterfactual_supported"]` marks the months where the continued pre-policy trend
    is an interpolation-like extrapolation: no further past the policy than the pre-period
    reaches before it (all months under the level-only design, whose trend uses every month).
    """
    series = str(monthly["series"].iloc[0]) if "series" in monthly else ""
    what = f"monthly interrupted time series of {series or 'the series'}"
    rows = _months_used(monthly, periods, min_valid_days)
    used = rows[rows["used"]].reset_index(drop=True)
    origin = rows["month_start"].min()
    post_time = float(_years_since(origin, pd.Series([periods.post_start])).iloc[0])
    pre_months = pre_policy_months(used["month_start"].min(), periods) if len(used) else 0
    design = its_design(pre_months, min_pre_months)
    X = _its_terms(
        _years_since(origin, used["month_start"]), used["month_start"], periods, post_time, design
    )
    X = X.join(seasonal_terms(used["month_start"], seasonal, n_harmonics, monthly=True))
    info = _its_info(used["month_start"], periods, "month")
    info |= {"design": design, "pre_months": pre_months, "min_pre_months": min_pre_months}
    _require_both_sides(info, 3, what)
    info["months_below_min_days"] = int((rows["n_valid_days"] < min_valid_days).sum())
    res, table, n_lags, notes = _fit(np.log(used["pm25_mean"]), X, lags, what)
    info["level_slope_correlation"] = _level_slope_correlation(res)
    info["level_ci_coverage"] = None
    if coverage_simulations > 0:
        info["level_ci_coverage"] = simulated_coverage(
            res, res.model.data.orig_exog, n_lags, LEVEL, coverage_simulations, seed
        )

    every = _its_terms(
        _years_since(origin, rows["month_start"]), rows["month_start"], periods, post_time, design
    )
    curves = _its_monthly_curves(
        rows, every, table, periods, pre_months, design, seasonal, n_harmonics
    )
    fitted = pd.DataFrame({"series": series, **curves})
    return _model_fit(
        "its_monthly_unadjusted",
        series,
        res,
        table,
        n_lags,
        adjusted=False,
        info=info,
        notes=notes,
        fitted=fitted,
    )


def fit_its_daily(
    daily: pd.DataFrame,
    periods: PolicyPeriods,
    *,
    adjust: bool,
    seasonal: str = "month",
    n_harmonics: int = 2,
    lags: int | None = None,
    long_lags: int | None = None,
    min_pre_months: int = 0,
) -> ModelFit:
    """Segmented regression of log daily PM2.5, with or without the daily weather.

    As `fit_its_monthly`, the model keeps one trend and estimates the level change only when
    fewer than `min_pre_months` calendar months precede the policy month.
    """
    series = str(daily["series"].iloc[0]) if "series" in daily else ""
    what = f"daily interrupted time series of {series or 'the series'}"
    days = daily[daily["valid"]].sort_values("date")
    days, nonpositive = _log_outcome(days, "pm25")
    if periods.transition_excluded:
        inside = (days["date"] >= periods.transition_start) & (days["date"] < periods.post_start)
        days = days[~inside]
    days = days.reset_index(drop=True)
    start = days["date"].min()
    time_years = (days["date"] - start).dt.days / DAYS_PER_YEAR
    post_time = (periods.post_start - start).days / DAYS_PER_YEAR
    pre_months = pre_policy_months(start, periods) if len(days) else 0
    design = its_design(pre_months, min_pre_months)
    X = _its_terms(time_years, days["date"], periods, post_time, design)
    X = X.join(seasonal_terms(days["date"], seasonal, n_harmonics))
    info: dict[str, Any] = {
        "nonpositive_days": nonpositive,
        "design": design,
        "pre_months": pre_months,
        "min_pre_months": min_pre_months,
    }
    if adjust:
        weather = weather_terms(days)
        X = X.join(weather.frame)
        info |= {"wind_measure": weather.wind_measure, "wind_reference": weather.wind_reference}
    complete = X.notna().all(axis=1)
    info["days_without_weather"] = int((~complete).sum())
    X, days = X[complete], days[complete]
    info |= _its_info(days["date"], periods, "day")
    _require_both_sides(info, 30, what)
    res, table, n_lags, notes = _fit(np.log(days["pm25"]), X, lags, what, long_lags)
    info["level_slope_correlation"] = _level_slope_correlation(res)
    return _model_fit(
        "its_daily_adjusted" if adjust else "its_daily_unadjusted",
        series,
        res,
        table,
        n_lags,
        adjusted=adjust,
        info=info,
        notes=notes,
    )


def _group(term: str) -> str:
    return "wind_dir" if term.startswith("wind_dir_") else term


def trend_decomposition(
    daily: pd.DataFrame, *, seasonal: str = "month", n_harmonics: int = 2
) -> pd.DataFrame:
    """Why the weather-adjusted trend differs from the unadjusted one, term by term.

    On the days with complete weather, the unadjusted trend b_u (log PM2.5 on trend and season)
    and the adjusted trend b_a (plus weather) obey the omitted-variable identity

        b_u - b_a = sum_j beta_j delta_j,

    where beta_j is the adjusted model's coefficient of weather term j and delta_j the trend of
    term j itself in a regression on trend and season: a weather measure that drifts over the
    years (a real change of climate, or a changed instrument) moves the adjusted trend by
    beta_j delta_j. The identity is exact, so the contributions add up to the difference.

    Parameters
    ----------
    daily : pandas.DataFrame
        Daily rows of one series, as `fit_trend` takes them.
    seasonal, n_harmonics
        Seasonal terms, as in `fit_trend`.

    Returns
    -------
    pandas.DataFrame
        One row per weather term (wind-direction dummies summed into `wind_dir`) with `beta`,
        `drift_per_year` (delta, in the term's unit a year; NaN for `wind_dir`),
        `contribution` (log points a year) and `contribution_pct_points`; then the rows
        `unadjusted`, `adjusted` and `difference` (`contribution` holds b_u, b_a, b_u - b_a).
        `trend_vif` on every row: the variance inflation of the trend coefficient by the
        weather terms, and `season_r2`: the share of the term's variance that the seasonal
        terms and the trend explain.
    """
    design = _trend_design(daily, "trend decomposition", seasonal, n_harmonics)
    series, what, days, base = design.series, design.what, design.days, design.X
    weather = weather_terms(days).frame
    complete = weather.notna().all(axis=1) & base.notna().all(axis=1)
    base, weather = base[complete], weather[complete]
    weather = weather.loc[:, weather.nunique() > 1]
    y = np.log(days.loc[complete, "pm25"]).to_numpy(dtype=float)
    const = pd.Series(1.0, index=base.index, name=CONST)
    exog_u = pd.concat([const, base], axis=1)
    exog_a = pd.concat([exog_u, weather], axis=1)
    if len(y) < exog_a.shape[1] + 5:
        raise AnalysisError(f"{what}: {len(y)} days for {exog_a.shape[1]} parameters")
    unadjusted = OLS(y, exog_u).fit()
    adjusted = OLS(y, exog_a).fit()
    b_u, b_a = float(unadjusted.params[TREND]), float(adjusted.params[TREND])
    rows: dict[str, dict[str, float]] = {}
    for term in weather.columns:
        aux = OLS(weather[term].to_numpy(dtype=float), exog_u).fit()
        beta, delta = float(adjusted.params[term]), float(aux.params[TREND])
        entry = rows.setdefault(
            _group(term),
            {"beta": 0.0, "drift_per_year": 0.0, "contribution": 0.0, "season_r2": 0.0},
        )
        entry["beta"] += beta
        entry["drift_per_year"] += delta
        entry["contribution"] += beta * delta
        entry["season_r2"] = max(entry["season_r2"], float(aux.rsquared))
    if "wind_dir" in rows:
        rows["wind_dir"]["beta"] = float("nan")
        rows["wind_dir"]["drift_per_year"] = float("nan")
    others = exog_a.drop(columns=[TREND])
    r2_trend = float(OLS(exog_a[TREND].to_numpy(dtype=float), others).fit().rsquared)
    vif = 1.0 / max(1e-12, 1.0 - r2_trend)
    table = pd.DataFrame(
        [{"term": term} | values for term, values in rows.items()]
        + [
            {"term": "unadjusted", "contribution": b_u},
            {"term": "adjusted", "contribution": b_a},
            {"term": "difference", "contribution": b_u - b_a},
        ]
    )
    table["contribution_pct_points"] = 100 * table["contribution"]
    table.insert(0, "series", series)
    table["n_days"] = len(y)
    table["trend_vif"] = vif
    return table
