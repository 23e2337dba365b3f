"""The two bilingual dictionaries of the coding: departments and policy instruments.

Problem 2 of the study (unclear responsibilities, multiple management) is read off which
departments the documents name and next to which instruments; both lists live in `config/` so a
reader can see, and change, exactly what counts as a mention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hazegov.errors import InputError, Violation
from hazegov.policy.register import LEVELS
from hazegov.policy.text import cjk_words, term_key


@dataclass(frozen=True)
class Entry:
    """One department or one instrument, with every surface form that counts as a mention."""

    id: str
    kind: str  # "department" or "instrument"
    zh: str
    en: str
    terms_zh: tuple[str, ...]
    terms_en: tuple[str, ...]
    level: str = ""  # departments: central, municipal or district
    short: str = ""  # departments: label in figures
    category: str = ""  # instruments: id of the typology category


@dataclass(frozen=True)
class Category:
    id: str
    zh: str
    en: str


@dataclass(frozen=True)
class Lexicon:
    """Departments, instrument categories and instruments, and the lookup keys of their terms."""

    departments: tuple[Entry, ...]
    categories: tuple[Category, ...]
    instruments: tuple[Entry, ...]
    typology: str
    keys: Mapping[str, tuple[str, str]]  # term key -> (kind, entry id)
    sources: tuple[str, ...] = ()

    def department(self, entry_id: str) -> Entry:
        return next(d for d in self.departments if d.id == entry_id)

    def instrument(self, entry_id: str) -> Entry:
        return next(i for i in self.instruments if i.id == entry_id)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def jieba_words(self) -> tuple[str, ...]:
        """Every Chinese run of every term, for jieba's dictionary."""
        words = {w for key in self.keys for w in cjk_words(key) if len(w) > 1}
        return tuple(sorted(words))


def _load_yaml(path: Path) -> dict[str, Any]:
    file = str(path)
    if not path.is_file():
        raise InputError.single(file, "file-exists", "the dictionary does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError.single(file, "yaml-syntax", f"is not valid UTF-8 YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError.single(file, "yaml-mapping", "must be a YAML mapping")
    return raw


def _text(raw: Any, key: str, where: str, file: str, problems: list[Violation]) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Violation(file, "required-key", "needs a non-empty text", column=f"{where}.{key}")
        )
        return ""
    return value.strip()


def _known_keys(
    raw: Any, allowed: set[str], where: str, file: str, problems: list[Violation]
) -> None:
    """Catches typos and YAML slips such as an unquoted comma inside a flow mapping."""
    if not isinstance(raw, dict):
        return
    for key in raw:
        if key not in allowed:
            problems.append(
                Violation(
                    file,
                    "known-key",
                    f"is not one of {sorted(allowed)}",
                    column=f"{where}.{key}",
                    value=key,
                )
            )


def _terms(raw: Any, where: str, file: str, problems: list[Violation]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, str) and t.strip() for t in raw):
        problems.append(
            Violation(file, "term-list", "must be a list of non-empty texts", column=where)
        )
        return ()
    return tuple(t.strip() for t in raw)


def _entry(
    raw: Any, kind: str, where: str, file: str, problems: list[Violation], terms_key: str
) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(Violation(file, "entry-mapping", "must be a mapping", column=where))
        return None
    entry_id = _text(raw, "id", where, file, problems)
    name = raw.get("name")
    _known_keys(
        raw, {"id", "name", terms_key, "level", "short", "category", "note"}, where, file, problems
    )
    _known_keys(name, {"zh", "en"}, f"{where}.name", file, problems)
    zh = _text(name, "zh", f"{where}.name", file, problems)
    en = _text(name, "en", f"{where}.name", file, problems)
    terms = raw.get(terms_key) or {}
    if not isinstance(terms, dict):
        problems.append(
            Violation(
                file, "term-lists", "must map zh and en to lists", column=f"{where}.{terms_key}"
            )
        )
        terms = {}
    terms_zh = _terms(terms.get("zh"), f"{where}.{terms_key}.zh", file, problems)
    terms_en = _terms(terms.get("en"), f"{where}.{terms_key}.en", file, problems)
    if kind == "department":  # a department's canonical names count as mentions too
        terms_zh, terms_en = (zh, *terms_zh), (en, *terms_en)
    extra: dict[str, str] = {}
    if kind == "department":
        level = raw.get("level")
        if level not in LEVELS:
            problems.append(
                Violation(
                    file,
                    "known-level",
                    f"must be one of {', '.join(LEVELS)}",
                    column=f"{where}.level",
                    value=level,
                )
            )
        extra = {"level": str(level), "short": str(raw.get("short") or en)}
    else:
        extra = {"category": _text(raw, "category", where, file, problems)}
    return Entry(entry_id, kind, zh, en, terms_zh, terms_en, **extra)


