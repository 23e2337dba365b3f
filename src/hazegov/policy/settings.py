"""Settings of the policy-document strand (`config/policies.yaml`, key `policies`), checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hazegov.errors import ConfigError, Violation
from hazegov.policy.coding import BILINGUAL_KEEP, WINDOWS, LanguageSettings
from hazegov.policy.readers import ENCODINGS

ON_UNREADABLE = ("error", "warn")
CENTRALITIES = {
    "degree": "degree_centrality",
    "betweenness": "betweenness",
    "eigenvector": "eigenvector",
}
SOURCE = "config['policies']"


@dataclass(frozen=True)
class IngestSettings:
    """error (default): an unreadable text stops the run; warn: it is logged and left out."""

    on_unreadable: str = "error"
    text_encoding: str = "auto"


@dataclass(frozen=True)
class AnalysisSettings:
    language: LanguageSettings = field(default_factory=LanguageSettings)
    window: str = "document"
    most_central_by: str = "degree"
    policy_wave: tuple[int, int] = (2012, 2014)


def _choice(
    raw: Mapping[str, Any],
    key: str,
    allowed: tuple[str, ...],
    where: str,
    default: str,
    problems: list[Violation],
) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        problems.append(
            Violation(
                SOURCE,
                "config-choice",
                f"must be one of {', '.join(allowed)}",
                column=f"{where}.{key}",
                value=value,
            )
        )
        return default
    return str(value)


def _share(raw: Mapping[str, Any], key: str, default: float, problems: list[Violation]) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        problems.append(
            Violation(
                SOURCE,
                "config-share",
                "must be a number from 0 to 1",
                column=f"language.{key}",
                value=value,
            )
        )
        return default
    return float(value)


def ingest_settings(raw: Mapping[str, Any] | None) -> IngestSettings:
    raw = dict(raw or {})
    problems: list[Violation] = []
    settings = IngestSettings(
        on_unreadable=_choice(raw, "on_unreadable", ON_UNREADABLE, "ingest", "error", problems),
        text_encoding=_choice(raw, "text_encoding", ENCODINGS, "ingest", "auto", problems),
    )
    if problems:
        raise ConfigError(problems)
    return settings


def analysis_settings(
    language: Mapping[str, Any] | None, analysis: Mapping[str, Any] | None
) -> AnalysisSettings:
    language, analysis = dict(language or {}), dict(analysis or {})
    problems: list[Violation] = []
    zh_min = _share(language, "zh_min_cjk_share", 0.6, problems)
    en_max = _share(language, "en_max_cjk_share", 0.1, problems)
    if en_max >= zh_min:
        problems.append(
            Violation(
                SOURCE,
                "config-order",
                "en_max_cjk_share must be below zh_min_cjk_share",
                column="language",
                value=(en_max, zh_min),
            )
        )
    keep = _choice(language, "bilingual_keep", BILINGUAL_KEEP, "language", "zh", problems)
    window = _choice(analysis, "window", WINDOWS, "analysis", "document", problems)
    central = _choice(
        analysis, "most_central_by", tuple(CENTRALITIES), "analysis", "degree", problems
    )
    wave = analysis.get("policy_wave", [2012, 2014])
    if (
        not isinstance(wave, list | tuple)
        or len(wave) != 2
        or not all(isinstance(y, int) and not isinstance(y, bool) for y in wave)
        or wave[0] > wave[1]
    ):
        problems.append(
            Violation(
                SOURCE,
                "config-year-range",
                "must be [first year, last year]",
                column="analysis.policy_wave",
                value=wave,
            )
        )
        wave = [2012, 2014]
    if problems:
        raise ConfigError(problems)
    return AnalysisSettings(
        language=LanguageSettings(zh_min, en_max, keep),
        window=window,
        most_central_by=central,
        policy_wave=(int(wave[0]), int(wave[1])),
    )
