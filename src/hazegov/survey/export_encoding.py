"""Which encoding a CSV export whose header does not read is likely in, judged by the codebook.

GB18030 decodes almost any bytes, and UTF-8 decodes text that was encoded twice, so a file in
another encoding is often read without a decoding error, into a header of nonsense: one error
per codebook column, none naming the encoding. The codebook knows what the header says, so the
encodings a damaged export is likely in are tried on its first line, and the one under which
that line is made of the codebook's header characters is named. A statistical detector (such
as charset-normalizer) guesses from letter frequencies and cannot tell GB18030 from Big5 on a
line of text; the header's known characters can. Only the first line is decoded, and only when
the header did not match, so a well-formed export costs nothing.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# (codec, name in messages, what to do)
REENCODE = "download the platform's CSV again, or save the file as 'CSV UTF-8'"
CANDIDATES = (
    ("utf-8-sig", "UTF-8", "set survey.encoding to utf-8-sig or auto"),
    ("gb18030", "GB18030", "set survey.encoding to gb18030 or auto"),
    (
        "cp950",
        "Big5",
        "a traditional-Chinese Excel saves CSV in Big5, which has no code for many simplified "
        f"characters, so this copy may have lost some; {REENCODE}",
    ),
    ("utf-16-le", "UTF-16 (little-endian, without byte-order mark)", REENCODE),
    ("utf-16-be", "UTF-16 (big-endian, without byte-order mark)", REENCODE),
)
# Encodings UTF-8 text is wrongly read in before it is saved as UTF-8 again.
DOUBLE_VIA = {"cp1252": "Windows-1252 (or Latin-1)", "gb18030": "GB18030"}
TRIED = "UTF-8, GB18030, Big5, UTF-16 and UTF-8 encoded twice (via Windows-1252 or GB18030)"
FIRST_LINE_BYTES = 16_384
LIKELY = 0.6  # share of the line's non-ASCII characters that must be header characters


@dataclass(frozen=True)
class LikelyEncoding:
    """An encoding under which the first line reads as the codebook's header."""

    name: str
    advice: str
    likeness: float


def header_likeness(line: str, header_chars: frozenset[str]) -> float:
    """Share of the line's non-ASCII characters that occur in the codebook's headers.

    ASCII (digits, commas, brackets) reads alike in every candidate, so it says nothing; a
    line without other characters has likeness 0.
    """
    wide = [c for c in line if ord(c) > 127]
    return sum(c in header_chars for c in wide) / len(wide) if wide else 0.0


def likely_encoding(
    raw: bytes, header_chars: frozenset[str], used: str | None
) -> LikelyEncoding | None:
    """The candidate encoding (or double encoding) the first line most likely is in.

    Parameters
    ----------
    raw
        The file's bytes.
    header_chars
        Every character of the codebook's column headers.
    used
        The codec the file was read in (None: it was not read); the likely encoding must make
        the line more like the header than this one does.

    Returns
    -------
    LikelyEncoding or None
        None when no candidate reads the first line as (mostly) header characters.
    """
    head = raw[:FIRST_LINE_BYTES]
    readings: list[LikelyEncoding] = []
    for codec, name, advice in CANDIDATES:
        line = _first_line(head.decode(codec, errors="replace"))
        readings.append(LikelyEncoding(name, advice, header_likeness(line, header_chars)))
        if codec == "utf-8-sig":
            readings += _double_readings(line, header_chars)
    baseline = 0.0
    if used is not None:
        baseline = header_likeness(_first_line(head.decode(used, errors="replace")), header_chars)
    best = max(readings, key=lambda r: r.likeness)
    if best.likeness >= LIKELY and best.likeness > baseline + 0.2:
        return best
    return None


def _first_line(text: str) -> str:
    """The first line that holds anything but separators (the header, of a CSV)."""
    for line in text.removeprefix("\ufeff").splitlines():
        if line.strip(" ,;\t\0"):
            return line
    return ""


def _double_readings(line: str, header_chars: frozenset[str]) -> list[LikelyEncoding]:
    """The line undone from each way UTF-8 text gets encoded twice, where it can be."""
    found = []
    for via, name in DOUBLE_VIA.items():
        try:
            undone = _original_bytes(line, via).decode("utf-8", errors="replace")
        except (UnicodeEncodeError, KeyError):
            continue
        found.append(
            LikelyEncoding(
                f"UTF-8 encoded twice (its bytes read as {name} and saved as UTF-8 again)",
                "a program read the file in the wrong encoding and saved it again; download "
                "the platform's CSV again rather than repairing this copy",
                header_likeness(undone, header_chars),
            )
        )
    return found


def _original_bytes(line: str, via: str) -> bytes:
    """The bytes that read as `line` in `via`; Windows-1252's five unassigned bytes read as
    the control characters of the same number, as Windows reads them."""
    if via != "cp1252":
        return line.encode(via)
    table = _cp1252_bytes()
    return bytes(table[c] for c in line)


def _cp1252_bytes() -> dict[str, int]:
    table = {}
    for byte in range(256):
        char = codecs.decode(bytes([byte]), "cp1252", errors="ignore") or chr(byte)
        table[char] = byte
    for byte in range(256):
        table.setdefault(chr(byte), byte)
    return table
