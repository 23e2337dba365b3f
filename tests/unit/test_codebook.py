from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hazegov.errors import CodebookError
from hazegov.survey.codebook import load_codebook
from tests.support.other_instrument import other_codebook
from tests.support.paths import CODEBOOK


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


def test_default_codebook_has_reverse_items_in_every_scale_and_a_satisfaction_rating(codebook):
    assert codebook.scales_without_reverse_items == ()
    assert codebook.overall_rating.name == "satisfaction"
    assert codebook.reverse_items("LEAD") == ("LEAD4",)
    assert {codebook.score_range(c.id) for c in codebook.constructs} == {(1, 5)}


def test_another_instruments_codebook_is_accepted(tmp_path):
    # issue 14: a 2-item scale, a 7-point scale, scales without reverse items, controls and the
    # rating under other names must not need code changes
    cb = other_codebook(tmp_path)
    assert cb.construct("GRID").items == ("GRID1", "GRID2")
    assert cb.scales_without_reverse_items == ("EFF", "GRID")
    assert cb.reverse_items("PART") == ("PART4",)
    assert [cb.variable(i).valid_range for i in cb.construct("PART").items] == [(1, 7)] * 4
    assert cb.score_range("PART") == (1, 7) and cb.score_range("LEAD") == (1, 5)
    assert cb.overall_rating.name == "overall_rating"
    assert cb.overall_rating.kind == "rating"
    assert {"sex", "schooling", "tenure"} <= {v.name for v in cb.demographics}
    assert cb.variable("tenure").skipped_for_groups == ("community_residents",)


def test_a_scale_mixing_answer_ranges_has_no_one_score_range(tmp_path):
    def mix(raw):
        raw["questions"].insert(
            7,
            {
                "number": 99,
                "type": "likert_matrix",
                "construct": "LEAD",
                "scale": "satisfied5",
                "text": {"zh": "附加", "en": "Extra"},
                "items": [
                    {"name": "LEAD5", "header": "99(附加)", "text": {"zh": "附加", "en": "Extra"}}
                ],
            },
        )
        raw["response_scales"]["satisfied5"]["options"].append(
            {"code": 6, "zh": "极其满意", "en": "Extremely satisfied"}
        )

    cb = load_codebook(_mutated(tmp_path, mix))
    assert cb.construct("LEAD").items[-1] == "LEAD5"
    assert cb.score_range("LEAD") is None


def test_unreadable_codebook_names_the_file(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_text("questions: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="valid-yaml"):
        load_codebook(path)
    with pytest.raises(CodebookError, match="file-exists"):
        load_codebook(tmp_path / "absent.yaml")


def _edited(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    """The codebook with one text edit; lines keep the numbers of config/codebook.yaml."""
    text = CODEBOOK.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "codebook.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path, text


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "rule", "column", "at"),
    [
        (
            "        header: 9(雾霾治理考核结果与问责挂钩)\n",
            "",
            "required-key",
            "questions.8.items.2.header",
            "      - name: EVAL3\n",
        ),
        ("    name: satisfaction\n", "", "required-key", "questions.12.name", "  - number: 13\n"),
        (
            "    header: 所用时间\n",
            "",
            "required-key",
            "platform_columns.2.header",
            "  - name: duration_s\n",
        ),
        ("  - id: EFF\n", "  - idx: EFF\n", "required-key", "constructs.4.id", "  - id: EFF\n"),
        (
            "      - name: RESP2\n",
            "      - name: RESP1\n",
            "unique-name",
            "questions.7.items.1.name",
            "      - name: RESP2\n",
        ),
        (
            "      - name: PART4\n        reverse: true\n",
            '      - name: PART4\n        reverse: "yes"\n',
            "boolean-flag",
            "questions.9.items.4.reverse",
            "      - name: PART4\n        reverse: true\n",
        ),
        (
            "        header: 8(部门之间在雾霾治理中能够有效协调)\n",
            "        header: 8(部门之间在雾霾治理中能够有效协调)\n        header: 8(另一个标题)\n",
            "unique-key",
            "questions.7.items.2.header",
            "        header: 8(部门之间在雾霾治理中能够有效协调)\n",
        ),
        (
            "      - {code: 4, zh: 硕士研究生, en: Master's degree}\n",
            "      - {code: 3, zh: 硕士研究生, en: Master's degree}\n",
            "unique-option-code",
            "questions.3.options.3.code",
            "      - {code: 4, zh: 硕士研究生",
        ),
        (
            '               en: "The market, social organisations and citizens should be brought',
            "               en: The market, social organisations and citizens should be brought",
            "bilingual-text",
            "questions.11.items.2.text",
            "        text: {zh: 应将市场、社会组织和公民纳入网格化治理,\n",
        ),
    ],
    ids=[
        "item-without-header",
        "question-without-name",
        "platform-column-without-header",
        "construct-without-id",
        "duplicate-name",
        "reverse-as-text",
        "key-twice",
        "duplicate-code",
        "text-cut-at-a-comma",
    ],
)
def test_codebook_errors_name_the_line_and_key(tmp_path, old, new, rule, column, at):
    path, original = _edited(tmp_path, old, new)
    with pytest.raises(CodebookError) as info:  # never a KeyError or TypeError
        load_codebook(path)
    matches = [v for v in info.value.violations if v.rule == rule]
    assert matches, str(info.value)
    line = _line_of(original, at) + (1 if rule in {"unique-key", "boolean-flag"} else 0)
    assert (matches[0].column, matches[0].row, matches[0].row_kind) == (column, line, "line")
    assert "counts list entries from 0" in str(info.value)


def test_empty_and_broken_codebooks_are_named(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CodebookError, match="non-empty-file"):
        load_codebook(empty)
    empty.write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="only comments"):
        load_codebook(empty)
    path, original = _edited(
        tmp_path, "{code: 2, zh: 女, en: Female}", "{code: 2, zh: 女, en: Female"
    )
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    (v,) = info.value.violations
    assert v.rule == "valid-yaml" and v.row == _line_of(original, "{code: 2, zh: 女") + 1
    assert f"starts on line {v.row - 1}" in v.message
