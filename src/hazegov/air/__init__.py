"""Air-quality strand: real hourly PM2.5 of Beijing and the official annual series.

Public API: the two workflow stages, and the building blocks they are made of.
"""

from __future__ import annotations

from hazegov.air.aggregate import (
    Completeness,
    annual_means,
    city_wide_daily,
    daily_means,
    monthly_means,
)
from hazegov.air.models import (
    ModelFit,
    PolicyPeriods,
    fit_its_daily,
    fit_its_monthly,
    fit_trend,
    newey_west_lags,
    percent,
    policy_periods,
)
from hazegov.air.official import OfficialSeries, load_official, official_summary
from hazegov.air.reader import (
    TIDY_COLUMNS,
    read_station_file,
    read_stations,
    sha256_of,
    verify_sha256,
)
from hazegov.air.settings import (
    CITY_WIDE,
    AirSettings,
    StationFile,
    load_air_settings,
    load_station_files,
)
from hazegov.air.stage import TABLES, run_air_quality_analysis, run_air_quality_data

__all__ = [
    "CITY_WIDE",
    "TABLES",
    "TIDY_COLUMNS",
    "AirSettings",
    "Completeness",
    "ModelFit",
    "OfficialSeries",
    "PolicyPeriods",
    "StationFile",
    "annual_means",
    "city_wide_daily",
    "daily_means",
    "fit_its_daily",
    "fit_its_monthly",
    "fit_trend",
    "load_air_settings",
    "load_official",
    "load_station_files",
    "monthly_means",
    "newey_west_lags",
    "official_summary",
    "percent",
    "policy_periods",
    "read_station_file",
    "read_stations",
    "run_air_quality_analysis",
    "run_air_quality_data",
    "sha256_of",
    "verify_sha256",
]
