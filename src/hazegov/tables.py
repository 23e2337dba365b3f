"""Quarto pipe tables from tidy results: numbers formatted once, here, for every table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One table column: where its values come from, its header, how numbers are shown."""

    source: str
    header: str
    fmt: str | Callable[[object], str] = "{}"
    align: str = "right"


def fmt_p(p: object) -> str:
    """APA style: no leading zero, < .001 below that."""
    value = float(p)  # type: ignore[arg-type]
    if value != value:
        return ""
    if value < 0.001:
        return "< .001"
    return f"{value:.3f}".lstrip("0")


def fmt_p_op(p: object) -> str:
    """A p-value for prose after 'p': '= .023' or '< .001'."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def fmt_ci(low: float, high: float, digits: int = 2) -> str:
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _cell(value: object, fmt: str | Callable[[object], str]) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = fmt(value) if callable(fmt) else fmt.format(value)
    return text.replace("|", "\\|")


def made_by(label: str) -> str:
    """The shortcode a caption carries to name the rule and script that made it.

    Its value, set by the rule paper_variables from the workflow's table of paper inputs, reads
    'Made by rule x (workflow/scripts/x.py)' with a link to the script.
    """
    return f"{{{{< var made_by.{label.replace('-', '_')} >}}}}"


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
    suppression rule (`hazegov.disclosure.note`); the counts must already be suppressed.
    """
    if min_cell_count is not None:
        from hazegov.disclosure import note as disclosure_note

        note = f"{note} {disclosure_note(min_cell_count)}".strip()
    head = "| " + " | ".join(c.header.replace("|", "\\|") for c in columns) + " |"
    # Pandoc sizes columns by the dashes of this line: the text column gets the most room.
    rule = (
        "|"
        + "|".join(
            ":" + "-" * 36 if c.align == "left" else "-" * max(6, len(c.header)) + ":"
            for c in columns
        )
        + "|"
    )
    rows = [
        "| " + " | ".join(_cell(getattr(r, c.source), c.fmt) for c in columns) + " |"
        for r in frame.itertuples(index=False)
    ]
    mark = " Synthetic data." if synthetic else ""
    caption = caption if caption.endswith((".", "?", "!")) else caption + "."
    origin = f" {made_by(label)}"
    lines = [head, rule, *rows, "", f": {caption}{mark}{origin} {{#{label}}}", ""]
    if note:
        lines += [f"*Note.* {note}", ""]
    return "\n".join(lines)
