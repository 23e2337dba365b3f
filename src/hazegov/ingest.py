"""Read a survey-platform export, map it through the codebook, validate and de-identify it.

Anything the codebook forbids stops the run with every violation listed by file, row, column,
value and rule. Direct identifiers never leave this module: identifier columns are not read into
the result, and free text is redacted before it is returned.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from hazegov.codebook import Codebook, Variable
from hazegov.errors import ExportError, InputError, Violation
from hazegov.privacy import redact
from hazegov.synthetic import sha256_file, sidecar_path

ENCODINGS = ("utf-8-sig", "gb18030")
OUT_OF_RANGE_POLICIES = ("error", "missing")
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
# How errors count: a "row" is a row of the sheet as a spreadsheet program numbers it (a CSV
# record; blank rows count, a quoted answer spanning lines is one row), so the header is row 1
# and respondent k row k + 1; a "line" is a line of the file as a text editor numbers it.
ROW_NUMBERING = (
    "row N is the Nth row of the sheet as a spreadsheet shows it, the header being row 1 and "
    "the first respondent row 2; line N is the Nth line of the file in a text editor"
)
DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}
HEADER_SEARCH_ROWS = 10  # how far below row 1 a displaced header row is recognised


class ExportTableError(ExportError):
    """An ExportError whose message ends by saying how its rows and lines are counted."""

    def __init__(self, violations: list[Violation], limit: int = 50) -> None:
        super().__init__(violations, limit)
        if any(v.row is not None for v in violations):
            self.args = (f"{self.args[0]}\n  ({ROW_NUMBERING})",)


@dataclass
class IngestResult:
    """The de-identified, codebook-mapped responses and what was done to get them."""

    responses: pd.DataFrame
    quality_log: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportTable:
    """An export as text: its header, and every non-blank row below it with its row number."""

    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]
    encoding: str


def _norm(text: str) -> str:
    """Compare labels and headers as a person would: width-, space- and tilde-insensitive."""
    text = unicodedata.normalize("NFKC", str(text)).replace("～", "~").replace("〜", "~")
    return re.sub(r"\s+", "", text)


def read_export_table(path: str | Path, encoding: str = "auto") -> ExportTable:
    """Header and rows of a CSV (UTF-8 with or without BOM, GB18030) or XLSX export, as text.

    Rows keep the number a spreadsheet shows them under (blank rows are skipped but counted).
    """
    path = Path(path)
    if not path.exists():
        raise ExportTableError.single(path, "file-exists", "the export file does not exist")
    if path.stat().st_size == 0:
        raise ExportTableError.single(path, "non-empty-file", "the export file is empty (0 bytes)")
    suffix = path.suffix.lower()
    merged: list[tuple[int, int, int, int]] = []
    if suffix in (".xlsx", ".xlsm"):
        rows, merged = _read_xlsx(path)
        used = "xlsx"
    elif suffix in (".csv", ".txt"):
        rows, used = _read_csv(path, encoding)
    else:
        raise ExportTableError.single(
            path, "known-format", f"unsupported export format {suffix!r}; use .csv or .xlsx"
        )
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(cell.strip() for cell in r)]
    if not numbered:
        raise ExportTableError.single(
            path, "non-empty-file", "the export holds no rows, only blank lines"
        )
    header_row, first = numbered[0]
    header = [cell.strip() for cell in first]
    if merged:
        raise ExportTableError(
            [_merged_violation(str(path), span, header) for span in sorted(merged)]
        )
    body = numbered[1:]
    if not body:
        raise ExportTableError.single(
            path,
            "has-respondents",
            "the export has a header but no responses",
            row=header_row,
        )
    return ExportTable(header=header, header_row=header_row, rows=body, encoding=used)


def _read_csv(path: Path, encoding: str) -> tuple[list[list[str]], str]:
    raw = path.read_bytes()
    if encoding == "auto":
        first_failure: UnicodeDecodeError | None = None
        for enc in ENCODINGS:
            try:
                text = raw.decode(enc)
            except UnicodeDecodeError as exc:
                first_failure = first_failure or exc
                continue
            return _parse_csv(path, text.removeprefix("\ufeff")), enc
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ExportTableError.single(
                path,
                "known-encoding",
                "the file is UTF-16 text (it starts with a UTF-16 byte-order mark, as Excel's "
                f"'Unicode text' writes), not {' or '.join(ENCODINGS)}: save the export as "
                "'CSV UTF-8 (comma delimited)' or download the platform's CSV again",
                row=1,
                row_kind="line",
            )
        at = first_failure.start if first_failure else 0
        line, column = _locate_byte(raw, at, "utf-8")
        raise ExportTableError.single(
            path,
            "known-encoding",
            f"the file is neither {' nor '.join(ENCODINGS)}: the UTF-8 "
            f"reading breaks at byte {at}, a file cut off mid-character or in another encoding",
            row=line,
            row_kind="line",
            column=column,
        )
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ExportTableError.single(
            path,
            "declared-encoding",
            f"unknown encoding {encoding!r}; use one of {(*ENCODINGS, 'auto')}",
        ) from None
    if raw.startswith(codecs.BOM_UTF8) and codecs.lookup(encoding).name != "utf-8":
        raise ExportTableError.single(
            path,
            "declared-encoding",
            f"the file starts with a UTF-8 byte-order mark, so it is UTF-8, but it is declared "
            f"{encoding}; set survey.encoding to utf-8-sig or 'auto'",
            row=1,
            row_kind="line",
        )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _locate_byte(raw, exc.start, encoding)
        raise ExportTableError.single(
            path,
            "declared-encoding",
            f"not valid {encoding} at byte {exc.start}; the file is declared {encoding}"
            f"{_reads_as(raw)}: set survey.encoding to the file's real encoding or 'auto'",
            row=line,
            row_kind="line",
            column=column,
        ) from None
    return _parse_csv(path, text.removeprefix("\ufeff")), encoding


def _reads_as(raw: bytes) -> str:
    """', but it reads as ENC' for the first automatic encoding that decodes the bytes."""
    for enc in ENCODINGS:
        try:
            raw.decode(enc)
        except UnicodeDecodeError:
            continue
        return f", but it reads as {enc}"
    return ""


def _locate_byte(raw: bytes, at: int, encoding: str) -> tuple[int, str]:
    """Line of byte `at`, and the column it falls in: '#k' in the header, else its header."""
    prefix = raw[:at].decode(encoding, errors="replace").removeprefix("\ufeff")
    line = prefix.count("\n") + 1
    records = list(csv.reader(io.StringIO(prefix, newline=""), strict=False))
    if not prefix or prefix.endswith(("\n", "\r")):
        records.append([""])
    field_index = max(len(records[-1]), 1)
    return line, _column_name(records[0] if len(records) > 1 else None, field_index)


def _column_name(header: list[str] | None, field_index: int) -> str:
    """The header of 1-based column `field_index`, or '#k' when it has none."""
    if header and field_index <= len(header) and header[field_index - 1].strip():
        return header[field_index - 1].strip()
    return f"#{field_index}"


def _parse_csv(path: Path, text: str) -> list[list[str]]:
    """CSV records; a quote left open or a stray quote is an error naming its line and column."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    start = 1  # line on which the record being read starts
    try:
        for row in reader:
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        lines = io.StringIO(text, newline="").readlines()
        rest = "".join(lines[start - 1 :])
        partial = next(csv.reader(io.StringIO(rest, newline=""), strict=False), [""])
        column = _column_name(rows[0] if rows else None, max(len(partial), 1))
        row = len(rows) + 1
        if "unexpected end of data" in str(exc):
            raise ExportTableError.single(
                path,
                "closed-quotes",
                f"a quoted cell of row {row} opens on this line and never closes: the file "
                "ends inside it, so it was cut off mid-row (or an opening quote is stray)",
                row=start,
                row_kind="line",
                column=column,
            ) from None
        raise ExportTableError.single(
            path,
            "csv-syntax",
            f"malformed CSV in row {row}: {exc} (a double quote inside a quoted cell "
            "must be doubled)",
            row=reader.line_num,
            row_kind="line",
            column=column,
        ) from None
    return rows


