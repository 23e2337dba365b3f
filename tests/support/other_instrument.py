"""Another questionnaire than the haze study's: a codebook variant and answers to it.

Issue 14: a user with another instrument had to change code, because the haze study's scale
lengths, reverse-worded items, control names, rating name and 5-point range were written into
it. This variant of config/codebook.yaml has what such an instrument may have:

- a 2-item scale (GRID keeps GRID1 and GRID2) with no reverse-worded item,
- a 7-point scale (PART is answered on ``agree7``; its attention check expects "somewhat agree"),
- a 4-item scale without a reverse-worded item (EFF4 keeps its wording but loses the flag),
- controls under other names: ``sex`` (was gender), ``schooling`` (was education) and
  ``tenure`` (was years_in_post, still skipped by residents),
- the overall rating named ``overall_rating`` (was satisfaction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hazegov.survey.codebook import Codebook, load_codebook
from tests.support.paths import CODEBOOK

RENAMED = {
    "gender": "sex",
    "education": "schooling",
    "years_in_post": "tenure",
    "satisfaction": "overall_rating",
}
CONTROLS = ["sector", "sex", "age_band", "schooling", "tenure"]
AGREE7 = [
    ("非常不同意", "Strongly disagree"),
    ("不同意", "Disagree"),
    ("有点不同意", "Somewhat disagree"),
    ("一般", "Neither agree nor disagree"),
    ("有点同意", "Somewhat agree"),
    ("同意", "Agree"),
    ("非常同意", "Strongly agree"),
]


def _question(raw: dict[str, Any], construct: str) -> dict[str, Any]:
    return next(q for q in raw["questions"] if q.get("construct") == construct)


def other_codebook_raw() -> dict[str, Any]:
    """The variant as parsed YAML, for tests that change it further."""
    raw = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    raw["response_scales"]["agree7"] = {
        "label": {"zh": "七级同意量表", "en": "Seven-point agreement scale"},
        "options": [{"code": i + 1, "zh": zh, "en": en} for i, (zh, en) in enumerate(AGREE7)],
    }
    for question in raw["questions"]:
        if question.get("name") in RENAMED:
            question["name"] = RENAMED[question["name"]]
    grid = _question(raw, "GRID")
    grid["items"] = grid["items"][:2]
    for item in _question(raw, "EFF")["items"]:
        item.pop("reverse", None)
    part = _question(raw, "PART")
    part["scale"] = "agree7"
    for item in part["items"]:
        if item.get("role") == "attention_check":
            item["expected_code"] = 5
            item["text"]["en"] = (
                'To confirm that you are reading carefully, choose "Somewhat agree"'
            )
    return raw


def write_other_codebook(directory: Path) -> Path:
    path = directory / "other_codebook.yaml"
    path.write_text(yaml.safe_dump(other_codebook_raw(), allow_unicode=True), encoding="utf-8")
    return path


def other_codebook(directory: Path) -> Codebook:
    return load_codebook(write_other_codebook(directory))


def other_analysis_frame(cb: Codebook, n: int = 60, seed: int = 14) -> pd.DataFrame:
    """Cleaned answers to the variant, as the cleaning step lays out the analysis data set.

    Each respondent's items share a common tendency so that scales hang together; tenure is
    missing for residents (skipped by design), and one respondent misses one PART item.
    """
    rng = np.random.default_rng(seed)
    groups = cb.respondent_group.options
    group_ids = [groups[i % len(groups)].id for i in range(n)]
    sector = {o.id: o.sector for o in groups}
    government = {s.id: s.government for s in cb.sectors}
    out: dict[str, Any] = {
        "respondent_id": [f"R{i + 1:03d}" for i in range(n)],
        "resp_group": pd.array(group_ids, dtype="string"),
        "sector": pd.array([sector[g] for g in group_ids], dtype="string"),
        "government": pd.array([government[sector[g]] for g in group_ids], dtype="boolean"),
    }
    for var in cb.demographics:
        lo, hi = var.valid_range  # type: ignore[misc]
        codes = rng.integers(lo, hi + 1, n).astype(object)
        for i, group in enumerate(group_ids):
            if group in var.skipped_for_groups:
                codes[i] = None
        out[var.name] = pd.array(codes, dtype="Int64")
    tendency = rng.uniform(0.15, 0.85, n)
    for var in cb.likert_items:
        lo, hi = var.valid_range  # type: ignore[misc]
        share = np.clip(tendency + rng.normal(0, 0.15, n), 0, 1)
        out[var.name] = pd.array(np.rint(lo + share * (hi - lo)).astype(int), dtype="Int64")
    out["PART2"][3] = pd.NA
    rating = cb.overall_rating
    lo, hi = rating.valid_range  # type: ignore[misc]
    share = np.clip(tendency + rng.normal(0, 0.25, n), 0, 1)
    out[rating.name] = pd.array(np.rint(lo + share * (hi - lo)).astype(int), dtype="Int64")
    return pd.DataFrame(out)


# An experimental-arm design (issue 14, display logic): the platform writes each respondent's
# arm in an embedded-data column, and the effectiveness and grid-model blocks (questions 11
# and 12) are shown to arms 2 and 3 only.
ARM_HEADER = "实验组"
ARM_BLOCKS = ("EFF", "GRID")
ARM_SHOWN = [2, 3]


def arm_codebook_raw(raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """A codebook (default: the haze study's) with an arm column and blocks shown by arm."""
    raw = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8")) if raw is None else raw
    raw["platform_columns"].append(
        {
            "name": "arm",
            "header": ARM_HEADER,
            "role": "embedded_data",
            "label": {"zh": "实验组别", "en": "Experimental arm"},
            "options": [{"code": c, "zh": f"第{c}组", "en": f"Arm {c}"} for c in (1, 2, 3)],
        }
    )
    for construct in ARM_BLOCKS:
        _question(raw, construct)["shown_if"] = {"variable": "arm", "in": list(ARM_SHOWN)}
    return raw


def write_arm_codebook(directory: Path, raw: dict[str, Any] | None = None) -> Path:
    path = directory / "arm_codebook.yaml"
    text = yaml.safe_dump(arm_codebook_raw(raw), allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path
