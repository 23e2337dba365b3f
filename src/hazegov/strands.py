"""The strands of the study a build runs, and what the paper needs of each.

Besides the questionnaire, the study has four strands that a user of another questionnaire (or
a reviewer short of time) may not want: the air-quality series, the policy documents, the
multiverse of analytic choices and the simulation checks of the methods. ``config["strands"]``
switches each one; a strand switched off has none of its rules in the workflow, so a dry run
plans none of its jobs and nothing else may ask for its outputs.

The paper is the one consumer of every strand, and leaves each one out cleanly: a chapter that
belongs to one strand alone (:data:`STRAND_CHAPTERS`) is not staged and index.qmd does not
include it; a passage of a chapter that reports one strand between the survey's text (the
abstract's PM2.5 sentence, the introduction's haze and policy sections, a recommendation's
sentence, a limitation) is marked ``<!-- strand:NAME -->`` ... ``<!-- /strand:NAME -->`` and
staged without it (:func:`strand_text`). With every strand on the staged paper is the paper as
it was, byte for byte; the markers never reach Quarto, so no Quarto feature is relied on. A
quote of a strand outside its chapters and passages would leave the paper with an undefined
number or a missing table: then the paper is not rendered (its numbers, tables and figures still
are) and :func:`paper_blockers` names every such line.

Kept free of pandas and numpy: the Snakefile imports it on every start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "STRANDS",
    "STRAND_CHAPTERS",
    "StrandPaperParts",
    "enabled_strands",
    "left_out_chapters",
    "paper_blocked_message",
    "paper_blockers",
    "paper_for_strands",
    "stage_paper",
    "staged_index",
    "strand_of",
    "strand_passages",
    "strand_text",
    "without_strands_off",
]


@dataclass(frozen=True)
class StrandPaperParts:
    """What one strand puts into the paper.

    Attributes
    ----------
    variables
        Top-level key of its numbers in ``_variables.yml`` (``{{< var air.… >}}``).
    fragments
        Its variables fragments, the inputs of rule paper_variables.
    tables, figures
        Names under ``results/paper/tables/*.md`` and ``figures/*.png``.
    labels
        Cross-reference labels of those tables and figures (keys of ``MADE_BY``).
    """

    variables: str
    fragments: tuple[str, ...]
    tables: tuple[str, ...]
    figures: tuple[str, ...]
    labels: tuple[str, ...]


STRANDS: dict[str, StrandPaperParts] = {
    "air_quality": StrandPaperParts(
        variables="air",
        fragments=("results/analysis/air/variables.yml",),
        tables=("air_annual", "air_stations", "its"),
        figures=("pm25_calendar", "pm25_stations", "pm25_monthly_its", "pm25_official_annual"),
        labels=(
            "tbl-air-annual",
            "tbl-air-stations",
            "tbl-its",
            "fig-pm25-calendar",
            "fig-pm25-stations",
            "fig-pm25-its",
            "fig-pm25-official",
        ),
    ),
    "policy": StrandPaperParts(
        variables="policy",
        fragments=("results/analysis/policy/variables.yml",),
        tables=("policy_instruments", "policy_register"),
        figures=("policy_timeline", "department_network"),
        labels=(
            "tbl-policy-instruments",
            "tbl-policy-register",
            "fig-policy-timeline",
            "fig-department-network",
        ),
    ),
    "multiverse": StrandPaperParts(
        variables="multiverse",
        fragments=("results/multiverse/variables.yml",),
        tables=("multiverse", "multiverse_by_choice"),
        figures=("specification_curve",),
        labels=("tbl-multiverse", "tbl-multiverse-by-choice", "fig-specification-curve"),
    ),
    "simulation": StrandPaperParts(
        variables="simulation",
        fragments=("results/simulation/variables.yml",),
        tables=("simulation",),
        figures=("simulation",),
        labels=("tbl-simulation", "fig-simulation"),
    ),
}

# Chapters of paper/ that report one strand and nothing else: the paper leaves them out (and
# index.qmd's include of them) when the strand is off. A passage inside another chapter is
# marked in the chapter instead (strand_text); an unmarked quote blocks the paper
# (paper_blockers).
STRAND_CHAPTERS: dict[str, tuple[str, ...]] = {
    "multiverse": ("_robustness.qmd",),
    "simulation": ("_appendix-simulation.qmd",),
}


def enabled_strands(config: Mapping[str, Any]) -> dict[str, bool]:
    """Each strand's switch, ``config["strands"]``; a strand the config does not name is on.

    On by default so that a config written before the switches existed builds what it built.
    """
    switches = config.get("strands") or {}
    unknown = sorted(set(switches) - set(STRANDS))
    if unknown:
        raise ValueError(f"strands: unknown strand(s) {unknown}; the strands are {list(STRANDS)}")
    return {name: bool(switches.get(name, True)) for name in STRANDS}


def strand_of(kind: str, item: str) -> str | None:
    """The strand whose paper part ``item`` is (``kind``: fragments, tables, figures or
    labels), or None for the survey's own parts, which every build has."""
    for name, parts in STRANDS.items():
        if item in getattr(parts, kind):
            return name
    return None


def without_strands_off(kind: str, items: Iterable[str], enabled: Mapping[str, bool]) -> list[str]:
    """``items`` without those of the strands switched off, in their order.

    The paper's lists keep one order with every strand on, so the default build asks for the
    same inputs and parameters as before the switches existed (and reruns nothing).
    """
    kept = []
    for item in items:
        strand = strand_of(kind, item)
        if strand is None or enabled[strand]:
            kept.append(item)
    return kept


def paper_for_strands(sources: Sequence[str], enabled: Mapping[str, bool]) -> list[str]:
    """The paper's source files (relative to paper/) without the chapters of strands off."""
    dropped = set(left_out_chapters(enabled))
    return [source for source in sources if source not in dropped]


def left_out_chapters(enabled: Mapping[str, bool]) -> list[str]:
    """The chapters left out of the paper with their strands (none with every strand on)."""
    return [c for name, chapters in STRAND_CHAPTERS.items() if not enabled[name] for c in chapters]


_INCLUDE_RE = re.compile(r"^\s*\{\{<\s*include\s+(?P<target>\S+)\s*>\}\}\s*$")


def staged_index(text: str, left_out: Iterable[str]) -> str:
    """index.qmd without the includes of the chapters ``left_out`` (and the blank line after
    each, so that every remaining include keeps Quarto's blank line around it).

    With nothing left out the text comes back unchanged, byte for byte.
    """
    dropped = set(left_out)
    if not dropped:
        return text
    kept: list[str] = []
    skip_blank = False
    for line in text.splitlines(keepends=True):
        match = _INCLUDE_RE.match(line)
        if match and match["target"] in dropped:
            skip_blank = True
            continue
        if skip_blank and not line.strip():
            skip_blank = False
            continue
        skip_blank = False
        kept.append(line)
    return "".join(kept)


# A passage of a chapter that reports one strand, between the chapter's other text:
# <!-- strand:air_quality --> ... <!-- /strand:air_quality -->, on lines of their own (the lines
# go) or inside a line (the markers go). The markers never reach Quarto.
_MARK_RE = re.compile(r"<!--\s*(?P<end>/)?strand:(?P<name>\w+)\s*-->")


def _marker_span(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """Where a marker's text ends up removed: its whole line when it stands alone on it."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if not text[line_start:start].strip() and not text[end:line_end].strip():
        return line_start, min(line_end + 1, len(text)), True
    return start, end, False


def strand_passages(text: str, source: str = "<text>") -> list[tuple[str, int, int, int, int]]:
    """Every marked passage: (strand, removal start and end, content start and end).

    Raises
    ------
    ValueError
        For a marker of an unknown strand, one not closed, closed without being opened, or a
        passage inside another (each passage belongs to one strand).
    """
    passages = []
    opened: tuple[str, int, int, int] | None = None
    for match in _MARK_RE.finditer(text):
        name = match["name"]
        line = text.count("\n", 0, match.start()) + 1
        if name not in STRANDS:
            raise ValueError(f"{source}, line {line}: marker of an unknown strand {name!r}")
        start, end, _ = _marker_span(text, match.start(), match.end())
        if not match["end"]:
            if opened is not None:
                raise ValueError(
                    f"{source}, line {line}: strand:{name} opens inside the passage of "
                    f"strand:{opened[0]} (line {opened[3]}); close that one first"
                )
            opened = (name, start, end, line)
            continue
        if opened is None or opened[0] != name:
            raise ValueError(f"{source}, line {line}: /strand:{name} closes no open passage")
        passages.append((name, opened[1], end, opened[2], start))
        opened = None
    if opened is not None:
        raise ValueError(f"{source}, line {opened[3]}: strand:{opened[0]} is never closed")
    return passages


def strand_text(
    text: str, enabled: Mapping[str, bool], source: str = "<text>", keep_lines: bool = False
) -> str:
    """The paper's text without the passages of strands off and without any marker.

    With every strand on, the text comes back as it was before it was marked, byte for byte:
    the default paper does not change. A passage removed from inside a line leaves one space
    between its neighbours. With ``keep_lines`` a removed passage leaves its line breaks, so
    line numbers still point into the source.
    """
    out: list[str] = []
    position = 0

    def removed(start: int, end: int) -> str:
        return "\n" * text.count("\n", start, end) if keep_lines else ""

    for name, start, end, content_start, content_end in strand_passages(text, source):
        out.append(text[position:start])
        if enabled[name]:
            out += [removed(start, content_start), text[content_start:content_end]]
            out.append(removed(content_end, end))
        else:
            out.append(removed(start, end))
            if not keep_lines and out[-2].endswith(" ") and text[end : end + 1] in (" ", "\n"):
                out[-2] = out[-2][:-1]
        position = end
    out.append(text[position:])
    return "".join(out)


def stage_paper(
    sources: Sequence[str | Path], staged: Sequence[str | Path], enabled: Mapping[str, bool]
) -> None:
    """Copy the paper's sources into the build directory, each chapter without the passages
    of strands off (:func:`strand_text`) and index.qmd without the includes of their chapters
    (:func:`staged_index`)."""
    from hazegov.io import stage_files, write_text

    stage_files(list(sources), list(staged))
    left_out = left_out_chapters(enabled)
    for source, target in zip(sources, staged, strict=True):
        if Path(target).suffix != ".qmd":
            continue
        text = Path(target).read_text(encoding="utf-8")
        staged_text = strand_text(text, enabled, source=str(source))
        if Path(target).name == "index.qmd":
            staged_text = staged_index(staged_text, left_out)
        if staged_text != text:
            write_text(target, staged_text)


_HEADING_RE = re.compile(r"^(#{1,6})\s+(?P<title>.*?)\s*(\{[^}]*\})?\s*$")


def _needs(parts: StrandPaperParts) -> re.Pattern[str]:
    """A line of the paper that quotes the strand: one of its numbers, tables, figures or
    labels."""
    names = [
        r"\{\{<\s*var\s+" + re.escape(parts.variables) + r"\.",
        *(r"tables/" + re.escape(t) + r"\.md" for t in parts.tables),
        *(r"figures/" + re.escape(f) + r"\.png" for f in parts.figures),
        *(r"@" + re.escape(label) + r"\b" for label in parts.labels),
    ]
    return re.compile("|".join(names))


def paper_blockers(
    paper_dir: str | Path, sources: Sequence[str], enabled: Mapping[str, bool]
) -> dict[str, list[str]]:
    """Parts of the paper that quote a strand switched off: strand -> "file, section: lines".

    Read from the paper's own sources as they are staged (without the chapters and passages
    of strands off), so the list stays true when the paper changes; line numbers are the
    sources'. An empty answer means the paper builds, as the study's own paper does with any
    strand off.
    The abstract is the metadata block of index.qmd, before its first heading.
    """
    paper_dir = Path(paper_dir)
    blockers: dict[str, list[str]] = {}
    for name, parts in STRANDS.items():
        if enabled[name]:
            continue
        pattern = _needs(parts)
        found: list[str] = []
        for source in sources:
            if not source.endswith(".qmd"):
                continue
            lines: dict[str, list[int]] = {}
            text = strand_text(
                (paper_dir / source).read_text(encoding="utf-8"),
                enabled,
                source=f"{paper_dir.name}/{source}",
                keep_lines=True,
            )
            section = "front matter (title, abstract)" if text.startswith("---") else "(top)"
            for number, line in enumerate(text.splitlines(), start=1):
                heading = _HEADING_RE.match(line)
                if heading and not line.startswith("#|"):
                    section = heading["title"]
                if pattern.search(line):
                    lines.setdefault(section, []).append(number)
            for where, numbers in lines.items():
                span = (
                    f"line {numbers[0]}"
                    if len(numbers) == 1
                    else f"lines {numbers[0]}-{numbers[-1]}"
                )
                found.append(f"{paper_dir.name}/{source}, {where}: {span}")
        if found:
            blockers[name] = found
    return blockers


def paper_blocked_message(blockers: Mapping[str, Sequence[str]]) -> str:
    """What the run says when :func:`paper_blockers` found lines: each strand, its switch and
    the lines that quote it, and the two ways out."""
    parts = [
        f"strand {strand!r} is switched off (config strands.{strand}: false), but the paper "
        "quotes it in:\n" + "\n".join(f"    {line}" for line in lines)
        for strand, lines in blockers.items()
    ]
    return (
        "The paper is not rendered (its numbers, tables and figures are built): "
        + "\n".join(parts)
        + "\nSwitch the strand on, or mark these lines <!-- strand:NAME --> ... "
        "<!-- /strand:NAME --> so that the paper leaves them out with it (a chapter of one "
        "strand alone: hazegov.strands.STRAND_CHAPTERS)."
    )
