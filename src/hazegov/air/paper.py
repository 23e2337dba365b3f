"""What the paper reads from the air strand: the `air` variables and the Markdown tables.

Every number is formatted here, once, from the tidy results, so prose and tables cannot drift
apart. The data are real measurements, so no table carries the synthetic-data mark.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hazegov.air.models import LEVEL, SLOPE, TREND, ModelFit, PolicyPeriods, percent
from hazegov.air.official import OfficialSeries
from hazegov.air.settings import CITY_WIDE, AirSettings
from hazegov.tables import Column, fmt_ci, fmt_p, fmt_p_op, pipe_table

ITS_MODELS = {
    "its_monthly_unadjusted": ("monthly", "Monthly means, no weather adjustment"),
    "its_daily_unadjusted": ("daily", "Daily means, no weather adjustment"),
    "its_daily_adjusted": ("daily_adjusted", "Daily means, weather-adjusted"),
}
TREND_MODELS = {"trend_unadjusted": "unadjusted", "trend_adjusted": "adjusted"}
MEASURE_KEYS = (("heavy_pollution_days", "heavy_days"), ("good_or_better_days", "good_days"))


def _f(value: float, digits: int = 1) -> str:
    """A rounded number with thousands separators; never "-0.0"."""
    text = f"{value:,.{digits}f}"
    return text.lstrip("-") if float(text.replace(",", "")) == 0 else text


def _pct_ci(row: pd.Series, low: str = "ci_low", high: str = "ci_high", digits: int = 1) -> str:
    return fmt_ci(percent(row[low]), percent(row[high]), digits)


def _month(stamp: pd.Timestamp) -> str:
    return f"{stamp:%B %Y}"


def _day(date: Any) -> str:
    stamp = pd.Timestamp(date)
    return f"{stamp.day} {stamp:%B %Y}"


def _years_text(years: Sequence[int]) -> str:
    items = [str(y) for y in years]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def slug(name: str) -> str:
    """A variables key from a series name: 'US Embassy' -> 'us_embassy'."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _estimate(fit: ModelFit, term: str) -> dict[str, str]:
    row = fit.term(term)
    out = {
        "pct": _f(percent(row["b"])),
        "abs_pct": _f(abs(percent(row["b"]))),
        "direction": "an increase" if row["b"] > 0 else "a decrease",
        "ci": _pct_ci(row),
        "p": fmt_p_op(row["p"]),
    }
    if "p_long" in row.index and not pd.isna(row["p_long"]):
        out["ci_long"] = _pct_ci(row, "ci_low_long", "ci_high_long")
        out["p_long"] = fmt_p_op(row["p_long"])
    return out


def _trend_variables(fit: ModelFit) -> dict[str, Any]:
    est = _estimate(fit, TREND)
    return {
        "pct_per_year": est["pct"],
        "abs_pct_per_year": est["abs_pct"],
        "direction": "downward" if est["pct"].startswith("-") else "upward",
        "ci": est["ci"],
        "p": est["p"],
        "ci_long_lags": est.get("ci_long", ""),
        "p_long_lags": est.get("p_long", ""),
        "n_days": fit.n,
        "hac_lags": fit.hac_lags,
        "r2": _f(fit.r2, 2),
        "resid_acf1": _f(fit.resid_acf1, 2),
    }


def _its_variables(fit: ModelFit) -> dict[str, Any]:
    level, slope, pre = (_estimate(fit, t) for t in (LEVEL, SLOPE, TREND))
    out: dict[str, Any] = {
        "level_change_pct": level["pct"],
        "level_abs_pct": level["abs_pct"],
        "level_direction": level["direction"],
        "level_ci": level["ci"],
        "level_p": level["p"],
        "slope_change_pct_per_year": slope["pct"],
        "slope_ci": slope["ci"],
        "slope_p": slope["p"],
        "pre_trend_pct_per_year": pre["pct"],
        "pre_trend_ci": pre["ci"],
        "n_pre": fit.info["n_pre"],
        "n_post": fit.info["n_post"],
        "unit": fit.info["unit"],
        "hac_lags": fit.hac_lags,
        "level_slope_correlation": _f(fit.info["level_slope_correlation"], 2),
        "r2": _f(fit.r2, 2),
    }
    if "p_long" in level:
        out |= {
            "level_ci_long_lags": level["ci_long"],
            "level_p_long_lags": level["p_long"],
            "slope_p_long_lags": slope["p_long"],
        }
    coverage = fit.info.get("level_ci_coverage")
    if coverage is not None:
        out["level_ci_coverage_pct"] = _f(100 * coverage, 0)
    return out


