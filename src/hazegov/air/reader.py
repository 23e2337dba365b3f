"""Read hourly station files of the PRSA family into one tidy, validated table.

Two column families exist. The single-site file of UCI dataset 381 (US Embassy, 2010-2014) has
`No, year, month, day, hour, pm2.5, DEWP, TEMP, PRES, cbwd, Iws, Is, Ir`; the multi-site files of
UCI dataset 501 (12 stations, 2013-2017) have `No, year, month, day, hour, PM2.5, PM10, SO2, NO2,
CO, O3, TEMP, PRES, DEWP, RAIN, wd, WSPM, station`. Both map to `TIDY_COLUMNS`; a measure one
family lacks is missing (NaN) in its rows. The families measure wind and rain differently, and the
tidy names keep that difference visible instead of pretending the measures are one:

- `wind_speed_cum` (single-site `Iws`): wind speed in m/s summed over the consecutive hours the
  combined wind direction has persisted, so it grows through a spell of steady wind and restarts
  when the direction changes; it measures sustained ventilation, not the speed of the hour.
- `wind_speed` (multi-site `WSPM`): the wind speed of the hour, m/s.
- `rain_hours_cum` / `snow_hours_cum` (single-site `Ir` / `Is`): cumulated hours of rain / snow
  in the current spell; `rain_mm` (multi-site `RAIN`): precipitation of the hour in mm.
- `wind_dir`: `cbwd` is a combined direction with four or five codes (NE, NW, SE, SW, cv =
  calm and variable); `wd` is a 16-point compass direction.

Timestamps are local Beijing time (UTC+8) as in the files. "NA" marks a missing value; any other
non-numeric text in a numeric column, an impossible date or hour, a negative concentration, a
repeated hour of a station, an unknown or missing column, a file not separated by commas or
without its header row, text that is not UTF-8 or an empty file stops the read with an
`InputError` naming file, row, column, value and rule. Nothing is returned on error.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hazegov.air.settings import StationFile
from hazegov.errors import InputError, Violation
from hazegov.privacy.identifiers import export_label

MISSING = "NA"
HEADER_ROW = 1  # file row of the header; data record k (0-based) sits on file row k + 2
MAX_PER_RULE = 20  # violations listed per rule and column before the rest are counted

# kind: "int" (whole number, never missing), "float", "nonneg" (float >= 0), "wind", "station"
# the record number and the hour's date and time, alike in both families
_RECORD_COLUMNS: dict[str, tuple[str, str]] = {
    "No": ("record_no", "int"),
    "year": ("year", "int"),
    "month": ("month", "int"),
    "day": ("day", "int"),
    "hour": ("hour", "int"),
}
SINGLE_SITE: dict[str, tuple[str, str]] = _RECORD_COLUMNS | {
    "pm2.5": ("pm25", "nonneg"),
    "DEWP": ("dewp", "float"),
    "TEMP": ("temp", "float"),
    "PRES": ("pres", "float"),
    "cbwd": ("wind_dir", "wind"),
    "Iws": ("wind_speed_cum", "nonneg"),
    "Is": ("snow_hours_cum", "nonneg"),
    "Ir": ("rain_hours_cum", "nonneg"),
}
MULTI_SITE: dict[str, tuple[str, str]] = _RECORD_COLUMNS | {
    "PM2.5": ("pm25", "nonneg"),
    "PM10": ("pm10", "nonneg"),
    "SO2": ("so2", "nonneg"),
    "NO2": ("no2", "nonneg"),
    "CO": ("co", "nonneg"),
    "O3": ("o3", "nonneg"),
    "TEMP": ("temp", "float"),
    "PRES": ("pres", "float"),
    "DEWP": ("dewp", "float"),
    "RAIN": ("rain_mm", "nonneg"),
    "wd": ("wind_dir", "wind"),
    "WSPM": ("wind_speed", "nonneg"),
}
FAMILIES: dict[str, dict[str, tuple[str, str]]] = {
    "prsa_single_site": SINGLE_SITE,
    "prsa_multi_site": MULTI_SITE,
}
STATION_COLUMN = "station"
WIND_CODES: dict[str, frozenset[str]] = {
    "prsa_single_site": frozenset({"NE", "NW", "SE", "SW", "cv"}),
    "prsa_multi_site": frozenset(
        {"N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE"}
        | {"S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"}
    ),
}
TIDY_COLUMNS = (
    "station",
    "timestamp",
    "pm25",
    "pm10",
    "so2",
    "no2",
    "co",
    "o3",
    "dewp",
    "temp",
    "pres",
    "wind_dir",
    "wind_speed",
    "wind_speed_cum",
    "rain_mm",
    "rain_hours_cum",
    "snow_hours_cum",
    "family",
    "source_file",
    "source_row",
)
MEASURES = TIDY_COLUMNS[2:17]
STRING_MEASURES = ("wind_dir",)
CONCENTRATIONS = frozenset({"pm25", "pm10", "so2", "no2", "co", "o3"})
YEAR_RANGE = (1900, 2100)
# PM2.5 is the fine part of PM10, so it is the smaller on almost every hour (instrument noise
# puts it above on a few). Above this share of the hours that have both, the columns are taken
# to be swapped or mislabelled, and the read stops.
PM25_ABOVE_PM10_MAX_SHARE = 0.5


@dataclass(frozen=True)
class StationRead:
    """One file read: the tidy rows and what the file held."""

    frame: pd.DataFrame
    report: dict[str, Any]


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> str:
    """The file's sha256; stops the run when it is not the one the config expects."""
    if not Path(path).is_file():
        raise InputError.single(path, "file-exists", "the station file does not exist")
    actual = sha256_of(path)
    if actual != expected.lower():
        raise InputError.single(
            path,
            "sha256-matches-config",
            f"the file's sha256 differs from the expected {expected} in the config: the file "
            "was changed or replaced; restore it or, if the change is intended, update the config",
            value=actual,
        )
    return actual


