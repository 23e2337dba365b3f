"""Render the Quarto paper to HTML, PDF and DOCX.

Real Quarto (>= 1.5) is used when it is on PATH.  Otherwise a *preview* render is produced
with pandoc (HTML and DOCX, and typst source compiled to PDF by the ``typst`` package); the
preview re-implements the Quarto features the paper uses (includes, variables, page breaks,
cross-references, appendices and callouts) so the ``.qmd`` sources stay plain Quarto.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hazegov.paper.quarto_syntax import (
    QuartoSyntaxError,
    block_shortcode_problems,
    include_target,
    iter_inline_shortcodes,
)

__all__ = [
    "PREVIEW_NOTICE",
    "PaperRenderError",
    "cjk_font_dir",
    "convert_callouts",
    "expand_shortcodes",
    "number_crossrefs",
    "quarto_version",
    "render_paper",
    "render_preview",
    "typst_blocks",
]

log = logging.getLogger(__name__)

PREVIEW_NOTICE = (
    "Preview render (pandoc), not Quarto: layout, numbering style and citation formatting "
    "may differ from the final Quarto build."
)
MIN_QUARTO_VERSION = (1, 5, 0)
FORMATS = ("html", "pdf", "docx")
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_FAMILY = "Noto Sans CJK SC"
LATIN_FONT_FAMILY = "Libertinus Serif"  # embedded in typst, so always available
TYPST_TIMESTAMP = 0  # fixed "now" so PDFs are reproducible
SUBPROCESS_TIMEOUT = 600
DOCX_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # earliest zip date: DOCX bytes never depend on the day
DOCX_NOTICE_STYLE = "Preview Notice"  # paragraph style of the notice, so Word users can find it

_QUARTO_ONLY_KEYS = frozenset(
    {
        "project",
        "format",
        "execute",
        "crossref",
        "editor",
        "jupyter",
        "engine",
        "filters",
        "knitr",
        "website",
        "book",
        "manuscript",
        "brand",
        "resources",
        "freeze",
        "toc",
        "toc-depth",
        "number-sections",
        "embed-resources",
        "self-contained",
        "theme",
        "css",
        "html-math-method",
        "include-in-header",
        "citeproc",
    }
)
_DATE_KEYWORDS = frozenset({"today", "now", "last-modified"})
_CALLOUT_TYPES = {
    "note": ("Note", "#0758e5"),
    "tip": ("Tip", "#00a047"),
    "important": ("Important", "#cc1914"),
    "caution": ("Caution", "#fc5300"),
    "warning": ("Warning", "#eb9113"),
}

HTML_CSS = """\
body {
  max-width: 46em;
  font-family: "Libertinus Serif", Georgia, "Times New Roman", "Noto Serif CJK SC",
    "Source Han Serif SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
    "Microsoft YaHei", serif;
  font-size: 1.05rem;
  line-height: 1.6;
}
h1, h2, h3, h4, header .title, header .subtitle {
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "Helvetica Neue", Arial, sans-serif;
}
.preview-notice {
  margin: 0 0 1.5em; padding: 0.6em 1em; border: 1px solid #b58900; border-radius: 4px;
  background: #fff3cd; color: #5c4400; font-family: sans-serif; font-weight: bold;
}
figure { margin: 1.5em 0; text-align: center; }
figure img { max-width: 100%; }
figcaption, table caption { font-size: 0.95em; }
table { margin: 1em auto; border-collapse: collapse; }
.callout {
  margin: 1.2em 0; padding: 0.6em 1em; border: 1px solid #ccc; border-left-width: 5px;
  border-radius: 4px; background: #fafafa;
}
.callout-title { font-weight: bold; margin-bottom: 0.3em; }
.callout > .callout-title p, .callout > p:last-child { margin-bottom: 0; }
""" + "".join(
    f".callout-{name} {{ border-color: {colour}; }}\n"
    for name, (_, colour) in _CALLOUT_TYPES.items()
)


class PaperRenderError(Exception):
    """The paper sources are inconsistent or a renderer failed; the message says which."""


# --------------------------------------------------------------------------- quarto


def quarto_version() -> tuple[int, int, int] | None:
    """Version of the ``quarto`` on PATH, or None when absent or unparsable."""
    exe = shutil.which("quarto")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", proc.stdout)
    if proc.returncode != 0 or match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def render_paper(build_dir: Path, outputs: Mapping[str, Path]) -> str:
    """Render with Quarto when a recent one is installed, else the pandoc preview.

    Returns ``"quarto"`` or ``"preview"`` so callers can record which renderer was used.
    """
    _check_formats(outputs)
    version = quarto_version()
    if version is not None and version >= MIN_QUARTO_VERSION:
        _render_quarto(Path(build_dir), outputs)
        return "quarto"
    render_preview(Path(build_dir), outputs)
    return "preview"


def _render_quarto(build_dir: Path, outputs: Mapping[str, Path]) -> None:
    exe = shutil.which("quarto")
    if exe is None:  # pragma: no cover - checked by the caller
        raise PaperRenderError("quarto is not on PATH")
    project = _load_yaml_file(build_dir / "_quarto.yml")
    settings = project.get("project")
    output_dir = build_dir / str(
        (settings.get("output-dir") if isinstance(settings, Mapping) else None) or "."
    )
    produced: dict[str, Path] = {}
    for fmt in outputs:
        if fmt == "html":
            args = ["--to", "html", "-M", "embed-resources:true"]
            name = "index.html"
        elif fmt == "docx":
            args = ["--to", "docx"]
            name = "index.docx"
        else:
            args = ["--to", "typst"]
            name = "index.pdf"
        _run([exe, "render", "index.qmd", *args], cwd=build_dir, what=f"quarto render ({fmt})")
        result = output_dir / name
        if not result.is_file():
            raise PaperRenderError(f"quarto render ({fmt}) did not produce {result}")
        produced[fmt] = result
    for fmt, result in produced.items():
        _write_atomic(Path(outputs[fmt]), result.read_bytes())


# --------------------------------------------------------------------------- shortcodes

_PAGEBREAK = (
    '\n\n```{=html}\n<div style="page-break-after: always;"></div>\n```\n\n'
    "```{=typst}\n#pagebreak(weak: true)\n```\n\n"
    '```{=openxml}\n<w:p><w:r><w:br w:type="page"/></w:r></w:p>\n```\n\n'
)


def expand_shortcodes(
    text: str,
    base_dir: Path,
    variables: Mapping[str, Any],
    *,
    source: Path | str | None = None,
    metadata: Mapping[str, Any] | None = None,
    _chain: tuple[Path, ...] = (),
) -> str:
    """Resolve the Quarto shortcodes the paper uses: include, var, meta and pagebreak.

    Parsed by Quarto's own rules (:mod:`hazegov.paper.quarto_syntax`): a line Quarto would take for
    one block shortcode must be one; an include stands alone on its line between blank lines,
    is pasted text, and must resolve to the same file from the main document's directory
    (``base_dir``) and from the including file's.  Unknown variables and shortcodes are
    errors so a typo never renders as blank text.  ``{{{< ... >}}}`` is Quarto's escape and
    yields the literal shortcode.
    """
    where = str(source) if source is not None else "<text>"
    including_dir = Path(source).parent if source is not None else Path(base_dir)
    for line, message in block_shortcode_problems(text):
        raise PaperRenderError(f"{where}:{line}: {message}")
    chain = _chain or ((Path(source).resolve(),) if source is not None else ())

    lines = text.splitlines(keepends=True)
    pieces: list[str] = []
    pending: list[str] = []
    pending_start = 1

    def flush() -> None:
        if pending:
            segment = "".join(pending)
            pieces.append(_expand_inline(segment, pending_start, where, variables, metadata))
            pending.clear()

    for index, line in enumerate(lines):
        try:
            target = include_target(line, main_dir=Path(base_dir), including_dir=including_dir)
        except QuartoSyntaxError as exc:
            raise PaperRenderError(f"{where}:{index + 1}: {exc}") from None
        if target is None:
            if not pending:
                pending_start = index + 1
            pending.append(line)
            continue
        before = lines[index - 1] if index > 0 else "\n"
        after = lines[index + 1] if index + 1 < len(lines) else "\n"
        if before.strip() or after.strip():
            raise PaperRenderError(
                f"{where}:{index + 1}: {line.strip()!r}: Quarto needs a blank line before and "
                "after an include"
            )
        if not target.is_file():
            raise PaperRenderError(
                f"{where}:{index + 1}: included file not found: {line.strip()} ({target})"
            )
        if target in chain:
            cycle = " -> ".join(str(p) for p in (*chain, target))
            raise PaperRenderError(f"include cycle: {cycle}")
        flush()
        content = expand_shortcodes(
            target.read_text(encoding="utf-8"),
            base_dir,
            variables,
            source=target,
            metadata=metadata,
            _chain=(*chain, target),
        ).rstrip("\n")
        pieces.append(content + ("\n" if line.endswith("\n") else ""))
    flush()
    return "".join(pieces)


def _expand_inline(
    segment: str,
    first_line: int,
    where: str,
    variables: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
) -> str:
    """Replace the inline shortcodes of a run of lines without includes (from ``first_line``)."""
    out: list[str] = []
    cursor = 0
    try:
        found = list(iter_inline_shortcodes(segment))
    except QuartoSyntaxError as exc:
        raise PaperRenderError(f"{where}: {exc} (from line {first_line})") from None
    for start, shortcode in found:
        out.append(segment[cursor:start])
        if isinstance(shortcode, str):  # an escaped shortcode, printed as written
            out.append(shortcode)
            cursor = segment.index(">}}}", start) + 4
            continue
        cursor = shortcode.end
        code = segment[start:cursor]
        line = first_line + segment.count("\n", 0, start)
        out.append(_inline_value(shortcode, code, line, where, variables, metadata))
    out.append(segment[cursor:])
    return "".join(out)


def _inline_value(
    shortcode: Any,
    code: str,
    line: int,
    where: str,
    variables: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
) -> str:
    """The text of one inline shortcode: a variable, a metadata key or a page break."""
    name = shortcode.name
    if name == "include":
        raise PaperRenderError(
            f"{where}:{line}: {code!r}: Quarto includes a file only from a line of its own "
            "with blank lines around it"
        )
    if name in ("var", "meta"):
        if len(shortcode.params) != 1 or shortcode.named:
            raise PaperRenderError(f"{where}:{line}: {code!r} takes exactly one key")
        key = shortcode.params[0]
        if name == "var":
            return _lookup(variables, key, where, "variable", "_variables.yml")
        return _lookup(metadata or {}, key, where, "metadata key", "the front matter")
    if name == "pagebreak":
        return _PAGEBREAK
    raise PaperRenderError(f"{where}:{line}: unsupported shortcode {code!r}")


_MISSING = object()


def _lookup(mapping: Mapping[str, Any], key: str, where: str, kind: str, origin: str) -> str:
    value: Any = mapping.get(key, _MISSING)
    if value is _MISSING:
        value = mapping
        for part in key.split("."):
            if not isinstance(value, Mapping) or part not in value:
                value = _MISSING
                break
            value = value[part]
    if value is _MISSING or value is None:
        raise PaperRenderError(f"{where}: {kind} {key!r} is not defined in {origin}")
    if isinstance(value, Mapping | list):
        raise PaperRenderError(f"{where}: {kind} {key!r} in {origin} is not a scalar")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- masking


_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")


def fence_end(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing the fenced block opened at `start` (len(lines) if unclosed)."""
    j = start + 1
    while j < len(lines):
        close = _FENCE_RE.match(lines[j])
        if (
            close is not None
            and close["fence"][0] == fence[0]
            and len(close["fence"]) >= len(fence)
            and not lines[j][close.end() :].strip()
        ):
            return j
        j += 1
    return j


