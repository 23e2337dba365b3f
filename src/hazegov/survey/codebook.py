"""The questionnaire instrument as data: load and check the codebook (English, and optionally
Chinese beside it)."""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hazegov.errors import CodebookError, Violation
from hazegov.survey.input_files import input_path_problem
from hazegov.yaml_bounds import YamlBoundError, compose_bounded

T = TypeVar("T")
QUESTION_TYPES = {"single_choice", "likert_matrix", "rating", "free_text"}
PLATFORM_ROLES = {
    "submission_number",
    "submission_id",
    "start_time",
    "submission_time",
    "duration_seconds",
    "metadata",
    "direct_identifier",
    "embedded_data",
}
# The roles a codebook gives to at most one platform column: the analysis finds them by role.
# A submission is keyed by a whole number (Wenjuanxing's 序号) or a text id (Qualtrics'
# ResponseId, such as R_1abc), not both.
SINGLE_PLATFORM_ROLES = ("start_time", "submission_time", "duration_seconds")
SUBMISSION_KEY_ROLES = ("submission_number", "submission_id")
ANSWER_FORMS = ("labels", "codes")
# The keys of a display condition (`shown_if`): a test on one variable, or several combined.
SHOWN_IF_TESTS = ("in", "not_in")
SHOWN_IF_COMBINERS = ("all", "any")
# Fewer than two items leave no internal consistency to estimate; there is no upper bound, as
# other instruments use long scales (the haze questionnaire's scales have four items).
MIN_ITEMS_PER_SCALE = 2
OVERALL_RATING_ROLE = "overall_satisfaction"


@dataclass(frozen=True)
class Option:
    code: int
    zh: str
    en: str
    id: str | None = None
    sector: str | None = None
    fill_in: str | None = None


