"""Read a survey-platform export, map it through the codebook, validate and de-identify it.

Anything the codebook forbids stops the run with every violation listed by file, row, column,
value and rule. Direct identifiers never leave this module: identifier columns are not read into
the result, and free text (the codebook's free-text questions, the fill-ins of "other" options and
the channel column) is redacted and then kept apart from the responses (`IngestResult.free_text`,
written to one restricted file): the responses hold, per free-text column, only which of its
distinct texts a row gave, so that duplicate submissions can still be recognised. Error messages
name the export by its path relative to the project (`privacy.export_label`) and quote at most
the first characters of a free-text cell, identifiers masked (`privacy.quote_cell`).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from hazegov.errors import ExportError, InputError, Violation
from hazegov.privacy.identifiers import DEFAULT_LOCALES, export_label, quote_cell, redact, rules_for
from hazegov.survey import display
from hazegov.survey.codebook import Codebook, MissingMarker, Variable
from hazegov.survey.export_encoding import FIRST_LINE_BYTES, TRIED, likely_encoding
from hazegov.survey.export_workbook import WorkbookSheet, read_workbook_sheet
from hazegov.survey.input_files import MAX_CELL_CHARS, input_path_problem, oversized_cell
from hazegov.survey.synthetic import sha256_file, sidecar_path

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
# The data-quality log: a cell the ingest set to missing or found wrong, one entry per cell
# (row given), or a count of a column's cells declared missing (`cells`, row empty).
QUALITY_LOG_COLUMNS = ("row", "column", "variable", "value", "rule", "action", "reason", "cells")


class ExportTableError(ExportError):
    """An ExportError whose message ends by saying how its rows and lines are counted."""

    def __init__(self, violations: list[Violation], limit: int = 50) -> None:
        super().__init__(violations, limit)
        if any(v.row is not None for v in violations):
            self.args = (f"{self.args[0]}\n  ({ROW_NUMBERING})",)


@dataclass
class IngestResult:
    """The de-identified, codebook-mapped responses and what was done to get them.

    `free_text` is the quarantine: `export_row` and the redacted text of every free-text
    column (`quarantined_columns`), to be written only to the restricted file. In `responses`
    those columns hold text classes instead (`text_classes`).
    """

    responses: pd.DataFrame
    quality_log: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)
    free_text: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class ExportTable:
    """An export as text: its header, and every non-blank row below it with its row number."""

    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]
    encoding: str
    # the platform's footer row below the responses (row, text), which is not a response
    footer: tuple[int, str] | None = None


_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=16384)
def _norm(text: str) -> str:
    """Compare labels and headers as a person would: width-, space- and tilde-insensitive.

    Cached: the same labels, markers and headers are compared for every column read.
    """
    text = unicodedata.normalize("NFKC", str(text)).replace("～", "~").replace("〜", "~")
    return _SPACES.sub("", text)


def read_export_table(
    path: str | Path, encoding: str = "auto", sheet: str | None = None
) -> ExportTable:
    """Header and rows of a CSV (UTF-8 with or without BOM, GB18030) or XLSX export, as text.

    Rows keep the number a spreadsheet shows them under (blank rows are skipped but counted).
    `sheet` names the sheet of a workbook (needed when more than one holds cells).
    """
    path = Path(path)
    suffix = _check_export_file(path, sheet)
    if suffix == "xlsx":
        book = _read_xlsx(path, sheet)
        return _export_table(path, book.rows, "xlsx", book.merged)
    text, used = _decode_csv(path, encoding)
    return _export_table(path, _parse_csv(path, text), used, [])


def _check_export_file(path: Path, sheet: str | None = None) -> str:
    """'csv' or 'xlsx' for an export file that exists and holds bytes; else the error.

    The path is checked before any byte is read (`input_path_problem`): a directory, a pipe,
    a device or a link out of the project is refused without showing what it leads to.
    """
    problem = input_path_problem(path, "the export file")
    if problem is not None:
        raise ExportTableError.single(path, *problem)
    if path.stat().st_size == 0:
        raise ExportTableError.single(path, "non-empty-file", "the export file is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt"):
        if sheet is not None:
            raise ExportTableError.single(
                path,
                "sheet-for-workbook",
                f"survey.sheet is set ({sheet!r}) but the export is a CSV file, which has no "
                "sheets; remove survey.sheet, or point survey.export at the workbook",
            )
        return "csv"
    raise ExportTableError.single(
        path, "known-format", f"unsupported export format {suffix!r}; use .csv or .xlsx"
    )


def _export_table(
    path: Path, rows: list[list[str]], used: str, merged: list[tuple[int, int, int, int]]
) -> ExportTable:
    """The header (the first non-blank row) and the non-blank rows below it, numbered."""
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(cell.strip() for cell in r)]
    if not numbered:
        raise _no_rows(path)
    header_row, first = numbered[0]
    header = [cell.strip() for cell in first]
    if merged:
        raise ExportTableError(
            [_merged_violation(str(path), span, header) for span in sorted(merged)]
        )
    body = numbered[1:]
    footer = _footer(*body[-1]) if body else None
    if footer is not None:
        body = body[:-1]
    if not body:
        raise _no_respondents(path, header_row)
    return ExportTable(header, header_row, body, used, footer)


# The footer row some platform downloads end with, "共8条数据" ("8 records in all"), its only
# filled cell; compared as `_norm` gives it.
_FOOTER = re.compile(r"共(\d+)(?:条|份|个)(?:数据|记录|答卷)?")


def _footer(row: int, cells: list[str]) -> tuple[int, str] | None:
    """(row, text) when the row is a platform footer row; else None."""
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) == 1 and _FOOTER.fullmatch(_norm(filled[0])):
        return row, filled[0]
    return None


def _footer_count(footer: tuple[int, str]) -> int:
    match = _FOOTER.fullmatch(_norm(footer[1]))
    assert match is not None
    return int(match[1])


def _no_rows(path: Path) -> ExportTableError:
    return ExportTableError.single(
        path, "non-empty-file", "the export holds no rows, only blank lines"
    )


def _no_respondents(path: Path, header_row: int) -> ExportTableError:
    return ExportTableError.single(
        path,
        "has-respondents",
        "the export has a header but no responses",
        row=header_row,
    )


def _decode_csv(
    path: Path, encoding: str, header_chars: frozenset[str] = frozenset()
) -> tuple[str, str]:
    """The text of a CSV export (byte-order mark removed) and the encoding it was read in.

    `header_chars`, the characters of the codebook's headers, lets an error name the encoding
    the file is likely in (hazegov.survey.export_encoding).
    """
    raw = path.read_bytes()
    if encoding == "auto":
        first_failure: UnicodeDecodeError | None = None
        for enc in ENCODINGS:
            try:
                text = raw.decode(enc)
            except UnicodeDecodeError as exc:
                first_failure = first_failure or exc
                continue
            return text.removeprefix("\ufeff"), enc
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
        likely = likely_encoding(raw, header_chars, None)
        guess = f"; it looks like {likely.name}: {likely.advice}" if likely else ""
        raise ExportTableError.single(
            path,
            "known-encoding",
            f"the file is neither {' nor '.join(ENCODINGS)}: the UTF-8 "
            f"reading breaks at byte {at}, a file cut off mid-character or in another encoding "
            f"(tried {TRIED}){guess}",
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
            f"{_reads_as(raw, header_chars)}",
            row=line,
            row_kind="line",
            column=column,
        ) from None
    return text.removeprefix("\ufeff"), encoding


def _reads_as(raw: bytes, header_chars: frozenset[str]) -> str:
    """What the file is instead, and what to do: ', but it reads as ENC: ...' for the first
    automatic encoding that decodes it, unless the header reads in another encoding (Big5,
    UTF-16, UTF-8 encoded twice: hazegov.survey.export_encoding), named instead."""
    advice = ": set survey.encoding to the file's real encoding or 'auto'"
    likely = likely_encoding(raw, header_chars, None)
    if likely is not None and likely.name not in ("UTF-8", "GB18030"):
        return f", but it looks like {likely.name} (tried {TRIED}): {likely.advice}"
    for enc in ENCODINGS:
        try:
            raw.decode(enc)
        except UnicodeDecodeError:
            continue
        return f", but it reads as {enc}{advice}"
    return advice


def _locate_byte(raw: bytes, at: int, encoding: str) -> tuple[int, str]:
    """Line of byte `at`, and the column it falls in: '#k' in the header, else its header."""
    prefix = raw[:at].decode(encoding, errors="replace").removeprefix("\ufeff")
    line = prefix.count("\n") + 1
    records = _loose_records(prefix)
    if prefix and not records:  # the csv module stopped at once (a cell past its size limit)
        return line, "#?"
    if not prefix or prefix.endswith(("\n", "\r")):
        records.append([""])
    field_index = max(len(records[-1]), 1)
    return line, _column_name(records[0] if len(records) > 1 else None, field_index)


def _loose_records(text: str, first_only: bool = False) -> list[list[str]]:
    """CSV records as csv.reader(strict=False) reads them, up to where it gives up.

    Used only in error handlers, to say where in the file a problem is: a cell past the csv
    module's own size limit stops it there, and must not raise a second error from inside the
    handler of the first.
    """
    records: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), strict=False):
            records.append(record)
            if first_only:
                break
    except csv.Error:
        pass
    return records


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
        if "field larger than field limit" in str(exc):
            raise ExportTableError([_overlong_record(path, rest, start, rows)]) from None
        partial = (_loose_records(rest, first_only=True) or [[""]])[0]
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
    _check_cell_sizes(path, rows)
    return rows


def _check_cell_sizes(path: Path, rows: list[list[str]]) -> None:
    """Cells longer than MAX_CELL_CHARS, by row (a sheet row: CSV record k is row k)."""
    problems = [
        oversized_cell(str(path), n, _column_name(rows[0] if n > 1 else None, j + 1), len(cell))
        for n, row in enumerate(rows, start=1)
        if max(map(len, row), default=0) > MAX_CELL_CHARS
        for j, cell in enumerate(row)
        if len(cell) > MAX_CELL_CHARS
    ]
    if problems:
        raise ExportTableError(problems)


# One CSV field at the start of a string: quoted (quotes inside doubled), or unquoted.
_CSV_FIELD = re.compile(r'"[^"]*(?:""[^"]*)*"|[^,\r\n"]*')


def _overlong_record(path: Path, rest: str, line: int, rows: list[list[str]]) -> Violation:
    """The csv module's own limit broken by the record starting `rest` (on line `line`): the
    cell over MAX_CELL_CHARS, found field by field without the csv module."""
    position, index = 0, 1
    while True:
        field = _CSV_FIELD.match(rest, position)
        assert field is not None  # the unquoted alternative matches the empty string
        if field.end() - field.start() > MAX_CELL_CHARS:
            column = _column_name(rows[0] if rows else None, index)
            length = field.end() - field.start()
            if rest.startswith('"', field.start()):  # the text inside the quotes, undoubled
                length -= 2 + rest.count('""', field.start() + 1, field.end() - 1)
            violation = oversized_cell(str(path), line, column, length)
            break
        position = field.end()
        if position >= len(rest) or rest[position] != ",":
            # a quote never closed runs the rest of the file into one cell
            violation = oversized_cell(str(path), line, _column_name(None, index), None)
            break
        position, index = position + 1, index + 1
    return replace(violation, row_kind="line")


def _read_xlsx(path: Path, sheet: str | None) -> WorkbookSheet:
    """The sheet's cells as text and its merged ranges; see hazegov.survey.export_workbook."""
    book, problems = read_workbook_sheet(path, sheet)
    if book is None:
        raise ExportTableError(problems)
    return book


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


