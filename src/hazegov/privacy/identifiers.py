"""Removing direct identifiers from inside free text: the second line of defence.

Free text is quarantined by the ingest (it reaches one restricted file only); what it holds is
still redacted here, so that a copy that escapes carries placeholders rather than identifiers.
Matching works on a normalised view of the text (`normalise`): NFKC (full-width letters, digits
and signs to ASCII), dashes and middle dots unified, runs of Chinese numerals read as digits,
white space collapsed, and separators inside digit runs dropped (138 1234-5678, 138.1234.5678,
(010)6512-3456). Every match is mapped back onto the original text, so `redact` replaces the
original characters and leaves everything else as it was written.

The rules are kept in a registry by locale (`LOCALES`, built from `RULES`): ``"CN"`` for
Chinese identifiers (resident ID numbers, mobile and landline numbers, QQ, WeChat, licence
plates, addresses, names) and ``"international"`` for E.164 telephone numbers, 13-digit national
ID numbers, passports and names after an English cue. E-mail and IP addresses, bank cards,
names after an English cue and long digit runs are in both. Person names are found by cue words
and by jieba's part-of-speech tagger (tags ``nr``, ``nrfg``, ``nrt``), so a name written without
a cue is still removed where jieba tags it; this over-redacts some ordinary words (see
`redact`). Everything is deterministic: fixed rule order, a private jieba tokenizer.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LOCALES",
    "EXPORT_PLACEHOLDER",
    "LOCALES",
    "RULES",
    "Match",
    "Normalised",
    "Rule",
    "contains_identifier",
    "digit_runs",
    "export_label",
    "find_identifiers",
    "find_in_normalised",
    "id_card_check_digit",
    "id_card_check_digit_ok",
    "kinds",
    "luhn_ok",
    "normalise",
    "normalised_text",
    "quote_cell",
    "redact",
    "rules_for",
]

DEFAULT_LOCALES: tuple[str, ...] = ("CN", "international")

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U000323af"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_MIDDLE_DOTS = "\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65\u0387\u16eb\u2e31"
_TRANSLATE = str.maketrans(
    {**{c: "-" for c in _DASHES}, **{c: "·" for c in _MIDDLE_DOTS}, "\ufe6b": "@"}
)
# Characters NFKC could change: everything outside ASCII and the CJK unified block (which is
# NFKC-stable), one at a time so that each keeps its place in the original text.
_NON_STABLE = re.compile(r"[^\x00-\x7f\u4e00-\u9fff]")
_CN_DIGITS = "〇一二三四五六七八九零壹贰叁肆伍陆柒捌玖幺"
_CN_DIGIT_VALUE = dict(zip(_CN_DIGITS, "01234567890123456789" + "1", strict=True))
_NUMERAL = f"[{_CN_DIGITS}0-9]"
# Five or more digits with Chinese numerals among them, possibly spaced: 一三八 一二三四 五六七八
_NUMERAL_RUN = re.compile(rf"{_NUMERAL}(?:[ \-.·]{{0,2}}{_NUMERAL}){{4,}}")
_HAS_CN_DIGIT = re.compile(f"[{_CN_DIGITS}]")
_SPACE_RUN = re.compile(r"\s+")
# Without tracking: runs of white space that hold a newline, then the others.
_NEWLINE_SPACE_RUN = re.compile(r"[^\S\n]*\n\s*")
_OTHER_SPACE_RUN = re.compile(r"[^\S\n]+")
# Numbers that are not a person's digits and must not be joined with their neighbours.
_DATE = (
    r"(?<!\d)(?:19|20)\d{2}(?P<ds>[-/.])(?:0?[1-9]|1[0-2])(?P=ds)(?:0?[1-9]|[12]\d|3[01])"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_TIME = r"(?<!\d)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?!\d)"
_IPV4_TEXT = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
_DECIMAL = r"(?<![\d.])\d+\.\d+(?![\d.])"
# Year ranges (2013-2017) and standards with their year (GB 3095-2012, HJ 633-2012).
_YEAR_RANGE = r"(?<!\d)(?:19|20)\d{2}-(?:19|20)\d{2}(?!\d)"
_STANDARD = (
    r"(?<![A-Za-z])(?:GB|GBZ|HJ|DB|JJG|QB|ISO)(?:/T)? ?\d{1,5}(?:\.\d+)?-(?:19|20)\d{2}(?!\d)"
)
# Web addresses and DOIs: their digits are page and document numbers (free text is checked for
# web addresses by a rule of their own).
_URL = r"(?:https?|ftp)://[^\s<>\"'）)\]]+|www\.[^\s<>\"'）)\]]+|(?<!\d)10\.\d{4,9}/[^\s<>\"'}]+"
_ATOMIC_PARTS = (_URL, _DATE, _TIME, _IPV4_TEXT, _DECIMAL, _YEAR_RANGE, _STANDARD)
# Each part starts with a digit or the first letter of https, ftp, www, GB, HJ, DB, JJG, QB or
# ISO: the parts are tried only where one stands, which finds the same three to four times
# faster in tables of numbers.
_ATOMIC_FIRST = r"[\dhfwGHDJQI]"
_ATOMIC = re.compile(f"(?={_ATOMIC_FIRST})(?:{'|'.join(_ATOMIC_PARTS)})")
# Digit groups joined by up to three separators: spaces, hyphens, dots, parentheses, middle
# dots, underscores. A leading "(" is part of the run when it closes after the first group. Digits
# glued to a Latin letter (IPv6, H7N9, PM10) start no run.
_SEPARATOR = r"[ \-.·()（）_]"
_JOINED_RUN = re.compile(rf"(?<![A-Za-z\d])(?:[(（](?=\d+[)）]))?\d+(?:{_SEPARATOR}{{1,3}}\d+)+")


@dataclass(frozen=True)
class Normalised:
    """Text as the rules see it, and where each of its characters came from.

    Attributes
    ----------
    text : str
        The normalised text.
    starts, ends : tuple of int
        For character ``i`` of `text`, the span ``original[starts[i]:ends[i]]`` it stands for.
    """

    text: str
    starts: tuple[int, ...] = field(repr=False)
    ends: tuple[int, ...] = field(repr=False)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Span of the original text that normalised characters ``start:end`` come from."""
        return self.starts[start], self.ends[end - 1]