@dataclass(frozen=True)
class ShownIf:
    """When an item is shown to a respondent (display logic), as the codebook's `shown_if`.

    Items a respondent was not shown are not applicable, not missing: the ingest counts them
    as ``not_shown``, and the exclusion and missing-data rules leave them out (issue 14: items
    hidden by design were counted as non-response). A condition either tests one earlier
    variable (`variable`, its answer code among `codes`, or not among them when `negate`),
    or combines `parts` with ``all`` or ``any`` (`combine`). `declared` is the key path of
    the condition in the codebook, to point at it in messages.
    """

    variable: str | None = None
    codes: tuple[int, ...] = ()
    negate: bool = False
    combine: str | None = None
    parts: tuple[ShownIf, ...] = ()
    declared: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def leaves(self) -> tuple[ShownIf, ...]:
        """The single-variable tests of the condition, depth first."""
        if self.combine is None:
            return (self,)
        return tuple(leaf for part in self.parts for leaf in part.leaves)

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables the condition reads, each once, in the order it names them."""
        return tuple(dict.fromkeys(str(leaf.variable) for leaf in self.leaves))


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
    # What a cell of this variable holds when its answer is missing: the instrument's markers
    # with those its scale, question and item declare (the most specific declaration of a
    # cell wins).
    missing: tuple[MissingMarker, ...] = ()
    # A platform column the export may lack (one a platform preset supplies, or one declared
    # `optional: true`): the analysis that needs it says so when it is absent.
    optional: bool = False
    # When the respondent is shown the variable (question and item conditions together);
    # None: shown to every respondent (`skipped_for_groups` aside).
    shown_if: ShownIf | None = None

    def missing_reason(self, cell: str) -> MissingMarker | None:
        """The marker a (stripped) cell is, or None when the cell is not declared missing."""
        for marker in self.missing:
            if marker.matches(cell):
                return marker
        return None

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


MISSING_REASON = re.compile(r"[a-z][a-z0-9_]*")
# What each survey platform writes for an answer it has not got. An instrument names its
# platform's preset (`instrument.missing_preset`) or lists its markers (`missing_markers`);
# with neither, the Wenjuanxing preset applies. A marker is a cell text (`text`) or a number
# written in the cell (`code`); `reason` says why the answer is missing.
MISSING_PRESETS: dict[str, tuple[dict[str, Any], ...]] = {
    "wenjuanxing": (
        {
            "text": "(空)",
            "reason": "unanswered",
            "meaning": {"zh": "未作答", "en": "item non-response"},
        },
        {
            "text": "(跳过)",
            "reason": "skipped",
            "meaning": {"zh": "按逻辑跳过", "en": "skipped by questionnaire logic"},
        },
        {"text": "", "reason": "blank", "meaning": {"zh": "空白", "en": "blank cell"}},
    ),
    "qualtrics": (
        {
            "code": -99,
            "reason": "unanswered",
            "meaning": {"zh": "已显示但未作答", "en": "seen but unanswered"},
        },
        {
            "text": "",
            "reason": "skipped",
            "meaning": {"zh": "未显示（按逻辑跳过）", "en": "not displayed (skipped by logic)"},
        },
    ),
}
DEFAULT_MISSING_PRESET = "wenjuanxing"


def _column(name: str, header: str, role: str, zh: str, en: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "header": header, "role": role, "label": {"zh": zh, "en": en}, **more}


# The columns each survey platform adds to every export, by the header it writes, with the
# role the analysis finds them by. An instrument names its platform (`instrument.platform`);
# its `platform_columns` then add columns or replace a preset's (matched by name or header).
# A preset's columns are optional: an export may lack any of them, and an analysis that needs
# one (the completion time for `exclusions.min_duration`) says so. Identifier columns (IP
# address, names, e-mail, location) are direct identifiers: never read, counted in the ingest
# report. `header_rows` is how many rows the header takes: Qualtrics writes the column names,
# then the question texts, then the ImportId of every column.
PLATFORM_PRESETS: dict[str, dict[str, Any]] = {
    "wenjuanxing": {
        "header_rows": 1,
        "columns": (
            _column("submission_no", "序号", "submission_number", "答卷序号", "Submission number"),
            _column(
                "submitted_at", "提交答卷时间", "submission_time", "提交答卷时间", "Submission time"
            ),
            _column(
                "duration_s",
                "所用时间",
                "duration_seconds",
                "所用时间（秒）",
                "Completion time (seconds)",
                unit_suffix="秒",
            ),
            _column("source", "来源", "metadata", "来源渠道", "Channel"),
            _column(
                "source_detail", "来源详情", "direct_identifier", "来源详情", "Referrer details"
            ),
            _column("source_ip", "来自IP", "direct_identifier", "来源IP地址", "Source IP address"),
        ),
    },
    "qualtrics": {
        "header_rows": 3,
        "columns": (
            _column("started_at", "StartDate", "start_time", "开始时间", "Start date"),
            _column("submitted_at", "EndDate", "submission_time", "结束时间", "End date"),
            _column("response_status", "Status", "metadata", "答卷类型", "Response type"),
            _column("ip_address", "IPAddress", "direct_identifier", "IP地址", "IP address"),
            _column("progress", "Progress", "metadata", "完成进度", "Progress"),
            _column(
                "duration_s",
                "Duration (in seconds)",
                "duration_seconds",
                "所用时间（秒）",
                "Duration (in seconds)",
            ),
            _column("finished", "Finished", "metadata", "是否完成", "Finished"),
            _column("recorded_at", "RecordedDate", "metadata", "记录时间", "Recorded date"),
            _column("response_id", "ResponseId", "submission_id", "答卷编号", "Response ID"),
            _column(
                "recipient_last_name",
                "RecipientLastName",
                "direct_identifier",
                "受访者姓",
                "Recipient last name",
            ),
            _column(
                "recipient_first_name",
                "RecipientFirstName",
                "direct_identifier",
                "受访者名",
                "Recipient first name",
            ),
            _column(
                "recipient_email",
                "RecipientEmail",
                "direct_identifier",
                "受访者邮箱",
                "Recipient e-mail",
            ),
            _column(
                "external_reference",
                "ExternalReference",
                "direct_identifier",
                "外部参考编号",
                "External data reference",
            ),
            _column(
                "location_latitude",
                "LocationLatitude",
                "direct_identifier",
                "位置纬度",
                "Location latitude",
            ),
            _column(
                "location_longitude",
                "LocationLongitude",
                "direct_identifier",
                "位置经度",
                "Location longitude",
            ),
            _column(
                "distribution_channel",
                "DistributionChannel",
                "metadata",
                "分发渠道",
                "Distribution channel",
            ),
            _column("user_language", "UserLanguage", "metadata", "答卷语言", "User language"),
        ),
    },
}
# A value of `instrument.platform` of this form (one word, any case) names a preset; any other
# text (such as this study's "Wenjuanxing-style online survey export ...") describes the
# platform in words only.
PRESET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class MissingMarker:
    """What a cell holds when the answer is missing, and why.

    Exactly one of `text` (the cell text the platform writes, compared width- and
    space-insensitively) and `code` (a whole number written in the cell, such as Qualtrics'
    -99) is set. Missing is declared, never read off the sign of a code: on a -3..+3 item,
    -1, -2 and -3 are answers. `declared` is where the codebook declares the marker (a key
    path, or the preset), to name it in messages.
    """

    text: str | None
    code: int | None
    reason: str
    zh: str
    en: str
    declared: str = ""

    @property
    def cell(self) -> str:
        """The cell text the marker matches (a code as the platform writes it)."""
        return self.text if self.text is not None else str(self.code)

    def matches(self, cell: str) -> bool:
        """Whether a (stripped) export cell is this marker."""
        if self.text is not None:
            return marker_key(cell) == marker_key(self.text)
        key = marker_key(cell)
        return _WHOLE.fullmatch(key) is not None and int(key) == self.code


_WHOLE = re.compile(r"-?\d+")


@functools.lru_cache(maxsize=16384)
def marker_key(text: str) -> str:
    """A cell compared with a marker or label as the ingest compares them (width-, space- and
    tilde-insensitive), so that a marker declared as typed matches what the export holds.

    Cached: every distinct cell of a column is compared with each of its markers."""
    text = unicodedata.normalize("NFKC", str(text)).replace("～", "~").replace("〜", "~")
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class IgnoreRule:
    """Export columns the study does not use, dropped when the export is read.

    A platform exports every column it has (a Qualtrics export of a short questionnaire has
    hundreds: timers, display orders, embedded data); listing each in the codebook would be
    noise. An ignored column is never read into any output; the ingest report counts the
    columns each rule dropped. `kind` is "name" (the header, compared as headers are), "glob"
    (shell-style, such as ``Q*_DO``) or "regex" (matching the whole header); `declared` is the
    rule's key path, to name it in messages.
    """

    kind: str
    pattern: str
    declared: str

    def matches(self, header: str) -> bool:
        """Whether a (stripped) export header is one this rule ignores."""
        if self.kind == "name":
            return marker_key(header) == marker_key(self.pattern)
        if self.kind == "glob":
            return fnmatch.fnmatchcase(header, self.pattern)
        return re.fullmatch(self.pattern, header) is not None

    def __str__(self) -> str:
        return f"{self.kind} {self.pattern!r} ({self.declared})"


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
    # The platform preset named by `instrument.platform` (None: the columns listed only), how
    # the export writes answers ("labels", or "codes": Qualtrics' numeric values), how many
    # rows its header takes, and the export columns the study leaves unread.
    platform: str | None = None
    answers: str = "labels"
    header_rows: int = 1
    ignore_columns: tuple[IgnoreRule, ...] = ()

    @property
    def bilingual(self) -> bool:
        """Whether the codebook gives Chinese text besides English (an English-only codebook
        has "" for every Chinese text, and prints English only)."""
        return bool(self.title_zh)

    def variable(self, name: str) -> Variable:
        return _find(self.variables, "name", name)

    def by_role(self, role: str) -> Variable:
        matches = [v for v in self.variables if v.role == role]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} variables with role {role!r}")
        return matches[0]

    def platform_role(self, *roles: str) -> Variable | None:
        """The platform column with one of these roles, or None when the codebook has none."""
        return next((v for v in self.variables if v.kind == "platform" and v.role in roles), None)

    @property
    def submission_key(self) -> Variable | None:
        """The column that tells submissions apart: a number (序号) or a text id (ResponseId)."""
        return self.platform_role(*SUBMISSION_KEY_ROLES)

    @property
    def duration(self) -> Variable | None:
        """The completion-time column (whole seconds), which `exclusions.min_duration` needs."""
        return self.platform_role("duration_seconds")

    def ignored_by(self, header: str) -> IgnoreRule | None:
        """The first `ignore_columns` rule that drops an export column, or None."""
        return next((r for r in self.ignore_columns if r.matches(header)), None)

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

    @property
    def has_display_logic(self) -> bool:
        """Whether any item is shown to some respondents only (a `shown_if` condition)."""
        return any(v.shown_if is not None for v in self.variables)

    @property
    def display_variables(self) -> tuple[Variable, ...]:
        """The variables display conditions read, in codebook order: the analysis data set
        keeps them, so that which items each respondent was shown can be told there too."""
        named = {n for v in self.variables if v.shown_if for n in v.shown_if.variables}
        return tuple(v for v in self.variables if v.name in named)

    @property
    def overall_rating(self) -> Variable:
        """The overall rating question, found by its role so that it may have any name."""
        return self.by_role(OVERALL_RATING_ROLE)

    def reverse_items(self, construct_id: str) -> tuple[str, ...]:
        """The reverse-worded items of a construct, in questionnaire order (may be none)."""
        return tuple(i for i in self.construct(construct_id).items if self.variable(i).reverse)

    @property
    def scales_without_reverse_items(self) -> tuple[str, ...]:
        """Constructs none of whose items is reverse-worded.

        Such a scale is allowed (many instruments have none), but agreement with every item
        cannot then be told apart from acquiescence, so the measurement results warn about it.
        """
        return tuple(c.id for c in self.constructs if c.items and not self.reverse_items(c.id))

    def score_range(self, construct_id: str) -> tuple[int, int] | None:
        """Lowest and highest possible mean score of a construct: its items' common range.

        None when the items' answer ranges differ (their mean then has no one range to label).
        """
        ranges = {self.variable(i).valid_range for i in self.construct(construct_id).items}
        return ranges.pop() if len(ranges) == 1 else None

    def sector(self, sector_id: str) -> Sector:
        return _find(self.sectors, "id", sector_id)

    def group_sector(self) -> dict[str, str]:
        """Respondent-group id -> respondent-sector id."""
        return {o.id: o.sector for o in self.respondent_group.options}  # type: ignore[misc]


def both(en: str, zh: str, joiner: str = " / ") -> str:
    """English and Chinese text joined for printing, or the English alone when there is no
    Chinese (an English-only codebook)."""
    return f"{en}{joiner}{zh}" if zh else en


def _find(items: tuple[T, ...], attr: str, value: str) -> T:
    for item in items:
        if getattr(item, attr) == value:
            return item
    raise KeyError(value)


KEY_PATHS = (
    "line N is the Nth line of the codebook file; a key path counts list entries from 0, "
    "so questions.7 is the eighth entry of questions"
)


class LocatedCodebookError(CodebookError):
    """A CodebookError whose message ends by saying how its lines and key paths count."""

    def __init__(self, violations: list[Violation], limit: int = 50) -> None:
        super().__init__(violations, limit)
        if any(v.row is not None or v.column is not None for v in violations):
            self.args = (f"{self.args[0]}\n  ({KEY_PATHS})",)


def load_codebook(path: str | Path) -> Codebook:
    """Read a codebook YAML and check it; a broken codebook stops everything downstream.

    Every problem names the codebook's line and the key's path (list entries counted from 0,
    as in `questions.6.items.0.header`: the first item of the seventh question).
    """
    path = Path(path)
    problem = input_path_problem(path, "the codebook file")
    if problem is not None and problem[0] != "file-exists":
        raise LocatedCodebookError.single(path, *problem)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LocatedCodebookError.single(path, "file-exists", "codebook file not found") from None
    except UnicodeDecodeError as exc:
        raise LocatedCodebookError.single(
            path,
            "utf8-text",
            f"the codebook is not UTF-8 text (byte {exc.start})",
            row=exc.object[: exc.start].count(b"\n") + 1,
            row_kind="line",
        ) from None
    if not text.strip():
        raise LocatedCodebookError.single(path, "non-empty-file", "the codebook file is empty")
    try:
        node, raw = _parse_codebook_yaml(text)
    except YamlBoundError as exc:
        raise LocatedCodebookError.single(
            path, exc.rule, exc.message, row=exc.line, row_kind="line"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None) or ""
        opened = getattr(exc, "context_mark", None)
        if context and opened is not None and mark is not None and opened.line != mark.line:
            context += f" that starts on line {opened.line + 1}"
        raise LocatedCodebookError.single(
            path,
            "valid-yaml",
            f"not valid YAML: {problem}" + (f" ({context})" if context else ""),
            row=None if mark is None else mark.line + 1,
            row_kind="line",
        ) from None
    if raw is None:
        raise LocatedCodebookError.single(
            path, "non-empty-file", "the codebook file holds only comments, no codebook"
        )
    if not isinstance(raw, dict):
        raise LocatedCodebookError.single(
            path,
            "mapping-at-top",
            f"the codebook must be a YAML mapping, not a {type(raw).__name__}",
            row=1,
            row_kind="line",
        )
    lines: dict[tuple[Any, ...], int] = {}
    repeated: list[tuple[tuple[Any, ...], int]] = []
    _key_lines(node, (), lines, repeated)
    locate = _Locator(str(path), lines)
    if repeated:
        raise LocatedCodebookError(
            [
                locate.at(
                    key,
                    "unique-key",
                    f"the key {key[-1]!r} is given twice in one mapping (first on line "
                    f"{lines[key]}); YAML would silently keep only the last",
                    line=line,
                )
                for key, line in repeated
            ]
        )
    return _build(raw, locate)


def _parse_codebook_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The codebook's node graph (for its lines) and its values, parsed by libyaml.

    Every Snakemake start and nearly every job reads the codebook, and PyYAML's pure-Python
    parser takes a tenth of a second over it. A text libyaml does not take is parsed again by
    the pure-Python parser, so that a broken codebook is refused with the same message and
    line whichever parser is installed.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return compose_bounded(text, fast), yaml.load(text, Loader=fast)
        except (yaml.YAMLError, YamlBoundError, RecursionError):
            pass
    return compose_bounded(text, yaml.SafeLoader), yaml.safe_load(text)


def _key_lines(
    node: yaml.Node,
    prefix: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    repeated: list[tuple[tuple[Any, ...], int]],
) -> None:
    """Line of every key and list entry; keys given twice in one mapping go to `repeated`."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = (*prefix, key_node.value)
            if key_node.value in seen:
                repeated.append((key, key_node.start_mark.line + 1))
                continue
            seen.add(key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _key_lines(value_node, key, lines, repeated)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*prefix, index)
            lines[key] = item.start_mark.line + 1
            _key_lines(item, key, lines, repeated)


