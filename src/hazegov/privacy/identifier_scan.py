"""A last gate before anything leaves the machine: no direct identifier in any output.

Ingest quarantines free text and redacts identifiers inside it (`hazegov.privacy.identifiers`). This
scan checks the result in every file the build wrote (tables, data sets in parquet and SPSS,
figures' metadata, the rendered paper in HTML, PDF and DOCX) and in the logs, as a reader of each
file type would see it. It does not rely on the redactor: besides the identifier patterns, it fails
on

1. any run of at least 6 characters of a raw free-text cell of the export (suggestions,
   fill-ins such as 其他〖…〗, the channel column, any ``free_text`` column of the codebook),
   read from the raw export here with the csv module or openpyxl, not through the ingest;
   only the quarantine file may hold them;
2. any run of 7 or more digits in a text cell of a data output (CSV, parquet and SPSS string
   columns, JSON and YAML strings); digests, base64 blobs, decimal numbers, dates and times
   are not such runs;
3. any absolute path (``/home/...``, any ``/``-rooted path of two or more parts,
   ``C:\\...``);
4. the identifiers present in the raw export (its IP and referrer columns, phone numbers in
   its text) and, where the export's file name holds an identifier, that name, anywhere.

All text is compared after the same normalisation as the redactor's (`privacy.normalise`:
NFKC, white space collapsed, separators inside digit runs dropped), and case-folded.
Findings never print the identifier itself.

A file's verdict depends only on its content and on what is looked for, so the build keeps the
verdicts in a memo (`ScanMemo`, ``results/cache/identifier_scan/memo.json``): a file whose
content, suffix, raw-export identifiers, free-text runs, locales and scan code are those of
the last scan is not read again (the ~100 MB of simulation caches rarely change). The files
that are read are spread over as many worker processes as the rule has threads; the findings,
their order and the report are the same for any number.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import hashlib
import io
import json
import logging
import re
import sys
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hazegov.errors import InputError, Violation
from hazegov.privacy.identifiers import (
    CJK,
    DEFAULT_LOCALES,
    DigitRun,
    digit_runs,
    find_identifiers,
    find_in_normalised,
    kinds,
    normalised_text,
    rules_for,
)

TEXT_SUFFIXES = {
    ".csv", ".tsv", ".md", ".qmd", ".json", ".yml", ".yaml", ".txt", ".html", ".htm", ".log",
    ".dot", ".svg", ".bib", ".tex", ".typ", ".ipynb", ".rst", ".css", ".js",
}  # fmt: skip
# Data outputs: their text cells must hold no run of 7 or more digits.
DATA_SUFFIXES = {".csv", ".tsv", ".parquet", ".sav", ".json", ".yml", ".yaml"}
# Content that is not text a person wrote: digests, base64 images and fonts. Digit runs inside
# them look like phone or ID numbers.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{120,}")
MIN_LITERAL = 6  # characters: the shortest raw free-text run the scan looks for
MIN_DIGIT_RUN = 7  # digits: the shortest run of digits a text cell may not hold
# Absolute paths: POSIX paths of two or more parts not preceded by a word character, ":" or
# "/" (so URLs and relative paths are not paths here), file URLs, Windows drive and UNC paths.
# Each kind starts with "f" (file:), "/", a drive letter or "\\": tried only where one stands.
_ABSOLUTE_PATH_FIRST = r"[A-Za-z/\\]"
_ABSOLUTE_PATH_KINDS = (
    r"file:/+[^\s\"'<>]+"
    r"|(?<![\w.~:/\\<>@\-])/[\w.~@+\-]+(?:/[\w.~@+\-]+)+/?"
    r"|(?<![A-Za-z0-9])[A-Za-z]:[\\/][^\s\"'<>|:*?]+"
    r"|(?<![\w\\])\\\\[\w.$\-]+\\[\w.$\-]+"
)
_ABSOLUTE_PATH = re.compile(f"(?={_ABSOLUTE_PATH_FIRST})(?:{_ABSOLUTE_PATH_KINDS})")
_WORD_CHARACTER = r"[a-z0-9\u00c0-\u024f]"
_WORD = re.compile(_WORD_CHARACTER + "+")
_TOKEN = re.compile(r"[a-z0-9\u00c0-\u024f]+|\S")
_LETTER = re.compile(f"[a-z\u00c0-\u024f{CJK}]")
_HAS_CJK = re.compile(f"[{CJK}]")
_BROKEN_URL = re.compile(r"((?:https?://|www\.)\S*[/.\-_])\n(?=\S)")
_DIGIT_LIKE = re.compile(r"[\d〇一二三四五六七八九零壹贰叁肆伍陆柒捌玖幺]")
log = logging.getLogger("hazegov")


@dataclass(frozen=True)
class Finding:
    """One thing in one file that must not be there.

    Attributes
    ----------
    file : str
        The file, as given to the scan (relative to the project where possible).
    kind : str
        What was found: an identifier kind, ``raw free text``, ``digit run``,
        ``absolute path``, ``raw-export identifier`` or ``raw file name``.
    hint : str
        Where and what, with the identifier masked.
    """

    file: str
    kind: str
    hint: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind} ({self.hint})"


def _mask(value: str) -> str:
    """The first characters of `value` (none of a short one such as a name), the rest starred."""
    shown = min(2, len(value) // 4)
    return value[:shown] + "*" * max(len(value) - shown, 1)


# --------------------------------------------------------------------------------------------
# Reading outputs as a reader would
# --------------------------------------------------------------------------------------------


def _pdf_text(path: Path) -> str:
    """The text of every page and the document's metadata, as PDFium extracts them.

    PDFium (the PDF engine of Chromium, through pypdfium2) reads the paper's PDF about ten
    times faster than pypdf. It marks a word hyphenated at a line's end with U+FFFE, written
    here as the hyphen and line break a reader sees.
    """
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        parts = []
        for page in document:
            textpage = page.get_textpage()
            parts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        metadata = {f"/{k}": v for k, v in document.get_metadata_dict(skip_empty=True).items()}
    finally:
        document.close()
    parts.append(json.dumps(metadata))
    text = "\n".join(parts).replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n")
    # A web address broken across lines is one address (its digits are no phone number).
    while True:
        joined = _BROKEN_URL.sub(r"\1", text)
        if joined == text:
            return text
        text = joined


def _zip_xml_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        xml = [
            archive.read(name).decode("utf-8", "replace")
            for name in archive.namelist()
            if name.endswith((".xml", ".rels"))
        ]
    return re.sub(r"<[^>]+>", " ", "\n".join(xml))


def _parquet_strings(path: Path) -> tuple[list[str], list[str]]:
    """(metadata and column names, string cells) of a parquet file."""
    stat = path.stat()
    return _parquet_strings_of(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parquet_strings_of(path: str, mtime_ns: int, size: int) -> tuple[list[str], list[str]]:
    """`_parquet_strings`, read once for the text and the cell checks of one scan of a file
    (the modification time and size are part of the cache key). Only the string columns are
    read (numbers cannot hold text), and each distinct cell once: a station name repeated in
    400,000 hourly rows is one text to check."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    meta = [
        json.dumps(
            {k.decode(): v.decode("utf-8", "replace") for k, v in (schema.metadata or {}).items()},
            ensure_ascii=False,
        ),
        *schema.names,
    ]
    text_columns = [
        column.name
        for column in schema
        if str(column.type).startswith(("string", "large_string", "dictionary"))
    ]
    cells: list[str] = []
    if text_columns:
        table = pq.read_table(path, columns=text_columns)
        for column in table.columns:
            cells += [str(v) for v in column.unique().to_pylist() if v is not None]
    return meta, cells


