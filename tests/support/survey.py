"""The shipped survey configuration as the survey tests use it."""

from __future__ import annotations

import yaml

from tests.support.paths import ROOT

# The exclusion rules of the shipped config.
RULES = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["exclusions"]

# The default population model's defect counts: what the exclusion rules must find.
DEFAULT_DEFECTS = {"duplicates": 6, "attention_check": 7, "min_duration": 8, "straight_lining": 5}
