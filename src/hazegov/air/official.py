"""The official annual PM2.5 series of Beijing against the 2017 target and the standards.

The official figures are city-wide network means published by the municipal bureau; they are the
numbers the 2013 plans set their targets in, so the question "was the 2017 target met" is asked of
them, never of a single monitoring site. Values the project has not yet checked against the
yearly Statement carry `provisional: true`, and that flag travels with them into every output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hazegov.errors import InputError, Violation

MEASURES = ("pm25", "heavy_pollution_days", "good_or_better_days")
TARGET_RULES = ("at_or_below",)


@dataclass(frozen=True)
class Standard:
    label: str
    citation: str
    annual: float
    daily_24h: float


@dataclass(frozen=True)
class OfficialSeries:
    """The yearly values (one row a year, a `<measure>_provisional` flag beside each value)."""

    series: pd.DataFrame
    unit: str
    source: str
    network: str
    standards: dict[str, Standard]
    target_year: int
    target_value: float
    target_wording: str
    target_documents: tuple[str, ...]
    reported_change_2013_2017_pct: float | None
    day_definitions: dict[str, str]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_official(path: str | Path) -> OfficialSeries:
    """Read and check config/official_pm25.yaml; every problem names entry, key and rule."""
    file = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError.single(file, "readable-yaml", f"cannot be read as YAML ({exc})") from None
    block = raw.get("official_pm25") if isinstance(raw, dict) else None
    if not isinstance(block, dict):
        raise InputError.single(file, "official-block", "needs a top-level `official_pm25` map")
    problems: list[Violation] = []
    rows = _series_rows(file, block, problems)
    standards = _standards(file, block, problems)
    target = block.get("target_2017") or {}
    reported = block.get("reported_change_2013_2017_pct")
    problems += _target_problems(file, target, reported)
    if problems:
        raise InputError(problems)
    series = pd.DataFrame(rows).sort_values("year").reset_index(drop=True)
    return OfficialSeries(
        series=series,
        unit=str(block.get("unit", "µg/m³")),
        source=" ".join(str(block.get("source", "")).split()),
        network=" ".join(str(block.get("network", "")).split()),
        standards=standards,
        target_year=int(target["year"]),
        target_value=float(target["value"]),
        target_wording=str(target.get("wording", f"{target['value']}")),
        target_documents=tuple(" ".join(str(d).split()) for d in target.get("documents", [])),
        reported_change_2013_2017_pct=None if reported is None else float(reported),
        day_definitions={k: str(v) for k, v in (block.get("day_definitions") or {}).items()},
    )


def _series_rows(
    file: str, block: Mapping[str, Any], problems: list[Violation]
) -> list[dict[str, Any]]:
    """One row per listed year with each measure and its provisional flag; problems appended."""
    rows: list[dict[str, Any]] = []
    entries = block.get("series")
    if not isinstance(entries, list) or not entries:
        problems.append(Violation(file, "series-listed", "needs a non-empty list", column="series"))
        entries = []
    seen: set[int] = set()
    for k, entry in enumerate(entries):
        where = {"row": k + 1, "column": "series"}
        year = entry.get("year") if isinstance(entry, dict) else None
        if not isinstance(year, int) or isinstance(year, bool) or not 1990 <= year <= 2100:
            problems.append(Violation(file, "year", "needs a year 1990-2100", value=year, **where))
            continue
        if year in seen:
            problems.append(
                Violation(file, "unique-year", "year listed twice", value=year, **where)
            )
        seen.add(year)
        rows.append(_year_row(file, k, year, entry, problems))
    return rows


def _year_row(
    file: str, k: int, year: int, entry: Mapping[str, Any], problems: list[Violation]
) -> dict[str, Any]:
    """One year's measures: a value >= 0 and a provisional flag each, NaN where not given."""
    row: dict[str, Any] = {"year": year}
    for measure in MEASURES:
        cell = entry.get(measure)
        key = {"row": k + 1, "column": f"series[{year}].{measure}"}
        if cell is None:
            row[measure], row[f"{measure}_provisional"] = float("nan"), False
            continue
        value = cell.get("value") if isinstance(cell, dict) else None
        flag = cell.get("provisional", False) if isinstance(cell, dict) else None
        if not _number(value) or value < 0:
            problems.append(
                Violation(file, "non-negative-number", "needs a `value` >= 0", value=cell, **key)
            )
            continue
        if not isinstance(flag, bool):
            problems.append(
                Violation(file, "provisional-flag", "must be true or false", value=flag, **key)
            )
            continue
        row[measure], row[f"{measure}_provisional"] = float(value), flag
    return row