def _parquet_text(path: Path) -> str:
    meta, cells = _parquet_strings(path)
    return "\n".join(meta + cells)


def _sav_strings(path: Path) -> tuple[list[str], list[str]]:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    labels = [str(meta.file_label or ""), *map(str, meta.column_labels or [])]
    for value_labels in (meta.variable_value_labels or {}).values():
        labels += [str(v) for v in value_labels.values()]
    cells = []
    for column in frame.columns:
        if frame[column].dtype == object:
            cells += [str(v) for v in frame[column].dropna()]
    return labels, cells


def _sav_text(path: Path) -> str:
    labels, cells = _sav_strings(path)
    return "\n".join(labels + cells)


def _png_text(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        return "\n".join(f"{k}: {v}" for k, v in image.info.items() if isinstance(v, str))


def _json_strings(value: Any, numbers: bool) -> list[str]:
    """Keys and strings (and numbers) of a JSON value in document order.

    Walked with a stack rather than by recursion: a cache of the multiverse holds a million
    values, and a generator per nested value took half a second of a cold scan.
    """
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for key, nested in reversed(item.items()):
                stack.append(nested)
                stack.append(str(key))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif numbers and item is not None and not isinstance(item, bool):
            found.append(str(item))
    return found


def _json_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="replace")
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    # decoded, so that text written with \\u escapes is seen as the reader sees it
    return "\n".join(_json_strings(value, numbers=True))


def readable_text(path: str | Path) -> str:
    """All text a reader of `path` could see, including metadata, by file type.

    Parameters
    ----------
    path : str or Path
        Any file.

    Returns
    -------
    str
        Its text; for a file of unknown type, the bytes read as UTF-8 where they decode.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".ipynb"):
        return _json_text(path)
    if suffix in TEXT_SUFFIXES:
        return path.read_text(encoding="utf-8", errors="replace")
    readers = {
        ".pdf": _pdf_text,
        ".docx": _zip_xml_text,
        ".xlsx": _zip_xml_text,
        ".parquet": _parquet_text,
        ".sav": _sav_text,
        ".png": _png_text,
    }
    if suffix in readers:
        return readers[suffix](path)
    return path.read_bytes().decode("utf-8", "ignore")


def _is_number(cell: str) -> bool:
    """Whether a cell is a number as a program writes one (ASCII digits only)."""
    if not cell.isascii():
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _yaml_strings(path: Path) -> list[str]:
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        value = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (yaml.YAMLError, UnicodeDecodeError):
        return [path.read_text(encoding="utf-8", errors="replace")]
    return list(_yaml_walk(value))


def _yaml_walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _yaml_walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _yaml_walk(item)
    elif isinstance(value, str):
        yield value


def text_cells(path: str | Path) -> list[str]:
    """The text cells of a data output: what must not hold a long run of digits.

    Parameters
    ----------
    path : str or Path
        A CSV or TSV table (cells that are not numbers), a parquet or SPSS file (string
        columns), or a JSON or YAML file (strings, keys included).

    Returns
    -------
    list of str
        The cells; empty for other file types.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        text = path.read_text(encoding="utf-8", errors="replace")
        with _big_fields():
            rows = csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
            return [c for row in rows for c in row if c.strip() and not _is_number(c.strip())]
    if suffix == ".parquet":
        return _parquet_strings(path)[1]
    if suffix == ".sav":
        return _sav_strings(path)[1]
    if suffix == ".json":
        try:
            value = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except ValueError:
            return [path.read_text(encoding="utf-8", errors="replace")]
        return _json_strings(value, numbers=False)
    if suffix in (".yml", ".yaml"):
        return _yaml_strings(path)
    return []


def _without_blobs(text: str) -> str:
    return _BASE64_RUN.sub(" ", _HEX_RUN.sub(" ", text))


def _comparable(text: str) -> str:
    """Text as raw free text and outputs are compared: normalised, one space, case-folded."""
    return re.sub(r"\s+", " ", normalised_text(text)).casefold()


@contextlib.contextmanager
def _big_fields() -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


