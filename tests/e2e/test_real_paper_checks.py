"""The paper checks on the real `paper/` sources with the generated inputs of a build.

The checks need the generated inputs (`_variables.yml`, tables, figures, appendix). They take
them from the last pipeline build in `results/paper/` when there is one, with today's `paper/`
sources copied over them the way `stage_paper_sources` stages them; otherwise (a fresh clone,
as in CI, or with HAZEGOV_TEST_FRESH_PAPER=1) they build the `.test` configuration once in a
temporary directory (`tests.support.paper.stage_real_paper`). The checks on fixtures and the
prose checks of the real sources are in tests/unit/test_paper_checks.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hazegov.paper.checks import (
    format_problems,
    missing_figures,
    undefined_variables,
    unresolved_crossrefs,
    unused_variables,
)
from tests.support.paper import stage_real_paper
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e

PAPER = ROOT / "paper"
SUPPLEMENTARY = PAPER / "supplementary_variables.txt"
STALE_HINT = (
    "\n(the generated inputs come from results/paper when it exists: if it is older than the "
    "code, refresh it with `snakemake --cores 2`)"
)


@pytest.fixture(scope="module")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage_real_paper(tmp_path_factory.getbasetemp())


def test_paper_variables_are_defined(real_build: Path) -> None:
    problems = undefined_variables(real_build)
    assert problems == [], "\n" + format_problems(problems) + STALE_HINT


def test_paper_variables_are_used_or_supplementary(real_build: Path) -> None:
    problems = unused_variables(real_build, SUPPLEMENTARY)
    hint = (
        "\nQuote each variable in paper/ or list it (or a pattern such as air.its.daily.*) "
        "in paper/supplementary_variables.txt." + STALE_HINT
    )
    assert problems == [], "\n" + format_problems(problems) + hint


def test_paper_crossrefs_resolve(real_build: Path) -> None:
    problems = unresolved_crossrefs(real_build)
    assert problems == [], "\n" + format_problems(problems)


def test_paper_figures_exist(real_build: Path) -> None:
    problems = missing_figures(real_build)
    assert problems == [], "\n" + format_problems(problems) + STALE_HINT
