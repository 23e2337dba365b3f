"""Policy-document strand: the 2011-2018 air-pollution documents, coded for problem 2.

Register and texts -> corpus (`run_policy_corpus`); corpus -> department and instrument
codings, the department co-mention network, responsibility spread per instrument category, the
policy timeline, a variables fragment, tables and figures (`run_policy_text_analysis`).

Names are imported lazily: the workflow reads the register while it builds the DAG, and that
should not pay for matplotlib, networkx and jieba.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "hazegov.policy.register": (
        "PartialDate",
        "load_register",
        "parse_partial_date",
        "register_records",
        "register_text_files",
    ),
    "hazegov.policy.readers": ("PolicyText", "UnreadableTextError", "read_policy_text"),
    "hazegov.policy.text": (
        "Segmenter",
        "cjk_share",
        "detect_language",
        "segmenter_for",
        "split_paragraphs",
        "split_sentences",
    ),
    "hazegov.policy.lexicon": ("Entry", "Lexicon", "load_lexicon"),
    "hazegov.policy.coding": (
        "CodedCorpus",
        "LanguageSettings",
        "centralities",
        "code_corpus",
        "comention_network",
        "department_category_links",
        "department_mentions",
        "edge_list",
        "find_mentions",
        "hhi",
        "instrument_coding",
        "instrument_mix",
        "most_central",
        "responsibility_spread",
    ),
    "hazegov.policy.figures": ("plot_policy_timeline", "policy_events"),
    "hazegov.policy.settings": ("analysis_settings", "ingest_settings"),
    "hazegov.policy.stages": ("read_corpus", "run_policy_corpus", "run_policy_text_analysis"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hazegov.policy' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
