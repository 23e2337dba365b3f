"""The bad-input corpus: every malformed raw input stops its stage with a clear error.

Each case in tests/bad_inputs/*/cases.yaml names a file, the raw source it stands for and the
error it must produce. The case goes through `hazegov check`, the entry point that runs the
same package call as the Snakemake rule reading that source. A case passes when the command
exits non-zero, the message names the file, the rule (and the row or line and the column when
the case gives them), the stage left no output behind, and the input's bytes are unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from hazegov import cli
from hazegov.checks import SOURCES
from tests.support.paths import ROOT

CORPUS = ROOT / "tests" / "bad_inputs"
REQUIRED_CLASSES = {
    "questionnaire export",
    "codebook",
    "config",
    "policy register",
    "policy text",
    "air quality",
}


def _cases() -> list[dict[str, Any]]:
    cases = []
    for manifest in sorted(CORPUS.glob("*/cases.yaml")):
        for case in yaml.safe_load(manifest.read_text(encoding="utf-8")):
            case["dir"] = manifest.parent
            cases.append(case)
    return cases


CASES = _cases()


def _path(case: dict[str, Any], value: str) -> Path:
    """A path in a case: relative to the case's folder when it exists there, else the checkout."""
    local = case["dir"] / value
    return local if local.exists() or value.startswith("./") else ROOT / value


def _digests(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def test_the_corpus_is_large_and_covers_every_source():
    assert len(CASES) >= 30
    assert {c["class"] for c in CASES} >= REQUIRED_CLASSES
    ids = [f"{c['dir'].name}/{c['id']}" for c in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert case["source"] in SOURCES, case["id"]
        assert case["error"]["rule"], case["id"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['dir'].name}/{c['id']}")
def test_bad_input_is_refused_clearly_and_leaves_nothing(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    file = _path(case, case["file"])
    options = {k: str(v) for k, v in (case.get("options") or {}).items()}
    for key, value in options.items():
        if key in {"codebook", "export", "schema"}:
            options[key] = str(_path(case, value).relative_to(ROOT))
    inputs = [file, *(Path(v) for k, v in options.items() if k in {"codebook", "export"})]
    inputs += sorted(p for p in case["dir"].rglob("*") if p.is_file())
    before = _digests(inputs)
    out = tmp_path / "out"

    argv = ["check", case["source"], str(file.relative_to(ROOT)), "--out", str(out)]
    for key, value in options.items():
        argv += ["--option", f"{key}={value}"]
    status = cli.main(argv)
    message = capsys.readouterr().err

    assert status != 0, f"accepted: {message}"
    error = case["error"]
    names = error.get("file", str(file.relative_to(ROOT)))
    assert names in message, message
    assert f"[rule: {error['rule']}]" in message, message
    if "row" in error:
        assert f"row {error['row']}" in message or f"line {error['row']}" in message, message
    if "column" in error:
        assert f"column {error['column']!r}" in message, message
    for fragment in error.get("contains", []):
        assert fragment in message, message
    left = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert left == [], f"partial output left behind: {left}"
    assert _digests(inputs) == before
