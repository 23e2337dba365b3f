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

from hazegov.air.aggregate import MONTH_NAMES
from hazegov.air.models import (
    DESIGNS,
    LEVEL,
    LEVEL_ONLY,
    SLOPE,
    TREND,
    ModelFit,
    PolicyPeriods,
    percent,
)
from hazegov.air.official import OfficialSeries, Standard
from hazegov.air.settings import CITY_WIDE, AirSettings
from hazegov.formatting import fmt_ci, fmt_p, fmt_p_op, num
from hazegov.paper.tables import Column, pipe_table

ITS_MODELS = {
    "its_monthly_unadjusted": ("monthly", "Monthly means, no weather adjustment"),
    "its_daily_unadjusted": ("daily", "Daily means, no weather adjustment"),
    "its_daily_adjusted": ("daily_adjusted", "Daily means, weather-adjusted"),
}
TREND_MODELS = {"trend_unadjusted": "unadjusted", "trend_adjusted": "adjusted"}
MEASURE_KEYS = (("heavy_pollution_days", "heavy_days"), ("good_or_better_days", "good_days"))
# Fewer months than this on a side of the policy date is a short window (two seasonal cycles).
LONG_ENOUGH_MONTHS = 24


def _pct_ci(row: pd.Series, low: str = "ci_low", high: str = "ci_high", digits: int = 1) -> str:
    return fmt_ci(percent(row[low]), percent(row[high]), digits)


def _month(stamp: pd.Timestamp) -> str:
    return f"{stamp:%B %Y}"


def month_span(first: pd.Timestamp, last: pd.Timestamp) -> str:
    """'March to August 2013', 'October 2013 to February 2017', 'May 2014'."""
    if (first.year, first.month) == (last.year, last.month):
        return _month(first)
    if first.year == last.year:
        return f"{first:%B} to {last:%B %Y}"
    return f"{_month(first)} to {_month(last)}"


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
        "pct": num(percent(row["b"]), 1, thousands=True),
        "abs_pct": num(abs(percent(row["b"])), 1, thousands=True),
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
        "r2": num(fit.r2, 2, thousands=True),
        "resid_acf1": num(fit.resid_acf1, 2, thousands=True),
    }


def _its_variables(fit: ModelFit) -> dict[str, Any]:
    level, pre = _estimate(fit, LEVEL), _estimate(fit, TREND)
    has_slope = SLOPE in set(fit.coefficients["term"])
    slope = _estimate(fit, SLOPE) if has_slope else {"pct": "", "ci": "", "p": "", "p_long": ""}
    correlation = fit.info.get("level_slope_correlation")
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
        "pre_months": fit.info["pre_months"],
        "unit": fit.info["unit"],
        "design": DESIGNS[fit.info["design"]],
        "hac_lags": fit.hac_lags,
        "level_slope_correlation": ""
        if correlation is None
        else num(correlation, 2, thousands=True),
        "r2": num(fit.r2, 2, thousands=True),
    }
    if "p_long" in level:
        out |= {
            "level_ci_long_lags": level["ci_long"],
            "level_p_long_lags": level["p_long"],
            "slope_p_long_lags": slope.get("p_long", ""),
        }
    coverage = fit.info.get("level_ci_coverage")
    if coverage is not None:
        out["level_ci_coverage_pct"] = num(100 * coverage, 0, thousands=True)
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


NUMBER_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


