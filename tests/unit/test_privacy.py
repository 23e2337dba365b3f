from __future__ import annotations

import re

import pytest

from hazegov.privacy.identifiers import (
    LOCALES,
    RULES,
    contains_identifier,
    export_label,
    find_identifiers,
    id_card_check_digit_ok,
    kinds,
    luhn_ok,
    normalise,
    quote_cell,
    redact,
)
from hazegov.survey.codebook import load_codebook
from tests.support.paths import CODEBOOK
from tests.support.privacy import PLANTED, PLANTED_IDS


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("有事请打13812345678。", "mobile_phone"),
        ("电话：+86 139-1234-5678", "mobile_phone"),
        ("办公室 010-65432109", "landline_phone"),
        ("邮箱 zhang.san@example.com", "email"),
        ("身份证11010519491231002X", "id_card"),
        ("来自 114.247.50.2 的提交", "ip_address"),
        ("加我微信：haze_fighter88", "wechat_id"),
        ("wxid_ab12cd34ef", "wechat_wxid"),
        ("我叫王小明，住在丰台", "personal_name"),
    ],
)
def test_each_kind_of_identifier_is_removed(text, kind):
    cleaned, found = redact(text)
    assert found[kind] == 1
    assert contains_identifier(cleaned) == []
    assert f"[{kind} removed]" in cleaned


@pytest.mark.parametrize(
    "text",
    ["2013年PM2.5年均浓度为89.5微克/立方米", "建议在2017年前下降25%", "第3条第2款", "1~5年"],
)
def test_statistics_and_dates_are_not_identifiers(text):
    assert redact(text) == (text, {})


def test_id_card_check_digit():
    assert id_card_check_digit_ok("11010519491231002X")
    assert not id_card_check_digit_ok("110105194912310021")
    # A mistyped ID number is still removed: it identifies a person just as well.
    assert redact("110105194912310021")[1]["id_card"] == 1


@pytest.mark.parametrize(("case", "text", "kind", "secret", "_"), PLANTED, ids=PLANTED_IDS)
def test_every_planted_kind_is_redacted(case, text, kind, secret, _):
    cleaned, found = redact(text)
    assert found[kind] >= 1, (case, cleaned, found)
    assert secret not in cleaned
    assert f"[{kind} removed]" in cleaned
    # nothing that the scan's patterns would still find is left behind
    assert find_identifiers(cleaned) == []


def test_the_planted_table_covers_every_kind_of_the_issue():
    assert len(PLANTED) >= 30
    assert {kind for _, _, kind, _, _ in PLANTED} >= {
        "mobile_phone", "landline_phone", "id_card", "passport", "licence_plate", "address",
        "qq", "email", "personal_name", "wechat_id", "ip_address", "bank_card", "phone_number",
        "national_id",
    }  # fmt: skip


def test_redaction_replaces_the_original_characters_and_keeps_the_rest():
    text = "请打１３８ １２３４ ５６７８，或写信给ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ。谢谢！"
    cleaned, found = redact(text)
    assert cleaned == "请打[mobile_phone removed]，或写信给[email removed]。谢谢！"
    assert found == {"mobile_phone": 1, "email": 1}


def test_normalisation_maps_back_onto_the_original():
    text = "号码：１３８-１２３４ ５６７８ 完"
    norm = normalise(text)
    assert norm.text == "号码:13812345678 完"
    start = norm.text.index("138")
    assert norm.original_span(start, start + 11) == (3, 16)
    assert text[3:16] == "１３８-１２３４ ５６７８"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("２０１６年", "2016年"),
        ("PM2.5 为 89.5", "PM2.5 为 89.5"),  # decimals are not joined
        ("2016-03-07 09:05:01", "2016-03-07 09:05:01"),  # nor dates and times
        ("2013-2017年", "2013-2017年"),  # nor year ranges
        ("114.247.50.2", "114.247.50.2"),  # nor IPv4 addresses
        ("一体化统筹", "一体化统筹"),  # numerals only in digit runs
        ("a\u3000\u3000b", "a b"),
    ],
)
def test_normalisation_leaves_numbers_that_are_no_identifiers_alone(text, expected):
    assert normalise(text).text == expected


