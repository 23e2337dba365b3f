"""Simulated PRSA-family station files with a known trend, season and weather effect.

The real multi-site files (UCI dataset 501) are not shipped, so the tests and the method checks
build small station files here instead: deterministic for a seed, in the column layout of either
family, with hourly PM2.5 drawn from a model whose trend, seasonal cycle and weather effects are
known. The generator is also the reference for the weather-adjustment checks: a station whose
recorded weather drifts while the air it measures does not (an instrument change) shows what the
adjusted trend does when a covariate's own trend is an artefact.

Model of one station, on day d (t_d in years since the first day, doy its day of the year)::

    dew point_d   = -3 - 12 cos(2 pi doy / 365.25) + dew_trend t_d + N(0, 4)
    temperature_d = 12 - 14 cos(2 pi doy / 365.25) + N(0, 3)
    pressure_d    = 1016 + 10 cos(2 pi doy / 365.25) + N(0, 5)
    wind speed_d  ~ Gamma(2, 1), direction uniform over the family's codes
    log PM2.5_d   = log(level) + log(1 + trend/100) t_d + season cos(2 pi doy / 365.25)
                    + dew_effect dew point_d - wind_effect log(1 + wind speed_d) + AR(1)

and every hour adds N(0, 0.15) to log PM2.5. `recorded_dew_drift` is added to the dew point
written to the file (not to the air), per year: a sensor drift. PM10 is PM2.5 times a factor of
1.3 to 2.0. `missing_share` of the PM2.5 hours are written as NA.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25
COMPASS = (
    "N",
    "NNE",
    "NE",
    "ENE",
    "E",
    "ESE",
    "SE",
    "SSE",
    "S",
    "SSW",
    "SW",
    "WSW",
    "W",
    "WNW",
    "NW",
    "NNW",
)
COMBINED = ("NE", "NW", "SE", "cv")


@dataclass(frozen=True)
class StationModel:
    """The known population of one simulated station.

    Parameters
    ----------
    name : str
        Station name, written to the `station` column (multi-site family).
    trend_pct_per_year : float
        True change of PM2.5 per year in percent, other things equal.
    level : float
        Geometric-mean PM2.5 at the start, µg/m³.
    season : float
        Amplitude of the seasonal cycle of log PM2.5 (winter high).
    dew_effect : float
        Effect of one °C of dew point on log PM2.5.
    wind_effect : float
        Effect of log(1 + wind speed) on log PM2.5 (subtracted).
    dew_trend : float
        True change of the dew point per year, °C (the air is affected).
    recorded_dew_drift : float
        Drift of the recorded dew point per year, °C (the file only, not the air).
    phi : float
        Lag-1 autocorrelation of the daily noise of log PM2.5.
    noise_sd : float
        Standard deviation of the daily innovations of log PM2.5.
    missing_share : float
        Share of hourly PM2.5 values written as NA.
    """

    name: str
    trend_pct_per_year: float = -6.0
    level: float = 80.0
    season: float = 0.35
    dew_effect: float = 0.04
    wind_effect: float = 0.3
    dew_trend: float = 0.0
    recorded_dew_drift: float = 0.0
    phi: float = 0.5
    noise_sd: float = 0.35
    missing_share: float = 0.03


def simulate_daily(
    model: StationModel, start: str, end: str, seed: int, *, wind_codes: tuple[str, ...] = COMPASS
) -> pd.DataFrame:
    """Daily weather and true log PM2.5 of one station from `start` to `end` (inclusive).

    Parameters
    ----------
    model : StationModel
        The station's population.
    start, end : str
        First and last day, ISO dates.
    seed : int
        Seed of the generator; the same seed gives the same days.
    wind_codes : tuple of str
        Wind-direction codes to draw from.

    Returns
    -------
    pandas.DataFrame
        One row a day: `date`, `t` (years), `dewp_true`, `dewp` (as recorded), `temp`, `pres`,
        `wind_speed`, `wind_dir`, `rain_mm`, `log_pm25`.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, end, freq="D")
    n = len(dates)
    t = np.asarray((dates - dates[0]).days, dtype=float) / DAYS_PER_YEAR
    cycle = np.cos(2 * np.pi * np.asarray(dates.dayofyear, dtype=float) / DAYS_PER_YEAR)
    dewp_true = -3 - 12 * cycle + model.dew_trend * t + rng.normal(0, 4, n)
    temp = 12 - 14 * cycle + rng.normal(0, 3, n)
    pres = 1016 + 10 * cycle + rng.normal(0, 5, n)
    wind = rng.gamma(2.0, 1.0, n)
    wind_dir = rng.choice(list(wind_codes), n)
    rain = np.where(rng.random(n) < 0.1, rng.gamma(1.0, 2.0, n), 0.0)
    noise = np.empty(n)
    noise[0] = rng.normal(0, model.noise_sd / np.sqrt(1 - model.phi**2))
    shocks = rng.normal(0, model.noise_sd, n)
    for i in range(1, n):
        noise[i] = model.phi * noise[i - 1] + shocks[i]
    log_pm = (
        np.log(model.level)
        + np.log1p(model.trend_pct_per_year / 100) * t
        + model.season * cycle
        + model.dew_effect * (dewp_true + 3)
        - model.wind_effect * (np.log1p(wind) - np.log1p(2.0))
        + noise
    )
    return pd.DataFrame(
        {
            "date": dates,
            "t": t,
            "dewp_true": dewp_true,
            "dewp": dewp_true + model.recorded_dew_drift * t,
            "temp": temp,
            "pres": pres,
            "wind_speed": wind,
            "wind_dir": wind_dir,
            "rain_mm": rain,
            "log_pm25": log_pm,
        }
    )


