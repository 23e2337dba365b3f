"""Checks of the paper's sources and build that rendering alone would not catch.

The renderer stops at the first undefined variable or unresolved reference; these checks list
every problem at once, with file and line, so a test can assert that the list is empty and a
failing run says exactly what to fix.  They also catch what renders silently: numbers typed
into the prose by hand (they would not change when the data do) and variables the pipeline
produces that the paper never quotes.

Shortcodes and includes are read by Quarto's own rules (:mod:`hazegov.paper.quarto_syntax`, shared
with :mod:`hazegov.paper.render`): :func:`quarto_syntax` lists every line Quarto would stop at
or misread as one block shortcode, and every include that is not alone on its line, has no
blank lines around it, or would resolve to another file in another Quarto release.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from hazegov.paper.quarto_syntax import (
    BLOCK_SHORTCODE_RE,
    QuartoSyntaxError,
    block_shortcode_problems,
    include_target,
    shortcode_params,
)
from hazegov.paper.quarto_syntax import SHORTCODE_SPAN_RE as _SHORTCODE_RE
from hazegov.paper.render import _FENCE_RE, balanced_end, fence_end
from hazegov.strands import STRANDS

__all__ = [
    "DIGIT_ALLOWLIST",
    "AllowedNumber",
    "Problem",
    "appendices_and_offline",
    "check_paper",
    "digits_in_prose",
    "figure_text_sizes",
    "format_problems",
    "main",
    "missing_figures",
    "page_geometry",
    "paper_sources",
    "pdf_layout",
    "quarto_syntax",
    "read_supplementary",
    "undefined_variables",
    "unresolved_crossrefs",
    "unused_variables",
]

MAIN_DOCUMENT = "index.qmd"
VARIABLES_FILE = "_variables.yml"
CROSSREF_KINDS = ("fig", "tbl", "sec")


@dataclass(frozen=True, order=True)
class Problem:
    """One finding; ``file`` is relative to the directory that was checked where possible."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _in_order(problems: Iterable[Problem]) -> list[Problem]:
    """By file and line; problems on one line stay in the order they were found."""
    return sorted(problems, key=lambda p: (p.file, p.line))


def format_problems(problems: Iterable[Problem]) -> str:
    """One problem per line, for assertion messages and the command line."""
    return "\n".join(str(p) for p in problems)


# --------------------------------------------------------------------------- allowlist


@dataclass(frozen=True)
class AllowedNumber:
    """A kind of digit string that may stand in prose; ``reason`` says why it is no result."""

    name: str
    pattern: re.Pattern[str]
    reason: str


def _allow(name: str, pattern: str, reason: str) -> AllowedNumber:
    return AllowedNumber(name, re.compile(pattern), reason)


_YEAR = r"(?:19|20)\d{2}"
_DASH = r"[-\u2010-\u2015~\uff5e至到]"  # hyphen, en/em dashes, tildes, 至/到

DIGIT_ALLOWLIST: tuple[AllowedNumber, ...] = (
    # Order matters: longer patterns first, so that "GB 3095-2012" is not half-taken as a year.
    _allow(
        "policy document number",
        rf"[\u4e00-\u9fff]{{1,8}}[〔\[［(（]{_YEAR}[〕\]］)）]\s?\d+\s?号"
        rf"|\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)*\s?[\[(]{_YEAR}[\])]\s?No\.\s?\d+",
        "the issuing number of a policy document is its name, e.g. 国发〔2013〕37号, "
        "京政发〔2013〕27号 or, in English, Guofa [2013] No. 37",
    ),
    _allow(
        "standard number",
        rf"\b(?:GB|HJ|DB\d{{2}})(?:/T)?\s?\d+(?:\.\d+)*\s?{_DASH}\s?{_YEAR}(?!\d)",
        "national, sector and local standards are cited by number and year, e.g. GB 3095-2012 "
        "(ambient air quality) or HJ 633-2012 (the air-quality index)",
    ),
    _allow(
        "pollutant",
        r"\bPM\s?(?:2\.5|10)(?![\d.]\d)|PM₂\.₅|PM₁₀",
        "PM2.5 and PM10 are names of pollutants, not measurements",
    ),
    _allow(
        "year range",
        rf"(?<![\dA-Za-z.,]){_YEAR}\s?{_DASH}\s?{_YEAR}(?![\dA-Za-z%]|[.,]\d)",
        "periods in the titles of plans, e.g. the Beijing 2013–2017 Clean Air Action Plan or "
        "the 2012-2020 air pollution control measures",
    ),
    _allow(
        "year",
        rf"(?<![\dA-Za-z.,]){_YEAR}(?![\dA-Za-z%]|[.,]\d)",
        "a calendar year 1900–2099 (e.g. 'In September 2013') dates an event; a year that "
        "comes from the data (first or last year of a series) should still be a variable",
    ),
)