# --------------------------------------------------------------------------------------------
# The raw export's free text, read independently of the ingest
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawCell:
    """One free-text cell of the raw export.

    Attributes
    ----------
    sheet : str
        Sheet name (``""`` for a CSV file).
    row : int
        Row as a spreadsheet numbers it (the header row is usually 1).
    column : str
        The column's header.
    text : str
        The cell's free text (for a fill-in answer, the text inside the brackets).
    """

    sheet: str
    row: int
    column: str
    text: str


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", normalised_text(str(text)))


def _decode_export(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", "replace")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def read_raw_sheets(export: str | Path) -> list[tuple[str, list[list[str]]]]:
    """Every sheet of the raw export as rows of text, hidden sheets included.

    Read with the csv module (UTF-8, UTF-16 with a byte-order mark, or GB18030) or openpyxl,
    not through the ingest, so that the scan does not share the ingest's mistakes.

    Parameters
    ----------
    export : str or Path
        The raw CSV or XLSX export.

    Returns
    -------
    list of (str, list of list of str)
        Sheet name (``""`` for CSV) and its rows.

    Raises
    ------
    InputError
        If the export is missing, not a regular file, or not a readable CSV or XLSX file.
    """
    path = Path(export)
    if not path.is_file():
        raise InputError.single(
            _label(path), "export-readable", "the raw export is missing or not a regular file"
        )
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise InputError.single(
                _label(path), "export-readable", f"cannot open as XLSX ({type(exc).__name__})"
            ) from None
        try:
            return [
                (
                    sheet.title,
                    [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)],
                )
                for sheet in workbook.worksheets
            ]
        finally:
            workbook.close()
    text = _decode_export(path.read_bytes())
    with _big_fields():
        try:
            rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        except csv.Error:
            # not a table the csv module can read: every line is free text
            rows = [[line] for line in text.splitlines()]
    return [("", rows)]


@dataclass(frozen=True)
class _Columns:
    free_text: set[str] = field(default_factory=set)  # header keys
    fill_in: dict[str, set[str]] = field(default_factory=dict)  # header key -> answer labels
    identifiers: set[str] = field(default_factory=set)
    all_headers: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    brackets: tuple[str, str] = ("〖", "〗")


def _columns(codebook: Any | None) -> _Columns:
    if codebook is None:
        return _Columns()
    columns = _Columns(
        missing={_header_key(m.cell) for m in codebook.missing_markers},
        brackets=codebook.fill_in_brackets,
    )
    for var in codebook.variables:
        if var.header is None:
            continue
        key = _header_key(var.header)
        columns.all_headers.add(key)
        if var.kind == "free_text" or var.role == "metadata":
            columns.free_text.add(key)
        elif var.role == "direct_identifier":
            columns.identifiers.add(key)
    for var in codebook.variables:
        if var.kind == "fill_in" and var.fill_in_of:
            parent = codebook.variable(var.fill_in_of)
            labels = {_header_key(t) for o in parent.options for t in (o.zh, o.en) if t}
            columns.fill_in[_header_key(parent.header)] = labels
    return columns


def _load_codebook(codebook: str | Path | Any | None) -> Any | None:
    from hazegov.survey.codebook import Codebook, load_codebook

    if codebook is None:
        for candidate in (
            Path("config/codebook.yaml"),
            Path(__file__).resolve().parents[3] / "config" / "codebook.yaml",
        ):
            if candidate.is_file():
                return load_codebook(candidate)
        return None
    if isinstance(codebook, Codebook):
        return codebook
    return load_codebook(codebook)


def raw_free_text_cells(
    export: str | Path, codebook: str | Path | Any | None = None
) -> list[RawCell]:
    """The free-text cells of the raw export, read without the ingest.

    Free text is: every cell of a column the codebook marks ``free_text`` and of the channel
    column (platform role ``metadata``); the text inside the fill-in brackets (其他〖…〗) of
    any cell; in a column with a fill-in option, any cell that is none of the column's answer
    labels, a code or a missing marker. A sheet in which no codebook header is found is taken
    to be free text throughout.

    Parameters
    ----------
    export : str or Path
        The raw export (CSV or XLSX).
    codebook : str, Path, Codebook or None
        The codebook, or its path; None for ``config/codebook.yaml``.

    Returns
    -------
    list of RawCell
        The cells, with their sheet, row and column; empty cells left out.
    """
    columns = _columns(_load_codebook(codebook))
    left, right = columns.brackets
    bracketed = re.compile(re.escape(left) + "(.*?)" + re.escape(right), re.S)
    cells: list[RawCell] = []
    for sheet, rows in read_raw_sheets(export):
        header_at = next(
            (
                i
                for i, row in enumerate(rows[:50])
                if sum(_header_key(c) in columns.all_headers for c in row) >= 1
            ),
            None,
        )
        if header_at is None:
            cells += [
                RawCell(sheet, i + 1, f"column {j + 1}", c)
                for i, row in enumerate(rows)
                for j, c in enumerate(row)
                if c.strip() and not _is_number(c.strip())
            ]
            continue
        header = [str(c).strip() for c in rows[header_at]]
        keys = [_header_key(c) for c in header]
        for i, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
            for j, cell in enumerate(row):
                if not cell.strip():
                    continue
                name = header[j] if j < len(header) else f"column {j + 1}"
                key = keys[j] if j < len(keys) else ""
                inner = [m.group(1) for m in bracketed.finditer(cell)]
                if key in columns.free_text or (j >= len(keys) and not _is_number(cell)):
                    if _header_key(cell) not in columns.missing:
                        cells.append(RawCell(sheet, i, name, cell))
                elif inner:
                    cells += [RawCell(sheet, i, name, t) for t in inner if t.strip()]
                elif key in columns.fill_in:
                    plain = _header_key(cell)
                    if not (
                        plain in columns.fill_in[key]
                        or plain in columns.missing
                        or re.fullmatch(r"-?\d+", plain)
                    ):
                        cells.append(RawCell(sheet, i, name, cell))
    return cells