def _count(n: int) -> str:
    """A count in words up to twelve, in digits above."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """'1 month', '6 months'; `plural_form` for irregular nouns."""
    return f"{n:,} {noun if n == 1 else plural_form or noun + 's'}"


def counted(n: int, noun: str, plural_form: str | None = None) -> str:
    """'one station', 'twelve stations', '41 stations'."""
    return f"{_count(n)} {noun if n == 1 else plural_form or noun + 's'}"


def capitalise(text: str) -> str:
    """The text with its first letter in upper case, for a sentence that starts with it."""
    return text[:1].upper() + text[1:]


def its_agreement(fits: Sequence[ModelFit]) -> str:
    """A sentence on whether the model variants agree on the level change, from their CIs."""
    if len(fits) < 2:
        return ""
    rows = [f.term(LEVEL) for f in fits]
    pcts = [percent(r["b"]) for r in rows]
    excluding = sum(1 for r in rows if r["ci_high"] < 0 or r["ci_low"] > 0)
    same_sign = len({math.copysign(1, p) for p in pcts}) == 1
    span = (
        f"ranges from {num(min(pcts), 1, thousands=True)}% to {num(max(pcts), 1, thousands=True)}%"
    )
    n = _count(len(fits))
    both = "both" if len(fits) == 2 else "all"
    if same_sign and excluding in (0, len(fits)):
        verdict = f"{both} exclude" if excluding else f"{both} include"
        return f" The {n} model variants agree: the level change {span}; the intervals {verdict} 0."
    if excluding == 0:
        which = f"none of the {n} confidence intervals excludes zero"
    else:
        which = (
            f"{_count(excluding)} of the {n} confidence intervals "
            f"{'excludes' if excluding == 1 else 'exclude'} zero"
        )
    adjusted = any(f.adjusted for f in fits)
    choice = "such as the weather adjustment" if adjusted else "such as the time unit"
    return (
        f" The {n} model variants do not agree: the level change {span}, and {which}, so any "
        f"single estimate depends on modelling choices {choice}."
    )


def its_caution(
    monthly_fit: ModelFit,
    periods: PolicyPeriods,
    monthly: pd.DataFrame,
    n_stations: int,
    variants: Sequence[ModelFit] = (),
) -> str:
    """What the pre- and post-policy windows of one series can and cannot show, from the data.

    Every clause follows the fitted model: the months on each side, whether the pre-policy
    period was long enough for a trend of its own (`info["design"]`), the correlation of the
    level and slope estimates where both were fitted, and the variants' agreement.
    """
    info = monthly_fit.info
    n_pre, n_post = int(info["n_pre"]), int(info["n_post"])
    short = LONG_ENOUGH_MONTHS
    extremes = _extremes_sentence(monthly, periods, n_pre, n_post)
    pre_text = plural(n_pre, "month")
    post_text = plural(n_post, "month")
    if n_pre < short and n_pre < n_post:
        pre_text = f"only {pre_text}"
    if n_post < short and n_post < n_pre:
        post_text = f"only {post_text}"
    last_pre = periods.transition_start - pd.DateOffset(months=1)
    pre_span = month_span(pd.Timestamp(info["first"]), last_pre)
    post_span = month_span(pd.Timestamp(info["post_start"]), pd.Timestamp(info["last"]))
    what = _series_description(monthly_fit.series, n_stations)
    head = (
        f"The interrupted time series compares {pre_text} before the policy of "
        f"{_day(periods.policy_date)} ({pre_span}) with {post_text} after it ({post_span}), "
        f"for {what}, without a control series."
    )
    body = _design_sentence(info, n_pre, n_post)
    return (
        f"{head}{body}{extremes}{its_agreement(variants)}{coverage_sentence(monthly_fit)} "
        "Nothing in these data separates the plan from other measures taken at the same time or "
        "from weather the covariates miss. The estimates describe how the series moved around "
        "the policy date; they do not measure the effect of the plan."
    )


def _extremes_sentence(
    monthly: pd.DataFrame, periods: PolicyPeriods, n_pre: int, n_post: int
) -> str:
    """The most polluted months of the year before and after the break, which weigh on it."""
    short = LONG_ENOUGH_MONTHS
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
        weight = (
            "weigh heavily on so short a comparison"
            if min(n_pre, n_post) < short
            else ("still weigh on the comparison")
        )
        extremes = (
            f" The most polluted months of the year before and the year after the break "
            f"({_month(top_before['month_start'])}, "
            f"{num(top_before['pm25_mean'], 0, thousands=True)} µg/m³; "
            f"{_month(top_after['month_start'])}, "
            f"{num(top_after['pm25_mean'], 0, thousands=True)} µg/m³) "
            f"{weight}."
        )
    return extremes


def _design_sentence(info: Mapping[str, Any], n_pre: int, n_post: int) -> str:
    """What the model could estimate: level only, or level and slope, and how far apart."""
    short = LONG_ENOUGH_MONTHS
    corr = info.get("level_slope_correlation")
    if info.get("design") == LEVEL_ONLY:
        body = (
            f" With {plural(int(info['pre_months']), 'calendar month')} before the policy, fewer "
            f"than the {int(info['min_pre_months'])} the analysis asks for a pre-policy trend of "
            "its own (two seasonal cycles), such a trend could not be told apart from the "
            "seasonal cycle and would run far beyond the data; the model therefore keeps one "
            "trend for the whole period and estimates only a change in level against it, which "
            "assumes the trend did not change at the policy date."
        )
    elif min(n_pre, n_post) < short:
        side = "post-policy" if n_post <= n_pre else "pre-policy"
        body = (
            f" Over so short a {side} period a change in level is hard to tell apart from a "
            f"change in slope (their estimates correlate at r = {corr:.2f}) and from the strong "
            "seasonal cycle of Beijing's haze."
        )
    else:
        body = (
            f" The estimates of the change in level and the change in slope correlate at "
            f"r = {corr:.2f}, and both are read against the strong seasonal cycle of Beijing's "
            "haze."
        )
    return body


def _series_description(series: str, n_stations: int) -> str:
    if series == CITY_WIDE:
        return f"the city-wide mean of {counted(n_stations, 'monitoring station')}"
    return f"one monitoring site ({series})"


def _where(series: str, n_stations: int) -> str:
    """Where the quoted numbers were measured, for 'PM2.5 averaged ... µg/m³ <where>'."""
    if series == CITY_WIDE:
        return f"in the city-wide mean of {counted(n_stations, 'monitoring station')}"
    return f"at the {series} monitoring site"


def per_year_range(years: pd.DataFrame, column: str) -> dict[str, Any]:
    """Min, max and mean of a yearly count over the complete years only, with a sentence.

    Parameters
    ----------
    years : pandas.DataFrame
        Annual rows of one series (`year`, `complete`, `column`).
    column : str
        The yearly count.

    Returns
    -------
    dict
        `min`, `max`, `mean` (empty strings without a complete year), `n_complete_years`,
        `complete_years` and `text`, e.g. "between 26 and 161 a year in the three complete
        calendar years (2014, 2015 and 2016)".
    """
    complete = years[years["complete"]].sort_values("year")
    values = complete[column].astype(int)
    listed = _years_text([int(y) for y in complete["year"]])
    n = len(complete)
    if n == 0:
        text = "in no calendar year complete enough for a yearly count"
        return {
            "min": "",
            "max": "",
            "mean": "",
            "n_complete_years": 0,
            "complete_years": "",
            "text": text,
        }
    if n == 1:
        text = f"{int(values.iloc[0]):,} in the one complete calendar year ({listed})"
    elif values.min() == values.max():
        text = (
            f"{int(values.min()):,} a year in each of the {_count(n)} complete calendar years "
            f"({listed})"
        )
    else:
        text = (
            f"between {int(values.min()):,} and {int(values.max()):,} a year in the "
            f"{_count(n)} complete calendar years ({listed})"
        )
    return {
        "min": int(values.min()),
        "max": int(values.max()),
        "mean": num(float(values.mean()), 0, thousands=True),
        "n_complete_years": n,
        "complete_years": listed,
        "text": text,
    }


def _year_flag(row: Any) -> str:
    if row.part_year:
        return f"part year: {row.months_covered} only"
    if not row.complete:
        return "incomplete under the annual rule"
    return ""


def site_comparison(
    years: pd.DataFrame, official: OfficialSeries, year: int, series: str, n_stations: int
) -> dict[str, Any]:
    """The quoted series against the official mean of `year`, saying if the year is partial.

    The sentence starts in lower case: the paper introduces it ("For comparison ...: in 2013").
    """
    row = years[years["year"] == year]
    table = official.series.set_index("year")
    if row.empty or year not in table.index or pd.isna(table.loc[year, "pm25"]):
        return {"year": year, "sentence": f"the hourly data do not cover {year}."}
    r = row.iloc[0]
    where = _where(series, n_stations)
    flag = ""
    if r.part_year:
        missing = _missing_months(str(r.months_covered))
        flag = f" (from {r.months_covered} only: {missing} missing)"
    elif not r.complete:
        flag = f" (an incomplete year: {int(r.n_valid_days)} valid days)"
    sentence = (
        f"in {year} PM2.5 averaged {num(r.pm25_mean, 1, thousands=True)} µg/m³ {where}{flag}, "
        "against the official "
        f"city-wide mean of {table.loc[year, 'pm25']:g} µg/m³."
    )
    return {
        "year": year,
        "site_mean": num(r.pm25_mean, 1, thousands=True),
        "official_mean": f"{table.loc[year, 'pm25']:g}",
        "part_year": bool(r.part_year),
        "months_covered": str(r.months_covered),
        "sentence": sentence,
    }


def _missing_months(covered: str) -> str:
    names = list(MONTH_NAMES)
    parts = covered.replace(" and ", " to ").split(" to ")
    first, last = names.index(parts[0]), names.index(parts[-1])
    missing = [n for k, n in enumerate(names) if k < first or k > last]
    if len(missing) == 1:
        return f"{missing[0]} is"
    if len(missing) == 2:
        return f"{missing[0]} and {missing[1]} are"
    if _contiguous(missing, names):
        return f"{missing[0]} to {missing[-1]} are"
    return f"{', '.join(missing[:-1])} and {missing[-1]} are"


def _contiguous(months: list[str], names: list[str]) -> bool:
    idx = [names.index(m) for m in months]
    return idx == list(range(idx[0], idx[0] + len(idx)))


WEATHER_LABELS = {
    "dewp": ("the dew point", "°C"),
    "temp": ("the temperature", "°C"),
    "pres": ("the pressure", "hPa"),
    "precip_hours": ("the hours of rain or snow", "h"),
    "log_wind": ("log wind speed", ""),
    "wind_dir": ("the wind direction", ""),
}


def adjustment_reason(decomposition: pd.DataFrame) -> dict[str, Any]:
    """The weather term that moves a series' adjusted trend most, from `trend_decomposition`.

    Returns the difference (unadjusted minus adjusted, percentage points a year), the largest
    contribution and a short text such as "dew point +1.0 °C/yr: +4.0 points".
    """
    terms = decomposition[~decomposition["term"].isin(["unadjusted", "adjusted", "difference"])]
    difference = float(
        decomposition.loc[decomposition["term"] == "difference", "contribution_pct_points"].iloc[0]
    )
    if terms.empty:
        return {"difference": difference, "term": "", "text": "", "vif": float("nan")}
    top = terms.loc[terms["contribution_pct_points"].abs().idxmax()]
    label, unit = WEATHER_LABELS.get(str(top["term"]), (str(top["term"]), ""))
    drift = ""
    if unit and not pd.isna(top["drift_per_year"]):
        drift = f" {top['drift_per_year']:+.1f} {unit}/yr"
    text = f"{label.removeprefix('the ')}{drift}: {top['contribution_pct_points']:+.1f} points"
    return {
        "difference": difference,
        "term": str(top["term"]),
        "label": label,
        "drift": drift.strip(),
        "contribution": float(top["contribution_pct_points"]),
        "text": text,
        "vif": float(top["trend_vif"]),
    }


def stations_summary(
    daily: pd.DataFrame,
    fits: Mapping[tuple[str, str], ModelFit],
    decomposition: pd.DataFrame,
) -> dict[str, Any]:
    """Sentences on the stations side by side: means, unadjusted and adjusted trends.

    Grammar holds for any count: one station gets a sentence of its own.
    """
    stations = sorted(str(s) for s in daily.loc[daily["series"] != CITY_WIDE, "series"].unique())
    valid = daily[daily["valid"] & (daily["series"] != CITY_WIDE)]
    means = valid.groupby("series")["pm25"].mean()
    n = len(stations)
    out: dict[str, Any] = {"n": n, "names": _years_text(stations)}
    unadjusted = _describe_station_trends(fits, stations, "trend_unadjusted", "unadjusted")
    adjusted = _describe_station_trends(fits, stations, "trend_adjusted", "weather-adjusted")
    if n == 1:
        only = stations[0]
        summary = (
            f"The data come from one monitoring station, {only}, so the station table has one "
            f"row: {unadjusted}, and {adjusted}."
        )
    else:
        low, high = means.idxmin(), means.idxmax()
        summary = (
            f"The {counted(n, 'station')} differ: mean PM2.5 ranged from "
            f"{num(means[low], 1, thousands=True)} µg/m³ at {low} to "
            f"{num(means[high], 1, thousands=True)} µg/m³ at {high}; {unadjusted}, and {adjusted}."
        )
    reasons = {}
    for s in stations:
        part = decomposition[decomposition["series"] == s] if not decomposition.empty else None
        if part is not None and not part.empty:
            reasons[s] = adjustment_reason(part)
    adj = _station_trends(fits, stations, "trend_adjusted")
    unadj = _station_trends(fits, stations, "trend_unadjusted")
    flipped = [s for s in stations if s in adj and s in unadj and (adj[s] < 0) != (unadj[s] < 0)]
    out["summary"] = summary + _sign_change_note(flipped, reasons)
    out["n_sign_changes"] = len(flipped)
    return out


def _station_trends(
    fits: Mapping[tuple[str, str], ModelFit], stations: Sequence[str], model: str
) -> dict[str, float]:
    """Each station's trend in % a year under one model, where it was fitted."""
    return {s: percent(fits[(s, model)].term(TREND)["b"]) for s in stations if (s, model) in fits}


