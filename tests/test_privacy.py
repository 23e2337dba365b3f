from __future__ import annotations

import pytest

from hazegov.privacy import contains_identifier, id_card_check_digit_ok, redact


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
