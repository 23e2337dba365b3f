"""The pytest fixtures the test modules share; the shared helpers are in `tests/support/`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from semopy.examples import holzinger39

from hazegov.survey.codebook import Codebook, load_codebook
from hazegov.survey.synthetic import load_population_model, synthesize_export, write_export
from tests.support.paths import BFI, CODEBOOK, POPULATION


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return load_codebook(CODEBOOK)


@pytest.fixture(scope="session")
def export_table(codebook: Codebook) -> pd.DataFrame:
    """A small synthetic export (all cells text, Chinese headers) to corrupt in tests."""
    model = load_population_model(POPULATION, codebook)
    return synthesize_export(model, codebook, n=40)


@pytest.fixture
def write_table(tmp_path: Path):
    def _write(table: pd.DataFrame, name: str = "export.csv", fmt: str = "csv-utf8") -> Path:
        path = tmp_path / name
        write_export(table, path, fmt)
        return path

    return _write


@pytest.fixture(scope="session")
def hs() -> pd.DataFrame:
    """The Holzinger-Swineford (1939) data (301 pupils, x1-x9, school), as semopy ships it.

    Shared by the CFA, invariance/SEM and ML-estimator tests. Tests must not modify it in
    place; derive a new frame (``hs.assign``, ``hs.drop``) instead.
    """
    return holzinger39.get_data()


@pytest.fixture(scope="session")
def bfi() -> pd.DataFrame:
    """psych's `bfi` items A1-O5 (2,800 x 25, skipped answers NaN; fixtures/bfi/README.md).

    Shared by the factorability/EFA and reliability tests. Tests must not modify it in place.
    """
    return pd.read_csv(BFI)