@dataclass
class _Sheet:
    """An export as columns of text: each column is read once, as its distinct cell texts.

    `rows` numbers the body rows as wide as the header (sheet rows, as in ExportTable);
    `column(j)` gives, for those rows, each row's index into the list of column j's distinct
    raw texts. Rows of another width are kept whole in `odd`, the first body rows of any width
    in `head` (what `_check_header_row` looks at).
    """

    header: list[str]
    header_row: int
    encoding: str
    rows: np.ndarray
    odd: list[tuple[int, list[str]]]
    head: list[tuple[int, list[str]]]
    last_row: int
    encode: Callable[[int], tuple[np.ndarray, list[str]]]
    workbook: WorkbookSheet | None = None
    footer: tuple[int, str] | None = None
    _columns: dict[int, tuple[np.ndarray, list[str]]] = field(default_factory=dict)

    def column(self, j: int) -> tuple[np.ndarray, list[str]]:
        if j not in self._columns:
            self._columns[j] = self.encode(j)
        return self._columns[j]

    def table_head(self) -> ExportTable:
        return ExportTable(self.header, self.header_row, self.head, self.encoding)

    def below(self, row: int) -> _Sheet:
        """The sheet without its body rows up to `row` (header rows a platform adds)."""
        keep = self.rows > row
        encode = self.encode
        return replace(
            self,
            rows=self.rows[keep],
            odd=[(n, cells) for n, cells in self.odd if n > row],
            head=[(n, cells) for n, cells in self.head if n > row],
            encode=lambda j: (encode(j)[0][keep], encode(j)[1]),
            _columns={},
        )


def _read_sheet(
    path: Path, encoding: str, sheet_name: str | None, header_chars: frozenset[str] = frozenset()
) -> _Sheet:
    """The export as columns; the same errors as `read_export_table`, in the same order."""
    if _check_export_file(path, sheet_name) == "xlsx":
        book = _read_xlsx(path, sheet_name)
        read = _rows_sheet(_export_table(path, book.rows, "xlsx", book.merged))
        read.workbook = book
        return read
    text, used = _decode_csv(path, encoding, header_chars)
    sheet = _arrow_sheet(path, text, used)
    if sheet is None:
        sheet = _rows_sheet(_export_table(path, _parse_csv(path, text), used, []))
    return sheet


def _rows_sheet(table: ExportTable) -> _Sheet:
    width = len(table.header)
    full = [cells for _, cells in table.rows if len(cells) == width]

    def encode(j: int) -> tuple[np.ndarray, list[str]]:
        codes, values = pd.factorize(np.array([cells[j] for cells in full], dtype=object))
        return codes, list(values)

    return _Sheet(
        header=table.header,
        header_row=table.header_row,
        encoding=table.encoding,
        rows=np.array([n for n, cells in table.rows if len(cells) == width], dtype=np.int64),
        odd=[(n, cells) for n, cells in table.rows if len(cells) != width],
        head=table.rows[: HEADER_SEARCH_ROWS - 1],
        last_row=table.rows[-1][0],
        encode=encode,
        footer=table.footer,
    )


def _strict_quotes(text: str) -> bool:
    """Whether csv.reader(strict=True) accepts every double quote in `text`.

    A quote opening a field must close it: the closing quote (not one of a doubled pair) is
    followed by a comma, a line break or the end of the text. A quote inside an unquoted field
    is text.
    """
    end = len(text)
    pos = text.find('"')
    while pos >= 0:
        if pos > 0 and text[pos - 1] not in ",\r\n":
            pos = text.find('"', pos + 1)
            continue
        close = text.find('"', pos + 1)
        while close >= 0 and close + 1 < end and text[close + 1] == '"':
            close = text.find('"', close + 2)
        if close < 0 or (close + 1 < end and text[close + 1] not in ",\r\n"):
            return False
        pos = text.find('"', close + 1)
    return True


