"""The test suite's own rules (tests/README.md), read from the modules' syntax trees.

- Test modules are in `unit/`, `e2e/` or `slurm/`; every folder of modules is a package, and
  modules import each other absolutely (`from tests.support.paths import ROOT`).
- No module under tests/ imports from a test module (`test_*`): shared helpers are in
  `tests/support/`.
- Every module under `e2e/` is marked `e2e` as a whole; no module under `unit/` marks a test
  `e2e`.
- Only `tests/support/paths.py` locates the checkout from `__file__` (the corpus scripts of
  `bad_inputs/`, which run as scripts, find their own folder).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import BAD_INPUTS, ROOT, TESTS

PATHS_MODULE = TESTS / "support" / "paths.py"
TEST_FOLDERS = ("unit", "e2e", "slurm")


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_test_modules(tree: ast.Module) -> list[str]:
    """The modules named `test_*` that the source imports from (or imports), as written."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if any(part.startswith("test_") for part in parts):
                found.append("." * node.level + (node.module or ""))
            elif node.level:  # `from . import test_x`
                found += [f".{a.name}" for a in node.names if a.name.startswith("test_")]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(part.startswith("test_") for part in alias.name.split(".")):
                    found.append(alias.name)
    return found


def relative_imports(tree: ast.Module) -> list[int]:
    """The lines of relative imports (`from . import x`, `from .conftest import ROOT`)."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]


def _is_e2e_mark(node: ast.expr) -> bool:
    """`pytest.mark.e2e` (or `mark.e2e`)."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "e2e"
        and (
            (isinstance(node.value, ast.Attribute) and node.value.attr == "mark")
            or (isinstance(node.value, ast.Name) and node.value.id == "mark")
        )
    )


def module_marked_e2e(tree: ast.Module) -> bool:
    """A top-level `pytestmark` that is the e2e mark or a list or tuple holding it."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            value = node.value
            marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            if any(_is_e2e_mark(m) for m in marks):
                return True
    return False


def e2e_marks(tree: ast.Module) -> list[int]:
    """The lines where the source uses the e2e mark at all."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and _is_e2e_mark(n)]


def file_uses(tree: ast.Module) -> list[int]:
    """The lines that read the module's own `__file__` (not `other_module.__file__`)."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "__file__"]


# --------------------------------------------------------------------------- the checks work


def test_the_checks_find_what_they_forbid():
    bad = ast.parse(
        "from .test_workflow import _workdir\n"
        "from tests.unit.test_cleaning import RULES\n"
        "from . import test_policy_text\n"
        "import tests.e2e.test_reruns\n"
        "from tests.support.paths import ROOT\n"
        "ROOT = Path(__file__).resolve().parents[1]\n"
        "fonts = Path(mplfonts.__file__).parent\n"
        "@pytest.mark.e2e\ndef test_x(): ...\n"
    )
    assert imported_test_modules(bad) == [
        ".test_workflow",
        "tests.unit.test_cleaning",
        ".test_policy_text",
        "tests.e2e.test_reruns",
    ]
    assert relative_imports(bad) == [1, 3]
    assert file_uses(bad) == [6]
    assert e2e_marks(bad) == [8] and not module_marked_e2e(bad)
    assert module_marked_e2e(ast.parse("pytestmark = pytest.mark.e2e"))
    assert module_marked_e2e(ast.parse("pytestmark = [pytest.mark.slurm, pytest.mark.e2e]"))
    assert not module_marked_e2e(ast.parse("pytestmark = pytest.mark.slow"))


# --------------------------------------------------------------------------- the layout


def test_test_modules_are_in_unit_e2e_or_slurm_and_every_folder_is_a_package():
    tests = [p for p in _modules() if p.name.startswith("test_")]
    assert len(tests) > 50
    misplaced = [
        _name(p) for p in tests if p.parent.relative_to(TESTS).as_posix() not in TEST_FOLDERS
    ]
    assert misplaced == []
    for folder in (TESTS, TESTS / "support", *(TESTS / f for f in TEST_FOLDERS)):
        assert (folder / "__init__.py").is_file(), f"{_name(folder)} is not a package"


def test_no_module_imports_from_a_test_module_or_relatively():
    offenders = {}
    for path in _modules():
        tree = _tree(path)
        found = [*imported_test_modules(tree), *(f"line {n}" for n in relative_imports(tree))]
        if found:
            offenders[_name(path)] = found
    assert offenders == {}, "import shared helpers from tests.support, absolutely"


def test_every_e2e_module_is_marked_e2e_and_no_unit_test_is():
    e2e = sorted((TESTS / "e2e").glob("test_*.py"))
    assert len(e2e) >= 5
    assert [_name(p) for p in e2e if not module_marked_e2e(_tree(p))] == []
    unit = sorted((TESTS / "unit").glob("test_*.py"))
    marked = {_name(p): e2e_marks(_tree(p)) for p in unit}
    assert {name: lines for name, lines in marked.items() if lines} == {}


def test_only_the_paths_module_locates_the_checkout_from_its_file():
    uses = {_name(p): file_uses(_tree(p)) for p in _modules()}
    assert uses.pop(_name(PATHS_MODULE)), "tests/support/paths.py defines ROOT from __file__"
    scripts = {name for name in uses if name.startswith(f"{_name(BAD_INPUTS)}/make_")}
    assert len(scripts) == 3 and all(uses[name] for name in scripts)  # run as scripts
    offenders = {name: lines for name, lines in uses.items() if lines and name not in scripts}
    assert offenders == {}, "use tests.support.paths (ROOT, FIXTURES, BAD_INPUTS) instead"