def _rewrite(
    text: str,
    starts: list[int] | None,
    ends: list[int] | None,
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], tuple[str, list[int] | None]],
) -> tuple[str, list[int] | None, list[int] | None]:
    """Apply `replace` to every match of `pattern`, carrying the origin of each character.

    `replace` gives the new text and, for each of its characters, the offset in the match it
    comes from (None: every new character stands for the whole match).
    """
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    at = 0
    for match in pattern.finditer(text):
        new, sources = replace(match)
        if new == match.group():
            continue
        pieces.append(text[at : match.start()])
        pieces.append(new)
        if starts is not None and ends is not None:
            new_starts += starts[at : match.start()]
            new_ends += ends[at : match.start()]
            if sources is None:
                first, last = starts[match.start()], ends[match.end() - 1]
                new_starts += [first] * len(new)
                new_ends += [last] * len(new)
            else:
                new_starts += [starts[match.start() + k] for k in sources]
                new_ends += [ends[match.start() + k] for k in sources]
        at = match.end()
    if not pieces:
        return text, starts, ends
    pieces.append(text[at:])
    if starts is not None and ends is not None:
        new_starts += starts[at:]
        new_ends += ends[at:]
        return "".join(pieces), new_starts, new_ends
    return "".join(pieces), None, None


def _nfkc(match: re.Match[str]) -> tuple[str, None]:
    return unicodedata.normalize("NFKC", match.group()).translate(_TRANSLATE), None


def _numerals(match: re.Match[str]) -> tuple[str, list[int]]:
    run = match.group()
    return "".join(_CN_DIGIT_VALUE.get(c, c) for c in run), list(range(len(run)))


def _space(match: re.Match[str]) -> tuple[str, None]:
    return ("\n" if "\n" in match.group() else " "), None


def _mask_atomic(text: str) -> str:
    """`text` with dates, times, IPv4 addresses and decimal numbers blanked out (same length)."""
    return _ATOMIC.sub(lambda m: "#" * len(m.group()), text)


def _join_digits(text: str, starts: list[int] | None, ends: list[int] | None) -> tuple:
    masked = _mask_atomic(text)
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    at = 0
    for match in _JOINED_RUN.finditer(masked):
        s, e = match.span()
        pieces.append(text[at:s])
        keep = [k for k in range(s, e) if text[k].isdigit()]
        pieces.append("".join(text[k] for k in keep))
        if starts is not None and ends is not None:
            # the first digit stands for a leading "(" too
            new_starts += starts[at:s] + [starts[s]] + [starts[k] for k in keep[1:]]
            new_ends += ends[at:s] + [ends[k] for k in keep]
        at = e
    if not pieces:
        return text, starts, ends
    pieces.append(text[at:])
    if starts is not None and ends is not None:
        return "".join(pieces), new_starts + starts[at:], new_ends + ends[at:]
    return "".join(pieces), None, None


def _normalise(text: str, track: bool) -> tuple[str, list[int] | None, list[int] | None]:
    starts: list[int] | None = list(range(len(text))) if track else None
    ends: list[int] | None = list(range(1, len(text) + 1)) if track else None
    text, starts, ends = _rewrite(text, starts, ends, _NON_STABLE, _nfkc)
    if _HAS_CN_DIGIT.search(text):  # a run without a Chinese numeral stays as it is
        text, starts, ends = _rewrite(
            text, starts, ends, _NUMERAL_RUN, lambda m: _numerals(m) if _has_cn(m) else (m[0], None)
        )
    if track:
        text, starts, ends = _rewrite(text, starts, ends, _SPACE_RUN, _space)
    else:
        # the same text: each run of white space to a newline if it holds one, else a space
        text = _OTHER_SPACE_RUN.sub(" ", _NEWLINE_SPACE_RUN.sub("\n", text))
    return _join_digits(text, starts, ends)


def _has_cn(match: re.Match[str]) -> bool:
    return any(c in _CN_DIGIT_VALUE for c in match.group())


def normalise(text: str) -> Normalised:
    """The text the rules match, with the original span of each character.

    Steps, in order: NFKC one character at a time (full-width digits, letters, ``＠`` and
    spaces to ASCII; ideographic space to a space), dashes to ``-`` and middle dots to ``·``;
    runs of five or more digits that include Chinese numerals (〇一二…九, 零壹贰…玖, 幺) to
    ASCII digits; every run of white space to one space (one newline if it held a newline);
    separators (space, ``-``, ``.``, ``·``, parentheses, ``_``; at most three in a row) inside
    a run of digit groups dropped; digits glued to a Latin letter (IPv6, PM10) start no run.
    Dates and times (2016-03-07, 2016/3/7 9:05:01, 09:05), IPv4 addresses, decimal numbers
    (0.0218, 89.5), year ranges (2013-2017), standards (GB 3095-2012), web addresses and DOIs
    are kept as they are and never joined with a neighbouring number.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    Normalised
        The normalised text and, for each of its characters, the original span.
    """
    new, starts, ends = _normalise(text, track=True)
    assert starts is not None and ends is not None
    return Normalised(new, tuple(starts), tuple(ends))


def normalised_text(text: str) -> str:
    """`normalise(text).text`, without keeping track of the original spans (faster).

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The normalised text.
    """
    return _normalise(text, track=False)[0]


@dataclass(frozen=True)
class DigitRun:
    """A maximal run of digits in normalised text that is not a date, time, IP or decimal."""

    start: int
    end: int
    digits: str


_RUN = re.compile(r"\d+")