# --------------------------------------------------------------------------- masking

# Everything below is blanked with spaces (newlines kept), so offsets and line numbers in the
# masked text are those of the source file.

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(?:.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_CODE_SPAN_RE = re.compile(
    r"(?<!`)(?P<ticks>`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)(?P=ticks)(?!`)", re.DOTALL
)
_URL_RE = re.compile(
    r"<[A-Za-z][\w+.-]*:[^<>\s]*>"  # autolink <https://...>, <mailto:...>
    r"|\b(?:https?|ftp|file)://[^\s<>\])}]+"
    r"|\bwww\.[^\s<>\])}]+"
    r"|\bdoi:\S+"
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ATTRS_RE = re.compile(r"\{\s*(?:[#.=-]|[\w-]+=)[^{}]*\}")  # {#sec-x .cls key=val}, {=html}
_CITE_RE = re.compile(r"(?<![\w.+/@-])-?@(?:\{[^{}]*\}|[\w][\w:.#$%&+?<>~/-]*)")
_CITE_BRACKET_RE = re.compile(r"\[[^\[\]]*?-?@[\w{][^\[\]]*\](?![(\[])")  # [@a, p. 33; @b]
_FOOTNOTE_RE = re.compile(r"\[\^[^\]\s]+\]")
_LIST_MARKER_RE = re.compile(r"^[ \t]*(?:>[ \t]*)*\(?\d+[.)](?=[ \t]|$)", re.MULTILINE)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def _blank_matches(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: _blank(m[0]), text)


def _blank_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out = text
    for start, end in spans:
        out = out[:start] + _blank(out[start:end]) + out[end:]
    return out


def _fenced_blocks(text: str) -> Iterator[tuple[int, int]]:
    """Character spans of fenced code and raw blocks, fences included (unclosed: to the end)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    i = 0
    while i < len(lines):
        match = _FENCE_RE.match(lines[i])
        if match is None:
            i += 1
            continue
        j = fence_end(lines, i, match["fence"])
        yield starts[i], starts[min(j + 1, len(lines))]
        i = j + 1


def _mask_structure(text: str) -> str:
    """Blank front matter, code, raw blocks and comments: what is left is Markdown prose."""
    text = _blank_matches(text, _FRONT_MATTER_RE)
    text = _blank_spans(text, list(_fenced_blocks(text)))
    text = _blank_matches(text, _COMMENT_RE)
    return _blank_matches(text, _CODE_SPAN_RE)


def _link_targets(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_image) of the ``(...)`` target of every inline link and image."""
    for match in re.finditer(r"\]\(", text):
        close = balanced_end(text, match.end(), "(", ")", within_paragraph=True)
        if close is None:
            continue
        bracket = _opening_bracket(text, match.start())
        is_image = bracket is not None and bracket > 0 and text[bracket - 1] == "!"
        yield match.end(), close, is_image


def _opening_bracket(text: str, close: int) -> int | None:
    depth = 0
    for index in range(close, -1, -1):
        char = text[index]
        if char == "]" and (index == 0 or text[index - 1] != "\\"):
            depth += 1
        elif char == "[" and (index == 0 or text[index - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return index
    return None


def _prose_only(text: str) -> str:
    """The prose of a ``.qmd`` file with everything that is not hand-written wording blanked."""
    text = _mask_structure(text)
    text = _blank_matches(text, _SHORTCODE_RE)
    text = _blank_matches(text, _URL_RE)
    text = _blank_spans(text, [(s, e) for s, e, _ in _link_targets(text)])
    text = _blank_matches(text, _ATTRS_RE)
    text = _blank_matches(text, _EMAIL_RE)
    text = _blank_matches(text, _CITE_BRACKET_RE)  # with its locators ("p. 33")
    text = _blank_matches(text, _CITE_RE)
    text = _blank_matches(text, _FOOTNOTE_RE)
    text = _blank_matches(text, _LIST_MARKER_RE)
    return _blank_matches(text, _HTML_TAG_RE)


class _Lines:
    """Offset to 1-based line number."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


# --------------------------------------------------------------------------- digits


def digits_in_prose(
    qmd_paths: Iterable[Path | str],
    allowlist: Sequence[AllowedNumber] = DIGIT_ALLOWLIST,
    *,
    root: Path | str | None = None,
) -> list[Problem]:
    """Digits typed into the prose by hand, which would not change when the data change.

    Numbers belong in ``{{< var ... >}}`` shortcodes fed from ``_variables.yml``.  Ignored:
    YAML front matter, code blocks and spans, raw blocks, HTML comments and tags, shortcodes,
    URLs and e-mail addresses, link and image targets (paths), attribute blocks such as
    ``{#sec-x}`` or ``{width=85%}``, citation and cross-reference keys, footnote markers and
    ordered-list markers.  What remains and matches the ``allowlist`` (years, document and
    standard numbers, pollutant names) is allowed.  ``root``: show files relative to it.
    """
    problems: list[Problem] = []
    for raw_path in qmd_paths:
        path = Path(raw_path)
        text = path.read_text(encoding="utf-8")
        prose = _prose_only(text)
        for allowed in allowlist:
            prose = _blank_matches(prose, allowed.pattern)
        lines = _Lines(text)
        for match in _NUMBER_RE.finditer(prose):
            number = lines.line(match.start())
            column = match.start() - lines.starts[number - 1]
            context = _context(text[lines.starts[number - 1] :].split("\n", 1)[0], column)
            problems.append(
                Problem(
                    _display(path, root),
                    number,
                    f"hand-typed number {match[0]!r} in {context!r}: use {{{{< var ... >}}}}",
                )
            )
    return problems


def _context(line: str, column: int, width: int = 25) -> str:
    start, end = max(column - width, 0), min(column + width, len(line))
    return ("…" if start > 0 else "") + line[start:end] + ("…" if end < len(line) else "")


def _display(path: Path, root: Path | str | None) -> str:
    bases = [Path(root)] if root is not None else []
    bases.append(Path.cwd())
    for base in bases:
        try:
            return str(path.resolve().relative_to(Path(base).resolve()))
        except ValueError:
            continue
    return str(path)


# --------------------------------------------------------------------------- includes


@dataclass
class _Source:
    """A file reached from the main document, in include order."""

    path: Path
    text: str
    display: str


@dataclass
class _Expanded:
    """The main document with includes pasted in, and where each line came from."""

    lines: list[str] = field(default_factory=list)
    origins: list[tuple[str, int]] = field(default_factory=list)
    sources: list[_Source] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _expand_includes(build_dir: Path) -> _Expanded:
    build_dir = Path(build_dir)
    expanded = _Expanded()
    main = build_dir / MAIN_DOCUMENT
    if not main.is_file():
        expanded.problems.append(Problem(MAIN_DOCUMENT, 0, f"{main} not found"))
        return expanded
    _paste(main, build_dir, expanded, ())
    return expanded


def _paste(path: Path, build_dir: Path, out: _Expanded, chain: tuple[Path, ...]) -> None:
    """Paste ``path`` with its includes, by Quarto's rules (:mod:`hazegov.paper.quarto_syntax`)."""
    resolved = path.resolve()
    display = _display(path, build_dir)
    text = path.read_text(encoding="utf-8")
    if not any(s.path == resolved for s in out.sources):
        out.sources.append(_Source(resolved, text, display))
    chain = (*chain, resolved)
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            target = include_target(line, main_dir=build_dir, including_dir=resolved.parent)
        except QuartoSyntaxError as exc:
            out.problems.append(Problem(display, number, str(exc)))
            target = None
        if target is None:
            if _INLINE_INCLUDE_RE.search(line) and not BLOCK_SHORTCODE_RE.match(line):
                out.problems.append(
                    Problem(
                        display,
                        number,
                        "an include must stand alone on its line: Quarto ignores it elsewhere",
                    )
                )
            out.lines.append(line)
            out.origins.append((display, number))
            continue
        neighbours = [lines[i] for i in (number - 2, number) if 0 <= i < len(lines)]
        if any(n.strip() for n in neighbours):
            out.problems.append(
                Problem(display, number, "Quarto needs a blank line before and after an include")
            )
        if not target.is_file():
            out.problems.append(
                Problem(display, number, f"included file not found: {line.strip()}")
            )
        elif target in chain:
            cycle = " -> ".join(str(p) for p in (*chain, target))
            out.problems.append(Problem(display, number, f"include cycle: {cycle}"))
        else:
            _paste(target, build_dir, out, chain)


_INLINE_INCLUDE_RE = re.compile(r"(?<!\{)\{\{<\s*include\b")


# --------------------------------------------------------------------------- variables


_MISSING = object()


def _variables(build_dir: Path) -> tuple[Mapping[str, Any] | None, list[Problem]]:
    path = Path(build_dir) / VARIABLES_FILE
    if not path.is_file():
        return None, [Problem(VARIABLES_FILE, 0, f"{path} not found: build the paper inputs")]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return None, [Problem(VARIABLES_FILE, 0, f"invalid YAML: {exc}")]
    if not isinstance(data, Mapping):
        return None, [Problem(VARIABLES_FILE, 0, "must contain a YAML mapping")]
    return data, []


def _resolve(variables: Mapping[str, Any], key: str) -> Any:
    """As ``paper.render``: the key as written first, then a dotted path into the mapping."""
    value: Any = variables.get(key, _MISSING)
    if value is _MISSING:
        value = variables
        for part in key.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return _MISSING
            value = value[part]
    return _MISSING if value is None else value


@dataclass(frozen=True)
class _VarUse:
    key: str
    file: str
    line: int


def _var_uses(expanded: _Expanded) -> tuple[list[_VarUse], list[Problem]]:
    uses: list[_VarUse] = []
    problems: list[Problem] = []
    for source in expanded.sources:
        lines = _Lines(source.text)
        for match in _SHORTCODE_RE.finditer(source.text):
            if match["escaped"] is not None or match["name"] != "var":
                continue
            line = lines.line(match.start())
            args = shortcode_params(match[0])
            if args is None:
                problems.append(Problem(source.display, line, f"malformed {match[0]!r}"))
                continue
            if len(args) != 1:
                problems.append(
                    Problem(source.display, line, f"{match[0]!r} takes exactly one key")
                )
                continue
            uses.append(_VarUse(args[0], source.display, line))
    return uses, problems


def undefined_variables(build_dir: Path | str) -> list[Problem]:
    """Every ``{{< var key >}}`` in the document and its includes names a scalar in
    ``_variables.yml`` (a missing key or a mapping would stop the render)."""
    build_dir = Path(build_dir)
    variables, problems = _variables(build_dir)
    expanded = _expand_includes(build_dir)
    problems += expanded.problems
    uses, malformed = _var_uses(expanded)
    problems += malformed
    if variables is None:
        return _in_order(problems)
    for use in uses:
        value = _resolve(variables, use.key)
        if value is _MISSING:
            problems.append(
                Problem(use.file, use.line, f"variable {use.key!r} is not in {VARIABLES_FILE}")
            )
        elif isinstance(value, Mapping | list):
            kind = "mapping" if isinstance(value, Mapping) else "list"
            problems.append(
                Problem(
                    use.file,
                    use.line,
                    f"variable {use.key!r} is a {kind}, not a scalar",
                )
            )
    return _in_order(problems)


def _leaves(build_dir: Path) -> dict[str, int]:
    """Every leaf key of ``_variables.yml`` (dotted) with its line number."""
    text = (Path(build_dir) / VARIABLES_FILE).read_text(encoding="utf-8")
    leaves: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = f"{prefix}{key_node.value}"
                if isinstance(value_node, yaml.MappingNode):
                    walk(value_node, f"{key}.")
                else:
                    leaves[key] = key_node.start_mark.line + 1

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, "")
    return leaves


def read_supplementary(path: Path | str) -> list[tuple[str, int]]:
    """Patterns (one per line, ``#`` comments, ``fnmatch`` wildcards) with line numbers."""
    entries = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip()
        if entry:
            entries.append((entry, number))
    return entries


def unused_variables(
    build_dir: Path | str, supplementary: Path | str | Iterable[str] = ()
) -> list[Problem]:
    """Every leaf of ``_variables.yml`` is quoted by the paper or listed as supplementary.

    A variable nobody quotes is either a number the paper forgot to report or dead weight in
    the pipeline.  ``supplementary`` is a file of key patterns (see
    :func:`read_supplementary`) or the patterns themselves: keys kept for readers of the
    build rather than for the prose.  A pattern that matches no variable is reported too,
    so the list cannot go stale (except the entries of a strand switched off, whose
    numbers are all absent: :mod:`hazegov.strands`).
    """
    build_dir = Path(build_dir)
    variables, problems = _variables(build_dir)
    if variables is None:
        return _in_order(problems)
    expanded = _expand_includes(build_dir)
    problems += expanded.problems
    uses, _ = _var_uses(expanded)
    used = {use.key for use in uses}

    if isinstance(supplementary, str | Path):
        path = Path(supplementary)
        where = _display(path, None)
        if path.is_file():
            entries = read_supplementary(path)
        else:
            entries = []
            problems.append(Problem(where, 0, "supplementary variable list not found"))
    else:
        where = "<supplementary>"
        entries = [(entry, index) for index, entry in enumerate(supplementary, start=1)]

    leaves = _leaves(build_dir)
    # a strand switched off (config strands) has no numbers at all: its entries are not stale
    present = {key.split(".", 1)[0] for key in leaves}
    switched_off = {parts.variables for parts in STRANDS.values()} - present
    for pattern, line in entries:
        if pattern.split(".", 1)[0] in switched_off:
            continue
        if not any(fnmatch.fnmatchcase(key, pattern) for key in leaves):
            problems.append(
                Problem(where, line, f"supplementary entry {pattern!r} matches no variable")
            )
    for key, line in leaves.items():
        if key in used or any(fnmatch.fnmatchcase(key, p) for p, _ in entries):
            continue
        problems.append(
            Problem(
                VARIABLES_FILE,
                line,
                f"variable {key!r} is not used in the paper and not listed as supplementary",
            )
        )
    return _in_order(problems)


# --------------------------------------------------------------------------- cross-references


_KEY = r"(?:" + "|".join(CROSSREF_KINDS) + r")-\w+(?:[-:.]\w+)*"
_LABEL_RE = re.compile(r"\{[^{}]*?#(?P<label>" + _KEY + r")(?=[\s}])[^{}]*\}")
_CELL_LABEL_RE = re.compile(r"^\s*#\|\s*label:\s*['\"]?(?P<label>" + _KEY + r")", re.MULTILINE)
_REF_RE = re.compile(r"(?<![\w.+/@-])-?@(?P<key>" + _KEY + r")")


def unresolved_crossrefs(build_dir: Path | str) -> list[Problem]:
    """Every ``@fig-``, ``@tbl-`` and ``@sec-`` reference has exactly one label to point at."""
    expanded = _expand_includes(Path(build_dir))
    problems = list(expanded.problems)
    text = expanded.text
    lines = _Lines(text)
    prose = _mask_structure(text)
    prose = _blank_matches(prose, _SHORTCODE_RE)

    def where(offset: int) -> tuple[str, int]:
        return expanded.origins[lines.line(offset) - 1]

    labels: dict[str, tuple[str, int]] = {}
    found = [(m.start(), m["label"]) for m in _LABEL_RE.finditer(prose)]
    for start, end in _fenced_blocks(text):  # executable cells: #| label: fig-x
        found += [(start + m.start(), m["label"]) for m in _CELL_LABEL_RE.finditer(text[start:end])]
    for offset, label in sorted(found):
        file, line = where(offset)
        if label in labels:
            first = labels[label]
            problems.append(
                Problem(file, line, f"label {label!r} also defined at {first[0]}:{first[1]}")
            )
        else:
            labels[label] = (file, line)

    prose = _blank_matches(prose, _EMAIL_RE)
    for match in _REF_RE.finditer(prose):
        if match["key"] not in labels:
            file, line = where(match.start())
            problems.append(
                Problem(file, line, f"@{match['key']} has no label {{#{match['key']}}}")
            )
    return _in_order(problems)


# --------------------------------------------------------------------------- Quarto's rules


def quarto_syntax(build_dir: Path | str) -> list[Problem]:
    """Lines Quarto would reject or misread: block-shortcode lines and misplaced includes.

    Every file the main document reaches is read, generated tables included, and each line is
    tested as Quarto tests it, wherever it stands (front matter and code too).
    """
    expanded = _expand_includes(Path(build_dir))
    problems = list(expanded.problems)
    for source in expanded.sources:
        problems += [
            Problem(source.display, line, message)
            for line, message in block_shortcode_problems(source.text)
        ]
    return _in_order(problems)


# --------------------------------------------------------------------------- figures


_IMG_TAG_RE = re.compile(r"<img\b[^<>]*?\bsrc\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)')", re.I)
_SCHEME_RE = re.compile(r"^[A-Za-z][\w+.-]*:")


def missing_figures(build_dir: Path | str) -> list[Problem]:
    """Every image the expanded document shows exists, relative to the main document.

    A ``{{< var >}}`` inside an image path is resolved first; an undefined one is left to
    :func:`undefined_variables`.
    """
    build_dir = Path(build_dir)
    expanded = _expand_includes(build_dir)
    problems = list(expanded.problems)
    variables, _ = _variables(build_dir)
    text = expanded.text
    lines = _Lines(text)
    prose = _mask_structure(text)

    targets = [(s, prose[s:e], True) for s, e, image in _link_targets(prose) if image]
    targets += [
        (m.start(), m["dq"] if m["dq"] is not None else m["sq"], False)
        for m in _IMG_TAG_RE.finditer(prose)
    ]
    for offset, raw_target, markdown in sorted(targets):
        resolved = _with_variables(raw_target, variables or {})
        if resolved is None:
            continue  # an undefined variable: reported by undefined_variables
        target = _image_path(resolved) if markdown else resolved.strip()
        if not target or _SCHEME_RE.match(target):
            continue  # URLs and data: URIs are not files of the build
        path = build_dir / unquote(target).lstrip("/")
        if not path.is_file():
            file, line = expanded.origins[lines.line(offset) - 1]
            problems.append(Problem(file, line, f"image not found: {target}"))
    return _in_order(problems)


def _with_variables(text: str, variables: Mapping[str, Any]) -> str | None:
    """``text`` with its var shortcodes replaced, or None when one cannot be resolved."""
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        if match["escaped"] is not None:
            return "{{<" + match["escaped"] + ">}}"
        args = match["args"].split()
        value = _resolve(variables, args[0]) if match["name"] == "var" and args else _MISSING
        if value is _MISSING or isinstance(value, Mapping | list):
            unresolved = True
            return ""
        return str(value).lower() if isinstance(value, bool) else str(value)

    result = _SHORTCODE_RE.sub(replace, text)
    return None if unresolved else result


def _image_path(target: str) -> str:
    target = target.strip()
    if target.startswith("<"):
        return target[1 : target.find(">")] if ">" in target else target[1:]
    return target.split()[0] if target else ""


# --------------------------------------------------------------------------- appendices

_APPENDIX_HEADING_RE = re.compile(
    r"^#\s+Appendix\s+(?P<letter>[A-Z])\b[^{\n]*\{(?P<attrs>[^{}]*)\}\s*$", re.MULTILINE
)
_APPENDIX_LINK_RE = re.compile(r"\[Appendix(?:\s|\u00a0)+(?P<letter>[A-Z])\]\(#(?P<id>[\w:.-]+)\)")
_CALLOUT_RE = re.compile(r"^[ \t]*:{3,}[ \t]*(?:\{[^{}\n]*\.callout\b|callout)", re.MULTILINE)


def appendices_and_offline(build_dir: Path | str) -> list[Problem]:
    """Appendices lettered A, B, C... in order, each link "Appendix X" pointing at X, and no
    callout (Quarto's typst callouts import a typst package, which typst downloads).

    Quarto 1.8 letters appendices only in book projects, so the paper titles them itself
    ("Appendix A: ...", unnumbered) and links them by name; this keeps those letters true.
    """
    expanded = _expand_includes(Path(build_dir))
    text = _mask_structure(expanded.text)
    lines = _Lines(expanded.text)
    problems: list[Problem] = []
    letters: dict[str, str] = {}
    for expected, match in enumerate(_APPENDIX_HEADING_RE.finditer(text)):
        file, line = expanded.origins[lines.line(match.start()) - 1]
        ident = re.search(r"#([\w:.-]+)", match["attrs"])
        if match["letter"] != chr(ord("A") + expected):
            problems.append(
                Problem(
                    file,
                    line,
                    f"Appendix {match['letter']} should be Appendix "
                    f"{chr(ord('A') + expected)}: appendices are lettered in order",
                )
            )
        if ".unnumbered" not in match["attrs"] and not re.search(r"(?<!\S)-(?!\S)", match["attrs"]):
            problems.append(Problem(file, line, "an appendix heading must be {.unnumbered}"))
        if ident is not None:
            letters[ident[1]] = match["letter"]
    for match in _APPENDIX_LINK_RE.finditer(text):
        if letters.get(match["id"]) != match["letter"]:
            file, line = expanded.origins[lines.line(match.start()) - 1]
            actual = letters.get(match["id"])
            problems.append(
                Problem(
                    file,
                    line,
                    f"link 'Appendix {match['letter']}' points at #{match['id']}, which is "
                    + (f"Appendix {actual}" if actual else "no appendix heading"),
                )
            )
    for match in _CALLOUT_RE.finditer(text):
        file, line = expanded.origins[lines.line(match.start()) - 1]
        problems.append(
            Problem(
                file,
                line,
                "a callout: Quarto's typst output imports the typst package "
                "@preview/fontawesome for it, which needs the network; use a .block div",
            )
        )
    return _in_order(problems)


# --------------------------------------------------------------------------- print layout

PAPER_WIDTHS_CM = {"a4": 21.0, "a5": 14.8, "us-letter": 21.59}
_LENGTH_RE = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>cm|mm|in|pt)\s*$")
_CM_PER_UNIT = {"cm": 1.0, "mm": 0.1, "in": 2.54, "pt": 2.54 / 72}
MIN_FIGURE_TEXT_PT = 6.0


def _length_cm(value: Any, what: str) -> float:
    match = _LENGTH_RE.match(str(value))
    if match is None:
        raise ValueError(f"{what}: {value!r} is not a length in cm, mm, in or pt")
    return float(match["value"]) * _CM_PER_UNIT[match["unit"]]


def page_geometry(build_dir: Path | str) -> tuple[float, float]:
    """(paper width, left-and-right margin) in cm, from ``format: typst:`` in ``_quarto.yml``.

    Both renderers read the same options, so this is the text column the PDF must keep to.
    """
    path = Path(build_dir) / "_quarto.yml"
    project = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    typst = ((project or {}).get("format") or {}).get("typst") or {}
    papersize = str(typst.get("papersize", "us-letter")).lower()
    if papersize not in PAPER_WIDTHS_CM:
        raise ValueError(f"{path}: papersize {papersize!r} is not one of {sorted(PAPER_WIDTHS_CM)}")
    margin = typst.get("margin") or {}
    margin_x = margin.get("x") if isinstance(margin, Mapping) else None
    if margin_x is None:
        raise ValueError(f"{path}: set format: typst: margin: x: so the text area is known")
    return PAPER_WIDTHS_CM[papersize], _length_cm(margin_x, f"{path}: margin x")


_FIGURE_RE = re.compile(r"!\[[^\n]*?\]\((?P<path>[^)\s]+)\)\{(?P<attrs>[^{}]*#fig-[^{}]*)\}")
_WIDTH_ATTR_RE = re.compile(r"(?<![\w-])width=\"?(?P<value>[\d.]+)(?P<unit>%|cm|mm|in)\"?")


def figure_text_sizes(build_dir: Path | str) -> list[Problem]:
    """Every figure states its printed width, and its smallest text prints at 6 pt or more.

    The figure's own width and smallest text size come from the PNG (written by
    :func:`hazegov.survey.describe.save_png`); the printed width from the ``width=`` attribute and
    the text column of :func:`page_geometry`.
    """
    from PIL import Image

    from hazegov.survey.describe import FIGURE_WIDTH_KEY, SMALLEST_TEXT_KEY

    build_dir = Path(build_dir)
    expanded = _expand_includes(build_dir)
    problems: list[Problem] = []
    try:
        paper_cm, margin_cm = page_geometry(build_dir)
    except ValueError as exc:
        return [Problem("_quarto.yml", 0, str(exc))]
    column_in = (paper_cm - 2 * margin_cm) / 2.54
    lines = _Lines(expanded.text)
    for match in _FIGURE_RE.finditer(_mask_structure(expanded.text)):
        file, line = expanded.origins[lines.line(match.start()) - 1]
        width = _WIDTH_ATTR_RE.search(match["attrs"])
        if width is None:
            problems.append(
                Problem(file, line, f"figure {match['path']} has no width=, so no known print size")
            )
            continue
        value, unit = float(width["value"]), width["unit"]
        printed_in = column_in * value / 100 if unit == "%" else value * _CM_PER_UNIT[unit] / 2.54
        if printed_in > column_in + 1e-6:
            problems.append(
                Problem(file, line, f"figure {match['path']} is wider than the text column")
            )
        image_path = build_dir / match["path"]
        if not image_path.is_file():
            continue  # reported by missing_figures
        with Image.open(image_path) as image:
            info = dict(getattr(image, "text", {}) or {})
        if FIGURE_WIDTH_KEY not in info or SMALLEST_TEXT_KEY not in info:
            problems.append(
                Problem(file, line, f"figure {match['path']} does not record its text size")
            )
            continue
        printed_pt = float(info[SMALLEST_TEXT_KEY]) * printed_in / float(info[FIGURE_WIDTH_KEY])
        if round(printed_pt, 2) < MIN_FIGURE_TEXT_PT:
            problems.append(
                Problem(
                    file,
                    line,
                    f"figure {match['path']}: its smallest text prints at {printed_pt:.1f} pt "
                    f"(under {MIN_FIGURE_TEXT_PT:g} pt) at {printed_in * 2.54:.1f} cm wide",
                )
            )
    return _in_order(problems)


def pdf_layout(build_dir: Path | str, pdf: Path | str | None = None) -> list[Problem]:
    """Overprinted glyphs and glyphs or images outside the text area of the rendered PDF."""
    from hazegov.paper.pdf_layout import TextArea, layout_problems

    build_dir = Path(build_dir)
    pdf = Path(pdf) if pdf is not None else build_dir / "_output" / "index.pdf"
    if not pdf.is_file():
        return [Problem(str(pdf), 0, "the rendered PDF is missing")]
    try:
        _, margin_cm = page_geometry(build_dir)
    except ValueError as exc:
        return [Problem("_quarto.yml", 0, str(exc))]
    return [
        Problem(pdf.name, problem.page, f"{problem.kind}: {problem.detail}")
        for problem in layout_problems(pdf, TextArea.from_cm(margin_cm, margin_cm))
    ]


# --------------------------------------------------------------------------- all together


def paper_sources(paper_dir: Path | str) -> list[Path]:
    """The hand-written ``.qmd`` files of the paper (as ``stage_paper_sources`` stages them)."""
    paper_dir = Path(paper_dir)
    return sorted(paper_dir.glob("*.qmd"))


def check_paper(
    build_dir: Path | str,
    paper_dir: Path | str,
    supplementary: Path | str | Iterable[str] | None = None,
    *,
    pdf: Path | str | None = None,
) -> list[Problem]:
    """All checks: hand-typed digits in ``paper_dir``, the rest on the staged build, and the
    print layout of ``pdf`` when one is given."""
    paper_dir = Path(paper_dir)
    if supplementary is None:
        supplementary = paper_dir / "supplementary_variables.txt"
    problems = [
        *quarto_syntax(build_dir),
        *digits_in_prose(paper_sources(paper_dir), root=paper_dir.parent),
        *undefined_variables(build_dir),
        *unused_variables(build_dir, supplementary),
        *unresolved_crossrefs(build_dir),
        *missing_figures(build_dir),
        *figure_text_sizes(build_dir),
        *appendices_and_offline(build_dir),
    ]
    if pdf is not None:
        problems += pdf_layout(build_dir, pdf)
    return list(dict.fromkeys(problems))  # an include problem is found by every check


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hazegov.paper.checks [BUILD_DIR [PAPER_DIR]] [--pages DIR]``.

    Checks the sources and, when the build has one, the rendered PDF's layout; ``--pages``
    also writes every PDF page as a PNG to look at.  Prints problems and exits 1 if any.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m hazegov.paper.checks")
    parser.add_argument("build_dir", nargs="?", default="results/paper")
    parser.add_argument("paper_dir", nargs="?", default="paper")
    parser.add_argument("--pages", help="write PNGs of the PDF's pages into this directory")
    args = parser.parse_args(argv)
    build_dir = Path(args.build_dir)
    pdf = build_dir / "_output" / "index.pdf"
    problems = check_paper(build_dir, Path(args.paper_dir), pdf=pdf if pdf.is_file() else None)
    if args.pages and pdf.is_file():
        from hazegov.paper.pdf_layout import render_pages

        written = render_pages(pdf, args.pages)
        print(f"wrote {len(written)} page images to {args.pages}", file=sys.stderr)
    if problems:
        print(format_problems(problems))
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
