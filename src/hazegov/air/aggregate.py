"""Hourly measurements to daily, monthly and annual means under stated completeness rules.

A daily mean counts only when enough hours were measured (GB 3095-2012: at least 20 hourly values
for a 24-hour mean of PM2.5); monthly and annual means are means of the valid daily means, with
the number of valid days beside them and a flag for the standard's completeness rule, so that a
reader can see how much each mean rests on. Days above a threshold are counted among valid days
only: an incomplete day is not evidence of a clean or a dirty day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazegov.air.settings import CITY_WIDE

MET_NUMERIC = ("dewp", "temp", "pres", "wind_speed", "wind_speed_cum", "precip_hours")


@dataclass(frozen=True)
class Completeness:
    """The completeness rules of GB 3095-2012 as configured."""

    min_hours_per_day: int = 20
    min_days_per_month: int = 27
    min_days_february: int = 25
    min_days_per_year: int = 324


def _modal(codes: pd.Series) -> object:
    """Most frequent code of the day; ties go to the alphabetically first, so reruns agree."""
    counts = codes.dropna().value_counts()
    if counts.empty:
        return pd.NA
    top = counts[counts == counts.max()]
    return sorted(top.index)[0]


def _precipitation(hourly: pd.DataFrame) -> pd.Series:
    """Whether it rained or snowed in the hour, from whichever measure the family has."""
    signals = pd.concat(
        [hourly["rain_hours_cum"], hourly["snow_hours_cum"], hourly["rain_mm"]], axis=1
    )
    known = signals.notna().any(axis=1)
    return (signals.fillna(0) > 0).any(axis=1).astype(float).where(known)


def daily_means(hourly: pd.DataFrame, min_hours: int) -> pd.DataFrame:
    """Per station and calendar day: the PM2.5 mean when at least `min_hours` hours are valid.

    Every day from a station's first to its last day is listed, a day without rows with
    n_hours = 0. Daily weather: means of dew point, temperature, pressure, wind speed and
    cumulated wind speed, the modal wind direction, and the hours with rain or snow.
    """
    frame = hourly.assign(date=hourly["timestamp"].dt.normalize(), precip=_precipitation(hourly))
    groups = frame.groupby(["station", "date"], sort=True)
    daily = groups.agg(
        n_hours=("pm25", "count"),
        pm25_all=("pm25", "mean"),
        dewp=("dewp", "mean"),
        temp=("temp", "mean"),
        pres=("pres", "mean"),
        wind_speed=("wind_speed", "mean"),
        wind_speed_cum=("wind_speed_cum", "mean"),
        precip_hours=("precip", "sum"),
        precip_known=("precip", "count"),
        family=("family", "first"),
    )
    daily["wind_dir"] = groups["wind_dir"].agg(_modal).astype("string")
    daily.loc[daily["precip_known"] == 0, "precip_hours"] = np.nan
    daily = daily.drop(columns="precip_known")
    parts = []
    for station, rows in daily.groupby(level="station", sort=True):
        rows = rows.droplevel("station")
        days = pd.date_range(rows.index.min(), rows.index.max(), freq="D", name="date")
        rows = rows.reindex(days)
        rows["n_hours"] = rows["n_hours"].fillna(0).astype(int)
        rows["family"] = rows["family"].ffill().bfill()
        parts.append(rows.reset_index().assign(series=station))
    out = pd.concat(parts, ignore_index=True)
    out["valid"] = out["n_hours"] >= min_hours
    out["pm25"] = out["pm25_all"].where(out["valid"])
    columns = ["series", "date", "pm25", "n_hours", "valid", *MET_NUMERIC, "wind_dir", "family"]
    return out[columns].astype({"series": "string", "family": "string", "wind_dir": "string"})


def weather_family(daily: pd.DataFrame) -> tuple[str, list[str]]:
    """The column family whose stations give the city-wide weather, and those stations.

    With one family, every station. With several, the family with the most stations (ties go
    to the multi-site family, whose wind speed is the hour's): the families measure wind and
    rain differently, so averaging across them would mean nothing.

    Parameters
    ----------
    daily : pandas.DataFrame
        Station rows of `daily_means` (`series`, `family`).

    Returns
    -------
    tuple of (str, list of str)
        The family, and its stations in sorted order.
    """
    stations = daily[daily["series"] != CITY_WIDE]
    families = stations.groupby("series")["family"].first().dropna()
    counts = families.value_counts()
    if counts.empty:
        return "", []
    best = sorted(counts.index, key=lambda f: (-counts[f], f != "prsa_multi_site", f))[0]
    return str(best), sorted(str(s) for s in families[families == best].index)


def city_wide_daily(daily: pd.DataFrame, min_stations: int) -> pd.DataFrame:
    """City-wide day = mean of the stations' valid daily means (per day, not per hour).

    Averaging daily means gives each station the same weight on a day, whatever the number of
    hours it measured. The series runs from the first to the last day on which at least
    `min_stations` stations have a valid day, so years that only one station covers do not
    appear as empty city-wide years. Weather is the mean over the stations of one column family
    (see `weather_family`); the `family` column names it.
    """
    stations = daily[daily["series"] != CITY_WIDE]
    valid = stations[stations["valid"]]
    by_day = valid.groupby("date")
    city = pd.DataFrame({"pm25_mean": by_day["pm25"].mean(), "n_stations": by_day["pm25"].count()})
    enough = city.index[city["n_stations"] >= min_stations]
    if len(enough):
        first, last = enough.min(), enough.max()
    else:
        first, last = stations["date"].min(), stations["date"].max()
    days = pd.date_range(first, last, freq="D", name="date")
    city = city.reindex(days)
    city["n_stations"] = city["n_stations"].fillna(0).astype(int)
    city["valid"] = city["n_stations"] >= min_stations
    city["pm25"] = city["pm25_mean"].where(city["valid"])
    city["n_hours"] = stations.groupby("date")["n_hours"].sum().reindex(days).fillna(0).astype(int)
    family, members = weather_family(stations)
    weather = stations[stations["series"].isin(members)].groupby("date")
    for column in MET_NUMERIC:
        city[column] = weather[column].mean().reindex(days)
    city["wind_dir"] = weather["wind_dir"].agg(_modal).reindex(days)
    city["family"] = family
    out = city.reset_index().assign(series=CITY_WIDE)
    columns = ["series", "date", "pm25", "n_hours", "valid", *MET_NUMERIC, "wind_dir", "family"]
    out = out[columns].astype({"series": "string", "family": "string", "wind_dir": "string"})
    return out.assign(n_stations=city["n_stations"].to_numpy())


def _period_table(daily: pd.DataFrame, period: str, thresholds: dict[str, float]) -> pd.DataFrame:
    frame = daily.assign(period=daily["date"].dt.to_period(period))
    groups = frame.groupby(["series", "period"], sort=True)
    out = groups.agg(
        n_days=("date", "count"),
        n_valid_days=("valid", "sum"),
        pm25_mean=("pm25", "mean"),
        pm25_max_day=("pm25", "max"),
    )
    for name, limit in thresholds.items():
        out[f"days_above_{name}"] = groups["pm25"].agg(lambda s, lim=limit: int((s > lim).sum()))
        out[f"share_above_{name}"] = out[f"days_above_{name}"] / out["n_valid_days"].where(
            out["n_valid_days"] > 0
        )
    out["n_valid_days"] = out["n_valid_days"].astype(int)
    return out.reset_index()


def monthly_means(
    daily: pd.DataFrame, rules: Completeness, thresholds: dict[str, float]
) -> pd.DataFrame:
    """Per series and month: mean of valid daily means, valid days, the GB completeness flag."""
    out = _period_table(daily, "M", thresholds)
    february = out["period"].dt.month == 2
    needed = np.where(february, rules.min_days_february, rules.min_days_per_month)
    out["complete"] = out["n_valid_days"] >= needed
    out.insert(1, "year", out["period"].dt.year)
    out.insert(2, "month", out["period"].dt.month)
    out["month_start"] = out["period"].dt.start_time
    return out.drop(columns="period")


def annual_means(
    daily: pd.DataFrame, rules: Completeness, thresholds: dict[str, float]
) -> pd.DataFrame:
    """Per series and year: mean of valid daily means, exceedance days, completeness flags.

    `complete` applies the annual rule of GB 3095-2012 (valid days a year and every month
    complete); `part_year` marks a year the series does not span from January to December (its
    first or last year), `months_covered` names the months it does span.
    """
    out = _period_table(daily, "Y", thresholds)
    monthly = monthly_means(daily, rules, thresholds)
    months_complete = monthly.groupby(["series", "year"])["complete"].sum()
    out.insert(1, "year", out["period"].dt.year)
    out = out.drop(columns="period")
    out["n_months_complete"] = [
        int(months_complete.get((s, y), 0)) for s, y in zip(out["series"], out["year"], strict=True)
    ]
    out["complete"] = (out["n_valid_days"] >= rules.min_days_per_year) & (
        out["n_months_complete"] == 12
    )
    span = daily.groupby("series")["date"].agg(["min", "max"])
    first = out["series"].map(span["min"])
    last = out["series"].map(span["max"])
    year_start = pd.to_datetime(out["year"].astype(str) + "-01-01")
    year_end = pd.to_datetime(out["year"].astype(str) + "-12-31")
    covered_from = np.maximum(first, year_start)
    covered_to = np.minimum(last, year_end)
    out["part_year"] = (covered_from > year_start) | (covered_to < year_end)
    out["months_covered"] = [
        months_text(a.month, b.month) for a, b in zip(covered_from, covered_to, strict=True)
    ]
    return out


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def months_text(first: int, last: int) -> str:
    """'January to December', 'March to December', 'January and February', 'May'."""
    if first == last:
        return MONTH_NAMES[first - 1]
    joiner = " and " if last == first + 1 else " to "
    return f"{MONTH_NAMES[first - 1]}{joiner}{MONTH_NAMES[last - 1]}"
