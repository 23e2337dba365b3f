"""Settings of the air-quality strand, checked once so that every stage can trust them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hazegov.errors import ConfigError, Violation

CONFIG_FILE = "config/air_quality.yaml"
CITY_WIDE = "city-wide"
SEASONAL = ("month", "harmonics")
TRANSITION = ("exclude", "post")


@dataclass(frozen=True)
class StationFile:
    """One hourly file, the hash it must have and the station it holds (if it has no column)."""

    file: str
    sha256: str
    station: str | None = None
    attribution: str = ""


@dataclass(frozen=True)
class AirSettings:
    stations: tuple[StationFile, ...]
    official: str
    primary: str
    city_min_stations: int
    min_hours_per_day: int
    min_days_per_month: int
    min_days_february: int
    min_days_per_year: int
    grade_ii_24h: float
    heavy: float
    seasonal: str
    n_harmonics: int
    daily_lags: int | None
    daily_lags_long: int
    monthly_lags: int | None
    policy_date: dt.date
    policy: str
    policy_short: str
    transition_month: str
    its_min_valid_days: int
    coverage_simulations: int
    seed: int
    its_min_pre_months: int = 24

    @property
    def declared_stations(self) -> tuple[str, ...]:
        """Station names the config gives (files with a `station` column may hold more)."""
        return tuple(s.station for s in self.stations if s.station)


def _fail(key: str, value: object, rule: str, message: str, source: str) -> ConfigError:
    return ConfigError([Violation(source, rule, message, column=key, value=value)])


class _Section:
    """One mapping of the config, whose errors name the full key path (e.g. its.policy_date)."""

    def __init__(self, raw: object, path: str, source: str) -> None:
        if not isinstance(raw, Mapping):
            raise _fail(path, raw, "section-present", "must be a mapping", source)
        self.raw, self.path, self.source = raw, path, source

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def section(self, name: str) -> _Section:
        return _Section(self.raw.get(name), self.key(name), self.source)

    def whole(self, name: str, lo: int, hi: int, default: int | None = None) -> int:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            message = f"must be a whole number {lo}-{hi}"
            raise _fail(self.key(name), value, "whole-number-in-range", message, self.source)
        return value

    def positive(self, name: str) -> float:
        value = self.raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            message = "must be a positive number"
            raise _fail(self.key(name), value, "positive-number", message, self.source)
        return float(value)

    def lags(self, name: str) -> int | None:
        value = self.raw.get(name, "auto")
        if value == "auto":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            message = 'must be "auto" or a whole number >= 0'
            raise _fail(self.key(name), value, "hac-lags", message, self.source)
        return value

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        value = self.raw.get(name)
        if value not in options:
            message = f"must be one of {list(options)}"
            raise _fail(self.key(name), value, "known-option", message, self.source)
        return str(value)

    def text(self, name: str, rule: str, message: str) -> str:
        value = self.raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _fail(self.key(name), value, rule, message, self.source)
        return " ".join(value.split())

    def date(self, name: str) -> dt.date:
        value = self.raw.get(name)
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            message = "must be a date YYYY-MM-DD"
            raise _fail(self.key(name), value, "iso-date", message, self.source) from None


def load_station_files(entries: object, source: str = CONFIG_FILE) -> tuple[StationFile, ...]:
    """The `stations` list of config["air_quality"]: file, sha256, station name, attribution.

    Parameters
    ----------
    entries : object
        The raw list from the config.
    source : str
        The config file named in errors.

    Returns
    -------
    tuple of StationFile
        One entry per file, in the config's order.
    """
    return _station_files({"stations": entries}, source)


def _station_files(
    raw: Mapping[str, Any], source: str, *, require_attribution: bool = False
) -> tuple[StationFile, ...]:
    entries = raw.get("stations")
    if not isinstance(entries, list) or not entries:
        raise _fail("stations", entries, "stations-listed", "must list at least one file", source)
    out = []
    for k, entry in enumerate(entries):
        key = f"stations[{k}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("file"), str):
            raise _fail(key, entry, "station-entry", "needs a `file` path", source)
        digest = str(entry.get("sha256", "")).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise _fail(
                f"{key}.sha256",
                entry.get("sha256"),
                "sha256-given",
                "must be the file's 64-digit hexadecimal sha256",
                source,
            )
        station = entry.get("station")
        if station is not None and (not isinstance(station, str) or not station.strip()):
            raise _fail(f"{key}.station", station, "station-name", "must be a name", source)
        attribution = entry.get("attribution")
        if require_attribution and (not isinstance(attribution, str) or not attribution.strip()):
            raise _fail(
                f"{key}.attribution",
                attribution,
                "attribution-given",
                "must say where the file comes from and under which licence; the paper prints "
                'it (for the UCI multi-site files: Zhang S. et al. (2017), "Beijing Multi-Site '
                'Air-Quality Data", UCI Machine Learning Repository, doi:10.24432/C5RK5G, '
                "CC BY 4.0)",
                source,
            )
        out.append(
            StationFile(
                file=entry["file"],
                sha256=digest,
                station=station.strip() if station else None,
                attribution=" ".join(str(entry.get("attribution", "")).split()),
            )
        )
    return tuple(out)


def load_air_settings(raw: Mapping[str, Any], source: str = CONFIG_FILE) -> AirSettings:
    """Settings from config["air_quality"]; a wrong value stops the run naming key and rule.

    Parameters
    ----------
    raw : Mapping
        config["air_quality"].
    source : str
        The config file named in errors.

    Returns
    -------
    AirSettings
        The checked settings. Whether `primary` names a series of the data is checked by
        `check_primary` once the station names are known.
    """
    top = _Section(raw, "", source)
    completeness = top.section("completeness")
    thresholds = top.section("thresholds")
    meteorology = top.section("meteorology")
    newey_west = top.section("newey_west")
    its = top.section("its")
    return AirSettings(
        stations=_station_files(raw, source, require_attribution=True),
        official=top.text("official", "official-series", "must be the official series' path"),
        primary=top.text("primary", "primary-series", f"must name a station or {CITY_WIDE!r}"),
        city_min_stations=top.whole("city_min_stations", 1, 1000, default=2),
        min_hours_per_day=completeness.whole("min_hours_per_day", 1, 24),
        min_days_per_month=completeness.whole("min_days_per_month", 1, 31),
        min_days_february=completeness.whole("min_days_february", 1, 29),
        min_days_per_year=completeness.whole("min_days_per_year", 1, 366),
        grade_ii_24h=thresholds.positive("grade_ii_24h"),
        heavy=thresholds.positive("heavy"),
        seasonal=meteorology.choice("seasonal", SEASONAL),
        n_harmonics=meteorology.whole("n_harmonics", 1, 6, default=2),
        daily_lags=newey_west.lags("daily_lags"),
        daily_lags_long=newey_west.whole("daily_lags_long", 1, 365),
        monthly_lags=newey_west.lags("monthly_lags"),
        policy_date=its.date("policy_date"),
        policy=its.text("policy", "policy-named", "must name the policy"),
        policy_short=its.text("policy_short", "policy-named", "must give a short policy name"),
        transition_month=its.choice("transition_month", TRANSITION),
        its_min_valid_days=its.whole("min_valid_days_per_month", 1, 31),
        coverage_simulations=its.whole("coverage_simulations", 0, 100_000),
        seed=its.whole("seed", 0, 2**32 - 1),
        its_min_pre_months=its.whole("min_pre_months", 0, 600, default=24),
    )


def station_names_in_file(path: str | Path) -> tuple[str, ...]:
    """The names in a PRSA file's `station` column (empty when the file has none or is absent).

    Reads the header and that one column only, so the start-up check stays quick.
    """
    import csv

    path = Path(path)
    if not path.is_file():
        return ()
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [cell.strip() for cell in next(reader, [])]
            if "station" not in header:
                return ()
            where = header.index("station")
            names = {row[where].strip() for row in reader if len(row) > where}
    except (OSError, UnicodeDecodeError, csv.Error):
        return ()  # the data step reports unreadable files with row and column
    return tuple(sorted(n for n in names if n and n != "NA"))


def series_names(settings: AirSettings) -> tuple[list[str], list[str]]:
    """The station series the config's files will give, and the files whose names are unknown.

    A file named with `station` gives that station; a file with a `station` column gives the
    names in it; a file that is not there yet is listed as unknown.
    """
    stations: list[str] = []
    unknown: list[str] = []
    for entry in settings.stations:
        if entry.station:
            stations.append(entry.station)
            continue
        found = station_names_in_file(entry.file)
        if found:
            stations.extend(found)
        else:
            unknown.append(entry.file)
    return sorted(set(stations)), unknown


def check_primary(settings: AirSettings, source: str = CONFIG_FILE) -> list[str]:
    """Stop when `primary` cannot be a series of the configured files; return the series.

    Parameters
    ----------
    settings : AirSettings
        Checked settings.
    source : str
        The config file named in errors.

    Returns
    -------
    list of str
        The series the analysis will have: the stations, and `city-wide` with two or more.

    Raises
    ------
    ConfigError
        `primary` names no station of the files (and is not `city-wide` with two or more
        stations), or `city_min_stations` exceeds the number of stations.
    """
    stations, unknown = series_names(settings)
    series = [*stations, CITY_WIDE] if len(stations) + len(unknown) > 1 else stations
    if unknown:
        return series  # the data step names what the files hold; nothing more to check here
    if settings.primary == CITY_WIDE and len(stations) < 2:
        raise _fail(
            "primary",
            settings.primary,
            "primary-series",
            f"{CITY_WIDE!r} needs two or more stations; the station files hold "
            f"{len(stations)} ({', '.join(stations)}): name that station instead",
            source,
        )
    if settings.primary != CITY_WIDE and settings.primary not in stations:
        raise _fail(
            "primary",
            settings.primary,
            "primary-series",
            f"is not a station of the listed files; choose one of {series}",
            source,
        )
    if len(stations) > 1 and settings.city_min_stations > len(stations):
        raise _fail(
            "city_min_stations",
            settings.city_min_stations,
            "city-min-stations",
            f"asks for more stations a day than the {len(stations)} listed",
            source,
        )
    return series