def digit_runs(text: str, min_digits: int = 1) -> list[DigitRun]:
    """Runs of digits in already normalised `text`, outside dates, times, IPs and decimals.

    A run of 17 digits followed by ``X`` (an ID number's check character) includes the ``X``.

    Parameters
    ----------
    text : str
        Normalised text (see `normalise`).
    min_digits : int
        Shortest run returned.

    Returns
    -------
    list of DigitRun
        The runs in order, with their span in `text`.
    """
    masked = _mask_atomic(text)
    runs = []
    for match in _RUN.finditer(masked):
        start, end = match.span()
        check_x = end - start == 17 and end < len(text) and text[end] in "Xx"
        if check_x and (
            end + 1 == len(text) or not text[end + 1].isascii() or not text[end + 1].isalnum()
        ):
            end += 1
        if end - start >= min_digits:
            runs.append(DigitRun(start, end, text[start:end]))
    return runs


# --------------------------------------------------------------------------------------------
# Check digits
# --------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a resident ID number.

    Parameters
    ----------
    first17 : str
        The first 17 digits.

    Returns
    -------
    str
        The check character, ``0`` to ``9`` or ``X``.
    """
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_card_check_digit_ok(number: str) -> bool:
    """Whether an 18-digit resident ID number carries its GB 11643-1999 check digit.

    Parameters
    ----------
    number : str
        The ID number, 17 digits and a check character.

    Returns
    -------
    bool
        True when the check character is right.
    """
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_card_check_digit(number[:17]) == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (bank cards, South African ID numbers).

    Parameters
    ----------
    digits : str
        Digits only.

    Returns
    -------
    bool
        True when the Luhn sum is a multiple of 10.
    """
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for k, d in enumerate(reversed(digits)):
        n = int(d) * (2 if k % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _plausible_birth_date(yyyymmdd: str) -> bool:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def _is_id_card(digits: str) -> bool:
    if len(digits) == 18 and digits[:17].isdigit() and (digits[17].isdigit() or digits[17] in "Xx"):
        return _plausible_birth_date(digits[6:14])
    if len(digits) == 15 and digits.isdigit():
        return _plausible_birth_date("19" + digits[6:12])
    return False


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


class _Scan:
    """One normalised text and what the rules compute from it once (digit runs, jieba tags)."""

    def __init__(self, text: str, use_tagger: bool) -> None:
        self.text = text
        self.use_tagger = use_tagger

    @functools.cached_property
    def runs(self) -> list[DigitRun]:
        return digit_runs(self.text, min_digits=5)

    @functools.cached_property
    def tagged(self) -> list[tuple[str, str, int, int]]:
        return _pos_tags(self.text)

    def before(self, start: int, width: int = 16) -> str:
        return self.text[max(0, start - width) : start]


Finder = Callable[[_Scan], Iterator[tuple[int, int]]]


@dataclass(frozen=True)
class Rule:
    """One way of finding one kind of identifier.

    Attributes
    ----------
    name : str
        Unique name, ``kind/variant``.
    kind : str
        What is found; the placeholder is ``[kind removed]``.
    locales : frozenset of str
        The locales whose pattern set includes the rule.
    description : str
        What the rule matches, for the documentation and the scan report.
    find : callable
        Spans (in normalised text) of what the rule matches.
    outputs : bool
        Whether the output scan (`hazegov.privacy.identifier_scan`) searches outputs with this rule
        too. Rules that rely on the part-of-speech tagger or flag every long number are for
        free text only: in tables and the paper they would flag ordinary words and numbers.
    """

    name: str
    kind: str
    locales: frozenset[str]
    description: str
    find: Finder = field(repr=False)
    outputs: bool = True


def _regex(pattern: str, flags: int = 0, group: int | str = 0, needs: str | None = None) -> Finder:
    """Spans of `group` of the matches of `pattern`.

    `needs` is a pattern (with the same flags) that every whole match contains: a text without
    it is not searched, which finds the same and spares the output scan a slow search of the
    many tables and caches that hold no such cue or character.
    """
    compiled = re.compile(pattern, flags)
    required = re.compile(needs, flags) if needs else None

    def find(scan: _Scan) -> Iterator[tuple[int, int]]:
        if required is not None and not required.search(scan.text):
            return
        for match in compiled.finditer(scan.text):
            if match.group(group):
                yield match.span(group)

    find.pattern, find.needs = compiled, required  # type: ignore[attr-defined]
    return find


def _tried_at(first: str, pattern: str) -> str:
    """`pattern`, tried only where a character of `first` stands, as every match of it starts
    with one: the same matches, and a text of other characters is skipped quickly (a pattern
    that starts with a look-behind is otherwise tried at every character)."""
    return f"(?={first})(?:{pattern})"


def _runs(test: Callable[[_Scan, DigitRun], bool], with_plus: bool = True) -> Finder:
    """Digit runs for which `test` holds; a ``+`` right before the run is included."""

    def find(scan: _Scan) -> Iterator[tuple[int, int]]:
        for run in scan.runs:
            if test(scan, run):
                start = run.start
                if with_plus and start and scan.text[start - 1] == "+":
                    start -= 1
                yield start, run.end

    return find


def _plus(scan: _Scan, run: DigitRun) -> bool:
    return run.start > 0 and scan.text[run.start - 1] == "+"


_PHONE_CUE = re.compile(
    r"(?:电话|座机|固话|手机|联系方式|号码|办公室|分机|致电|拨打|打"
    r"|(?<![A-Za-z])(?:call|phone|tel|mobile|cell|fax))"
    r"[^\d\n]{0,6}$",
    re.I,
)
_ID_CUE = re.compile(
    r"(?:身份证|证件|\bid\b|identity|national id|id number|id no)[^\d\n]{0,8}$", re.I
)


def _mobile(scan: _Scan, run: DigitRun) -> bool:
    return bool(re.fullmatch(r"(?:0086|86)?1[3-9]\d{9}", run.digits))


def _landline(scan: _Scan, run: DigitRun) -> bool:
    d = run.digits
    if re.fullmatch(r"0[1-9]\d{8,10}", d):  # 0 + 2-3 digit area code + 7-8 digits
        return True
    if re.fullmatch(r"(?:0086|86)[1-9]\d{8,10}", d) and (_plus(scan, run) or d.startswith("00")):
        return True
    return 7 <= len(d) <= 8 and bool(_PHONE_CUE.search(scan.before(run.start)))


def _e164(scan: _Scan, run: DigitRun) -> bool:
    d = run.digits
    if _plus(scan, run):
        return 7 <= len(d) <= 15 and d[0] != "0"
    if d.startswith("00") and 9 <= len(d) <= 17 and d[2] != "0":
        return True
    return bool(re.fullmatch(r"0[1-9]\d{8}", d))  # a trunk-0 national number (082 123 4567)


def _national_id_13(scan: _Scan, run: DigitRun) -> bool:
    return len(run.digits) == 13 and (
        luhn_ok(run.digits) or bool(_ID_CUE.search(scan.before(run.start)))
    )


def _bank_card(scan: _Scan, run: DigitRun) -> bool:
    return 16 <= len(run.digits) <= 19 and run.digits.isdigit()


def _long_number(scan: _Scan, run: DigitRun) -> bool:
    return len(run.digits.rstrip("Xx")) >= 7


def _ipv6(scan: _Scan) -> Iterator[tuple[int, int]]:
    for match in _IPV6_CANDIDATE.finditer(scan.text):
        candidate = match.group()
        if sum(c in "0123456789abcdefABCDEF" for c in candidate) < 3:
            continue
        try:
            ipaddress.IPv6Address(candidate.split("%")[0])
        except ValueError:
            continue
        yield match.span()


_IPV6_CANDIDATE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?:%[\w.]+)?(?![\w:])"
)
_IPV4 = r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
_IPV4_FIRST = r"\d"

