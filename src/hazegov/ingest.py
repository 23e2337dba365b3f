"""Read a survey-platform export, map it through the codebook, validate and de-identify it.

Anything the codebook forbids stops the run with every violation listed by file, row, column,
value and rule. Direct identifiers never leave this module: identifier columns are not read into
the result, and free text is redacted before it is returned.
"""

from __future__ import annotations

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
HEADER_ROW = 1  # file row of the header; respondent k sits on file row k + 1


@dataclass
class IngestResult:
    """The de-identified, codebook-mapped responses and what was done to get them."""

    responses: pd.DataFrame
    quality_log: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def _norm(text: str) -> str:
    """Compare labels and headers as a person would: width-, space- and tilde-insensitive."""
    text = unicodedata.normalize("NFKC", str(text)).replace("～", "~").replace("〜", "~")
    return re.sub(r"\s+", "", text)


def read_export_table(
    path: str | Path, encoding: str = "auto"
) -> tuple[list[str], list[list[str]], str]:
    """Header and rows of a CSV (UTF-8 with or without BOM, GB18030) or XLSX export, as text."""
    path = Path(path)
    if not path.exists():
        raise ExportError.single(path, "file-exists", "the export file does not exist")
    if path.stat().st_size == 0:
        raise ExportError.single(path, "non-empty-file", "the export file is empty")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows, used = _read_xlsx(path), "xlsx"
    elif suffix in (".csv", ".txt"):
        rows, used = _read_csv(path, encoding)
    else:
        raise ExportError.single(
            path, "known-format", f"unsupported export format {suffix!r}; use .csv or .xlsx"
        )
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ExportError.single(path, "non-empty-file", "the export holds no rows")
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    if not body:
        raise ExportError.single(
            path, "has-respondents", "the export has a header but no responses"
        )
    return header, body, used


def _read_csv(path: Path, encoding: str) -> tuple[list[list[str]], str]:
    raw = path.read_bytes()
    candidates = ENCODINGS if encoding == "auto" else (encoding,)
    first_failure: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as exc:
            first_failure = first_failure or exc
            if encoding != "auto":
                raise ExportError.single(
                    path,
                    "declared-encoding",
                    f"not valid {enc} at byte {exc.start}; "
                    "set survey.encoding to the file's real encoding or 'auto'",
                    row=raw.count(b"\n", 0, exc.start) + 1,
                ) from None
            continue
        try:
            return list(csv.reader(io.StringIO(text, newline=""), strict=True)), enc
        except csv.Error as exc:
            raise ExportError.single(path, "csv-syntax", f"malformed CSV: {exc}") from None
    at = first_failure.start if first_failure else 0
    raise ExportError.single(
        path,
        "known-encoding",
        f"the file is neither {' nor '.join(ENCODINGS)}: the UTF-8 "
        f"reading breaks at byte {at}, a file cut off mid-character or in another encoding",
        row=raw.count(b"\n", 0, at) + 1,
    )


def _read_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ExportError.single(path, "readable-xlsx", f"cannot open as XLSX: {exc}") from None
    ws = wb.worksheets[0]
    rows = [
        ["" if v is None else _xlsx_text(v) for v in row] for row in ws.iter_rows(values_only=True)
    ]
    wb.close()
    return rows


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
    header, rows, used_encoding = read_export_table(path, encoding)
    file = str(path)
    problems: list[Violation] = []
    columns = _match_columns(header, codebook, file, problems)
    if problems:
        raise ExportError(problems)

    quality: list[dict[str, Any]] = []
    redactions: Counter[str] = Counter()
    records: list[dict[str, Any]] = []
    for k, row in enumerate(rows):
        file_row = HEADER_ROW + 1 + k
        if len(row) != len(header):
            problems.append(
                Violation(
                    file,
                    "row-length",
                    f"has {len(row)} cells, the header {len(header)}",
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
            if var.kind == "platform":
                record[var.name] = _platform_value(var, cell, file, where, problems)
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
    if problems:
        raise ExportError(problems)

    responses = pd.DataFrame.from_records(records)
    _validate_frame(responses, codebook, file)
    responses = _typed(responses, codebook)
    quality_log = pd.DataFrame(
        quality, columns=["row", "column", "variable", "value", "rule", "action"]
    )
    report = {
        "export_file": path.name,
        "encoding": used_encoding,
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


def _match_columns(
    header: list[str], cb: Codebook, file: str, problems: list[Violation]
) -> dict[Variable, int]:
    seen: dict[str, int] = {}
    for idx, name in enumerate(header):
        key = _norm(name)
        if not key:
            problems.append(
                Violation(
                    file,
                    "named-column",
                    "column has an empty header",
                    row=HEADER_ROW,
                    column=f"#{idx + 1}",
                )
            )
        elif key in seen:
            problems.append(
                Violation(
                    file,
                    "unique-column",
                    f"header repeats column #{seen[key] + 1}",
                    row=HEADER_ROW,
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
                    "this export column is not in the codebook",
                    row=HEADER_ROW,
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
                    f"the codebook's {var.name} is missing from the export",
                    row=HEADER_ROW,
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
        raise ExportError(problems) from None


def _typed(frame: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    for var in cb.variables:
        if var.is_coded:
            frame[var.name] = pd.array(frame[var.name].tolist(), dtype="Int64")
        elif var.kind in ("free_text", "fill_in"):
            frame[var.name] = frame[var.name].astype("string")
    frame["source"] = frame["source"].astype("string")
    return frame


__all__ = ["ExportError", "IngestResult", "InputError", "data_source", "ingest_export"]
