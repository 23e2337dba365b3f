from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from hazegov.cli import main
from tests.support.paths import DEFAULT_EXPORT, ROOT

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
CONFIG_FILES = (
    "config.yaml",
    "air_quality.yaml",
    "policies.yaml",
    "multiverse.yaml",
    "simulation.yaml",
)


def _config(folder):
    """The configuration as the Snakefile loads it: its config files merged in order."""
    merged = {}
    for name in CONFIG_FILES:
        merged |= yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    return merged


CONFIG = _config(ROOT / "config")


def test_default_and_test_configs_satisfy_the_schema():
    validate(copy.deepcopy(CONFIG), SCHEMA)
    validate(_config(ROOT / ".test" / "config"), SCHEMA)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("exclusions", "min_duration", "seconds"), "two minutes"),
        (("exclusions", "min_duration", "seconds"), -5),
        (("exclusions", "straight_lining", "min_modal_share"), 1.5),
        (("survey", "encoding"), "latin-1"),
        (("survey", "out_of_range"), "ignore"),
        (("paper", "formats"), ["html", "epub"]),
        (("exclusions", "duplicates", "enabled"), "yes"),
        (("privacy", "identifier_locales"), ["CN", "ZA"]),
        (("privacy", "identifier_locales"), []),
    ],
)
def test_config_values_of_wrong_type_or_range_are_refused(path, value):
    config = copy.deepcopy(CONFIG)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(WorkflowError, match=path[-1]):
        validate(config, SCHEMA)


def test_check_export_command(tmp_path, capsys):
    assert (
        main(
            ["check-export", str(DEFAULT_EXPORT), "--codebook", str(ROOT / "config/codebook.yaml")]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "236 rows" in printed
    # the answers read as missing are counted, not passed over (issue 14)
    assert "cells set to missing: 385 (out_of_range 3, skipped 84, unanswered 298)" in printed
    assert "\n  years_in_post: skipped 42\n" in printed
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    assert main(["check-export", str(bad), "--codebook", str(ROOT / "config/codebook.yaml")]) == 2
    assert "non-empty-file" in capsys.readouterr().err


STRAND_SECTIONS = {
    "air_quality": "air_quality",
    "policy": "policies",
    "multiverse": "multiverse",
    "simulation": "simulation",
}


@pytest.mark.parametrize("strand", sorted(STRAND_SECTIONS))
def test_a_strand_switched_off_needs_no_settings_but_one_on_does(strand):
    """Issue 14: another questionnaire builds with only its config.yaml; the schema asks for
    a strand's section (its config file) only while the strand is on."""
    section = STRAND_SECTIONS[strand]
    config = copy.deepcopy(CONFIG)
    del config[section]
    config["strands"][strand] = False
    validate(config, SCHEMA)
    config["strands"][strand] = True
    with pytest.raises(WorkflowError, match=f"'{section}' is a required property"):
        validate(config, SCHEMA)
    # a config without a strands key has every strand on
    del config["strands"]
    with pytest.raises(WorkflowError, match=f"'{section}' is a required property"):
        validate(config, SCHEMA)


def test_the_second_questionnaires_config_alone_satisfies_the_schema():
    config = yaml.safe_load(
        (ROOT / "tests/fixtures/second_questionnaire/config.yaml").read_text(encoding="utf-8")
    )
    validate(config, SCHEMA)
    assert not set(STRAND_SECTIONS.values()) & set(config)