def _read_xlsx(path: Path) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """The first sheet's cells as text, and its merged ranges (row, column, row, column)."""
    from openpyxl import load_workbook

    try:
        # Not read-only: only a fully loaded sheet knows its merged cells.
        wb = load_workbook(path, data_only=True)
    except Exception as exc:
        raise ExportTableError.single(
            path, "readable-xlsx", f"cannot open as XLSX: {exc}"
        ) from None
    ws = wb.worksheets[0]
    rows = [
        ["" if v is None else _xlsx_text(v) for v in row] for row in ws.iter_rows(values_only=True)
    ]
    merged = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in ws.merged_cells.ranges]
    wb.close()
    # A sheet is as wide as its widest formatted cell: drop columns that are empty throughout.
    width = max((i + 1 for r in rows for i, v in enumerate(r) if v.strip()), default=0)
    return [r[:width] for r in rows], merged


def _merged_violation(file: str, span: tuple[int, int, int, int], header: list[str]) -> Violation:
    from openpyxl.utils import get_column_letter

    r1, c1, r2, c2 = span
    cells = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2}"
    return Violation(
        file,
        "no-merged-cells",
        f"cells {cells} are merged: a merged cell keeps its text in its first cell only, so "
        "the others would read as blank (unanswered); unmerge them and fill in every cell",
        row=r1,
        column=_column_name(header, c1),
    )