# E-mail: local part, an at sign (also spelled "at", [at], (at), 艾特) and a domain with at
# least one dot (also spelled "dot", [dot], (dot), 点); domains may be Chinese (例子.中国).
_LOCAL = rf"(?:(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+|[{CJK}]{{1,4}})"
_DOMAIN = rf"[A-Za-z0-9\-{CJK}]+"
_EMAIL = rf"{_LOCAL}@{_DOMAIN}(?:\.{_DOMAIN})*\.(?:[A-Za-z]{{2,}}|[{CJK}]{{2,}})"
_AT = r"(?: *[(\[{<] *at *[)\]}>] *| +at +| *艾特 *| *圈a *)"
_DOT = r"(?: *[(\[{<] *dot *[)\]}>] *| +dot +| *点 *)"
_EMAIL_SPELLED = (
    rf"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+{_AT}[A-Za-z0-9\-]+(?:(?:{_DOT}|\.)[A-Za-z0-9\-]+)*"
    rf"(?:{_DOT})(?:com|cn|net|org|edu|gov|info|io|me|cc|hk|tw|uk|de|jp|[a-z]{{2}})\b"
)

_WECHAT_CUE = (
    r"(?:(?<![A-Za-z0-9_])(?:(?:wechat|we chat|weixin|vx|wx(?:号|id)?)(?![A-Za-z])|v信|V信)"
    r"|微 ?信|威信|维信|薇信|徽信|卫星号)"
)
# After a cue and an explicit separator (: 号 是 为) any id shape; after a bare cue the id
# must hold a digit, "_" or "-" ("WeChat groups" is not an id).
_WECHAT = (
    rf"{_WECHAT_CUE} *(?:号码?|id|ID)? *(?:(?:[:：是为]|账号) *(?P<a>[A-Za-z][-_A-Za-z0-9]{{5,19}})"
    rf"|(?P<b>[A-Za-z][A-Za-z]*[-_0-9][-_A-Za-z0-9]*))"
)
# The first characters of the cues above (case-insensitive, as the pattern is).
_WECHAT_FIRST = "[wv微威维薇徽卫]"
_QQ = (
    r"(?:(?<![A-Za-z])qq|扣扣|企鹅号?|(?<![A-Za-z])q号) *(?:号码?|群)? *(?:[:：是为] *)?"
    r"(?P<n>\d{5,11})(?!\d)"
)
_PLATE = (
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领][A-HJ-NP-Za-hj-np-z]"
    r" ?[·.\-]? ?(?=(?:[A-HJ-NP-Za-hj-np-z]*\d){3})[A-HJ-NP-Za-hj-np-z0-9]{5,6}[挂学警港澳]?"
    r"(?![A-Za-z0-9])"
)
_PASSPORT_CN = r"(?<![A-Za-z0-9])[EeGgDdSsPp][A-Za-z]?\d{7,8}(?![A-Za-z0-9])"
_PASSPORT_CUE = (
    r"(?:passport|护照) *(?:no\.?|number|号码?)? *[:：#]? *"
    r"(?P<p>(?=[A-Za-z0-9]*\d[A-Za-z0-9]*\d)[A-Za-z0-9]{6,10})(?![A-Za-z0-9])"
)
_PASSPORT_INTL = r"(?<![A-Za-z0-9])[A-Z]{1,2}\d{6,9}(?![A-Za-z0-9])"

