"""Write the policy-register, policy-text and air-quality cases of the bad-input corpus.

    python tests/bad_inputs/make_policy_and_air_cases.py

Each class has a small valid baseline that passes `hazegov check` (`baseline_register.csv` in
policy_register/ and policy_text/, `baseline.csv` and `multi_site_baseline.csv` in air/); every
case is its baseline with one planted defect, so it fails for that reason and no other. The
script also writes each folder's cases.yaml, with the error every case must produce.

Output is byte-for-byte stable: the PDFs and .docx files are assembled here by hand (no
timestamps, no random file identifiers, ZIP members stored with a fixed date), and
tests/unit/test_policy_register.py and tests/unit/test_air_reader.py check that the committed
files are what this script writes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FOLDERS = ("policy_register", "policy_text", "air")

# --- policy register ---------------------------------------------------------------------------

COLUMNS = [
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
    "provisional_fields",
    "label_en",
    "notes",
]
TEXT_A = "环境保护部会同国家发展改革委制定排放标准。市政府负责监测。\n"
TEXT_B = "# Document B\n\nThe Ministry of Finance provides subsidies for clean heating.\n"
TEXT_C = "朝阳区人民政府负责落实燃煤锅炉改造，区环保局负责检查。\n"


def _doc(doc_id: str, title_zh: str, title_en: str, **cells: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row |= {"id": doc_id, "title_zh": title_zh, "title_en": title_en, "label_en": title_en}
    row |= {"notes": "invented test document", **cells}
    return row


REGISTER = [
    _doc(
        "doc-a",
        "文件甲",
        "Document A",
        issuer="Ministry of Environmental Protection",
        level="central",
        doc_number="环发〔2013〕1号",
        issued="2013-09-10",
        issued_precision="day",
        source_url="https://www.example.org/policies/doc-a",
        text_kind="official_full_text",
        text_file="texts/doc_a.txt",
    ),
    _doc(
        "doc-b",
        "文件乙",
        "Document B",
        issuer="Beijing Municipal People's Government",
        level="municipal",
        issued="2013-10",
        issued_precision="month",
        text_kind="project_digest",
        text_file="texts/doc_b.md",
    ),
    _doc(
        "doc-c",
        "文件丙",
        "Document C",
        issuer="Chaoyang District People's Government",
        level="district",
        issued="2014",
        issued_precision="year",
        in_force_from="2014-03-01",
        in_force_to="2017-12-31",
        text_kind="official_full_text",
        text_file="texts/doc_c.txt",
        provisional_fields="issued",
    ),
]


def _csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    columns = columns or COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return buffer.getvalue().encode("utf-8")


def _edit(rows: list[dict[str, str]], index: int, **cells: str) -> list[dict[str, str]]:
    """The rows with document `index` (0-based; file row index + 2) changed."""
    return [row | cells if i == index else dict(row) for i, row in enumerate(rows)]


def _case(
    case_id: str, what: str, path: str, rule: str, *, cls: str, source: str, **error: Any
) -> dict[str, Any]:
    """One manifest entry; `error` may hold row, column, contains, file (the file the message
    must name, when not `path`) and options (the `hazegov check --option` settings)."""
    options = error.pop("options", None)
    case = {"id": case_id, "class": cls, "what": what, "source": source, "file": path}
    if options:
        case["options"] = options
    case["error"] = {"rule": rule, **error}
    return case


def policy_register() -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    here = "tests/bad_inputs/policy_register"
    files = {
        "texts/doc_a.txt": TEXT_A.encode("utf-8"),
        "texts/doc_b.md": TEXT_B.encode("utf-8"),
        "texts/doc_c.txt": TEXT_C.encode("utf-8"),
        "baseline_register.csv": _csv(REGISTER),
    }
    cases: list[dict[str, Any]] = []

    def add(name: str, data: bytes, case_id: str, what: str, rule: str, **error: Any) -> None:
        files[name] = data
        cases.append(
            _case(case_id, what, name, rule, cls="policy register", source="register", **error)
        )

    add(
        "missing_text.csv",
        _csv(_edit(REGISTER, 1, text_file="texts/doc_b_final.md")),
        "text-file-missing",
        "a register row pointing to a text file that does not exist",
        "text-file-exists",
        row=3,
        column="text_file",
        contains=["texts/doc_b_final.md", f"{here}/texts/doc_b_final.md"],
    )
    add(
        "duplicate_id.csv",
        _csv(_edit(REGISTER, 2, id="doc-a")),
        "duplicated-id",
        "two rows with the same document id",
        "unique-id",
        row=4,
        column="id",
        contains=["repeats the id of row 2"],
    )
    add(
        "impossible_date.csv",
        _csv(_edit(REGISTER, 0, issued="2013-02-30")),
        "impossible-issue-date",
        "an issue date that does not exist (30 February 2013)",
        "valid-date",
        row=2,
        column="issued",
        contains=["2013-02-30", "day 30, outside 1-28"],
    )
    add(
        "malformed_date.csv",
        _csv(_edit(REGISTER, 0, issued="10/09/2013")),
        "malformed-issue-date",
        "an issue date written day/month/year instead of ISO",
        "valid-date",
        row=2,
        column="issued",
        contains=["10/09/2013", "not an ISO date"],
    )
    add(
        "missing_column.csv",
        _csv(REGISTER, [c for c in COLUMNS if c != "text_kind"]),
        "missing-required-column",
        "a register without the required column text_kind",
        "required-column",
        row=1,
        column="text_kind",
    )
    add(
        "empty.csv",
        b"",
        "empty-register",
        "an empty register file (0 bytes)",
        "non-empty-file",
        contains=["empty"],
    )
    add(
        "header_only.csv",
        _csv([]),
        "register-without-documents",
        "a register with its header but no document row",
        "non-empty-register",
        contains=["lists no document"],
    )
    add(
        "unknown_level.csv",
        _csv(_edit(REGISTER, 1, level="provincial")),
        "unknown-level",
        "a level outside central, municipal, district",
        "known-level",
        row=3,
        column="level",
        contains=["'provincial'"],
    )
    add(
        "unknown_text_kind.csv",
        _csv(_edit(REGISTER, 2, text_kind="full_text")),
        "unknown-text-kind",
        "a text kind outside official_full_text, project_digest",
        "known-text-kind",
        row=4,
        column="text_kind",
        contains=["'full_text'"],
    )
    add(
        "unsupported_text_format.csv",
        _csv(_edit(REGISTER, 0, text_file="texts/doc_a.doc")),
        "unsupported-text-format",
        "a text file in a format there is no reader for (.doc)",
        "known-text-format",
        row=2,
        column="text_file",
        contains=["'texts/doc_a.doc'"],
    )
    short = _csv(REGISTER).decode("utf-8").splitlines()
    short[2] = short[2].rsplit(",", 1)[0]  # the notes cell of row 3 is gone
    add(
        "short_row.csv",
        ("\n".join(short) + "\n").encode("utf-8"),
        "row-with-a-missing-cell",
        "a row with one cell fewer than the header",
        "row-length",
        row=3,
        contains=["has 15 cells, the header 16"],
    )
    unclosed = _csv(REGISTER).decode("utf-8").replace(",Document B,", ',"Document B,', 1)
    add(
        "unclosed_quote.csv",
        unclosed.encode("utf-8"),
        "unclosed-quote",
        "a quoted cell that is never closed, swallowing the rest of the file",
        "csv-syntax",
        row=3,
        contains=["never closed", "starting on line 3"],
    )
    add(
        "gbk_encoded.csv",
        _csv(REGISTER).decode("utf-8").encode("gb18030"),
        "register-not-utf8",
        "a register saved as GBK by Excel on Chinese Windows",
        "utf-8-register",
        row=2,
        contains=["GB18030/GBK", "CSV UTF-8"],
    )
    add(
        "in_force_order.csv",
        _csv(_edit(REGISTER, 2, in_force_to="2013-12-31")),
        "in-force-end-before-start",
        "an in-force end date before the in-force start",
        "in-force-order",
        row=4,
        column="in_force_to",
        contains=["'2013-12-31'"],
    )
    add(
        "precision_mismatch.csv",
        _csv(_edit(REGISTER, 1, issued_precision="day")),
        "precision-contradicts-date",
        "issued_precision 'day' for an issue date given to the month",
        "precision-matches-date",
        row=3,
        column="issued_precision",
    )
    cases.append(
        _case(
            "register-missing",
            "a register path that names no file",
            "./no_such_register.csv",
            "file-exists",
            cls="policy register",
            source="register",
            contains=["does not exist"],
        )
    )
    return files, cases


# --- policy texts ------------------------------------------------------------------------------

PDF_TEXT = "The Ministry of Finance provides subsidies for clean heating."
DOCX_TEXT = "北京市人民政府负责组织实施，市环保局负责监督检查。"
_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
_PDF_ID = hashlib.md5(b"hazegov bad-input corpus").digest()


def _rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def _pdf(
    content: bytes,
    resources: bytes = b"<< /Font << /F1 4 0 R >> >>",
    extra: bytes = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    password: str | None = None,
) -> bytes:
    """A one-page PDF 1.4 (objects: catalog, pages, page, font or image, content stream).

    With `password` the content stream is encrypted by the standard security handler (RC4,
    40 bits, revision 2) and only that password opens the file.
    """
    trailer = b""
    encrypt = None
    if password is not None:
        padded = (password.encode("latin-1") + _PAD)[:32]
        owner = _rc4(hashlib.md5(padded).digest()[:5], padded)
        permissions = -44
        key = hashlib.md5(padded + owner + struct.pack("<i", permissions) + _PDF_ID).digest()[:5]
        encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
            owner.hex().encode(),
            _rc4(key, _PAD).hex().encode(),
            permissions,
        )
        object_key = hashlib.md5(key + (5).to_bytes(3, "little") + b"\0\0").digest()[:10]
        content = _rc4(object_key, content)
        trailer = b" /Encrypt 6 0 R"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
        + resources
        + b" /Contents 5 0 R >>",
        extra,
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    if encrypt:
        objects.append(encrypt)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    ident = _PDF_ID.hex().encode()
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s> <%s>]%s >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, ident, ident, trailer, xref)
    )
    return out.getvalue()


def _text_pdf(password: str | None = None) -> bytes:
    return _pdf(b"BT /F1 12 Tf 72 770 Td (%s) Tj ET" % PDF_TEXT.encode("ascii"), password=password)


def _image_pdf() -> bytes:
    """A 'scanned' page: one 4x4 grey image, no text layer."""
    pixels = bytes(range(0, 256, 16))
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 4 /Height 4 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream"
    )
    return _pdf(
        b"q 400 0 0 400 97 300 cm /Im1 Do Q",
        resources=b"<< /XObject << /Im1 4 0 R >> >>",
        extra=image,
    )


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    """A ZIP archive with stored (uncompressed) members and a fixed date: same bytes every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


