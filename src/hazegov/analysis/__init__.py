"""Measurement and explanatory analyses of questionnaire data.

Each public function takes a data frame and a model description (for a measurement model, a
mapping construct -> item columns) and returns tidy results. They work on any questionnaire the
codebook describes. Degenerate data raise `AnalysisError` or carry an explicit warning in the
result; they never yield a silent number.

The public functions are importable from here (``from hazegov.analysis import fit_cfa``); they
live in the modules named in `EXPORTS`. A module is imported when one of its functions is first
asked for, not with the package, so that a pipeline step that needs the missing-data rule does
not pay for importing semopy, pingouin and statsmodels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module of hazegov.analysis that defines it
EXPORTS: dict[str, str] = {
    "AnalysisError": "_common",
    # the analysis sample
    "apply_missing_data_rule": "sample",
    "construct_scores": "sample",
    # items and reliability
    "item_statistics": "items",
    "cronbach_alpha": "reliability",
    "mcdonald_omega": "reliability",
    "scale_reliability": "reliability",
    "item_reliability": "reliability",
    # factorability and exploratory factor analysis
    "kmo": "factorability",
    "bartlett_sphericity": "factorability",
    "parallel_analysis": "factorability",
    "exploratory_factor_analysis": "efa",
    # confirmatory factor analysis, validity, common method variance, invariance
    "fit_cfa": "cfa",
    "fit_semopy": "cfa",
    "construct_validity": "cfa",
    "htmt": "cfa",
    "harman_single_factor": "cmv",
    "common_latent_factor": "cmv",
    "measurement_invariance": "invariance",
    # structural paths
    "fit_path_model": "sem",
    # group comparisons
    "compare_groups": "groups",
    "compare_constructs": "groups",
    "one_way_anova": "groups",
    # regression
    "ols_hc3": "regression",
    "ordinal_logit": "regression",
}

__all__ = [
    "AnalysisError",
    "apply_missing_data_rule",
    "bartlett_sphericity",
    "common_latent_factor",
    "compare_constructs",
    "compare_groups",
    "construct_scores",
    "construct_validity",
    "cronbach_alpha",
    "exploratory_factor_analysis",
    "fit_cfa",
    "fit_path_model",
    "fit_semopy",
    "harman_single_factor",
    "htmt",
    "item_reliability",
    "item_statistics",
    "kmo",
    "mcdonald_omega",
    "measurement_invariance",
    "ols_hc3",
    "one_way_anova",
    "ordinal_logit",
    "parallel_analysis",
    "scale_reliability",
]

if TYPE_CHECKING:  # what static analysis sees; at run time `__getattr__` imports on demand
    from hazegov.analysis._common import AnalysisError
    from hazegov.analysis.cfa import construct_validity, fit_cfa, fit_semopy, htmt
    from hazegov.analysis.cmv import common_latent_factor, harman_single_factor
    from hazegov.analysis.efa import exploratory_factor_analysis
    from hazegov.analysis.factorability import bartlett_sphericity, kmo, parallel_analysis
    from hazegov.analysis.groups import compare_constructs, compare_groups, one_way_anova
    from hazegov.analysis.invariance import measurement_invariance
    from hazegov.analysis.items import item_statistics
    from hazegov.analysis.regression import ols_hc3, ordinal_logit
    from hazegov.analysis.reliability import (
        cronbach_alpha,
        item_reliability,
        mcdonald_omega,
        scale_reliability,
    )
    from hazegov.analysis.sample import apply_missing_data_rule, construct_scores
    from hazegov.analysis.sem import fit_path_model


def __getattr__(name: str) -> Any:
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
