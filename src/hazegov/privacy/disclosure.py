"""Small-cell suppression of published respondent counts, and a checker for generated tables.

The rule (config `privacy.min_cell_count`, written m below; default 5), so that no small group of
respondents in one organisation can be singled out:

1. Primary suppression: a count of respondents from 1 to m - 1 is shown as "<m". A count of 0
   is shown: it singles out nobody.
2. A percentage computed from a suppressed count, and any per-group statistic (mean, SD,
   median, a difference of means) computed on fewer than m respondents, is withheld, shown as
   `WITHHELD` ("x").
3. Complementary suppression: where a published total (a *margin*: the table's total row, a
   sector's subtotal, the number of respondents analysed) would let a reader recover a
   suppressed count by subtraction, the smallest other non-zero count of that margin is
   withheld too (shown as "x"). This repeats until, in every margin, no suppressed count is
   pinned down to a single value by the margin and the known bounds of the other hidden cells
   (a "<m" cell lies in 1..m-1, an "x" count is at least m). Margins are checked one at a time.
4. Every table that shows respondent counts carries `note(m)`, whether or not a cell was
   suppressed in this build, so that readers know the rule.

What counts as a respondent count: respondents per group or category (organisation, sector,
answer category), the submissions removed by each exclusion step of the participant flow
(counts of records, not of a group, but a step that removed two submissions from one bureau
singles them out just the same), and sample sizes (n of an analysis, n of complete answers).
Not suppressed: a difference of two published sample sizes of the main analyses (respondents a
model or the missing-data rule dropped), because it cannot be hidden without hiding the sample
sizes every analysis must report; counts of days, documents or stations in the air-quality and
policy strands, which are not about respondents.

5. Rounding where differencing is the point: the multiverse publishes the sample size of every
   sample variant, and two variants differ by one exclusion rule, so the difference of their
   sizes *is* the number of respondents that rule removes (two attention-check failures, say).
   Those sizes and the exclusion counts of each variant are published rounded to a multiple of
   m (`rounded_count`; 1..m-1 shown as "<m"), so no difference of them pins down a count below
   m. The main analyses' sizes stay exact.

`check_results` reads every published file type: CSV, Markdown tables, JSON and YAML (the
paper's variables), and parquet files outside the internal folders (`INTERNAL_FOLDERS`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DEFAULT_MIN_COUNT = 5
WITHHELD = "x"

# CSV columns that hold respondent counts (outputs of the survey strand).
RESPONDENT_COUNT_COLUMNS = frozenset(
    {"n", "n_complete", "omega_n", "excluded", "remaining", "min_level_count"}
)
# Output folders (relative to results/) whose counts are not counts of respondents.
NOT_ABOUT_RESPONDENTS = ("analysis/air/", "analysis/policy/")
# Folders (relative to results/) that are not published: internal data sets, the restricted
# free text, caches (simulation replications are synthetic, not respondents).
INTERNAL_FOLDERS = ("interim/", "processed/", "cache/", "privacy/", "simulation/")
# Keys of a published JSON or YAML record (the paper's variables included) whose values are
# respondent counts.
RECORD_COUNT_KEYS = frozenset(
    {"received", "analysed", "excluded_total", "n_groups_nonempty", "largest_group_n"}
)
# Top-level keys of the paper's variables that belong to those strands (and the simulation).
NOT_ABOUT_RESPONDENTS_KEYS = frozenset({"air", "policy", "simulation"})
# Paper tables (results/paper/tables/) of the air-quality and policy strands.
NOT_ABOUT_RESPONDENTS_TABLES = ("air_", "its.", "policy_")
# Markdown column headers of respondent counts.
_COUNT_HEADER = re.compile(r"^(?:n|N|n \(.*\)|excluded|remaining|respondents)$", re.IGNORECASE)
_N_EQUALS = re.compile(r"(?<![\w.])[nN]\s*=\s*(\d+(?:,\d{3})*)(?![\d.])")


def small_label(min_count: int) -> str:
    """How a suppressed count is shown, e.g. '<5'."""
    return f"<{min_count}"


def note(min_count: int) -> str:
    """The note every table with respondent counts carries."""
    return (
        f"Counts below {min_count} are suppressed (shown as {small_label(min_count)}). "
        "Percentages and statistics of such groups, and counts that would reveal a suppressed "
        f"count by subtraction, are withheld (shown as {WITHHELD})."
    )


def note_sentence(min_count: int) -> str:
    """The first sentence of the note: what the checker looks for."""
    return f"Counts below {min_count} are suppressed (shown as {small_label(min_count)})."


def is_small(count: object, min_count: int) -> bool:
    """A count of 1 to min_count - 1 (0 and missing are not small)."""
    if count is None or isinstance(count, str):
        return False
    value = float(count)  # type: ignore[arg-type]
    return not math.isnan(value) and 0 < value < min_count


def _validate(min_count: int) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an integer of at least 1, not {min_count!r}")


@dataclass(frozen=True)
class Suppression:
    """Which cells of one list of counts are shown, suppressed ("<m") or withheld ("x")."""

    counts: tuple[int, ...]
    min_count: int
    primary: tuple[bool, ...]
    secondary: tuple[bool, ...]

    @property
    def hidden(self) -> tuple[bool, ...]:
        return tuple(p or s for p, s in zip(self.primary, self.secondary, strict=True))

    @property
    def any_hidden(self) -> bool:
        return any(self.hidden)

    def display(self) -> list[str]:
        """The counts as a table shows them."""
        return [
            small_label(self.min_count) if p else WITHHELD if s else str(c)
            for c, p, s in zip(self.counts, self.primary, self.secondary, strict=True)
        ]

    def display_values(self) -> list[object]:
        """The counts for a CSV column: ints where shown, strings where hidden."""
        return [
            d if h else c for c, d, h in zip(self.counts, self.display(), self.hidden, strict=True)
        ]

    def withhold(
        self,
        values: Sequence[object],
        fmt: Callable[[object], str] | None = None,
        *,
        when: str = "hidden",
    ) -> list[object]:
        """A statistic per cell, withheld ("x") where its count is hidden (`when="hidden"`) or
        where it rests on fewer than min_count respondents (`when="primary"`)."""
        mask = self.hidden if when == "hidden" else self.primary
        return [
            WITHHELD if m else (fmt(v) if fmt else v) for v, m in zip(values, mask, strict=True)
        ]


def _pinned(
    margin: Sequence[int],
    counts: Sequence[int],
    hidden: set[int],
    primary: set[int],
    min_count: int,
) -> bool:
    """Would a reader who knows the margin's total and the shown cells recover a suppressed
    count exactly? Hidden primary cells lie in 1..m-1, withheld ones are at least m."""
    cells = [i for i in margin if i in hidden]
    total = sum(counts[i] for i in cells)
    for p in cells:
        if p not in primary:
            continue
        others = [j for j in cells if j != p]
        low = sum(1 if j in primary else min_count for j in others)
        high = sum(min_count - 1 if j in primary else math.inf for j in others)
        hi = min(min_count - 1, total - low)
        lo = max(1, total - high)
        if hi <= lo:
            return True
    return False


def suppress(
    counts: Sequence[int], min_count: int, margins: Iterable[Sequence[int]] = ()
) -> Suppression:
    """Primary suppression of counts 1..min_count-1, then complementary suppression.

    `margins` lists groups of cell indices whose sum a reader knows (a total row, a subtotal,
    a sample size published elsewhere). While a margin pins a suppressed count down (see
    `_pinned`; one hidden cell in a margin always is), the smallest non-zero shown cell of that
    margin is withheld too (ties: the first); the narrowest margins are treated first. A
    margin with no non-zero shown cell left cannot be protected here; its total then equals
    the suppressed counts and is small itself.
    """
    _validate(min_count)
    values = [int(c) for c in counts]
    if any(c < 0 for c in values):
        raise ValueError(f"negative count in {values}")
    # The narrowest margins first: a complement inside a subtotal protects the total as well.
    margins = sorted((list(m) for m in margins), key=len)
    primary = {i for i, c in enumerate(values) if 0 < c < min_count}
    hidden = set(primary)
    changed = True
    while changed:
        changed = False
        for margin in margins:
            while _pinned(margin, values, hidden, primary, min_count):
                shown = [i for i in margin if i not in hidden and values[i] > 0]
                if not shown:
                    break
                hidden.add(min(shown, key=lambda i: (values[i], i)))
                changed = True
    return Suppression(
        counts=tuple(values),
        min_count=min_count,
        primary=tuple(i in primary for i in range(len(values))),
        secondary=tuple(i in hidden and i not in primary for i in range(len(values))),
    )


def display_count(count: int, min_count: int) -> str:
    """One count on its own (no margin): '<m' when small, else the number."""
    return suppress([count], min_count).display()[0]


def suppress_columns(frame: pd.DataFrame, columns: Iterable[str], min_count: int) -> pd.DataFrame:
    """Primary suppression of independent count columns (sample sizes: no margin).

    Columns without a small cell keep their dtype, so a build without small cells writes the
    same bytes as before.
    """
    _validate(min_count)
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            continue
        small = out[column].map(lambda v: is_small(v, min_count))
        if small.any():
            out[column] = out[column].astype(object).where(~small, small_label(min_count))
    return out


def rounded_count(count: int, min_count: int) -> int | str:
    """A count rounded to the nearest multiple of `min_count` (halves up); 1..m-1 as "<m".

    For counts that a reader would otherwise subtract from one another (the multiverse's
    sample-variant sizes): two rounded counts no longer give a small difference exactly.
    """
    _validate(min_count)
    count = int(count)
    if 0 < count < min_count:
        return small_label(min_count)
    return min_count * math.floor(count / min_count + 0.5)


# Keys of a published JSON record that hold respondent counts of a sample (the multiverse's
# sample variants); an "excluded" mapping holds one such count per exclusion step.
SAMPLE_COUNT_KEYS = frozenset(
    {"n", "n_received", "n_after_exclusions", "n_before", "n_after", "n_sectors_left_out"}
)
_RECORD_KEYS = RESPONDENT_COUNT_COLUMNS | SAMPLE_COUNT_KEYS | RECORD_COUNT_KEYS


def rounded_counts(record: object, min_count: int) -> object:
    """`record` (JSON-like) with every sample count rounded (`rounded_count`).

    Counts are the integer values of `SAMPLE_COUNT_KEYS` and of an ``excluded`` mapping, at
    any depth; everything else is returned as it is.
    """
    if isinstance(record, list):
        return [rounded_counts(v, min_count) for v in record]
    if not isinstance(record, dict):
        return record
    out: dict[str, object] = {}
    for key, value in record.items():
        if key == "excluded" and isinstance(value, dict):
            out[key] = {k: _rounded_if_count(v, min_count) for k, v in value.items()}
        elif key in SAMPLE_COUNT_KEYS:
            out[key] = _rounded_if_count(value, min_count)
        else:
            out[key] = rounded_counts(value, min_count)
    return out


def _rounded_if_count(value: object, min_count: int) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return rounded_count(value, min_count)
    return value


def as_count(value: object) -> int | str:
    """A count read back from a published table: an int, or the '<m' / 'x' it shows."""
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.isdigit() else text
    return int(value)  # type: ignore[call-overload]


def numeric_counts(values: Iterable[object]) -> list[float]:
    """Published counts as numbers for sorting and filtering: hidden cells become NaN."""
    out = []
    for v in values:
        c = as_count(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else ""
        out.append(float(c) if isinstance(c, int) else math.nan)
    return out


# --------------------------------------------------------------------------- the checker


@dataclass(frozen=True)
class Finding:
    """A respondent count of 1..m-1 that a published table shows."""

    where: str
    value: int

    def __str__(self) -> str:
        return f"{self.where}: count {self.value} is below the minimum and not suppressed"


def _cell_number(cell: str) -> int | None:
    text = cell.strip().strip("*_").strip().replace(",", "")
    return int(text) if text.isdigit() else None


def _pipe_tables(text: str) -> list[tuple[int, list[str], list[list[str]]]]:
    """(line number of the header, headers, rows) of each pipe table in `text`."""
    lines = text.splitlines()
    tables = []
    i = 0
    while i < len(lines) - 1:
        head, rule = lines[i].strip(), lines[i + 1].strip()
        if head.startswith("|") and re.fullmatch(r"\|(?:\s*:?-+:?\s*\|)+", rule):
            headers = _split_row(head)
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].strip().startswith("|"):
                rows.append(_split_row(lines[j].strip()))
                j += 1
            tables.append((i + 1, headers, rows))
            i = j
        else:
            i += 1
    return tables


def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip() for c in cells]


def markdown_count_columns(headers: Sequence[str]) -> list[int]:
    return [i for i, h in enumerate(headers) if _COUNT_HEADER.match(h.strip())]


def small_counts_in_markdown(text: str, min_count: int, name: str = "table") -> list[Finding]:
    """Respondent counts of 1..m-1 shown in a Markdown file: cells of count columns of its
    pipe tables, and 'n = k' anywhere in its text (captions, notes)."""
    findings = []
    for line, headers, rows in _pipe_tables(text):
        for column in markdown_count_columns(headers):
            for r, row in enumerate(rows, start=1):
                value = _cell_number(row[column]) if column < len(row) else None
                if value is not None and 0 < value < min_count:
                    findings.append(
                        Finding(
                            f"{name}, table at line {line}, row {r}, {headers[column]!r}", value
                        )
                    )
    for number, text_line in enumerate(text.splitlines(), start=1):
        if text_line.lstrip().startswith("|"):
            continue
        for match in _N_EQUALS.finditer(text_line):
            value = int(match[1].replace(",", ""))
            if 0 < value < min_count:
                findings.append(Finding(f"{name}, line {number}: {match[0]!r}", value))
    return findings


def markdown_shows_counts(text: str) -> bool:
    """Does a Markdown table file show respondent counts (a count column or 'n = k')?"""
    if any(markdown_count_columns(headers) for _, headers, _ in _pipe_tables(text)):
        return True
    return any(
        _N_EQUALS.search(line) for line in text.splitlines() if not line.lstrip().startswith("|")
    )


def has_note(text: str, min_count: int) -> bool:
    return note_sentence(min_count) in " ".join(text.split())


def small_counts_in_frame(
    frame: pd.DataFrame,
    min_count: int,
    columns: Iterable[str] = RESPONDENT_COUNT_COLUMNS,
    name: str = "table",
) -> list[Finding]:
    """Cells of 1..m-1 in the count columns of a table (as read from a CSV)."""
    findings = []
    for column in columns:
        if column not in frame.columns:
            continue
        for row, value in enumerate(frame[column].tolist(), start=2):
            number = _cell_number(str(value)) if isinstance(value, str) else value
            if isinstance(number, bool) or number is None:
                continue
            try:
                numeric = float(number)
            except (TypeError, ValueError):
                continue
            if not math.isnan(numeric) and 0 < numeric < min_count:
                findings.append(Finding(f"{name}, line {row}, column {column!r}", int(numeric)))
    return findings


def is_about_respondents(path: str | Path, results: str | Path) -> bool:
    """Is a results/ file one of the survey strand's (its counts are counts of respondents)?"""
    relative = Path(path).resolve().relative_to(Path(results).resolve()).as_posix()
    return not relative.startswith(NOT_ABOUT_RESPONDENTS)