def _register_terms(
    entries: list[tuple[Entry, str, str]],
    keys: dict[str, tuple[str, str]],
    origin: dict[str, str],
    problems: list[Violation],
) -> None:
    """Each term key may belong to one entry only, across both dictionaries."""
    for entry, where, file in entries:
        seen_here: set[str] = set()
        for term, lang in [(t, "zh") for t in entry.terms_zh] + [(t, "en") for t in entry.terms_en]:
            key = term_key(term)
            field = (
                "name"
                if term in (entry.zh, entry.en) and entry.kind == "department"
                else ("aliases" if entry.kind == "department" else "keywords")
            )
            column = f"{where}.{field}.{lang}"
            if not key or "|" in key:
                problems.append(
                    Violation(
                        file,
                        "term-is-one-phrase",
                        "must be words without punctuation between them",
                        column=column,
                        value=term,
                    )
                )
                continue
            if key in seen_here:
                continue  # the same entry may list a spelling twice (e.g. name and alias)
            seen_here.add(key)
            if key in keys:
                problems.append(
                    Violation(
                        file,
                        "unique-term",
                        f"is also a term of {keys[key][0]} {keys[key][1]!r} ({origin[key]})",
                        column=column,
                        value=term,
                    )
                )
                continue
            keys[key] = (entry.kind, entry.id)
            origin[key] = file


def load_lexicon(departments: str | Path, instruments: str | Path) -> Lexicon:
    """Both dictionaries, checked: unique ids, known levels and categories, no shared term."""
    dep_path, ins_path = Path(departments), Path(instruments)
    dep_file, ins_file = str(dep_path), str(ins_path)
    dep_raw, ins_raw = _load_yaml(dep_path), _load_yaml(ins_path)
    problems: list[Violation] = []
    listed: list[tuple[Entry, str, str]] = []

    deps: list[Entry] = []
    for k, raw in enumerate(dep_raw.get("departments") or []):
        where = f"departments[{k}]"
        entry = _entry(raw, "department", where, dep_file, problems, "aliases")
        if entry:
            deps.append(entry)
            listed.append((entry, where, dep_file))
    if not deps:
        problems.append(Violation(dep_file, "required-key", "lists no departments"))

    categories: list[Category] = []
    for k, raw in enumerate(ins_raw.get("categories") or []):
        where = f"categories[{k}]"
        name = raw.get("name") if isinstance(raw, dict) else None
        categories.append(
            Category(
                _text(raw, "id", where, ins_file, problems),
                _text(name, "zh", f"{where}.name", ins_file, problems),
                _text(name, "en", f"{where}.name", ins_file, problems),
            )
        )
    instruments_: list[Entry] = []
    category_ids = {c.id for c in categories}
    for k, raw in enumerate(ins_raw.get("instruments") or []):
        where = f"instruments[{k}]"
        entry = _entry(raw, "instrument", where, ins_file, problems, "keywords")
        if entry is None:
            continue
        if entry.category and entry.category not in category_ids:
            problems.append(
                Violation(
                    ins_file,
                    "known-category",
                    f"is not one of the categories {sorted(category_ids)}",
                    column=f"{where}.category",
                    value=entry.category,
                )
            )
        instruments_.append(entry)
        listed.append((entry, where, ins_file))
    if not categories or not instruments_:
        problems.append(Violation(ins_file, "required-key", "needs categories and instruments"))

    for what, file, ids in (
        ("department", dep_file, [d.id for d in deps]),
        ("category", ins_file, [c.id for c in categories]),
        ("instrument", ins_file, [i.id for i in instruments_]),
    ):
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(Violation(file, "unique-id", f"{what} id used twice", value=dup))

    keys: dict[str, tuple[str, str]] = {}
    _register_terms(listed, keys, {}, problems)
    typology = ins_raw.get("typology") or {}
    typology_name = typology.get("name") if isinstance(typology, dict) else None
    if not isinstance(typology_name, str) or not typology_name:
        problems.append(
            Violation(ins_file, "required-key", "needs typology.name", column="typology.name")
        )
    if problems:
        raise InputError(problems)
    return Lexicon(
        departments=tuple(deps),
        categories=tuple(categories),
        instruments=tuple(instruments_),
        typology=str(typology_name),
        keys=keys,
        sources=(dep_file, ins_file),
    )