class _Problems:
    """Violations of one file, at most MAX_PER_RULE listed per (rule, column)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Violation] = []
        self.extra: dict[tuple[str, str | None], int] = {}

    def add(self, rule: str, message: str, **where: Any) -> None:
        key = (rule, where.get("column"))
        shown = sum(1 for v in self.items if (v.rule, v.column) == key)
        if shown < MAX_PER_RULE:
            self.items.append(Violation(self.file, rule, message, **where))
        else:
            self.extra[key] = self.extra.get(key, 0) + 1

    def all(self) -> list[Violation]:
        tail = [
            Violation(self.file, rule, f"{n} more cell(s) break this rule", column=column)
            for (rule, column), n in self.extra.items()
        ]
        return self.items + tail


def _read_rows(path: Path, problems: _Problems) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        problems.add("file-exists", "the station file does not exist")
        return [], []
    if path.stat().st_size == 0:
        problems.add("non-empty-file", "the file is empty (no header, no data)")
        return [], []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(
            "utf-8-text",
            f"the file is not UTF-8 text ({exc.reason}: byte {exc.start}, "
            f"{raw[exc.start : exc.start + 1]!r}); save it as UTF-8",
            row=raw.count(b"\n", 0, exc.start) + 1,
            row_kind="line",
        )
        return [], []
    rows = list(csv.reader(io.StringIO(text, newline="")))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()  # trailing blank lines only: a blank line inside keeps its row number
    if not rows:
        problems.add("non-empty-file", "the file holds only blank lines")
        return [], []
    header = [cell.strip() for cell in rows[0]]
    if not any(header):
        problems.add(
            "header-row",
            "the first line is blank: the file must start with its header row",
            row=HEADER_ROW,
        )
        return [], []
    if len(rows) == 1:
        problems.add("has-data-rows", "the file has a header but no data rows", row=HEADER_ROW)
    return header, rows[1:]


def _layout(header: list[str], problems: _Problems) -> bool:
    """Whether the first row is a comma-separated header; names a wrong delimiter or a missing
    header row instead of listing every column as unknown."""
    known = {name for family in FAMILIES.values() for name in family} | {STATION_COLUMN}
    if len(header) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            parts = [p.strip() for p in header[0].split(separator)]
            if len(parts) > 1 and known & set(parts):
                problems.add(
                    "comma-delimited",
                    f"the header is one cell: the file is separated by {name}, but PRSA files "
                    "are comma-separated; save it as CSV with commas",
                    row=HEADER_ROW,
                    value=header[0][:60],
                )
                return False
    if not known & set(header) and header and header[0].isdigit():
        problems.add(
            "header-row",
            "the first row holds data, not column names: the header row is missing (a PRSA "
            f"file starts with e.g. {','.join(SINGLE_SITE)})",
            row=HEADER_ROW,
            value=",".join(header)[:60],
        )
        return False
    return True


def _family(header: list[str], problems: _Problems) -> str | None:
    if not _layout(header, problems):
        return None
    seen: set[str] = set()
    for name in header:
        if name in seen:
            message = "the header repeats this column"
            problems.add("unique-column", message, row=HEADER_ROW, column=name)
        seen.add(name)
    names = set(header) - {STATION_COLUMN}
    best = max(FAMILIES, key=lambda f: (len(names & set(FAMILIES[f])), -len(FAMILIES[f])))
    expected = set(FAMILIES[best])
    if names == expected and len(seen) == len(header):
        return best
    for name in header:
        if name not in expected and name != STATION_COLUMN:
            problems.add(
                "known-column",
                f"not a column of the PRSA file families (closest: {best})",
                row=HEADER_ROW,
                column=name,
            )
    for name in FAMILIES[best]:
        if name not in names:
            problems.add(
                "column-present",
                f"this {best} column is missing from the header",
                row=HEADER_ROW,
                column=name,
            )
    return None


def _row(index: object) -> int:
    """File row of the data record at 0-based position `index`."""
    return HEADER_ROW + 1 + int(index)  # type: ignore[call-overload]


def _parse_numeric(
    cells: pd.Series, column: str, kind: str, tidy: str, problems: _Problems
) -> pd.Series:
    missing = cells == MISSING
    values = pd.to_numeric(cells.where(~missing), errors="coerce")
    bad = ~missing & (values.isna() | ~np.isfinite(values.astype(float)))
    for i in cells.index[bad]:
        text = "empty cell (write NA for a missing value)" if cells[i] == "" else "not a number"
        problems.add("numeric-value", text, row=_row(i), column=column, value=cells[i])
    if kind == "int":
        for i in cells.index[missing]:
            problems.add(
                "value-present",
                "a date or record field cannot be missing",
                row=_row(i),
                column=column,
                value=cells[i],
            )
        fractional = ~bad & ~missing & (values % 1 != 0)
        for i in cells.index[fractional]:
            problems.add(
                "whole-number",
                "must be a whole number",
                row=_row(i),
                column=column,
                value=cells[i],
            )
    if kind == "nonneg":
        negative = ~bad & (values < 0)
        rule = f"{tidy}-non-negative"
        what = "a concentration" if tidy in CONCENTRATIONS else "a value"
        for i in cells.index[negative]:
            problems.add(
                rule,
                f"{what} cannot be negative",
                row=_row(i),
                column=column,
                value=cells[i],
            )
    return values.where(~bad).astype(float)


def _shown(value: float) -> int | float:
    """A parsed date part as the file wrote it: 13, not 13.0."""
    return int(value) if float(value).is_integer() else float(value)


def _timestamps(
    parts: dict[str, pd.Series], header: dict[str, str], problems: _Problems
) -> pd.Series:
    """Timestamps of the rows; impossible dates and hours are named (month 13, Feb 30, hour 24)."""
    year, month, day, hour = (parts[k] for k in ("year", "month", "day", "hour"))
    usable = year.notna() & month.notna() & day.notna() & hour.notna()
    checks = [
        ("year", year.between(*YEAR_RANGE), f"year outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]}"),
        ("month", month.between(1, 12), "month must be 1-12"),
        ("hour", hour.between(0, 23), "hour must be 0-23 (hour 24 is hour 0 of the next day)"),
    ]
    ok = usable.copy()
    for key, good, message in checks:
        wrong = usable & ~good
        for i in wrong[wrong].index:
            problems.add(
                "valid-date",
                message,
                row=_row(i),
                column=header[key],
                value=_shown(parts[key][i]),
            )
        ok &= good
    first = pd.to_datetime(
        {"year": year.where(ok, 2000), "month": month.where(ok, 1), "day": 1}, errors="coerce"
    )
    days_in_month = first.dt.days_in_month
    wrong_day = ok & ~day.between(1, days_in_month)
    for i in wrong_day[wrong_day].index:
        problems.add(
            "valid-date",
            f"day {int(day[i])} does not exist in {int(year[i])}-{int(month[i]):02d}",
            row=_row(i),
            column=header["day"],
            value=_shown(day[i]),
        )
    ok &= ~wrong_day
    stamp = pd.to_datetime(
        {
            "year": year.where(ok, 2000),
            "month": month.where(ok, 1),
            "day": day.where(ok, 1),
            "hour": hour.where(ok, 0),
        }
    )
    return stamp.where(ok)


def read_station_file(path: str | Path, station: str | None = None) -> StationRead:
    """One PRSA-family file as tidy rows; `station` names it when the file has no such column."""
    path = Path(path)
    problems = _Problems(str(path))
    header, rows = _read_rows(path, problems)
    family = _family(header, problems) if header else None
    if family is None or problems.items:
        raise InputError(problems.all())
    width = len(header)
    for k, row in enumerate(rows):
        if len(row) != width:
            problems.add(
                "row-length",
                f"has {len(row)} cells, the header {width}",
                row=_row(k),
            )
    if problems.items:
        raise InputError(problems.all())
    cells = pd.DataFrame(rows, columns=header).apply(lambda s: s.str.strip())
    mapping = FAMILIES[family]
    parsed = _parse_columns(cells, family, problems)
    names = {tidy: column for column, (tidy, _) in mapping.items()}
    stamps = _timestamps(parsed, names, problems)
    stations = _stations(cells, station, problems)
    if problems.items:
        raise InputError(problems.all())
    out = _tidy_rows(path, family, cells.index, parsed, stations, stamps)
    duplicates = _duplicate_hours(out)
    if duplicates:
        raise InputError(duplicates)
    plausibility = _plausible_pm(path, out, mapping)
    pm = out["pm25"]
    report = {
        "file": export_label(path),
        "family": family,
        "rows": len(out),
        "stations": sorted(out["station"].unique().tolist()),
        "first": str(out["timestamp"].min()),
        "last": str(out["timestamp"].max()),
        "pm25_missing": int(pm.isna().sum()),
        "pm25_missing_share": float(pm.isna().mean()),
        **plausibility,
    }
    return StationRead(out[list(TIDY_COLUMNS)].reset_index(drop=True), report)


def _parse_columns(cells: pd.DataFrame, family: str, problems: _Problems) -> dict[str, pd.Series]:
    """Each column of the family parsed by its kind, keyed by tidy name; problems recorded."""
    parsed: dict[str, pd.Series] = {}
    for column, (tidy, kind) in FAMILIES[family].items():
        if kind == "wind":
            codes = cells[column]
            unknown = (codes != MISSING) & ~codes.isin(WIND_CODES[family])
            for i in codes.index[unknown]:
                problems.add(
                    "wind-direction-code",
                    f"not one of {sorted(WIND_CODES[family])} or NA",
                    row=_row(i),
                    column=column,
                    value=codes[i],
                )
            parsed[tidy] = codes.where(codes != MISSING)
        else:
            parsed[tidy] = _parse_numeric(cells[column], column, kind, tidy, problems)
    return parsed


def _tidy_rows(
    path: Path,
    family: str,
    index: pd.Index,
    parsed: dict[str, pd.Series],
    stations: pd.Series,
    stamps: pd.Series,
) -> pd.DataFrame:
    """The tidy columns in file order: a measure the family lacks is missing in every row."""
    out = pd.DataFrame(index=index)
    out["station"] = stations
    out["timestamp"] = stamps
    for name in MEASURES:
        if name in STRING_MEASURES:
            out[name] = parsed[name].astype("string") if name in parsed else pd.NA
        else:
            out[name] = parsed.get(name, pd.Series(np.nan, index=index)).astype(float)
    out["wind_dir"] = out["wind_dir"].astype("string")
    out["family"] = family
    # relative to the project (a configured absolute path would name the analyst's folders)
    out["source_file"] = export_label(path)
    out["source_row"] = [HEADER_ROW + 1 + k for k in range(len(out))]
    return out.astype({"station": "string", "family": "string", "source_file": "string"})


def _plausible_pm(
    path: Path, out: pd.DataFrame, mapping: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """`pm_plausibility` of the rows; stops the read when PM2.5 and PM10 look swapped."""
    plausibility = pm_plausibility(out)
    if plausibility["share_pm25_above_pm10"] > PM25_ABOVE_PM10_MAX_SHARE:
        both = plausibility["hours_with_both"]
        share = plausibility["share_pm25_above_pm10"]
        first = int(out.loc[(out["pm25"] > out["pm10"]).idxmax(), "source_row"])
        raise InputError.single(
            path,
            "pm25-not-above-pm10",
            f"PM2.5 exceeds PM10 on {100 * share:.0f}% of the {both:,} hours that have both "
            "(first at this row): PM2.5 is the fine part of PM10, so the PM2.5 and PM10 columns "
            "look swapped or mislabelled; check the header",
            row=first,
            column=f"{_column_of(mapping, 'pm25')}/{_column_of(mapping, 'pm10')}",
        )
    return plausibility


def _column_of(mapping: dict[str, tuple[str, str]], tidy: str) -> str:
    return next(column for column, (name, _) in mapping.items() if name == tidy)


def pm_plausibility(frame: pd.DataFrame) -> dict[str, Any]:
    """How often PM2.5 exceeds PM10 among the hours that have both (0 when none has PM10).

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy rows with `pm25` and `pm10`.

    Returns
    -------
    dict
        `hours_with_both` and `share_pm25_above_pm10`.
    """
    both = frame["pm25"].notna() & frame["pm10"].notna()
    n = int(both.sum())
    above = int((frame.loc[both, "pm25"] > frame.loc[both, "pm10"]).sum())
    return {"hours_with_both": n, "share_pm25_above_pm10": above / n if n else 0.0}


def _stations(cells: pd.DataFrame, configured: str | None, problems: _Problems) -> pd.Series:
    if STATION_COLUMN not in cells.columns:
        if configured is None:
            problems.add(
                "station-name-known",
                "the file has no station column, so the config must name its station",
                column=STATION_COLUMN,
            )
        return pd.Series(configured or "", index=cells.index)
    names = cells[STATION_COLUMN]
    for i in names.index[names.isin(["", MISSING])]:
        problems.add(
            "station-named",
            "every row needs a station name",
            row=_row(i),
            column=STATION_COLUMN,
            value=names[i],
        )
    if configured is not None:
        for i in names.index[~names.isin(["", MISSING, configured])]:
            problems.add(
                "station-matches-config",
                f"the config names this file's station {configured!r}",
                row=_row(i),
                column=STATION_COLUMN,
                value=names[i],
            )
    return names


def _duplicate_hours(frame: pd.DataFrame) -> list[Violation]:
    """Each station has at most one row per hour, within a file and across files."""
    key = ["station", "timestamp"]
    repeated = frame[frame.duplicated(key, keep="first")]
    if repeated.empty:
        return []
    first = frame.drop_duplicates(key, keep="first").set_index(key)
    problems: dict[str, _Problems] = {}
    for row in repeated.itertuples(index=False):
        origin = first.loc[(row.station, row.timestamp)]
        file = str(row.source_file)
        problems.setdefault(file, _Problems(file)).add(
            "unique-station-hour",
            f"station {row.station!r} already has this hour "
            f"(row {int(origin['source_row'])} of {origin['source_file']})",
            row=int(row.source_row),
            column="year/month/day/hour",
            value=f"{row.timestamp:%Y-%m-%d %H:00}",
        )
    return [v for p in problems.values() for v in p.all()]


def read_stations(stations: Sequence[StationFile]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every configured file, hash-checked and read; all files' violations reported together."""
    violations: list[Violation] = []
    frames: list[pd.DataFrame] = []
    reports: list[dict[str, Any]] = []
    for entry in stations:
        try:
            digest = verify_sha256(entry.file, entry.sha256)
            read = read_station_file(entry.file, entry.station)
        except InputError as exc:
            violations.extend(exc.violations)
            continue
        frames.append(read.frame)
        reports.append(read.report | {"sha256": digest, "attribution": entry.attribution})
    if violations:
        raise InputError(violations)
    hourly = pd.concat(frames, ignore_index=True)
    duplicates = _duplicate_hours(hourly)
    if duplicates:
        raise InputError(duplicates)
    hourly = hourly.sort_values(["station", "timestamp"], kind="mergesort").reset_index(drop=True)
    return hourly, reports