_NUM = r"(?:\d+|[一二三四五六七八九十百零〇两]+)"
_UNIT_TAIL = (
    rf"(?: ?-? ?{_NUM} ?(?:号楼|号院|栋|幢|座|楼|单元|层|室|号|户|门))*"
    r"(?:(?<=单元) ?-? ?\d{1,4}(?!\d))?"
)
_ROAD = r"(?:路|大街|街|大道|巷|胡同|弄|里|道)"
_ESTATE = r"(?:小区|花园|家园|公寓|苑|新村|大厦|社区|村|院)"
_ADDRESS = (
    rf"(?:(?![区市省县镇乡])[{CJK}]){{1,5}}?{_ROAD} ?{_NUM} ?(?:号院|号楼|号|弄|巷){_UNIT_TAIL}"
    rf"|{_ESTATE} ?{_NUM} ?(?:号楼|号院|栋|幢|座|楼|号|区){_UNIT_TAIL}"
    rf"|{_NUM} ?(?:号楼|栋|幢|座) ?{_NUM} ?(?:单元|门|层|楼|号|室){_UNIT_TAIL}"
    rf"|{_NUM} ?单元 ?{_NUM} ?(?:室|号|层|楼)?{_UNIT_TAIL}"
    r"|(?<!\d)\d{3,4} ?(?:室|号房|房间)"
)
# Every address above ends in one of these: 号, 弄 or 巷 after a road; 号, 栋, 幢, 座, 楼 or 区
# after an estate; 号, 栋, 幢 or 座 before a unit; 单元; 室, 号房 or 房间 after a room number.
_ADDRESS_NEEDS = "[号弄巷栋幢座楼区单室房]"

# Person names. Strong cues are followed by a name whatever it looks like; weak cues (本人,
# 我是) only by something that looks like a name.
_NAME_CN = rf"[{CJK}]{{1,8}}(?:·[{CJK}]{{1,8}})+|[{CJK}]{{1,4}}"
_STRONG_CUE = (
    r"(?:我叫|我的名字(?:是|叫)|名字(?:是|叫)|姓 ?名|联系人|署名|称呼|叫我|我姓(?!名)|本人姓名)"
    r" ?(?:是|为)? ?[:：]? ?"
)
_NAME_AFTER_CUE = rf"{_STRONG_CUE}(?P<name>{_NAME_CN})"
_WEAK_CUE = r"(?:本人|我是|我就是) ?[:：]? ?"
_DOTTED_NAME = rf"[{CJK}]{{1,8}}·[{CJK}]{{1,8}}(?:·[{CJK}]{{1,8}})*"
_LATIN_WORD = r"[A-Z][a-z]+(?:-[A-Za-z][a-z]+)?"
_LATIN_NAME = r"(?P<name>(?i:[a-z]+(?:[ \-'][a-z]+){0,2}))"
_LATIN_NAME_CUE = (
    r"(?:(?i:my +name +is|my +name's|full +name *[:：]|contact +person *[:：])"
    rf"|姓 ?名 ?[:：]?|联系人 ?[:：]?) *{_LATIN_NAME}"
)
_LATIN_NAME_CUE_FIRST = "(?i:[mfc])|[姓联]"  # my, full, contact, 姓名, 联系人
# "name:" and "contact:" label fields in data files and front matter as well
_LATIN_NAME_LABEL = rf"(?i:(?<![A-Za-z])(?:name|contact) *[:：]) *{_LATIN_NAME}"
_LATIN_NAME_WEAK = (
    rf"(?<![A-Za-z])(?:I +am|I'm|i +am|i'm) +(?P<name>{_LATIN_WORD}(?: +{_LATIN_WORD}){{0,2}})"
)

# Common Chinese surnames (single and compound): a weak cue or a tagged word counts as a name
# only when it starts with one of them.
_COMPOUND = (
    "欧阳司马诸葛上官东方皇甫尉迟公孙慕容令狐长孙宇文司徒夏侯轩辕端木独孤南宫"
    "西门百里呼延申屠闻人万俟澹台公冶太史仲孙钟离宗政濮阳淳于单于赫连"
)
_COMPOUND_SURNAMES = frozenset(_COMPOUND[i : i + 2] for i in range(0, len(_COMPOUND), 2))
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯"
    "纪梅童凌毕季裴霍涂成苗谷盛曲翁冉骆蓝游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车"
    "项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲"
    "虞敖巩佘池查麻苑迟邝封谈匡鞠惠荆冀郁胥南班储栗燕楚鄢劳谌奚皮粟冼蔺楼满闻位厉伊仝郜阚权帅屠朴盖练"
    "廉禹井祖漆巴丰支卿狄晋扈晁芮普阙浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况那宿鲜逯隆茹诸慕危亢嵇湛戎茅"
    "揭尉檀衣昝智幸衡尧"
)
_NAME_TAGS = frozenset({"nr", "nrfg", "nrt"})
# A tagged word this frequent in jieba's dictionary is a word, not a name (文明 is tagged nr).
_COMMON_WORD_FREQ = 500


def _surname_first(word: str) -> bool:
    return word[:2] in _COMPOUND_SURNAMES or word[:1] in _SURNAMES


def _rare(char: str) -> bool:
    """Outside the CJK unified block, or unknown to jieba's dictionary as a word of its own."""
    if not ("\u4e00" <= char <= "\u9fff"):
        return bool(re.match(f"[{CJK}]", char))
    return _jieba_freq().get(char, 0) == 0


def _weak_cue_names(scan: _Scan) -> Iterator[tuple[int, int]]:
    for match in re.finditer(_WEAK_CUE + f"(?P<name>{_NAME_CN})", scan.text):
        name = match.group("name")
        start = match.start("name")
        if "·" in name:
            yield match.span("name")
            continue
        if scan.use_tagger:
            words = [w for w in scan.tagged if w[2] >= start and w[2] < match.end("name")]
            first = words[0] if words else None
            if first and first[2] == start:
                if first[1] in _NAME_TAGS and 2 <= len(first[0]) <= 4:
                    yield start, first[3]
                    continue
                if len(first[0]) >= 2 and _jieba_freq().get(first[0], 0) > 0:
                    continue  # a dictionary word such as 高级, 社区
            if _surname_first(name) or any(_rare(c) for c in name[:2]):
                yield match.span("name")
        elif _surname_first(name):
            yield match.span("name")