def _n_significant(
    fits: Mapping[tuple[str, str], ModelFit], stations: Sequence[str], model: str, sign: int
) -> int:
    """How many stations' trends are significantly downward (sign < 0) or upward (sign > 0)."""
    count = 0
    for s in stations:
        fit = fits.get((s, model))
        if fit is None:
            continue
        row = fit.term(TREND)
        if (sign < 0 and row["ci_high"] < 0) or (sign > 0 and row["ci_low"] > 0):
            count += 1
    return count


def _describe_station_trends(
    fits: Mapping[tuple[str, str], ModelFit], stations: Sequence[str], model: str, label: str
) -> str:
    """One clause on the stations' trends under one model: direction, range, significance."""
    values = _station_trends(fits, stations, model)
    if not values:
        return f"no {label} trend could be fitted"
    k = len(values)
    down = sum(1 for v in values.values() if v < 0)
    sig_down = _n_significant(fits, stations, model, -1)
    sig_up = _n_significant(fits, stations, model, 1)
    lowest = num(min(values.values()), 1, thousands=True)
    span = f"{lowest}% to {num(max(values.values()), 1, thousands=True)}% a year"
    if k == 1:
        only = next(iter(values.values()))
        return f"the {label} trend is {num(only, 1, thousands=True)}% a year"
    if down == k:
        direction = f"downward at all {_count(k)}"
    elif down == 0:
        direction = f"upward at all {_count(k)}"
    else:
        direction = f"downward at {_count(down)} and upward at {_count(k - down)}"
    sig = []
    if sig_down:
        sig.append(f"{_count(sig_down)} significantly downward")
    if sig_up:
        sig.append(f"{_count(sig_up)} significantly upward")
    sig_text = f"; {' and '.join(sig)}" if sig else "; none significantly different from zero"
    return f"the {label} trend is {direction} ({span}{sig_text})"