def _arrow_sheet(path: Path, text: str, encoding: str) -> _Sheet | None:
    """The CSV read by Arrow's reader, or None where it might not read as the csv module does.

    Used only when the records are bound to be the csv module's: no NUL, every quote one that
    csv.reader(strict=True) accepts, every record as wide as the first (Arrow refuses others),
    every cell shorter than csv's field size limit. A cell over MAX_CELL_CHARS is an error
    here, naming its row and column. A blank line, which the csv module reads
    as an empty record, Arrow reads as a row of empty cells: blank either way, and counted.
    Anything else goes to the csv module, whose errors name the line.
    """
    import pyarrow
    from pyarrow import compute as pc
    from pyarrow import csv as arrow_csv

    if "\0" in text or not _strict_quotes(text):
        return None
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), strict=True), [])
    except csv.Error:
        return None
    if not first:
        return None
    try:
        table = arrow_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=arrow_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=arrow_csv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, double_quote=True
            ),
            convert_options=arrow_csv.ConvertOptions(
                column_types={f"f{j}": pyarrow.string() for j in range(len(first))},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pyarrow.ArrowException:
        return None
    if table.num_columns != len(first):
        return None
    longest = _longest_cells(table)
    if max(longest, default=0) > MAX_CELL_CHARS:
        raise ExportTableError(_oversized_arrow_cells(path, table, first, longest))
    if max(longest, default=0) >= csv.field_size_limit() - 1:
        return None
    encoded: dict[int, tuple[np.ndarray, list[str]]] = {}

    def all_rows(j: int) -> tuple[np.ndarray, list[str]]:
        if j not in encoded:
            array = pc.dictionary_encode(table.column(j).combine_chunks())
            codes = array.indices.to_numpy(zero_copy_only=False).astype(np.intp)
            encoded[j] = (codes, array.dictionary.to_pylist())
        return encoded[j]

    filled = np.flatnonzero(~_blank_rows(table.num_rows, table.num_columns, all_rows))
    if not len(filled):
        raise _no_rows(path)
    header = [cell.strip() for cell in _arrow_rows(table, filled[:1])[0]]
    body = filled[1:]
    footer = _footer(int(body[-1]) + 1, _arrow_rows(table, body[-1:])[0]) if len(body) else None
    if footer is not None:
        body = body[:-1]
    if not len(body):
        raise _no_respondents(path, int(filled[0]) + 1)
    head = body[: HEADER_SEARCH_ROWS - 1]
    return _Sheet(
        header=header,
        header_row=int(filled[0]) + 1,
        encoding=encoding,
        rows=body + 1,
        odd=[],
        head=[(int(i) + 1, cells) for i, cells in zip(head, _arrow_rows(table, head), strict=True)],
        last_row=int(body[-1]) + 1,
        encode=lambda j: (all_rows(j)[0][body], all_rows(j)[1]),
        footer=footer,
    )


def _longest_cells(table: Any) -> list[int]:
    """Each column's longest cell, in characters, for the limits `_arrow_sheet` checks.

    All the columns are measured in one pass first: when no cell reaches MAX_CELL_CHARS or
    csv's field size limit, the longest of all stands for every column (those limits are all
    it is compared with), and the columns are not measured one by one.
    """
    import pyarrow
    from pyarrow import compute as pc

    chunks = [chunk for column in table.columns for chunk in column.chunks]
    every = pyarrow.chunked_array(chunks, type=pyarrow.string())
    top = pc.max(pc.utf8_length(every)).as_py() or 0
    if top < min(MAX_CELL_CHARS + 1, csv.field_size_limit() - 1):
        return [top] * table.num_columns
    return [pc.max(pc.utf8_length(c)).as_py() or 0 for c in table.columns]


def _blank_rows(
    n_rows: int, n_columns: int, column: Callable[[int], tuple[np.ndarray, list[str]]]
) -> np.ndarray:
    """Which rows are blank in every column (`column(j)`: row codes into distinct texts)."""
    blank = np.ones(n_rows, dtype=bool)
    for j in range(n_columns):
        codes, values = column(j)
        empty = np.array([not v.strip() for v in values], dtype=bool)
        blank &= empty[codes]
        if not blank.any():
            break
    return blank


def _oversized_arrow_cells(
    path: Path, table: Any, first: list[str], longest: list[int]
) -> list[Violation]:
    """Cells over MAX_CELL_CHARS of the columns whose longest cell is, row by row."""
    from pyarrow import compute as pc

    found = []
    for j in (j for j, n in enumerate(longest) if n > MAX_CELL_CHARS):
        lengths = pc.utf8_length(table.column(j)).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(lengths > MAX_CELL_CHARS):
            column = _column_name(first if i > 0 else None, j + 1)
            found.append(
                (int(i), j, oversized_cell(str(path), int(i) + 1, column, int(lengths[i])))
            )
    return [v for _, _, v in sorted(found, key=lambda item: item[:2])]


def _arrow_rows(table: Any, indices: np.ndarray) -> list[list[str]]:
    part = table.take(indices)
    return [list(row) for row in zip(*part.to_pydict().values(), strict=True)]


def data_source(export: Path) -> dict[str, Any]:
    """Whether the export is the project's synthetic file: its sidecar must describe these bytes."""
    _check_export_file(export)  # before hashing: a pipe would block, a directory raise
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
    # the sidecar names the export; a name that names a person is not carried into outputs
    named = {"export_file": export_label(record["export_file"])} if "export_file" in record else {}
    return record | named | {"export_sha256": digest}


def ingest_export(
    path: str | Path,
    codebook: Codebook,
    *,
    encoding: str = "auto",
    out_of_range: str = "missing",
    sheet_name: str | None = None,
    locales: Iterable[str] = DEFAULT_LOCALES,
) -> IngestResult:
    """Map an export through the codebook; raise ExportError listing every violation.

    The export is read column by column: each column's distinct texts are stripped, matched
    to the codebook and redacted once, and every row takes the result of its text. Violations
    are listed in row order, and within a row in column order.

    Parameters
    ----------
    path
        The export: CSV (UTF-8 with or without byte-order mark, or GB18030) or XLSX.
    codebook
        The codebook the export's columns and answer labels are checked against.
    encoding
        The CSV's encoding, or "auto" to try UTF-8, then GB18030.
    out_of_range
        What a numeric code outside an item's valid range does: "missing" logs the cell in
        the data-quality log and sets it to missing; "error" stops the run.
    sheet_name
        The sheet of an XLSX export to read (`survey.sheet`); needed when more than one sheet
        holds cells. The report names the sheet read and the other sheets that hold cells.
    locales
        The identifier pattern sets free text is redacted with (`privacy.identifier_locales`;
        keys of `hazegov.privacy.identifiers.LOCALES`); the report names them.

    Returns
    -------
    IngestResult
        The de-identified, codebook-mapped responses (one row per submission, `export_row`
        giving its row in the export), the data-quality log and the ingest report.

    Raises
    ------
    ExportError
        Listing every violation by file, row, column, value and rule.
    """
    path = Path(path)
    locales = tuple(locales)
    rules_for(locales)  # an unknown locale is refused before the export is read
    if out_of_range not in OUT_OF_RANGE_POLICIES:
        raise ValueError(f"out_of_range must be one of {OUT_OF_RANGE_POLICIES}")
    sheet = _read_sheet(path, encoding, sheet_name, _header_chars(codebook))
    header = sheet.header
    file = export_label(path)
    _check_header_encoding(path, sheet, codebook, encoding)
    _check_header_row(sheet.table_head(), codebook, path)
    sheet, header_rows = _platform_header_rows(sheet, codebook, file)
    problems: list[Violation] = []
    ignored: Counter[str] = Counter()
    columns = _match_columns(sheet.table_head(), codebook, file, problems, ignored)
    if problems:
        raise ExportTableError(problems)

    # Violations with the row and the column position they are listed under (-1: whole row).
    found: list[tuple[int, int, Violation]] = []
    keep = ~_structure_problems(sheet, codebook, file, found)
    rows = sheet.rows[keep]
    read = _read_answers(sheet, header, columns, keep, codebook, file, found, out_of_range, locales)
    other, coded, order, quality = read.other, read.coded, read.order, read.quality
    redactions, missing_cells = read.redactions, read.missing_cells
    tail = _unanswered_scales(codebook, read.answered, len(rows), file) if len(rows) else []
    found.sort(key=lambda item: item[:2])
    problems = [v for _, _, v in found] + tail
    if problems:
        raise ExportTableError(problems)

    if read.displayed:
        counted = _not_shown(read.displayed, coded, other, codebook)
        missing_cells = [
            entry
            for slot in missing_cells
            for entry in (counted[slot["shown_if"]] if "shown_if" in slot else [slot])
        ]
    inferred = pd.DataFrame.from_records(list(zip(*other.values(), strict=True)), columns=other)
    responses = pd.DataFrame(
        {name: coded[name] if name in coded else inferred.get(name) for name in order}
    )
    _validate_frame(responses, codebook, file)
    responses, free_text = _quarantine(_typed(responses, codebook), codebook)
    quality.sort(key=lambda item: item[:2])
    quality_log = pd.DataFrame(
        [q for _, _, q in quality] + missing_cells, columns=list(QUALITY_LOG_COLUMNS)
    )
    quality_log["row"] = quality_log["row"].astype("Int64")
    quality_log["cells"] = quality_log["cells"].astype(np.int64)
    report = _ingest_report(
        sheet,
        codebook,
        columns,
        header_columns=len(header),
        rows=len(responses),
        redactions=redactions,
        out_of_range=(len(quality), out_of_range),
        quality_log=quality_log,
        header_rows=header_rows,
        ignored=ignored,
        file=file,
    )
    return IngestResult(responses, quality_log, report, free_text)


@dataclass
class _ColumnsRead:
    """What `_read_answers` gathers from the export's columns, in the export's column order."""

    other: dict[str, list[Any]]  # per row: export row, platform columns, redacted free text
    coded: dict[str, pd.arrays.IntegerArray] = field(default_factory=dict)
    order: list[str] = field(default_factory=lambda: ["export_row"])
    # the data-quality log's entries: out-of-range cells (row, column position, entry) and
    # declared-missing counts ({"shown_if": name} holds the place of a displayed item's)
    quality: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    missing_cells: list[dict[str, Any]] = field(default_factory=list)
    redactions: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)  # answered cells per scale item
    displayed: list[tuple[Variable, str, list[MissingMarker | None], np.ndarray]] = field(
        default_factory=list
    )


