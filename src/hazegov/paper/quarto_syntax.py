"""Quarto's own rules for shortcodes and includes, so the preview accepts only what Quarto does.

Quarto (1.5 to 1.8) reads shortcodes twice, by different rules:

* Before pandoc sees the document, every source line is tested against Quarto's *block*
  shortcode pattern, ``^\\s*{{< (.+?) >}}\\s*$`` (``isBlockShortcode`` in quarto-cli's
  ``src/core/lib/parse-shortcode.ts``, called on each line by ``breakQuartoMd``).  A line that
  starts with ``{{< `` and ends with `` >}}`` is one block shortcode, even when it holds two
  shortcodes and prose between them: its parameters are then parsed by a strict grammar
  (unquoted words, ``"..."``, ``'...'``, ``key=value``), and a stray quote such as the
  apostrophe in "McDonald's" stops the render with ``Invalid Shortcode``.  Such a line is
  checked here whatever surrounds it (code, front matter), as Quarto checks it.
* Inline shortcodes are parsed later by an LPEG grammar (``lpegshortcode.lua``):
  ``{{<`` space* name params space* ``>}}`` where a parameter is a double- or single-quoted
  string, ``key=value`` or an unquoted word that does not start with a quote, ``}`` or ``>``.

An ``include`` works only as a block shortcode: alone on its line, with blank lines around it
(Quarto's "Includes" documentation).  Where a nested include resolves has changed between
Quarto releases (from the main document's directory, or from the including file's), so a path
is accepted only when both readings name the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BLOCK_SHORTCODE_RE",
    "SHORTCODE_SPAN_RE",
    "QuartoSyntaxError",
    "Shortcode",
    "block_shortcode_problems",
    "include_target",
    "iter_inline_shortcodes",
    "parse_block_capture",
    "parse_inline_shortcode",
    "shortcode_params",
]

# Where shortcodes are, for tools that only locate them (masking prose, diffing sentences);
# their contents are parsed by parse_inline_shortcode.
SHORTCODE_SPAN_RE = re.compile(
    r"\{\{\{<(?P<escaped>.*?)>\}\}\}|\{\{<\s*(?P<name>[\w-]+)(?P<args>.*?)\s*>\}\}", re.DOTALL
)

# parse-shortcode.ts: /^\s*{{< (?!\/\*)(.+?)(?<!\*\/) >}}\s*$/ (JavaScript "." stops at line ends)
BLOCK_SHORTCODE_RE = re.compile(r"^\s*\{\{< (?!/\*)(?P<capture>[^\n\r]+?)(?<!\*/) >\}\}\s*$")
_BLOCK_NAME_RE = re.compile(r"/?[a-zA-Z0-9_]+")
_BLOCK_NAMED_RES = (
    re.compile(r'[a-zA-Z0-9_-]+="[^"]*"'),
    re.compile(r"[a-zA-Z0-9_-]+='[^']*'"),
    re.compile(r"""[a-zA-Z0-9_-]+=[^"'\s]+"""),
)
_BLOCK_WORD_RE = re.compile(r"""[^"'\s]+""")
_BLOCK_QUOTED_RE = re.compile(r'"[^"]*"|\'[^\']*\'')


class QuartoSyntaxError(ValueError):
    """Text Quarto would refuse or read otherwise than it is meant; the message says how."""


@dataclass(frozen=True)
class Shortcode:
    """A parsed shortcode: its name, positional and named parameters, and where it ends."""

    name: str
    params: tuple[str, ...] = ()
    named: dict[str, str] = field(default_factory=dict)
    end: int = 0


def parse_block_capture(capture: str) -> Shortcode:
    """Parse what Quarto's block pattern captured, by ``parseShortcodeCapture``'s grammar.

    Raises
    ------
    QuartoSyntaxError
        Where Quarto raises ``InvalidShortcodeError``.

    Examples
    --------
    >>> parse_block_capture("include chapters/_one.qmd").params
    ('chapters/_one.qmd',)
    """
    name_match = _BLOCK_NAME_RE.match(capture)
    if name_match is None:
        raise QuartoSyntaxError(f"invalid shortcode: {capture}")
    params: list[str] = []
    named: dict[str, str] = {}
    rest = capture[name_match.end() :].strip()
    while rest:
        match = next((m for r in _BLOCK_NAMED_RES if (m := r.match(rest))), None)
        if match is not None:
            key, _, value = match[0].partition("=")
            named[key] = value
        elif (match := _BLOCK_WORD_RE.match(rest)) is not None:
            params.append(match[0])
        elif (match := _BLOCK_QUOTED_RE.match(rest)) is not None:
            params.append(match[0][1:-1])
        else:
            raise QuartoSyntaxError(f"invalid shortcode: {capture}")
        rest = rest[match.end() :].strip()
    return Shortcode(name_match[0], tuple(params), named)


def block_shortcode_problems(text: str) -> list[tuple[int, str]]:
    """(line number, message) for every line Quarto would reject or misread as a block shortcode.

    Examples
    --------
    >>> block_shortcode_problems("{{< var a >}} and McDonald's {{< var b >}}\\n")[0][0]
    1
    """
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = BLOCK_SHORTCODE_RE.match(line)
        if match is None:
            continue
        capture = match["capture"]
        try:
            shortcode = parse_block_capture(capture)
        except QuartoSyntaxError:
            problems.append(
                (
                    number,
                    "Quarto stops here ('Invalid Shortcode'): the line starts with '{{< ' and "
                    "ends with ' >}}', so Quarto parses all of it as one block shortcode, and "
                    "its text is not valid shortcode parameters; re-wrap the line so that it "
                    "neither starts nor ends with a shortcode",
                )
            )
            continue
        if "{{<" in capture or ">}}" in capture:
            problems.append(
                (
                    number,
                    f"Quarto misreads this line as one block shortcode {shortcode.name!r} "
                    "(it starts with '{{< ' and ends with ' >}}' but holds more than one "
                    "shortcode); re-wrap the line so that it neither starts nor ends with a "
                    "shortcode",
                )
            )
    return problems