def _xlsx_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y/%m/%d %H:%M:%S")
    return str(value)


def data_source(export: Path) -> dict[str, Any]:
    """Whether the export is the project's synthetic file: its sidecar must describe these bytes."""
    sidecar = sidecar_path(export)
    digest = sha256_file(export)
    if not sidecar.exists():
        return {"synthetic": False, "export_sha256": digest}
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    if record.get("export_sha256") != digest:
        raise ExportError.single(
            sidecar,
            "sidecar-matches-export",
            "this synthetic-data sidecar describes another "
            f"file (sha256 {record.get('export_sha256')}, export has {digest}); regenerate the "
            "synthetic export, or delete the sidecar if the export holds real responses",
        )
    return record | {"export_sha256": digest}


def ingest_export(
    path: str | Path,
    codebook: Codebook,
    *,
    encoding: str = "auto",
    out_of_range: str = "missing",
) -> IngestResult:
    """Map an export through the codebook; raise ExportError listing every violation."""
    path = Path(path)
    if out_of_range not in OUT_OF_RANGE_POLICIES:
        raise ValueError(f"out_of_range must be one of {OUT_OF_RANGE_POLICIES}")
    table = read_export_table(path, encoding)
    header = table.header
    file = str(path)
    _check_header_row(table, codebook, path)
    problems: list[Violation] = []
    columns = _match_columns(table, codebook, file, problems)
    if problems:
        raise ExportTableError(problems)

    expected = _header_keys(codebook)
    quality: list[dict[str, Any]] = []
    redactions: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    answered: Counter[str] = Counter()
    numbers: dict[int, int] = {}
    last_row = table.rows[-1][0]
    for file_row, row in table.rows:
        if _header_score(row, expected) >= _enough(expected):
            problems.append(
                Violation(
                    file,
                    "header-once",
                    f"this row repeats the header of row {table.header_row} (a header pasted "
                    "twice, or two exports joined); an export has one header row",
                    row=file_row,
                )
            )
            continue
        if len(row) != len(header):
            hint = ""
            if len(row) > len(header):
                hint = ": an unquoted comma in an answer, or a row shifted to the right?"
            elif file_row == last_row:
                hint = ": it is the last row, so the file looks cut off mid-row"
            problems.append(
                Violation(
                    file,
                    "row-length",
                    f"has {len(row)} cells, the header {len(header)}{hint}",
                    row=file_row,
                )
            )
            continue
        record: dict[str, Any] = {"export_row": file_row}
        for var, idx in columns.items():
            cell = row[idx].strip()
            where = {"row": file_row, "column": header[idx], "value": cell}
            if var.role == "direct_identifier":
                continue
            if not _is_missing_marker(cell, codebook):
                answered[var.name] += 1
            if var.kind == "platform":
                value = _platform_value(var, cell, file, where, problems)
                if var.role == "submission_number" and value is not None:
                    if value in numbers:
                        problems.append(
                            Violation(
                                file,
                                "unique-submission-number",
                                f"submission number {value} is already used by row "
                                f"{numbers[value]}; every answer sheet has its own number "
                                "(a row copied, or two exports joined?)",
                                **where,
                            )
                        )
                    numbers.setdefault(value, file_row)
                record[var.name] = value
            elif var.kind == "free_text":
                text, found = redact("" if _is_missing_marker(cell, codebook) else cell)
                redactions.update(found)
                record[var.name] = text or None
            else:
                code, fill = _code(
                    var, cell, codebook, file, where, problems, out_of_range, quality
                )
                record[var.name] = code
                fill_var = next((o.fill_in for o in var.options if o.fill_in), None)
                if fill_var:
                    text, found = redact(fill or "")
                    redactions.update(found)
                    record[fill_var] = text or None
        records.append(record)
    if records:
        problems.extend(_unanswered_scales(codebook, answered, len(records), file))
    if problems:
        raise ExportTableError(problems)

    responses = pd.DataFrame.from_records(records)
    _validate_frame(responses, codebook, file)
    responses = _typed(responses, codebook)
    quality_log = pd.DataFrame(
        quality, columns=["row", "column", "variable", "value", "rule", "action"]
    )
    report = {
        "export_file": path.name,
        "encoding": table.encoding,
        "rows": len(responses),
        "columns": len(header),
        "direct_identifier_columns_dropped": sorted(
            v.name for v in codebook.direct_identifiers if v in columns
        ),
        "identifiers_redacted_in_free_text": dict(sorted(redactions.items())),
        "out_of_range_cells": int(sum(q["rule"] == "valid-range" for q in quality)),
        "out_of_range_policy": out_of_range,
    }
    return IngestResult(responses=responses, quality_log=quality_log, report=report)


