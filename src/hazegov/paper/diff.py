"""Paper-level diff of two builds: which quoted numbers, sentences, table cells and figures changed.

A reviewer saves the default build as a baseline, rebuilds with other settings and reads what
that did to the paper.  The comparison works on the build directory's generated inputs
(``_variables.yml``, ``tables/*.md``, ``figures/*.png``) and the chapter sources rather than on
the rendered HTML/PDF, so every change is traced back to the variable or cell that caused it.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hazegov.errors import HazegovError
from hazegov.io import atomic_path, write_text
from hazegov.paper.quarto_syntax import SHORTCODE_SPAN_RE as _SHORTCODE_RE
from hazegov.paper.quarto_syntax import shortcode_params

# The renderer's own shortcode pattern, so the diff sees shortcodes exactly as the render does.
from hazegov.paper.render import PaperRenderError, expand_shortcodes

__all__ = [
    "COMPARED_PATTERNS",
    "MANIFEST_FILE",
    "VARIABLES_FILE",
    "PaperDiff",
    "PaperDiffError",
    "Parsed",
    "compare_builds",
    "configure_parser",
    "main",
    "parse_value",
    "render_markdown",
    "run",
    "save_baseline",
    "write_report",
]

VARIABLES_FILE = "_variables.yml"
MANIFEST_FILE = "baseline.json"
MANIFEST_FORMAT = 1
COMPARED_PATTERNS = (
    VARIABLES_FILE,
    "*.qmd",
    "chapters/*.qmd",
    "tables/*.md",
    "appendix/*.md",
    "figures/*.png",
)
REPORT_SUFFIXES = (".md", ".html")
LONG_VALUE = 60  # longer variable values are listed below the number table, not in a cell
PANDOC_TIMEOUT = 300
ABSENT = "—"


class PaperDiffError(HazegovError):
    """A directory is not a paper build or baseline, or the report could not be written."""


# --------------------------------------------------------------------------- result


VARIABLE_COLUMNS = [
    "key",
    "group",
    "status",
    "changed",
    "old",
    "new",
    "kind",
    "abs_change",
    "rel_change",
    "low_change",
    "high_change",
    "change",
]
SENTENCE_COLUMNS = ["key", "file", "line", "section", "old_sentence", "new_sentence"]
TABLE_COLUMNS = ["table", "row", "column", "status", "old", "new", "abs_change", "rel_change"]
TABLE_FILE_COLUMNS = ["table", "label", "status", "cells_changed"]
FIGURE_COLUMNS = [
    "figure",
    "status",
    "old_sha256",
    "new_sha256",
    "pixel_share",
    "old_size",
    "new_size",
]
TEXT_COLUMNS = ["file", "status", "lines_added", "lines_removed"]
_FLOATS = ("abs_change", "rel_change", "low_change", "high_change", "pixel_share")
_INTS = ("line", "cells_changed", "lines_added", "lines_removed")


@dataclass(frozen=True, eq=False)
class PaperDiff:
    """Tidy frames of what differs between a baseline and a build (see the *_COLUMNS lists).

    ``variables``, ``table_files``, ``figures`` and ``texts`` list every item with its status
    (unchanged, changed, added, removed); ``sentences`` and ``tables`` list only changes.
    """

    baseline: str
    build: str
    variables: pd.DataFrame
    sentences: pd.DataFrame
    tables: pd.DataFrame
    table_files: pd.DataFrame
    figures: pd.DataFrame
    texts: pd.DataFrame

    def summary(self) -> dict[str, int]:
        """Counts for the report's summary and the CLI's one-line message."""

        def count(frame: pd.DataFrame, status: str) -> int:
            return int((frame["status"] == status).sum())

        def differing(frame: pd.DataFrame) -> int:
            return int((frame["status"] != "unchanged").sum())

        sentences = self.sentences.drop_duplicates(["file", "line", "old_sentence"])
        return {
            "variables": len(self.variables),
            "variables_changed": count(self.variables, "changed"),
            "variables_added": count(self.variables, "added"),
            "variables_removed": count(self.variables, "removed"),
            "sentences": len(sentences),
            "sentence_files": int(sentences["file"].nunique()),
            "tables": len(self.table_files),
            "tables_changed": differing(self.table_files),
            "table_cells_changed": len(self.tables),
            "figures": len(self.figures),
            "figures_changed": count(self.figures, "changed"),
            "figures_added": count(self.figures, "added"),
            "figures_removed": count(self.figures, "removed"),
            "texts": len(self.texts),
            "texts_changed": differing(self.texts),
        }

    @property
    def is_empty(self) -> bool:
        """True when the build matches the baseline in every compared file."""
        frames = (self.variables, self.table_files, self.figures, self.texts)
        return not any(bool((frame["status"] != "unchanged").any()) for frame in frames)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=columns)
    types: dict[str, str] = {c: "float64" for c in _FLOATS if c in columns}
    types.update({c: "int64" for c in _INTS if c in columns})
    if "changed" in columns:
        types["changed"] = "bool"
    return frame.astype(types).reset_index(drop=True)


# --------------------------------------------------------------------------- baseline


def _collect(directory: Path) -> list[str]:
    """Relative paths of the files a comparison reads; hidden (temporary) files are skipped."""
    found: set[str] = set()
    for pattern in COMPARED_PATTERNS:
        for path in directory.glob(pattern):
            if path.is_file() and not path.name.startswith("."):
                found.add(path.relative_to(directory).as_posix())
    return sorted(found)


def _require_build(directory: Path, role: str) -> None:
    if not directory.is_dir():
        raise PaperDiffError(f"{role} directory {directory} does not exist")
    if not (directory / VARIABLES_FILE).is_file():
        raise PaperDiffError(
            f"{role} directory {directory} has no {VARIABLES_FILE}, so it is neither a paper "
            "build (such as results/paper) nor a baseline saved by 'paper-diff save'"
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_baseline(build_dir: Path, baseline_dir: Path) -> Path:
    """Copy what a later comparison needs, with a sha256 manifest, and swap it into place.

    The copy is made in a temporary directory beside ``baseline_dir`` so an interrupted save
    never leaves a half-written baseline.  An existing directory is only replaced when it is
    empty or itself a baseline, so a mistyped path cannot delete someone's work.
    """
    build_dir, baseline_dir = Path(build_dir), Path(baseline_dir)
    _require_build(build_dir, "build")
    if baseline_dir.resolve() == build_dir.resolve():
        raise PaperDiffError("the baseline directory must differ from the build directory")
    if (
        baseline_dir.is_dir()
        and any(baseline_dir.iterdir())
        and not (baseline_dir / MANIFEST_FILE).is_file()
    ):
        raise PaperDiffError(
            f"{baseline_dir} exists and is not a saved baseline (no {MANIFEST_FILE}); "
            "choose an empty or new directory"
        )
    if baseline_dir.exists() and not baseline_dir.is_dir():
        raise PaperDiffError(f"{baseline_dir} exists and is not a directory")
    files = _collect(build_dir)
    parent = baseline_dir.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{baseline_dir.name}.", suffix=".new", dir=parent))
    try:
        hashes: dict[str, str] = {}
        for relative in files:
            data = (build_dir / relative).read_bytes()
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            hashes[relative] = hashlib.sha256(data).hexdigest()
        manifest = {"format": MANIFEST_FORMAT, "tool": "hazegov.paper.diff", "files": hashes}
        (staging / MANIFEST_FILE).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        _make_readable(staging)
        _swap_in(staging, baseline_dir.absolute())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return baseline_dir


def _make_readable(directory: Path) -> None:
    """mkdtemp creates 0700 directories; give the baseline the usual umask permissions."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [directory, *directory.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames; the old baseline is restored on failure."""
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old)  # renaming onto an empty directory is allowed on POSIX
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _verify_manifest(baseline_dir: Path, files: list[str]) -> None:
    """A saved baseline must still be what was saved, or the diff would blame the build."""
    path = baseline_dir / MANIFEST_FILE
    if not path.is_file():
        return  # a plain build directory serves as a baseline too
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PaperDiffError(f"{path} is not a valid baseline manifest: {exc}") from None
    problems = [f"missing {name}" for name in sorted(set(listed) - set(files))]
    problems += [f"not in the manifest: {name}" for name in sorted(set(files) - set(listed))]
    problems += [
        f"modified {name}"
        for name in sorted(set(listed) & set(files))
        if _sha256(baseline_dir / name) != listed[name]
    ]
    if problems:
        raise PaperDiffError(
            f"baseline {baseline_dir} no longer matches its {MANIFEST_FILE} "
            f"({'; '.join(problems)}); save it again"
        )


