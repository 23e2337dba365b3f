"""The two workflow stages of the air strand: paths and settings in, tidy outputs out.

`run_air_quality_data` checks every station file's sha256, reads and validates it and writes one
tidy hourly table; `run_air_quality_analysis` turns that table and the official series into the
CSV results, the `air` variables fragment, two Markdown tables and three figures. Every output is
written atomically; a bad input stops the stage before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazegov.air.aggregate import (
    Completeness,
    annual_means,
    city_wide_daily,
    daily_means,
    monthly_means,
    weather_family,
)
from hazegov.air.figures import plot_calendar, plot_its, plot_official, plot_stations
from hazegov.air.models import (
    LEVEL_ONLY,
    ModelFit,
    PolicyPeriods,
    fit_its_daily,
    fit_its_monthly,
    fit_trend,
    percent,
    policy_periods,
    trend_decomposition,
)
from hazegov.air.official import OfficialSeries, load_official, official_summary
from hazegov.air.paper import air_variables, annual_table, its_table, plural, stations_table
from hazegov.air.reader import read_stations
from hazegov.air.settings import (
    CITY_WIDE,
    CONFIG_FILE,
    AirSettings,
    load_air_settings,
    load_station_files,
)
from hazegov.analysis._common import AnalysisError
from hazegov.errors import ConfigError, Violation
from hazegov.io import data_label, read_provenance, write_csv, write_json, write_parquet, write_text
from hazegov.paper.variables import write_variables

log = logging.getLogger("hazegov")
TABLES = (
    "daily",
    "monthly",
    "annual",
    "trend",
    "trend_decomposition",
    "its",
    "its_monthly_fit",
    "official",
)
FAMILY_NAMES = {
    "prsa_single_site": "single-site (UCI 381) family",
    "prsa_multi_site": "multi-site (UCI 501) family",
}


def run_air_quality_data(
    stations: Sequence[Mapping[str, Any]], hourly_out: str | Path, report_out: str | Path
) -> None:
    """Hash-check, read and validate the station files into one tidy hourly table.

    Takes only config["air_quality"]["stations"], so that changing an analysis setting does not
    make the workflow read the data again.
    """
    hourly, reports = read_stations(load_station_files(stations))
    for report in reports:
        log.info(
            "%s: %s rows, %s, stations %s, PM2.5 missing %.1f%%",
            report["file"],
            report["rows"],
            report["family"],
            report["stations"],
            100 * report["pm25_missing_share"],
        )
    summary = {
        "data_source": data_label(False),
        "files": reports,
        "n_hours": len(hourly),
        "pm25_missing_share": float(hourly["pm25"].isna().mean()),
        "stations": sorted(hourly["station"].unique().tolist()),
    }
    write_parquet(hourly, hourly_out, {"synthetic": False, "air": summary})
    write_json(summary, report_out)


def _settings_problem(key: str, value: object, message: str) -> ConfigError:
    return ConfigError([Violation(CONFIG_FILE, "primary-series", message, column=key, value=value)])


def _all_daily(hourly: pd.DataFrame, air: AirSettings) -> pd.DataFrame:
    daily = daily_means(hourly, air.min_hours_per_day)
    stations = sorted(daily["series"].unique())
    if len(stations) > 1:
        city = city_wide_daily(daily, air.city_min_stations)
        daily = pd.concat([daily.assign(n_stations=1), city], ignore_index=True)
    else:
        daily = daily.assign(n_stations=1)
    if air.primary not in set(daily["series"]):
        raise _settings_problem(
            "primary",
            air.primary,
            f"is not a series of the data; choose one of {sorted(set(daily['series']))}",
        )
    return daily


def _fit_series(
    daily: pd.DataFrame, monthly: pd.DataFrame, air: AirSettings
) -> tuple[dict[tuple[str, str], ModelFit], list[dict[str, str]]]:
    """Every model for every series; a model that a non-primary series cannot support is skipped
    and recorded, while the primary series must yield all of them (the paper quotes them)."""
    periods = policy_periods(air.policy_date, air.transition_month)
    seasonal = {"seasonal": air.seasonal, "n_harmonics": air.n_harmonics}
    daily_lags = {"lags": air.daily_lags, "long_lags": air.daily_lags_long}
    pre = {"min_pre_months": air.its_min_pre_months}
    fits: dict[tuple[str, str], ModelFit] = {}
    skipped: list[dict[str, str]] = []
    for series in sorted(daily["series"].unique()):
        days = daily[daily["series"] == series]
        months = monthly[monthly["series"] == series]
        draws = air.coverage_simulations if series == air.primary else 0
        jobs = {
            "trend_unadjusted": lambda d=days: fit_trend(d, adjust=False, **seasonal, **daily_lags),
            "trend_adjusted": lambda d=days: fit_trend(d, adjust=True, **seasonal, **daily_lags),
            "its_monthly_unadjusted": lambda m=months, k=draws: fit_its_monthly(
                m,
                periods,
                min_valid_days=air.its_min_valid_days,
                lags=air.monthly_lags,
                coverage_simulations=k,
                seed=air.seed,
                **seasonal,
                **pre,
            ),
            "its_daily_unadjusted": lambda d=days: fit_its_daily(
                d, periods, adjust=False, **seasonal, **daily_lags, **pre
            ),
            "its_daily_adjusted": lambda d=days: fit_its_daily(
                d, periods, adjust=True, **seasonal, **daily_lags, **pre
            ),
        }
        for model, job in jobs.items():
            try:
                fits[(series, model)] = job()
            except AnalysisError as exc:
                if series == air.primary:
                    raise
                skipped.append({"series": series, "model": model, "reason": str(exc)})
                log.warning("%s, %s skipped: %s", series, model, exc)
    return fits, skipped


def weather_sources(daily: pd.DataFrame) -> dict[str, str]:
    """Where each series' weather comes from, in words, for the notes and the summary."""
    stations = daily[daily["series"] != CITY_WIDE]
    families = stations.groupby("series")["family"].first()
    out = {str(s): "each station's own weather record" for s in families.index}
    if (daily["series"] == CITY_WIDE).any():
        family, members = weather_family(stations)
        name = FAMILY_NAMES.get(family, family)
        over = plural(len(members), "station")
        text = f"city-wide weather: the daily mean over the {over} of the {name}"
        others = sorted(str(s) for s in families.index if str(s) not in members)
        if others:
            text += (
                f"; the weather of {', '.join(others)} (another column family, which measures "
                "wind and rain differently) is not averaged in"
            )
        out[CITY_WIDE] = text
    return out