def _header_keys(cb: Codebook) -> set[str]:
    return {_norm(v.header) for v in cb.export_variables}  # type: ignore[arg-type]


def _header_score(cells: list[str], expected: set[str]) -> int:
    """How many of the codebook's column headers a row holds."""
    return len({_norm(c) for c in cells} & expected)


def _enough(expected: set[str]) -> int:
    """A row holding at least half the codebook's headers is a header row."""
    return max(1, (len(expected) + 1) // 2)


def _check_header_row(table: ExportTable, cb: Codebook, path: Path) -> None:
    """The first row must be the question header; say plainly why it is not.

    A first row that matches few codebook headers is explained when the reason is clear: the
    file is not comma-separated, the header sits below title or group rows, or the header is
    missing and row 1 holds answers. Otherwise the column-by-column comparison with the
    codebook follows.
    """
    expected = _header_keys(cb)
    need = _enough(expected)
    header, row1 = table.header, table.header_row
    if _header_score(header, expected) >= need:
        return
    filled = [c for c in header if c]
    if len(filled) == 1 and len(expected) > 1:
        found = [d for d in DELIMITERS if d in filled[0]]
        if found:
            d = max(found, key=filled[0].count)
            raise ExportTableError.single(
                path,
                "comma-separated",
                f"the header row is a single column whose text is separated by "
                f"{DELIMITERS[d]}s ({filled[0][:40]!r}...): wrong delimiter? the export must be "
                f"comma-separated (the platform's CSV download); the codebook expects "
                f"{len(expected)} columns",
                row=row1,
            )
    for number, cells in table.rows[: HEADER_SEARCH_ROWS - 1]:
        if _header_score(cells, expected) >= need:
            above = [n for n, _ in [(row1, header), *table.rows] if n < number]
            shown = ", ".join(repr(c) for c in list(dict.fromkeys(filled))[:4])
            rows_above = (
                f"row {above[0]} above it ({shown}, ...) looks"
                if len(above) == 1
                else f"rows {', '.join(map(str, above))} above it ({shown}, ...) look"
            )
            raise ExportTableError.single(
                path,
                "header-in-first-row",
                f"the question header is on row {number}, not on the first row: {rows_above} "
                "like a title or group header; export with a single header row (as "
                "Wenjuanxing's download has it) or delete the rows above the header",
                row=row1,
            )
    if filled and sum(_looks_like_answer(c, cb) for c in filled) * 2 >= len(filled):
        shown = ", ".join(repr(c) for c in filled[:3])
        raise ExportTableError.single(
            path,
            "header-row-present",
            f"the first row holds answers ({shown}, ...), not the question header: the header "
            f"row is missing; the codebook expects a first row with its {len(expected)} column "
            "headers",
            row=row1,
        )


def _looks_like_answer(cell: str, cb: Codebook) -> bool:
    key = _norm(cell)
    if re.fullmatch(r"\d+(秒)?|\d{4}[/-]\d{1,2}[/-]\d{1,2}.*", key) or _is_missing_marker(cell, cb):
        return True
    return any(key in (_norm(o.zh), _norm(o.en)) for v in cb.variables for o in v.options)


def _unanswered_scales(
    cb: Codebook, answered: Counter[str], n_rows: int, file: str
) -> list[Violation]:
    """A construct whose every item is empty for every respondent cannot be scored."""
    problems = []
    for construct in cb.constructs:
        items = [cb.variable(name) for name in construct.items]
        if items and not any(answered[v.name] for v in items):
            question = items[0].question
            problems.append(
                Violation(
                    file,
                    "scale-answered",
                    f"all {len(items)} items of the {construct.id} scale (question {question}) "
                    f"are empty in every one of the {n_rows} responses: the scale cannot be "
                    "scored; was the question left out of the export?",
                    column=items[0].header,
                )
            )
    return problems


def _match_columns(
    table: ExportTable, cb: Codebook, file: str, problems: list[Violation]
) -> dict[Variable, int]:
    header, row = table.header, table.header_row
    seen: dict[str, int] = {}
    for idx, name in enumerate(header):
        key = _norm(name)
        if not key:
            problems.append(
                Violation(
                    file,
                    "named-column",
                    "column has an empty header",
                    row=row,
                    column=f"#{idx + 1}",
                )
            )
        elif key in seen:
            problems.append(
                Violation(
                    file,
                    "unique-column",
                    f"header repeats column #{seen[key] + 1}",
                    row=row,
                    column=name,
                )
            )
        else:
            seen[key] = idx
    known = {_norm(v.header): v for v in cb.export_variables}  # type: ignore[arg-type]
    columns: dict[Variable, int] = {}
    for key, idx in seen.items():
        var = known.get(key)
        if var is None:
            problems.append(
                Violation(
                    file,
                    "export-column-in-codebook",
                    f"this export column is not in the codebook {cb.path}",
                    row=row,
                    column=header[idx],
                )
            )
        else:
            columns[var] = idx
    for var in cb.export_variables:
        if var not in columns:
            problems.append(
                Violation(
                    file,
                    "codebook-column-in-export",
                    f"the codebook {cb.path} has {var.name} under this header, "
                    "but the export has no such column",
                    row=row,
                    column=var.header,
                )
            )
    return columns


def _is_missing_marker(cell: str, cb: Codebook) -> bool:
    return any(_norm(cell) == _norm(m.text) for m in cb.missing_markers)


def _platform_value(
    var: Variable, cell: str, file: str, where: dict[str, Any], problems: list[Violation]
) -> Any:
    if var.role == "submission_number":
        if not cell.isdigit():
            problems.append(
                Violation(
                    file,
                    "integer-submission-number",
                    "submission number must be a whole number",
                    **where,
                )
            )
            return None
        return int(cell)
    if var.role == "duration_seconds":
        text = cell.removesuffix(var.unit_suffix or "").strip()
        if not text.isdigit():
            problems.append(
                Violation(
                    file,
                    "numeric-duration",
                    "completion time must be whole "
                    f"seconds (optionally followed by {var.unit_suffix!r})",
                    **where,
                )
            )
            return None
        return int(text)
    if var.role == "submission_time":
        for fmt in TIME_FORMATS:
            try:
                return datetime.strptime(cell, fmt)
            except ValueError:
                continue
        problems.append(
            Violation(
                file, "valid-timestamp", "not a date and time such as 2016/3/7 9:05:01", **where
            )
        )
        return None
    return cell


def _code(
    var: Variable,
    cell: str,
    cb: Codebook,
    file: str,
    where: dict[str, Any],
    problems: list[Violation],
    out_of_range: str,
    quality: list[dict[str, Any]],
) -> tuple[int | None, str | None]:
    """Answer code of one cell, and the fill-in text of an 'other (please specify)' answer."""
    if _is_missing_marker(cell, cb) or (cell.lstrip("-").isdigit() and int(cell) in (-1, -2, -3)):
        return None, None
    key = _norm(cell)
    for opt in var.options:
        if key in (_norm(opt.zh), _norm(opt.en)):
            return opt.code, None
    left, right = cb.fill_in_brackets
    for opt in var.options:
        if (
            opt.fill_in
            and key.startswith(_norm(opt.zh) + _norm(left))
            and key.endswith(_norm(right))
        ):
            inner = cell.split(left, 1)[1].rsplit(right, 1)[0]
            return opt.code, inner.strip()
    if re.fullmatch(r"-?\d+", key):
        code = int(key)
        lo, hi = var.valid_range  # type: ignore[misc]
        if lo <= code <= hi:
            return code, None
        if out_of_range == "error":
            problems.append(
                Violation(
                    file,
                    "valid-range",
                    f"code outside the valid range {lo} to {hi} of {var.name}",
                    **where,
                )
            )
            return None, None
        quality.append(
            {
                "row": where["row"],
                "column": where["column"],
                "variable": var.name,
                "value": cell,
                "rule": "valid-range",
                "action": "set to missing",
            }
        )
        return None, None
    labels = " / ".join(o.zh for o in var.options)
    problems.append(
        Violation(
            file,
            "label-in-codebook",
            f"not an answer label of {var.name} ({labels}) nor a code",
            **where,
        )
    )
    return None, None


def response_schema(cb: Codebook) -> pa.DataFrameSchema:
    """The codebook as a pandera schema: a second, independent gate on the mapped responses."""
    columns: dict[str, pa.Column] = {
        "submission_no": pa.Column(int, pa.Check.ge(1), unique=True),
        "duration_s": pa.Column(int, pa.Check.ge(0)),
    }
    for var in cb.variables:
        if var.is_coded:
            codes = [o.code for o in var.options]
            columns[var.name] = pa.Column(float, pa.Check.isin(codes), nullable=True)
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _validate_frame(frame: pd.DataFrame, cb: Codebook, file: str) -> None:
    check = frame.copy()
    for var in cb.variables:
        if var.is_coded:
            check[var.name] = pd.to_numeric(check[var.name]).astype(float)
    try:
        response_schema(cb).validate(check, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems = []
        for case in exc.failure_cases.itertuples(index=False):
            idx = case.index
            row = int(frame.loc[idx, "export_row"]) if idx is not None and idx == idx else None
            problems.append(
                Violation(
                    file,
                    str(case.check),
                    "fails the codebook schema",
                    row=row,
                    column=str(case.column),
                    value=case.failure_case,
                )
            )
        raise ExportTableError(problems) from None


def _typed(frame: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    for var in cb.variables:
        if var.is_coded:
            frame[var.name] = pd.array(frame[var.name].tolist(), dtype="Int64")
        elif var.kind in ("free_text", "fill_in"):
            frame[var.name] = frame[var.name].astype("string")
    frame["source"] = frame["source"].astype("string")
    return frame


__all__ = [
    "ExportError",
    "ExportTable",
    "ExportTableError",
    "IngestResult",
    "InputError",
    "data_source",
    "ingest_export",
    "read_export_table",
]