_CODE_SPAN_RE = re.compile(
    r"(?<!`)(?P<ticks>`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)(?P=ticks)(?!`)", re.DOTALL
)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_PLACEHOLDER_RE = re.compile("\ue000(\\d+)\ue001")


@dataclass
class _Masked:
    """Markdown with code, raw blocks, comments and front matter swapped for placeholders."""

    text: str
    pieces: list[str]

    def restore(self, text: str) -> str:
        return _PLACEHOLDER_RE.sub(lambda m: self.pieces[int(m[1])], text)


def _mask(markdown: str) -> _Masked:
    pieces: list[str] = []

    def hide(chunk: str) -> str:
        pieces.append(chunk)
        return f"\ue000{len(pieces) - 1}\ue001"

    lines = markdown.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    if lines and lines[0].rstrip() == "---":
        for j in range(1, len(lines)):
            if lines[j].rstrip() in ("---", "..."):
                out.append(hide("".join(lines[: j + 1])))
                i = j + 1
                break
    while i < len(lines):
        match = _FENCE_RE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        j = fence_end(lines, i, match["fence"])
        block = "".join(lines[i : j + 1])
        newline = "\n" if block.endswith("\n") else ""
        out.append(hide(block.removesuffix("\n")) + newline)
        i = j + 1
    text = "".join(out)
    text = _COMMENT_RE.sub(lambda m: hide(m[0]), text)
    text = _CODE_SPAN_RE.sub(lambda m: hide(m[0]), text)
    return _Masked(text, pieces)