def test_locales_are_selected_by_name():
    plate = "车牌京A12345"
    assert redact(plate, locales=("international",)) == (plate, {})
    assert redact(plate, locales=("CN",))[1] == {"licence_plate": 1}
    south_african = "+27 82 123 4567"
    assert redact(south_african, locales=("international",))[1] == {"phone_number": 1}
    # the default uses every locale, and the old one-argument call still works
    assert redact(south_african)[1] == {"phone_number": 1}
    with pytest.raises(KeyError, match="unknown locale"):
        redact("x", locales=("XX",))


def test_the_registry_documents_every_rule():
    assert set(LOCALES) == {"CN", "international"}
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert rule.description and rule.kind and rule.locales <= set(LOCALES)
    assert kinds(("CN",)) != kinds(("international",))
    assert {"email", "ip_address", "bank_card"} <= set(kinds(("CN",))) & set(
        kinds(("international",))
    )


def test_redaction_is_deterministic():
    texts = [case[1] for case in PLANTED]
    first = [redact(t) for t in texts]
    assert [redact(t) for t in reversed(texts)] == list(reversed(first))


def _codebook_chinese_texts() -> list[str]:
    cb = load_codebook(CODEBOOK)
    texts = [cb.title_zh, cb.intro_zh]
    for var in cb.variables:
        texts.append(var.text_zh)
        texts += [o.zh for o in var.options]
    return [t for t in texts if t]


def test_ordinary_chinese_sentences_are_not_redacted():
    sentences = [
        *_codebook_chinese_texts(),
        "多开展雾霾健康防护的宣传教育。",
        "加强京津冀区域联防联控。",
        "希望政府加强对工地扬尘的监管。",
        "社区可以设立环境网格员，发现问题及时上报。",
        "建议机动车单双号限行，高考期间除外。",
        "我是社区居民，希望空气变好。",
        "我是高级工程师，建议加大执法力度。",
        "本人认为应当把空气质量纳入干部考核。",
        "2013年PM2.5年均浓度为89.5微克/立方米，2013-2017年下降了35%。",
        "执行GB 3095-2012标准。",
    ]
    for sentence in sentences:
        assert redact(sentence) == (sentence, {}), sentence


def test_luhn():
    assert luhn_ok("8001015009087")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert not luhn_ok("")


# --- how outputs and messages name the export and quote a cell --------------------------------


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("data/raw/haze_governance_survey.csv", "data/raw/haze_governance_survey.csv"),
        ("data/raw/王小明_问卷导出.csv", "<export>"),
        ("data/raw/13812345678.csv", "<export>"),
        ("/somewhere/else/survey.csv", "survey.csv"),
    ],
)
def test_the_export_is_named_relative_to_the_project_or_not_at_all(path, label, tmp_path):
    assert export_label(path, root=tmp_path) == label


def test_an_absolute_export_path_inside_the_project_is_made_relative(tmp_path):
    inside = tmp_path / "data" / "raw" / "survey.csv"
    assert export_label(inside, root=tmp_path) == "data/raw/survey.csv"
    assert export_label(tmp_path / "王小明" / "survey.csv", root=tmp_path) == "<export>"


@pytest.mark.parametrize(
    ("cell", "quoted"),
    [
        ("网格员", "网格员"),
        ("其他〖王小明 13812345678〗", "其他〖*…(19 characters)"),
        ("电话13812345678", "电话**…(13 characters)"),
        ("一个很长的建议但没有标识", "一个很长…(12 characters)"),
    ],
)
def test_a_free_text_cell_is_quoted_by_its_first_characters_masked(cell, quoted):
    assert quote_cell(cell) == quoted


def test_tracebacks_in_a_rule_log_name_files_relative_to_the_project(tmp_path, monkeypatch):
    import logging
    import sys

    from hazegov.logs import RelativePathFormatter

    monkeypatch.chdir(tmp_path)
    message = f'File "{tmp_path}/src/hazegov/survey/ingest.py", line 1; {sys.prefix}/lib/x.py'
    record = logging.LogRecord("hazegov", logging.ERROR, "f", 1, message, None, None)
    text = RelativePathFormatter("%(message)s").format(record)
    assert text == 'File "src/hazegov/survey/ingest.py", line 1; <python>/lib/x.py'


def _texts_near_every_rule() -> list[str]:
    """The planted identifiers and their neighbours: cut, joined and in a long table."""
    import random

    rng = random.Random(12)
    texts = [text for _, text, *_ in PLANTED]
    texts += [a + b for a in texts for b in texts[::7]]
    texts += [t[k:] for t in texts[: len(PLANTED)] for k in range(1, len(t))]
    pieces = [*"号弄巷栋幢座楼区单室房路街小区花园·@qQ扣企鹅xid_0123456789 -", "wxid_", "QQ"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(5000)]
    return [normalise(t).text for t in texts]