def _identifier_column_cells(export: str | Path, codebook: str | Path | Any | None) -> set[str]:
    """Whole cells of the export's identifier columns (IP address, referrer), normalised."""
    columns = _columns(_load_codebook(codebook))
    found: set[str] = set()
    if not columns.identifiers:
        return found
    for _, rows in read_raw_sheets(export):
        header_at = next(
            (
                i
                for i, r in enumerate(rows[:50])
                if any(_header_key(c) in columns.identifiers for c in r)
            ),
            None,
        )
        if header_at is None:
            continue
        wanted = [j for j, c in enumerate(rows[header_at]) if _header_key(c) in columns.identifiers]
        for row in rows[header_at + 1 :]:
            for j in wanted:
                if j < len(row):
                    value = _comparable(row[j]).strip()
                    if len(value) >= MIN_LITERAL:
                        found.add(value)
    return found


# --------------------------------------------------------------------------------------------
# Runs of raw free text
# --------------------------------------------------------------------------------------------


class FreeTextIndex:
    """Every run of at least `MIN_LITERAL` characters of the raw free-text cells.

    A run starts and ends on a token (a Latin word or digit string, or any other single
    character) and holds a letter. Runs are left out that

    - occur in the public text (the codebook, configuration, published documents), or
    - occur in the cells of at least `min_count` different rows (an answer that many
      respondents gave is what a published aggregate with a minimum count may name), or
    - are Latin words only, fewer than two of them, or all words of the public text
      ("air pollution").

    A number of at least `MIN_DIGIT_RUN` digits in a cell is a run of its own.

    Parameters
    ----------
    cells : iterable of RawCell
        The raw free-text cells.
    public : iterable of str
        Public text.
    min_count : int
        Rows a run must occur in to be a common answer.
    """

    def __init__(self, cells: Iterable[RawCell], public: Iterable[str] = (), min_count: int = 5):
        self.cells = list(cells)
        runs: dict[str, set[int]] = defaultdict(set)
        rows: dict[str, set[tuple[str, int]]] = defaultdict(set)
        for index, cell in enumerate(self.cells):
            for run in _runs_of(_comparable(cell.text)):
                runs[run].add(index)
                rows[run].add((cell.sheet, cell.row))
        public_text = "\n".join(_comparable(t) for t in public)
        vocabulary = set(_WORD.findall(public_text))
        self._runs: dict[str, set[int]] = {}
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        for run, where in runs.items():
            if len(rows[run]) >= min_count:
                continue
            if not _HAS_CJK.search(run) and not run.isdigit():
                words = [w for w in _WORD.findall(run) if re.search("[a-z]", w)]
                if len(_WORD.findall(run)) < 2 or all(w in vocabulary for w in words):
                    continue
            self._runs[run] = where
            self._by_prefix[run[:MIN_LITERAL]].append(run)
        self._starts: re.Pattern[str] | None = None
        if public_text:
            for run in self._occurring(public_text):
                self._drop(run)

    def __len__(self) -> int:
        return len(self._runs)

    def fingerprint(self) -> str:
        """A digest of every run looked for and the cells it comes from (for the scan memo).

        Two indexes with the same fingerprint find the same things in any text, so a file's
        verdict can be reused; a changed raw export, public text or `min_count` changes it.
        """
        digest = hashlib.sha256()
        for run in sorted(self._runs):
            cells = sorted(
                (c.sheet, c.row, c.column) for c in map(self.cells.__getitem__, self._runs[run])
            )
            digest.update(json.dumps([run, cells], ensure_ascii=False).encode())
        return digest.hexdigest()

    def _drop(self, run: str) -> None:
        del self._runs[run]
        self._by_prefix[run[:MIN_LITERAL]].remove(run)
        self._starts = None

    def _run_starts(self) -> re.Pattern[str]:
        """Where a run may start in a text: a first character of a run, at a token's start.

        A token (`_TOKEN`) starts at a character of a word not preceded by one, or at any
        other character but white space, which a run does not start with; so these are the
        tokens a run may start at, found by the regex engine instead of one by one.
        """
        if self._starts is None:
            firsts = {run[0] for run in self._runs}
            words = "".join(sorted(c for c in firsts if _WORD.match(c)))
            others = "".join(sorted(firsts - set(words)))
            alternatives = [f"(?<!{_WORD_CHARACTER})[{re.escape(words)}]"] if words else []
            alternatives += [f"[{re.escape(others)}]"] if others else []
            self._starts = re.compile("|".join(alternatives) or "(?!)")
        return self._starts

    def _occurring(self, text: str) -> set[str]:
        found = set()
        if not self._runs:
            return found
        for token in self._run_starts().finditer(text):
            p = token.start()
            for run in self._by_prefix.get(text[p : p + MIN_LITERAL], ()):
                if run in found or not text.startswith(run, p):
                    continue
                end = p + len(run)
                if _WORD.match(run[-1]) and end < len(text) and _WORD.match(text[end]):
                    continue  # ends inside a word of the text
                found.add(run)
        return found

    def find(self, text: str) -> list[tuple[RawCell, str]]:
        """Raw free-text cells a run of which occurs in `text` (comparable form), one run each.

        Parameters
        ----------
        text : str
            Text as compared (see `comparable_text`).

        Returns
        -------
        list of (RawCell, str)
            Each cell found once, with the first of its runs found.
        """
        hits: dict[int, str] = {}
        for run in sorted(self._occurring(text)):
            for index in sorted(self._runs[run]):
                hits.setdefault(index, run)
        return [(self.cells[i], run) for i, run in sorted(hits.items())]


