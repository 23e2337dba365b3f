"""Reading policy texts (.txt, .md, .docx, .pdf) into plain text, or saying why a file can't be.

Users may drop the official full texts next to the register. A file that yields no usable text
(missing, empty, encrypted or image-only PDF, broken .docx, undecodable bytes) would otherwise
code as "mentions nothing", which looks like a finding; so it is an error by default.
"""

from __future__ import annotations

import codecs
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
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # signature of old binary Office files (.doc)


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


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _looks_utf16(raw: bytes) -> bool:
    """A UTF-16 byte order mark, or NUL bytes (as ASCII in UTF-16 has) in bytes that decode as
    UTF-16 into ordinary text."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\0" not in raw:
        return False
    for name in ("utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            continue
        if text.strip() and not _BINARY.search(text):
            return True
    return False


def _decode(raw: bytes, encoding: str, path: Path, context: str) -> tuple[str, str]:
    tried = ("utf-8-sig", "gb18030") if encoding == "auto" else (encoding,)
    first_bad: int | None = None
    for name in tried:
        try:
            text = raw.decode(name)
        except UnicodeDecodeError as exc:
            first_bad = exc.start if first_bad is None else first_bad
            continue
        if _BINARY.search(text):
            what = (
                "it looks like UTF-16 (Windows Notepad's 'Unicode'); save it as UTF-8"
                if _looks_utf16(raw)
                else "a binary file named as text?"
            )
            raise _fail(
                path,
                "not-binary-text",
                f"decodes as {name} but holds control characters: {what}",
                context,
            )
        return text, "utf-8" if name == "utf-8-sig" else name
    names = " nor ".join("UTF-8" if t == "utf-8-sig" else t.upper() for t in tried)
    where = f"byte {first_bad}, {raw[first_bad : first_bad + 1]!r}"
    readable = [t for t in ("utf-8-sig", "gb18030") if t not in tried and _decodes(raw, t)]
    if _looks_utf16(raw):
        hint = "it looks like UTF-16 (Windows Notepad's 'Unicode'); "
    elif readable:
        hint = f"it reads as {readable[0].upper()}: set policies.ingest.text_encoding to auto, or "
    else:
        hint = "it is in another encoding (Latin-1, Windows-1252, Big5?); "
    raise _fail(
        path,
        "decodable-text",
        f"is {'neither ' if len(tried) > 1 else 'not '}{names} ({where}): {hint}save it as UTF-8",
        context,
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


def _head(path: Path, n: int = 16) -> str:
    """The first bytes of a file, shown in a message about what the file really is."""
    with open(path, "rb") as handle:
        return repr(handle.read(n))


def _docx_package(path: Path, context: str) -> None:
    """A .docx is a ZIP package with [Content_Types].xml; say plainly when the file is not."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE2):
        raise _fail(
            path,
            "readable-docx",
            "an old binary Word (.doc) file named .docx; open it in Word and save as .docx",
            context,
        )
    if not zipfile.is_zipfile(path) and head.startswith(b"PK\x03\x04"):
        raise _fail(
            path,
            "readable-docx",
            "starts as a ZIP package (as a .docx is) but its end, the ZIP directory, is missing: "
            "the file is truncated (an interrupted download or copy?)",
            context,
        )
    if not zipfile.is_zipfile(path):
        raise _fail(
            path,
            "readable-docx",
            f"not a .docx: a .docx is a ZIP package, and this file is not one (it starts "
            f"{_head(path)}: truncated, or another format renamed .docx?)",
            context,
        )
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(path, "readable-docx", f"the ZIP package is damaged ({exc})", context) from None
    if "[Content_Types].xml" not in names:
        shown = ", ".join(sorted(names)[:5]) or "nothing"
        raise _fail(
            path,
            "readable-docx",
            f"a ZIP archive but not a Word package: it has no [Content_Types].xml (it holds "
            f"{shown})",
            context,
        )


def _read_docx(path: Path, context: str) -> str:
    import docx
    from docx.table import Table

    _docx_package(path, context)
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

    with open(path, "rb") as handle:
        head = handle.read(1024)
        handle.seek(max(0, path.stat().st_size - 1024))
        tail = handle.read()
    if b"%PDF-" not in head:
        raise _fail(
            path,
            "pdf-signature",
            f"not a PDF: the file does not start with %PDF- (it starts {_head(path)}: a web "
            "page or another format saved as .pdf?)",
            context,
        )
    if b"%%EOF" not in tail:
        # pypdf would say "Stream has ended unexpectedly"; name the cause instead.
        raise _fail(
            path,
            "pdf-complete",
            "the PDF ends without its %%EOF marker: the file is truncated (an interrupted "
            "download or copy?); fetch it again",
            context,
        )
    try:
        reader = PdfReader(str(path))
    except (PyPdfError, OSError, ValueError) as exc:
        raise _fail(path, "readable-pdf", f"not a readable PDF ({exc})", context) from None
    except Exception as exc:  # pypdf raises many types for a damaged file
        raise _fail(
            path, "readable-pdf", f"not a readable PDF ({type(exc).__name__}: {exc})", context
        ) from None
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
    except Exception as exc:  # e.g. AttributeError or RecursionError on a damaged page tree
        raise _fail(
            path, "readable-pdf", f"text extraction failed ({type(exc).__name__}: {exc})", context
        ) from None
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
