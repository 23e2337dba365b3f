"""The questionnaire instrument as data: load and check the bilingual codebook."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hazegov.errors import CodebookError, Violation

T = TypeVar("T")
QUESTION_TYPES = {"single_choice", "likert_matrix", "rating", "free_text"}
PLATFORM_ROLES = {
    "submission_number",
    "submission_time",
    "duration_seconds",
    "metadata",
    "direct_identifier",
}
MIN_ITEMS_PER_SCALE = 3
MAX_ITEMS_PER_SCALE = 5


@dataclass(frozen=True)
class Option:
    code: int
    zh: str
    en: str
    id: str | None = None
    sector: str | None = None
    fill_in: str | None = None


@dataclass(frozen=True)
class Variable:
    """One column of the analysis data set and where it comes from in the export."""

    name: str
    kind: str  # single_choice | likert | rating | free_text | fill_in | platform
    header: str | None
    text_zh: str
    text_en: str
    role: str | None = None
    question: int | None = None
    options: tuple[Option, ...] = ()
    scale: str | None = None
    construct: str | None = None
    reverse: bool = False
    expected_code: int | None = None
    skipped_for_groups: tuple[str, ...] = ()
    fill_in_of: str | None = None
    unit_suffix: str | None = None

    @property
    def valid_range(self) -> tuple[int, int] | None:
        if not self.options:
            return None
        codes = [o.code for o in self.options]
        return min(codes), max(codes)

    @property
    def is_coded(self) -> bool:
        return self.kind in {"single_choice", "likert", "rating"}


@dataclass(frozen=True)
class Construct:
    id: str
    zh: str
    en: str
    items: tuple[str, ...]
    seed_problem: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class Sector:
    id: str
    zh: str
    en: str
    government: bool


@dataclass(frozen=True)
class MissingMarker:
    text: str
    code: int
    zh: str
    en: str


@dataclass(frozen=True)
class Codebook:
    path: str
    instrument_id: str
    title_zh: str
    title_en: str
    intro_zh: str
    intro_en: str
    variables: tuple[Variable, ...]
    constructs: tuple[Construct, ...]
    sectors: tuple[Sector, ...]
    missing_markers: tuple[MissingMarker, ...]
    fill_in_brackets: tuple[str, str]
    questions: tuple[dict[str, Any], ...] = field(repr=False, default=())

    def variable(self, name: str) -> Variable:
        return _find(self.variables, "name", name)

    def by_role(self, role: str) -> Variable:
        matches = [v for v in self.variables if v.role == role]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} variables with role {role!r}")
        return matches[0]

    @property
    def export_variables(self) -> tuple[Variable, ...]:
        """Variables read from their own export column, in export order."""
        return tuple(v for v in self.variables if v.header is not None)

    @property
    def likert_items(self) -> tuple[Variable, ...]:
        """Items of the construct scales (attention checks excluded), questionnaire order."""
        return tuple(v for v in self.variables if v.kind == "likert" and v.construct)

    @property
    def attention_checks(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.role == "attention_check")

    @property
    def respondent_group(self) -> Variable:
        return self.by_role("respondent_group")

    @property
    def demographics(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.role == "demographic")

    @property
    def direct_identifiers(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.role == "direct_identifier")

    @property
    def free_text(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.kind in {"free_text", "fill_in"})

    @property
    def answer_columns(self) -> list[str]:
        """Everything a respondent answered: two submissions alike in these are duplicates."""
        return [v.name for v in self.variables if v.is_coded or v.kind in {"free_text", "fill_in"}]

    def construct(self, construct_id: str) -> Construct:
        return _find(self.constructs, "id", construct_id)

    def sector(self, sector_id: str) -> Sector:
        return _find(self.sectors, "id", sector_id)

    def group_sector(self) -> dict[str, str]:
        """Respondent-group id -> respondent-sector id."""
        return {o.id: o.sector for o in self.respondent_group.options}  # type: ignore[misc]


def _find(items: tuple[T, ...], attr: str, value: str) -> T:
    for item in items:
        if getattr(item, attr) == value:
            return item
    raise KeyError(value)


def load_codebook(path: str | Path) -> Codebook:
    """Read a codebook YAML and check it; a broken codebook stops everything downstream."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodebookError.single(path, "file-exists", "codebook file not found") from None
    except yaml.YAMLError as exc:
        raise CodebookError.single(path, "valid-yaml", f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CodebookError.single(path, "mapping-at-top", "the codebook must be a YAML mapping")
    return _build(raw, str(path))


def _require(
    raw: dict[str, Any], key: str, where: str, file: str, problems: list[Violation]
) -> Any:
    if key not in raw:
        problems.append(Violation(file, "required-key", f"{where} lacks required key {key!r}"))
        return None
    return raw[key]


def _bilingual(raw: Any, where: str, file: str, problems: list[Violation]) -> tuple[str, str]:
    if not isinstance(raw, dict) or not raw.get("zh") or not raw.get("en"):
        problems.append(
            Violation(file, "bilingual-text", f"{where} needs non-empty 'zh' and 'en' text")
        )
        return "", ""
    return str(raw["zh"]), str(raw["en"])


def _options(raw: Any, where: str, file: str, problems: list[Violation]) -> tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(Violation(file, "options-listed", f"{where} needs a list of options"))
        return ()
    options = []
    for i, opt in enumerate(raw):
        if not isinstance(opt, dict) or not isinstance(opt.get("code"), int):
            problems.append(
                Violation(file, "integer-code", f"{where} option {i + 1} needs an integer 'code'")
            )
            continue
        zh, en = _bilingual(opt, f"{where} option {opt['code']}", file, problems)
        options.append(
            Option(
                code=opt["code"],
                zh=zh,
                en=en,
                id=opt.get("id"),
                sector=opt.get("sector"),
                fill_in=opt.get("fill_in"),
            )
        )
    for label, what in ((lambda o: o.code, "code"), (lambda o: o.zh, "Chinese label")):
        dupes = [k for k, n in Counter(label(o) for o in options).items() if n > 1]
        if dupes:
            problems.append(
                Violation(
                    file, f"unique-option-{what.split()[-1]}", f"{where} repeats {what} {dupes}"
                )
            )
    return tuple(options)


def _build(raw: dict[str, Any], file: str) -> Codebook:
    problems: list[Violation] = []
    instrument = _require(raw, "instrument", "codebook", file, problems) or {}
    title_zh, title_en = _bilingual(instrument.get("title"), "instrument.title", file, problems)
    intro_zh, intro_en = _bilingual(
        instrument.get("introduction"), "instrument.introduction", file, problems
    )
    markers = []
    for m in instrument.get("missing_markers", []):
        zh, en = _bilingual(m.get("meaning"), f"missing marker {m.get('text')!r}", file, problems)
        markers.append(
            MissingMarker(text=str(m.get("text", "")), code=int(m["code"]), zh=zh, en=en)
        )
    brackets = tuple(instrument.get("fill_in_brackets", ["〖", "〗"]))
    if len(brackets) != 2:
        problems.append(Violation(file, "fill-in-brackets", "fill_in_brackets needs two strings"))
        brackets = ("〖", "〗")

    scales: dict[str, tuple[Option, ...]] = {}
    for scale_id, scale in (raw.get("response_scales") or {}).items():
        scales[scale_id] = _options(scale.get("options"), f"scale {scale_id}", file, problems)

    sectors = []
    for s in raw.get("respondent_sectors") or []:
        zh, en = _bilingual(s, f"sector {s.get('id')}", file, problems)
        sectors.append(Sector(id=s["id"], zh=zh, en=en, government=bool(s.get("government"))))
    sector_ids = {s.id for s in sectors}

    construct_meta = {}
    for c in raw.get("constructs") or []:
        zh, en = _bilingual(c.get("label"), f"construct {c.get('id')}", file, problems)
        construct_meta[c["id"]] = (zh, en, c.get("seed_problem"), c.get("role"))

    variables: list[Variable] = []
    for col in raw.get("platform_columns") or []:
        zh, en = _bilingual(col.get("label"), f"platform column {col.get('name')}", file, problems)
        role = col.get("role")
        if role not in PLATFORM_ROLES:
            problems.append(
                Violation(
                    file,
                    "known-platform-role",
                    f"platform column {col.get('name')} "
                    f"has role {role!r}; expected one of {sorted(PLATFORM_ROLES)}",
                )
            )
        variables.append(
            Variable(
                name=col["name"],
                kind="platform",
                header=str(col["header"]),
                text_zh=zh,
                text_en=en,
                role=role,
                unit_suffix=col.get("unit_suffix"),
            )
        )

    questions = raw.get("questions") or []
    for q in questions:
        qtype = q.get("type")
        where = f"question {q.get('number')}"
        if qtype not in QUESTION_TYPES:
            problems.append(
                Violation(
                    file,
                    "known-question-type",
                    f"{where} has type {qtype!r}; expected one of {sorted(QUESTION_TYPES)}",
                )
            )
            continue
        if qtype == "likert_matrix":
            scale = q.get("scale")
            if scale not in scales:
                problems.append(
                    Violation(file, "known-scale", f"{where} uses unknown scale {scale!r}")
                )
            construct = q.get("construct")
            if construct not in construct_meta:
                problems.append(
                    Violation(
                        file, "known-construct", f"{where} names unknown construct {construct!r}"
                    )
                )
            for item in q.get("items") or []:
                zh, en = _bilingual(item.get("text"), f"item {item.get('name')}", file, problems)
                is_check = item.get("role") == "attention_check"
                variables.append(
                    Variable(
                        name=item["name"],
                        kind="likert",
                        header=str(item["header"]),
                        text_zh=zh,
                        text_en=en,
                        role=item.get("role"),
                        question=q.get("number"),
                        options=scales.get(scale, ()),
                        scale=scale,
                        construct=None if is_check else construct,
                        reverse=bool(item.get("reverse", False)),
                        expected_code=item.get("expected_code"),
                    )
                )
            continue
        zh, en = _bilingual(q.get("text"), where, file, problems)
        if qtype == "free_text":
            options: tuple[Option, ...] = ()
        elif qtype == "rating":
            options = scales.get(q.get("scale"), ())
            if q.get("scale") not in scales:
                problems.append(Violation(file, "known-scale", f"{where} uses unknown scale"))
        else:
            options = _options(q.get("options"), where, file, problems)
        kind = {"single_choice": "single_choice", "rating": "rating", "free_text": "free_text"}[
            qtype
        ]
        variables.append(
            Variable(
                name=q["name"],
                kind=kind,
                header=str(q["header"]),
                text_zh=zh,
                text_en=en,
                role=q.get("role"),
                question=q.get("number"),
                options=options,
                scale=q.get("scale"),
                reverse=bool(q.get("reverse", False)),
                skipped_for_groups=tuple(q.get("skipped_for_groups") or ()),
            )
        )
        for opt in options:
            if opt.fill_in:
                variables.append(
                    Variable(
                        name=opt.fill_in,
                        kind="fill_in",
                        header=None,
                        text_zh=f"{zh}（{opt.zh}，请注明）",
                        text_en=f"{en} ({opt.en}, please specify)",
                        question=q.get("number"),
                        fill_in_of=q["name"],
                    )
                )

    constructs = []
    for cid, (zh, en, problem, role) in construct_meta.items():
        items = tuple(v.name for v in variables if v.construct == cid)
        constructs.append(Construct(cid, zh, en, items, seed_problem=problem, role=role))

    codebook = Codebook(
        path=file,
        instrument_id=str(instrument.get("id", "")),
        title_zh=title_zh,
        title_en=title_en,
        intro_zh=intro_zh,
        intro_en=intro_en,
        variables=tuple(variables),
        constructs=tuple(constructs),
        sectors=tuple(sectors),
        missing_markers=tuple(markers),
        fill_in_brackets=(str(brackets[0]), str(brackets[1])),
        questions=tuple(questions),
    )
    problems.extend(_check_consistency(codebook, sector_ids))
    if problems:
        raise CodebookError(problems)
    return codebook


def _check_consistency(cb: Codebook, sector_ids: set[str]) -> list[Violation]:
    """Rules that span several parts of the codebook."""
    file = cb.path
    problems = []
    for what, key in (("name", lambda v: v.name), ("header", lambda v: v.header)):
        counts = Counter(key(v) for v in cb.variables if key(v) is not None)
        for value, n in counts.items():
            if n > 1:
                problems.append(
                    Violation(file, f"unique-{what}", f"{n} variables share the {what} {value!r}")
                )
    for var in cb.variables:
        if var.reverse and (var.kind != "likert" or var.construct is None):
            problems.append(
                Violation(
                    file,
                    "reverse-item-in-scale",
                    f"{var.name} is reverse-coded but belongs "
                    "to no construct scale; reverse coding only applies to scale items",
                )
            )
        if var.role == "attention_check":
            codes = {o.code for o in var.options}
            if var.expected_code not in codes:
                problems.append(
                    Violation(
                        file,
                        "attention-check-expected",
                        f"{var.name} expects code "
                        f"{var.expected_code!r}, which is not among its codes {sorted(codes)}",
                    )
                )
    for c in cb.constructs:
        n = len(c.items)
        if not MIN_ITEMS_PER_SCALE <= n <= MAX_ITEMS_PER_SCALE:
            problems.append(
                Violation(
                    file,
                    "items-per-scale",
                    f"construct {c.id} has {n} items; a scale needs "
                    f"{MIN_ITEMS_PER_SCALE} to {MAX_ITEMS_PER_SCALE}",
                )
            )
        if n and not any(cb.variable(i).reverse for i in c.items):
            problems.append(
                Violation(
                    file, "reverse-item-per-scale", f"construct {c.id} has no reverse-worded item"
                )
            )
    groups = [v for v in cb.variables if v.role == "respondent_group"]
    if len(groups) != 1:
        problems.append(
            Violation(
                file,
                "one-respondent-group",
                f"{len(groups)} questions have role respondent_group; exactly one is needed",
            )
        )
    else:
        for opt in groups[0].options:
            if not opt.id or opt.sector not in sector_ids:
                problems.append(
                    Violation(
                        file,
                        "group-has-sector",
                        f"respondent group option {opt.code} needs "
                        f"an 'id' and a 'sector' among {sorted(sector_ids)}",
                    )
                )
    all_groups = {o.id for g in groups for o in g.options}
    for var in cb.variables:
        unknown = set(var.skipped_for_groups) - all_groups
        if unknown:
            problems.append(
                Violation(
                    file, "known-skip-group", f"{var.name} skips unknown groups {sorted(unknown)}"
                )
            )
    roles = Counter(v.role for v in cb.variables if v.kind == "platform")
    for needed in ("submission_number", "duration_seconds"):
        if roles[needed] != 1:
            problems.append(
                Violation(
                    file,
                    "platform-column",
                    f"exactly one platform column must have role "
                    f"{needed!r} (found {roles[needed]})",
                )
            )
    return problems