def _read_answers(
    sheet: _Sheet,
    header: list[str],
    columns: Mapping[Variable, int],
    keep: np.ndarray,
    codebook: Codebook,
    file: str,
    found: list[tuple[int, int, Violation]],
    out_of_range: str,
    locales: tuple[str, ...],
) -> _ColumnsRead:
    """Each matched column of the `keep` rows coded, counted or redacted as its variable
    says; violations go to `found`. Direct identifiers are not read."""
    rows = sheet.rows[keep]
    read = _ColumnsRead(other={"export_row": rows.tolist()})
    other, coded, order, missing_cells = read.other, read.coded, read.order, read.missing_cells
    scale_items = {item for construct in codebook.constructs for item in construct.items}
    quarantined = set(quarantined_columns(codebook))
    for var, idx in columns.items():
        if var.role == "direct_identifier":
            continue
        all_codes, values = sheet.column(idx)
        codes = all_codes[keep]
        counts = np.bincount(codes, minlength=len(values))
        # texts of no row read (a repeated header's) are left out, as blanks
        cells = [value.strip() if n else "" for value, n in zip(values, counts, strict=True)]
        free = var.name in quarantined or any(o.fill_in for o in var.options)
        cell = _Cells(file, rows, header[idx], idx, codes, cells, found, free)
        order.append(var.name)
        if var.kind == "platform" and var.name not in quarantined and not var.options:
            other[var.name] = _platform_column(var, cell)
            continue
        reasons = [var.missing_reason(c) for c in cells]
        missing = np.array([r is not None for r in reasons], dtype=bool)
        if var.name in scale_items:
            read.answered[var.name] = int(counts[~missing].sum())
        if var.shown_if is None:
            missing_cells.extend(_missing_counts(var, header[idx], reasons, counts))
        else:  # counted once it is known who was shown the item, in this place of the log
            read.displayed.append((var, header[idx], reasons, codes))
            missing_cells.append({"shown_if": var.name})
        if var.kind == "free_text" or var.name in quarantined:
            texts = ["" if m else c for c, m in zip(cells, missing, strict=True)]
            other[var.name] = _redacted(texts, counts, read.redactions, locales)[codes].tolist()
        else:
            code, fill = _code_column(var, cell, codebook, out_of_range, read.quality, missing)
            coded[var.name] = code
            fill_var = next((o.fill_in for o in var.options if o.fill_in), None)
            if fill_var:
                texts = [f or "" for f in fill]
                other[fill_var] = _redacted(texts, counts, read.redactions, locales)[codes].tolist()
                order.append(fill_var)
    return read


def _ingest_report(
    sheet: _Sheet,
    codebook: Codebook,
    columns: Mapping[Variable, int],
    *,
    header_columns: int,
    file: str,
    rows: int,
    redactions: Counter[str],
    out_of_range: tuple[int, str],
    quality_log: pd.DataFrame,
    header_rows: Any,
    ignored: Counter[str],
) -> dict[str, Any]:
    """The ingest report: what was read, dropped, redacted and set to missing, and how the
    platform's own rows were recognised (`out_of_range`: the cells met and the policy)."""
    report = {
        "export_file": file,
        "encoding": sheet.encoding,
        "rows": rows,
        "columns": header_columns,
        "direct_identifier_columns_dropped": sorted(
            v.name for v in codebook.direct_identifiers if v in columns
        ),
        "identifiers_redacted_in_free_text": dict(sorted(redactions.items())),
        "out_of_range_cells": out_of_range[0],
        "out_of_range_policy": out_of_range[1],
        **missing_cell_counts(quality_log),
    }
    if sheet.workbook is not None:
        report["sheet"] = sheet.workbook.name
        report["sheets_not_read"] = sheet.workbook.not_read
    report["direct_identifier_columns_absent"] = sorted(
        v.name for v in codebook.direct_identifiers if v not in columns
    )
    if header_rows:
        report["platform_header_rows"] = {
            "rows": header_rows,
            "action": "read as the platform's header (question texts, import ids), not as "
            "responses",
        }
    if codebook.ignore_columns:
        report["ignored_columns"] = sum(ignored.values())
        report["ignored_columns_by_rule"] = {
            str(rule): ignored[rule.declared] for rule in codebook.ignore_columns
        }
    if sheet.footer is not None:
        report["platform_footer_row"] = {
            "row": sheet.footer[0],
            "text": sheet.footer[1],
            "responses_stated": _footer_count(sheet.footer),
            "action": "recognised as the platform's footer, not read as a response",
        }
    return report


def _missing_counts(
    var: Variable, column: str, reasons: list[MissingMarker | None], counts: np.ndarray
) -> list[dict[str, Any]]:
    """Data-quality log entries of a column's cells declared missing: one per marker met,
    counting its cells (`counts`: rows per distinct cell), in the order the codebook declares
    the markers. Every cell set to missing is thus in the log, by item and reason."""
    cells: Counter[MissingMarker] = Counter()
    for marker, n in zip(reasons, counts.tolist(), strict=True):
        if marker is not None and n:
            cells[marker] += n
    return [
        {
            "row": None,
            "column": column,
            "variable": var.name,
            "value": marker.cell,
            "rule": "declared-missing",
            "action": "set to missing",
            "reason": marker.reason,
            "cells": cells[marker],
        }
        for marker in var.missing
        if cells[marker]
    ]


