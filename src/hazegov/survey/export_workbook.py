"""One sheet of an XLSX export as text, refusing what openpyxl would read silently wrong.

openpyxl reads a workbook without complaint where the study would be misread: it hands back
the first sheet even when that one is hidden or the respondents go on on a second sheet, and
a formula cell whose result the file does not store (a workbook written by a script and never
opened in Excel) reads as empty, that is as an unanswered question. So a workbook with more
than one sheet holding cells must have the sheet named (`survey.sheet`), and a formula cell
without a stored result is an error naming the cell.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hazegov.errors import Violation
from hazegov.survey.input_files import MAX_CELL_CHARS, oversized_cell

# A formula element in a sheet's XML (<f>, <f t="shared" .../>, with or without a prefix).
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


@dataclass
class WorkbookSheet:
    """The sheet read: its cells as text, merged ranges (row, column, row, column), its name
    and the other sheets that hold cells, described (not read)."""

    rows: list[list[str]]
    merged: list[tuple[int, int, int, int]]
    name: str
    not_read: list[str] = field(default_factory=list)


def read_workbook_sheet(
    path: Path, sheet: str | None
) -> tuple[WorkbookSheet | None, list[Violation]]:
    """The export's sheet as text, or the violations that keep it from being read.

    Parameters
    ----------
    path
        An .xlsx or .xlsm file.
    sheet
        The sheet to read (`survey.sheet`); None reads the only sheet that holds cells.

    Returns
    -------
    tuple
        The sheet (None when there are violations) and the violations: `readable-xlsx`,
        `sheet-exists`, `named-sheet` (several sheets hold cells, or only a hidden one),
        `formula-cached-value`, `cell-size`.
    """
    from openpyxl import load_workbook

    file = str(path)
    try:
        # Not read-only: only a fully loaded sheet knows its merged cells.
        wb = load_workbook(path, data_only=True)
    except Exception as exc:
        return None, [Violation(file, "readable-xlsx", f"cannot open as XLSX: {exc}")]
    try:
        ws, problems = _choose_sheet(file, wb.worksheets, sheet)
        if ws is None:
            return None, problems
        values = [list(row) for row in ws.iter_rows(values_only=True)]
        merged = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in ws.merged_cells.ranges]
        others = [_describe(w) for w in wb.worksheets if w is not ws and _holds_cells(w)]
    finally:
        wb.close()
    problems = _formulas_without_results(path, ws.title, values)
    rows = [["" if v is None else _xlsx_text(v) for v in row] for row in values]
    # A sheet is as wide as its widest formatted cell: drop columns that are empty throughout.
    width = max((i + 1 for r in rows for i, v in enumerate(r) if v.strip()), default=0)
    rows = [r[:width] for r in rows]
    problems += _oversized_cells(file, rows)
    if problems:
        return None, problems
    return WorkbookSheet(rows, merged, ws.title, others), []


def _choose_sheet(file: str, sheets: list[Any], name: str | None) -> tuple[Any, list[Violation]]:
    """The sheet named, or the only one that holds cells if it is visible; else the error."""
    listing = "; ".join(_describe(w) for w in sheets)
    if name is not None:
        chosen = [w for w in sheets if w.title == name]
        if chosen:
            return chosen[0], []
        message = f"survey.sheet names the sheet {name!r}, which the workbook lacks; it has: "
        return None, [Violation(file, "sheet-exists", message + listing)]
    filled = [w for w in sheets if _holds_cells(w)]
    if len(sheets) == 1 or (len(filled) == 1 and filled[0].sheet_state == "visible"):
        return (filled or sheets)[0], []
    why = (
        "only a hidden sheet holds cells"
        if len(filled) == 1
        else f"{len(filled)} sheets hold cells (respondents split over sheets, or an old copy "
        "kept in the workbook?)"
    )
    return None, [
        Violation(
            file,
            "named-sheet",
            f"the workbook has {len(sheets)} sheets and {why}: {listing}. Reading the first "
            "would be a guess; set survey.sheet to the sheet that holds all the responses",
        )
    ]


def _holds_cells(ws: Any) -> bool:
    return any(
        v is not None and str(v).strip() for row in ws.iter_rows(values_only=True) for v in row
    )


def _describe(ws: Any) -> str:
    state = "" if ws.sheet_state == "visible" else f"{ws.sheet_state}, "
    size = f"{ws.max_row} rows" if _holds_cells(ws) else "empty"
    return f"{ws.title!r} ({state}{size})"


def _formulas_without_results(path: Path, title: str, values: list[list[Any]]) -> list[Violation]:
    """Formula cells of the sheet whose result the file does not store (read as None).

    The sheets' XML is searched for a formula first; only a workbook that has one is loaded a
    second time, with formulas, to find which cells they are.
    """
    with zipfile.ZipFile(path) as archive:
        parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        if not any(_FORMULA.search(archive.read(n)) for n in parts if n.endswith(".xml")):
            return []
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(path, read_only=True)
    try:
        found = []
        header = [str(v).strip() if v is not None else "" for v in (values[0] if values else [])]
        for r, row in enumerate(wb[title].iter_rows(), start=1):
            for c, cell in enumerate(row, start=1):
                if cell.data_type != "f" or _cached(values, r, c) is not None:
                    continue
                column = header[c - 1] if r > 1 and c <= len(header) and header[c - 1] else None
                found.append(
                    Violation(
                        str(path),
                        "formula-cached-value",
                        f"cell {get_column_letter(c)}{r} holds the formula {cell.value} but no "
                        "stored result (the workbook was written by a program and never "
                        "recalculated), so it would read as empty; open and save it in Excel, or "
                        "paste the values in place of the formulas",
                        row=r,
                        column=column or f"#{c}",
                    )
                )
        return found
    finally:
        wb.close()


def _cached(values: list[list[Any]], row: int, column: int) -> Any:
    if row > len(values) or column > len(values[row - 1]):
        return None
    return values[row - 1][column - 1]


def _oversized_cells(file: str, rows: list[list[str]]) -> list[Violation]:
    header = rows[0] if rows else []
    found = []
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            if len(text) > MAX_CELL_CHARS:
                column = header[c - 1].strip() if r > 1 and header[c - 1].strip() else f"#{c}"
                found.append(oversized_cell(file, r, column, len(text)))
    return found


def _xlsx_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y/%m/%d %H:%M:%S")
    return str(value)