# --------------------------------------------------------------------------- inline (LPEG)

_SPACE = " \n\t"


def parse_inline_shortcode(text: str, start: int) -> Shortcode:
    """Parse the shortcode opening at ``text[start:]`` (``{{<``) by Quarto's LPEG grammar.

    Nested shortcodes are refused: the paper does not use them and the preview has no need.

    Raises
    ------
    QuartoSyntaxError
        When Quarto would not read a shortcode here.

    Examples
    --------
    >>> parse_inline_shortcode("x {{< var a.b >}} y", 2).params
    ('a.b',)
    """
    if not text.startswith("{{<", start):
        raise QuartoSyntaxError("not a shortcode")
    pos = start + 3
    words: list[str] = []
    named: dict[str, str] = {}
    while True:
        while pos < len(text) and text[pos] in _SPACE:
            pos += 1
        if text.startswith(">}}", pos):
            pos += 3
            break
        if pos >= len(text):
            raise QuartoSyntaxError("shortcode never closed with '>}}'")
        if text.startswith("{{<", pos):
            raise QuartoSyntaxError("nested shortcodes are not supported by the preview")
        word, pos = _inline_word(text, pos)
        after = pos
        while after < len(text) and text[after] in _SPACE:
            after += 1
        if text.startswith("=", after) and words and not word.startswith(("'", '"')):
            value_start = after + 1
            while value_start < len(text) and text[value_start] in _SPACE:
                value_start += 1
            value, pos = _inline_word(text, value_start)
            named[word] = _unquote(value)
            continue
        words.append(word)
    if not words:
        raise QuartoSyntaxError("shortcode without a name")
    name = _unquote(words[0])
    return Shortcode(name, tuple(_unquote(w) for w in words[1:]), named, pos)


def _inline_word(text: str, pos: int) -> tuple[str, int]:
    char = text[pos]
    if char in "\"'":
        close = text.find(char, pos + 1)
        if close < 0:
            raise QuartoSyntaxError(f"unclosed {char} in shortcode")
        return text[pos : close + 1], close + 1
    if char in "}>":
        raise QuartoSyntaxError(f"a shortcode parameter cannot start with {char!r}")
    end = pos
    while end < len(text) and text[end] not in _SPACE and not text.startswith(">}}", end):
        if text[end] == "=" and end > pos:
            break
        end += 1
    return text[pos:end], end


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


def iter_inline_shortcodes(text: str) -> Iterator[tuple[int, Shortcode | str]]:
    """(start, shortcode) for each shortcode; an escaped ``{{{< x >}}}`` yields its literal text.

    Raises
    ------
    QuartoSyntaxError
        For a shortcode Quarto would not read, with its line number.
    """
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        if text.startswith("{{{<", start):
            close = text.find(">}}}", start)
            if close < 0:
                raise QuartoSyntaxError(f"line {_line(text, start)}: unclosed escaped shortcode")
            yield start, "{{<" + text[start + 4 : close] + ">}}"
            pos = close + 4
            continue
        if not text.startswith("{{<", start):
            pos = start + 2
            continue
        try:
            shortcode = parse_inline_shortcode(text, start)
        except QuartoSyntaxError as exc:
            raise QuartoSyntaxError(f"line {_line(text, start)}: {exc}") from None
        yield start, shortcode
        pos = shortcode.end


def shortcode_params(code: str) -> tuple[str, ...] | None:
    """The positional parameters of one shortcode's text, or None if Quarto could not read it."""
    try:
        return parse_inline_shortcode(code, 0).params
    except QuartoSyntaxError:
        return None


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# --------------------------------------------------------------------------- includes


def include_target(line: str, *, main_dir: Path, including_dir: Path) -> Path | None:
    """The file an include line names, or None when the line is not an include directive.

    Quarto takes an include from a block-shortcode line only; an include written inside a
    paragraph is not one (the checks report it).

    Raises
    ------
    QuartoSyntaxError
        When the include has no path, or when Quarto releases would resolve it differently
        (from the main document's directory or from the including file's).
    """
    match = BLOCK_SHORTCODE_RE.match(line)
    if match is None:
        return None
    try:
        shortcode = parse_block_capture(match["capture"])
    except QuartoSyntaxError:
        return None  # reported by block_shortcode_problems, as Quarto stops there
    if shortcode.name.lower() != "include":
        return None
    if not shortcode.params:
        raise QuartoSyntaxError("an include needs a file")
    relative = shortcode.params[0]
    if relative.startswith("/"):
        raise QuartoSyntaxError(
            f"include path {relative!r} starts with '/': Quarto releases disagree on where it "
            "resolves; use a path relative to the main document"
        )
    from_main = (Path(main_dir) / relative).resolve()
    from_including = (Path(including_dir) / relative).resolve()
    if from_main != from_including:
        raise QuartoSyntaxError(
            f"include path {relative!r} resolves to {from_main} from the main document but to "
            f"{from_including} from the file that includes it, and Quarto releases differ in "
            "which they use; keep files that include others beside the main document"
        )
    return from_main
