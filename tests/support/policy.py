"""The policy strand's test inputs: the fixture corpus and dictionaries, and their builders."""

from __future__ import annotations

import functools
import importlib.util
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hazegov.policy.coding import find_mentions
from hazegov.policy.lexicon import Lexicon, load_lexicon
from hazegov.policy.text import segmenter_for
from tests.support.paths import BAD_INPUTS, FIXTURES, ROOT

POLICY_FIXTURES = FIXTURES / "policy"
SHIPPED_DEPARTMENTS = ROOT / "config" / "departments.yaml"
SHIPPED_INSTRUMENTS = ROOT / "config" / "policy_instruments.yaml"
REGISTER = ROOT / "data" / "raw" / "policies" / "register.csv"


@functools.cache
def lexicon(which: str) -> Lexicon:
    """The test dictionaries ("fixture") or the shipped ones ("shipped"), loaded once."""
    if which == "fixture":
        return load_lexicon(
            POLICY_FIXTURES / "departments.yaml", POLICY_FIXTURES / "instruments.yaml"
        )
    return load_lexicon(SHIPPED_DEPARTMENTS, SHIPPED_INSTRUMENTS)


def matches(sentence: str, lexicon: Lexicon) -> list[tuple[str, str]]:
    joined, spans = segmenter_for(lexicon.jieba_words()).joined(sentence)
    return [(m.entry_id, m.term) for m in find_mentions(joined, spans, lexicon.keys)]


def image_pdf(path: Path) -> Path:
    """A 'scanned' PDF: one page holding only an image, no text layer."""
    fig = plt.figure(figsize=(2, 2))
    fig.figimage(np.random.default_rng(1).random((40, 40)))
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


def register_with_scan(tmp_path: Path) -> Path:
    """The fixture register with `doc_c.txt` swapped for a scan (a PDF without text)."""
    shutil.copytree(POLICY_FIXTURES / "texts", tmp_path / "texts")
    image_pdf(tmp_path / "texts" / "scan.pdf")
    rows = (
        (POLICY_FIXTURES / "register.csv")
        .read_text(encoding="utf-8")
        .replace("texts/doc_c.txt", "texts/scan.pdf")
    )
    register = tmp_path / "register.csv"
    register.write_text(rows, encoding="utf-8")
    return register


def corpus_script():
    """The corpus generator `tests/bad_inputs/make_policy_and_air_cases.py`, loaded as a module."""
    spec = importlib.util.spec_from_file_location(
        "make_policy_and_air_cases", BAD_INPUTS / "make_policy_and_air_cases.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