# --------------------------------------------------------------------------- compare


def compare_builds(baseline_dir: Path, build_dir: Path) -> PaperDiff:
    """Compare a saved baseline (or any build directory) with the current build."""
    baseline_dir, build_dir = Path(baseline_dir), Path(build_dir)
    _require_build(baseline_dir, "baseline")
    _require_build(build_dir, "build")
    old_files, new_files = _collect(baseline_dir), _collect(build_dir)
    _verify_manifest(baseline_dir, old_files)
    old_values = _flatten(_load_variables(baseline_dir / VARIABLES_FILE))
    new_values = _flatten(_load_variables(build_dir / VARIABLES_FILE))
    variables = _compare_variables(old_values, new_values)
    changed = set(variables.loc[variables["changed"], "key"])
    tables, table_files = _compare_tables(baseline_dir, build_dir, old_files, new_files)
    return PaperDiff(
        baseline=baseline_dir.resolve().name,
        build=build_dir.resolve().name,
        variables=variables,
        sentences=_compare_sentences(
            baseline_dir, build_dir, old_files, new_files, old_values, new_values, changed
        ),
        tables=tables,
        table_files=table_files,
        figures=_compare_figures(baseline_dir, build_dir, old_files, new_files),
        texts=_compare_texts(baseline_dir, build_dir, old_files, new_files),
    )


def _status(old: object, new: object) -> str:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    return "unchanged" if old == new else "changed"


# --------------------------------------------------------------------------- variables


