"""Air-quality strand: real hourly PM2.5 of Beijing and the official annual series.

Public API: the two workflow stages, and the building blocks they are made of, each loaded
from its submodule when first used.
"""

from __future__ import annotations

# Names of the public API and the submodule each lives in; imported on first use, so that
# `hazegov.air.settings` (read at every Snakemake start) does not pull in the statistics.
_WHERE = {
    "AirSettings": "settings",
    "CITY_WIDE": "settings",
    "Completeness": "aggregate",
    "ModelFit": "models",
    "OfficialSeries": "official",
    "PolicyPeriods": "models",
    "StationFile": "settings",
    "TABLES": "stages",
    "TIDY_COLUMNS": "reader",
    "annual_means": "aggregate",
    "city_wide_daily": "aggregate",
    "daily_means": "aggregate",
    "fit_its_daily": "models",
    "fit_its_monthly": "models",
    "fit_trend": "models",
    "load_air_settings": "settings",
    "load_official": "official",
    "load_station_files": "settings",
    "monthly_means": "aggregate",
    "newey_west_lags": "models",
    "official_summary": "official",
    "percent": "models",
    "policy_periods": "models",
    "read_station_file": "reader",
    "read_stations": "reader",
    "run_air_quality_analysis": "stages",
    "run_air_quality_data": "stages",
    "sha256_of": "reader",
    "verify_sha256": "reader",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'hazegov.air' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"hazegov.air.{_WHERE[name]}"), name)
