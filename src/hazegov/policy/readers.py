"""Reading policy texts (.txt, .md, .docx, .pdf) into plain text, or saying why a file can't be.

Users may drop the official full texts next to the register. A file that yields no usable text
(missing, empty, encrypted or image-only PDF, broken .docx, undecodable bytes) would otherwise
code as "mentions nothing", which looks like a finding; so it is an error by default.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hazegov.errors import InputError, Violation

ENCODINGS = ("auto", "utf-8", "gb18030")
READERS = {".txt": "plain_text", ".md": "markdown", ".docx": "docx", ".pdf": "pdf"}
# Control characters other than tab, newline, carriage return and form feed mean "not text".
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_MD_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_BLOCK = re.compile(r"^\s{0,3}(#{1,6}\s+|[-*+]\s+|\d+[.)]\s+)")


class UnreadableTextError(InputError):
    """A policy text that yields no usable text."""


@dataclass(frozen=True)
class PolicyText:
    """The plain text of one document and how it was obtained."""

    text: str
    reader: str
    encoding: str | None = None
    pages: int | None = None


def _fail(path: Path, rule: str, why: str, context: str) -> UnreadableTextError:
    suffix = f" ({context})" if context else ""
    return UnreadableTextError([Violation(str(path), rule, f"cannot read: {why}{suffix}")])


def _decode(raw: bytes, encoding: str, path: Path, context: str) -> tuple[str, str]:
    tried = ("utf-8-sig", "gb18030") if encoding == "auto" else (encoding,)
    for name in tried:
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            continue
        if _BINARY.search(text):
            raise _fail(
                path,
                "not-binary-text",
                f"decodes as {name} but holds control characters (a binary file, or UTF-16?)",
                context,
            )
        return text, "utf-8" if name == "utf-8-sig" else name
    raise _fail(
        path, "decodable-text", f"is not valid {' or '.join(t.upper() for t in tried)}", context
    )


def markdown_to_text(text: str) -> str:
    """Light Markdown stripping: headings and list items become paragraphs of their own."""
    lines = []
    for line in _MD_COMMENT.sub("", text).splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            stripped = stripped.lstrip(">").strip()
            if not stripped:
                lines.append("")
                continue
        block = _MD_BLOCK.match(stripped)
        if block:
            stripped = stripped[block.end() :]
            lines += ["", _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", stripped)), ""]
            continue
        lines.append(_MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", stripped)))
    return "\n".join(lines)


def _read_docx(path: Path, context: str) -> str:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells = [c.text.strip() for c in row.cells]
                    blocks.append(" ".join(c for c in cells if c))
            else:
                blocks.append(item.text)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _fail(path, "readable-docx", f"not a readable .docx ({exc})", context) from None
    except Exception as exc:  # python-docx and lxml raise many types for a broken package
        raise _fail(
            path, "readable-docx", f"not a readable .docx ({type(exc).__name__}: {exc})", context
        ) from None
    return "\n\n".join(blocks)


def _read_pdf(path: Path, context: str) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
    except (PyPdfError, OSError, ValueError) as exc:
        raise _fail(path, "readable-pdf", f"not a readable PDF ({exc})", context) from None
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # pypdf needs `cryptography` for AES
            raise _fail(
                path,
                "unencrypted-pdf",
                f"the PDF is encrypted and cannot be opened ({exc})",
                context,
            ) from None
        if not opened:
            raise _fail(
                path,
                "unencrypted-pdf",
                "the PDF is encrypted with a password; save an unencrypted copy",
                context,
            )
    try:
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, KeyError, ValueError, TypeError) as exc:
        raise _fail(path, "readable-pdf", f"text extraction failed ({exc})", context) from None
    if not any(p.strip() for p in pages):
        raise _fail(
            path,
            "pdf-text-layer",
            f"none of its {len(pages)} page(s) has a text layer (a scanned, image-only PDF?); "
            "run OCR first or supply the text as .txt",
            context,
        )
    return "\n\n".join(p.strip() for p in pages), len(pages)


def read_policy_text(path: str | Path, encoding: str = "auto", context: str = "") -> PolicyText:
    """Plain text of a .txt, .md, .docx or .pdf file; UnreadableTextError says why not.

    `encoding` applies to .txt and .md: auto tries UTF-8 (with or without BOM), then GB18030.
    `context` is added to error messages, e.g. the register row that names the file.
    """
    path = Path(path)
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise _fail(
            path,
            "known-text-format",
            f"unknown format {path.suffix!r} (use .txt, .md, .docx, .pdf)",
            context,
        )
    if not path.is_file():
        raise _fail(path, "text-file-exists", "the file does not exist", context)
    if path.stat().st_size == 0:
        raise _fail(path, "non-empty-text", "the file is empty (0 bytes)", context)
    used: str | None = None
    pages: int | None = None
    if reader in ("plain_text", "markdown"):
        text, used = _decode(path.read_bytes(), encoding, path, context)
        if reader == "markdown":
            text = markdown_to_text(text)
    elif reader == "docx":
        text = _read_docx(path, context)
    else:
        text, pages = _read_pdf(path, context)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n").lstrip("\ufeff")
    if not text.strip():
        raise _fail(path, "non-empty-text", "the file holds no text", context)
    return PolicyText(text=text.strip() + "\n", reader=reader, encoding=used, pages=pages)