def _load_variables(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PaperDiffError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PaperDiffError(f"{path}: must contain a YAML mapping")
    return data


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Leaf values by dotted key, as the text a ``{{< var >}}`` shortcode would print."""
    flat: dict[str, str] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = _as_text(value)
    return flat


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


_NUMBER = r"[-+−]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SCALAR_RE = re.compile(rf"(?P<op><=|>=|[<>=≤≥])?\s*(?P<num>{_NUMBER})\s*%?")
_INTERVAL_RE = re.compile(rf"[\[(]\s*(?P<low>{_NUMBER})\s*[,;]\s*(?P<high>{_NUMBER})\s*[\])]")


@dataclass(frozen=True)
class Parsed:
    """A value read as a number, a bound (``< .001``), an interval (``[a, b]``) or text."""

    kind: str
    values: tuple[Decimal, ...] = ()


def parse_value(text: str | None) -> Parsed:
    """Read the numbers in a formatted value; Decimal keeps 0.27 - 0.25 at exactly 0.02."""
    if text is None:
        return Parsed("text")
    stripped = text.strip()
    try:
        match = _SCALAR_RE.fullmatch(stripped)
        if match is not None:
            kind = "bound" if match["op"] not in (None, "=") else "number"
            return Parsed(kind, (_decimal(match["num"]),))
        match = _INTERVAL_RE.fullmatch(stripped)
        if match is not None:
            return Parsed("interval", (_decimal(match["low"]), _decimal(match["high"])))
    except InvalidOperation:  # pragma: no cover - the patterns only admit valid numbers
        pass
    return Parsed("text")


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace("−", "-").replace(",", ""))


@dataclass(frozen=True)
class _Change:
    kind: str
    abs_change: float | None = None
    rel_change: float | None = None
    low_change: float | None = None
    high_change: float | None = None
    label: str = ""


def _difference(old: str, new: str) -> _Change:
    """Differences only where they mean something: two numbers, or two intervals."""
    a, b = parse_value(old), parse_value(new)
    if a.kind == b.kind == "number":
        delta = b.values[0] - a.values[0]
        rel = float(delta / abs(a.values[0])) if a.values[0] != 0 else None
        label = _signed(delta) + (f" ({rel:+.1%})" if rel is not None else "")
        return _Change("number", float(delta), rel, label=label)
    if a.kind == b.kind == "interval":
        low, high = b.values[0] - a.values[0], b.values[1] - a.values[1]
        label = f"lower {_signed(low)}, upper {_signed(high)}"
        return _Change("interval", low_change=float(low), high_change=float(high), label=label)
    kinds = {a.kind, b.kind}
    if "bound" in kinds and kinds <= {"bound", "number"}:
        return _Change("bound", label="text changed (bound, no difference)")
    return _Change("text", label="text changed")


def _signed(delta: Decimal) -> str:
    text = format(delta, "f")
    if delta > 0:
        return f"+{text}"
    if delta == 0:
        return f"±{text.lstrip('-')}"
    return text


def _compare_variables(old: Mapping[str, str], new: Mapping[str, str]) -> pd.DataFrame:
    rows = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        status = _status(before, after)
        if status == "changed":
            assert before is not None and after is not None
            change = _difference(before, after)
        else:
            kind = parse_value(after if after is not None else before).kind
            change = _Change(kind, label="" if status == "unchanged" else status)
        rows.append(
            {
                "key": key,
                "group": key.split(".", 1)[0],
                "status": status,
                "changed": status != "unchanged",
                "old": before,
                "new": after,
                "kind": change.kind,
                "abs_change": change.abs_change,
                "rel_change": change.rel_change,
                "low_change": change.low_change,
                "high_change": change.high_change,
                "change": change.label,
            }
        )
    return _frame(rows, VARIABLE_COLUMNS)


# --------------------------------------------------------------------------- sentences


@dataclass(frozen=True)
class _Sentence:
    file: str
    line: int
    section: str
    template: str
    keys: frozenset[str]


_FRONT_MATTER_RE = re.compile(
    r"\A---[ \t]*\n(?P<yaml>.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL
)
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_DIV_RE = re.compile(r"^ {0,3}:{3,}")
_BLOCK_START_RE = re.compile(r"^\s*(?:(?:[-*+]|\d+[.)]|:)\s|\|)")  # list, caption, table row
_BOUNDARY_RE = re.compile(r"(?P<west>[.!?])[\"'”’)\]*_]*\s+|(?P<cjk>[。！？])[”’」』）]*\s*")
_ABBREVIATION_RE = re.compile(
    r"(?:^|[\s(\[])(?:e\.g|i\.e|et al|cf|vs|Fig|Figs|Tab|Eq|No|Nos|approx|ca|Dr|Prof|[A-Z])\.$"
)
NO_SECTION = "(before the first heading)"


def _var_keys(text: str) -> frozenset[str]:
    keys = set()
    for match in _SHORTCODE_RE.finditer(text):
        if match["name"] != "var":
            continue
        args = shortcode_params(match[0])
        if args is not None and len(args) == 1:
            keys.add(args[0])
    return frozenset(keys)


def _heading_title(text: str) -> str:
    text = re.sub(r"\s*\{[^{}]*\}\s*$", "", text)
    return re.sub(r"\s+#+\s*$", "", text).strip()


def _split_sentences(
    paragraph: Sequence[tuple[int, str]], file: str, section: str
) -> list[_Sentence]:
    """Sentences of one paragraph that use a variable; line breaks inside count as spaces.

    Boundaries are end punctuation followed by space and a non-lowercase character, except
    after common abbreviations and initials; shortcodes and figure captions are never split.
    """
    text = "\n".join(line for _, line in paragraph)
    if "{{<" not in text:
        return []
    protected = [(m.start(), m.end()) for m in _SHORTCODE_RE.finditer(text)]
    starts = [0]
    figure = text.lstrip().startswith("![")  # a figure and its caption are read as one unit
    for match in [] if figure else _BOUNDARY_RE.finditer(text):
        end = match.end()
        if end >= len(text) or any(a <= match.start() < b for a, b in protected):
            continue
        if match["west"] is not None and (
            text[end].islower() or _ABBREVIATION_RE.search(text[: match.start() + 1])
        ):
            continue
        starts.append(end)
    sentences = []
    for start, stop in zip(starts, [*starts[1:], len(text)], strict=True):
        raw = text[start:stop]
        template = " ".join(raw.split())
        keys = _var_keys(template)
        if not keys:
            continue
        offset = start + len(raw) - len(raw.lstrip())
        line = paragraph[text.count("\n", 0, offset)][0]
        sentences.append(_Sentence(file, line, section, template, keys))
    return sentences


def _paragraphs_of(
    lines: Sequence[tuple[int, str]],
) -> Iterator[list[tuple[int, str]]]:
    paragraph: list[tuple[int, str]] = []
    for number, line in lines:
        if not line.strip():
            if paragraph:
                yield paragraph
            paragraph = []
        else:
            paragraph.append((number, line))
    if paragraph:
        yield paragraph


def _front_matter_sentences(yaml_text: str, file: str) -> list[_Sentence]:
    """Sentences of front-matter strings (the abstract quotes numbers too)."""
    try:
        root = yaml.compose(yaml_text)
    except yaml.YAMLError:
        return []
    sentences: list[_Sentence] = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, f"{path}.{key.value}" if path else str(key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{path}[{index}]")
        elif isinstance(node, yaml.ScalarNode) and "{{<" in str(node.value):
            # line 1 of the file is the opening '---'; block scalars start on the next line
            first = node.start_mark.line + 2 + (1 if node.style in ("|", ">") else 0)
            numbered = [(first + i, line) for i, line in enumerate(str(node.value).split("\n"))]
            for paragraph in _paragraphs_of(numbered):
                sentences.extend(_split_sentences(paragraph, file, f"front matter: {path}"))

    if root is not None:
        walk(root, "")
    return sentences


def _scan_source(path: Path, file: str) -> list[_Sentence]:
    """Every prose sentence of a .qmd source that uses a ``{{< var >}}`` shortcode."""
    text = path.read_text(encoding="utf-8")
    sentences: list[_Sentence] = []
    first_line = 1
    front = _FRONT_MATTER_RE.match(text)
    if front is not None:
        sentences += _front_matter_sentences(front["yaml"] or "", file)
        first_line += text.count("\n", 0, front.end())
        text = text[front.end() :]
    trail: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []
    fence: str | None = None

    def flush() -> None:
        if paragraph:
            section = " > ".join(title for _, title in trail) or NO_SECTION
            sentences.extend(_split_sentences(paragraph, file, section))
            paragraph.clear()

    for number, line in enumerate(text.splitlines(), start=first_line):
        fence_match = _FENCE_RE.match(line)
        if fence is not None:
            if (
                fence_match is not None
                and fence_match["fence"][0] == fence[0]
                and len(fence_match["fence"]) >= len(fence)
                and not line[fence_match.end() :].strip()
            ):
                fence = None
            continue
        if fence_match is not None:
            flush()
            fence = fence_match["fence"]
            continue
        heading = _HEADING_RE.match(line)
        if heading is not None:
            flush()
            level = len(heading["hashes"])
            trail = [t for t in trail if t[0] < level] + [(level, _heading_title(heading["text"]))]
            continue
        if not line.strip() or _DIV_RE.match(line):
            flush()
            continue
        if _BLOCK_START_RE.match(line):
            flush()
        paragraph.append((number, line))
        if line.lstrip().startswith("|"):
            flush()  # a table row in prose is a unit of its own
    flush()
    return sentences


def _include_targets(text: str) -> list[str]:
    targets = []
    for match in _SHORTCODE_RE.finditer(text):
        if match["name"] != "include":
            continue
        args = shortcode_params(match[0])
        if args is not None and len(args) == 1:
            targets.append(posixpath.normpath(args[0].lstrip("/")))
    return targets


def _document_order(directory: Path, sources: list[str]) -> list[str]:
    """Sources in reading order (index.qmd and its includes), then any others by name."""
    available = set(sources)
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name not in available:
            return
        order.append(name)
        for target in _include_targets((directory / name).read_text(encoding="utf-8")):
            visit(target)

    visit("index.qmd")
    return order + sorted(available - set(order))


def _is_source(name: str) -> bool:
    return name.endswith(".qmd")


def _expand(template: str, values: Mapping[str, str], base_dir: Path) -> str:
    """The sentence as printed with ``values``; other shortcodes are left as written."""

    def keep_others(match: re.Match[str]) -> str:
        if match["name"] is None or match["name"] == "var":
            return match[0]
        return "{{{<" + match[0][3:-3] + ">}}}"  # Quarto's escape prints it literally

    lookup = {key: values.get(key, f"⟨{key} not defined⟩") for key in _var_keys(template)}
    try:
        return expand_shortcodes(_SHORTCODE_RE.sub(keep_others, template), base_dir, lookup)
    except PaperRenderError as exc:
        return f"{template} ⟨{exc}⟩"


def _compare_sentences(
    baseline_dir: Path,
    build_dir: Path,
    old_files: list[str],
    new_files: list[str],
    old_values: Mapping[str, str],
    new_values: Mapping[str, str],
    changed: set[str],
) -> pd.DataFrame:
    """Sentences of the build's sources that quote a changed key, shown with old and new values.

    A key no longer quoted by the build's sources (say, a removed variable) is looked up in the
    baseline's sources instead.
    """
    new_sources = _document_order(build_dir, [f for f in new_files if _is_source(f)])
    old_sources = _document_order(baseline_dir, [f for f in old_files if _is_source(f)])
    rank: dict[str, int] = {}
    for name in [*new_sources, *old_sources]:
        rank.setdefault(name, len(rank))
    found: list[tuple[_Sentence, Path]] = [
        (s, build_dir) for f in new_sources for s in _scan_source(build_dir / f, f)
    ]
    quoted = {key for s, _ in found for key in s.keys}
    found += [
        (s, baseline_dir)
        for f in old_sources
        for s in _scan_source(baseline_dir / f, f)
        if (s.keys & changed) - quoted
    ]
    rows = []
    for sentence, base in found:
        keys = sentence.keys & changed
        if base is baseline_dir:
            keys -= quoted
        if not keys:
            continue
        old = _expand(sentence.template, old_values, base)
        new = _expand(sentence.template, new_values, base)
        for key in sorted(keys):
            rows.append(
                {
                    "key": key,
                    "file": sentence.file,
                    "line": sentence.line,
                    "section": sentence.section,
                    "old_sentence": old,
                    "new_sentence": new,
                }
            )
    rows.sort(key=lambda r: (rank[r["file"]], r["line"], r["old_sentence"], r["key"]))
    return _frame(rows, SENTENCE_COLUMNS)


# --------------------------------------------------------------------------- tables


@dataclass
class _Grid:
    corner: str  # header of the row-label column
    columns: list[str]  # headers after the row-label column, made unique
    rows: dict[str, list[str]]  # row label (first cell, made unique) -> remaining cells


@dataclass
class _TableFile:
    grids: list[_Grid]
    caption: str
    label: str
    note: str


_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_CAPTION_RE = re.compile(r"^\s*(?::|Table:)\s+(?P<text>.*)$")
_TABLE_LABEL_RE = re.compile(r"\s*\{[^{}]*#(?P<label>tbl-[^\s{}]+)[^{}]*\}\s*$")


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|")
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    # whitespace is layout (a no-break space keeps an interval on one line), not content
    return [" ".join(cell.split()) for cell in re.split(r"(?<!\\)\|", body)]


def _unique(names: list[str]) -> list[str]:
    """Repeated headers or row labels (two 'p' columns) get ' (2)', ' (3)' appended."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _grid(lines: list[str]) -> _Grid:
    header = _cells(lines[0])
    body = lines[2:] if len(lines) > 1 and _SEPARATOR_RE.match(lines[1]) else lines[1:]
    width = len(header) - 1
    parsed = [_cells(line) for line in body]
    labels = _unique([cells[0] or f"(row {i + 1})" for i, cells in enumerate(parsed)])
    rows = {
        label: (cells[1:] + [""] * width)[:width]
        for label, cells in zip(labels, parsed, strict=True)
    }
    return _Grid(header[0], _unique(header[1:]), rows)


def _parse_table_file(text: str) -> _TableFile:
    grids: list[_Grid] = []
    captions: list[str] = []
    label = ""
    notes: list[str] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if block:
            grids.append(_grid(block))
            block = []
        caption = _CAPTION_RE.match(line)
        if caption is not None:
            text_part = caption["text"]
            found = _TABLE_LABEL_RE.search(text_part)
            if found is not None:
                label = label or found["label"]
                text_part = text_part[: found.start()]
            captions.append(text_part.strip())
        elif line.strip():
            notes.append(line.strip())
    return _TableFile(grids, " ".join(captions), label, " ".join(notes))


def _cell_row(
    table: str, row: str, column: str, status: str, old: str | None, new: str | None
) -> dict[str, Any]:
    change = _difference(old, new) if old is not None and new is not None else _Change("text")
    return {
        "table": table,
        "row": row,
        "column": column,
        "status": status,
        "old": old,
        "new": new,
        "abs_change": change.abs_change,
        "rel_change": change.rel_change,
    }


def _compare_grids(table: str, old: _Grid, new: _Grid) -> list[dict[str, Any]]:
    """Cells by row label and column header; added and removed rows or columns cell by cell."""
    rows = []
    if old.corner != new.corner:
        rows.append(_cell_row(table, "(header)", "", "changed", old.corner, new.corner))
    for label, cells in new.rows.items():
        before = old.rows.get(label)
        for column, value in zip(new.columns, cells, strict=True):
            if before is None or column not in old.columns:
                rows.append(_cell_row(table, label, column, "added", None, value))
            elif before[old.columns.index(column)] != value:
                previous = before[old.columns.index(column)]
                rows.append(_cell_row(table, label, column, "changed", previous, value))
        for column in old.columns:
            if before is not None and column not in new.columns:
                previous = before[old.columns.index(column)]
                rows.append(_cell_row(table, label, column, "removed", previous, None))
    for label, cells in old.rows.items():
        if label not in new.rows:
            for column, value in zip(old.columns, cells, strict=True):
                rows.append(_cell_row(table, label, column, "removed", value, None))
    return rows


def _compare_tables(
    baseline_dir: Path, build_dir: Path, old_files: list[str], new_files: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = sorted({f for f in [*old_files, *new_files] if f.startswith("tables/")})
    cells: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for name in names:
        old = _read_table(baseline_dir, name, old_files)
        new = _read_table(build_dir, name, new_files)
        either = new if new is not None else old
        label = either.label if either is not None else ""
        found: list[dict[str, Any]] = []
        if old is not None and new is not None:
            count = max(len(old.grids), len(new.grids))
            for index in range(count):
                table = name if count == 1 else f"{name} #{index + 1}"
                empty = _Grid("", [], {})
                old_grid = old.grids[index] if index < len(old.grids) else empty
                new_grid = new.grids[index] if index < len(new.grids) else empty
                found += _compare_grids(table, old_grid, new_grid)
            for part, before, after in (
                ("(caption)", old.caption, new.caption),
                ("(note)", old.note, new.note),
            ):
                if before != after:
                    found.append(_cell_row(name, part, "", "changed", before, after))
        if old is None or new is None:
            status = _status(old, new)
        else:  # a change in layout alone (alignment, spacing) still counts, with no cells
            same = (baseline_dir / name).read_bytes() == (build_dir / name).read_bytes()
            status = "unchanged" if same and not found else "changed"
        cells += found
        files.append({"table": name, "label": label, "status": status, "cells_changed": len(found)})
    return _frame(cells, TABLE_COLUMNS), _frame(files, TABLE_FILE_COLUMNS)


def _read_table(directory: Path, name: str, files: list[str]) -> _TableFile | None:
    if name not in files:
        return None
    return _parse_table_file((directory / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- figures, texts


def _pixel_share(old: Path, new: Path) -> tuple[float | None, str, str]:
    """Share of pixels that differ (same size only) and both sizes as 'WxH'."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(old) as before, Image.open(new) as after:
            sizes = (f"{before.width}x{before.height}", f"{after.width}x{after.height}")
            if before.size != after.size:
                return None, *sizes
            a = np.asarray(before.convert("RGBA"))
            b = np.asarray(after.convert("RGBA"))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None, "", ""
    return float((a != b).any(axis=2).mean()), *sizes


def _compare_figures(
    baseline_dir: Path, build_dir: Path, old_files: list[str], new_files: list[str]
) -> pd.DataFrame:
    rows = []
    for name in sorted({f for f in [*old_files, *new_files] if f.startswith("figures/")}):
        old_sha = _sha256(baseline_dir / name) if name in old_files else None
        new_sha = _sha256(build_dir / name) if name in new_files else None
        status = _status(old_sha, new_sha)
        share, old_size, new_size = None, "", ""
        if status == "changed":
            share, old_size, new_size = _pixel_share(baseline_dir / name, build_dir / name)
        rows.append(
            {
                "figure": name,
                "status": status,
                "old_sha256": old_sha,
                "new_sha256": new_sha,
                "pixel_share": share,
                "old_size": old_size,
                "new_size": new_size,
            }
        )
    return _frame(rows, FIGURE_COLUMNS)


def _compare_texts(
    baseline_dir: Path, build_dir: Path, old_files: list[str], new_files: list[str]
) -> pd.DataFrame:
    """Chapter sources and appendix: a prose edit must not pass for a change in the numbers."""
    rows = []
    names = {f for f in [*old_files, *new_files] if _is_source(f) or f.startswith("appendix/")}
    for name in sorted(names):
        old = (baseline_dir / name).read_text(encoding="utf-8") if name in old_files else None
        new = (build_dir / name).read_text(encoding="utf-8") if name in new_files else None
        added = removed = 0
        for line in difflib.unified_diff((old or "").splitlines(), (new or "").splitlines()):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        rows.append(
            {
                "file": name,
                "status": _status(old, new),
                "lines_added": added,
                "lines_removed": removed,
            }
        )
    return _frame(rows, TEXT_COLUMNS)


# --------------------------------------------------------------------------- report


def _title(diff: PaperDiff) -> str:
    return f"Paper diff: {diff.baseline} → {diff.build}"


def _code(text: str | None) -> str:
    """A code span, so values like '[0.09, 0.35]' or '< .001' print exactly as in the paper."""
    if text is None:
        return ABSENT
    if not text:
        return "(empty)"
    text = " ".join(text.split())
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _pipe_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":--" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _summary_lines(diff: PaperDiff) -> list[str]:
    s = diff.summary()
    return [
        "## Summary",
        "",
        f"- Numbers (variables): {s['variables_changed']} changed, {s['variables_added']} added,"
        f" {s['variables_removed']} removed, of {s['variables']} keys.",
        f"- Sentences quoting a changed number: {s['sentences']} in "
        f"{_plural(s['sentence_files'], 'source file')}.",
        f"- Tables: {s['tables_changed']} of {s['tables']} differ "
        f"({_plural(s['table_cells_changed'], 'change')} to cells, captions or notes).",
        f"- Figures: {s['figures_changed']} changed, {s['figures_added']} added, "
        f"{s['figures_removed']} removed, of {s['figures']}.",
        f"- Chapter sources and appendix: {s['texts_changed']} of {s['texts']} files differ.",
        "",
    ]


def _variable_lines(diff: PaperDiff) -> list[str]:
    lines = ["## Changed numbers", ""]
    changed = diff.variables[diff.variables["changed"]]
    if changed.empty:
        return [*lines, "No variable changed.", ""]
    for group, frame in changed.groupby("group", sort=True):
        lines += [f"### {group}", ""]
        rows, long_values = [], []
        for record in frame.itertuples(index=False):
            values = (record.old, record.new)
            if any(v is not None and (len(v) > LONG_VALUE or "\n" in v) for v in values):
                long_values.append(record)
                cells = ["(long text, below)" if v is not None else ABSENT for v in values]
            else:
                cells = [_code(v) for v in values]
            rows.append([_code(record.key), *cells, record.change])
        lines += _pipe_table(["Key", "Old", "New", "Change"], rows)
        for record in long_values:
            lines += _old_and_new(
                f"{_code(record.key)} ({record.change}):", _plain(record.old), _plain(record.new)
            )
    return lines


def _old_and_new(heading: str, old: str, new: str) -> list[str]:
    """A heading line, then the baseline's and the build's versions as two list items."""
    return [heading, "", f"- Old: {old}", f"- New: {new}", ""]


def _plain(text: str | None) -> str:
    return ABSENT if text is None else " ".join(text.split()) or "(empty)"


_FIGURE_RE = re.compile(
    r"^!\[(?P<caption>.*)\]\((?P<src>[^)\s]+)[^)]*\)(?:\{[^{}]*\})?$", re.DOTALL
)


def _readable(sentence: str) -> str:
    """A figure line is shown as its caption, so the HTML report does not try to embed it."""
    match = _FIGURE_RE.match(sentence)
    if match is None:
        return sentence
    return f"Figure {_code(match['src'])}: {match['caption']}"


def _sentence_lines(diff: PaperDiff) -> list[str]:
    lines = ["## Sentences", ""]
    if diff.sentences.empty:
        return [*lines, "No sentence of the prose quotes a changed number.", ""]
    lines += [
        "Each sentence is shown with the baseline's values (old) and the build's values (new), "
        "in the wording of the build's sources.",
        "",
    ]
    groups = diff.sentences.groupby(
        ["file", "line", "section", "old_sentence", "new_sentence"], sort=False
    )
    current_file = None
    for (file, line, section, old, new), frame in groups:
        if file != current_file:
            lines += [f"### {file}", ""]
            current_file = file
        keys = ", ".join(_code(k) for k in frame["key"])
        lines += _old_and_new(
            f"**{section}** (line {line}): {keys}", _readable(old), _readable(new)
        )
    return lines


def _table_lines(diff: PaperDiff) -> list[str]:
    lines = ["## Tables", ""]
    differ = diff.table_files[diff.table_files["status"] != "unchanged"]
    if differ.empty:
        return [*lines, "No table changed.", ""]
    for record in differ.itertuples(index=False):
        label = f" ({record.label})" if record.label else ""
        lines += [f"### {record.table}{label}", ""]
        if record.status != "changed":
            lines += [f"Table {record.status}.", ""]
            continue
        if record.cells_changed == 0:
            lines += ["Only the Markdown layout changed (no cell, caption or note).", ""]
            continue
        in_file = (diff.tables["table"] == record.table) | diff.tables["table"].str.startswith(
            f"{record.table} #"
        )
        cells = diff.tables[in_file]
        grid = cells[~cells["row"].isin(["(caption)", "(note)"])]
        rows = []
        for cell in grid.itertuples(index=False):
            change = (
                cell.status if cell.status != "changed" else _difference(cell.old, cell.new).label
            )
            part = cell.table.removeprefix(record.table).strip()
            where = f"{part}: {cell.row}" if part else cell.row
            rows.append(
                [_cell(where), _cell(cell.column), _code(cell.old), _code(cell.new), change]
            )
        if rows:
            lines += _pipe_table(["Row", "Column", "Old", "New", "Change"], rows)
        for cell in cells[cells["row"].isin(["(caption)", "(note)"])].itertuples(index=False):
            part = cell.row.strip("()").capitalize()
            lines += _old_and_new(f"{part} changed:", _plain(cell.old), _plain(cell.new))
    return lines


def _figure_lines(diff: PaperDiff) -> list[str]:
    lines = ["## Figures", ""]
    differ = diff.figures[diff.figures["status"] != "unchanged"]
    if differ.empty:
        return [*lines, "No figure changed.", ""]
    rows = []
    for record in differ.itertuples(index=False):
        share = record.pixel_share
        if pd.isna(share):
            pixels = ABSENT
        elif 0 < share < 0.001:
            pixels = "< 0.1%"
        else:
            pixels = f"{share:.1%}"
        if record.status != "changed":
            size = ABSENT
        elif record.old_size == record.new_size:
            size = record.new_size or ABSENT
        else:
            size = f"{record.old_size or '?'} → {record.new_size or '?'}"
        rows.append([_code(record.figure), record.status, pixels, size])
    return [*lines, *_pipe_table(["Figure", "Status", "Pixels changed", "Size"], rows)]


def _text_lines(diff: PaperDiff) -> list[str]:
    lines = ["## Chapter sources and appendix", ""]
    differ = diff.texts[diff.texts["status"] != "unchanged"]
    if differ.empty:
        return [*lines, "The chapter sources and the appendix are unchanged.", ""]
    rows = [
        [_code(r.file), r.status, f"+{r.lines_added} / -{r.lines_removed}"]
        for r in differ.itertuples(index=False)
    ]
    return [*lines, *_pipe_table(["File", "Status", "Lines"], rows)]


def _body(diff: PaperDiff) -> str:
    if diff.is_empty:
        s = diff.summary()
        return (
            f"Nothing changed: the build matches the baseline ({s['variables']} variables, "
            f"{s['tables']} tables, {s['figures']} figures and {s['texts']} source and appendix "
            "files compared).\n"
        )
    lines = [
        *_summary_lines(diff),
        *_variable_lines(diff),
        *_sentence_lines(diff),
        *_table_lines(diff),
        *_figure_lines(diff),
        *_text_lines(diff),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_markdown(diff: PaperDiff) -> str:
    """The report as Markdown: deterministic, no timestamps and no absolute paths."""
    return f"# {_title(diff)}\n\n{_body(diff)}"


def write_report(diff: PaperDiff, path: Path) -> Path:
    """Write the report as Markdown, or as standalone HTML (via pandoc) for a ``.html`` path."""
    path = Path(path)
    if path.suffix.lower() in (".html", ".htm"):
        data = _to_html(diff)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    else:
        write_text(path, render_markdown(diff))
    return path


def _to_html(diff: PaperDiff) -> bytes:
    import pypandoc

    front = yaml.safe_dump({"title": _title(diff), "lang": "en"}, allow_unicode=True)
    document = f"---\n{front}---\n\n{_body(diff)}"
    command = [pypandoc.get_pandoc_path(), "--from=markdown", "--to=html5", "--standalone"]
    try:
        proc = subprocess.run(
            command,
            input=document.encode("utf-8"),
            capture_output=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": "0"},
            timeout=PANDOC_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PaperDiffError(f"pandoc could not run: {exc}") from exc
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise PaperDiffError(f"pandoc failed (exit code {proc.returncode}): {stderr}")
    return proc.stdout


# --------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``save`` and ``compare`` subcommands, so ``hazegov.cli`` can mount them."""
    sub = parser.add_subparsers(dest="paper_diff_command", required=True, metavar="COMMAND")
    save = sub.add_parser("save", help="save a paper build as the baseline to compare with")
    save.add_argument("build_dir", type=Path, metavar="BUILD_DIR", help="e.g. results/paper")
    save.add_argument("baseline_dir", type=Path, metavar="BASELINE_DIR")
    compare = sub.add_parser("compare", help="report what changed since the baseline")
    compare.add_argument("baseline_dir", type=Path, metavar="BASELINE_DIR")
    compare.add_argument("build_dir", type=Path, metavar="BUILD_DIR", help="e.g. results/paper")
    compare.add_argument(
        "--out", type=Path, required=True, metavar="REPORT", help="report path, .md or .html"
    )


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``save`` or ``compare`` command; errors raise PaperDiffError."""
    if args.paper_diff_command == "save":
        target = save_baseline(args.build_dir, args.baseline_dir)
        count = len(_collect(target))
        print(f"saved {_plural(count, 'file')} of {args.build_dir} as baseline {target}")
        return 0
    if args.out.suffix.lower() not in REPORT_SUFFIXES:
        raise PaperDiffError(f"report path {args.out} must end in .md or .html")
    diff = compare_builds(args.baseline_dir, args.build_dir)
    write_report(diff, args.out)
    s = diff.summary()
    if diff.is_empty:
        print(f"nothing changed; report written to {args.out}")
    else:
        variables = s["variables_changed"] + s["variables_added"] + s["variables_removed"]
        figures = s["figures_changed"] + s["figures_added"] + s["figures_removed"]
        print(
            f"{_plural(variables, 'variable')}, {_plural(s['sentences'], 'sentence')}, "
            f"{_plural(s['table_cells_changed'], 'table entry', 'table entries')} and "
            f"{_plural(figures, 'figure')} differ; report written to {args.out}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``paper-diff save BUILD_DIR BASELINE_DIR`` / ``compare BASELINE_DIR BUILD_DIR --out R``."""
    parser = argparse.ArgumentParser(
        prog="hazegov paper-diff",
        description="Compare the paper build with a saved baseline: numbers, sentences, "
        "table cells and figures that changed.",
    )
    configure_parser(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except HazegovError as exc:
        print(f"hazegov paper-diff: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
