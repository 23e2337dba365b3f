"""The code stays readable as it grows: no function over 80 lines without a reason, no block
of more than 10 lines repeated in `src/` or `workflow/` (issue 16).

A function's length is its lines without its docstring. A longer one must say why in its
docstring, in a sentence starting "One function because". A repeated block is 11 or more
consecutive code lines of the Python modules that stand again elsewhere, alike but for names
and values (strings, numbers and identifiers masked; blank lines, comments, imports and lone
brackets skipped; a docstring ends a run). Not counted, as declarations
rather than logic written twice: windows of fewer than four different line shapes (a long dict
or list literal, a run of alike assignments), windows mostly of lines that only pass values (a
keyword argument, a literal, a call whose arguments are all literals such as a table column's
declaration), and the rules of the `.smk` files, whose every declaration has the shape
Snakemake gives it (input, output, params, log, script).
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from collections import defaultdict
from pathlib import Path

from tests.support.paths import ROOT

MAX_LINES = 80
REASON = "One function because"
BLOCK = 11
CODE_DIRS = (ROOT / "src", ROOT / "workflow")
# a line that only passes values: `name=value,`, a literal, or a call of literals only
_VALUE_LINE = re.compile(r"^(?:I = )?(?:[SNI]|True|False|None)(?: [SN])*(?: ,)?$")
_LITERAL_CALL = re.compile(r"^(?:I = )?I \( (?:(?:I = )?(?:[SN]|True|False|None) ,? ?)+\) ,?$")


def _python_sources() -> list[Path]:
    files = [p for d in CODE_DIRS for p in d.rglob("*.py")]
    return sorted(p for p in files if "egg-info" not in str(p))


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, shape) of each code line: names, strings and numbers masked."""
    text = path.read_text(encoding="utf-8")
    shapes: dict[int, list[str]] = defaultdict(list)
    docstrings = _docstring_lines(text) if path.suffix == ".py" else set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    for token in tokens:
        kind, string, (row, _), _, _ = token
        if row in docstrings:
            shapes[row] = [f"docstring {path}:{row}"]  # unique: no run goes through it
            continue
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
            continue
        if kind in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NAME:
            shapes[row].append(string if keyword.iskeyword(string) else "I")
        elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -1):
            shapes[row].append("S")
        elif kind == tokenize.NUMBER:
            shapes[row].append("N")
        elif kind in (
            getattr(tokenize, "FSTRING_MIDDLE", -1),
            getattr(tokenize, "FSTRING_END", -1),
        ):
            continue
        else:
            shapes[row].append(string)
    lines = []
    for row in sorted(shapes):
        shape = " ".join(shapes[row])
        if shape.startswith(("import ", "from ")) or not re.search(r"[A-Za-z]", shape):
            continue
        lines.append((row, shape))
    return lines


def _docstring_lines(text: str) -> set[int]:
    rows: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                rows.update(range(body[0].lineno, body[0].end_lineno + 1))
    return rows


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node) or ""
            first = node.body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(
                getattr(first, "value", None), ast.Constant
            )
            doc_lines = first.end_lineno - first.lineno + 1 if has_doc else 0
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1 - doc_lines, doc


def test_no_function_is_longer_than_80_lines_without_a_stated_reason() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in _python_sources()
        for name, line, length, doc in _functions(path)
        if length > MAX_LINES and REASON not in " ".join(doc.split())
    ]
    assert not long, "functions over 80 lines without a reason:\n" + "\n".join(long)


def _declaration(window: tuple[str, ...]) -> bool:
    """Whether more than half the window's lines only pass values."""
    values = sum(bool(_VALUE_LINE.match(s) or _LITERAL_CALL.match(s)) for s in window)
    return values * 2 > len(window)


def repeated_blocks(files: list[Path], size: int = BLOCK) -> list[str]:
    """Pairs of places sharing `size` consecutive code lines of the same shape."""
    seen: dict[tuple[str, ...], tuple[Path, int, int]] = {}
    pairs: dict[tuple[Path, Path], str] = {}
    for path in files:
        lines = _code_lines(path)
        for i in range(len(lines) - size + 1):
            window = tuple(shape for _, shape in lines[i : i + size])
            if len(set(window)) < 4 or _declaration(window):
                continue
            start, end = lines[i][0], lines[i + size - 1][0]
            if window in seen:
                other, other_start, other_end = seen[window]
                if other == path and start <= other_end:
                    continue  # overlapping itself
                key = (other, path)
                pairs.setdefault(
                    key,
                    f"{other.relative_to(ROOT)}:{other_start}-{other_end} ~ "
                    f"{path.relative_to(ROOT)}:{start}-{end}",
                )
            else:
                seen[window] = (path, start, end)
    return sorted(pairs.values())


def test_the_block_finder_finds_a_copied_block(tmp_path) -> None:
    """The check below is not vacuous: a function copied with other names is found."""
    shapes = ("v{k} = f(a, {k})", "if v{k} > {k}:", "    w = [v{k}, 'x{k}']", "return_{k}(w)")
    body = "\n".join("    " + shapes[k % 4].format(k=k) for k in range(12))
    (tmp_path / "a.py").write_text(f"def one(a, b):\n{body}\n    return v1\n", encoding="utf-8")
    renamed = body.replace("f(", "h(").replace("'x", "'y")
    (tmp_path / "b.py").write_text(f"def two(a, b):\n{renamed}\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = repeated_blocks([tmp_path / "a.py", tmp_path / "b.py"])
    finally:
        ROOT = saved
    assert [pair.split(" ~ ")[1].split(":")[0] for pair in found] == ["b.py"]


def test_no_block_of_more_than_10_lines_is_repeated() -> None:
    found = repeated_blocks(_python_sources())
    assert not found, "blocks repeated (alike but for names and values):\n" + "\n".join(found)
