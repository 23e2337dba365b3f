"""The Snakefile sets the schema's defaults with `fill_schema_defaults` instead of Snakemake's
`validate`: both must give the same configuration (Snakemake's function is the reference)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from hazegov.config_check import deep_merge, fill_schema_defaults
from tests.support.paths import FIXTURES, ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
STRAND_FILES = ("air_quality.yaml", "policies.yaml", "multiverse.yaml", "simulation.yaml")


def _merged(*files: Path) -> dict:
    merged: dict = {}
    for file in files:
        if file.is_file():
            deep_merge(merged, yaml.safe_load(file.read_text(encoding="utf-8")))
    return merged


def _defaulted_paths(schema: dict, prefix: tuple = ()) -> list[tuple]:
    """Every key path below an object property that declares a `default`."""
    found = []
    for name, sub in (schema.get("properties") or {}).items():
        path = (*prefix, name)
        if "default" in sub:
            found.append(path)
        found += _defaulted_paths(sub, path)
    return found


def _without(config: dict, paths: list[tuple]) -> dict:
    """`config` with every key at `paths` removed (where present)."""
    config = copy.deepcopy(config)
    for path in sorted(paths, key=len, reverse=True):
        node = config
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return config


def _configs() -> dict[str, dict]:
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    default = _merged(*(ROOT / "config" / f for f in ("config.yaml", *STRAND_FILES)))
    return {
        "default": default,
        "test": _merged(*(ROOT / ".test" / "config" / f for f in ("config.yaml", *STRAND_FILES))),
        "second questionnaire": _merged(FIXTURES / "second_questionnaire" / "config.yaml"),
        "default without any defaulted key": _without(default, _defaulted_paths(schema)),
    }


@pytest.mark.parametrize("name", list(_configs()))
def test_the_defaults_are_those_snakemake_validate_sets(name: str) -> None:
    config = _configs()[name]
    ours, snakemakes = copy.deepcopy(config), copy.deepcopy(config)
    fill_schema_defaults(ours, SCHEMA)
    validate(snakemakes, str(SCHEMA))
    assert ours == snakemakes


def test_a_config_without_defaulted_keys_gets_them_back() -> None:
    """The check above is not vacuous: removing the defaulted keys changes the config, and
    filling the defaults brings back the schema's values."""
    configs = _configs()
    bare = configs["default without any defaulted key"]
    assert bare != configs["default"]
    filled = copy.deepcopy(bare)
    fill_schema_defaults(filled, SCHEMA)
    assert filled["paper"]["formats"] == ["html", "pdf", "docx"]
    assert filled["strands"] == dict.fromkeys(
        ("air_quality", "policy", "multiverse", "simulation"), True
    )
    assert filled["survey"]["out_of_range"] == "missing"