_XML = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT = b"http://schemas.openxmlformats.org/package/2006/content-types"
_PKG_RELS = b"http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOC = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _office(main: str, content_type: bytes, body: bytes) -> bytes:
    """A minimal Office Open XML package whose main part is `main`."""
    types = (
        _XML + b'<Types xmlns="' + _CT + b'">'
        b'<Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/' + main.encode() + b'" ContentType="' + content_type + b'"/>'
        b"</Types>"
    )
    rels = (
        _XML + b'<Relationships xmlns="' + _PKG_RELS + b'">'
        b'<Relationship Id="rId1" Type="' + _OFFICE_DOC + b'" Target="' + main.encode() + b'"/>'
        b"</Relationships>"
    )
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", rels), (main, body)])


def _docx() -> bytes:
    body = (
        _XML + b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
        b'main"><w:body><w:p><w:r><w:t>' + DOCX_TEXT.encode("utf-8") + b"</w:t></w:r></w:p>"
        b"</w:body></w:document>"
    )
    return _office(
        "word/document.xml",
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        body,
    )


def _xlsx() -> bytes:
    body = (
        _XML + b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheets><sheet name="Sheet1" sheetId="1"/></sheets></workbook>'
    )
    return _office(
        "xl/workbook.xml",
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        body,
    )