def is_published(path: str | Path, results: str | Path) -> bool:
    """Is a results/ file published (not an internal data set, cache or baseline)?"""
    relative = Path(path).resolve().relative_to(Path(results).resolve())
    return not relative.as_posix().startswith(INTERNAL_FOLDERS) and "baselines" not in (
        relative.parts
    )


def small_counts_in_record(record: object, min_count: int, name: str = "file") -> list[Finding]:
    """Respondent counts of 1..m-1 in a JSON or YAML record, at any depth.

    A count is the value of a key of `RESPONDENT_COUNT_COLUMNS`, `SAMPLE_COUNT_KEYS` or
    `RECORD_COUNT_KEYS`, and each value of an ``excluded`` mapping; a value may be a number or
    a number written as text (the paper's variables are text). "<m" and "x" are not counts.
    """
    findings: list[Finding] = []

    def visit(value: object, where: str, counted: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                is_count = str(key) in _RECORD_KEYS
                if str(key) == "excluded" and isinstance(item, dict):
                    for step, n in item.items():
                        visit(n, f"{where}.excluded.{step}", True)
                else:
                    visit(item, f"{where}.{key}", is_count)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{where}[{i}]", counted)
        elif counted and not isinstance(value, bool):
            number = _cell_number(value) if isinstance(value, str) else value
            is_number = isinstance(number, (int, float)) and not math.isnan(number)
            if is_number and 0 < number < min_count:  # type: ignore[operator]
                findings.append(Finding(f"{name}: {where.lstrip('.')}", int(number)))  # type: ignore[arg-type]

    if isinstance(record, dict):  # the paper's variables: the strands not about respondents
        record = {k: v for k, v in record.items() if k not in NOT_ABOUT_RESPONDENTS_KEYS}
    visit(record, "", False)
    return findings


def _published_files(results: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in results.rglob("*")
        if p.suffix.lower() in suffixes
        and p.is_file()
        and is_published(p, results)
        and is_about_respondents(p, results)
    )


def check_results(results: str | Path, min_count: int) -> tuple[list[Finding], list[str]]:
    """Every published file of the survey strand: small counts shown, and tables with counts
    that lack the note. Returns (findings, names of tables without the note).

    Read: CSV and parquet tables (their count columns; a figure's counts are those of the
    published table it is drawn from), Markdown (pipe tables and "n = k"; the note is required
    of the paper tables results/paper/tables/*.md), JSON and YAML records (`small_counts_in_
    record`). Internal folders (`INTERNAL_FOLDERS`) and baselines are not published.
    """
    import json

    import yaml

    results = Path(results)
    findings: list[Finding] = []
    missing_note: list[str] = []
    for path in _published_files(results, (".csv", ".parquet")):
        name = str(path.relative_to(results))
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(path).astype(str)
        findings += small_counts_in_frame(frame, min_count, name=name)
    for path in _published_files(results, (".json", ".yml", ".yaml")):
        text = path.read_text(encoding="utf-8")
        record = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        findings += small_counts_in_record(record, min_count, str(path.relative_to(results)))
    for path in _published_files(results, (".md",)):
        if path.name.startswith(NOT_ABOUT_RESPONDENTS_TABLES):
            continue
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(results))
        findings += small_counts_in_markdown(text, min_count, name)
        is_paper_table = path.parent == results / "paper" / "tables"
        if is_paper_table and markdown_shows_counts(text) and not has_note(text, min_count):
            missing_note.append(name)
    return findings, missing_note


def run_disclosure_check(results: str | Path, min_count: int, report_out: str | Path) -> None:
    """Stop the build if a published file shows a small count or a count table lacks the note.

    Parameters
    ----------
    results : str or Path
        The results directory.
    min_count : int
        Config ``privacy.min_cell_count``.
    report_out : str or Path
        A JSON report of what was checked, written only when nothing was found.

    Raises
    ------
    InputError
        One violation (rule ``small-cell``) per count shown, one (rule ``small-cell-note``)
        per table without the note.
    """
    import json

    from hazegov.errors import InputError, Violation
    from hazegov.io import write_text

    findings, missing_note = check_results(results, min_count)
    problems = [Violation(f.where, "small-cell", str(f)) for f in findings] + [
        Violation(name, "small-cell-note", f"shows respondent counts without: {note(min_count)}")
        for name in missing_note
    ]
    if problems:
        raise InputError(problems)
    report = {"min_cell_count": min_count, "findings": [], "tables_without_note": []}
    write_text(report_out, json.dumps(report, indent=2, sort_keys=True) + "\n")
