from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hazegov.codebook import load_codebook
from hazegov.errors import CodebookError

from .conftest import CODEBOOK


def _mutated(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _question(raw: dict, construct: str) -> dict:
    return next(q for q in raw["questions"] if q.get("construct") == construct)


def test_codebook_describes_the_study_instrument(codebook):
    groups = codebook.respondent_group.options
    assert len(groups) == 8
    assert {g.sector for g in groups} == {s.id for s in codebook.sectors}
    assert [c.id for c in codebook.constructs] == ["LEAD", "RESP", "EVAL", "PART", "EFF", "GRID"]
    for construct in codebook.constructs:
        items = [codebook.variable(i) for i in construct.items]
        assert 3 <= len(items) <= 5
        assert any(item.reverse for item in items)
        for item in items:
            assert item.valid_range == (1, 5)
            assert item.text_zh and item.text_en and item.header
            assert all(o.zh and o.en for o in item.options)
    assert {v.name for v in codebook.demographics} == {
        "gender",
        "age_band",
        "education",
        "years_in_post",
        "role",
    }
    assert len(codebook.attention_checks) == 1
    assert codebook.variable("satisfaction").kind == "rating"
    assert {v.name for v in codebook.free_text} == {"suggestions", "role_other"}
    assert {v.name for v in codebook.direct_identifiers} == {"source_ip", "source_detail"}


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda raw: raw["questions"][1].__setitem__("reverse", True), "reverse-item-in-scale"),
        (lambda raw: _question(raw, "LEAD")["items"].__delitem__(slice(1, 4)), "items-per-scale"),
        (
            lambda raw: [i.pop("reverse", None) for i in _question(raw, "EFF")["items"]],
            "reverse-item-per-scale",
        ),
        (
            lambda raw: _question(raw, "RESP")["items"][0].__setitem__(
                "header", _question(raw, "LEAD")["items"][0]["header"]
            ),
            "unique-header",
        ),
        (lambda raw: _question(raw, "GRID")["items"][0]["text"].pop("en"), "bilingual-text"),
        (
            lambda raw: raw["questions"][0]["options"][0].__setitem__("sector", "ministry"),
            "group-has-sector",
        ),
        (
            lambda raw: _question(raw, "PART")["items"][3].__setitem__("expected_code", 9),
            "attention-check-expected",
        ),
        (lambda raw: _question(raw, "EVAL").__setitem__("scale", "agree7"), "known-scale"),
    ],
    ids=[
        "reverse-outside-scale",
        "too-few-items",
        "no-reverse-item",
        "duplicate-header",
        "missing-english",
        "unknown-sector",
        "bad-attention-code",
        "unknown-scale",
    ],
)
def test_inconsistent_codebook_is_refused_naming_the_rule(tmp_path, mutate, rule):
    path = _mutated(tmp_path, mutate)
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert any(v.rule == rule for v in info.value.violations), str(info.value)
    assert str(path) in str(info.value)


def test_unreadable_codebook_names_the_file(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_text("questions: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="valid-yaml"):
        load_codebook(path)
    with pytest.raises(CodebookError, match="file-exists"):
        load_codebook(tmp_path / "absent.yaml")