def _tagged_names(scan: _Scan) -> Iterator[tuple[int, int]]:
    if not scan.use_tagger:
        return
    words = scan.tagged
    for k, (word, tag, start, end) in enumerate(words):
        if tag not in _NAME_TAGS or not _surname_first(word):
            continue
        if 2 <= len(word) <= 4 and _jieba_freq().get(word, 0) < _COMMON_WORD_FREQ:
            yield start, end
        elif len(word) == 1:
            # A surname on its own followed by one or two single characters jieba does not
            # know as words (赵 龑): the given name of a rare character.
            given = []
            for nxt in words[k + 1 : k + 3]:
                adjacent = len(nxt[0]) == 1 and nxt[2] == (given[-1][3] if given else end)
                if adjacent and (_rare(nxt[0]) or nxt[1] in _NAME_TAGS):
                    given.append(nxt)
                    continue
                break
            if given:
                yield start, given[-1][3]


def _latin_names(*patterns: str) -> Finder:
    compiled = [re.compile(p) for p in patterns]
    stop = {"is", "the", "a", "an", "and", "not", "please", "from", "in", "at", "of"}

    def find(scan: _Scan) -> Iterator[tuple[int, int]]:
        for pattern in compiled:
            for match in pattern.finditer(scan.text):
                name = match.group("name")
                words = list(re.finditer(r"[A-Za-z]+", name))
                keep = 0
                for word in words:
                    if word.group().lower() in stop:
                        break
                    keep += 1
                if keep:
                    start = match.start("name")
                    yield start, start + words[keep - 1].end()

    return find


CN = frozenset({"CN"})
INTL = frozenset({"international"})
BOTH = CN | INTL

RULES: tuple[Rule, ...] = (
    Rule("email/written", "email", BOTH,
         "local part, @ (also full-width ＠ or ﹫), a domain with a dot; Chinese domains too",
         _regex(_EMAIL, needs="@")),
    Rule("email/spelled", "email", BOTH,
         "an address spelled out: name at domain dot com, [at] (dot), 艾特 … 点",
         _regex(_EMAIL_SPELLED, re.I)),
    Rule("ip_address/v6", "ip_address", BOTH,
         "IPv6 addresses, full or compressed, validated by the ipaddress module", _ipv6),
    Rule("ip_address/v4", "ip_address", BOTH, "IPv4 addresses (four octets 0-255)",
         _regex(_tried_at(_IPV4_FIRST, _IPV4))),
    Rule("wechat_id/cue", "wechat_id", CN,
         "an id after 微信 / 微信号 / V信 / v信 / 威信 / wx号 / vx / WeChat",
         _regex(_tried_at(_WECHAT_FIRST, _WECHAT), re.I)),
    Rule("wechat_wxid/wxid", "wechat_wxid", CN, "WeChat internal ids wxid_…",
         _regex(r"(?<![A-Za-z0-9])wxid_[A-Za-z0-9]{6,}", needs="wxid_")),
    Rule("qq/cue", "qq", CN, "5 to 11 digits after QQ / qq / 扣扣 / 企鹅号",
         _regex(_QQ, re.I, "n", needs="qq|扣扣|企鹅|q号")),
    Rule("passport/cn", "passport", CN,
         "Chinese passports: E, G, D, S or P, an optional letter and 7-8 digits (E12345678)",
         _regex(_PASSPORT_CN)),
    Rule("passport/cue", "passport", BOTH,
         "6-10 letters and digits (two digits at least) after passport / 护照",
         _regex(_PASSPORT_CUE, re.I, "p")),
    Rule("passport/international", "passport", INTL,
         "one or two capital letters and 6-9 digits (A1234567, AB1234567)",
         _regex(_PASSPORT_INTL)),
    Rule("licence_plate/cn", "licence_plate", CN,
         "a province character, a letter, an optional · and 5-6 letters and digits "
         "(京A·12345, 京A12345, new-energy 京AD12345)", _regex(_PLATE)),
    Rule("id_card/cn", "id_card", CN,
         "18-digit (17 digits and X) or 15-digit resident ID numbers with a birth date in "
         "place, in any spacing; the check digit is not required", _runs(
             lambda scan, run: _is_id_card(run.digits), with_plus=False)),
    Rule("mobile_phone/cn", "mobile_phone", CN,
         "11-digit mobile numbers 13x-19x, with or without +86 / 0086, in any spacing, in "
         "full-width digits or Chinese numerals", _runs(_mobile)),
    Rule("landline_phone/cn", "landline_phone", CN,
         "0 + area code + 7-8 digits ((010)6512-3456, 010-65123456), +86 without the 0, or "
         "7-8 digits after 电话 / 座机 / tel / phone", _runs(_landline)),
    Rule("phone_number/e164", "phone_number", INTL,
         "E.164 numbers: + or 00, country code and 7-15 digits in any spacing "
         "(+27 82 123 4567, +1 (202) 555-0143); 10-digit trunk-0 national numbers",
         _runs(_e164)),
    Rule("national_id/13", "national_id", INTL,
         "13-digit national ID numbers (South Africa) with a valid Luhn digit or an ID cue",
         _runs(_national_id_13, with_plus=False)),
    Rule("bank_card/16-19", "bank_card", BOTH,
         "16 to 19 digits in any spacing (no Luhn check needed)",
         _runs(_bank_card, with_plus=False)),
    Rule("address/cn", "address", CN,
         "路/街/道/巷/胡同/弄 + number + 号, 号楼/栋/单元/室 with numbers, 小区/花园 + number",
         _regex(_ADDRESS, needs=_ADDRESS_NEEDS)),
    Rule("personal_name/cue", "personal_name", CN,
         "the name after 我叫 / 我的名字是 / 姓名 (also 姓 名) / 联系人 / 署名 / 我姓",
         _regex(_NAME_AFTER_CUE, 0, "name")),
    Rule("personal_name/dotted", "personal_name", CN,
         "names with a middle dot (阿卜杜·热合曼)", _regex(_DOTTED_NAME, needs="·")),
    Rule("personal_name/latin-cue", "personal_name", BOTH,
         "up to three words after my name is / full name: / contact person: / 姓名 / 联系人",
         _latin_names(_tried_at(_LATIN_NAME_CUE_FIRST, _LATIN_NAME_CUE))),
    Rule("personal_name/weak-cue", "personal_name", CN,
         "after 本人 / 我是: a word jieba tags as a name, or one starting with a common surname "
         "or a rare character (not a dictionary word such as 社区)", _weak_cue_names,
         outputs=False),
    Rule("personal_name/tagged", "personal_name", CN,
         "words jieba's part-of-speech tagger tags nr / nrfg / nrt that start with a common "
         "surname and are not frequent dictionary words; a tagged surname with a rare given "
         "name", _tagged_names, outputs=False),
    Rule("personal_name/latin-label", "personal_name", BOTH,
         "up to three words after name: / contact:, and capitalised words after I am / I'm",
         _latin_names(_LATIN_NAME_LABEL, _LATIN_NAME_WEAK), outputs=False),
    Rule("url/any", "url", BOTH,
         "web addresses (a profile or a personal page identifies its owner)",
         _regex(_URL), outputs=False),
    Rule("long_number/7+", "long_number", BOTH,
         "any other run of 7 or more digits (dates, times, IPs and decimals excepted)",
         _runs(_long_number, with_plus=True), outputs=False),
)  # fmt: skip