def _runs_of(text: str) -> Iterator[str]:
    """Runs of at least `MIN_LITERAL` characters that hold a letter, and numbers of at least
    `MIN_DIGIT_RUN` digits."""
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    for start, end in tokens:
        if end - start >= MIN_DIGIT_RUN and text[start:end].isdigit():
            yield text[start:end]
    for i, (start, _) in enumerate(tokens):
        for _, end in tokens[i:]:
            if end - start >= MIN_LITERAL:
                run = text[start:end]
                if _LETTER.search(run):
                    yield run
                break


def comparable_text(text: str) -> str:
    """`text` as the scan compares it with raw free text (normalised, case-folded).

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        Normalised (`privacy.normalise`), white space collapsed to one space, case-folded.
    """
    return _comparable(text)


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


def identifiers_in(text: str, locales: Iterable[str] = DEFAULT_LOCALES) -> set[str]:
    """Every identifier-shaped string in `text`, normalised (to harvest the raw export's).

    Parameters
    ----------
    text : str
        Any text.
    locales : iterable of str
        Pattern sets to use.

    Returns
    -------
    set of str
        The identifiers of at least `MIN_LITERAL` characters, in comparable form.
    """
    norm = normalised_text(text)
    found = {norm[s:e] for s, e, _ in find_in_normalised(norm, locales)}
    return {_comparable(f).strip() for f in found if len(f) >= MIN_LITERAL}