def _fmt(values: np.ndarray, digits: int) -> list[str]:
    return ["NA" if np.isnan(v) else f"{v:.{digits}f}" for v in values]


def simulate_station_file(
    model: StationModel,
    start: str,
    end: str,
    seed: int,
    *,
    family: str = "prsa_multi_site",
) -> pd.DataFrame:
    """Hourly rows of one station in a PRSA family's columns, every cell as the file holds it.

    Parameters
    ----------
    model : StationModel
        The station's population.
    start, end : str
        First and last day, ISO dates.
    seed : int
        Seed of the generator.
    family : {"prsa_multi_site", "prsa_single_site"}
        Column layout: UCI dataset 501 (with a `station` column) or dataset 381.

    Returns
    -------
    pandas.DataFrame
        Text cells in the family's column order, ready for `DataFrame.to_csv(index=False)`.
    """
    codes = COMPASS if family == "prsa_multi_site" else COMBINED
    days = simulate_daily(model, start, end, seed, wind_codes=codes)
    rng = np.random.default_rng(seed + 1)
    hours = days.loc[days.index.repeat(24)].reset_index(drop=True)
    hour = np.tile(np.arange(24), len(days))
    n = len(hours)
    pm25 = np.exp(hours["log_pm25"].to_numpy() + rng.normal(0, 0.15, n))
    pm25 = np.round(pm25)
    pm25[rng.random(n) < model.missing_share] = np.nan
    stamp = hours["date"]
    base = {
        "No": [str(k + 1) for k in range(n)],
        "year": stamp.dt.year.astype(str).to_numpy(),
        "month": stamp.dt.month.astype(str).to_numpy(),
        "day": stamp.dt.day.astype(str).to_numpy(),
        "hour": hour.astype(str),
    }
    dewp = hours["dewp"].to_numpy() + rng.normal(0, 0.5, n)
    temp = hours["temp"].to_numpy() + rng.normal(0, 0.5, n)
    pres = hours["pres"].to_numpy()
    if family == "prsa_single_site":
        rain_hours = (hours["rain_mm"].to_numpy() > 0).astype(float)
        return pd.DataFrame(
            base
            | {
                "pm2.5": _fmt(pm25, 0),
                "DEWP": _fmt(np.round(dewp), 0),
                "TEMP": _fmt(np.round(temp), 0),
                "PRES": _fmt(np.round(pres), 0),
                "cbwd": hours["wind_dir"].to_numpy(),
                "Iws": _fmt(hours["wind_speed"].to_numpy() * 6, 2),
                "Is": ["0"] * n,
                "Ir": _fmt(rain_hours, 0),
            }
        )
    pm10 = pm25 * rng.uniform(1.3, 2.0, n)
    return pd.DataFrame(
        base
        | {
            "PM2.5": _fmt(pm25, 1),
            "PM10": _fmt(np.round(pm10), 1),
            "SO2": _fmt(rng.gamma(2, 6, n), 1),
            "NO2": _fmt(rng.gamma(4, 12, n), 1),
            "CO": _fmt(np.round(rng.gamma(3, 400, n)), 1),
            "O3": _fmt(rng.gamma(2, 25, n), 1),
            "TEMP": _fmt(temp, 1),
            "PRES": _fmt(pres, 1),
            "DEWP": _fmt(dewp, 1),
            "RAIN": _fmt(hours["rain_mm"].to_numpy() / 24, 1),
            "wd": hours["wind_dir"].to_numpy(),
            "WSPM": _fmt(hours["wind_speed"].to_numpy(), 1),
            "station": model.name,
        }
    )


def write_station_file(frame: pd.DataFrame, path: str | Path) -> str:
    """Write simulated rows as a PRSA CSV and return the file's sha256.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows from `simulate_station_file`.
    path : str or pathlib.Path
        Where to write the file (its folder is created).

    Returns
    -------
    str
        The sha256 of the written file, for the `stations` entry of the config.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()