class _Locator:
    """Violations of one codebook at the line of a key path (the nearest one that exists)."""

    def __init__(self, file: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.file = file
        self.lines = lines

    def at(
        self,
        path: tuple[Any, ...],
        rule: str,
        message: str,
        value: object = None,
        line: int | None = None,
    ) -> Violation:
        return Violation(
            self.file,
            rule,
            message,
            row=self.line(path) if line is None else line,
            row_kind="line",
            column=self.dotted(path) or None,
            value=value,
        )

    def line(self, path: tuple[Any, ...]) -> int | None:
        """Line of the key at `path`, or of the nearest enclosing one the file has."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    @staticmethod
    def dotted(path: tuple[Any, ...]) -> str:
        return ".".join(map(str, path))


class _Checker:
    """Collects the codebook's violations while its parts are read."""

    def __init__(self, locate: _Locator, english_only: bool = False) -> None:
        self.locate = locate
        self.problems: list[Violation] = []
        self.english_only = english_only

    def bad(self, path: tuple[Any, ...], rule: str, message: str, value: object = None) -> None:
        self.problems.append(self.locate.at(path, rule, message, value))

    def mapping(self, value: Any, path: tuple[Any, ...], what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.bad(path, "mapping-entry", f"{what} must be a mapping of keys to values")
        return None

    def listing(self, value: Any, path: tuple[Any, ...], what: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.bad(path, "list-entry", f"{what} must be a list")
        return []

    def entries(self, value: Any, path: tuple[Any, ...], what: str) -> list[tuple[Any, dict]]:
        """(path, mapping) of every entry of a list of mappings."""
        out = []
        for i, entry in enumerate(self.listing(value, path, what)):
            checked = self.mapping(entry, (*path, i), f"{what} entry {i + 1}")
            if checked is not None:
                out.append(((*path, i), checked))
        return out

    def required(self, entry: dict[str, Any], key: str, path: tuple[Any, ...], what: str) -> Any:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.bad((*path, key), "required-key", f"{what} lacks required key {key!r}")
            return None
        return value

    def bilingual(self, raw: Any, path: tuple[Any, ...], what: str) -> tuple[str, str]:
        """(zh, en) of a text; zh is "" throughout an English-only codebook.

        A codebook is English-only when its `instrument.title` has no 'zh' text (issue 14: the
        second language is optional); it is then refused if any other text gives 'zh'.
        Otherwise every text needs both languages.
        """
        if self.english_only:
            if not isinstance(raw, dict) or not raw.get("en"):
                self.bad(path, "english-text", f"{what} needs non-empty 'en' text")
                return "", ""
            if "zh" in raw:
                self.bad(
                    (*path, "zh"),
                    "one-language",
                    f"{what} gives 'zh' text in an English-only codebook (instrument.title has "
                    "no 'zh'): give instrument.title 'zh' text to make the codebook bilingual, "
                    "or leave this 'zh' out",
                    value=raw["zh"],
                )
        elif not isinstance(raw, dict) or not raw.get("zh") or not raw.get("en"):
            self.bad(path, "bilingual-text", f"{what} needs non-empty 'zh' and 'en' text")
            return "", ""
        if stray := sorted(str(k) for k, v in raw.items() if v is None):
            # YAML ends an unquoted text inside {...} at its first comma and reads the rest as
            # a key without a value: the wording would be cut short without a word
            self.bad(
                path,
                "bilingual-text",
                f"{what} has keys without a value: {stray}; a text with a comma inside {{...}} "
                "must be quoted",
            )
        return ("" if self.english_only else str(raw["zh"])), str(raw["en"])

    def flag(self, entry: dict[str, Any], key: str, path: tuple[Any, ...]) -> bool:
        value = entry.get(key, False)
        if not isinstance(value, bool):
            self.bad(
                (*path, key),
                "boolean-flag",
                f"{key} must be true or false (unquoted), not {value!r}",
                value=value,
            )
            return False
        return value

    def markers(self, raw: Any, path: tuple[Any, ...], what: str) -> list[MissingMarker]:
        """The missing-data markers a `missing_markers` or `missing` list declares.

        Each names either the cell `text` or the `code` the platform writes, a `reason` (a
        lower-case identifier such as unanswered or skipped, the key the data-quality log
        counts under) and a bilingual `meaning`; a cell declared twice in one list is an error.
        """
        out: list[MissingMarker] = []
        first: dict[tuple[str, Any], int] = {}
        for where, m in self.entries(raw, path, what):
            text, code = m.get("text"), m.get("code")
            label = f"{what} entry {where[-1]}"
            if (text is None) == (code is None):
                self.bad(
                    where,
                    "missing-marker-text-or-code",
                    f"{label} must give either 'text' (the cell text the platform writes) or "
                    "'code' (a number written in the cell), "
                    + (
                        "not both: a marker's code is no internal code"
                        if text is not None
                        else 'and gives neither (a blank cell is text: "")'
                    ),
                )
                continue
            if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
                self.bad((*where, "code"), "integer-code", f"{label} needs an integer 'code'", code)
                continue
            if text is not None and not isinstance(text, str):
                self.bad(
                    (*where, "text"),
                    "missing-marker-text",
                    f"{label} needs 'text' as a quoted string, not {text!r}",
                    text,
                )
                continue
            reason = m.get("reason")
            if not isinstance(reason, str) or not MISSING_REASON.fullmatch(reason):
                self.bad(
                    (*where, "reason"),
                    "missing-reason",
                    f"{label} needs a 'reason', a lower-case identifier such as unanswered or "
                    f"skipped (the data-quality log counts missing cells by it), not {reason!r}",
                    reason,
                )
                continue
            zh, en = self.bilingual(m.get("meaning"), (*where, "meaning"), f"{label} meaning")
            marker = MissingMarker(
                text=text,
                code=code,
                reason=reason,
                zh=zh,
                en=en,
                declared=self.locate.dotted(where),
            )
            key = _marker_identity(marker)
            if key in first:
                self.bad(
                    where,
                    "unique-missing-marker",
                    f"{label} declares the cell {marker.cell!r} already declared by entry "
                    f"{first[key]} of the same list",
                    marker.cell,
                )
                continue
            first[key] = where[-1]
            out.append(marker)
        return out

    def shown_if(self, raw: Any, path: tuple[Any, ...], what: str) -> ShownIf | None:
        """The display condition a `shown_if` key declares, its form checked here.

        Whether its variables exist, come before the condition and have the codes it names is
        checked once the whole codebook is read (`_display_problems`). The forms:
        ``{variable: arm, in: [2, 3]}``, ``{variable: arm, not_in: [1]}`` and
        ``{all: [...]}`` / ``{any: [...]}`` of such conditions.
        """
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.bad(
                path,
                "shown-if-form",
                f"{what} shown_if must be a mapping such as {{variable: arm, in: [2, 3]}}, "
                f"not {raw!r}",
                raw,
            )
            return None
        combiners = [k for k in SHOWN_IF_COMBINERS if k in raw]
        if combiners:
            key = combiners[0]
            stray = sorted(str(k) for k in raw if k != key)
            parts_raw = raw[key]
            if stray or not isinstance(parts_raw, list) or not parts_raw:
                self.bad(
                    path,
                    "shown-if-form",
                    f"{what} shown_if {key!r} takes a non-empty list of conditions and no "
                    f"other key" + (f" (found {stray})" if stray else ""),
                )
                return None
            parts = [self.shown_if(part, (*path, key, i), what) for i, part in enumerate(parts_raw)]
            if any(part is None for part in parts):
                return None
            return ShownIf(combine=key, parts=tuple(parts), declared=path)  # type: ignore[arg-type]
        tests = [k for k in SHOWN_IF_TESTS if k in raw]
        stray = sorted(str(k) for k in raw if k not in {"variable", *SHOWN_IF_TESTS})
        if not isinstance(raw.get("variable"), str) or len(tests) != 1 or stray:
            self.bad(
                path,
                "shown-if-form",
                f"{what} shown_if needs 'variable' and exactly one of 'in' or 'not_in' (or "
                "'all' / 'any' of such conditions)" + (f"; unknown keys {stray}" if stray else ""),
            )
            return None
        codes = raw[tests[0]]
        if (
            not isinstance(codes, list)
            or not codes
            or any(not isinstance(c, int) or isinstance(c, bool) for c in codes)
        ):
            self.bad(
                (*path, tests[0]),
                "shown-if-codes",
                f"{what} shown_if {tests[0]!r} needs a non-empty list of answer codes "
                f"(whole numbers), not {codes!r}",
                codes,
            )
            return None
        return ShownIf(
            variable=raw["variable"],
            codes=tuple(codes),
            negate=tests[0] == "not_in",
            declared=path,
        )

    def options(self, raw: Any, path: tuple[Any, ...], what: str) -> tuple[Option, ...]:
        if not isinstance(raw, list) or not raw:
            self.bad(path, "options-listed", f"{what} needs a list of options")
            return ()
        options: list[Option] = []
        first_code: dict[int, int] = {}
        first_label: dict[str, int] = {}
        first_en: dict[str, int] = {}
        for i, opt in enumerate(raw):
            where = (*path, i)
            code = opt.get("code") if isinstance(opt, dict) else None
            if not isinstance(code, int) or isinstance(code, bool):
                self.bad(
                    (*where, "code"),
                    "integer-code",
                    f"{what} option {i + 1} needs an integer 'code'",
                    value=code,
                )
                continue
            zh, en = self.bilingual(opt, where, f"{what} option {code}")
            if code in first_code:
                self.bad(
                    (*where, "code"),
                    "unique-option-code",
                    f"{what} repeats code {code}, already the code of its option "
                    f"{first_code[code] + 1}",
                    value=code,
                )
            first_code.setdefault(code, i)
            if zh and zh in first_label:
                self.bad(
                    (*where, "zh"),
                    "unique-option-label",
                    f"{what} repeats the Chinese label {zh!r} of its option {first_label[zh] + 1}",
                    value=zh,
                )
            first_label.setdefault(zh, i)
            if self.english_only and en and en in first_en:
                self.bad(
                    (*where, "en"),
                    "unique-option-label",
                    f"{what} repeats the label {en!r} of its option {first_en[en] + 1}",
                    value=en,
                )
            first_en.setdefault(en, i)
            options.append(
                Option(
                    code=code,
                    zh=zh,
                    en=en,
                    id=opt.get("id"),
                    sector=opt.get("sector"),
                    fill_in=opt.get("fill_in"),
                )
            )
        return tuple(options)


@dataclass(frozen=True)
class _Declared:
    """What the instrument, scales and constructs declare, for reading the questions."""

    markers: list[MissingMarker]
    scales: dict[str, tuple[Option, ...]]
    scale_missing: dict[str, list[MissingMarker]]
    constructs: dict[str, tuple[str, str, Any, Any]]


@dataclass
class _Collected:
    """The variables read so far, where each is defined, and the display conditions declared."""

    variables: list[Variable] = field(default_factory=list)
    # where each variable is defined, parallel to variables
    paths: list[tuple[Any, ...]] = field(default_factory=list)
    # each display condition declared, with the index of the first variable of its question
    # (what it tests must come before) and what it belongs to, to name in messages
    conditions: list[tuple[int, str, ShownIf]] = field(default_factory=list)
    construct_question: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def add(self, variable: Variable, path: tuple[Any, ...]) -> None:
        self.variables.append(variable)
        self.paths.append(path)


def _build(raw: dict[str, Any], locate: _Locator) -> Codebook:
    """Check the parsed codebook part by part and build it, or raise every problem found."""
    check = _Checker(locate)
    if "instrument" not in raw:
        check.bad(("instrument",), "required-key", "the codebook lacks required key 'instrument'")
    instrument = check.mapping(raw.get("instrument") or {}, ("instrument",), "instrument") or {}
    title = instrument.get("title")
    check.english_only = isinstance(title, dict) and bool(title.get("en")) and "zh" not in title
    title_zh, title_en = check.bilingual(
        instrument.get("title"), ("instrument", "title"), "instrument.title"
    )
    intro_zh, intro_en = check.bilingual(
        instrument.get("introduction"), ("instrument", "introduction"), "instrument.introduction"
    )
    markers = _instrument_markers(instrument, check)
    brackets = _fill_in_brackets(instrument, check)
    scales, scale_missing = _response_scales(raw, check)
    sectors = _respondent_sectors(raw, check)
    construct_meta, construct_paths = _construct_definitions(raw, check)
    declared = _Declared(markers, scales, scale_missing, construct_meta)
    found = _Collected()
    platform = _platform_preset(instrument, check)
    ignore_rules = _ignore_rules(raw.get("ignore_columns"), check)
    _read_platform_columns(raw, platform, ignore_rules, declared, check, found)
    questions = check.entries(raw.get("questions"), ("questions",), "questions")
    for qpath, q in questions:
        _read_question(q, qpath, declared, check, found)
    constructs = []
    for cid, (zh, en, problem, role) in construct_meta.items():
        items = tuple(v.name for v in found.variables if v.construct == cid)
        constructs.append(Construct(cid, zh, en, items, seed_problem=problem, role=role))
    codebook = Codebook(
        path=locate.file,
        instrument_id=str(instrument.get("id", "")),
        title_zh=title_zh,
        title_en=title_en,
        intro_zh=intro_zh,
        intro_en=intro_en,
        variables=tuple(found.variables),
        constructs=tuple(constructs),
        sectors=tuple(sectors),
        missing_markers=tuple(markers),
        fill_in_brackets=(str(brackets[0]), str(brackets[1])),
        questions=tuple(q for _, q in questions),
        platform=platform,
        answers=_answer_form(instrument, check),
        header_rows=int(PLATFORM_PRESETS[platform]["header_rows"]) if platform else 1,
        ignore_columns=tuple(ignore_rules),
    )
    where = _Places(found.paths, construct_paths, found.construct_question)
    sector_ids = {s.id for s in sectors}
    check.problems.extend(_check_consistency(codebook, sector_ids, locate, where))
    check.problems.extend(_missing_answer_collisions(codebook, locate))
    check.problems.extend(_ignored_codebook_columns(codebook, locate, where))
    check.problems.extend(_display_problems(codebook, found.conditions, locate))
    if check.problems:
        raise LocatedCodebookError(check.problems)
    return codebook


def _fill_in_brackets(instrument: dict[str, Any], check: _Checker) -> list[Any]:
    """The two brackets around a fill-in answer in an export cell (〖 〗 unless set)."""
    brackets = instrument.get("fill_in_brackets", ["〖", "〗"])
    if not isinstance(brackets, list) or len(brackets) != 2:
        check.bad(
            ("instrument", "fill_in_brackets"),
            "fill-in-brackets",
            "fill_in_brackets needs two strings",
        )
        brackets = ["〖", "〗"]
    return brackets


def _response_scales(
    raw: dict[str, Any], check: _Checker
) -> tuple[dict[str, tuple[Option, ...]], dict[str, list[MissingMarker]]]:
    """Each response scale's options and its own missing-answer markers, by scale id."""
    scales: dict[str, tuple[Option, ...]] = {}
    scale_missing: dict[str, list[MissingMarker]] = {}
    raw_scales = check.mapping(
        raw.get("response_scales") or {}, ("response_scales",), "response_scales"
    )
    for scale_id, scale in (raw_scales or {}).items():
        where = ("response_scales", scale_id)
        scale = check.mapping(scale, where, f"scale {scale_id}") or {}
        scales[scale_id] = check.options(
            scale.get("options"), (*where, "options"), f"scale {scale_id}"
        )
        scale_missing[scale_id] = check.markers(
            scale.get("missing"), (*where, "missing"), f"scale {scale_id} missing"
        )
    return scales, scale_missing


def _respondent_sectors(raw: dict[str, Any], check: _Checker) -> list[Sector]:
    """The respondent sectors the respondent groups belong to."""
    sectors = []
    for where, s in check.entries(
        raw.get("respondent_sectors"), ("respondent_sectors",), "respondent_sectors"
    ):
        sid = check.required(s, "id", where, "a respondent sector")
        zh, en = check.bilingual(s, where, f"sector {sid}")
        if sid is not None:
            sectors.append(Sector(id=sid, zh=zh, en=en, government=bool(s.get("government"))))
    return sectors


def _construct_definitions(
    raw: dict[str, Any], check: _Checker
) -> tuple[dict[str, tuple[str, str, Any, Any]], dict[str, tuple[Any, ...]]]:
    """Each construct's labels, seed problem and role, and where it is defined, by id."""
    construct_meta: dict[str, tuple[str, str, Any, Any]] = {}
    construct_paths: dict[str, tuple[Any, ...]] = {}
    for where, c in check.entries(raw.get("constructs"), ("constructs",), "constructs"):
        cid = check.required(c, "id", where, "a construct")
        zh, en = check.bilingual(c.get("label"), (*where, "label"), f"construct {cid}")
        if cid is None:
            continue
        if cid in construct_meta:
            check.bad((*where, "id"), "unique-construct", f"construct {cid} is defined twice", cid)
            continue
        construct_meta[cid] = (zh, en, c.get("seed_problem"), c.get("role"))
        construct_paths[cid] = where
    return construct_meta, construct_paths


def _read_platform_columns(
    raw: dict[str, Any],
    platform: str | None,
    ignore_rules: list[IgnoreRule],
    declared: _Declared,
    check: _Checker,
    found: _Collected,
) -> None:
    """Add the platform's columns (the preset's and the codebook's own) as variables."""
    for where, col, optional in _platform_entries(raw, platform, check):
        name = check.required(col, "name", where, "a platform column")
        header = check.required(col, "header", where, f"platform column {name}")
        label = col.get("label")
        if check.english_only and where[0] == "instrument" and isinstance(label, dict):
            # a platform preset's own column: its Chinese label is the preset's, not the
            # codebook's, and an English-only codebook leaves it out
            label = {k: v for k, v in label.items() if k != "zh"}
        zh, en = check.bilingual(label, (*where, "label"), f"platform column {name}")
        role = col.get("role")
        if role not in PLATFORM_ROLES:
            check.bad(
                (*where, "role"),
                "known-platform-role",
                f"platform column {name} has role {role!r}; expected one of "
                f"{sorted(PLATFORM_ROLES)}",
            )
        # an embedded-data column (such as an experimental arm) holds codes display
        # conditions can test: it lists them as a question lists its options
        arm_options = (
            check.options(col.get("options"), (*where, "options"), f"platform column {name}")
            if role == "embedded_data"
            else ()
        )
        if name is None or header is None:
            continue
        rule = next((r for r in ignore_rules if r.matches(str(header))), None)
        if rule is not None and optional and where[0] == "instrument":
            continue  # a preset's column the codebook ignores: dropped, not an error
        variable = Variable(
            name=str(name),
            kind="platform",
            header=str(header),
            text_zh=zh,
            text_en=en,
            role=role,
            options=arm_options,
            unit_suffix=col.get("unit_suffix"),
            missing=tuple(declared.markers),
            optional=optional or check.flag(col, "optional", where),
        )
        found.add(variable, where)


def _read_question(
    q: dict[str, Any],
    qpath: tuple[Any, ...],
    declared: _Declared,
    check: _Checker,
    found: _Collected,
) -> None:
    """Check one question's number, type and display condition, then add its variables."""
    qtype = q.get("type")
    number = q.get("number")
    what = f"question {number}"
    question_shown = check.shown_if(q.get("shown_if"), (*qpath, "shown_if"), what)
    if question_shown is not None:
        found.conditions.append((len(found.variables), what, question_shown))
    if not isinstance(number, int) or isinstance(number, bool):
        check.bad((*qpath, "number"), "question-number", "a question needs an integer 'number'")
    if qtype not in QUESTION_TYPES:
        check.bad(
            (*qpath, "type"),
            "known-question-type",
            f"{what} has type {qtype!r}; expected one of {sorted(QUESTION_TYPES)}",
        )
        return
    question_missing = check.markers(q.get("missing"), (*qpath, "missing"), f"{what} missing")
    question = _Question(q, qpath, question_shown, question_missing)
    if qtype == "likert_matrix":
        _read_likert_matrix(question, declared, check, found)
    else:
        _read_single_question(question, declared, check, found)


@dataclass(frozen=True)
class _Question:
    """A question being read: its entry, where it is, and what its variables inherit."""

    entry: dict[str, Any]
    path: tuple[Any, ...]
    shown: ShownIf | None  # its display condition
    missing: list[MissingMarker]  # its own missing-answer markers


def _known_scale(
    scale: Any, qpath: tuple[Any, ...], what: str, scales: dict[str, Any], check: _Checker
) -> None:
    """Report a question whose scale response_scales does not define."""
    if scale not in scales:
        check.bad(
            (*qpath, "scale"),
            "known-scale",
            f"{what} uses the scale {scale!r}, which response_scales does not define "
            f"(it defines {sorted(scales)})",
            scale,
        )


def _read_likert_matrix(
    question: _Question, declared: _Declared, check: _Checker, found: _Collected
) -> None:
    """Add the items of a Likert matrix: one variable per item, on the question's scale."""
    q, qpath = question.entry, question.path
    question_shown, question_missing = question.shown, question.missing
    number = q.get("number")
    what = f"question {number}"
    check.bilingual(q.get("text"), (*qpath, "text"), what)
    scale = q.get("scale")
    _known_scale(scale, qpath, what, declared.scales, check)
    construct = q.get("construct")
    if construct not in declared.constructs:
        check.bad(
            (*qpath, "construct"),
            "known-construct",
            f"{what} names unknown construct {construct!r}",
            construct,
        )
    else:
        found.construct_question.setdefault(construct, (*qpath, "items"))
    items = check.entries(q.get("items"), (*qpath, "items"), f"{what} items")
    if not items:
        check.bad((*qpath, "items"), "items-listed", f"{what} needs a list of items")
    for ipath, item in items:
        name = check.required(item, "name", ipath, f"an item of {what}")
        header = check.required(item, "header", ipath, f"item {name}")
        zh, en = check.bilingual(item.get("text"), (*ipath, "text"), f"item {name}")
        is_check = item.get("role") == "attention_check"
        item_missing = check.markers(
            item.get("missing"), (*ipath, "missing"), f"item {name} missing"
        )
        item_shown = check.shown_if(item.get("shown_if"), (*ipath, "shown_if"), f"item {name}")
        if item_shown is not None:
            first = len(found.variables) - sum(v.question == number for v in found.variables)
            found.conditions.append((first, f"item {name} of {what}", item_shown))
        if name is None or header is None:
            continue
        variable = Variable(
            name=str(name),
            kind="likert",
            header=str(header),
            text_zh=zh,
            text_en=en,
            role=item.get("role"),
            question=number,
            options=declared.scales.get(scale, ()),
            scale=scale,
            construct=None if is_check else construct,
            reverse=check.flag(item, "reverse", ipath),
            expected_code=item.get("expected_code"),
            missing=_declared_missing(
                declared.markers,
                declared.scale_missing.get(scale, []),
                question_missing,
                item_missing,
            ),
            shown_if=_both(question_shown, item_shown),
        )
        found.add(variable, ipath)


def _read_single_question(
    question: _Question, declared: _Declared, check: _Checker, found: _Collected
) -> None:
    """Add a single-choice, rating or free-text question, and a variable per fill-in option."""
    q, qpath, question_shown = question.entry, question.path, question.shown
    qtype = q.get("type")
    number = q.get("number")
    what = f"question {number}"
    name = check.required(q, "name", qpath, what)
    header = check.required(q, "header", qpath, what)
    zh, en = check.bilingual(q.get("text"), (*qpath, "text"), what)
    if qtype == "free_text":
        options: tuple[Option, ...] = ()
    elif qtype == "rating":
        options = declared.scales.get(q.get("scale"), ())
        _known_scale(q.get("scale"), qpath, what, declared.scales, check)
    else:
        options = check.options(q.get("options"), (*qpath, "options"), what)
    if name is None or header is None:
        return
    kind = {"single_choice": "single_choice", "rating": "rating", "free_text": "free_text"}[qtype]
    variable = Variable(
        name=str(name),
        kind=kind,
        header=str(header),
        text_zh=zh,
        text_en=en,
        role=q.get("role"),
        question=number,
        options=options,
        scale=q.get("scale"),
        reverse=check.flag(q, "reverse", qpath),
        skipped_for_groups=tuple(q.get("skipped_for_groups") or ()),
        missing=_declared_missing(
            declared.markers,
            declared.scale_missing.get(q.get("scale"), []) if qtype == "rating" else [],
            question.missing,
        ),
        shown_if=question_shown,
    )
    found.add(variable, qpath)
    for i, opt in enumerate(options):
        if opt.fill_in:
            fill_in = Variable(
                name=opt.fill_in,
                kind="fill_in",
                header=None,
                text_zh=f"{zh}（{opt.zh}，请注明）" if zh else "",
                text_en=f"{en} ({opt.en}, please specify)",
                question=number,
                fill_in_of=str(name),
                missing=tuple(declared.markers),
                shown_if=question_shown,
            )
            found.add(fill_in, (*qpath, "options", i, "fill_in"))


def _platform_preset(instrument: dict[str, Any], check: _Checker) -> str | None:
    """The platform preset `instrument.platform` names, or None.

    A one-word value (``wenjuanxing``, ``Qualtrics``: case does not matter) names a preset
    and must be one; any other text describes the platform in words (as codebooks did before
    presets) and leaves the platform columns to `platform_columns` alone.
    """
    value = instrument.get("platform")
    if not isinstance(value, str) or not PRESET_NAME.fullmatch(value.strip()):
        return None
    value = value.strip().lower()
    if value not in PLATFORM_PRESETS:
        check.bad(
            ("instrument", "platform"),
            "known-platform-preset",
            f"platform {value!r} is not a platform preset; choose one of "
            f"{sorted(PLATFORM_PRESETS)}, or describe the platform in words and list its "
            "columns under platform_columns",
            value,
        )
        return None
    return value


def _platform_entries(
    raw: dict[str, Any], platform: str | None, check: _Checker
) -> list[tuple[tuple[Any, ...], dict[str, Any], bool]]:
    """(key path, entry, optional) of every platform column: the preset's, each replaced in
    place by a `platform_columns` entry of the same name or header, then the other entries.

    A preset's column is optional (exports differ in the columns they include); a listed one
    is required unless it says `optional: true`.
    """
    listed = check.entries(raw.get("platform_columns"), ("platform_columns",), "platform_columns")
    if platform is None:
        return [(where, col, False) for where, col in listed]
    used: set[int] = set()
    out = []
    for col in PLATFORM_PRESETS[platform]["columns"]:
        replaced = next(
            (
                k
                for k, (_, entry) in enumerate(listed)
                if k not in used
                and (
                    entry.get("name") == col["name"]
                    or marker_key(str(entry.get("header") or "")) == marker_key(col["header"])
                )
            ),
            None,
        )
        if replaced is None:
            out.append((("instrument", "platform"), dict(col), True))
        else:
            used.add(replaced)
            out.append((*listed[replaced], False))
    out.extend((where, col, False) for k, (where, col) in enumerate(listed) if k not in used)
    return out


def _answer_form(instrument: dict[str, Any], check: _Checker) -> str:
    """How the export writes answers: "labels" (option text, as Wenjuanxing and Qualtrics'
    "Use choice text" download do; a whole number in range is read as a code, as keyed paper
    forms have it) or "codes" (Qualtrics' "Use numeric values": only codes are answers)."""
    value = instrument.get("answers", "labels")
    if value not in ANSWER_FORMS:
        check.bad(
            ("instrument", "answers"),
            "known-answer-form",
            f"answers {value!r} is not how an export writes answers; choose one of "
            f"{list(ANSWER_FORMS)}",
            value,
        )
        return "labels"
    return str(value)


def _ignore_rules(raw: Any, check: _Checker) -> list[IgnoreRule]:
    """The `ignore_columns` rules: a header as text, or ``{name: ...}``, ``{glob: ...}`` or
    ``{regex: ...}``; a regular expression that does not compile is refused here, naming its
    line, not when the export is read."""
    rules = []
    for i, entry in enumerate(check.listing(raw, ("ignore_columns",), "ignore_columns")):
        where = ("ignore_columns", i)
        if isinstance(entry, str):
            entry = {"name": entry}
        given = sorted(entry) if isinstance(entry, dict) else []
        if len(given) != 1 or given[0] not in ("name", "glob", "regex"):
            check.bad(
                where,
                "ignore-rule",
                "an ignore_columns entry is a column header, or a mapping with one key: name "
                "(a header), glob (such as 'Q*_DO') or regex (matching the whole header)",
            )
            continue
        kind = given[0]
        pattern = entry[kind]
        if not isinstance(pattern, str) or not pattern.strip():
            check.bad(
                (*where, kind), "ignore-rule", f"the {kind} to ignore must be a non-empty text"
            )
            continue
        if kind == "regex":
            try:
                re.compile(pattern)
            except re.error as exc:
                check.bad(
                    (*where, kind),
                    "ignore-regex",
                    f"the regular expression {pattern!r} does not compile: {exc}",
                    pattern,
                )
                continue
        rules.append(IgnoreRule(kind, pattern, check.locate.dotted(where)))
    return rules


def _ignored_codebook_columns(cb: Codebook, locate: _Locator, places: _Places) -> list[Violation]:
    """An ignore rule that matches a column the codebook reads: the column cannot be both
    read and dropped, and ignoring it silently would lose an item."""
    problems = []
    for i, var in enumerate(cb.variables):
        if var.header is None:
            continue
        rule = cb.ignored_by(var.header)
        if rule is None:
            continue
        path = tuple(int(p) if p.isdigit() else p for p in rule.declared.split("."))
        problems.append(
            locate.at(
                path,
                "ignore-not-codebook-column",
                f"the ignore_columns rule {rule} matches the header {var.header!r} of "
                f"{var.name}, which the codebook reads (at {locate.dotted(places.variables[i])}); "
                "narrow the pattern, or remove the variable from the codebook",
                value=var.header,
            )
        )
    return problems


def _both(question: ShownIf | None, item: ShownIf | None) -> ShownIf | None:
    """An item's display condition: its question's and its own, both to hold."""
    if question is None or item is None:
        return question or item
    return ShownIf(combine="all", parts=(question, item), declared=item.declared)


def _display_problems(
    cb: Codebook, conditions: list[tuple[int, str, ShownIf]], locate: _Locator
) -> list[Violation]:
    """Display conditions that name an unknown variable, a variable not before their question
    (or one of its own items), a variable without answer codes, or codes it does not have.

    A condition can only test what the platform knows when it shows the question: an earlier
    answer or an embedded-data column (platform column with role ``embedded_data``).
    """
    problems = []
    position = {v.name: i for i, v in enumerate(cb.variables)}
    for first, owner, condition in conditions:
        for leaf in condition.leaves:
            test = "not_in" if leaf.negate else "in"
            where = f"the display condition of {owner}"
            index = position.get(str(leaf.variable))
            if index is None:
                problems.append(
                    locate.at(
                        (*leaf.declared, "variable"),
                        "shown-if-variable",
                        f"{where} tests {leaf.variable!r}, which the codebook does not define "
                        "(name an earlier question's variable or a platform column with role "
                        "embedded_data)",
                        leaf.variable,
                    )
                )
                continue
            target = cb.variables[index]
            if target.kind != "platform" and index >= first:
                problems.append(
                    locate.at(
                        (*leaf.declared, "variable"),
                        "shown-if-earlier",
                        f"{where} tests {target.name}, which is not asked before it: whether "
                        "a question is shown can only depend on answers already given or on "
                        "embedded data",
                        leaf.variable,
                    )
                )
                continue
            codes = {o.code for o in target.options}
            if not codes or not (target.is_coded or target.role == "embedded_data"):
                problems.append(
                    locate.at(
                        (*leaf.declared, "variable"),
                        "shown-if-coded",
                        f"{where} tests {target.name}, which has no answer codes (a "
                        "single-choice, rating or Likert answer, or a platform column with "
                        "role embedded_data and options)",
                        leaf.variable,
                    )
                )
                continue
            unknown = [c for c in leaf.codes if c not in codes]
            if unknown:
                problems.append(
                    locate.at(
                        (*leaf.declared, test),
                        "shown-if-codes",
                        f"{where} tests {target.name} for codes {unknown}, which are not "
                        f"among its codes {sorted(codes)}",
                        unknown,
                    )
                )
    return problems


def _instrument_markers(instrument: dict[str, Any], check: _Checker) -> list[MissingMarker]:
    """The instrument-wide missing-data markers.

    `missing_markers` alone: exactly the markers listed. `missing_preset`: the platform
    preset's markers, with any listed ones added (a listed cell replaces the preset's
    declaration of it). With neither key, the preset of the platform `instrument.platform`
    names applies, else Wenjuanxing's: the platform this study's exports come from.
    """
    where = ("instrument", "missing_preset")
    listed = check.markers(
        instrument.get("missing_markers"), ("instrument", "missing_markers"), "missing_markers"
    )
    preset = instrument.get("missing_preset")
    if preset is None and "missing_markers" in instrument:
        return listed
    if preset is None:
        named = str(instrument.get("platform", "")).strip().lower()
        preset = named if named in MISSING_PRESETS else DEFAULT_MISSING_PRESET
    if preset not in MISSING_PRESETS:
        check.bad(
            where,
            "known-missing-preset",
            f"missing_preset {preset!r} is not a platform preset; choose one of "
            f"{sorted(MISSING_PRESETS)} or list the platform's markers under missing_markers",
            preset,
        )
        return listed
    declared = f"instrument.missing_preset ({preset})"
    presets = [
        MissingMarker(
            text=m.get("text"),
            code=m.get("code"),
            reason=m["reason"],
            zh=m["meaning"]["zh"],
            en=m["meaning"]["en"],
            declared=declared,
        )
        for m in MISSING_PRESETS[preset]
    ]
    return list(_declared_missing(presets, listed))


def _marker_identity(marker: MissingMarker) -> tuple[str, Any]:
    """Which cells a marker stands for: a text that is a whole number is that code."""
    if marker.code is not None:
        return ("code", marker.code)
    key = marker_key(marker.text or "")
    return ("code", int(key)) if _WHOLE.fullmatch(key) else ("text", key)


def _declared_missing(*levels: list[MissingMarker]) -> tuple[MissingMarker, ...]:
    """The markers of a variable, from the most general declaration to the most specific: a
    cell declared again at a more specific level takes that level's reason."""
    merged: dict[tuple[str, Any], MissingMarker] = {}
    for level in levels:
        for marker in level:
            merged.pop(_marker_identity(marker), None)
            merged[_marker_identity(marker)] = marker
    return tuple(merged.values())


def _missing_answer_collisions(cb: Codebook, locate: _Locator) -> list[Violation]:
    """A missing code (or text) that is also an answer code (or label) of the same item: one
    violation per declaration, naming the items it collides on."""
    hits: dict[str, list[str]] = {}
    first: dict[str, MissingMarker] = {}
    for var in cb.variables:
        codes = {o.code for o in var.options}
        labels = {marker_key(t) for o in var.options for t in (o.zh, o.en) if t}
        for marker in var.missing:
            kind, value = _marker_identity(marker)
            if (kind == "code" and value in codes) or (kind == "text" and value in labels):
                key = f"{marker.declared}|{marker.cell}"
                hits.setdefault(key, []).append(var.name)
                first.setdefault(key, marker)
    problems = []
    for key, names in hits.items():
        marker = first[key]
        what = "code" if _marker_identity(marker)[0] == "code" else "text"
        path = tuple(int(p) if p.isdigit() else p for p in marker.declared.split(" ")[0].split("."))
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        problems.append(
            locate.at(
                path,
                "missing-not-answer",
                f"the missing {what} {marker.cell!r} ({marker.reason}, declared at "
                f"{marker.declared}) is also an answer {'code' if what == 'code' else 'label'} "
                f"of {shown}: a code is either an answer or missing, never both; declare "
                "another missing code for these items or leave this one out",
                value=marker.cell,
            )
        )
    return problems


@dataclass(frozen=True)
class _Places:
    """Where the codebook defines each variable and construct, for pointing at them."""

    variables: list[tuple[Any, ...]]
    constructs: dict[str, tuple[Any, ...]]
    construct_items: dict[str, tuple[Any, ...]]

    def key(self, index: int, var: Variable, key: str) -> tuple[Any, ...]:
        path = self.variables[index]
        return path if var.kind == "fill_in" else (*path, key)

    def construct(self, cid: str) -> tuple[Any, ...]:
        return self.construct_items.get(cid) or self.constructs.get(cid) or ("constructs",)


def _check_consistency(
    cb: Codebook, sector_ids: set[str], locate: _Locator, places: _Places
) -> list[Violation]:
    """Rules that span several parts of the codebook."""
    problems = _duplicate_names_and_headers(cb, locate, places)
    problems += _scale_item_problems(cb, locate, places)
    problems += _construct_size_problems(cb, locate, places)
    problems += _respondent_group_problems(cb, sector_ids, locate, places)
    problems += _platform_role_problems(cb, locate)
    return problems


def _duplicate_names_and_headers(
    cb: Codebook, locate: _Locator, places: _Places
) -> list[Violation]:
    """Every variable needs its own name and its own export header."""
    problems = []
    for what, key in (("name", lambda v: v.name), ("header", lambda v: v.header)):
        first: dict[str, int] = {}
        for i, var in enumerate(cb.variables):
            value = key(var)
            if value is None:
                continue
            if value in first:
                earlier = places.key(first[value], cb.variables[first[value]], what)
                problems.append(
                    locate.at(
                        places.key(i, var, what),
                        f"unique-{what}",
                        f"{value!r} is already the {what} of the variable at "
                        f"{locate.dotted(earlier)} (line {locate.line(earlier)}); every "
                        f"variable needs its own {what}",
                        value=value,
                    )
                )
            else:
                first[value] = i
    return problems


def _scale_item_problems(cb: Codebook, locate: _Locator, places: _Places) -> list[Violation]:
    """Reverse coding only in a construct scale; an attention check expects one of its codes."""
    problems = []
    for i, var in enumerate(cb.variables):
        if var.reverse and (var.kind != "likert" or var.construct is None):
            problems.append(
                locate.at(
                    places.key(i, var, "reverse"),
                    "reverse-item-in-scale",
                    f"{var.name} is reverse-coded but belongs "
                    "to no construct scale; reverse coding only applies to scale items",
                )
            )
        if var.role == "attention_check":
            codes = {o.code for o in var.options}
            if var.expected_code not in codes:
                problems.append(
                    locate.at(
                        places.key(i, var, "expected_code"),
                        "attention-check-expected",
                        f"{var.name} expects code "
                        f"{var.expected_code!r}, which is not among its codes {sorted(codes)}",
                    )
                )
    return problems


def _construct_size_problems(cb: Codebook, locate: _Locator, places: _Places) -> list[Violation]:
    """A construct scale needs at least MIN_ITEMS_PER_SCALE items."""
    problems = []
    for c in cb.constructs:
        n = len(c.items)
        if n < MIN_ITEMS_PER_SCALE:
            problems.append(
                locate.at(
                    places.construct(c.id),
                    "items-per-scale",
                    f"construct {c.id} has {n} items; a scale needs at least {MIN_ITEMS_PER_SCALE}",
                )
            )
    return problems


def _respondent_group_problems(
    cb: Codebook, sector_ids: set[str], locate: _Locator, places: _Places
) -> list[Violation]:
    """Exactly one respondent-group question, each group in a sector; skips name known groups."""
    problems = []
    groups = [(i, v) for i, v in enumerate(cb.variables) if v.role == "respondent_group"]
    if len(groups) != 1:
        problems.append(
            locate.at(
                ("questions",),
                "one-respondent-group",
                f"{len(groups)} questions have role respondent_group; exactly one is needed",
            )
        )
    else:
        index, group = groups[0]
        for k, opt in enumerate(group.options):
            if not opt.id or opt.sector not in sector_ids:
                problems.append(
                    locate.at(
                        (*places.key(index, group, "options"), k, "sector"),
                        "group-has-sector",
                        f"respondent group option {opt.code} needs "
                        f"an 'id' and a 'sector' among {sorted(sector_ids)}",
                        value=opt.sector,
                    )
                )
    all_groups = {o.id for _, g in groups for o in g.options}
    for i, var in enumerate(cb.variables):
        unknown = set(var.skipped_for_groups) - all_groups
        if unknown:
            problems.append(
                locate.at(
                    places.key(i, var, "skipped_for_groups"),
                    "known-skip-group",
                    f"{var.name} skips unknown groups {sorted(unknown)}",
                )
            )
    return problems


def _platform_role_problems(cb: Codebook, locate: _Locator) -> list[Violation]:
    """At most one platform column for the submission key and for each single role."""
    problems = []
    roles = Counter(v.role for v in cb.variables if v.kind == "platform")
    for needed in (SUBMISSION_KEY_ROLES, *((r,) for r in SINGLE_PLATFORM_ROLES)):
        found = sum(roles[r] for r in needed)
        if found > 1:
            problems.append(
                locate.at(
                    ("platform_columns",),
                    "platform-column",
                    f"at most one platform column may have role {' or '.join(needed)} "
                    f"(found {found})",
                )
            )
    return problems