# --------------------------------------------------------------------------- attributes


_ATTR_TOKEN_RE = re.compile(r"""([#.][^\s#.="']+|[\w-]+=(?:"[^"]*"|'[^']*'|\S+)|-|\S+)""")


def _parse_attrs(attrs: str) -> tuple[str | None, list[str]]:
    ident: str | None = None
    classes: list[str] = []
    for token in _ATTR_TOKEN_RE.findall(attrs):
        if token.startswith("#"):
            ident = token[1:]
        elif token.startswith("."):
            classes.append(token[1:])
        elif token == "-":
            classes.append("unnumbered")
    return ident, classes


# --------------------------------------------------------------------------- callouts


_DIV_OPEN_RE = re.compile(
    r"^ {0,3}(?P<colons>:{3,})\s*(?:\{(?P<attrs>[^{}]*)\}|(?P<cls>[\w-]+))\s*:*\s*$"
)
_DIV_CLOSE_RE = re.compile(r"^ {0,3}:{3,}\s*$")
_TITLE_ATTR_RE = re.compile(r"""\s*\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))""")
_CALLOUT_HEADING_RE = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


def _iter_divs(lines: list[str]) -> Iterator[tuple[int, int]]:
    """(open, close) line indices of fenced divs, innermost first; lines are masked."""
    stack: list[int] = []
    for index, line in enumerate(lines):
        if _DIV_OPEN_RE.match(line):
            stack.append(index)
        elif _DIV_CLOSE_RE.match(line) and stack:
            yield stack.pop(), index


def convert_callouts(markdown: str) -> str:
    """Turn Quarto callouts into boxes pandoc can render to HTML (CSS) and typst (#block)."""
    masked = _mask(markdown)
    lines = masked.text.splitlines(keepends=True)
    inserts: dict[int, list[str]] = {}
    replaced: dict[int, str] = {}
    for start, end in _iter_divs(lines):
        match = _DIV_OPEN_RE.match(lines[start])
        assert match is not None
        attrs = match["attrs"] if match["attrs"] is not None else "." + match["cls"]
        _, classes = _parse_attrs(attrs)
        kind = next((c[8:] for c in classes if c.startswith("callout-")), None)
        if kind not in _CALLOUT_TYPES:
            continue
        default_title, colour = _CALLOUT_TYPES[kind]
        title_match = _TITLE_ATTR_RE.search(attrs)
        title = next((g for g in title_match.groups() if g is not None), "") if title_match else ""
        attrs = _TITLE_ATTR_RE.sub("", attrs)
        first = next((k for k in range(start + 1, end) if lines[k].strip()), None)
        if first is not None and not title:
            heading = _CALLOUT_HEADING_RE.match(lines[first])
            if heading is not None:
                title = heading["title"]
                replaced[first] = "\n"
        colons = match["colons"]
        replaced[start] = f"{colons} {{.callout {attrs.strip()}}}\n"
        typst_open = (
            f'#block(width: 100%, inset: 8pt, radius: 3pt, fill: rgb("{colour}").lighten(92%),'
            f' stroke: (left: 3pt + rgb("{colour}"), rest: 0.5pt + rgb("{colour}")))['
        )
        inserts.setdefault(start + 1, []).append(
            f"\n```{{=typst}}\n{typst_open}\n```\n\n"
            f"::: {{.callout-title}}\n**{title or default_title}**\n:::\n\n"
        )
        inserts.setdefault(end, []).insert(0, "\n```{=typst}\n]\n```\n\n")
    out: list[str] = []
    for index, line in enumerate(lines):
        out.extend(inserts.get(index, []))
        out.append(replaced.get(index, line))
    out.extend(inserts.get(len(lines), []))
    return masked.restore("".join(out))


_KEY_VALUE_RE = re.compile(
    r"""(?<![\w-])(?P<key>[\w-]+)=(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s}]+))"""
)