def rules_for(locales: Iterable[str] = DEFAULT_LOCALES, outputs: bool = False) -> list[Rule]:
    """The rules of the named locales, in the order they take precedence.

    Parameters
    ----------
    locales : iterable of str
        Names of pattern sets, keys of `LOCALES`.
    outputs : bool
        Only the rules the output scan uses (`Rule.outputs`).

    Returns
    -------
    list of Rule
        The rules, earlier ones first where matches overlap.

    Raises
    ------
    KeyError
        For a locale that is not in `LOCALES`.
    """
    wanted = set(locales)
    unknown = wanted - set(LOCALES)
    if unknown:
        raise KeyError(f"unknown locale(s) {sorted(unknown)}; known: {sorted(LOCALES)}")
    return [r for r in RULES if r.locales & wanted and (r.outputs or not outputs)]


LOCALES: dict[str, tuple[Rule, ...]] = {
    name: tuple(r for r in RULES if name in r.locales) for name in ("CN", "international")
}


def kinds(locales: Iterable[str] = DEFAULT_LOCALES) -> list[str]:
    """The kinds of identifier the named locales look for, sorted.

    Parameters
    ----------
    locales : iterable of str
        Names of pattern sets, keys of `LOCALES`.

    Returns
    -------
    list of str
        Kind names, as used in placeholders and counts.
    """
    return sorted({r.kind for r in rules_for(locales)})


# --------------------------------------------------------------------------------------------
# jieba
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _pos_tokenizer() -> Any:
    """A private jieba part-of-speech tokenizer; its cache lives outside the repository."""
    from hazegov.policy.text import _import_jieba, jieba_cache_path

    jieba = _import_jieba()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        posseg = importlib.import_module("jieba.posseg")
    cache = jieba_cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(cache.parent)
    tokenizer.cache_file = cache.name
    tokenizer.initialize()
    if tokenizer.dictionary != posseg.dt.tokenizer.dictionary:
        return posseg.POSTokenizer(tokenizer)
    # Importing jieba.posseg already read the default dictionary's tags (about 1 CPU-s, in
    # every job that redacts free text); a tokenizer of the same dictionary shares that table.
    tagger = posseg.POSTokenizer.__new__(posseg.POSTokenizer)
    tagger.tokenizer = tokenizer
    tagger.word_tag_tab = posseg.dt.word_tag_tab
    return tagger


@functools.lru_cache(maxsize=1)
def _jieba_freq() -> dict[str, int]:
    return _pos_tokenizer().tokenizer.FREQ


_CJK_RUN = re.compile(f"[{CJK}][{CJK}·]*")


def _pos_tags(text: str) -> list[tuple[str, str, int, int]]:
    """(word, tag, start, end) of every word jieba finds in the CJK runs of `text`."""
    words: list[tuple[str, str, int, int]] = []
    if not _CJK_RUN.search(text):
        return words
    tagger = _pos_tokenizer()
    for run in _CJK_RUN.finditer(text):
        at = run.start()
        for pair in tagger.cut(run.group(), HMM=True):
            words.append((pair.word, pair.flag, at, at + len(pair.word)))
            at += len(pair.word)
    return words


# --------------------------------------------------------------------------------------------
# Finding and redacting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Match:
    """One identifier found in a text.

    Attributes
    ----------
    start, end : int
        Its span in the original text.
    kind : str
        Its kind (the rule's `Rule.kind`).
    rule : str
        The rule that found it (`Rule.name`).
    norm_start, norm_end : int
        Its span in the normalised text.
    """

    start: int
    end: int
    kind: str
    rule: str
    norm_start: int
    norm_end: int


def _find(text: str, rules: list[Rule], use_tagger: bool) -> list[tuple[int, int, Rule]]:
    """Non-overlapping (start, end, rule) in normalised `text`, earlier rules first."""
    scan = _Scan(text, use_tagger)
    accepted: list[list[Any]] = []  # [start, end, rule] in normalised text
    for rule in rules:
        for start, end in rule.find(scan):
            if end <= start:
                continue
            overlapping = [a for a in accepted if a[0] < end and start < a[1]]
            if overlapping:
                # An earlier rule's match absorbs what overlaps it: nothing matched is kept.
                keep = overlapping[0]
                for other in overlapping[1:]:
                    keep[0], keep[1] = min(keep[0], other[0]), max(keep[1], other[1])
                    accepted.remove(other)
                keep[0], keep[1] = min(keep[0], start), max(keep[1], end)
            else:
                accepted.append([start, end, rule])
    return sorted((a[0], a[1], a[2]) for a in accepted)


