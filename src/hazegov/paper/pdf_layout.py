"""Typesetting faults of a rendered PDF, read from the glyph boxes of every page.

A table whose cells are too narrow does not fail to render: typst draws the overflowing text
over its neighbour or past the page edge, and nothing but a reader notices.  This module reads
the PDF's glyphs (pdfplumber, on pdfminer's layout analysis) and reports

* two glyphs that overprint: their boxes intersect by more than ``overlap`` of the smaller
  box (punctuation and spaces left out, as their boxes are drawn loosely by fonts);
* a glyph or an image outside the text area: left of the left margin, right of the right
  margin, or off the page.

Pages can also be written out as PNG files so a person can look at what was checked.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LayoutProblem",
    "TextArea",
    "layout_problems",
    "render_pages",
]

POINTS_PER_CM = 72 / 2.54


@dataclass(frozen=True)
class TextArea:
    """Margins (points) that text and images must stay within; top and bottom only bound
    glyphs by the page edge, because running headers and page numbers sit in those margins."""

    left: float
    right: float
    tolerance: float = 1.0

    @classmethod
    def from_cm(cls, left: float, right: float) -> TextArea:
        return cls(left * POINTS_PER_CM, right * POINTS_PER_CM)


@dataclass(frozen=True, order=True)
class LayoutProblem:
    """One fault, with the page (from 1) and enough text to find it by eye."""

    page: int
    kind: str  # "overprint", "outside-text-area"
    detail: str

    def __str__(self) -> str:
        return f"page {self.page}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class _Glyph:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def area(self) -> float:
        return max(self.x1 - self.x0, 0.0) * max(self.bottom - self.top, 0.0)


def _is_checked(text: str) -> bool:
    """Letters, digits and symbols; punctuation and spaces are left out."""
    return bool(text) and not all(unicodedata.category(c)[0] in "PZC" or c.isspace() for c in text)


def _overprints(glyphs: Sequence[_Glyph], overlap: float) -> Iterator[tuple[_Glyph, _Glyph]]:
    """Pairs whose intersection exceeds ``overlap`` of the smaller box (a sweep along x)."""
    ordered = sorted(glyphs, key=lambda g: g.x0)
    active: list[_Glyph] = []
    for glyph in ordered:
        active = [g for g in active if g.x1 > glyph.x0]
        for other in active:
            width = min(glyph.x1, other.x1) - max(glyph.x0, other.x0)
            height = min(glyph.bottom, other.bottom) - max(glyph.top, other.top)
            if width <= 0 or height <= 0:
                continue
            smaller = min(glyph.area, other.area)
            if smaller > 0 and width * height > overlap * smaller:
                yield other, glyph
        active.append(glyph)


def _context(glyphs: Sequence[_Glyph], glyph: _Glyph, width: float = 60.0) -> str:
    """The text of the line around ``glyph``, so a report names the words that collide."""
    line = sorted(
        (
            g
            for g in glyphs
            if abs(g.top - glyph.top) < 2 and glyph.x0 - width < g.x0 < glyph.x1 + width
        ),
        key=lambda g: g.x0,
    )
    return "".join(g.text for g in line).strip()


def layout_problems(
    pdf: Path | str, area: TextArea, *, overlap: float = 0.30
) -> list[LayoutProblem]:
    """Every overprinted glyph pair and every glyph or image outside ``area``, page by page.

    Parameters
    ----------
    pdf
        The rendered PDF.
    area
        The margins the text must keep (the document's own page margins).
    overlap
        The share of the smaller glyph box two glyphs may share before they count as
        overprinted.

    Returns
    -------
    list of LayoutProblem
        Empty when the PDF is clean.

    Examples
    --------
    >>> area = TextArea.from_cm(2.5, 2.5)
    >>> layout_problems("results/paper/_output/index.pdf", area)  # doctest: +SKIP
    []
    """
    import pdfplumber

    problems: list[LayoutProblem] = []
    with pdfplumber.open(str(pdf)) as document:
        for number, page in enumerate(document.pages, start=1):
            glyphs = [
                _Glyph(c["text"], c["x0"], c["x1"], c["top"], c["bottom"])
                for c in page.chars
                if _is_checked(c["text"])
            ]
            for first, second in _overprints(glyphs, overlap):
                problems.append(
                    LayoutProblem(
                        number,
                        "overprint",
                        f"{first.text!r} and {second.text!r} at x={first.x0:.0f}, "
                        f"y={first.top:.0f} pt overprint ({_context(glyphs, first)!r})",
                    )
                )
            left = area.left - area.tolerance
            right = float(page.width) - area.right + area.tolerance
            for glyph in glyphs:
                if (
                    glyph.x0 < left
                    or glyph.x1 > right
                    or glyph.top < 0
                    or glyph.bottom > float(page.height)
                ):
                    problems.append(
                        LayoutProblem(
                            number,
                            "outside-text-area",
                            f"{glyph.text!r} at x={glyph.x0:.0f}..{glyph.x1:.0f}, "
                            f"y={glyph.top:.0f} pt (text area x={area.left:.0f}..{right:.0f}) "
                            f"({_context(glyphs, glyph)!r})",
                        )
                    )
            for image in page.images:
                if image["x0"] < left or image["x1"] > right:
                    problems.append(
                        LayoutProblem(
                            number,
                            "outside-text-area",
                            f"image at x={image['x0']:.0f}..{image['x1']:.0f} pt "
                            f"(text area x={area.left:.0f}..{right:.0f})",
                        )
                    )
    return problems


def render_pages(pdf: Path | str, out_dir: Path | str, *, resolution: int = 110) -> list[Path]:
    """Write every page as ``<stem>-page-NN.png`` into ``out_dir``; returns the files.

    Examples
    --------
    >>> render_pages("index.pdf", "results/test-artifacts")  # doctest: +SKIP
    [PosixPath('results/test-artifacts/index-page-01.png'), ...]
    """
    import pypdfium2

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        width = len(str(len(document)))
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=resolution / 72).to_pil()
            target = out_dir / f"{Path(pdf).stem}-page-{index + 1:0{max(width, 2)}d}.png"
            image.save(target)
            written.append(target)
            page.close()
    finally:
        document.close()
    return written


def summarize(problems: Iterable[LayoutProblem]) -> str:
    """Counts by kind and page, for a failing test's message."""
    problems = list(problems)
    if not problems:
        return "no layout problems"
    pages = sorted({p.page for p in problems})
    kinds = {k: sum(p.kind == k for p in problems) for k in sorted({p.kind for p in problems})}
    head = ", ".join(f"{n} {k}" for k, n in kinds.items())
    return f"{head} on pages {pages}:\n" + "\n".join(str(p) for p in problems[:60])
