"""The policy register: one row per document, checked before any text is read.

The register is the study's list of the 2011-2018 air-pollution documents. Every later number
(documents by level, the date range, which codings come from digests) is read from it, so it
is validated cell by cell and every error names the file, row, column, value and rule.
"""

from __future__ import annotations

import calendar
import contextlib
import csv
import io
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hazegov.errors import InputError, Violation

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = (
    "id",
    "title_zh",
    "title_en",
    "issuer",
    "level",
    "doc_number",
    "issued",
    "issued_precision",
    "in_force_from",
    "in_force_to",
    "source_url",
    "text_kind",
    "text_file",
)
OPTIONAL_COLUMNS = ("provisional_fields", "label_en", "notes")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
NON_EMPTY = ("id", "title_zh", "title_en", "issuer", "level", "issued", "text_kind", "text_file")
LEVELS = ("central", "municipal", "district")
TEXT_KINDS = ("official_full_text", "project_digest")
PRECISIONS = ("day", "month", "year")
TEXT_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
HEADER_ROW = 1  # file row of the header; document k (from 1) sits on file row k + 1
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
_URL = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class PartialDate:
    """A date known to the day, the month or only the year, as the sources give it."""

    text: str
    precision: str
    start: date
    end: date

    @property
    def midpoint(self) -> date:
        return date.fromordinal((self.start.toordinal() + self.end.toordinal()) // 2)


def parse_partial_date(text: str) -> PartialDate:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`; raise ValueError naming what is wrong."""
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError("is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    y = int(year)
    if month is None:
        return PartialDate(text, "year", date(y, 1, 1), date(y, 12, 31))
    m = int(month)
    if not 1 <= m <= 12:
        raise ValueError(f"has month {m}, outside 1-12")
    last = calendar.monthrange(y, m)[1]
    if day is None:
        return PartialDate(text, "month", date(y, m, 1), date(y, m, last))
    d = int(day)
    if not 1 <= d <= last:
        raise ValueError(f"has day {d}, outside 1-{last} for {y}-{m:02d}")
    return PartialDate(text, "day", date(y, m, d), date(y, m, d))


def resolve_text_path(register: str | Path, text_file: str) -> Path:
    """Text files are named relative to the register's folder, so register and texts move as one."""
    path = Path(text_file)
    return path if path.is_absolute() else Path(register).parent / path


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    file = str(path)
    if not path.is_file():
        raise InputError.single(file, "file-exists", "the policy register does not exist")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            raw.decode("gb18030")
            guess = "it reads as GB18030/GBK, as Excel saves 'CSV' on Chinese Windows; "
        except UnicodeDecodeError:
            guess = ""
        raise InputError.single(
            file,
            "utf-8-register",
            f"is not UTF-8 (byte {exc.start}, {raw[exc.start : exc.start + 1]!r}); {guess}"
            "save the register as 'CSV UTF-8'",
            row=raw.count(b"\n", 0, exc.start) + 1,
            row_kind="line",
        ) from None
    # newline="" keeps line breaks inside quoted cells; str.splitlines would also split at
    # U+2028 or form feeds that web copies of Chinese titles can carry.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    try:
        for cells in reader:
            rows.append(cells)
    except csv.Error as exc:
        start = sum(cell.count("\n") for cells in rows for cell in cells) + len(rows) + 1
        hint = (
            "; a quoted cell is never closed, so the rest of the file ran into it"
            if "end of data" in str(exc)
            else ""
        )
        raise InputError.single(
            file,
            "csv-syntax",
            f"is not valid CSV: {exc} (the record starting on line {start}, ending on line "
            f"{reader.line_num}){hint}; quote a cell holding commas or quotes and double any "
            'quote inside it ("")',
            row=HEADER_ROW + len(rows),  # the register row of the record that broke
        ) from None
    if not rows:
        raise InputError.single(file, "non-empty-file", "the policy register is empty")
    header = [h.strip() for h in rows[0]]
    return header, rows[1:]


def _check_header(header: list[str], file: str, problems: list[Violation]) -> None:
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(
                Violation(
                    file,
                    "required-column",
                    f"the register lacks the required column {column!r}",
                    row=HEADER_ROW,
                    column=column,
                )
            )
    seen: set[str] = set()
    for column in header:
        if column not in COLUMNS:
            problems.append(
                Violation(
                    file,
                    "known-column",
                    f"is not a register column (allowed: {', '.join(COLUMNS)})",
                    row=HEADER_ROW,
                    column=column,
                    value=column,
                )
            )
        if column in seen:
            problems.append(
                Violation(file, "unique-column", "appears twice", row=HEADER_ROW, column=column)
            )
        seen.add(column)


def _check_row(
    record: dict[str, str], row: int, file: str, register: Path, problems: list[Violation]
) -> None:
    def bad(column: str, rule: str, message: str) -> None:
        problems.append(
            Violation(file, rule, message, row=row, column=column, value=record[column])
        )

    for column in NON_EMPTY:
        if not record[column]:
            bad(column, "required-value", "must not be empty")
    if record["id"] and not _ID.match(record["id"]):
        bad("id", "id-format", "must be lower-case letters, digits and hyphens")
    if record["level"] and record["level"] not in LEVELS:
        bad("level", "known-level", f"must be one of {', '.join(LEVELS)}")
    if record["text_kind"] and record["text_kind"] not in TEXT_KINDS:
        bad("text_kind", "known-text-kind", f"must be one of {', '.join(TEXT_KINDS)}")
    if record["source_url"] and not _URL.match(record["source_url"]):
        bad("source_url", "url-format", "must be an http(s) address without spaces")
    issued = _date_cell(record, "issued", row, file, problems)
    precision = record["issued_precision"]
    if precision and precision not in PRECISIONS:
        bad("issued_precision", "known-precision", f"must be one of {', '.join(PRECISIONS)}")
    elif precision and issued and issued.precision != precision:
        bad(
            "issued_precision",
            "precision-matches-date",
            f"says {precision!r} but issued {issued.text!r} is given to the {issued.precision}",
        )
    in_force_from = _date_cell(record, "in_force_from", row, file, problems)
    in_force_to = _date_cell(record, "in_force_to", row, file, problems)
    if issued and in_force_from and in_force_from.end < issued.start:
        bad("in_force_from", "in-force-after-issue", f"lies before the issue date {issued.text}")
    if in_force_from and in_force_to and in_force_to.end < in_force_from.start:
        bad("in_force_to", "in-force-order", f"lies before in_force_from {in_force_from.text}")
    for field in filter(None, (f.strip() for f in record["provisional_fields"].split(";"))):
        if field not in REQUIRED_COLUMNS:
            problems.append(
                Violation(
                    file,
                    "known-provisional-field",
                    f"names {field!r}, which is not a register column",
                    row=row,
                    column="provisional_fields",
                    value=record["provisional_fields"],
                )
            )
    text_file = record["text_file"]
    if text_file:
        if Path(text_file).suffix.lower() not in TEXT_SUFFIXES:
            bad("text_file", "known-text-format", f"must end in {', '.join(TEXT_SUFFIXES)}")
        elif not resolve_text_path(register, text_file).is_file():
            bad(
                "text_file",
                "text-file-exists",
                f"names no file (looked for {resolve_text_path(register, text_file)})",
            )


def _date_cell(
    record: dict[str, str], column: str, row: int, file: str, problems: list[Violation]
) -> PartialDate | None:
    if not record[column]:
        return None
    try:
        return parse_partial_date(record[column])
    except ValueError as exc:
        problems.append(
            Violation(file, "valid-date", str(exc), row=row, column=column, value=record[column])
        )
        return None


def register_records(path: str | Path) -> list[dict[str, str | int]]:
    """The validated register rows as dicts (standard library only, so the workflow can call it
    while it builds the DAG); raise InputError listing every violation."""
    path = Path(path)
    file = str(path)
    header, rows = _read_rows(path)
    problems: list[Violation] = []
    _check_header(header, file, problems)
    if problems:
        raise InputError(problems)
    records: list[dict[str, str | int]] = []
    first_row_of: dict[str, int] = {}
    for k, cells in enumerate(rows):
        row = HEADER_ROW + 1 + k
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                Violation(
                    file, "row-length", f"has {len(cells)} cells, the header {len(header)}", row=row
                )
            )
            continue
        record = dict.fromkeys(OPTIONAL_COLUMNS, "")
        record.update({h: c.strip() for h, c in zip(header, cells, strict=True)})
        _check_row(record, row, file, path, problems)
        doc_id = record["id"]
        if doc_id in first_row_of:
            problems.append(
                Violation(
                    file,
                    "unique-id",
                    f"repeats the id of row {first_row_of[doc_id]}",
                    row=row,
                    column="id",
                    value=doc_id,
                )
            )
        elif doc_id:
            first_row_of[doc_id] = row
        if not record["issued_precision"] and record["issued"]:
            with contextlib.suppress(ValueError):  # a bad date is already reported
                record["issued_precision"] = parse_partial_date(record["issued"]).precision
        records.append(
            {
                **{c: record[c] for c in COLUMNS},
                "register_row": row,
                "text_path": str(resolve_text_path(path, record["text_file"])),
            }
        )
    if not records and not problems:
        problems.append(Violation(file, "non-empty-register", "lists no document"))
    if problems:
        raise InputError(problems)
    return records


def load_register(path: str | Path) -> pd.DataFrame:
    """The validated register as a frame, text paths resolved (see `register_records`)."""
    import pandas as pd

    return pd.DataFrame(register_records(path), columns=[*COLUMNS, "register_row", "text_path"])


def register_text_files(path: str | Path) -> list[str]:
    """The existing text files the register names, for the workflow's input function.

    Lenient on purpose: it never raises. Snakemake treats an input function that raises, for a
    job whose outputs already exist, as "nothing to do" and keeps the stale outputs. Instead a
    file that is named but missing drops out of the inputs; the changed input set reruns the
    corpus rule, whose full validation (`register_records`) then names the register row and
    column.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    files = []
    for row in rows:
        name = (row.get("text_file") or "").strip()
        if name and resolve_text_path(path, name).is_file():
            files.append(os.path.normpath(resolve_text_path(path, name)))
    return files


def provisional(record: pd.Series | dict[str, object], field: str) -> bool:
    """Whether the facts mark this field of a document as still to be verified."""
    fields = str(record.get("provisional_fields", "") or "")
    return field in {f.strip() for f in fields.split(";")}