def find_identifiers(
    text: str,
    locales: Iterable[str] = DEFAULT_LOCALES,
    *,
    outputs: bool = False,
) -> list[Match]:
    """Every identifier in `text`, as spans of the original text.

    Parameters
    ----------
    text : str
        Any text.
    locales : iterable of str
        Pattern sets to use (keys of `LOCALES`).
    outputs : bool
        Use only the rules meant for outputs (no part-of-speech tagger, no bare long numbers),
        as the output scan does.

    Returns
    -------
    list of Match
        Non-overlapping matches in text order. Where matches of two rules overlap, the
        earlier rule in `RULES` names the kind and the span covers both.
    """
    norm = normalise(text)
    found = _find(norm.text, rules_for(locales, outputs), use_tagger=not outputs)
    matches = []
    for start, end, rule in found:
        o_start, o_end = norm.original_span(start, end)
        matches.append(Match(o_start, o_end, rule.kind, rule.name, start, end))
    return matches


def find_in_normalised(
    text: str, locales: Iterable[str] = DEFAULT_LOCALES, *, outputs: bool = True
) -> list[tuple[int, int, str]]:
    """(start, end, kind) of identifiers in text that is already normalised.

    The output scan normalises large files without keeping track of original spans
    (`normalised_text`) and searches them with this.

    Parameters
    ----------
    text : str
        Normalised text.
    locales : iterable of str
        Pattern sets to use.
    outputs : bool
        Use only the rules meant for outputs (default here).

    Returns
    -------
    list of tuple
        Spans in `text` and kinds.
    """
    found = _find(text, rules_for(locales, outputs), use_tagger=not outputs)
    return [(start, end, rule.kind) for start, end, rule in found]


def redact(text: str, locales: Iterable[str] = DEFAULT_LOCALES) -> tuple[str, Counter[str]]:
    """Replace every direct identifier in `text` by a typed placeholder; count what was removed.

    Each identifier's original characters are replaced by ``[kind removed]``; the rest of the
    text is returned as written (not normalised). Any 18-digit run shaped like an ID number is
    removed whether or not its check digit is valid: a mistyped ID number identifies a person
    just as well. Any other run of 7 or more digits is removed as ``long_number``.

    Over-redaction is accepted rather than a missed identifier: jieba tags some ordinary words
    as names (宣传教育 is tagged ``nr``); the one to four characters after a strong cue are
    removed even when the name is shorter (我叫李明住在丰台 loses 住在); a space-separated list
    of numbers can join into one long number; ``I am`` followed by a capitalised word and a
    passport-like code (one or two capitals and 6-9 digits) are removed.

    Parameters
    ----------
    text : str
        Free text.
    locales : iterable of str
        Pattern sets to use (keys of `LOCALES`); by default all of them.

    Returns
    -------
    tuple of (str, collections.Counter)
        The redacted text, and how many identifiers of each kind were removed.
    """
    clean, found = _redact_distinct(text, tuple(locales))
    return clean, Counter(dict(found))


@functools.lru_cache(maxsize=1 << 16)
def _redact_distinct(
    text: str, locales: tuple[str, ...]
) -> tuple[str, tuple[tuple[str, int], ...]]:
    """`redact` of one distinct text, once per process: the simulation ingests hundreds of
    exports whose answers repeat, and name tagging is the slow part of ingest."""
    found: Counter[str] = Counter()
    if not text:
        return text, ()
    pieces = []
    at = 0
    for match in find_identifiers(text, locales):
        pieces.append(text[at : match.start])
        pieces.append(f"[{match.kind} removed]")
        found[match.kind] += 1
        at = match.end
    pieces.append(text[at:])
    return "".join(pieces), tuple(sorted(found.items()))


def contains_identifier(text: str, locales: Iterable[str] = DEFAULT_LOCALES) -> list[str]:
    """Kinds of direct identifier present in `text`, in the order found.

    Parameters
    ----------
    text : str
        Any text.
    locales : iterable of str
        Pattern sets to use.

    Returns
    -------
    list of str
        One entry per kind found.
    """
    return list(dict.fromkeys(m.kind for m in find_identifiers(text, locales)))


QUOTED_CHARACTERS = 4  # characters of a free-text cell an error message may show
EXPORT_PLACEHOLDER = "<export>"


def quote_cell(text: str, shown: int = QUOTED_CHARACTERS) -> str:
    """A free-text cell as an error message may quote it: identifiers masked, then cut short.

    An error message goes to the terminal and the rule's log, which are kept and shared (a log
    is attached to a bug report); a respondent's sentence must not travel with it. The rule, row
    and column a message names are enough to find the cell in the export.

    Parameters
    ----------
    text : str
        The cell as read.
    shown : int
        How many characters of the redacted cell to show.

    Returns
    -------
    str
        The first `shown` characters of the cell, each character of an identifier among them
        replaced by ``*``, followed by ``…(n characters)`` giving the cell's full length when
        anything was left out.
    """
    masked = list(text)
    for match in find_identifiers(text):
        masked[match.start : match.end] = "*" * (match.end - match.start)
    if len(text) <= shown and "*" not in masked:
        return text
    return f"{''.join(masked[:shown])}…({len(text)} characters)"


def export_label(path: str | Path, root: str | Path | None = None) -> str:
    """How outputs name the raw export: its path relative to the project, or `<export>`.

    An absolute path tells a reader the analyst's user name and folders; a file name such as
    王小明_问卷导出.csv names a person. Outputs therefore give the path relative to the project
    (`root`, by default the working directory), only the file name for a file outside it, and
    ``<export>`` (to be read with the export's sha256, which outputs state beside it) wherever
    the redactor finds an identifier in that path.

    Parameters
    ----------
    path : str or Path
        The export as configured.
    root : str or Path, optional
        The project directory; the working directory by default.

    Returns
    -------
    str
        A relative POSIX path, a file name or ``<export>``.
    """
    path = Path(path)
    base = Path(root) if root is not None else Path.cwd()
    label = path.name
    if not path.is_absolute():
        label = path.as_posix()
    else:
        try:
            label = path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            label = path.name
    if any(find_identifiers(part) for part in Path(label).parts):
        return EXPORT_PLACEHOLDER
    return label