def _decompositions(
    daily: pd.DataFrame, fits: Mapping[tuple[str, str], ModelFit], air: AirSettings
) -> pd.DataFrame:
    parts = []
    for series, model in fits:
        if model != "trend_adjusted":
            continue
        days = daily[daily["series"] == series]
        try:
            parts.append(
                trend_decomposition(days, seasonal=air.seasonal, n_harmonics=air.n_harmonics)
            )
        except AnalysisError as exc:
            log.warning("%s: trend decomposition skipped: %s", series, exc)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _coefficient_table(fits: Mapping[tuple[str, str], ModelFit], prefix: str) -> pd.DataFrame:
    parts = []
    for (series, model), fit in fits.items():
        if not model.startswith(prefix):
            continue
        table = fit.coefficients.copy()
        table.insert(0, "series", series)
        table.insert(1, "model", model)
        table["n"] = fit.n
        for column in ("b", "ci_low", "ci_high"):
            name = "pct" if column == "b" else f"pct_{column}"
            table[name] = [
                np.nan if t == "const" else percent(v)
                for t, v in zip(table["term"], table[column], strict=True)
            ]
        parts.append(table)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dataclass(frozen=True)
class _AirResults:
    """Everything the analysis computes from the hourly table and the official series."""

    daily: pd.DataFrame
    monthly: pd.DataFrame
    annual: pd.DataFrame
    fits: dict[tuple[str, str], ModelFit]
    skipped: list[dict[str, str]]
    sources: dict[str, str]
    decomposition: pd.DataFrame
    official: OfficialSeries
    facts: dict[str, Any]
    periods: PolicyPeriods


def _analyse(frame: pd.DataFrame, official: str | Path, air: AirSettings) -> _AirResults:
    """Daily, monthly and annual means of every series, their models and the official series."""
    rules = Completeness(
        air.min_hours_per_day, air.min_days_per_month, air.min_days_february, air.min_days_per_year
    )
    thresholds = {"grade_ii_24h": air.grade_ii_24h, "heavy": air.heavy}
    daily = _all_daily(frame, air)
    monthly = monthly_means(daily, rules, thresholds)
    annual = annual_means(daily, rules, thresholds)
    fits, skipped = _fit_series(daily, monthly, air)
    sources = weather_sources(daily)
    decomposition = _decompositions(daily, fits, air)
    series_official = load_official(official)
    facts = official_summary(series_official)
    periods = policy_periods(air.policy_date, air.transition_month)
    return _AirResults(
        daily=daily,
        monthly=monthly,
        annual=annual,
        fits=fits,
        skipped=skipped,
        sources=sources,
        decomposition=decomposition,
        official=series_official,
        facts=facts,
        periods=periods,
    )


def _result_frames(r: _AirResults) -> dict[str, pd.DataFrame]:
    """The CSV tables of the stage, by name (see `TABLES`)."""
    return {
        "daily": r.daily,
        "monthly": r.monthly,
        "annual": r.annual,
        "trend": _coefficient_table(r.fits, "trend"),
        "trend_decomposition": r.decomposition,
        "its": _coefficient_table(r.fits, "its"),
        "its_monthly_fit": pd.concat(
            [f.fitted for (_s, m), f in r.fits.items() if m == "its_monthly_unadjusted"],
            ignore_index=True,
        ),
        "official": r.official.series,
    }