def _not_shown(
    displayed: list[tuple[Variable, str, list[MissingMarker | None], np.ndarray]],
    coded: dict[str, pd.arrays.IntegerArray],
    other: dict[str, list[Any]],
    cb: Codebook,
) -> dict[str, list[dict[str, Any]]]:
    """Data-quality entries of each item with display logic, which `coded` and `other` are
    brought in line with.

    A missing cell of a respondent not shown the item is counted under the reason
    ``not_shown`` (not applicable), apart from the markers' reasons of those shown. An answer
    to an item the respondent was not shown cannot be told from a platform's or a merge's
    error; it is set to missing under ``answered_not_shown`` (the respondent's fill-in text
    with it), so that "not shown" means "no answer" everywhere downstream. A free-text answer
    is counted so and kept: it is not analysed and is quarantined anyway. Items are handled in
    codebook order, as a condition may test an item that itself was not shown.
    """
    counted: dict[str, list[dict[str, Any]]] = {}
    order = {v.name: i for i, v in enumerate(cb.variables)}
    for var, column, reasons, codes in sorted(displayed, key=lambda d: order[d[0].name]):
        assert var.shown_if is not None
        entries = counted.setdefault(var.name, [])
        tested = pd.DataFrame(
            {name: coded[name] if name in coded else other[name] for name in var.shown_if.variables}
        )
        shown = display.holds(var.shown_if, tested, cb)
        marker_of = np.array(reasons, dtype=object)[codes]
        declared = np.array([r is not None for r in reasons], dtype=bool)[codes]
        for marker in var.missing:
            n = int(((marker_of == marker) & shown).sum())
            if n:
                entries.append(_display_entry(var, column, marker.cell, marker.reason, n))
        hidden = int((declared & ~shown).sum())
        if hidden:
            entries.append(_display_entry(var, column, "", "not_shown", hidden))
        if var.name in coded:
            answered = ~np.asarray(coded[var.name].isna()) & ~shown
        else:
            answered = ~declared & ~shown
        if answered.any():
            entries.append(
                _display_entry(var, column, "(answer)", "answered_not_shown", int(answered.sum()))
            )
            if var.name in coded:
                values = coded[var.name].copy()
                values[answered] = pd.NA
                coded[var.name] = values
                fill_var = next((o.fill_in for o in var.options if o.fill_in), None)
                if fill_var:
                    other[fill_var] = [
                        "" if hide else text
                        for text, hide in zip(other[fill_var], answered, strict=True)
                    ]
    return counted


def _display_entry(var: Variable, column: str, value: str, reason: str, n: int) -> dict[str, Any]:
    """One count of the data-quality log for an item with display logic."""
    return {
        "row": None,
        "column": column,
        "variable": var.name,
        "value": value,
        "rule": "declared-missing" if reason not in DISPLAY_REASONS else "shown-if",
        "action": "set to missing",
        "reason": reason,
        "cells": n,
    }


# The data-quality log's reasons for cells of items with display logic (`shown_if`).
DISPLAY_REASONS = ("not_shown", "answered_not_shown")


def missing_cell_counts(quality_log: pd.DataFrame) -> dict[str, Any]:
    """The cells the ingest set to missing, summed from its data-quality log.

    The log holds one entry per out-of-range cell and one count per item and declared marker;
    the report and `hazegov check` need the sums, so that answers read as missing are seen
    and not passed over (issue 14: 32% of an item's answers vanished unreported).

    Parameters
    ----------
    quality_log
        The ingest's data-quality log (`QUALITY_LOG_COLUMNS`).

    Returns
    -------
    dict
        ``missing_cells`` (all cells set to missing), ``missing_cells_by_reason`` (reason ->
        cells; an out-of-range code's reason is ``out_of_range``) and
        ``missing_cells_by_item`` (item -> reason -> cells, items in the export's order).
    """
    by_reason: Counter[str] = Counter()
    by_item: dict[str, Counter[str]] = {}
    # the counts (no row, in column order) first: items are listed in the export's order
    entries = sorted(quality_log.itertuples(index=False), key=lambda e: not pd.isna(e.row))
    for entry in entries:
        if entry.action != "set to missing":
            continue
        by_reason[entry.reason] += int(entry.cells)
        by_item.setdefault(entry.variable, Counter())[entry.reason] += int(entry.cells)
    return {
        "missing_cells": int(sum(by_reason.values())),
        "missing_cells_by_reason": dict(sorted(by_reason.items())),
        "missing_cells_by_item": {item: dict(sorted(n.items())) for item, n in by_item.items()},
    }


