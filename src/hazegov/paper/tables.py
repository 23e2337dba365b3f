"""Quarto pipe tables from tidy results, their numbers written by `hazegov.formatting`.

Column widths are set here too.  Pandoc (and so Quarto) gives a pipe table relative column
widths from the dashes of its separator line whenever a line of the table is longer than 72
characters, and typst then draws a cell's overflowing word over its neighbour.  So the
separator is always written long, with dashes in proportion to widths worked out from the
cells, the way a browser lays out an automatic table: every column at least as wide as its
longest word, the rest shared by how much text each column holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

# Text units (a Latin letter or digit is one, a Chinese character two) that fit across the text
# column at the table font: paper/paper.typ sets 8.5 pt, whose letters and digits measure 3.9 pt
# on average in the PDF, on a 16 cm (454 pt) column: 116 units, of which 106 are used.
TABLE_WIDTH_UNITS = 106
CELL_PADDING_UNITS = 2.5
SEPARATOR_DASHES = 120  # always longer than pandoc's 72 columns, so the widths are used


@dataclass(frozen=True)
class Column:
    """One table column: where its values come from, its header, how numbers are shown.

    ``width`` (a relative share) overrides the width worked out from the cells.
    """

    source: str
    header: str
    fmt: str | Callable[[object], str] = "{}"
    align: str = "right"
    width: float | None = None


_BREAKABLE_SPACE_RE = re.compile(r"[ \t\n]+")  # not the no-break space
_BRACKETED_RE = re.compile(r"[\[(][^\[\]()]*[\])]")


def keep_brackets_together(text: str) -> str:
    """``0.021 [0.000, 0.063]`` with a no-break space inside the brackets, so that a narrow cell
    breaks the line before the interval (which then stands on a line of its own), not inside it.

    Examples
    --------
    >>> keep_brackets_together("3.75 (3, 155.1)")
    '3.75 (3,\xa0155.1)'
    """
    return _BRACKETED_RE.sub(lambda m: m[0].replace(" ", "\u00a0"), text)


MONOSPACE_UNITS = 1.05  # a character of a `code span`: typst's monospaced font at 0.8 em


def _char_units(text: str) -> list[tuple[str, float]]:
    """Each printed character with its width: wide East Asian 2, monospaced code 1.25, else 1;
    backticks and ``**`` emphasis marks print nothing."""
    out: list[tuple[str, float]] = []
    code = False
    for char in text.replace("**", ""):
        if char == "`":
            code = not code
            continue
        wide = unicodedata.east_asian_width(char) in "WF"
        out.append((char, 2.0 if wide else MONOSPACE_UNITS if code else 1.0))
    return out


def text_units(text: str) -> float:
    """Printed width of ``text`` in units of a Latin character (wide East Asian characters: 2)."""
    return sum(width for _, width in _char_units(text))


def _longest_word(text: str) -> float:
    """The widest piece of ``text`` a line cannot break: a word, or one Chinese character."""
    widest = 0.0
    run = 0.0
    for char, width in _char_units(text):
        if char in " \t\n":
            run = 0.0
        elif char in "/-":  # a line may break after a slash or a hyphen
            widest = max(widest, run + width)
            run = 0.0
        elif width == 2.0:
            widest = max(widest, 2.0)
            run = 0.0
        else:
            run += width
            widest = max(widest, run)
    return widest


def column_shares(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[float]:
    """Relative widths of the columns, as a browser lays out an automatic table.

    Every column gets at least its longest word.  If all columns fit unwrapped they get their
    natural width; otherwise the columns with the shortest text keep theirs and the longest
    ones share what is left equally ("water filling"), so numbers stay on one line and long
    text wraps.

    Examples
    --------
    >>> [round(s, 2) for s in column_shares(["a", "b"], [["x", "yy"]])]
    [0.44, 0.56]
    """
    n = len(header)
    cells = [[header[i], *(row[i] for row in rows)] for i in range(n)]
    minimum = [max(_longest_word(c) for c in column) + CELL_PADDING_UNITS for column in cells]
    natural = [
        max(minimum[i], max(text_units(c) for c in column) + CELL_PADDING_UNITS)
        for i, column in enumerate(cells)
    ]
    if sum(natural) <= TABLE_WIDTH_UNITS or sum(minimum) >= TABLE_WIDTH_UNITS:
        widths = natural if sum(natural) <= TABLE_WIDTH_UNITS else minimum
    else:
        # the level L at which sum(min(natural, max(minimum, L))) fills the table
        low, high = 0.0, max(natural)
        for _ in range(60):
            level = (low + high) / 2
            used = sum(min(natural[i], max(minimum[i], level)) for i in range(n))
            low, high = (level, high) if used < TABLE_WIDTH_UNITS else (low, level)
        widths = [min(natural[i], max(minimum[i], low)) for i in range(n)]
    total = sum(widths)
    return [w / total for w in widths]


def _cell(value: object, fmt: str | Callable[[object], str]) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = fmt(value) if callable(fmt) else fmt.format(value)
    return keep_brackets_together(text).replace("|", "\\|")


def made_by(label: str) -> str:
    """The shortcode a caption carries to name the rule and package function that made it.

    Its value, set by the rule paper_variables from the rules' outputs, reads 'Made by rule x
    (module.function)' with a link to the function's source file.
    """
    return f"{{{{< var made_by.{label.replace('-', '_')} >}}}}"


def _rule(align: str, share: float) -> str:
    dashes = "-" * max(3, round(share * SEPARATOR_DASHES))
    return ":" + dashes if align == "left" else dashes + ":"


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], aligns: Sequence[str]
) -> list[str]:
    """Header, separator and rows of a pipe table, the columns sized by :func:`column_shares`.

    For tables assembled by hand (captions of their own); :func:`pipe_table` builds on it.

    Examples
    --------
    >>> lines = markdown_table(["a", "b"], [["1", "2"]], ["left", "right"])
    >>> lines[0], lines[2]
    ('| a | b |', '| 1 | 2 |')
    """
    shares = column_shares(header, rows)
    rule = "|" + "|".join(_rule(a, s) for a, s in zip(aligns, shares, strict=True)) + "|"
    return [
        "| " + " | ".join(h.replace("|", "\\|") for h in header) + " |",
        rule,
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def pipe_table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    caption: str,
    label: str,
    synthetic: bool,
    note: str = "",
    min_cell_count: int | None = None,
) -> str:
    """A pipe table with a `: caption {#tbl-label}` line, and a note paragraph if given.

    A table that shows respondent counts passes `min_cell_count`: its note then states the
    suppression rule (`hazegov.privacy.disclosure.note`); the counts must already be suppressed.
    """
    if min_cell_count is not None:
        from hazegov.privacy.disclosure import note as disclosure_note

        note = f"{note} {disclosure_note(min_cell_count)}".strip()
    cells = [
        [_cell(getattr(r, c.source), c.fmt) for c in columns] for r in frame.itertuples(index=False)
    ]
    table = markdown_table([c.header for c in columns], cells, [c.align for c in columns])
    if all(c.width is not None for c in columns):
        weights = [float(c.width) for c in columns]  # type: ignore[arg-type]
        table[1] = (
            "|"
            + "|".join(
                _rule(c.align, w / sum(weights)) for c, w in zip(columns, weights, strict=True)
            )
            + "|"
        )
    mark = " Synthetic data." if synthetic else ""
    caption = caption if caption.endswith((".", "?", "!")) else caption + "."
    origin = f" {made_by(label)}"
    lines = [*table, "", f": {caption}{mark}{origin} {{#{label}}}", ""]
    if note:
        lines += [f"*Note.* {note}", ""]
    return "\n".join(lines)