def typst_blocks(markdown: str) -> str:
    """Quarto's typst ``.block`` divs: ``::: {.block fill="luma(230)"}`` becomes ``#block(...)``.

    As Quarto's ``quarto-post/typst.lua`` does, every key=value attribute of the div is passed
    verbatim as an argument of typst's ``block`` and the div's content goes inside; HTML and
    DOCX keep the div (styled by the paper's CSS) and ignore the raw typst.
    """
    masked = _mask(markdown)
    lines = masked.text.splitlines(keepends=True)
    inserts: dict[int, list[str]] = {}
    for start, end in _iter_divs(lines):
        match = _DIV_OPEN_RE.match(lines[start])
        assert match is not None
        attrs = match["attrs"] if match["attrs"] is not None else "." + match["cls"]
        _, classes = _parse_attrs(attrs)
        if "block" not in classes:
            continue
        arguments = "".join(
            f"{m['key']}:{next(g for g in (m['dq'], m['sq'], m['bare']) if g is not None)},\n"
            for m in _KEY_VALUE_RE.finditer(attrs)
        )
        inserts.setdefault(start + 1, []).append(f"\n```{{=typst}}\n#block(\n{arguments}[\n```\n\n")
        inserts.setdefault(end, []).insert(0, "\n```{=typst}\n])\n```\n\n")
    out: list[str] = []
    for index, line in enumerate(lines):
        out.extend(inserts.get(index, []))
        out.append(line)
    out.extend(inserts.get(len(lines), []))
    return masked.restore("".join(out))


def callouts(markdown: str) -> list[str]:
    """The callout types used, for refusing them where Quarto's output would need the network."""
    masked = _mask(markdown)
    found = []
    for line in masked.text.splitlines():
        match = _DIV_OPEN_RE.match(line)
        if match is None:
            continue
        attrs = match["attrs"] if match["attrs"] is not None else "." + match["cls"]
        found += [c for c in _parse_attrs(attrs)[1] if c == "callout" or c.startswith("callout-")]
    return found


# --------------------------------------------------------------------------- cross-references


@dataclass(frozen=True)
class CrossrefStyle:
    """Words used for captions and references; Quarto's ``crossref:`` option overrides them."""

    fig_title: str = "Figure"
    tbl_title: str = "Table"
    title_delim: str = ":"
    fig_prefix: str = "Figure"
    tbl_prefix: str = "Table"
    sec_prefix: str = "Section"

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> CrossrefStyle:
        options = options or {}
        fig_title = str(options.get("fig-title", cls.fig_title))
        tbl_title = str(options.get("tbl-title", cls.tbl_title))
        return cls(
            fig_title=fig_title,
            tbl_title=tbl_title,
            title_delim=str(options.get("title-delim", cls.title_delim)),
            fig_prefix=str(options.get("fig-prefix", fig_title)),
            tbl_prefix=str(options.get("tbl-prefix", tbl_title)),
            sec_prefix=str(options.get("sec-prefix", cls.sec_prefix)),
        )


@dataclass(frozen=True)
class _Target:
    kind: str  # "fig", "tbl" or "sec"
    number: str | None  # None for unnumbered sections
    title: str = ""


_KEY = r"(?P<key>(?:fig|tbl|sec)-\w+(?:[-:.]\w+)*)"
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*$", re.MULTILINE)
_TRAILING_ATTRS_RE = re.compile(r"\s*\{(?P<attrs>[^{}]*)\}\s*$")
_TABLE_CAPTION_RE = re.compile(
    r"^(?P<lead>[ \t]{0,3}(?:Table)?:[ \t]+)(?P<text>.*?)(?P<attrs>[ \t]*\{[^{}]*#tbl-[^{}]*\})"
    r"[ \t]*$",
    re.MULTILINE,
)
_DIV_LABEL_RE = re.compile(r"^ {0,3}:{3,}\s*\{[^{}]*#(?P<label>(?:fig|tbl)-[^\s}]+)", re.MULTILINE)
_ANY_LABEL_RE = re.compile(r"\{[^{}]*#(?P<label>(?:fig|tbl|sec)-[^\s{}]+)[^{}]*\}")
_BRACKET_REF_RE = re.compile(
    r"\[(?P<body>(?:(?!\n\s*\n)[^\[\]])*?-?@(?:fig|tbl|sec)-(?:(?!\n\s*\n)[^\[\]])*?)\]"
    r"(?![(\[{:])"
)
_BARE_REF_RE = re.compile(r"(?<![\w.+/@-])(?P<neg>-)?@" + _KEY)
_CITE_ITEM_RE = re.compile(
    r"^(?P<pre>.*?)(?P<neg>-)?@(?P<key>[\w][\w:.#$%&+?<>~/-]*?)(?P<post>[.,;:!?]*(?:\s.*)?)$",
    re.DOTALL,
)


def number_crossrefs(markdown: str, crossref: Mapping[str, Any] | None = None) -> str:
    """Number figures, tables and sections the way Quarto does and resolve ``@`` references.

    Section numbers follow pandoc's ``--number-sections`` algorithm.  Numbered headings get
    an explicit ``number`` attribute (which pandoc's HTML writer shows), so HTML, PDF and the
    reference texts agree.  As in Quarto 1.8 outside book projects, nothing letters
    appendices: a heading with class ``appendix`` is refused (Quarto would number it on in
    typst and DOCX and move it in HTML), and so is an ``@sec-`` reference to an unnumbered
    heading, which Quarto's typst output cannot resolve.  Write appendices as unnumbered
    headings titled "Appendix A: ..." and link them by name.  Citations, code and comments
    are left alone.
    """
    style = CrossrefStyle.from_options(crossref)
    masked = _mask(markdown)
    _check_labels(masked.text)
    text, targets = _number_targets(masked.text, style)
    return masked.restore(_resolve_references(text, targets, style))