def _label(path: Path) -> str:
    """The path relative to the working directory, or its name: never an absolute path."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def _digits_read(cell: str) -> int:
    """How many digits and Chinese numerals the cell holds as the scan reads it (NFKC): a
    circled ①, a parenthesised ⑴, a superscript ² or a Kangxi radical ⼀ is a digit or a
    numeral only then, and counted in the text as written, a run of them was never searched."""
    return len(_DIGIT_LIKE.findall(cell if cell.isascii() else unicodedata.normalize("NFKC", cell)))


def _cell_digit_runs(cells: Iterable[str]) -> list[DigitRun]:
    """The runs of `MIN_DIGIT_RUN` or more digits of each cell, cell after cell.

    The cells that could hold one are normalised and searched as one text, a line each (a
    table of estimates has tens of thousands): no step of the normalisation, no date, time,
    web address or decimal kept whole and no check character of an ID number reaches across a line
    break, and a cell's white space next to the break only merges with it, so the runs are
    those of each cell normalised and searched on its own.
    """
    long_cells = [c for c in cells if _digits_read(c) >= MIN_DIGIT_RUN]
    return digit_runs(normalised_text(_without_blobs("\n".join(long_cells))), MIN_DIGIT_RUN)


def scan_file(
    path: str | Path,
    literals: Iterable[str] = (),
    label: str | None = None,
    *,
    free_text: FreeTextIndex | None = None,
    data_cells: bool = True,
    paths: bool = True,
    locales: Iterable[str] = DEFAULT_LOCALES,
) -> list[Finding]:
    """What one file holds that it must not.

    Parameters
    ----------
    path : str or Path
        The file.
    literals : iterable of str
        Identifiers of the raw export that may appear nowhere (comparable form).
    label : str, optional
        How to name the file in findings.
    free_text : FreeTextIndex, optional
        The raw free text that may appear nowhere.
    data_cells : bool
        Check the text cells of a data output for runs of 7 or more digits.
    paths : bool
        Check for absolute paths.
    locales : iterable of str
        Pattern sets to use.

    Returns
    -------
    list of Finding
        One finding per identifier, leaked cell, digit run or path; masked.
    """
    path = Path(path)
    name = label or _label(path)
    text = normalised_text(_without_blobs(readable_text(path)))
    findings = []
    matched_digits = []
    for start, end, kind in find_in_normalised(text, locales):
        found = text[start:end]
        matched_digits.append(re.sub(r"\D", "", found))
        findings.append(Finding(name, kind, f"pattern match {_mask(found)!r}"))
    compared = re.sub(r"\s+", " ", text).casefold()
    for literal in sorted(set(literals)):
        if literal and literal in compared:
            findings.append(
                Finding(name, "raw-export identifier", f"copied verbatim {_mask(literal)!r}")
            )
    if free_text is not None:
        for cell, run in free_text.find(compared):
            where = f"{cell.sheet} " if cell.sheet else ""
            findings.append(
                Finding(
                    name,
                    "raw free text",
                    f"{len(run)}+ characters of the free text in {where}row {cell.row}, "
                    f"column {cell.column!r} copied verbatim {_mask(run)!r}",
                )
            )
    if data_cells and path.suffix.lower() in DATA_SUFFIXES:
        for run in _cell_digit_runs(text_cells(path)):
            if any(run.digits in d for d in matched_digits):
                continue  # already reported as a phone, ID or card number
            matched_digits.append(run.digits)
            findings.append(
                Finding(
                    name,
                    "digit run",
                    f"{len(run.digits)} digits in a text cell {_mask(run.digits)!r}",
                )
            )
    if paths:
        for match in _ABSOLUTE_PATH.finditer(text):
            findings.append(Finding(name, "absolute path", f"{_mask(match.group())!r}"))
    return findings


def _files(roots: Iterable[str | Path], skipped: set[Path]) -> list[tuple[Path, str]]:
    """Files under `roots` and their labels: relative to the root, prefixed by its name.

    A file in `skipped`, or under a directory in it, is left out.
    """
    files = []
    for root in map(Path, roots):
        if not root.exists():
            continue
        if root.is_file():
            candidates = [(root, _label(root))]
        else:
            base = _label(root)
            candidates = [
                (p, str(Path(base) / p.relative_to(root)))
                for p in sorted(root.rglob("*"))
                if p.is_file()
            ]
        for p, label in candidates:
            resolved = p.resolve()
            if resolved not in skipped and not skipped.intersection(resolved.parents):
                files.append((p, label))
    return files


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """A digest of the code a verdict depends on: this module, the redactor, jieba's version."""
    from importlib import metadata

    digest = hashlib.sha256()
    for module in (Path(__file__), Path(__file__).with_name("identifiers.py")):
        digest.update(module.read_bytes())
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("jieba").encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ScanMemo:
    """Verdicts of files already scanned, so that an unchanged file is not read again.

    An entry is keyed by the file's content (sha256), its suffix (which decides how it is
    read) and a digest of everything else the verdict depends on: the raw export's identifiers
    and free-text runs looked for, the locales, the checks switched on and the scan's code. It
    holds the findings as reported (kinds and masked hints, never an identifier or a run of
    free text), without the file's name, which is added when the entry is used. The entries
    are one JSON file, ``memo.json`` under `directory` (``results/cache/identifier_scan``),
    read when the memo is created and written by `save` with the entries this scan used only,
    so it does not grow from build to build.

    Parameters
    ----------
    directory : str or Path
        Where the memo is kept.
    """

    directory: Path
    hits: int = 0
    misses: int = 0
    _stored: dict[str, list[dict[str, str]]] = field(default_factory=dict, repr=False)
    _used: dict[str, list[dict[str, str]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        with contextlib.suppress(OSError, ValueError):
            stored = json.loads((self.directory / "memo.json").read_text(encoding="utf-8"))
            if isinstance(stored, dict):
                self._stored = stored

    def key(self, path: Path, context: str) -> str:
        """The entry of `path`'s content under `context` (see `_verdict_context`)."""
        return hashlib.sha256(
            f"{_file_sha256(path)}\0{path.suffix.lower()}\0{context}".encode()
        ).hexdigest()

    def known(self, key: str) -> bool:
        """Whether the verdict of `key` is kept or was given earlier in this scan."""
        return key in self._used or key in self._stored

    def record(self, key: str, label: str, findings: list[Finding] | None) -> list[Finding]:
        """The findings of `key` named for `label`: those given (a miss) or those kept (a hit)."""
        if findings is None:
            self.hits += 1
            stored = self._used.get(key, self._stored.get(key))
            assert stored is not None, "a hit on a verdict never given"
        else:
            self.misses += 1
            stored = [{"kind": f.kind, "hint": f.hint} for f in findings]
        self._used[key] = stored
        return [Finding(label, f["kind"], f["hint"]) for f in stored]

    def scan(self, path: Path, label: str, context: str, scan: Any) -> list[Finding]:
        """`scan()`'s findings for `path`, from the memo where this content was seen before."""
        key = self.key(path, context)
        return self.record(key, label, None if self.known(key) else scan())

    def save(self) -> int:
        """Write the entries this scan used; returns how many stale ones were dropped."""
        from hazegov.io import write_text

        dropped = len(set(self._stored) - set(self._used))
        entries = dict(sorted(self._used.items()))
        write_text(self.directory / "memo.json", json.dumps(entries, ensure_ascii=False) + "\n")
        return dropped


# A task: a file, its label, and whether its data cells and paths are checked.
_Task = tuple[Path, str, bool, bool]
# Less to read than this is scanned here: starting the worker processes would cost more (the
# logs, 50 kB, take 40 ms here and 60 ms in two workers).
POOL_MIN_BYTES = 1 << 20
_worker_scan: dict[str, Any] = {}


def _start_worker(literals: set[str], free_text: FreeTextIndex | None, locales: tuple) -> None:
    _worker_scan.update(literals=literals, free_text=free_text, locales=locales)


def _scan_in_worker(task: _Task) -> list[Finding]:
    path, label, data_cells, paths = task
    return scan_file(path, label=label, data_cells=data_cells, paths=paths, **_worker_scan)


class _Scanner:
    """Scans files for one set of literals, free text and locales, here or in worker processes.

    With more than one worker, the files are handed out largest first (the multiverse estimates
    alone are a sixth of a build's text) and the findings put back in the order of the files,
    so that they and the report are the same whatever the number of workers. Fewer than
    `POOL_MIN_BYTES` are scanned here.
    """

    def __init__(
        self,
        literals: set[str],
        free_text: FreeTextIndex | None,
        locales: tuple[str, ...],
        workers: int = 1,
    ) -> None:
        self.literals, self.free_text, self.locales = literals, free_text, locales
        self.workers = max(1, workers)
        self._pool: Any = None

    def __enter__(self) -> _Scanner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def scan(self, tasks: list[_Task]) -> list[list[Finding]]:
        """The findings of each task, in the order of `tasks`."""
        sizes = [path.stat().st_size for path, *_ in tasks]
        if self.workers == 1 or len(tasks) < 2 or sum(sizes) < POOL_MIN_BYTES:
            return [
                scan_file(
                    path,
                    self.literals,
                    label,
                    free_text=self.free_text,
                    data_cells=data_cells,
                    paths=paths,
                    locales=self.locales,
                )
                for path, label, data_cells, paths in tasks
            ]
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                self.workers,
                initializer=_start_worker,
                initargs=(self.literals, self.free_text, self.locales),
            )
        largest_first = sorted(range(len(tasks)), key=lambda i: -sizes[i])
        futures = {i: self._pool.submit(_scan_in_worker, tasks[i]) for i in largest_first}
        return [futures[i].result() for i in range(len(tasks))]


def _verdict_context(
    literals: set[str],
    free_text: FreeTextIndex | None,
    data_cells: bool,
    paths: bool,
    locales: Iterable[str],
) -> str:
    """A digest of all that a file's findings depend on besides its content and suffix."""
    digest = hashlib.sha256()
    for literal in sorted(literals):
        digest.update(literal.encode() + b"\0")
    parts = [
        "none" if free_text is None else free_text.fingerprint(),
        str(data_cells),
        str(paths),
        ",".join(locales),
        str(MIN_LITERAL),
        str(MIN_DIGIT_RUN),
        _code_digest(),
    ]
    digest.update("\0".join(parts).encode())
    return digest.hexdigest()


def scan_tree(
    roots: Iterable[str | Path],
    literals: Iterable[str] = (),
    skip: Iterable[str | Path] = (),
    *,
    free_text: FreeTextIndex | None = None,
    data_cells: bool = True,
    paths: bool = True,
    locales: Iterable[str] = DEFAULT_LOCALES,
    memo: ScanMemo | None = None,
    workers: int = 1,
    scanner: _Scanner | None = None,
) -> tuple[list[Finding], int]:
    """Findings in every file under `roots` (files or directories), and the number scanned.

    Parameters
    ----------
    roots : iterable of str or Path
        Files and directories.
    literals : iterable of str
        Identifiers of the raw export (comparable form).
    skip : iterable of str or Path
        Files and directories not to scan.
    free_text : FreeTextIndex, optional
        Raw free text that may appear nowhere.
    data_cells, paths : bool
        As for `scan_file`.
    locales : iterable of str
        Pattern sets to use.
    memo : ScanMemo, optional
        Reuse the verdict on a file whose content was scanned before under the same literals,
        free text, locales and code (the simulation caches, ~100 MB, rarely change); the
        findings are the same with or without it.
    workers : int
        Processes that scan the files; the findings are the same for any number.
    scanner : _Scanner, optional
        A scanner of the same literals, free text and locales, whose worker processes are
        reused (`scan_outputs`); `workers` is then not used.

    Returns
    -------
    tuple of (list of Finding, int)
        The findings and the number of files scanned.
    """
    skipped = {Path(s).resolve() for s in skip}
    literals = set(literals)
    locales = tuple(locales)
    files = _files(roots, skipped)
    context = _verdict_context(literals, free_text, data_cells, paths, locales) if memo else ""
    keys: list[str | None] = [None] * len(files)
    read: list[int] = []  # the files scanned: without a memo, all; with it, new content only
    planned: set[str] = set()
    for i, (path, _) in enumerate(files):
        if memo is None:
            read.append(i)
            continue
        key = keys[i] = memo.key(path, context)
        if not memo.known(key) and key not in planned:
            planned.add(key)
            read.append(i)
    tasks = [(files[i][0], files[i][1], data_cells, paths) for i in read]
    with contextlib.ExitStack() as stack:
        if scanner is None:
            scanner = stack.enter_context(_Scanner(literals, free_text, locales, workers))
        scanned = dict(zip(read, scanner.scan(tasks), strict=True))
    findings: list[Finding] = []
    for i, (_, label) in enumerate(files):
        key = keys[i]
        if memo is None or key is None:
            findings += scanned[i]
        else:
            findings += memo.record(key, label, scanned.get(i))
    return findings, len(files)


def raw_export_identifiers(
    export: str | Path,
    codebook: str | Path | Any | None = None,
    locales: Iterable[str] = DEFAULT_LOCALES,
) -> set[str]:
    """The identifiers present anywhere in the raw export: IP column, phone numbers in text, ...

    Parameters
    ----------
    export : str or Path
        The raw export.
    codebook : str, Path, Codebook or None
        With a codebook, the whole cells of its identifier columns (IP address, referrer) of at
        least `MIN_LITERAL` characters are included too.
    locales : iterable of str
        Pattern sets to use.

    Returns
    -------
    set of str
        Identifiers in comparable form.
    """
    sheets = read_raw_sheets(export)
    text = "\n".join(",".join(row) for _, rows in sheets for row in rows)
    found = identifiers_in(text, locales)
    if codebook is not None:
        found |= _identifier_column_cells(export, codebook)
    return found


def export_name_literals(export: str | Path) -> set[str]:
    """The export's file name, and the identifiers in it, where it holds one (王小明_导出.csv).

    Parameters
    ----------
    export : str or Path
        The raw export.

    Returns
    -------
    set of str
        Empty when the file name holds no identifier; otherwise the file name, its stem and
        each identifier found in the stem, in comparable form.
    """
    path = Path(export)
    matches = find_identifiers(path.stem)
    if not matches:
        return set()
    found = {_comparable(path.name).strip(), _comparable(path.stem).strip()}
    found |= {_comparable(path.stem[m.start : m.end]).strip() for m in matches}
    return {f for f in found if len(f) >= 2}


def _public_texts(public: Iterable[str | Path]) -> list[str]:
    texts = []
    for item in public:
        path = Path(item)
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            with contextlib.suppress(OSError, ValueError):
                texts.append(readable_text(file))
    return texts


@dataclass
class ScanResult:
    """What `scan_outputs` found and how much it looked at.

    Attributes
    ----------
    findings : list of Finding
        Everything found, outputs first, then the quarantine file, then the logs.
    files_scanned, log_files_scanned : int
        Output files (the quarantine file included) and log files read.
    literals : int
        Identifiers of the raw export looked for.
    free_text_cells, free_text_runs : int
        Raw free-text cells, and runs of them, looked for.
    """

    findings: list[Finding]
    files_scanned: int
    log_files_scanned: int
    literals: int
    free_text_cells: int
    free_text_runs: int


def scan_outputs(
    roots: Iterable[str | Path],
    export: str | Path,
    *,
    codebook: str | Path | Any | None = None,
    quarantine: str | Path | None = None,
    logs: str | Path | None = None,
    public: Iterable[str | Path] = (),
    skip: Iterable[str | Path] = (),
    min_count: int = 5,
    locales: Iterable[str] = DEFAULT_LOCALES,
    memo: str | Path | ScanMemo | None = None,
    workers: int = 1,
) -> ScanResult:
    """Scan the outputs and the logs of a build for anything that identifies a respondent.

    Parameters
    ----------
    roots : iterable of str or Path
        Output files and directories (``results/``).
    export : str or Path
        The raw export, read here for its free text and identifiers.
    codebook : str, Path, Codebook or None
        Which columns are free text; None for ``config/codebook.yaml``.
    quarantine : str or Path, optional
        The one restricted file that may hold (redacted) free text. It is searched for the
        identifier patterns and the raw export's identifiers only: free text, digit runs and
        paths are what it is allowed to hold.
    logs : str or Path, optional
        The logs directory (``logs/``): read like outputs, except for the data-cell check.
    public : iterable of str or Path
        Files and directories of public text (the codebook is always included): runs of raw
        free text that also occur there (a questionnaire label copied into an answer, a
        phrase of a published policy document) are not looked for.
    skip : iterable of str or Path
        Files not to scan (the scan's own report).
    min_count : int
        A run of free text found in the answers of this many rows or more is a common answer,
        not looked for (the smallest count a published aggregate may show).
    locales : iterable of str
        Pattern sets to use (`privacy.LOCALES`).
    memo : str, Path or ScanMemo, optional
        Where verdicts on unchanged files are kept (`ScanMemo`); not scanned itself.
    workers : int
        Processes that scan the files (the rule's threads); the findings are the same for any
        number.

    Returns
    -------
    ScanResult
        Findings and counts.
    """
    locales = tuple(locales)
    book = _load_codebook(codebook)
    cells = raw_free_text_cells(export, book)
    public_paths = [Path(p) for p in public]
    if book is not None and Path(book.path).is_file():
        public_paths.append(Path(book.path))
    index = FreeTextIndex(cells, _public_texts(public_paths), min_count=min_count)
    literals = raw_export_identifiers(export, book, locales) | export_name_literals(export)
    skipped = {Path(s).resolve() for s in skip}
    if memo is not None and not isinstance(memo, ScanMemo):
        memo = ScanMemo(Path(memo))
    if memo is not None:  # masked verdicts of this scan, not an output
        skipped.add(memo.directory.resolve())
    quarantined = Path(quarantine).resolve() if quarantine else None
    if quarantined is not None:
        skipped.add(quarantined)
    with _Scanner(literals, index, locales, workers) as scanner:
        findings, n_files = scan_tree(
            roots, literals, skipped, free_text=index, locales=locales, memo=memo, scanner=scanner
        )
        if quarantined is not None and quarantined.is_file():
            findings += scan_file(
                quarantined,
                literals,
                label=_label(Path(quarantine)),  # type: ignore[arg-type]
                data_cells=False,
                paths=False,
                locales=locales,
            )
            n_files += 1
        n_logs = 0
        if logs is not None:
            # not through the memo: every log changes with every run (its job's timings), and
            # a memo of outputs only is the same for two builds of the same outputs
            log_findings, n_logs = scan_tree(
                [logs],
                literals,
                skipped,
                free_text=index,
                data_cells=False,
                locales=locales,
                scanner=scanner,
            )
            findings += log_findings
    return ScanResult(findings, n_files, n_logs, len(literals), len(cells), len(index))


def _workers_cpu() -> float:
    """CPU seconds of the ended worker processes of this job (and of any other child)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_identifier_scan(
    roots: Iterable[str | Path],
    export: str | Path,
    report_out: str | Path,
    *,
    codebook: str | Path | Any | None = None,
    quarantine: str | Path | None = None,
    logs: str | Path | None = None,
    public: Iterable[str | Path] = (),
    min_count: int = 5,
    locales: Iterable[str] = DEFAULT_LOCALES,
    memo: str | Path | None = None,
    workers: int = 1,
) -> None:
    """Scan the build; stop with every finding listed, or write a report of what was scanned.

    Parameters
    ----------
    roots : iterable of str or Path
        Output files and directories (``results/``).
    export : str or Path
        The raw export.
    report_out : str or Path
        Where the report goes (JSON); not scanned itself.
    codebook, quarantine, logs, public, min_count, locales, memo, workers
        As for `scan_outputs`.

    Raises
    ------
    InputError
        With one violation (rule ``no-direct-identifier``) per finding; no report is written.
    """
    from hazegov.io import write_text

    locales = tuple(locales)
    store = None if memo is None else ScanMemo(Path(memo))
    workers_before = _workers_cpu()
    result = scan_outputs(
        roots,
        export,
        codebook=codebook,
        quarantine=quarantine,
        logs=logs,
        public=public,
        skip=[report_out],
        min_count=min_count,
        locales=locales,
        memo=store,
        workers=workers,
    )
    if workers > 1:
        # the job's resources (its log's last line) count its own process only
        log.info("worker processes: %.1f s CPU", _workers_cpu() - workers_before)
    if store is not None:
        log.info(
            "memo: %d file(s) unchanged since scanned, %d read, %d stale entries dropped",
            store.hits,
            store.misses,
            store.save(),
        )
    n_rules = len(rules_for(locales, outputs=True))
    log.info(
        "scanned %d files and %d logs for %d identifier rules, %d identifiers of the raw export "
        "and %d runs of its %d free-text cells: %d finding(s)",
        result.files_scanned,
        result.log_files_scanned,
        n_rules,
        result.literals,
        result.free_text_runs,
        result.free_text_cells,
        len(result.findings),
    )
    if result.findings:
        raise InputError(
            [
                Violation(file=f.file, rule="no-direct-identifier", message=f"{f.kind}: {f.hint}")
                for f in result.findings
            ]
        )
    report = {
        "files_scanned": result.files_scanned,
        "log_files_scanned": result.log_files_scanned,
        "findings": [asdict(f) for f in result.findings],
        "identifier_kinds": kinds(locales),
        "locales": list(locales),
        "raw_export_identifiers_checked": result.literals,
        "raw_free_text_cells_checked": result.free_text_cells,
        "raw_free_text_runs_checked": result.free_text_runs,
        "quarantine": None if quarantine is None else _label(Path(quarantine)),
        "checks": [
            "identifier patterns (normalised text)",
            f"runs of {MIN_LITERAL}+ characters of raw free text",
            f"runs of {MIN_DIGIT_RUN}+ digits in text cells of data outputs",
            "absolute paths",
            "identifiers and identifying file name of the raw export",
        ],
    }
    write_text(report_out, json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