def _sign_change_note(flipped: Sequence[str], reasons: Mapping[str, Mapping[str, Any]]) -> str:
    """Where the weather adjustment turns a station's trend around, and the terms behind it."""
    if not flipped:
        return ""
    parts = [f"{s} ({reasons[s]['text']})" for s in flipped if s in reasons]
    return (
        f" At {_years_text(flipped)} the weather adjustment turns the sign of the trend. "
        "The adjusted trend differs from the unadjusted one by the weather terms' own trends "
        "times their effects; the largest contribution"
        + (f"s are: {'; '.join(parts)}" if len(parts) > 1 else f" is: {parts[0]}" if parts else "")
        + ". A weather record that drifts over the years (an instrument or site change) "
        "moves the adjusted trend without any change in the air, so these adjusted trends "
        "should not be quoted without a look at the station's weather record."
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
    decomposition: pd.DataFrame | None = None,
    weather_source: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every number and sentence of the air strand that the paper quotes, as strings.

    Parameters
    ----------
    settings : AirSettings
        Checked settings; `primary` names the quoted series.
    daily, annual, monthly : pandas.DataFrame
        Tables of every series (see `hazegov.air.aggregate`).
    fits : Mapping
        Fitted models by (series, model).
    periods : PolicyPeriods
        Pre- and post-policy periods.
    official : OfficialSeries
        The official annual series.
    official_facts : Mapping
        `official_summary` of it.
    file_reports : sequence of Mapping
        What the data step recorded of each file (attribution, sha256).
    hourly_summary : Mapping
        `n_hours` and `pm25_missing_share` of the hourly table.
    decomposition : pandas.DataFrame, optional
        `trend_decomposition` rows of every series.
    weather_source : Mapping, optional
        Per series, where its weather comes from.

    Returns
    -------
    dict
        {"air": {...}}, the fragment of the paper's `_variables.yml`.
    """
    decomposition = decomposition if decomposition is not None else pd.DataFrame()
    weather_source = dict(weather_source or {})
    primary = settings.primary
    days = daily[daily["series"] == primary]
    valid = days[days["valid"]]
    years = annual[annual["series"] == primary].sort_values("year")
    stations = sorted(daily.loc[daily["series"] != CITY_WIDE, "series"].unique())
    n_stations = len(stations)
    grade_ii = official.standards["gb3095_grade_ii"]
    who = official.standards.get("who_2021")
    trend = _trend_section(settings, fits, decomposition, weather_source.get(primary, ""))
    its = _its_section(settings, fits, periods, monthly[monthly["series"] == primary], n_stations)
    base_year = official_facts["base_year"]
    comparison = site_comparison(years, official, base_year, primary, n_stations)
    out: dict[str, Any] = {
        "data": _data_section(primary, daily, days, years, stations, file_reports, hourly_summary),
        "completeness": _completeness_section(settings, days, valid, years),
        "severity": _severity_section(
            settings, valid, years, _where(primary, n_stations), grade_ii, who
        ),
        "stations": stations_summary(daily, fits, decomposition),
        "trend": trend,
        "its": its,
        "official": _official_section(official, official_facts, comparison),
        "standards": _standards_section(settings, grade_ii, who),
    }
    out["by_series"] = _series_variables(daily, annual, fits, settings.grade_ii_24h)
    return {"air": out}


def _data_section(
    primary: str,
    daily: pd.DataFrame,
    days: pd.DataFrame,
    years: pd.DataFrame,
    stations: Sequence[str],
    file_reports: Sequence[Mapping[str, Any]],
    hourly_summary: Mapping[str, Any],
) -> dict[str, Any]:
    """What was measured where and when: stations, attribution, period, hours, checksums."""
    n_stations = len(stations)
    first_year, last_year = int(years["year"].min()), int(years["year"].max())
    first_day, last_day = days["date"].min(), days["date"].max()
    attributions = list(dict.fromkeys(r["attribution"] for r in file_reports if r["attribution"]))
    if n_stations == 1:
        measured_at = f"at one monitoring site ({stations[0]})"
    else:
        measured_at = f"at {counted(n_stations, 'monitoring station')} ({_years_text(stations)})"
    part_years = [int(r.year) for r in years.itertuples(index=False) if r.part_year]
    return {
        "attribution": " ".join(attributions),
        "stations": _years_text(stations),
        "n_stations": n_stations,
        "n_series": len(daily["series"].unique()),
        "measured_at": measured_at,
        "primary_series": primary,
        "primary_description": _series_description(primary, n_stations),
        "first_year": first_year,
        "last_year": last_year,
        "period": f"{first_year}–{last_year}",
        "period_exact": f"{_day(first_day)} to {_day(last_day)}",
        "part_years": _years_text(part_years) or "none",
        "n_hours": f"{hourly_summary['n_hours']:,}",
        "pm25_missing_pct": num(100 * hourly_summary["pm25_missing_share"], 1, thousands=True),
        "sha256_short": ", ".join(r["sha256"][:12] for r in file_reports),
        "timezone": "Beijing time (UTC+8)",
    }


def _completeness_section(
    settings: AirSettings, days: pd.DataFrame, valid: pd.DataFrame, years: pd.DataFrame
) -> dict[str, Any]:
    """The rules a daily mean and a year must meet, and how many days and years meet them."""
    return {
        "min_hours": settings.min_hours_per_day,
        "rule": (
            f"a daily mean counts only when at least {settings.min_hours_per_day} of its 24 "
            "hourly values were measured, as GB 3095-2012 requires for a 24-hour mean"
        ),
        "n_days": len(days),
        "n_valid_days": len(valid),
        "valid_days_pct": num(100 * len(valid) / len(days), 1, thousands=True),
        "n_years_complete": int(years["complete"].sum()),
        "annual_rule": (
            f"at least {settings.min_days_per_year} valid days a year and "
            f"{settings.min_days_per_month} a month ({settings.min_days_february} in "
            "February)"
        ),
    }


def _by_year(years: pd.DataFrame) -> dict[str, Any]:
    """The primary series' annual means and exceedance days, keyed ``y<year>``."""
    return {
        f"y{int(r.year)}": {
            "mean": num(r.pm25_mean, 1, thousands=True),
            "valid_days": int(r.n_valid_days),
            "days_above_75": int(r.days_above_grade_ii_24h),
            "share_above_75_pct": num(100 * r.share_above_grade_ii_24h, 1, thousands=True),
            "days_above_150": int(r.days_above_heavy),
            "complete": "yes" if r.complete else "no",
            "part_year": "yes" if r.part_year else "no",
            "months_covered": str(r.months_covered),
            "flag": _year_flag(r),
        }
        for r in years.itertuples(index=False)
    }


def _severity_section(
    settings: AirSettings,
    valid: pd.DataFrame,
    years: pd.DataFrame,
    where: str,
    grade_ii: Standard,
    who: Standard | None,
) -> dict[str, Any]:
    """How polluted the primary series was: its mean against the standards, exceedance days."""
    mean = float(valid["pm25"].mean())
    above = int((valid["pm25"] > settings.grade_ii_24h).sum())
    heavy = int((valid["pm25"] > settings.heavy).sum())
    worst = valid.loc[valid["pm25"].idxmax()]
    by_year = _by_year(years)
    above_range = per_year_range(years, "days_above_grade_ii_24h")
    heavy_range = per_year_range(years, "days_above_heavy")
    return {
        "series": settings.primary,
        "where": where,
        "where_cap": capitalise(where),
        "mean_pm25": num(mean, 1, thousands=True),
        "times_grade_ii_annual": num(mean / grade_ii.annual, 1, thousands=True),
        "times_who_annual": num(mean / who.annual, 1, thousands=True) if who else "",
        "days_above_75": f"{above:,}",
        "share_days_above_75_pct": num(100 * above / len(valid), 1, thousands=True),
        "days_above_75_per_year": above_range["text"],
        "days_above_75_per_year_mean": above_range["mean"],
        "days_above_75_per_year_min": above_range["min"],
        "days_above_75_per_year_max": above_range["max"],
        "days_above_150_per_year": heavy_range["text"],
        "n_complete_years": above_range["n_complete_years"],
        "days_above_150": f"{heavy:,}",
        "share_days_above_150_pct": num(100 * heavy / len(valid), 1, thousands=True),
        "max_daily_mean": num(float(worst["pm25"]), 1, thousands=True),
        "max_daily_date": _day(worst["date"]),
        "by_year": by_year,
    }


def _trend_section(
    settings: AirSettings,
    fits: Mapping[tuple[str, str], ModelFit],
    decomposition: pd.DataFrame,
    weather_source: str,
) -> dict[str, Any]:
    """The primary series' trends, with the weather adjustment and why it moves the trend."""
    primary = settings.primary
    trend: dict[str, Any] = {
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
        trend["weather_source"] = weather_source
        part = (
            decomposition[decomposition["series"] == primary]
            if not decomposition.empty
            else decomposition
        )
        if not part.empty:
            trend |= _adjustment_variables(adjustment_reason(part))
    trend["seasonal_terms"] = (
        "month dummies"
        if settings.seasonal == "month"
        else f"{settings.n_harmonics} pairs of annual harmonics"
    )
    return trend


def _adjustment_variables(reason: Mapping[str, Any]) -> dict[str, str]:
    """How far the weather adjustment moves the trend, and the term that moves it most."""
    drift = f", whose own record drifts by {reason['drift']}" if reason["drift"] else ""
    return {
        "adjustment_difference_pct_points": num(reason["difference"], 1, thousands=True),
        "adjustment_vif": num(reason["vif"], 2, thousands=True),
        "adjustment_note": (
            "the unadjusted trend minus the adjusted one is "
            f"{num(reason['difference'], 1, thousands=True)} "
            "percentage points a year, the sum of each weather term's effect times its own "
            f"trend; the largest single term is {reason['label']}{drift}, which accounts for "
            f"{reason['contribution']:+.1f} points"
        ),
    }


def _its_section(
    settings: AirSettings,
    fits: Mapping[tuple[str, str], ModelFit],
    periods: PolicyPeriods,
    monthly: pd.DataFrame,
    n_stations: int,
) -> dict[str, Any]:
    """The interrupted time series: the policy's dates, each model, the lags and the caution.

    ``monthly`` holds the primary series' rows only.
    """
    primary = settings.primary
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
    its["caution"] = its_caution(monthly_fit, periods, monthly, n_stations, variants)
    site_what = (
        "one monitoring site"
        if primary != CITY_WIDE
        else f"the city-wide mean of {counted(n_stations, 'station')}"
    )
    n_pre, n_post = int(monthly_fit.info["n_pre"]), int(monthly_fit.info["n_post"])
    its["evidence"] = (
        f"{capitalise(site_what)}, {plural(n_pre, 'pre-policy month')} "
        f"and {plural(n_post, 'post-policy month')}"
    )
    its["figure_title"] = (
        f"{primary}: {plural(n_pre, 'month')} before, {plural(n_post, 'month')} after the policy"
    )
    return its


def _official_section(
    official: OfficialSeries, official_facts: Mapping[str, Any], comparison: Mapping[str, Any]
) -> dict[str, Any]:
    """The official annual series: base, target and latest years, provisional values."""
    base_year = official_facts["base_year"]
    provisional = official_facts["provisional_years"]
    target_met = official_facts["target_met"]
    return {
        "source": official.source,
        "base_year": base_year,
        "base_value": f"{official_facts['base_value']:g}",
        "target_year": official_facts["target_year"],
        "target_year_value": f"{official_facts['target_year_value']:g}",
        "change_pct": num(official_facts["change_pct"], 1, thousands=True),
        "decrease_pct": num(-official_facts["change_pct"], 1, thousands=True),
        "reported_decrease_pct": (
            num(-official_facts["reported_change_pct"], 1, thousands=True)
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
        "decrease_base_to_latest_pct": num(
            -official_facts["change_base_to_latest_pct"], 1, thousands=True
        ),
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
    }


def _standards_section(
    settings: AirSettings, grade_ii: Standard, who: Standard | None
) -> dict[str, str]:
    """The limits the paper compares with: GB 3095-2012 Grade II, WHO 2021, the heavy level."""
    return {
        "grade_ii_annual": f"{grade_ii.annual:g}",
        "grade_ii_24h": f"{grade_ii.daily_24h:g}",
        "who_annual": f"{who.annual:g}" if who else "",
        "who_24h": f"{who.daily_24h:g}" if who else "",
        "heavy_threshold": f"{settings.heavy:g}",
        "exceedance_rule": (
            f"a valid daily mean above {settings.grade_ii_24h:g} µg/m³, the Grade II 24-hour "
            "limit of GB 3095-2012"
        ),
    }


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
    daily: pd.DataFrame,
    annual: pd.DataFrame,
    fits: Mapping[tuple[str, str], ModelFit],
    grade_ii_24h: float = 75,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for series, rows in daily[daily["valid"]].groupby("series", sort=True):
        entry: dict[str, Any] = {
            "name": str(series),
            "mean_pm25": num(float(rows["pm25"].mean()), 1, thousands=True),
            "valid_days": len(rows),
            "share_days_above_75_pct": num(
                100 * float((rows["pm25"] > grade_ii_24h).mean()), 1, thousands=True
            ),
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
        f"{int(y)}‡" if part else f"{int(y)}" if c else f"{int(y)}†"
        for y, c, part in zip(rows["year"], rows["complete"], rows["part_year"], strict=True)
    ]
    parts = [
        f"{int(r.year)} ({r.months_covered})" for r in rows.itertuples(index=False) if r.part_year
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
    n_stations = int(annual.loc[annual["series"] != CITY_WIDE, "series"].nunique())
    what = _series_description(settings.primary, n_stations)
    note = (
        f"{what[0].upper()}{what[1:]}; a daily mean counts when at least "
        f"{settings.min_hours_per_day} hourly values were measured (GB 3095-2012); means are "
        f"means of valid daily means. Days > {limit}: above "
        f"the Grade II 24-hour limit of GB 3095-2012; days > {heavy}: individual AQI above 200, "
        "heavy pollution or worse (HJ 633-2012). † fewer valid days than GB 3095-2012 asks of an "
        f"annual mean ({settings.min_days_per_year} a year, {settings.min_days_per_month} a "
        f"month, {settings.min_days_february} in February)."
    )
    if parts:
        note += (
            f" ‡ part year, measured only in {'; '.join(parts)}: its mean, its day counts and "
            "any comparison with the official calendar-year mean cover those months only."
        )
    note += f" Official mean: {official.network}."
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


def its_table(
    fits: Mapping[tuple[str, str], ModelFit],
    settings: AirSettings,
    weather_source: str = "",
) -> str:
    """Level and slope change at the policy date under the model variants that were fitted.

    The note names the terms of the models actually fitted: the weather terms only when a
    weather-adjusted variant is in the table, the slope change only where it was estimated.
    """
    rows = []
    fitted: list[ModelFit] = []
    for model, (_key, label) in ITS_MODELS.items():
        fit = fits.get((settings.primary, model))
        if fit is None:
            continue
        fitted.append(fit)
        rows.append(_its_row(fit, label))
    frame = pd.DataFrame(rows)
    level_only = any(f.info.get("design") == LEVEL_ONLY for f in fitted)
    columns = [
        Column("model", "Model", align="left"),
        Column("n", "n pre / post"),
        Column(
            "pre",
            "Trend, %/year [95% CI]" if level_only else "Pre-policy trend, %/year [95% CI]",
        ),
        Column("level", "Level change, % [95% CI]"),
        Column("level_p", "p", fmt_p),
        Column("slope", "Slope change, %/year [95% CI]"),
        Column("slope_p", "p", fmt_p),
    ]
    return pipe_table(
        frame,
        columns,
        caption=(
            f"Interrupted time series of PM2.5 around {_month(pd.Timestamp(settings.policy_date))}"
            f", {settings.primary}"
        ),
        label="tbl-its",
        synthetic=False,
        note=_its_note(fits, settings, weather_source, fitted, rows, level_only),
    )


def _its_row(fit: ModelFit, label: str) -> dict[str, Any]:
    """One model variant's row: months on each side, pre-policy trend, level and slope change."""
    level, pre = fit.term(LEVEL), fit.term(TREND)
    has_slope = SLOPE in set(fit.coefficients["term"])
    slope = fit.term(SLOPE) if has_slope else None
    return {
        "model": label,
        "n": f"{fit.info['n_pre']} / {fit.info['n_post']} {fit.info['unit']}s",
        "pre": f"{num(percent(pre['b']), 1, thousands=True)} {_pct_ci(pre)}",
        "level": f"{num(percent(level['b']), 1, thousands=True)} {_pct_ci(level)}",
        "level_p": level["p"],
        "slope": "not estimated"
        if slope is None
        else f"{num(percent(slope['b']), 1, thousands=True)} {_pct_ci(slope)}",
        "slope_p": np.nan if slope is None else slope["p"],
        "lags": fit.hac_lags,
        "level_p_long": level.get("p_long", np.nan),
    }


def _its_note(
    fits: Mapping[tuple[str, str], ModelFit],
    settings: AirSettings,
    weather_source: str,
    fitted: Sequence[ModelFit],
    rows: Sequence[Mapping[str, Any]],
    level_only: bool,
) -> str:
    """The ITS table's note: the design, the terms of the models fitted, lags and checks."""
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
    seasonal = "month dummies" if settings.seasonal == "month" else "annual harmonics"
    adjusted = [f for f in fitted if f.adjusted]
    if adjusted:
        wind = adjusted[0].info.get("wind_measure", "wind speed")
        source = f" ({weather_source})" if weather_source else ""
        terms = (
            f"{seasonal} in every model and, in the weather-adjusted one, daily dew point, "
            f"temperature, pressure, hours of rain or snow, {wind} and modal wind direction"
            f"{source}"
        )
    else:
        terms = f"{seasonal} in every model; no weather-adjusted model was fitted"
    if level_only:
        design = (
            f"one trend for the whole period and a level change at the policy date (fewer than "
            f"{settings.its_min_pre_months} months before it: no pre-policy trend of its own "
            "and no slope change)"
        )
    else:
        design = "a pre-policy trend, a level change and a slope change"
    return (
        f"{'Regressions' if level_only else 'Segmented regressions'} of log PM2.5 around "
        f"{_day(settings.policy_date)}, the date of "
        f"the {settings.policy}, with {design}; {terms}. Percentages are 100 (exp(b) - 1). "
        f"Newey-West standard errors ({lags} lags in the order of the rows)"
        + ("; " + "; ".join(checks) if checks else "")
        + "."
    )


def stations_table(
    daily: pd.DataFrame,
    fits: Mapping[tuple[str, str], ModelFit],
    decomposition: pd.DataFrame,
    settings: AirSettings,
    weather_source: Mapping[str, str] | None = None,
) -> str:
    """Every series side by side: period, valid days, mean, unadjusted and adjusted trend.

    The last column names the weather term that moves the adjusted trend most (its own drift a
    year and its contribution in percentage points, from `trend_decomposition`), so a reader
    can see why an adjusted trend departs from the unadjusted one.
    """
    order = sorted(s for s in daily["series"].unique() if s != CITY_WIDE)
    if CITY_WIDE in set(daily["series"]):
        order.append(CITY_WIDE)
    rows = []
    for series in order:
        days = daily[daily["series"] == series]
        valid = days[days["valid"]]
        row: dict[str, Any] = {
            "series": f"{series} (primary)" if series == settings.primary else series,
            "period": f"{days['date'].min():%b %Y}–{days['date'].max():%b %Y}",
            "valid": len(valid),
            "mean": float(valid["pm25"].mean()) if len(valid) else np.nan,
        }
        for model, key in (("trend_unadjusted", "unadjusted"), ("trend_adjusted", "adjusted")):
            fit = fits.get((series, model))
            if fit is None:
                row[key] = "not fitted"
                continue
            est = fit.term(TREND)
            row[key] = f"{num(percent(est['b']), 1, thousands=True)} {_pct_ci(est)}"
        part = (
            decomposition[decomposition["series"] == series]
            if not decomposition.empty
            else decomposition
        )
        row["reason"] = adjustment_reason(part)["text"] if not part.empty else ""
        rows.append(row)
    frame = pd.DataFrame(rows)
    columns = [
        Column("series", "Series", align="left"),
        Column("period", "Period", align="left"),
        Column("valid", "Valid days"),
        Column("mean", "Mean PM2.5 (µg/m³)", "{:.1f}"),
        Column("unadjusted", "Trend, %/year [95% CI]"),
        Column("adjusted", "Weather-adjusted trend, %/year [95% CI]"),
        Column("reason", "Largest weather contribution", align="left"),
    ]
    sources = sorted({v for v in (weather_source or {}).values() if v})
    source_text = f" Weather: {'; '.join(sources)}." if sources else ""
    seasonal = "month dummies" if settings.seasonal == "month" else "annual harmonics"
    note = (
        f"Trends of log daily PM2.5 on a linear time trend and {seasonal}, without and with the "
        "daily weather (dew point, temperature, pressure, hours of rain or snow, wind speed and "
        "modal wind direction); percentages are 100 (exp(b) - 1), Newey-West 95% intervals. "
        "The two trends differ by the sum over the weather terms of each term's effect times "
        "its own trend; the last column gives the largest such term, its drift a year and its "
        "contribution (unadjusted minus adjusted, percentage points a year). A drifting weather "
        "record (an instrument or site change) moves the adjusted trend without any change in "
        f"the air.{source_text} Valid days: at least {settings.min_hours_per_day} hourly values"
        + (
            f"; city-wide days need {settings.city_min_stations} stations."
            if CITY_WIDE in order
            else "."
        )
    )
    return pipe_table(
        frame,
        columns,
        caption="PM2.5 by monitoring station: mean and trends with and without weather adjustment",
        label="tbl-air-stations",
        synthetic=False,
        note=note,
    )
