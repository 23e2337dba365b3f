"""The paths the tests share: the checkout, its shipped inputs and the tests' data fixtures.

The one place that locates the repository from a file's own path; test modules import these
constants rather than computing `Path(__file__).parents[...]`, so that they can move.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
# the data fixtures (hand-made inputs, each folder with its own README or comments)
FIXTURES = TESTS / "fixtures"
# the corpus of malformed inputs, with the scripts that write it
BAD_INPUTS = TESTS / "bad_inputs"

CODEBOOK = ROOT / "config" / "codebook.yaml"
POPULATION = ROOT / "config" / "population_model.yaml"
DEFAULT_EXPORT = ROOT / "data" / "raw" / "haze_governance_survey.csv"
TEST_EXPORT = ROOT / ".test" / "data" / "raw" / "haze_governance_survey.csv"
BFI = FIXTURES / "bfi" / "bfi_items.csv"