def _check_labels(text: str) -> None:
    """Refuse div-style figures and tables, and a label given twice."""
    div_label = _DIV_LABEL_RE.search(text)
    if div_label is not None:
        raise PaperRenderError(
            f"div-style figure/table '{div_label['label']}' is not supported by the preview "
            "renderer; use ![caption](path){#fig-...} or a ': caption {#tbl-...}' line"
        )
    labels = [m["label"] for m in _ANY_LABEL_RE.finditer(text)]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise PaperRenderError(f"duplicate cross-reference label(s): {', '.join(duplicates)}")


def _number_targets(text: str, style: CrossrefStyle) -> tuple[str, dict[str, _Target]]:
    """Prefix captions with their numbers and number headings, in document order.

    Returns the text with the numbers written in, and every label's target.
    """
    targets: dict[str, _Target] = {}
    counters = {"fig": 0, "tbl": 0}

    def caption_prefix(kind: str) -> str:
        counters[kind] += 1
        title = style.fig_title if kind == "fig" else style.tbl_title
        return f"{title} {counters[kind]}{style.title_delim} "

    # Figures, tables and headings are numbered in one document-order pass.
    events: list[tuple[int, str, re.Match[str] | tuple[int, str]]] = []
    events.extend((m.start(), "heading", m) for m in _HEADING_RE.finditer(text))
    events.extend((m.start(), "table", m) for m in _TABLE_CAPTION_RE.finditer(text))
    events.extend((start, "figure", span) for start, span in _find_figures(text))
    events.sort(key=lambda event: event[0])

    edits: list[tuple[int, int, str]] = []
    section = _SectionCounter()
    for _, kind, item in events:
        if kind == "figure":
            assert isinstance(item, tuple)
            caption_start, label = item
            edits.append((caption_start, caption_start, caption_prefix("fig")))
            targets[label] = _Target("fig", str(counters["fig"]))
        elif kind == "table":
            assert isinstance(item, re.Match)
            ident, _ = _parse_attrs(item["attrs"].strip()[1:-1])
            assert ident is not None
            if not _next_to_table(text, item.start(), item.end()):
                raise PaperRenderError(
                    f"table caption {{#{ident}}} is not next to a table: pandoc (and Quarto) "
                    "take a ': caption' line as a table's caption only right before or after "
                    "the table, at most one blank line apart"
                )
            edits.append((item.start("text"), item.start("text"), caption_prefix("tbl")))
            targets[ident] = _Target("tbl", str(counters["tbl"]))
        else:
            assert isinstance(item, re.Match)
            edits.extend(section.visit(item, targets))

    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text, targets


def _resolve_references(text: str, targets: Mapping[str, _Target], style: CrossrefStyle) -> str:
    """Replace ``@`` references (bare and in brackets) by links to their numbered targets."""
    unresolved: set[str] = set()

    def link(key: str, bare_number: bool) -> str:
        target = targets.get(key)
        if target is None:
            unresolved.add(key)
            return f"@{key}"
        if target.number is None:
            raise PaperRenderError(
                f"@{key} refers to the unnumbered section {target.title!r}: Quarto's typst output "
                f"cannot number it and stops; link it by name instead, [text](#{key})"
            )
        if bare_number:
            return f"[{target.number}](#{key})"
        prefixes = {"fig": style.fig_prefix, "tbl": style.tbl_prefix}
        prefix = prefixes.get(target.kind, style.sec_prefix)
        return f"[{prefix}\u00a0{target.number}](#{key})"

    def bracket(match: re.Match[str]) -> str:
        refs: list[str] = []
        cites: list[str] = []
        for raw_item in match["body"].split(";"):
            item = _CITE_ITEM_RE.match(" ".join(raw_item.split()))
            if item is None or not re.fullmatch(_KEY, item["key"]):
                cites.append(raw_item.strip())
                continue
            refs.append(item["pre"] + link(item["key"], bool(item["neg"])) + item["post"])
        if cites:
            refs.append("[" + "; ".join(cites) + "]")
        return "; ".join(refs)

    text = _BRACKET_REF_RE.sub(bracket, text)
    text = _BARE_REF_RE.sub(lambda m: link(m["key"], bool(m["neg"])), text)
    if unresolved:
        raise PaperRenderError(
            f"unresolved cross-reference(s): {', '.join('@' + k for k in sorted(unresolved))}"
        )
    return text


def _next_to_table(text: str, start: int, end: int) -> bool:
    """Whether the caption line at ``text[start:end]`` is attached to a pipe table: a table row
    right before or after it, at most one blank line apart (as pandoc reads captions)."""
    before = text[:start].split("\n")[:-1][-2:]  # the two lines above the caption
    after = text[end:].split("\n")[1:3]  # the two lines below it

    def row(lines: list[str]) -> bool:
        first = next((line for line in lines if line.strip()), "")
        return first.lstrip().startswith("|")

    return row(before[::-1]) or row(after)


def _find_figures(text: str) -> Iterator[tuple[int, tuple[int, str]]]:
    """Images carrying a ``#fig-`` id: (position, (caption start, label))."""
    for match in re.finditer(r"!\[", text):
        caption_start = match.end()
        caption_end = balanced_end(text, caption_start, "[", "]")
        if caption_end is None or text[caption_end + 1 : caption_end + 2] != "(":
            continue
        target_end = balanced_end(text, caption_end + 2, "(", ")")
        if target_end is None or text[target_end + 1 : target_end + 2] != "{":
            continue
        attrs_end = text.find("}", target_end + 2)
        if attrs_end < 0:
            continue
        ident, _ = _parse_attrs(text[target_end + 2 : attrs_end])
        if ident is not None and ident.startswith("fig-"):
            yield match.start(), (caption_start, ident)


