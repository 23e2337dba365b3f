"""The codebook is parsed by libyaml with the pure-Python parser as the fallback
(`codebook._parse_codebook_yaml`): on every codebook the project holds, good or broken, both
parsers must give the same values and key lines, or libyaml must refuse it."""

from __future__ import annotations

import pytest
import yaml

from hazegov.survey.codebook import _parse_codebook_yaml
from hazegov.yaml_bounds import YamlBoundError, compose_bounded
from tests.support.paths import BAD_INPUTS, CODEBOOK, FIXTURES, ROOT

CODEBOOKS = sorted(
    [
        CODEBOOK,
        *FIXTURES.rglob("codebook*.yaml"),
        *(BAD_INPUTS / "codebook").glob("*.yaml"),
    ]
)


def _lines(node: yaml.Node | None) -> list[tuple[str, int, int]]:
    """Every node's tag, line and column, depth first."""
    if node is None:
        return []
    out = [(node.tag, node.start_mark.line, node.start_mark.column)]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out += _lines(key) + _lines(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out += _lines(item)
    return out


def _pure_python(text: str):
    try:
        return compose_bounded(text, yaml.SafeLoader), yaml.safe_load(text)
    except (yaml.YAMLError, YamlBoundError) as exc:
        return type(exc).__name__


def test_the_codebooks_are_found() -> None:
    assert len(CODEBOOKS) > 20
    assert CODEBOOK in CODEBOOKS


@pytest.mark.parametrize("path", CODEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_libyaml_and_the_pure_python_parser_agree(path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = _pure_python(text)
    try:
        node, raw = _parse_codebook_yaml(text)
    except (yaml.YAMLError, YamlBoundError) as exc:
        assert expected == type(exc).__name__
        return
    assert not isinstance(expected, str), (
        f"accepted what the pure-Python parser refuses: {expected}"
    )
    assert raw == expected[1]
    assert _lines(node) == _lines(expected[0])