def test_a_rule_searches_only_texts_holding_what_each_of_its_matches_holds():
    """A rule with `needs` skips a text without it: sound only if every whole match holds it."""
    with_needs = [r for r in RULES if getattr(r.find, "needs", None) is not None]
    assert {r.name for r in with_needs} >= {"address/cn", "email/written", "qq/cue"}
    texts = _texts_near_every_rule()
    for rule in with_needs:
        matched = 0
        for text in texts:
            for match in rule.find.pattern.finditer(text):
                assert rule.find.needs.search(match.group()), (rule.name, match.group())
                matched += 1
        assert matched, rule.name


def _texts_of_numbers_and_spaces() -> list[str]:
    import random

    rng = random.Random(5)
    pieces = [
        *"0123456789" * 3,
        *" -.·()（）_:/\n\t\r\u3000\u00a0\u2028\x0b",
        *"一二三四五六七八九零幺壹〇１２３４５６７８９０①²XxGBHJ#@T－—・ａＺ",
        *(
            "http://",
            "https://a.cn/",
            "ftp://",
            "www.",
            "10.1234/",
            "2016-03-07",
            "2016/3/7 9:05:01",
        ),
        *("09:05", "GB 3095-2012", "HJ 633-2012", "ISO 9001-2015", "2013-2017", "0.5", "+86"),
        *("61.135.17.200", "138", "1234 5678", "  \n  ", "\n\n", "电话", "路88号"),
    ]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))) for _ in range(6000)]
    return texts + [text for _, text, *_ in PLANTED]


def test_normalising_without_tracking_gives_the_tracked_text():
    """`normalised_text` takes shortcuts (white space in two passes, no numeral pass without a
    Chinese numeral); the text is the one `normalise` builds character by character."""
    from hazegov.privacy.identifiers import normalised_text

    texts = _texts_of_numbers_and_spaces()
    assert [normalised_text(t) for t in texts] == [normalise(t).text for t in texts]


def test_numbers_kept_whole_are_tried_only_where_one_may_start():
    """Every date, time, address, decimal or standard starts with a character of
    `_ATOMIC_FIRST`, so the mask is the one of the parts tried everywhere."""
    import re

    from hazegov.privacy import identifiers

    first = re.compile(identifiers._ATOMIC_FIRST)
    everywhere = re.compile("|".join(identifiers._ATOMIC_PARTS))
    texts = _texts_of_numbers_and_spaces()
    for part in identifiers._ATOMIC_PARTS:
        starts = [m.group()[0] for t in texts for m in re.finditer(part, t)]
        assert starts and all(first.match(c) for c in starts), part
    for text in texts:
        assert identifiers._ATOMIC.sub("#", text) == everywhere.sub("#", text)


@pytest.mark.parametrize(
    ("pattern", "first", "flags"),
    [
        ("_IPV4", "_IPV4_FIRST", 0),
        ("_WECHAT", "_WECHAT_FIRST", re.I),
        ("_LATIN_NAME_CUE", "_LATIN_NAME_CUE_FIRST", 0),
    ],
)
def test_a_pattern_tried_only_at_its_first_characters_finds_the_same(pattern, first, flags):
    import random

    from hazegov.privacy import identifiers

    pattern, first = getattr(identifiers, pattern), getattr(identifiers, first)
    rng = random.Random(11)
    pieces = [
        *(
            "61.135.17.200",
            "255.255.0.1",
            "1.2.3",
            "微信：",
            "微 信号 ",
            "V信 ",
            "WeChat ",
            "wx号:",
        ),
        *("vx ", "Weixin: ", "威信", "卫星号", "My name is ", "FULL NAME: ", "contact person: "),
        *("姓 名：", "联系人", "bj_haze12", "Zhang San", "a", "9", ".", " ", "-", "_", "\n", "是"),
    ]
    texts = [text for _, text, *_ in PLANTED]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(4000)]
    plain = re.compile(pattern, flags)
    tried = re.compile(identifiers._tried_at(first, pattern), flags)
    starts = re.compile(first, flags)
    found = 0
    for text in texts:
        spans = [m.span() for m in plain.finditer(text)]
        assert all(starts.match(text, start) for start, _ in spans), text
        assert [m.span() for m in tried.finditer(text)] == spans
        found += len(spans)
    assert found > 100
