"""YAML aliases are bounded: a small codebook or config cannot stand for a huge document."""

from __future__ import annotations

import pytest
import yaml

from hazegov.config_check import read_config_file
from hazegov.errors import InputError
from hazegov.survey.codebook import load_codebook
from hazegov.yaml_bounds import MAX_YAML_NODES, YamlBoundError, compose_bounded
from tests.support.paths import ROOT


def test_modest_aliases_are_read_as_written():
    text = "base: &b {seed: 1, items: [a, b]}\none: *b\ntwo: [*b, *b]\n"
    node = compose_bounded(text)
    assert isinstance(node, yaml.MappingNode)
    assert yaml.safe_load(text)["two"][1] == {"seed": 1, "items": ["a", "b"]}


def _ladder(levels: int) -> str:
    """Level k repeats level k - 1 ten times: it stands for about 10**k nodes."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_line_where_it_passes_the_bound():
    with pytest.raises(YamlBoundError) as caught:
        compose_bounded(_ladder(8), getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert caught.value.rule == "bounded-yaml-aliases"
    assert caught.value.line == 5  # l4 stands for 111,111 nodes, l3 for 11,111
    assert f"{MAX_YAML_NODES:,}" in str(caught.value)


def test_an_alias_into_its_own_node_is_refused():
    with pytest.raises(YamlBoundError, match="never ends") as caught:
        compose_bounded("a: 1\nloop: &x [1, [2, *x]]\n")
    assert caught.value.line == 2


def test_nesting_too_deep_for_the_composer_is_an_error_not_a_traceback():
    with pytest.raises(YamlBoundError) as caught:
        compose_bounded("[" * 5000 + "]" * 5000)
    assert caught.value.rule == "bounded-yaml-depth"


def test_codebook_and_config_report_the_bound_as_their_rule(tmp_path):
    bomb = _ladder(6)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(bomb + (ROOT / "config" / "codebook.yaml").read_text(encoding="utf-8"))
    config = tmp_path / "config.yaml"
    config.write_text(bomb, encoding="utf-8")
    for read in (lambda: load_codebook(codebook), lambda: read_config_file(config)):
        with pytest.raises(InputError, match=r"\[rule: bounded-yaml-aliases\]"):
            read()