def _standards(
    file: str, block: Mapping[str, Any], problems: list[Violation]
) -> dict[str, Standard]:
    """The standards' annual and 24-hour limits; the Grade II standard must be among them."""
    standards: dict[str, Standard] = {}
    for name, spec in (block.get("standards") or {}).items():
        ok = isinstance(spec, dict) and all(_number(spec.get(k)) for k in ("annual", "daily_24h"))
        if not ok:
            problems.append(
                Violation(
                    file,
                    "standard-limits",
                    "needs numeric `annual` and `daily_24h`",
                    column=f"standards.{name}",
                    value=spec,
                )
            )
            continue
        standards[name] = Standard(
            label=str(spec.get("label", name)),
            citation=" ".join(str(spec.get("citation", "")).split()),
            annual=float(spec["annual"]),
            daily_24h=float(spec["daily_24h"]),
        )
    if "gb3095_grade_ii" not in standards:
        problems.append(
            Violation(file, "grade-ii-given", "the Grade II standard is needed", column="standards")
        )
    return standards


def _target_problems(file: str, target: Mapping[str, Any], reported: object) -> list[Violation]:
    """What is wrong with the 2017 target and the officially reported change, if anything."""
    problems: list[Violation] = []
    if not (_number(target.get("value")) and isinstance(target.get("year"), int)):
        problems.append(
            Violation(
                file,
                "target-given",
                "needs a numeric `value` and a `year`",
                column="target_2017",
                value=target,
            )
        )
    if target.get("rule", "at_or_below") not in TARGET_RULES:
        problems.append(
            Violation(
                file,
                "target-rule",
                f"must be one of {list(TARGET_RULES)}",
                column="target_2017.rule",
                value=target.get("rule"),
            )
        )
    if reported is not None and not _number(reported):
        problems.append(
            Violation(
                file,
                "number",
                "must be a number",
                column="reported_change_2013_2017_pct",
                value=reported,
            )
        )
    return problems


def official_summary(official: OfficialSeries, base_year: int = 2013) -> dict[str, Any]:
    """The numbers the introduction quotes from the official series, as plain values."""
    table = official.series.set_index("year")
    pm = table["pm25"].dropna()
    grade_ii = official.standards["gb3095_grade_ii"].annual
    target_year = official.target_year
    missing = [y for y in (base_year, target_year) if y not in pm.index]
    if missing:
        raise InputError.single(
            "official_pm25",
            "years-present",
            f"the official series lacks PM2.5 for {missing}",
            column="series",
        )
    base, at_target = float(pm[base_year]), float(pm[target_year])
    latest_year = int(pm.index.max())
    meeting = [int(y) for y, v in pm.items() if v <= grade_ii]
    provisional = [int(y) for y in pm.index if bool(table.loc[y, "pm25_provisional"])]
    return {
        "base_year": base_year,
        "base_value": base,
        "target_year": target_year,
        "target_year_value": at_target,
        "change_pct": 100 * (at_target - base) / base,
        "reported_change_pct": official.reported_change_2013_2017_pct,
        "target_value": official.target_value,
        "target_met": at_target <= official.target_value,
        "latest_year": latest_year,
        "latest_value": float(pm[latest_year]),
        "change_base_to_latest_pct": 100 * (float(pm[latest_year]) - base) / base,
        "grade_ii_annual": grade_ii,
        "years_at_or_below_grade_ii": meeting,
        "first_year_at_or_below_grade_ii": min(meeting) if meeting else None,
        "provisional_years": provisional,
        "first_year": int(pm.index.min()),
    }
