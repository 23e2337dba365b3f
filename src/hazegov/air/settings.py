"""Settings of the air-quality strand, checked once so that every stage can trust them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
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
    """The `stations` list of config["air_quality"]: file, sha256, station name, attribution."""
    return _station_files({"stations": entries}, source)


def _station_files(raw: Mapping[str, Any], source: str) -> tuple[StationFile, ...]:
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
    """Settings from config["air_quality"]; a wrong value stops the run naming key and rule."""
    top = _Section(raw, "", source)
    completeness = top.section("completeness")
    thresholds = top.section("thresholds")
    meteorology = top.section("meteorology")
    newey_west = top.section("newey_west")
    its = top.section("its")
    return AirSettings(
        stations=_station_files(raw, source),
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
    )