def _analysis_summary(r: _AirResults, air: AirSettings) -> dict[str, Any]:
    """The stage's JSON summary: series, weather sources, every model, the policy periods."""
    return {
        "data_source": data_label(False),
        "primary_series": air.primary,
        "series": sorted(r.daily["series"].unique()),
        "city_wide": (
            "per day: mean over stations of their valid daily means"
            if (r.daily["series"] == CITY_WIDE).any()
            else "not computed (one station)"
        ),
        "weather_source": r.sources,
        "models": [fit.summary() for fit in r.fits.values()],
        "skipped_models": r.skipped,
        "official": r.facts,
        "policy_periods": {
            "policy_date": r.periods.policy_date.isoformat(),
            "transition_start": str(r.periods.transition_start.date()),
            "post_start": str(r.periods.post_start.date()),
            "transition_excluded": r.periods.transition_excluded,
        },
    }


def _draw_figures(
    r: _AirResults,
    air: AirSettings,
    its_title: str,
    calendar_out: str | Path,
    its_figure_out: str | Path,
    official_figure_out: str | Path,
    stations_figure_out: str | Path,
) -> None:
    """The calendar of the primary series, its ITS, the official series and the stations."""
    its_fit = r.fits[(air.primary, "its_monthly_unadjusted")]
    primary_days = r.daily[r.daily["series"] == air.primary]
    plot_calendar(
        primary_days,
        calendar_out,
        series=air.primary,
        rule=f"days with at least {air.min_hours_per_day} valid hours",
    )
    grade_ii = r.official.standards["gb3095_grade_ii"]
    plot_its(
        its_fit.fitted,  # type: ignore[arg-type]
        its_figure_out,
        policy_date=air.policy_date,
        policy_label=f"{air.policy_short}, {air.policy_date:%d %b %Y}",
        transition=(r.periods.transition_start, r.periods.post_start)
        if r.periods.transition_excluded
        else None,
        reference_lines=[(grade_ii.annual, f"{grade_ii.label} annual limit ({grade_ii.annual:g})")],
        title=its_title,
        level_only=its_fit.info.get("design") == LEVEL_ONLY,
    )
    site = r.annual[r.annual["series"] == air.primary]
    plot_official(
        r.official,
        official_figure_out,
        site_annual=site,
        site_label=f"{air.primary} (hourly data, annual mean of valid days)",
    )
    order = sorted(s for s in r.daily["series"].unique() if s != CITY_WIDE)
    if (r.daily["series"] == CITY_WIDE).any():
        order.append(CITY_WIDE)
    plot_stations(r.monthly, stations_figure_out, primary=air.primary, order=order)


def run_air_quality_analysis(
    hourly: str | Path,
    official: str | Path,
    settings: Mapping[str, Any],
    tables: Mapping[str, str | Path],
    summary_out: str | Path,
    variables_out: str | Path,
    annual_table_out: str | Path,
    its_table_out: str | Path,
    calendar_out: str | Path,
    its_figure_out: str | Path,
    official_figure_out: str | Path,
    stations_table_out: str | Path,
    stations_figure_out: str | Path,
) -> None:
    """Severity, trends, interrupted time series and the official series, for the paper.

    Every series (each station and, with two or more, the city-wide mean) gets the same
    tables and models; the paper quotes `primary` and shows the stations side by side
    (`stations_table_out`, `stations_figure_out`).
    """
    air = load_air_settings(settings)
    frame = pd.read_parquet(hourly)
    data_summary = read_provenance(hourly).get("air", {})
    r = _analyse(frame, official, air)
    frames = _result_frames(r)
    variables = air_variables(
        air,
        daily=r.daily,
        annual=r.annual,
        monthly=r.monthly,
        fits=r.fits,
        periods=r.periods,
        official=r.official,
        official_facts=r.facts,
        file_reports=data_summary.get("files", []),
        hourly_summary={
            "n_hours": len(frame),
            "pm25_missing_share": float(frame["pm25"].isna().mean()),
        },
        decomposition=r.decomposition,
        weather_source=r.sources,
    )
    annual_md = annual_table(r.annual, r.official, air)
    its_md = its_table(r.fits, air, r.sources.get(air.primary, ""))
    stations_md = stations_table(r.daily, r.fits, r.decomposition, air, r.sources)

    for name, path in tables.items():
        write_csv(frames[name], path)
    write_json(_analysis_summary(r, air), summary_out)
    write_variables(variables, variables_out, rule="air_quality_analysis")
    write_text(annual_table_out, annual_md)
    write_text(its_table_out, its_md)
    write_text(stations_table_out, stations_md)
    _draw_figures(
        r,
        air,
        variables["air"]["its"]["figure_title"],
        calendar_out,
        its_figure_out,
        official_figure_out,
        stations_figure_out,
    )