TEXT_REGISTER = [
    _doc(
        "doc-a",
        "文件甲",
        "Document A",
        issuer="Ministry of Environmental Protection",
        level="central",
        issued="2013-09-10",
        issued_precision="day",
        text_kind="official_full_text",
        text_file="texts/doc_a.txt",
    ),
    _doc(
        "doc-pdf",
        "文件乙",
        "Document B (PDF)",
        issuer="Ministry of Finance",
        level="central",
        issued="2013-10",
        text_kind="official_full_text",
        text_file="texts/good.pdf",
    ),
    _doc(
        "doc-docx",
        "文件丙",
        "Document C (Word)",
        issuer="Beijing Municipal People's Government",
        level="municipal",
        issued="2014-01-15",
        text_kind="official_full_text",
        text_file="texts/good.docx",
    ),
    _doc(
        "doc-md",
        "文件丁",
        "Document D (Markdown)",
        issuer="Beijing Municipal People's Government",
        level="municipal",
        issued="2014",
        text_kind="project_digest",
        text_file="texts/good.md",
    ),
]
# the baseline row each format's bad files replace
ROW_OF = {".txt": 0, ".pdf": 1, ".docx": 2, ".md": 3}


def policy_text() -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    here = "tests/bad_inputs/policy_text"
    good_pdf = _text_pdf()
    good_docx = _docx()
    files = {
        "texts/doc_a.txt": TEXT_A.encode("utf-8"),
        "texts/good.pdf": good_pdf,
        "texts/good.docx": good_docx,
        "texts/good.md": TEXT_B.encode("utf-8"),
        "baseline_register.csv": _csv(TEXT_REGISTER),
    }
    cases: list[dict[str, Any]] = []

    def add(text: str, data: bytes, case_id: str, what: str, rule: str, **error: Any) -> None:
        files[f"texts/{text}"] = data
        index = ROW_OF[Path(text).suffix]
        register = f"{Path(text).stem}_{Path(text).suffix[1:]}.csv"
        files[register] = _csv(_edit(TEXT_REGISTER, index, text_file=f"texts/{text}"))
        error = {
            "row": index + 2,
            "column": "text_file",
            "file": f"{here}/texts/{text}",
            **error,
        }
        error["contains"] = [f"named by {here}/{register}", *error.get("contains", [])]
        cases.append(
            _case(case_id, what, register, rule, cls="policy text", source="register", **error)
        )

    add(
        "truncated.pdf",
        good_pdf[: len(good_pdf) // 2],
        "truncated-pdf",
        "a PDF cut off halfway (an interrupted download)",
        "pdf-complete",
        contains=["truncated"],
    )
    add(
        "web_page.pdf",
        b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
        b"<body><h1>Not Found</h1></body></html>\n",
        "html-saved-as-pdf",
        "an HTML error page saved with a .pdf name",
        "pdf-signature",
        contains=["does not start with %PDF-"],
    )
    add(
        "garbled.pdf",
        b"%PDF-1.4\n" + hashlib.sha256(b"garbled").digest() * 8 + b"\n%%EOF\n",
        "corrupt-pdf",
        "a PDF with its header and end marker but corrupt bytes in between",
        "readable-pdf",
        contains=["not a readable PDF"],
    )
    add(
        "blank_page.pdf",
        _pdf(b""),
        "pdf-empty-page",
        "a PDF whose only page is empty (no text layer)",
        "pdf-text-layer",
        contains=["none of its 1 page(s) has a text layer"],
    )
    add(
        "scanned.pdf",
        _image_pdf(),
        "pdf-image-only",
        "a scanned PDF: one page holding only an image, no text layer",
        "pdf-text-layer",
        contains=["OCR"],
    )
    add(
        "encrypted.pdf",
        _text_pdf(password="secret"),
        "pdf-with-password",
        "a PDF encrypted with a password (RC4)",
        "unencrypted-pdf",
        contains=["encrypted with a password"],
    )
    add(
        "not_word.docx",
        _zip([("notes.txt", b"meeting notes\n")]),
        "zip-not-docx",
        "a ZIP archive that is not a Word package, named .docx",
        "readable-docx",
        contains=["no [Content_Types].xml"],
    )
    add(
        "truncated.docx",
        good_docx[: len(good_docx) // 2],
        "truncated-docx",
        "a .docx cut off halfway (not a complete ZIP package)",
        "readable-docx",
        contains=["the file is truncated"],
    )
    add(
        "spreadsheet.docx",
        _xlsx(),
        "spreadsheet-named-docx",
        "an Excel workbook (.xlsx package) renamed .docx",
        "readable-docx",
        contains=["not a Word file"],
    )
    add(
        "legacy_word.docx",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
        "doc-named-docx",
        "an old binary Word .doc file renamed .docx",
        "readable-docx",
        contains=["old binary Word (.doc)"],
    )
    add(
        "empty.txt",
        b"",
        "empty-text",
        "an empty text file (0 bytes)",
        "non-empty-text",
        contains=["0 bytes"],
    )
    add(
        "blank.md",
        b"<!-- text to follow -->\n\n   \n\t\n",
        "blank-markdown",
        "a Markdown file holding only a comment and white space",
        "non-empty-text",
        contains=["holds no text"],
    )
    add(
        "latin1.txt",
        "Politique de qualité de l'air, air pollué.\n".encode("latin-1"),
        "undecodable-text",
        "a text file in Latin-1, neither UTF-8 nor GB18030",
        "decodable-text",
        contains=["is neither UTF-8 nor GB18030", "byte 19"],
    )
    add(
        "utf16.txt",
        b"\xff\xfe" + TEXT_A.encode("utf-16-le"),
        "utf16-text",
        "a text file saved as UTF-16 with a byte order mark (Windows Notepad's 'Unicode')",
        "decodable-text",
        contains=["looks like UTF-16"],
    )
    return files, cases


# --- air quality -------------------------------------------------------------------------------

AIR_SOURCE = ROOT / "data" / "raw" / "air" / "PRSA_US_Embassy_Beijing_2010-2014.csv"
MULTI_SOURCE = ROOT / "tests" / "fixtures" / "air" / "PRSA_multi_site_two_stations.csv"
STATION = {"station": "US Embassy"}


def _air_lines() -> list[str]:
    """Header and the 48 hours of 12-13 January 2013 (the 'airpocalypse') of the shipped file."""
    lines = AIR_SOURCE.read_text(encoding="utf-8").splitlines()
    keep = [
        line
        for line in lines[1:]
        if line.split(",")[1:4] in (["2013", "1", "12"], ["2013", "1", "13"])
    ]
    assert len(keep) == 48, len(keep)
    return [lines[0], *keep]


def _set(lines: list[str], line: int, column: str, value: str) -> list[str]:
    """The file lines with one cell changed; `line` is the file line (1 = header)."""
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    return [*lines[: line - 1], ",".join(cells), *lines[line:]]


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def air() -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    base = _air_lines()
    multi = MULTI_SOURCE.read_text(encoding="utf-8").splitlines()
    files = {"baseline.csv": _text(base), "multi_site_baseline.csv": _text(multi)}
    cases: list[dict[str, Any]] = []

    def add(
        name: str, data: bytes | None, case_id: str, what: str, rule: str, **error: Any
    ) -> None:
        if data is not None:
            files[name] = data
        error.setdefault("options", STATION)
        cases.append(_case(case_id, what, name, rule, cls="air quality", source="air", **error))

    add(
        "empty.csv",
        b"",
        "empty-file",
        "an empty station file (0 bytes)",
        "non-empty-file",
        contains=["empty"],
    )
    add(
        "header_only.csv",
        _text(base[:1]),
        "header-without-data",
        "a station file with its header and no data row",
        "has-data-rows",
        row=1,
    )
    cut = "\n".join(base[:30]) + "\n" + base[30][:20]
    add(
        "truncated.csv",
        cut.encode("utf-8"),
        "truncated-file",
        "a file cut off in the middle of line 31",
        "row-length",
        row=31,
        contains=["has 6 cells, the header 13"],
    )
    add(
        "duplicated_hour.csv",
        _text([*base[:21], base[20], *base[21:]]),
        "duplicated-timestamp",
        "the same station-hour twice (line 21 repeated)",
        "unique-station-hour",
        row=22,
        column="year/month/day/hour",
        contains=["2013-01-12 19:00", "row 21 of"],
    )
    add(
        "month_13.csv",
        _text(_set(base, 10, "month", "13")),
        "month-13",
        "an impossible month (13)",
        "valid-date",
        row=10,
        column="month",
        contains=["month must be 1-12"],
    )
    add(
        "february_30.csv",
        _text(_set(_set(base, 12, "month", "2"), 12, "day", "30")),
        "february-30",
        "an impossible date (30 February 2013)",
        "valid-date",
        row=12,
        column="day",
        contains=["day 30 does not exist in 2013-02"],
    )
    add(
        "hour_24.csv",
        _text(_set(base, 25, "hour", "24")),
        "hour-24",
        "an impossible hour (24)",
        "valid-date",
        row=25,
        column="hour",
        contains=["hour must be 0-23"],
    )
    add(
        "pm25_text.csv",
        _text(_set(base, 5, "pm2.5", "abc")),
        "text-in-numeric-column",
        "text ('abc') in the numeric pm2.5 column",
        "numeric-value",
        row=5,
        column="pm2.5",
        contains=["'abc'", "not a number"],
    )
    add(
        "pm25_empty_cell.csv",
        _text(_set(base, 6, "pm2.5", "")),
        "empty-numeric-cell",
        "an empty pm2.5 cell where NA marks a missing value",
        "numeric-value",
        row=6,
        column="pm2.5",
        contains=["write NA"],
    )
    add(
        "pm25_negative.csv",
        _text(_set(base, 8, "pm2.5", "-5")),
        "negative-pm25",
        "a negative PM2.5 concentration",
        "pm25-non-negative",
        row=8,
        column="pm2.5",
        contains=["cannot be negative"],
    )
    add(
        "fractional_hour.csv",
        _text(_set(base, 9, "hour", "7.5")),
        "fractional-hour",
        "a fractional hour (7.5)",
        "whole-number",
        row=9,
        column="hour",
    )
    add(
        "missing_year.csv",
        _text(_set(base, 11, "year", "NA")),
        "missing-year",
        "a year marked missing (NA)",
        "value-present",
        row=11,
        column="year",
    )
    add(
        "unknown_wind_code.csv",
        _text(_set(base, 14, "cbwd", "NNE")),
        "unknown-wind-code",
        "a 16-point wind direction (NNE) in the combined-direction column cbwd",
        "wind-direction-code",
        row=14,
        column="cbwd",
        contains=["'NNE'"],
    )
    add(
        "semicolon_delimited.csv",
        _text([line.replace(",", ";") for line in base]),
        "wrong-delimiter",
        "a file separated by semicolons instead of commas",
        "comma-delimited",
        row=1,
        contains=["separated by semicolons"],
    )
    add(
        "header_missing.csv",
        _text(base[1:]),
        "header-missing",
        "a file without its header row (starts with data)",
        "header-row",
        row=1,
        contains=["the header row is missing"],
    )
    pm = base[0].split(",").index("pm2.5")
    dropped = [",".join(c for i, c in enumerate(line.split(",")) if i != pm) for line in base]
    add(
        "missing_pm25_column.csv",
        _text(dropped),
        "missing-column",
        "a file without the pm2.5 column",
        "column-present",
        row=1,
        column="pm2.5",
    )
    add(
        "baseline.csv",
        None,
        "sha256-mismatch",
        "an intact file whose sha256 is not the one the config records",
        "sha256-matches-config",
        options={**STATION, "sha256": "0" * 64},
        contains=["0" * 64],
    )
    add(
        "./no_such_station_file.csv",
        None,
        "station-file-missing",
        "a configured station file that does not exist",
        "file-exists",
        contains=["does not exist"],
    )
    # multi-site family: the station is a column
    station = multi[0].split(",").index("station")
    blank = multi[7].split(",")
    blank[station] = ""
    add(
        "blank_station.csv",
        _text([*multi[:7], ",".join(blank), *multi[8:]]),
        "blank-station",
        "a multi-site file with a row whose station cell is empty",
        "station-named",
        row=8,
        column="station",
        options={},
    )
    gbk = "\n".join(multi).replace("Aotizhongxin", "奥体中心") + "\n"
    add(
        "station_name_in_gbk.csv",
        gbk.encode("gb18030"),
        "not-utf8",
        "a multi-site file saved as GBK (Chinese station names)",
        "utf-8-text",
        row=2,
        options={},
        contains=["save it as UTF-8"],
    )
    add(
        "multi_site_baseline.csv",
        None,
        "station-contradicts-config",
        "a multi-site file whose station column contradicts the station the config names",
        "station-matches-config",
        row=2,
        column="station",
        options={"station": "Dongsi"},
        contains=["'Aotizhongxin'"],
    )
    swapped = [multi[0].replace("PM2.5,PM10", "PM10,PM2.5"), *multi[1:]]
    add(
        "pm_columns_swapped.csv",
        _text(swapped),
        "pm-columns-swapped",
        "a multi-site file whose PM2.5 and PM10 headers are swapped (PM2.5 above PM10 on most "
        "hours)",
        "pm25-not-above-pm10",
        row=3,
        column="PM2.5/PM10",
        options={},
        contains=["look swapped"],
    )
    return files, cases


# --- writing -----------------------------------------------------------------------------------

HEADERS = {
    "policy_register": "Policy registers, each the baseline_register.csv with one defect; the "
    "texts under texts/ are valid.",
    "policy_text": "Policy texts that cannot be read: each <name>_<format>.csv is the valid "
    "baseline_register.csv\n# with one row pointing at the bad file under texts/. The default "
    "on_unreadable: error stops the stage.",
    "air": "Hourly station files of the PRSA family, each baseline.csv (US Embassy, 12-13 "
    "January 2013) or\n# multi_site_baseline.csv with one defect.",
}
BUILDERS: dict[str, Callable[[], tuple[dict[str, bytes], list[dict[str, Any]]]]] = {
    "policy_register": policy_register,
    "policy_text": policy_text,
    "air": air,
}


def _scalar(value: Any) -> str:
    if isinstance(value, bool | int):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _flow(mapping: dict[str, Any]) -> str:
    parts = []
    for key, value in mapping.items():
        if isinstance(value, list):
            shown = "[" + ", ".join(_scalar(v) for v in value) + "]"
        else:
            shown = _scalar(value)
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"


def manifest(folder: str, cases: list[dict[str, Any]]) -> bytes:
    """cases.yaml in the layout of the other classes (one block per case)."""
    lines = [
        "# Written by tests/bad_inputs/make_policy_and_air_cases.py; edit the script, not this.",
        f"# {HEADERS[folder]}",
    ]
    for case in cases:
        lines.append(f"- id: {case['id']}")
        for key in ("class", "what", "source", "file"):
            lines.append(f"  {key}: {_scalar(case[key])}")
        if case.get("options"):
            lines.append(f"  options: {_flow(case['options'])}")
        lines.append(f"  error: {_flow(case['error'])}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build() -> dict[str, bytes]:
    """Every file of the three folders, by path relative to tests/bad_inputs."""
    out: dict[str, bytes] = {}
    for folder, builder in BUILDERS.items():
        files, cases = builder()
        files["cases.yaml"] = manifest(folder, cases)
        out |= {f"{folder}/{name}": data for name, data in files.items()}
    return out


def main(target: Path = HERE) -> None:
    files = build()
    for folder in FOLDERS:
        for path in sorted((target / folder).rglob("*"), reverse=True):
            if path.is_file() and path.relative_to(target).as_posix() not in files:
                path.unlink()
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    print(f"wrote {len(files)} files under {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