def missing_cell_lines(report: dict[str, Any]) -> list[str]:
    """The ingest report's count of cells set to missing, as lines to print.

    A check that finds no broken cell still says how many answers it read as missing, and
    why: "no problems" alone hid a scale's lost answers (issue 14).

    Parameters
    ----------
    report
        The ingest report (`IngestResult.report`, or the ingest_report.json written).

    Returns
    -------
    list of str
        The total and the count by reason (a line that stands alone in a log), then
        "by item:" and one indented line per item.
    """
    total = report.get("missing_cells", 0)
    if not total:
        return ["cells set to missing: none"]
    reasons = ", ".join(f"{r} {n}" for r, n in report["missing_cells_by_reason"].items())
    lines = [f"cells set to missing: {total} ({reasons})", "by item:"]
    for item, counts in report["missing_cells_by_item"].items():
        lines.append(f"  {item}: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
    return lines


def quarantined_columns(cb: Codebook) -> list[str]:
    """The columns kept out of the responses: free-text questions, fill-ins and the channel.

    The channel column (role ``metadata``, 来源) is written by the platform but can hold what
    the person who distributed the link typed, a name included, so it is free text here.
    """
    return [v.name for v in cb.variables if v.kind in {"free_text", "fill_in"}] + [
        v.name for v in cb.variables if v.kind == "platform" and v.role == "metadata"
    ]


def text_classes(texts: pd.Series) -> pd.Series:
    """Which distinct text each row gave (Int64: 0 for the first text met, 1 for the next...).

    Texts are compared as the duplicate rule compares them (`cleaning.comparable_texts`:
    width-insensitive, without whitespace), and a missing text stays missing, so comparing the
    classes tells duplicate submissions apart exactly as comparing the texts would, while
    nothing of the text itself is kept.
    """
    from hazegov.survey.cleaning import comparable_texts

    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    classes = pd.factorize(comparable_texts(pd.Index(uniques, dtype="string")))[0]
    missing = codes < 0
    values = np.where(missing, 0, classes[np.where(missing, 0, codes)] if len(classes) else 0)
    return pd.Series(pd.arrays.IntegerArray(values.astype(np.int64), missing), index=texts.index)


def _quarantine(responses: pd.DataFrame, cb: Codebook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the free text from the responses: (responses with text classes, free text)."""
    columns = [c for c in quarantined_columns(cb) if c in responses.columns]
    free_text = responses[["export_row", *columns]].copy()
    for name in columns:
        responses[name] = text_classes(responses[name])
    return responses, free_text


@dataclass
class _Cells:
    """One export column of the rows read: where its cells are, to report them.

    `codes[i]` is row i's index into `cells`, the column's distinct (stripped) texts; problems
    go to `found` with their row and column position. A `free` column's cells (free text, or a
    choice with a fill-in) are quoted in problems only by their first characters, identifiers
    masked.
    """

    file: str
    rows: np.ndarray
    column: str
    position: int
    codes: np.ndarray
    cells: list[str]
    found: list[tuple[int, int, Violation]]
    free: bool = False

    def rows_where(self, distinct: np.ndarray) -> np.ndarray:
        """Positions of the rows whose text is one of the `distinct` flagged (a bool array)."""
        if not distinct.any():
            return np.empty(0, dtype=np.intp)
        return np.flatnonzero(distinct[self.codes])

    def where(self, i: int) -> dict[str, Any]:
        value = self.cells[self.codes[i]]
        shown = quote_cell(value) if self.free else value
        return {"row": int(self.rows[i]), "column": self.column, "value": shown}

    def problem(self, i: int, rule: str, message: str) -> None:
        violation = Violation(self.file, rule, message, **self.where(i))
        self.found.append((int(self.rows[i]), self.position, violation))


def _platform_header_rows(sheet: _Sheet, cb: Codebook, file: str) -> tuple[_Sheet, list[int]]:
    """The sheet below the header rows the codebook's platform writes, and those rows.

    A Qualtrics CSV export has three header rows: the column names (row 1, matched against
    the codebook's headers), the question texts and a row of ImportId JSON
    (``{"ImportId":"QID1"}``). The second and third are not respondents; the third is checked,
    so that an export saved without it (its first respondent would otherwise be dropped as a
    header row) is refused naming the row and the first column that is not an ImportId.
    """
    extra = cb.header_rows - 1
    if extra <= 0:
        return sheet, []
    numbers = sorted([*sheet.rows.tolist(), *(n for n, _ in sheet.odd)])[:extra]
    if len(numbers) < extra:
        raise _no_respondents(Path(file), sheet.header_row)
    last = numbers[-1]
    cells = next((c for n, c in sheet.head if n == last), None)
    if cells is not None:
        for j, cell in enumerate(cells):
            if cell.strip() and not _is_import_id(cell):
                raise ExportTableError.single(
                    file,
                    "qualtrics-import-id-row",
                    f"the codebook's platform ({cb.platform}) writes {cb.header_rows} header "
                    f'rows, the last of them import ids such as {{"ImportId":"QID1"}}; '
                    f"row {last} is not that row (this cell is no ImportId): export the CSV "
                    "with its three header rows, or declare the platform the export is from",
                    row=last,
                    column=_column_name(sheet.header, j + 1),
                )
    rest = sheet.below(last)
    if not len(rest.rows) and not rest.odd:
        raise _no_respondents(Path(file), sheet.header_row)
    return rest, numbers


def _is_import_id(cell: str) -> bool:
    """Whether a cell is a Qualtrics import id: a JSON object with an "ImportId" key."""
    try:
        value = json.loads(cell)
    except ValueError:
        return False
    return isinstance(value, dict) and "ImportId" in value


def _structure_problems(
    sheet: _Sheet, cb: Codebook, file: str, found: list[tuple[int, int, Violation]]
) -> np.ndarray:
    """Rows repeating the header, rows of another width than the header's, and a platform
    footer row whose count of responses is not the rows' (see `_footer_problem`).

    Returns which of the rows as wide as the header repeat it (they are not read as answers).
    """
    expected = _header_keys(cb)
    need = _enough(expected)
    repeated = _repeated_header_rows(sheet, expected, need)
    for i in np.flatnonzero(repeated):
        found.append((int(sheet.rows[i]), -1, _header_once(file, sheet, int(sheet.rows[i]))))
    width = len(sheet.header)
    for number, cells in sheet.odd:
        if _header_score(cells, expected) >= need:
            found.append((number, -1, _header_once(file, sheet, number)))
            continue
        hint = ""
        if _footer(number, cells) is not None:
            hint = ": it reads as the platform's footer row, but is not the last row (two "
            hint += "exports joined?)"
        elif len(cells) > width:
            hint = ": an unquoted comma in an answer, or a row shifted to the right?"
        elif number == sheet.last_row:
            hint = ": it is the last row, so the file looks cut off mid-row"
        message = f"has {len(cells)} cells, the header {width}{hint}"
        found.append((number, -1, Violation(file, "row-length", message, row=number)))
    if sheet.footer is not None:
        responses = len(sheet.rows) + len(sheet.odd) - int(repeated.sum())
        responses -= sum(_header_score(cells, expected) >= need for _, cells in sheet.odd)
        problem = _footer_problem(file, sheet.footer, responses)
        if problem is not None:
            found.append((sheet.footer[0], -1, problem))
    return repeated


def _footer_problem(file: str, footer: tuple[int, str], responses: int) -> Violation | None:
    """The platform's footer row ("共8条数据") counts the responses it exported: another
    number of rows above it means rows were lost or added since the download."""
    stated = _footer_count(footer)
    if stated == responses:
        return None
    return Violation(
        file,
        "footer-count",
        f"the platform's footer row {footer[1]!r} counts {stated} responses, but {responses} "
        "rows of responses are above it: rows lost or added since the download?",
        row=footer[0],
    )


def _header_once(file: str, sheet: _Sheet, row: int) -> Violation:
    return Violation(
        file,
        "header-once",
        f"this row repeats the header of row {sheet.header_row} (a header pasted "
        "twice, or two exports joined); an export has one header row",
        row=row,
    )


def _repeated_header_rows(sheet: _Sheet, expected: set[str], need: int) -> np.ndarray:
    """Which rows as wide as the header hold at least `need` of the codebook's headers.

    Cells are compared with the headers column by column, text by distinct text. The columns
    with the most distinct texts (answer times, submission numbers) are left out of that first
    count: a row short of `need` by more than the columns left out cannot repeat the header.
    Only the rows that can are scored cell by cell.
    """
    width = len(sheet.header)
    distinct = sorted(range(width), key=lambda j: -len(sheet.column(j)[1]))
    skipped = [j for j in distinct[: need - 1] if len(sheet.column(j)[1]) > 64]
    hits = np.zeros(len(sheet.rows), dtype=np.int64)
    for j in range(width):
        if j in skipped:
            continue
        codes, values = sheet.column(j)
        matches = np.array([_norm(v) in expected for v in values], dtype=bool)
        if matches.any():
            hits += matches[codes]
    repeated = np.zeros(len(sheet.rows), dtype=bool)
    for i in np.flatnonzero(hits >= need - len(skipped)):
        cells = [sheet.column(j)[1][sheet.column(j)[0][i]] for j in range(width)]
        repeated[i] = _header_score(cells, expected) >= need
    return repeated


def _redacted(
    texts: list[str], counts: np.ndarray, redactions: Counter[str], locales: tuple[str, ...]
) -> np.ndarray:
    """Each distinct text with its direct identifiers redacted (None when empty), as an object
    array; `counts` (rows per text) adds what was removed to `redactions`."""
    out = np.empty(len(texts), dtype=object)
    for k, text in enumerate(texts):
        clean, removed = redact(text, locales)
        out[k] = clean or None
        if counts[k]:
            for kind, n in removed.items():
                redactions[kind] += n * int(counts[k])
    return out


def _header_chars(cb: Codebook) -> frozenset[str]:
    """Every character of the codebook's column headers: what a rightly decoded header is
    made of (hazegov.survey.export_encoding)."""
    return frozenset("".join(str(v.header) for v in cb.export_variables))


def _check_header_encoding(path: Path, sheet: _Sheet, cb: Codebook, encoding: str) -> None:
    """A CSV header that does not read as the codebook's, but would in another encoding.

    The header of a file in an encoding the reader does not try (Big5, UTF-16 without
    byte-order mark, UTF-8 encoded twice) decodes into nonsense; said so here, naming the
    likely encoding, instead of one error per codebook column.
    """
    expected = _header_keys(cb)
    if sheet.workbook is not None or _header_score(sheet.header, expected) >= _enough(expected):
        return
    with path.open("rb") as stream:
        head = stream.read(FIRST_LINE_BYTES)
    likely = likely_encoding(head, _header_chars(cb), sheet.encoding)
    if likely is None:
        return
    raise ExportTableError.single(
        path,
        "known-encoding" if encoding == "auto" else "declared-encoding",
        f"the header does not read as the codebook's in {sheet.encoding}, the encoding "
        f"{'tried first that decodes the file' if encoding == 'auto' else 'declared'}: "
        f"the file looks like {likely.name} (tried {TRIED}); {likely.advice}",
        row=sheet.header_row,
    )


def _header_keys(cb: Codebook) -> set[str]:
    """The headers every export of the codebook has (optional platform columns left out, so
    that an export without them still reads as having its header)."""
    required = [v for v in cb.export_variables if not v.optional] or cb.export_variables
    return {_norm(v.header) for v in required}  # type: ignore[arg-type]


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
    return any(key in (_norm(o.zh), _norm(o.en)) for v in cb.variables for o in v.options if key)


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
    table: ExportTable,
    cb: Codebook,
    file: str,
    problems: list[Violation],
    ignored: Counter[str] | None = None,
) -> dict[Variable, int]:
    """Which export column each codebook variable is read from.

    A column an `ignore_columns` rule matches is dropped here, before any of its cells is
    read, and counted in `ignored` under the rule's key path; any other column must be in the
    codebook. A codebook column the export lacks is an error unless it is a direct identifier
    (never read) or an optional platform column.
    """
    header, row = table.header, table.header_row
    seen: dict[str, int] = {}
    for idx, name in enumerate(header):
        key = _norm(name)
        rule = cb.ignored_by(name) if key else None
        if rule is not None:
            if ignored is not None:
                ignored[rule.declared] += 1
            continue
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
            hint = " nor ignored by its ignore_columns" if cb.ignore_columns else ""
            problems.append(
                Violation(
                    file,
                    "export-column-in-codebook",
                    f"this export column is not in the codebook {cb.path}{hint}",
                    row=row,
                    column=header[idx],
                )
            )
        else:
            columns[var] = idx
    for var in cb.export_variables:
        # identifier columns are never read: an export whose owner deleted them is welcome
        if var not in columns and var.role != "direct_identifier" and not var.optional:
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
    return any(m.matches(cell) for m in cb.missing_markers)


# A submission time as the platform writes it ("2016/3/7 9:05:01"), read without strptime; any
# other text goes through strptime and TIME_FORMATS.
_PLATFORM_TIME = re.compile(
    r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2}) ([0-9]{1,2}):([0-9]{2}):([0-9]{2})"
)


def _timestamp(cell: str) -> datetime | None:
    """The date and time a cell gives in one of TIME_FORMATS, as strptime reads it; else None.

    A cell in the platform's own form is read from its digits: every such cell that strptime
    reads with the first format (month 1-12, day 1-31, hour 0-23, minute and second 0-59, a
    real date), it reads as the same time.
    """
    match = _PLATFORM_TIME.fullmatch(cell)
    if match:
        year, month, day, hour, minute, second = map(int, match.groups())
        if 1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59:
            try:
                return datetime(year, month, day, hour, minute, second)
            except ValueError:
                pass
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(cell, fmt)
        except ValueError:
            continue
    return None


def _platform_value(var: Variable, cell: str) -> tuple[Any, tuple[str, str] | None]:
    """Value of one (stripped) platform cell, and the (rule, message) it breaks, if any."""
    if var.role == "submission_number":
        if not cell.isdigit():
            return None, ("integer-submission-number", "submission number must be a whole number")
        return int(cell), None
    if var.role == "submission_id":
        if not cell:
            return None, ("submission-id", "the submission id is empty")
        return cell, None
    if var.role == "duration_seconds":
        text = cell.removesuffix(var.unit_suffix or "").strip()
        if not text.isdigit():
            return None, (
                "numeric-duration",
                "completion time must be whole "
                f"seconds (optionally followed by {var.unit_suffix!r})",
            )
        return int(text), None
    if var.role in ("submission_time", "start_time"):
        value = _timestamp(cell)
        if value is None:
            return None, ("valid-timestamp", "not a date and time such as 2016/3/7 9:05:01")
        return value, None
    return cell, None


def _platform_column(var: Variable, cells: _Cells) -> list[Any]:
    """The values of a platform column, row by row; its problems go to `cells.found`."""
    results = [_platform_value(var, c) for c in cells.cells]
    values = np.empty(len(results), dtype=object)
    values[:] = [value for value, _ in results]
    broken = np.array([problem is not None for _, problem in results], dtype=bool)
    for i in cells.rows_where(broken):
        cells.problem(i, *results[cells.codes[i]][1])  # type: ignore[misc]
    if var.role in ("submission_number", "submission_id"):
        _repeated_numbers(values, broken, cells)
    return values[cells.codes].tolist()


def _repeated_numbers(values: np.ndarray, broken: np.ndarray, cells: _Cells) -> None:
    """A submission number (or id) used by an earlier row ('7' and '07' are one number)."""
    number_id: dict[int, int] = {}
    ids = np.array(
        [
            -1 if b else number_id.setdefault(v, len(number_id))
            for v, b in zip(values, broken, strict=True)
        ],
        dtype=np.int64,
    )
    numbered = np.flatnonzero(~broken[cells.codes])
    row_ids = ids[cells.codes[numbered]]
    distinct, first = np.unique(row_ids, return_index=True)
    first_row = np.empty(len(number_id), dtype=np.int64)
    first_row[distinct] = numbered[first]
    for i in numbered[numbered != first_row[row_ids]]:
        value = values[cells.codes[i]]
        cells.problem(
            i,
            "unique-submission-number",
            f"submission {'number' if isinstance(value, int) else 'id'} {value} is already "
            f"used by row "
            f"{int(cells.rows[first_row[ids[cells.codes[i]]]])}; every answer sheet has its own "
            "number (a row copied, or two exports joined?)",
        )


_WHOLE_NUMBER = re.compile(r"-?\d+")


class _Answers:
    """How the codebook reads a cell of one coded variable: its code, the fill-in text of an
    'other (please specify)' answer, and the rule a cell breaks.

    Labels are compared as `_norm` gives them (width-, space- and tilde-insensitive); a cell
    the codebook declares missing for the variable (`Variable.missing`: a marker text or a
    missing code, never a code read as missing for its sign) is missing; a label of the first
    option that has it gives that option's code; then 'other〖text〗'; then a whole number in
    the valid range is a code, one outside it breaks 'valid-range'; anything else breaks
    'label-in-codebook'.
    """

    def __init__(self, var: Variable, cb: Codebook) -> None:
        self.var = var
        self.labels: dict[str, int] = {}
        self.left, self.right = cb.fill_in_brackets
        self.fill_ins: list[tuple[int, str]] = []
        if cb.answers == "codes":  # a numeric-values export: a label is no answer there
            return
        for opt in var.options:
            for text in (opt.zh, opt.en):
                if text:  # an English-only codebook has no Chinese label ("")
                    self.labels.setdefault(_norm(text), opt.code)
        # the platform writes the option in the questionnaire's language: Chinese, or the
        # English of an English-only codebook
        self.fill_ins = [
            (opt.code, _norm(opt.zh or opt.en) + _norm(self.left))
            for opt in var.options
            if opt.fill_in
        ]
        self.closing = _norm(self.right)

    def read(
        self, cell: str, missing: bool | None = None
    ) -> tuple[int | None, str | None, str | None]:
        """Code, fill-in text and broken rule (or None) of one stripped cell (`missing`:
        whether the variable declares it missing, if already known)."""
        key = _norm(cell)
        if missing is None:
            missing = self.var.missing_reason(cell) is not None
        if missing:
            return None, None, None
        code = self.labels.get(key)
        if code is not None:
            return code, None, None
        for code, opening in self.fill_ins:
            if key.startswith(opening) and key.endswith(self.closing):
                inner = cell.split(self.left, 1)[1].rsplit(self.right, 1)[0]
                return code, inner.strip(), None
        if _WHOLE_NUMBER.fullmatch(key):
            number = int(key)
            lo, hi = self.var.valid_range  # type: ignore[misc]
            if lo <= number <= hi:
                return number, None, None
            return None, None, "valid-range"
        return None, None, "label-in-codebook"


def code_cells(
    var: Variable, cells: list[str], cb: Codebook
) -> tuple[pd.arrays.IntegerArray, list[str | None], list[str | None]]:
    """Answer codes of a coded variable's cells, each distinct text matched once.

    Parameters
    ----------
    var
        A coded variable of the codebook (single choice, Likert item or rating).
    cells
        The column's cells as read from the export (they are stripped here).
    cb
        The codebook: fill-in brackets (the cells declared missing come with `var`).

    Returns
    -------
    tuple
        The codes (Int64, missing where the cell is a missing-data marker, a missing code or
        a broken cell), each cell's fill-in text (or None), and the rule each cell breaks
        ("valid-range", "label-in-codebook"; None when none).
    """
    codes, distinct = pd.factorize(np.array([c.strip() for c in cells], dtype=object))
    code, fill, rule = _code_distinct(var, list(distinct), cb)
    return code[codes], [fill[k] for k in codes], [rule[k] for k in codes]


def _code_distinct(
    var: Variable, cells: list[str], cb: Codebook, missing: np.ndarray | None = None
) -> tuple[pd.arrays.IntegerArray, list[str | None], list[str | None]]:
    """Each distinct cell read once: codes as an Int64 array, fill-ins and rules as lists.

    `missing` (which cells the variable declares missing), when the caller knows it already,
    spares asking the markers again."""
    answers = _Answers(var, cb)
    if missing is None:
        results = [answers.read(c) for c in cells]
    else:
        results = [answers.read(c, m) for c, m in zip(cells, missing.tolist(), strict=True)]
    values = np.array([0 if code is None else code for code, _, _ in results], dtype=np.int64)
    absent = np.array([code is None for code, _, _ in results], dtype=bool)
    code = pd.arrays.IntegerArray(values, absent)
    return code, [fill for _, fill, _ in results], [rule for _, _, rule in results]


def _code_column(
    var: Variable,
    cells: _Cells,
    cb: Codebook,
    out_of_range: str,
    quality: list[tuple[int, int, dict[str, Any]]],
    missing: np.ndarray | None = None,
) -> tuple[pd.arrays.IntegerArray, list[str | None]]:
    """Codes of a coded column row by row, and the fill-in text of each distinct cell.

    A broken cell is a problem in `cells.found`; an out-of-range code with the "missing"
    policy goes to the data-quality log instead. `missing`: as for `_code_distinct`.
    """
    code, fill, rule = _code_distinct(var, cells.cells, cb, missing)
    for i in cells.rows_where(np.array([r is not None for r in rule], dtype=bool)):
        broken = rule[cells.codes[i]]
        if broken == "valid-range":
            lo, hi = var.valid_range  # type: ignore[misc]
            if out_of_range == "error":
                cells.problem(
                    i, "valid-range", f"code outside the valid range {lo} to {hi} of {var.name}"
                )
            else:
                where = cells.where(i)
                quality.append(
                    (
                        where["row"],
                        cells.position,
                        {
                            "row": where["row"],
                            "column": where["column"],
                            "variable": var.name,
                            "value": where["value"],
                            "rule": "valid-range",
                            "action": "set to missing",
                            "reason": "out_of_range",
                            "cells": 1,
                        },
                    )
                )
        elif cb.answers == "codes":
            codes = ", ".join(str(o.code) for o in var.options)
            cells.problem(
                i,
                "label-in-codebook",
                f"not a code of {var.name} ({codes}): the codebook declares instrument.answers: "
                "codes (a numeric-values export)",
            )
        else:
            labels = " / ".join(o.zh or o.en for o in var.options)
            cells.problem(
                i, "label-in-codebook", f"not an answer label of {var.name} ({labels}) nor a code"
            )
    return code[cells.codes], fill


def _has_codes(var: Variable) -> bool:
    """Whether the variable's cells are answer codes: a coded answer, or an embedded-data
    column that lists its codes (an experimental arm)."""
    return var.is_coded or (var.kind == "platform" and bool(var.options))


def response_schema(cb: Codebook) -> pa.DataFrameSchema:
    """The codebook as a pandera schema: a second, independent gate on the mapped responses."""
    columns: dict[str, pa.Column] = {}
    key, duration = cb.submission_key, cb.duration
    if key is not None and key.role == "submission_number":
        columns[key.name] = pa.Column(int, pa.Check.ge(1), unique=True, required=False)
    elif key is not None:
        columns[key.name] = pa.Column(str, unique=True, required=False)
    if duration is not None:
        columns[duration.name] = pa.Column(int, pa.Check.ge(0), required=False)
    for var in cb.variables:
        if _has_codes(var):
            codes = [o.code for o in var.options]
            columns[var.name] = pa.Column(float, pa.Check.isin(codes), nullable=True)
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _validate_frame(frame: pd.DataFrame, cb: Codebook, file: str) -> None:
    if _schema_holds(frame, cb):
        return
    check = frame.copy()
    for var in cb.variables:
        if _has_codes(var):
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


def _schema_holds(frame: pd.DataFrame, cb: Codebook) -> bool:
    """Whether the responses meet every condition of `response_schema`, on whole columns.

    True only when pandera would find nothing: 64-bit integer submission numbers from 1 (or
    text submission ids), all different; 64-bit integer durations from 0; codes (as numbers)
    among the variable's codes, or missing. Pandera then need not run; otherwise it runs and
    lists what fails.
    """
    required = [v.name for v in cb.variables if _has_codes(v)]
    if any(name not in frame.columns for name in required) or not frame.columns.is_unique:
        return False
    key, duration = cb.submission_key, cb.duration
    if key is not None and key.name in frame.columns:
        number = frame[key.name]
        if not number.is_unique:
            return False
        if key.role == "submission_number":
            if number.dtype != np.int64 or not (number.to_numpy() >= 1).all():
                return False
        elif not all(isinstance(v, str) for v in number.tolist()):
            return False
    if duration is not None and duration.name in frame.columns:
        seconds = frame[duration.name]
        if seconds.dtype != np.int64 or not (seconds.to_numpy() >= 0).all():
            return False
    for var in cb.variables:
        if not _has_codes(var):
            continue
        column = frame[var.name]
        if isinstance(column.array, pd.arrays.IntegerArray):
            given = column.array.to_numpy(dtype=np.int64, na_value=0)[~column.array.isna()]
        else:
            values = pd.to_numeric(column).astype(float).to_numpy()
            given = values[~np.isnan(values)]
        if not set(given.tolist()) <= {o.code for o in var.options}:
            return False
    return True


def _typed(frame: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    dtypes = frame.dtypes.to_dict()  # before any column is changed: looked up once
    for var in cb.variables:
        if var.is_coded and dtypes[var.name] != "Int64":
            frame[var.name] = pd.array(frame[var.name].tolist(), dtype="Int64")
        elif var.kind in ("free_text", "fill_in"):
            frame[var.name] = frame[var.name].astype("string")
    for var in cb.variables:  # the channel (quarantined as free text) and a text submission id
        if var.kind != "platform" or var.name not in frame.columns:
            continue
        if var.role in ("metadata", "submission_id"):
            frame[var.name] = frame[var.name].astype("string")
    return frame


__all__ = [
    "ExportError",
    "ExportTable",
    "ExportTableError",
    "IngestResult",
    "InputError",
    "code_cells",
    "data_source",
    "ingest_export",
    "missing_cell_counts",
    "missing_cell_lines",
    "quarantined_columns",
    "read_export_table",
    "text_classes",
]