def balanced_end(
    text: str, start: int, open_char: str, close_char: str, *, within_paragraph: bool = False
) -> int | None:
    """Index of the ``close_char`` that closes the group opened just before ``start``.

    With ``within_paragraph`` a blank line ends the search, as it ends any Markdown link.
    """
    depth = 1
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if within_paragraph and char == "\n" and text[index + 1 : index + 2] == "\n":
            return None
        if char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


class _SectionCounter:
    """pandoc's ``makeSections`` numbering."""

    def __init__(self) -> None:
        self.numbers: list[int] = []

    def visit(
        self, match: re.Match[str], targets: dict[str, _Target]
    ) -> list[tuple[int, int, str]]:
        level = len(match["hashes"])
        heading = match["text"]
        attrs_match = _TRAILING_ATTRS_RE.search(heading)
        attrs = attrs_match["attrs"] if attrs_match else ""
        title = heading[: attrs_match.start()] if attrs_match else heading
        title = re.sub(r"[ \t]+#+$", "", title).strip()
        ident, classes = _parse_attrs(attrs)
        if "appendix" in classes:
            raise PaperRenderError(
                f"heading {title!r} has class 'appendix': Quarto 1.8 letters appendices only in "
                "book projects (in a document it numbers them on in typst and DOCX and moves "
                "them in HTML); title it 'Appendix A: ...' and mark it {.unnumbered}"
            )
        edits: list[tuple[int, int, str]] = []
        number: str | None = None
        if "unnumbered" not in classes:
            kept = self.numbers[:level]
            if len(kept) >= level:
                self.numbers = [*kept[:-1], kept[-1] + 1]
            else:
                self.numbers = [*self.numbers, *([0] * (level - len(self.numbers) - 1)), 1]
            number = ".".join(str(n) for n in self.numbers)
            new_attrs = f'{attrs.strip()} number="{number}"'.strip()
            end = match.end("text")
            start = match.start("text") + attrs_match.start() if attrs_match else end
            edits.append((start, end, f" {{{new_attrs}}}"))
        if ident is not None and ident.startswith("sec-"):
            targets[ident] = _Target("sec", number, title)
        return edits


# --------------------------------------------------------------------------- metadata


def _split_front_matter(text: str, source: Path) -> tuple[dict[str, Any], str]:
    match = re.match(r"\A---[ \t]*\n(?P<yaml>.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", text, re.DOTALL)
    if match is None:
        return {}, text
    try:
        data = yaml.safe_load(match["yaml"] or "") or {}
    except yaml.YAMLError as exc:
        raise PaperRenderError(f"{source}: invalid YAML front matter: {exc}") from None
    if not isinstance(data, dict):
        raise PaperRenderError(f"{source}: front matter must be a mapping")
    return data, text[match.end() :]


def _load_yaml_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PaperRenderError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PaperRenderError(f"{path}: must contain a YAML mapping")
    return data


