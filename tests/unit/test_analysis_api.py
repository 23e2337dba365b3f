"""The statistics library's face: package-level exports, their docstrings and their examples.

Every function `hazegov.analysis` exports must be importable from the package, carry a numpydoc
docstring with Parameters, Returns and Examples, and its examples must run as written (doctest),
so that what a reader copies from the documentation works.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys

import pytest

import hazegov.analysis as analysis
from tests.support.paths import ROOT

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(analysis.__path__) if not m.name.startswith("_")
)
LIBRARY_DOC = ROOT / "docs" / "statistics-library.md"


def test_all_is_explicit_sorted_and_matches_the_export_table() -> None:
    assert analysis.__all__ == sorted(analysis.__all__)
    assert len(set(analysis.__all__)) == len(analysis.__all__)
    assert set(analysis.__all__) == set(analysis.EXPORTS)


@pytest.mark.parametrize("name", analysis.__all__)
def test_each_export_is_the_modules_own_object(name: str) -> None:
    module = importlib.import_module(f"hazegov.analysis.{analysis.EXPORTS[name]}")
    exported = getattr(analysis, name)
    assert exported is getattr(module, name)
    assert name in dir(analysis)


def test_star_import_gives_every_export() -> None:
    namespace: dict[str, object] = {}
    exec("from hazegov.analysis import *", namespace)
    assert set(analysis.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'cronbachs_alpha'"):
        _ = analysis.cronbachs_alpha


def test_importing_the_package_does_not_import_the_heavy_libraries() -> None:
    """A pipeline step that only applies the missing-data rule does not load semopy,
    pingouin or statsmodels (the modules are imported on first use of one of their names)."""
    code = (
        "import sys, hazegov.analysis\n"
        "from hazegov.analysis import apply_missing_data_rule\n"
        "print(sorted(m for m in ('semopy', 'pingouin', 'statsmodels') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


FUNCTIONS = [name for name in analysis.__all__ if inspect.isfunction(getattr(analysis, name))]
SECTION = r"^\s*{}\n\s*-{{{}}}\s*$"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_exported_function_has_a_numpydoc_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(analysis, name)) or ""
    positions = []
    for section in ("Parameters", "Returns", "Examples"):
        match = re.search(SECTION.format(section, len(section)), doc, flags=re.M)
        assert match, f"{name}: no {section} section"
        positions.append(match.start())
    assert positions == sorted(positions), f"{name}: sections out of numpydoc order"
    examples = doc[positions[-1] :]
    assert ">>> " in examples, f"{name}: the Examples section has no example"
    parameters = doc[positions[0] : positions[1]]
    for parameter in inspect.signature(getattr(analysis, name)).parameters:
        assert re.search(rf"\b{parameter}\b", parameters), f"{name}: {parameter} undocumented"


@pytest.mark.parametrize("module_name", MODULES)
def test_the_docstring_examples_run(module_name: str) -> None:
    """doctest over each module (examples round their floats, so output is platform-stable)."""
    module = importlib.import_module(f"hazegov.analysis.{module_name}")
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module) if t.examples]
    for test in tests:
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0
    exported_here = [n for n in FUNCTIONS if analysis.EXPORTS[n] == module_name]
    tested = {t.name.rsplit(".", 1)[-1] for t in tests}
    assert set(exported_here) <= tested, "an exported function of the module has no example"


def test_the_docs_list_every_module_of_the_statistics_library() -> None:
    text = LIBRARY_DOC.read_text(encoding="utf-8")
    section = text.split("# The statistics library", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    assert listed == set(MODULES)
