"""Removing direct identifiers, also from inside free text, before anything is written."""

from __future__ import annotations

import re
from collections import Counter

# Order matters: longer digit runs (ID cards) are matched before phone numbers.
_ID_CARD_18 = re.compile(
    r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
)
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)")
_WECHAT = re.compile(
    r"(?:微信号?|wechat|weixin|vx|wx)\s*[:：]?\s*[A-Za-z][-_A-Za-z0-9]{5,19}", re.I
)
_WXID = re.compile(r"\bwxid_[A-Za-z0-9]{6,}\b")
_NAME_LEAD = re.compile(r"(?:我叫|我的名字是|姓名[:：]?|联系人[:：]?)\s*[\u4e00-\u9fff]{2,4}")

PATTERNS: dict[str, re.Pattern[str]] = {
    "id_card": _ID_CARD_18,
    "email": _EMAIL,
    "ip_address": _IPV4,
    "wechat_wxid": _WXID,
    "wechat_id": _WECHAT,
    "mobile_phone": _MOBILE,
    "landline_phone": _LANDLINE,
    "personal_name": _NAME_LEAD,
}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_card_check_digit_ok(number: str) -> bool:
    """Whether an 18-digit resident ID number carries its GB 11643-1999 check digit."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_card_check_digit(number[:17]) == number[17].upper()


def redact(text: str) -> tuple[str, Counter[str]]:
    """Replace every direct identifier in `text` by a typed placeholder; count what was removed.

    Any 18-digit run shaped like an ID number is removed whether or not its check digit is valid:
    a mistyped ID number identifies a person just as well.
    """
    found: Counter[str] = Counter()
    for kind, pattern in PATTERNS.items():

        def _sub(match: re.Match[str], kind: str = kind) -> str:
            found[kind] += 1
            return f"[{kind} removed]"

        text = pattern.sub(_sub, text)
    return text, found


def contains_identifier(text: str) -> list[str]:
    """Kinds of direct identifier present in `text` (used to scan outputs)."""
    return [kind for kind, pattern in PATTERNS.items() if pattern.search(text)]