def _format_options(config: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    formats = config.get("format")
    if not isinstance(formats, Mapping):
        return {}
    merged: dict[str, Any] = {}
    for name in names:
        options = formats.get(name)
        if isinstance(options, Mapping):
            merged.update(options)
    return merged


def _merge_metadata(
    project: Mapping[str, Any], front: Mapping[str, Any], fmt: str
) -> dict[str, Any]:
    """Quarto precedence: project < project format < document < document format."""
    names = {"html": ("html",), "docx": ("docx",)}.get(fmt, ("typst", "pdf"))
    merged: dict[str, Any] = {}
    for layer in (project, _format_options(project, names), front, _format_options(front, names)):
        merged.update(layer)
    return merged


def _author_entries(authors: Any) -> list[dict[str, str]]:
    if authors is None:
        return []
    if not isinstance(authors, list):
        authors = [authors]
    entries = []
    for author in authors:
        if not isinstance(author, Mapping):
            entries.append({"name": str(author), "affiliation": "", "email": ""})
            continue
        name = author.get("name", "")
        if isinstance(name, Mapping):
            name = name.get("literal") or " ".join(
                str(name[k]) for k in ("given", "family") if name.get(k)
            )
        affiliations = author.get("affiliations", author.get("affiliation", []))
        if not isinstance(affiliations, list):
            affiliations = [affiliations]
        affiliation = "; ".join(
            str(a.get("name", "")) if isinstance(a, Mapping) else str(a) for a in affiliations
        )
        entries.append(
            {"name": str(name), "affiliation": affiliation, "email": str(author.get("email", ""))}
        )
    return entries


def _pandoc_metadata(merged: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    meta = {k: v for k, v in merged.items() if k not in _QUARTO_ONLY_KEYS}
    if str(meta.get("date", "")).strip().lower() in _DATE_KEYWORDS:
        del meta["date"]  # the preview never injects the current date
    authors = _author_entries(meta.pop("author", None))
    if authors and fmt in ("html", "docx"):
        meta["author"] = [
            f"{a['name']} ({a['affiliation']})" if a["affiliation"] else a["name"] for a in authors
        ]
    elif authors:
        meta["author"] = authors
    meta.setdefault("link-citations", True)
    return meta


def _walk_strings(value: Any, func: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return func(value)
    if isinstance(value, list):
        return [_walk_strings(v, func) for v in value]
    if isinstance(value, dict):
        return {k: _walk_strings(v, func) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- preview render


def cjk_font_dir() -> Path | None:
    """Directory of the OFL Noto CJK fonts shipped by ``mplfonts``, if installed.

    The package is located without importing it (importing pulls in matplotlib).
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or spec.origin is None:
        return None
    font_dir = Path(spec.origin).resolve().parent / "fonts"
    return font_dir if (font_dir / CJK_FONT_FILE).is_file() else None


def render_preview(
    build_dir: Path, outputs: Mapping[str, Path], font_paths: list[Path] | None = None
) -> None:
    """Render ``index.qmd`` with pandoc (HTML, DOCX) and pandoc + typst (PDF), without Quarto.

    ``font_paths=None`` uses only typst's embedded fonts plus Noto Sans CJK SC from
    ``mplfonts`` (system fonts are ignored so the PDF is the same on every machine); an
    explicit list is used as given, and an empty list falls back to system fonts.
    Nothing is written unless every requested format rendered.
    """
    _check_formats(outputs)
    build_dir = Path(build_dir).resolve()
    index = build_dir / "index.qmd"
    if not index.is_file():
        raise PaperRenderError(f"{index} not found")
    project = _load_yaml_file(build_dir / "_quarto.yml")
    variables = _load_yaml_file(build_dir / "_variables.yml")
    front, body = _split_front_matter(index.read_text(encoding="utf-8"), index)
    plain_meta = {**project, **front}

    def expand(text: str) -> str:
        return expand_shortcodes(text, build_dir, variables, source=index, metadata=plain_meta)

    front = _walk_strings(front, expand)
    body = expand(body)
    crossref: dict[str, Any] = {}
    for layer in (project, front):
        if isinstance(layer.get("crossref"), Mapping):
            crossref.update(layer["crossref"])
    used = callouts(body)
    if "pdf" in outputs and used:
        raise PaperRenderError(
            f"callout(s) {', '.join(sorted(set(used)))}: Quarto's typst output imports the typst "
            "package @preview/fontawesome for callouts, which typst downloads; use a div with "
            "class .block (a typst #block) instead"
        )
    body = number_crossrefs(typst_blocks(convert_callouts(body)), crossref)

    rendered: dict[str, bytes] = {}
    with (
        tempfile.TemporaryDirectory(prefix="hazegov-paper-") as tmp_name,
        ThreadPoolExecutor(max_workers=max(1, len(outputs))) as formats,
    ):
        # the formats side by side (pandoc and typst, outside Python for most of their time):
        # each writes only its own files, and their results are taken in the order below, so
        # the first format to fail in that order is the error reported, as one after another
        tmp = Path(tmp_name)
        started = {}
        if "html" in outputs:
            meta = _merge_metadata(project, front, "html")
            started["html"] = formats.submit(_render_html, build_dir, body, meta, tmp)
        if "pdf" in outputs:
            meta = _merge_metadata(project, front, "pdf")
            started["pdf"] = formats.submit(_render_pdf, build_dir, body, meta, tmp, font_paths)
        if "docx" in outputs:
            meta = _merge_metadata(project, front, "docx")
            started["docx"] = formats.submit(_render_docx, build_dir, body, meta)
        for fmt, future in started.items():
            rendered[fmt] = future.result()
    for fmt, data in rendered.items():
        _write_atomic(Path(outputs[fmt]), data)


def _document(body: str, meta: Mapping[str, Any]) -> str:
    header = yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=False)
    return f"---\n{header}---\n\n{body}"


def _project_files(build_dir: Path, value: Any, key: str) -> list[Path]:
    """Files a format option names (``css: a.css`` or a list, or Quarto's ``- file: x``)."""
    entries = value if isinstance(value, list) else [value] if value else []
    files: list[Path] = []
    for entry in entries:
        name = entry.get("file") if isinstance(entry, Mapping) else entry
        if not isinstance(name, str):
            raise PaperRenderError(f"{key}: only files are supported by the preview, got {entry!r}")
        path = build_dir / name
        if not path.is_file():
            raise PaperRenderError(f"{key}: {name} not found ({path})")
        files.append(path)
    return files


def _render_html(build_dir: Path, body: str, merged: Mapping[str, Any], tmp: Path) -> bytes:
    header = tmp / "preview-header.html"
    styles = "".join(
        path.read_text(encoding="utf-8")
        for path in _project_files(build_dir, merged.get("css"), "css")
    )
    header.write_text(f"<style>\n{HTML_CSS}{styles}</style>\n", encoding="utf-8")
    before = tmp / "preview-before.html"
    before.write_text(
        f'<div class="preview-notice" role="note">{html.escape(PREVIEW_NOTICE)}</div>\n',
        encoding="utf-8",
    )
    args = [
        "--to=html5",
        "--standalone",
        "--embed-resources",
        "--citeproc",
        "--number-sections",
        "--mathml",
        f"--include-in-header={header}",
        f"--include-before-body={before}",
    ]
    if merged.get("toc", True):
        args += ["--toc", f"--toc-depth={int(merged.get('toc-depth', 3))}"]
    document = _document(body, _pandoc_metadata(merged, "html"))
    return _pandoc(args, document, build_dir, "HTML")


def _render_pdf(
    build_dir: Path,
    body: str,
    merged: Mapping[str, Any],
    tmp: Path,
    font_paths: list[Path] | None,
) -> bytes:
    import typst

    meta = _pandoc_metadata(merged, "pdf")
    fonts = [LATIN_FONT_FAMILY, CJK_FONT_FAMILY]
    if meta.get("mainfont"):
        fonts.insert(0, str(meta.pop("mainfont")))
    header = tmp / "preview-header.typ"
    project_header = "".join(
        path.read_text(encoding="utf-8")
        for path in _project_files(build_dir, merged.get("include-in-header"), "include-in-header")
    )
    header.write_text(
        f"#set text(font: ({', '.join(json.dumps(f) for f in fonts)},))\n"
        "// captions already carry 'Figure n:' from number_crossrefs\n"
        "#show figure.caption: it => it.body\n" + project_header,
        encoding="utf-8",
    )
    before = tmp / "preview-before.typ"
    before.write_text(
        '#block(width: 100%, inset: 8pt, radius: 3pt, fill: rgb("#fff3cd"),'
        ' stroke: 0.5pt + rgb("#b58900"))['
        f'#text(weight: "bold", hyphenate: false, '
        f"{json.dumps(PREVIEW_NOTICE, ensure_ascii=False)})]\n",
        encoding="utf-8",
    )
    args = [
        "--to=typst",
        "--standalone",
        "--citeproc",
        "--number-sections",
        f"--include-in-header={header}",
        f"--include-before-body={before}",
    ]
    if merged.get("toc", False):
        args += ["--toc", f"--toc-depth={int(merged.get('toc-depth', 3))}"]
    source = _pandoc(args, _document(body, meta), build_dir, "typst")

    if font_paths is None:
        font_paths = _default_font_paths(tmp)
    try:
        pdf, warnings = typst.compile_with_warnings(
            source,
            root=str(build_dir),
            font_paths=[str(p) for p in font_paths],
            ignore_system_fonts=bool(font_paths),
            timestamp=TYPST_TIMESTAMP,
        )
    except Exception as exc:  # typst raises TypstError (a RuntimeError) with diagnostics
        detail = getattr(exc, "diagnostic", "") or ""
        raise PaperRenderError(f"typst failed to compile the PDF: {exc}\n{detail}") from exc
    for warning in warnings:
        log.warning("typst: %s", warning)
    if not isinstance(pdf, bytes):
        raise PaperRenderError("typst returned no PDF data")
    return pdf


def _render_docx(build_dir: Path, body: str, merged: Mapping[str, Any]) -> bytes:
    """Word output for co-authors and journals who edit in Word, with the notice on top.

    pandoc ignores ``--include-before-body`` for DOCX, so the notice is a custom-styled
    paragraph that :func:`_finish_docx` moves above the title block.
    """
    notice = (
        f'::: {{custom-style="{DOCX_NOTICE_STYLE}"}}\n'
        f"**{_escape_markdown(PREVIEW_NOTICE)}**\n:::\n\n"
    )
    args = ["--to=docx", "--citeproc", "--number-sections"]
    if merged.get("toc", True):
        args += ["--toc", f"--toc-depth={int(merged.get('toc-depth', 3))}"]
    meta = _pandoc_metadata(merged, "docx")
    reference = meta.pop("reference-doc", None)
    if reference:  # a journal's Word template: styles, page size, fonts
        template = build_dir / str(reference)
        if not template.is_file():
            raise PaperRenderError(f"reference-doc not found: {reference} ({template})")
        args.append(f"--reference-doc={template}")
    return _finish_docx(_pandoc(args, _document(notice + body, meta), build_dir, "DOCX"))


def _escape_markdown(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#+!|~^$@])", r"\\\1", text)


def _finish_docx(data: bytes) -> bytes:
    """Move the notice paragraph first and rewrite the zip with sorted entries and fixed dates.

    pandoc honours ``SOURCE_DATE_EPOCH`` for the document properties, but fixed entry dates
    and order make the bytes independent of the pandoc build and the day, as for the XLSX
    exports of :mod:`hazegov.survey.synthetic`.
    """
    style_id = DOCX_NOTICE_STYLE.replace(" ", "")
    notice_re = re.compile(
        rf'<w:p><w:pPr><w:pStyle w:val="{style_id}" ?/>.*?</w:p>'.encode(), re.DOTALL
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        names = [info.filename for info in src.infolist()]
        first = [n for n in names if n == "[Content_Types].xml"]  # where Office puts it
        for name in first + sorted(n for n in names if n not in first):
            content = src.read(name)
            if name == "word/document.xml":
                match = notice_re.search(content)
                body = re.search(rb"<w:body>", content)
                if match is None or body is None:
                    raise PaperRenderError("pandoc (DOCX): the preview notice is missing")
                content = content[: match.start()] + content[match.end() :]
                content = content[: body.end()] + match[0] + content[body.end() :]
            entry = zipfile.ZipInfo(name, date_time=DOCX_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def _default_font_paths(tmp: Path) -> list[Path]:
    """A folder holding only Noto Sans CJK SC, so no other bundled font can be picked up."""
    font_dir = cjk_font_dir()
    if font_dir is None:
        log.warning("mplfonts not found: Chinese text in the PDF relies on system fonts")
        return []
    target = tmp / "fonts"
    target.mkdir(exist_ok=True)
    link = target / CJK_FONT_FILE
    try:
        link.symlink_to(font_dir / CJK_FONT_FILE)
    except OSError:
        shutil.copyfile(font_dir / CJK_FONT_FILE, link)
    return [target]


# A missing image or bibliography entry would otherwise render silently as a placeholder.
_FATAL_PANDOC_WARNING = re.compile(r"Could not fetch resource|Citeproc: citation .* not found")


def _pandoc(args: list[str], document: str, build_dir: Path, what: str) -> bytes:
    import pypandoc

    command = [pypandoc.get_pandoc_path(), "--from=markdown", *args]
    proc = _run(command, cwd=build_dir, what=f"pandoc ({what})", stdin=document.encode("utf-8"))
    stderr = proc.stderr.decode("utf-8", "replace")
    fatal = [line for line in stderr.splitlines() if _FATAL_PANDOC_WARNING.search(line)]
    if fatal:
        raise PaperRenderError(f"pandoc ({what}): " + "\n".join(fatal))
    return proc.stdout


def _run(
    command: list[str], *, cwd: Path, what: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=env,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PaperRenderError(f"{what} could not run: {exc}") from exc
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise PaperRenderError(f"{what} failed (exit code {proc.returncode}):\n{stderr}")
    if stderr:
        log.warning("%s: %s", what, stderr)
    return proc


# --------------------------------------------------------------------------- helpers


def _check_formats(outputs: Mapping[str, Path]) -> None:
    unknown = sorted(set(outputs) - set(FORMATS))
    if unknown:
        raise PaperRenderError(
            f"unsupported output format(s): {', '.join(unknown)} (use {', '.join(FORMATS)})"
        )
    if not outputs:
        raise PaperRenderError("no output requested")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
