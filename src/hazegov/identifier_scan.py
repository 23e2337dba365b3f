"""A last gate before anything leaves the machine: no direct identifier in any output.

Ingest drops identifier columns and redacts identifiers inside free text. This scan checks the
result independently, in every file the build wrote: tables, data sets (parquet, SPSS),
figures' metadata, and the rendered paper (HTML, PDF, DOCX). It looks for two things: anything
shaped like a direct identifier (the rules of `hazegov.privacy`, on normalised text), and the
literal identifiers present in the raw export, so that an identifier the patterns miss in one
place is still caught where it was copied verbatim. Findings never print the identifier itself.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from hazegov.errors import InputError, Violation
from hazegov.privacy import find_in_normalised, kinds, normalised_text, rules_for

TEXT_SUFFIXES = {
    ".csv", ".tsv", ".md", ".qmd", ".json", ".yml", ".yaml", ".txt", ".html", ".htm", ".log",
    ".dot", ".svg", ".bib", ".tex", ".typ", ".ipynb", ".rst", ".css", ".js",
}  # fmt: skip
# Content that is not text a person wrote: digests, base64 images and fonts. Digit runs inside
# them look like phone or ID numbers.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{120,}")
_MIN_LITERAL = 6
log = logging.getLogger("hazegov")


@dataclass(frozen=True)
class Finding:
    file: str
    kind: str
    hint: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind} ({self.hint})"


def _mask(value: str) -> str:
    return value[:2] + "*" * max(len(value) - 2, 1)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    parts = [page.extract_text() or "" for page in reader.pages]
    parts.append(json.dumps({k: str(v) for k, v in (reader.metadata or {}).items()}))
    return "\n".join(parts)


def _zip_xml_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        xml = [
            archive.read(name).decode("utf-8", "replace")
            for name in archive.namelist()
            if name.endswith((".xml", ".rels"))
        ]
    return re.sub(r"<[^>]+>", " ", "\n".join(xml))


def _parquet_text(path: Path) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    parts = [
        json.dumps(
            {
                k.decode(): v.decode("utf-8", "replace")
                for k, v in (table.schema.metadata or {}).items()
            }
        )
    ]
    parts += table.column_names
    for column in table.columns:
        if column.type in ("string", "large_string") or str(column.type).startswith(
            ("string", "dictionary")
        ):
            parts += [str(v) for v in column.to_pylist() if v is not None]
    return "\n".join(parts)


def _sav_text(path: Path) -> str:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    parts = [str(meta.file_label or ""), *map(str, meta.column_labels or [])]
    for labels in (meta.variable_value_labels or {}).values():
        parts += [str(v) for v in labels.values()]
    for column in frame.columns:
        if frame[column].dtype == object:
            parts += [str(v) for v in frame[column].dropna()]
    return "\n".join(parts)


def _png_text(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as image:
        return "\n".join(f"{k}: {v}" for k, v in image.info.items() if isinstance(v, str))


def readable_text(path: str | Path) -> str:
    """All text a reader of `path` could see, including metadata, by file type."""
    path = Path(path)
    suffix = path.suffix.lower()
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


def _without_blobs(text: str) -> str:
    return _BASE64_RUN.sub(" ", _HEX_RUN.sub(" ", text))


def identifiers_in(text: str) -> set[str]:
    """Every identifier-shaped string in `text` (used to harvest the raw export's identifiers)."""
    norm = normalised_text(text)
    found = {norm[s:e] for s, e, _ in find_in_normalised(norm)}
    return {f for f in found if len(f) >= _MIN_LITERAL}


def scan_file(
    path: str | Path, literals: Iterable[str] = (), label: str | None = None
) -> list[Finding]:
    # Normalised as the redactor normalises: decimal fractions, dates and IP addresses are kept
    # whole, so the digits after a decimal point are never read as a phone number.
    text = normalised_text(_without_blobs(readable_text(path)))
    name = label or str(path)
    findings = []
    for start, end, kind in find_in_normalised(text):
        findings.append(Finding(name, kind, f"pattern match {_mask(text[start:end])!r}"))
    for literal in sorted(set(literals)):
        if literal in text:
            findings.append(
                Finding(name, "raw-export identifier", f"copied verbatim {_mask(literal)!r}")
            )
    return findings


def scan_tree(
    roots: Iterable[str | Path], literals: Iterable[str] = (), skip: Iterable[str | Path] = ()
) -> tuple[list[Finding], int]:
    """Findings in every file under `roots` (files or directories), and the number scanned."""
    skipped = {Path(s).resolve() for s in skip}
    literals = set(literals)
    files = []
    for root in map(Path, roots):
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        files += [p for p in candidates if p.resolve() not in skipped]
    findings = [f for p in files for f in scan_file(p, literals)]
    return findings, len(files)


def raw_export_identifiers(export: str | Path) -> set[str]:
    """The identifiers present anywhere in the raw export: IP column, phone numbers in text, ..."""
    path = Path(export)
    if path.suffix.lower() == ".xlsx":
        return identifiers_in(readable_text(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", "replace")
    return identifiers_in(text)


def run_identifier_scan(
    roots: Iterable[str | Path], export: str | Path, report_out: str | Path
) -> None:
    """Scan the build; stop with every finding listed, or write a report of what was scanned."""
    from hazegov.outputs import write_text

    literals = raw_export_identifiers(export)
    findings, n_files = scan_tree(roots, literals, skip=[report_out])
    log.info(
        "scanned %d files for %d identifier rules and %d identifiers of the raw export: "
        "%d finding(s)",
        n_files,
        len(rules_for(outputs=True)),
        len(literals),
        len(findings),
    )
    if findings:
        raise InputError(
            [
                Violation(file=f.file, rule="no-direct-identifier", message=f"{f.kind}: {f.hint}")
                for f in findings
            ]
        )
    report = {
        "files_scanned": n_files,
        "findings": [asdict(f) for f in findings],
        "identifier_kinds": kinds(),
        "raw_export_identifiers_checked": len(literals),
    }
    write_text(report_out, json.dumps(report, indent=2, sort_keys=True) + "\n")