def coverage_sentence(fit: ModelFit) -> str:
    """What the simulation from the fitted monthly model says about its 95% interval."""
    coverage = fit.info.get("level_ci_coverage")
    if coverage is None:
        return ""
    pct = f"{100 * coverage:.0f}%"
    if coverage < 0.9:
        verdict = "so the intervals are too narrow and the p-values too small"
    else:
        verdict = "close to the nominal level"
    return (
        f" In draws from the fitted monthly model the nominal 95% interval of the level change "
        f"covered the true value in {pct} of cases, {verdict}."
    )


def _series_description(series: str, n_stations: int) -> str:
    if series == CITY_WIDE:
        return f"the city-wide mean of {n_stations} monitoring stations"
    return f"one monitoring site ({series})"


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six")


def _count(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def its_agreement(fits: Sequence[ModelFit]) -> str:
    """A sentence on whether the model variants agree on the level change, from their CIs."""
    if len(fits) < 2:
        return ""
    rows = [f.term(LEVEL) for f in fits]
    pcts = [percent(r["b"]) for r in rows]
    excluding = sum(1 for r in rows if r["ci_high"] < 0 or r["ci_low"] > 0)
    same_sign = len({math.copysign(1, p) for p in pcts}) == 1
    span = f"ranges from {min(pcts):.1f}% to {max(pcts):.1f}%"
    n = _count(len(fits))
    if same_sign and excluding in (0, len(fits)):
        verdict = "all exclude" if excluding else "all include"
        return f" The {n} model variants agree: the level change {span}; the intervals {verdict} 0."
    return (
        f" The {n} model variants do not agree: the level change {span}, and "
        f"{_count(excluding)} of the {n} confidence intervals "
        f"{'excludes' if excluding == 1 else 'exclude'} zero, so any single "
        "estimate depends on modelling choices such as the weather adjustment."
    )


def its_caution(
    monthly_fit: ModelFit,
    periods: PolicyPeriods,
    monthly: pd.DataFrame,
    n_stations: int,
    variants: Sequence[ModelFit] = (),
) -> str:
    """What a short post-policy window at one series can and cannot show, from the data."""
    info = monthly_fit.info
    rows = monthly.sort_values("month_start")
    window = pd.DateOffset(months=12)
    before = rows[
        (rows["month_start"] >= periods.transition_start - window)
        & (rows["month_start"] < periods.transition_start)
    ]
    after = rows[
        (rows["month_start"] >= periods.post_start)
        & (rows["month_start"] < periods.post_start + window)
    ]
    extremes = ""
    if not before.empty and not after.empty:
        top_before = before.loc[before["pm25_mean"].idxmax()]
        top_after = after.loc[after["pm25_mean"].idxmax()]
        extremes = (
            f" The most polluted months of the year before and the year after the break "
            f"({_month(top_before['month_start'])}, {_f(top_before['pm25_mean'], 0)} µg/m³; "
            f"{_month(top_after['month_start'])}, {_f(top_after['pm25_mean'], 0)} µg/m³) "
            "weigh heavily on so short a comparison."
        )
    corr = info["level_slope_correlation"]
    return (
        f"The interrupted time series compares {info['n_pre']} months before the policy of "
        f"{_day(periods.policy_date)} with only {info['n_post']} months after it "
        f"({_month(pd.Timestamp(info['post_start']))} to {_month(pd.Timestamp(info['last']))}), "
        f"for {_series_description(monthly_fit.series, n_stations)} and without a control "
        "series. Over so short a post-policy period a change in level is hard to tell apart from "
        f"a change in slope (their estimates correlate at r = {corr:.2f}) and from the strong "
        f"seasonal cycle of Beijing's haze.{extremes}{its_agreement(variants)}"
        f"{coverage_sentence(monthly_fit)} Nothing in these "
        "data separates the plan from other measures taken at the same time or from weather the "
        "covariates miss. The estimates describe how the series moved around the policy date; "
        "they do not measure the effect of the plan."
    )


def air_variables(
    settings: AirSettings,
    *,
    daily: pd.DataFrame,
    annual: pd.DataFrame,
    monthly: pd.DataFrame,
    fits: Mapping[tuple[str, str], ModelFit],
    periods: PolicyPeriods,
    official: OfficialSeries,
    official_facts: Mapping[str, Any],
    file_reports: Sequence[Mapping[str, Any]],
    hourly_summary: Mapping[str, Any],
) -> dict[str, Any]:
    """Every number of the air strand that the introduction quotes, as formatted strings."""
    primary = settings.primary
    days = daily[daily["series"] == primary]
    valid = days[days["valid"]]
    years = annual[annual["series"] == primary].sort_values("year")
    stations = sorted(daily.loc[daily["series"] != CITY_WIDE, "series"].unique())
    grade_ii = official.standards["gb3095_grade_ii"]
    who = official.standards.get("who_2021")
    mean = float(valid["pm25"].mean())
    above = int((valid["pm25"] > settings.grade_ii_24h).sum())
    heavy = int((valid["pm25"] > settings.heavy).sum())
    worst = valid.loc[valid["pm25"].idxmax()]
    first_year, last_year = int(years["year"].min()), int(years["year"].max())
    by_year = {
        f"y{int(r.year)}": {
            "mean": _f(r.pm25_mean),
            "valid_days": int(r.n_valid_days),
            "days_above_75": int(r.days_above_grade_ii_24h),
            "share_above_75_pct": _f(100 * r.share_above_grade_ii_24h),
            "days_above_150": int(r.days_above_heavy),
            "complete": "yes" if r.complete else "no",
        }
        for r in years.itertuples(index=False)
    }
    attributions = list(dict.fromkeys(r["attribution"] for r in file_reports if r["attribution"]))
    trend = {
        label: _trend_variables(fits[(primary, model)])
        for model, label in TREND_MODELS.items()
        if (primary, model) in fits
    }
    adjusted = fits.get((primary, "trend_adjusted"))
    if adjusted is not None:
        trend["wind_measure"] = adjusted.info["wind_measure"]
        trend["wind_reference"] = adjusted.info["wind_reference"]
        trend["weather_terms"] = (
            "daily mean dew point, temperature and pressure, the hours with rain or snow, "
            f"log(1 + daily mean {adjusted.info['wind_measure']}) and the day's modal wind "
            "direction"
        )
    trend["seasonal_terms"] = (
        "month dummies"
        if settings.seasonal == "month"
        else f"{settings.n_harmonics} pairs of annual harmonics"
    )
    its: dict[str, Any] = {
        "policy": settings.policy,
        "policy_date": _day(periods.policy_date),
        "post_start": _month(periods.post_start),
        "transition": (
            f"{_month(periods.transition_start)} is left out as a transition month"
            if periods.transition_excluded
            else "the month of the policy counts as post-policy"
        ),
    }
    for model, (key, _label) in ITS_MODELS.items():
        if (primary, model) in fits:
            its[key] = _its_variables(fits[(primary, model)])
    monthly_fit = fits[(primary, "its_monthly_unadjusted")]
    daily_lags = [f.hac_lags for (s, m), f in fits.items() if s == primary and "daily" in m]
    daily_lags += [f.hac_lags for (s, m), f in fits.items() if s == primary and "trend" in m]
    its["lag_rule"] = _lag_rule(settings, monthly_fit.hac_lags, sorted(set(daily_lags)))
    variants = [fits[(primary, m)] for m in ITS_MODELS if (primary, m) in fits]
    its["caution"] = its_caution(
        monthly_fit, periods, monthly[monthly["series"] == primary], len(stations), variants
    )
    site = years.set_index("year")["pm25_mean"]
    official_table = official.series.set_index("year")
    base_year = official_facts["base_year"]
    comparison = {}
    if base_year in site.index:
        comparison = {
            "year": base_year,
            "site_mean": _f(site[base_year]),
            "official_mean": _f(official_table.loc[base_year, "pm25"]),
        }
    provisional = official_facts["provisional_years"]
    target_met = official_facts["target_met"]
    out: dict[str, Any] = {
        "data": {
            "attribution": " ".join(attributions),
            "stations": _years_text(stations),
            "n_stations": len(stations),
            "primary_series": primary,
            "primary_description": _series_description(primary, len(stations)),
            "first_year": first_year,
            "last_year": last_year,
            "period": f"{first_year}–{last_year}",
            "n_hours": f"{hourly_summary['n_hours']:,}",
            "pm25_missing_pct": _f(100 * hourly_summary["pm25_missing_share"]),
            "sha256_short": ", ".join(r["sha256"][:12] for r in file_reports),
            "timezone": "Beijing time (UTC+8)",
        },
        "completeness": {
            "min_hours": settings.min_hours_per_day,
            "rule": (
                f"a daily mean counts only when at least {settings.min_hours_per_day} of its 24 "
                "hourly values were measured, as GB 3095-2012 requires for a 24-hour mean"
            ),
            "n_days": len(days),
            "n_valid_days": len(valid),
            "valid_days_pct": _f(100 * len(valid) / len(days)),
            "n_years_complete": int(years["complete"].sum()),
            "annual_rule": (
                f"at least {settings.min_days_per_year} valid days a year and "
                f"{settings.min_days_per_month} a month ({settings.min_days_february} in "
                "February)"
            ),
        },
        "severity": {
            "series": primary,
            "mean_pm25": _f(mean),
            "times_grade_ii_annual": _f(mean / grade_ii.annual),
            "times_who_annual": _f(mean / who.annual) if who else "",
            "days_above_75": f"{above:,}",
            "share_days_above_75_pct": _f(100 * above / len(valid)),
            "days_above_75_per_year_mean": _f(float(years["days_above_grade_ii_24h"].mean()), 0),
            "days_above_75_per_year_min": int(years["days_above_grade_ii_24h"].min()),
            "days_above_75_per_year_max": int(years["days_above_grade_ii_24h"].max()),
            "days_above_150": f"{heavy:,}",
            "share_days_above_150_pct": _f(100 * heavy / len(valid)),
            "max_daily_mean": _f(float(worst["pm25"])),
            "max_daily_date": _day(worst["date"]),
            "by_year": by_year,
        },
        "trend": trend,
        "its": its,
        "official": {
            "source": official.source,
            "base_year": base_year,
            "base_value": f"{official_facts['base_value']:g}",
            "target_year": official_facts["target_year"],
            "target_year_value": f"{official_facts['target_year_value']:g}",
            "change_pct": _f(official_facts["change_pct"]),
            "decrease_pct": _f(-official_facts["change_pct"]),
            "reported_decrease_pct": (
                _f(-official_facts["reported_change_pct"])
                if official_facts["reported_change_pct"] is not None
                else ""
            ),
            "target": official.target_wording,
            "target_value": f"{official.target_value:g}",
            "target_met": "met" if target_met else "missed",
            "target_met_flag": bool(target_met),
            "target_documents": "; ".join(official.target_documents),
            "latest_year": official_facts["latest_year"],
            "latest_value": f"{official_facts['latest_value']:g}",
            "decrease_base_to_latest_pct": _f(-official_facts["change_base_to_latest_pct"]),
            "first_year_at_or_below_grade_ii": official_facts["first_year_at_or_below_grade_ii"]
            or "none",
            "provisional_years": _years_text(provisional) or "none",
            "provisional_note": (
                f"the official values for {_years_text(provisional)} are provisional: not yet "
                "checked against the Statement of their year"
                if provisional
                else "no official value is provisional"
            ),
            "latest_is_provisional": official_facts["latest_year"] in provisional,
            **_official_days(official, base_year, official_facts),
            "site_comparison": comparison,
        },
        "standards": {
            "grade_ii_annual": f"{grade_ii.annual:g}",
            "grade_ii_24h": f"{grade_ii.daily_24h:g}",
            "who_annual": f"{who.annual:g}" if who else "",
            "who_24h": f"{who.daily_24h:g}" if who else "",
            "heavy_threshold": f"{settings.heavy:g}",
            "exceedance_rule": (
                f"a valid daily mean above {settings.grade_ii_24h:g} µg/m³, the Grade II 24-hour "
                "limit of GB 3095-2012"
            ),
        },
    }
    if len(stations) > 1:
        out["by_series"] = _series_variables(daily, annual, fits)
    return {"air": out}


def _official_days(
    official: OfficialSeries, base_year: int, facts: Mapping[str, Any]
) -> dict[str, Any]:
    table = official.series.set_index("year")
    out: dict[str, Any] = {}
    keys = {"base": base_year, "target_year": facts["target_year"], "latest": facts["latest_year"]}
    for name, year in keys.items():
        for measure, short in MEASURE_KEYS:
            value = table.loc[year, measure] if year in table.index else math.nan
            out[f"{short}_{name}"] = "not published" if pd.isna(value) else int(value)
    return out


def _series_variables(
    daily: pd.DataFrame, annual: pd.DataFrame, fits: Mapping[tuple[str, str], ModelFit]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for series, rows in daily[daily["valid"]].groupby("series", sort=True):
        entry: dict[str, Any] = {
            "name": str(series),
            "mean_pm25": _f(float(rows["pm25"].mean())),
            "valid_days": len(rows),
            "share_days_above_75_pct": _f(100 * float((rows["pm25"] > 75).mean())),
        }
        fit = fits.get((str(series), "trend_adjusted"))
        if fit is not None:
            est = _estimate(fit, TREND)
            entry["trend_adjusted_pct_per_year"] = est["pct"]
            entry["trend_adjusted_ci"] = est["ci"]
        out[slug(str(series))] = entry
    return out


def _lag_rule(settings: AirSettings, monthly_lags: int, daily_lags: Sequence[int]) -> str:
    daily_text = "/".join(str(x) for x in daily_lags) or "-"
    if settings.monthly_lags is None and settings.daily_lags is None:
        head = "floor(4 (n/100)^(2/9)) lags (Newey and West 1994)"
    else:
        head = "lags set in the configuration"
    return (
        f"Newey-West standard errors with {head}: {monthly_lags} for the monthly and "
        f"{daily_text} for the daily models; for the daily models a longer window of "
        f"{settings.daily_lags_long} days is reported beside them"
    )


def annual_table(annual: pd.DataFrame, official: OfficialSeries, settings: AirSettings) -> str:
    """Annual means and exceedance days of the primary series, with the official mean beside."""
    rows = annual[annual["series"] == settings.primary].sort_values("year").copy()
    official_table = official.series.set_index("year")

    def official_cell(year: int) -> str:
        if year not in official_table.index or pd.isna(official_table.loc[year, "pm25"]):
            return ""
        flag = "*" if official_table.loc[year, "pm25_provisional"] else ""
        return f"{official_table.loc[year, 'pm25']:g}{flag}"

    rows["year_label"] = [
        f"{int(y)}" if c else f"{int(y)}†"
        for y, c in zip(rows["year"], rows["complete"], strict=True)
    ]
    rows["official"] = [official_cell(int(y)) for y in rows["year"]]
    rows["share75"] = 100 * rows["share_above_grade_ii_24h"]
    limit, heavy = f"{settings.grade_ii_24h:g}", f"{settings.heavy:g}"
    columns = [
        Column("year_label", "Year", align="left"),
        Column("n_valid_days", "Valid days"),
        Column("pm25_mean", "Mean PM2.5 (µg/m³)", "{:.1f}"),
        Column("days_above_grade_ii_24h", f"Days > {limit}"),
        Column("share75", "% of valid days", "{:.1f}"),
        Column("days_above_heavy", f"Days > {heavy}"),
        Column("official", "Official city-wide mean"),
    ]
    provisional = bool(
        official_table.loc[
            official_table.index.intersection(rows["year"].astype(int)), "pm25_provisional"
        ].any()
    )
    n_stations = int((annual["series"] != CITY_WIDE).groupby(annual["series"]).any().sum())
    what = _series_description(settings.primary, n_stations)
    note = (
        f"{what[0].upper()}{what[1:]}; a daily mean counts when at least "
        f"{settings.min_hours_per_day} hourly values were measured (GB 3095-2012); means are "
        f"means of valid daily means. Days > {limit}: above "
        f"the Grade II 24-hour limit of GB 3095-2012; days > {heavy}: individual AQI above 200, "
        "heavy pollution or worse (HJ 633-2012). † fewer valid days than GB 3095-2012 asks of an "
        f"annual mean ({settings.min_days_per_year} a year, {settings.min_days_per_month} a "
        f"month, {settings.min_days_february} in February). Official mean: {official.network}."
    )
    if provisional:
        note += " * provisional value."
    return pipe_table(
        rows,
        columns,
        caption=f"Annual mean PM2.5 and days above the 24-hour limit, {settings.primary}",
        label="tbl-air-annual",
        synthetic=False,
        note=note,
    )


def its_table(fits: Mapping[tuple[str, str], ModelFit], settings: AirSettings) -> str:
    """Level and slope change at the policy date under the three model variants."""
    rows = []
    for model, (_key, label) in ITS_MODELS.items():
        fit = fits.get((settings.primary, model))
        if fit is None:
            continue
        level, slope, pre = (fit.term(t) for t in (LEVEL, SLOPE, TREND))
        rows.append(
            {
                "model": label,
                "n": f"{fit.info['n_pre']} / {fit.info['n_post']} {fit.info['unit']}s",
                "pre": f"{percent(pre['b']):.1f} {_pct_ci(pre)}",
                "level": f"{percent(level['b']):.1f} {_pct_ci(level)}",
                "level_p": level["p"],
                "slope": f"{percent(slope['b']):.1f} {_pct_ci(slope)}",
                "slope_p": slope["p"],
                "lags": fit.hac_lags,
                "level_p_long": level.get("p_long", np.nan),
            }
        )
    frame = pd.DataFrame(rows)
    columns = [
        Column("model", "Model", align="left"),
        Column("n", "n pre / post"),
        Column("pre", "Pre-policy trend, %/year [95% CI]"),
        Column("level", "Level change, % [95% CI]"),
        Column("level_p", "p", fmt_p),
        Column("slope", "Slope change, %/year [95% CI]"),
        Column("slope_p", "p", fmt_p),
    ]
    lags = ", ".join(f"{r['lags']}" for r in rows)
    long_p = ", ".join(fmt_p(r["level_p_long"]) for r in rows if not pd.isna(r["level_p_long"]))
    monthly = fits.get((settings.primary, "its_monthly_unadjusted"))
    coverage = monthly.info.get("level_ci_coverage") if monthly else None
    checks = []
    if long_p:
        checks.append(
            f"with a {settings.daily_lags_long}-day window the daily level-change p-values are "
            f"{long_p}"
        )
    if coverage is not None:
        checks.append(
            "in draws from the fitted monthly model its nominal 95% interval of the level change "
            f"covered the true value in {100 * coverage:.0f}% of cases"
        )
    note = (
        f"Segmented regressions of log PM2.5 around {_day(settings.policy_date)}, the date of "
        f"the {settings.policy}; "
        + ("month dummies" if settings.seasonal == "month" else "annual harmonics")
        + " in every model and, in the weather-adjusted one, daily dew point, temperature, "
        "pressure, hours of rain or snow, wind speed and modal wind direction. Percentages are "
        f"100 (exp(b) - 1). Newey-West standard errors ({lags} lags in the order of the rows)"
        + ("; " + "; ".join(checks) if checks else "")
        + "."
    )
    return pipe_table(
        frame,
        columns,
        caption=(
            f"Interrupted time series of PM2.5 around {_month(pd.Timestamp(settings.policy_date))}"
            f", {settings.primary}"
        ),
        label="tbl-its",
        synthetic=False,
        note=note,
    )
