"""A results report for any questionnaire, generated from templates (issue 14).

Besides the study's own paper, the workflow's target ``results_report`` writes a Quarto report
(sample and participant flow, item statistics, reliability, exploratory and confirmatory factor
analysis, measurement invariance, group comparisons, regressions) into ``results/report/``.
Its sources are assembled from the generic templates in ``templates/`` beside this module
using only the codebook, a few analysis settings and the pipeline's outputs:

* every number in the prose is a ``{{< var ... >}}`` shortcode resolved from the generated
  ``_variables.yml`` (the scale names and labels too, so the templates name nothing of one
  study);
* every table is written from the pipeline's CSV outputs into ``tables/*.md``;
* a section whose results are not there (an input not given, a model not estimable, no group
  to compare) is left out, with its cross-references.

The sources use only the Quarto syntax the paper uses (``var`` and ``include`` shortcodes,
pipe tables with captions, a ``.block`` div), so the project's preview renderer and checks
(:mod:`hazegov.paper.render`, :mod:`hazegov.paper.checks`) apply to them unchanged.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import pandas as pd

from hazegov.formatting import fmt_ci, fmt_p, fmt_p_op, num, pct
from hazegov.io import read_json, write_text
from hazegov.paper.tables import Column, pipe_table
from hazegov.paper.variables import REAL_NOTICE, SYNTHETIC_NOTICE, write_variables
from hazegov.privacy.disclosure import as_count
from hazegov.survey.codebook import Codebook, load_codebook

__all__ = [
    "ALPHA",
    "MAX_CFI_DROP",
    "MAX_RMSEA_RISE",
    "NOT_ESTIMABLE",
    "RELIABILITY_THRESHOLD",
    "ReportInputs",
    "render_report",
    "report_sources",
    "report_variables",
    "scale_key",
    "template",
    "write_report",
]

# Conventions of the report's verdicts, quoted in the prose through variables.
ALPHA = 0.05
RELIABILITY_THRESHOLD = 0.70
MAX_CFI_DROP = 0.010  # Chen (2007): a level holds when CFI drops by at most .010 ...
MAX_RMSEA_RISE = 0.015  # ... and RMSEA rises by at most .015
SCORE = "score_"
QUARTO_PROJECT = "quarto.yml"


@dataclass(frozen=True)
class ReportInputs:
    """The pipeline outputs the report reads; a family whose files are ``None`` is left out.

    Paths are those the workflow writes (``results/...``); only ``flow`` is required.
    """

    flow: Path | str
    missing_data: Path | str | None = None
    item_statistics: Path | str | None = None
    scale_reliability: Path | str | None = None
    factor_structure: Path | str | None = None
    efa_loadings: Path | str | None = None
    efa_variance: Path | str | None = None
    cfa_fit: Path | str | None = None
    cfa_loadings: Path | str | None = None
    invariance_models: Path | str | None = None
    invariance_summary: Path | str | None = None
    group_omnibus: Path | str | None = None
    ols_coefficients: Path | str | None = None
    ols_fit: Path | str | None = None
    ordinal_coefficients: Path | str | None = None
    ordinal_fit: Path | str | None = None

    def has(self, *names: str) -> bool:
        """Whether every named input is given and exists.

        Parameters
        ----------
        *names : str
            Field names of this class.

        Returns
        -------
        bool
            False when one of them is ``None`` or names no file.
        """
        return all(getattr(self, n) is not None and Path(getattr(self, n)).is_file() for n in names)


def template(name: str) -> Template:
    """One of the report's templates (``templates/<name>.qmd``) as a :class:`string.Template`.

    Parameters
    ----------
    name : str
        The template's file name without ``.qmd``.

    Returns
    -------
    string.Template
        Its ``${...}`` placeholders take structure only (a scale's key, a step's name, a
        section's text), never a number or a label.
    """
    text = resources.files(__package__).joinpath("templates", f"{name}.qmd").read_text("utf-8")
    return Template(text)


def scale_key(construct_id: str) -> str:
    """A construct id as a variable key and anchor: letters, digits and ``_`` only.

    Examples
    --------
    >>> scale_key("Trust-in.gov 2")
    'Trust_in_gov_2'
    """
    return re.sub(r"\W", "_", construct_id)


def _anchor(key: str) -> str:
    return key.lower().replace("_", "-")


NOT_ESTIMABLE = "not estimable"


def _read(path: Path | str) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _words(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names) or "no further variables"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _scale_label(cb: Codebook, construct: str) -> str:
    try:
        return cb.construct(construct).en
    except KeyError:
        return construct


# --------------------------------------------------------------------------- variables


def _synthetic(inputs: ReportInputs) -> bool:
    """Whether the outputs come from synthetic data (the flow's ``data_source``, as written by
    the cleaning step from the export's provenance)."""
    return bool((_read(inputs.flow)["data_source"].astype(str) == "synthetic").all())


def _sample(inputs: ReportInputs) -> dict[str, Any]:
    flow = _read(inputs.flow)
    by_step = flow.set_index("step")
    # the flow as published (hazegov.survey.describe.published_flow): a small count is "<m" or "x"
    received = as_count(by_step.loc["received", "remaining"])
    analysed = as_count(by_step.loc["analysed", "remaining"])
    steps = {
        str(row.step): {"rule": str(row.rule), "excluded": as_count(row.excluded)}
        for row in flow.itertuples(index=False)
        if row.step not in ("received", "analysed") and str(row.applied).lower() == "true"
    }
    return {
        "received": received,
        "analysed": analysed,
        "analysed_percent": (
            num(100 * analysed / received, 1, missing=NOT_ESTIMABLE)
            if isinstance(received, int) and isinstance(analysed, int) and received
            else "withheld"
        ),
        "steps": steps,
    }


def _items(inputs: ReportInputs, cb: Codebook) -> dict[str, Any]:
    stats = _read(inputs.item_statistics).set_index("item")  # type: ignore[arg-type]
    out: dict[str, Any] = {"n_scales": 0, "n_items": 0}
    for construct in cb.constructs:
        items = [i for i in construct.items if i in stats.index]
        if not items:
            continue
        rows = stats.loc[items]
        out[scale_key(construct.id)] = {
            "mean_min": num(rows["mean"].min(), missing=NOT_ESTIMABLE),
            "mean_max": num(rows["mean"].max(), missing=NOT_ESTIMABLE),
            "floor_max": pct(rows["floor_share"].max(), missing=NOT_ESTIMABLE),
            "ceiling_max": pct(rows["ceiling_share"].max(), missing=NOT_ESTIMABLE),
        }
        out["n_scales"] += 1
        out["n_items"] += len(items)
    return out


def _reliability(inputs: ReportInputs) -> dict[str, Any]:
    scales = _read(inputs.scale_reliability)  # type: ignore[arg-type]
    alpha = scales["alpha_listwise"].astype(float)
    out: dict[str, Any] = {
        "alpha_min": num(alpha.min(), missing=NOT_ESTIMABLE),
        "alpha_max": num(alpha.max(), missing=NOT_ESTIMABLE),
        "omega_min": num(scales["omega_total"].min(), missing=NOT_ESTIMABLE),
        "omega_max": num(scales["omega_total"].max(), missing=NOT_ESTIMABLE),
        "n_scales": len(scales),
        "n_alpha_below_070": int((alpha < RELIABILITY_THRESHOLD).sum()),
        "threshold": num(RELIABILITY_THRESHOLD, missing=NOT_ESTIMABLE),
    }
    for row in scales.itertuples(index=False):
        out[scale_key(str(row.construct))] = {
            "alpha": num(row.alpha_listwise, missing=NOT_ESTIMABLE),
            "alpha_ci": fmt_ci(row.alpha_listwise_ci_lower, row.alpha_listwise_ci_upper),
            "omega": num(row.omega_total, missing=NOT_ESTIMABLE),
        }
    return out


def _efa(inputs: ReportInputs) -> dict[str, Any]:
    summary = read_json(inputs.factor_structure)  # type: ignore[arg-type]
    variance = _read(inputs.efa_variance)  # type: ignore[arg-type]
    bartlett = summary["bartlett"]
    pa = summary["parallel_analysis"]
    efa = summary["efa"]
    return {
        "kmo": num(summary["kmo_overall"], missing=NOT_ESTIMABLE),
        "bartlett_chi2": num(bartlett["chi2"], missing=NOT_ESTIMABLE),
        "bartlett_df": int(bartlett["df"]),
        "bartlett_p": fmt_p_op(bartlett["p"]),
        "pa_method": str(pa["method"]),
        "pa_suggested": int(pa["suggested_n_factors"]),
        "n_factors": int(efa["n_factors"]),
        "method": str(efa["method"]),
        "rotation": str(efa["rotation"]),
        "variance_pct": pct(variance["cumulative"].iloc[-1], missing=NOT_ESTIMABLE),
    }


def _cfa(inputs: ReportInputs) -> dict[str, Any]:
    fit = _read(inputs.cfa_fit).iloc[0]  # type: ignore[arg-type]
    loadings = _read(inputs.cfa_loadings)["std_estimate"].astype(float)  # type: ignore[arg-type]
    return {
        "n": as_count(fit["n"]),
        "chi2": num(fit["chi2"], missing=NOT_ESTIMABLE),
        "df": int(fit["df"]),
        "p": fmt_p_op(fit["p_value"]),
        "cfi": num(fit["cfi"], 3, missing=NOT_ESTIMABLE),
        "tli": num(fit["tli"], 3, missing=NOT_ESTIMABLE),
        "rmsea": num(fit["rmsea"], 3, missing=NOT_ESTIMABLE),
        "rmsea_ci": fmt_ci(fit["rmsea_ci_lower"], fit["rmsea_ci_upper"], 3),
        "srmr": num(fit["srmr"], 3, missing=NOT_ESTIMABLE),
        "loading_min": num(loadings.min(), missing=NOT_ESTIMABLE),
        "loading_max": num(loadings.max(), missing=NOT_ESTIMABLE),
    }


def _invariance_estimated(inputs: ReportInputs) -> bool:
    if not inputs.has("invariance_models", "invariance_summary"):
        return False
    summary = read_json(inputs.invariance_summary)  # type: ignore[arg-type]
    return summary.get("status") == "estimated"


def _invariance(inputs: ReportInputs, group: str) -> dict[str, Any]:
    rows = _read(inputs.invariance_models).set_index("model")  # type: ignore[arg-type]

    def holds(level: str) -> bool:
        r = rows.loc[level]
        return bool(r["delta_cfi"] >= -MAX_CFI_DROP and r["delta_rmsea"] <= MAX_RMSEA_RISE)

    highest = "configural"
    if holds("metric"):
        highest = "scalar" if holds("scalar") else "metric"
    out: dict[str, Any] = {
        "group": group,
        "n_groups": int(rows.loc["configural", "n_groups"]),
        "n": as_count(rows.loc["configural", "n"]),
        "highest_level": highest,
        "max_cfi_drop": f"{MAX_CFI_DROP:.3f}",
        "max_rmsea_rise": f"{MAX_RMSEA_RISE:.3f}",
    }
    for level in ("metric", "scalar"):
        r = rows.loc[level]
        out[level] = {
            "delta_cfi": num(r["delta_cfi"], 3, missing=NOT_ESTIMABLE),
            "delta_rmsea": num(r["delta_rmsea"], 3, missing=NOT_ESTIMABLE),
        }
    return out


def _groups(inputs: ReportInputs, group: str) -> dict[str, Any]:
    omnibus = _read(inputs.group_omnibus)  # type: ignore[arg-type]
    welch = omnibus[omnibus["test"] == "welch_anova"]
    out: dict[str, Any] = {
        "group": group,
        "n_groups": int(welch["k_groups"].max()),
        "n_scales": len(welch),
        "n_significant": int((welch["p_adj"].astype(float) < ALPHA).sum()),
        "alpha": num(ALPHA, missing=NOT_ESTIMABLE),
    }
    for row in welch.itertuples(index=False):
        out[scale_key(str(row.outcome))] = {
            "f": num(row.statistic, missing=NOT_ESTIMABLE),
            "df1": f"{float(row.df1):.0f}",
            "df2": num(row.df2, 1, missing=NOT_ESTIMABLE),
            "p_holm": fmt_p_op(row.p_adj),
            "omega2": num(row.effect_size, missing=NOT_ESTIMABLE),
        }
    return out


def _regression(inputs: ReportInputs, cb: Codebook, settings: Mapping[str, Any]) -> dict[str, Any]:
    coefficients = _read(inputs.ols_coefficients)  # type: ignore[arg-type]
    fit = _read(inputs.ols_fit).iloc[0]  # type: ignore[arg-type]
    predictors = list(settings["predictors"])
    terms = coefficients[coefficients["term"].isin([SCORE + p for p in predictors])]
    out: dict[str, Any] = {
        "outcome": _scale_label(cb, str(settings["outcome"])),
        "predictors": _words([_scale_label(cb, p) for p in predictors]),
        "controls": _words(list(settings.get("controls", []))),
        "se_type": str(fit["se_type"]),
        "alpha": num(ALPHA, missing=NOT_ESTIMABLE),
        "ols": {
            "n": as_count(fit["n"]),
            "r2": num(fit["r2"], missing=NOT_ESTIMABLE),
            "adj_r2": num(fit["adj_r2"], missing=NOT_ESTIMABLE),
            "f": num(fit["f_hc3"], missing=NOT_ESTIMABLE),
            "f_p": fmt_p_op(fit["f_hc3_p"]),
            "n_predictors": len(predictors),
            "n_significant": int((terms["p"].astype(float) < ALPHA).sum()),
        },
    }
    if inputs.has("ordinal_coefficients", "ordinal_fit"):
        ordinal = _read(inputs.ordinal_fit).iloc[0]  # type: ignore[arg-type]
        out["rating"] = cb.overall_rating.name
        out["ordinal"] = {
            "n": as_count(ordinal["n"]),
            "lr_chi2": num(ordinal["lr_chi2"], missing=NOT_ESTIMABLE),
            "lr_df": int(ordinal["lr_df"]),
            "lr_p": fmt_p_op(ordinal["lr_p"]),
            "pseudo_r2": num(ordinal["pseudo_r2_mcfadden"], 3, missing=NOT_ESTIMABLE),
        }
    return out


def _sections(inputs: ReportInputs, settings: Mapping[str, Any]) -> list[str]:
    """The families the given outputs support, in the report's order."""
    found = ["sample"]
    if inputs.has("item_statistics"):
        found.append("items")
    if inputs.has("scale_reliability"):
        found.append("reliability")
    if inputs.has("factor_structure", "efa_loadings", "efa_variance"):
        found.append("efa")
    if inputs.has("cfa_fit", "cfa_loadings"):
        found.append("cfa")
    if settings.get("invariance_group") and _invariance_estimated(inputs):
        found.append("invariance")
    if settings.get("group") and inputs.has("group_omnibus"):
        omnibus = _read(inputs.group_omnibus)  # type: ignore[arg-type]
        if (omnibus["test"] == "welch_anova").any():
            found.append("groups")
    if settings.get("regression") and inputs.has("ols_coefficients", "ols_fit"):
        found.append("regression")
    return found


def report_variables(
    inputs: ReportInputs, cb: Codebook, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Every number and name the report's prose quotes, each from a pipeline output.

    Parameters
    ----------
    inputs : ReportInputs
        The pipeline outputs to read.
    cb : Codebook
        The questionnaire's codebook: scale labels, item ranges, the overall rating.
    settings : Mapping
        ``invariance_group`` and ``group`` (the groupings of the invariance models and the
        group comparisons) and ``regression`` (outcome, predictors, controls); a missing
        grouping or regression leaves its section out. Whether the data are synthetic is read
        from the participant flow's ``data_source``.

    Returns
    -------
    dict
        The contents of the report's ``_variables.yml``; ``sections`` lists the families
        written.
    """
    synthetic = _synthetic(inputs)
    sections = _sections(inputs, settings)
    variables: dict[str, Any] = {
        "report": {
            "title": f"Results report: {cb.title_en}",
            "subtitle": f"Instrument {cb.instrument_id}",
        },
        "data": {
            "synthetic": synthetic,
            "notice": SYNTHETIC_NOTICE if synthetic else REAL_NOTICE,
        },
        "sections": sections,
        "sample": _sample(inputs),
        "scales": {},
        "made_by": {},
    }
    for construct in cb.constructs:
        items = [cb.variable(i) for i in construct.items]
        ranges = [v.valid_range for v in items if v.valid_range is not None]
        variables["scales"][scale_key(construct.id)] = {
            "id": construct.id,
            "label": construct.en,
            "k": len(items),
            "low": min((r[0] for r in ranges), default="not coded"),
            "high": max((r[1] for r in ranges), default="not coded"),
        }
    if inputs.has("missing_data"):
        report = read_json(inputs.missing_data)  # type: ignore[arg-type]
        variables["missing"] = {
            "rule": str(report["rule"]).replace("_", " "),
            "n_before": report["n_before"],
            "n_after": report["n_after"],
        }
    builders = {
        "items": lambda: _items(inputs, cb),
        "reliability": lambda: _reliability(inputs),
        "efa": lambda: _efa(inputs),
        "cfa": lambda: _cfa(inputs),
        "invariance": lambda: _invariance(inputs, str(settings["invariance_group"])),
        "groups": lambda: _groups(inputs, str(settings["group"])),
        "regression": lambda: _regression(inputs, cb, settings["regression"]),
    }
    for section in sections[1:]:
        variables[section] = builders[section]()
    for label, source in _TABLE_SOURCES.items():
        path = getattr(inputs, source)
        if path is not None:
            variables["made_by"][label.replace("-", "_")] = f"Source: {Path(path).as_posix()}."
    for key in variables["scales"]:
        if inputs.item_statistics is not None:
            variables["made_by"][f"tbl_items_{_anchor(key).replace('-', '_')}"] = (
                f"Source: {Path(inputs.item_statistics).as_posix()}."
            )
    return variables


_TABLE_SOURCES = {
    "tbl-flow": "flow",
    "tbl-reliability": "scale_reliability",
    "tbl-efa-loadings": "efa_loadings",
    "tbl-cfa-fit": "cfa_fit",
    "tbl-cfa-loadings": "cfa_loadings",
    "tbl-invariance": "invariance_models",
    "tbl-groups": "group_omnibus",
    "tbl-ols": "ols_coefficients",
    "tbl-ordinal": "ordinal_coefficients",
}


# --------------------------------------------------------------------------- tables


def _cell(value: object, digits: int = 2) -> str:
    """A number with ``digits`` decimals; a suppressed count or a text as it is."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    try:
        return num(float(value), digits, missing=NOT_ESTIMABLE)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def _count(value: object) -> str:
    return "" if value is None or value != value else str(as_count(value))


def _term_label(cb: Codebook, term: str, column: str) -> str:
    """A regression term as the codebook names it: a scale's label, a control's name and level."""
    if term.startswith(SCORE):
        return _scale_label(cb, term.removeprefix(SCORE))
    if column in ("const", "Intercept"):
        return "Intercept"
    if "[T." not in column:
        return term
    level = column.split("[T.", 1)[1].rstrip("]")
    labels = {s.id: s.en for s in cb.sectors}
    with contextlib.suppress(KeyError):
        labels |= {str(o.code): o.en for o in cb.variable(term).options}
    return f"{term}: {labels.get(level, level)}"


@dataclass
class _TableWriter:
    """Collects the report's pipe tables, each marked synthetic when the data are."""

    synthetic: bool
    tables: dict[str, str]

    def add(
        self, name: str, frame: pd.DataFrame, columns: list[Column], caption: str, **kw: Any
    ) -> None:
        """Write one table as ``tables/<name>.md``."""
        self.tables[f"tables/{name}.md"] = pipe_table(
            frame, columns, caption=caption, synthetic=self.synthetic, **kw
        )


def _flow_table(out: _TableWriter, inputs: ReportInputs, min_count: int) -> None:
    """The participant flow: received, each applied rule, analysed."""
    flow = _read(inputs.flow)
    flow = flow[
        flow["step"].isin(["received", "analysed"]) | (flow["applied"].astype(str) == "True")
    ]
    out.add(
        "flow",
        flow.assign(
            excluded=[_count(v) for v in flow["excluded"]],
            remaining=[_count(v) for v in flow["remaining"]],
        ),
        [
            Column("rule", "Step", align="left"),
            Column("excluded", "Excluded"),
            Column("remaining", "Remaining"),
        ],
        "Participant flow",
        label="tbl-flow",
        min_cell_count=min_count,
    )


def _item_tables(out: _TableWriter, inputs: ReportInputs, cb: Codebook, min_count: int) -> None:
    """One table of item statistics per scale that has items in the statistics."""
    stats = _read(inputs.item_statistics).set_index("item")  # type: ignore[arg-type]
    for construct in cb.constructs:
        items = [i for i in construct.items if i in stats.index]
        if not items:
            continue
        anchor = _anchor(scale_key(construct.id))
        rows = stats.loc[items].reset_index()
        shown = pd.DataFrame(
            {
                "item": rows["item"],
                "statement": [cb.variable(i).text_en for i in rows["item"]],
                "range": [
                    "{}–{}".format(*cb.variable(i).valid_range)
                    if cb.variable(i).valid_range
                    else ""
                    for i in rows["item"]
                ],
                "n": [_count(v) for v in rows["n"]],
                "mean": [_cell(v) for v in rows["mean"]],
                "sd": [_cell(v) for v in rows["sd"]],
                "floor": [_cell(100 * float(v), 1) for v in rows["floor_share"]],
                "ceiling": [_cell(100 * float(v), 1) for v in rows["ceiling_share"]],
            }
        )
        out.add(
            f"items_{anchor}",
            shown,
            [
                Column("item", "Item", align="left"),
                Column("statement", "Statement", align="left"),
                Column("range", "Range"),
                Column("n", "n"),
                Column("mean", "Mean"),
                Column("sd", "SD"),
                Column("floor", "Floor %"),
                Column("ceiling", "Ceiling %"),
            ],
            f"Item statistics: {construct.en}",
            label=f"tbl-items-{anchor}",
            note="Floor and ceiling: the percentages of answers at the item's own lowest and "
            "highest code.",
            min_cell_count=min_count,
        )


def _reliability_table(
    out: _TableWriter, inputs: ReportInputs, cb: Codebook, min_count: int
) -> None:
    """Each scale's Cronbach's alpha with its interval and McDonald's omega."""
    scales = _read(inputs.scale_reliability)  # type: ignore[arg-type]
    level = f"{100 * float(scales['ci_level'].iloc[0]):.0f}% CI"
    out.add(
        "reliability",
        scales.assign(
            label=[_scale_label(cb, str(c)) for c in scales["construct"]],
            n=[_count(v) for v in scales["n_complete"]],
            alpha=[_cell(v) for v in scales["alpha_listwise"]],
            ci=[
                fmt_ci(a, b)
                for a, b in zip(
                    scales["alpha_listwise_ci_lower"],
                    scales["alpha_listwise_ci_upper"],
                    strict=True,
                )
            ],
            omega=[_cell(v) for v in scales["omega_total"]],
        ),
        [
            Column("label", "Scale", align="left"),
            Column("k", "Items"),
            Column("n", "n"),
            Column("alpha", "Cronbach's α"),
            Column("ci", level),
            Column("omega", "McDonald's ω"),
        ],
        "Reliability of the scales",
        label="tbl-reliability",
        min_cell_count=min_count,
    )


def _efa_table(out: _TableWriter, inputs: ReportInputs) -> None:
    """The rotated loadings of the exploratory factor analysis."""
    loadings = _read(inputs.efa_loadings)  # type: ignore[arg-type]
    factors = [c for c in loadings.columns if c != "item"]
    out.add(
        "efa_loadings",
        # factor names (e.g. "LEAD (factor_2)") need not be attribute names: numbered columns
        pd.DataFrame(
            {
                "item": loadings["item"],
                **{f"f{i}": [_cell(v) for v in loadings[f]] for i, f in enumerate(factors)},
            }
        ),
        [
            Column("item", "Item", align="left"),
            *(Column(f"f{i}", f) for i, f in enumerate(factors)),
        ],
        "Rotated loadings of the exploratory factor analysis",
        label="tbl-efa-loadings",
    )


def _cfa_tables(out: _TableWriter, inputs: ReportInputs, cb: Codebook, min_count: int) -> None:
    """The confirmatory factor model's fit and its loadings."""
    fit = _read(inputs.cfa_fit)  # type: ignore[arg-type]
    out.add(
        "cfa_fit",
        fit.assign(
            n=[_count(v) for v in fit["n"]],
            p=[fmt_p(v) for v in fit["p_value"]],
            ci=[
                fmt_ci(a, b, 3)
                for a, b in zip(fit["rmsea_ci_lower"], fit["rmsea_ci_upper"], strict=True)
            ],
        ),
        [
            Column("n", "n"),
            Column("chi2", "χ²", "{:.2f}"),
            Column("df", "df", "{:.0f}"),
            Column("p", "p"),
            Column("cfi", "CFI", "{:.3f}"),
            Column("tli", "TLI", "{:.3f}"),
            Column("rmsea", "RMSEA", "{:.3f}"),
            Column("ci", "90% CI"),
            Column("srmr", "SRMR", "{:.3f}"),
        ],
        "Fit of the confirmatory factor model",
        label="tbl-cfa-fit",
        min_cell_count=min_count,
    )
    loadings = _read(inputs.cfa_loadings)  # type: ignore[arg-type]
    out.add(
        "cfa_loadings",
        loadings.assign(
            label=[_scale_label(cb, str(c)) for c in loadings["construct"]],
            estimate=[_cell(v) for v in loadings["estimate"]],
            se=[_cell(v) for v in loadings["se"]],
            std=[_cell(v) for v in loadings["std_estimate"]],
        ),
        [
            Column("label", "Scale", align="left"),
            Column("item", "Item", align="left"),
            Column("estimate", "Loading"),
            Column("se", "SE"),
            Column("std", "Standardised"),
        ],
        "Loadings of the confirmatory factor model",
        label="tbl-cfa-loadings",
        note="The first item of each scale is its marker (loading fixed at one, no SE).",
    )


def _invariance_table(out: _TableWriter, inputs: ReportInputs) -> None:
    """The nested invariance models, each compared with the one above it."""
    models = _read(inputs.invariance_models)  # type: ignore[arg-type]
    out.add(
        "invariance",
        models.assign(
            label=models["model"].str.capitalize(),
            p=[fmt_p(v) if v == v else "" for v in models["delta_p_value"]],
        ),
        [
            Column("label", "Model", align="left"),
            Column("chi2", "χ²", "{:.2f}"),
            Column("df", "df", "{:.0f}"),
            Column("cfi", "CFI", "{:.3f}"),
            Column("rmsea", "RMSEA", "{:.3f}"),
            Column("delta_chi2", "Δχ²", "{:.2f}"),
            Column("delta_df", "Δdf", "{:.0f}"),
            Column("p", "p"),
            Column("delta_cfi", "ΔCFI", "{:.3f}"),
            Column("delta_rmsea", "ΔRMSEA", "{:.3f}"),
        ],
        "Measurement invariance across groups",
        label="tbl-invariance",
        note="Each model is compared with the one above it.",
    )


def _groups_table(out: _TableWriter, inputs: ReportInputs, cb: Codebook) -> None:
    """Each scale's Welch ANOVA beside its Kruskal-Wallis test across the groups."""
    omnibus = _read(inputs.group_omnibus)  # type: ignore[arg-type]
    welch = omnibus[omnibus["test"] == "welch_anova"].set_index("outcome")
    kw = omnibus[omnibus["test"] == "kruskal_wallis"].set_index("outcome")
    shown = pd.DataFrame(
        {
            "label": [_scale_label(cb, str(c)) for c in welch.index],
            "f": [_cell(v) for v in welch["statistic"]],
            "df": [
                f"{float(a):.0f}, {float(b):.1f}"
                for a, b in zip(welch["df1"], welch["df2"], strict=True)
            ],
            "p": [fmt_p(v) for v in welch["p_adj"]],
            "omega2": [_cell(v) for v in welch["effect_size"]],
            "h": [_cell(kw["statistic"].get(c)) for c in welch.index],
            "kw_p": [fmt_p(kw["p_adj"][c]) if c in kw.index else "" for c in welch.index],
            "eps2": [_cell(kw["effect_size"].get(c)) for c in welch.index],
        }
    )
    out.add(
        "groups",
        shown,
        [
            Column("label", "Scale", align="left"),
            Column("f", "Welch F"),
            Column("df", "df"),
            Column("p", "p (Holm)"),
            Column("omega2", "ω²"),
            Column("h", "Kruskal-Wallis H"),
            Column("kw_p", "p (Holm)"),
            Column("eps2", "ε²"),
        ],
        "Scale scores compared across groups",
        label="tbl-groups",
    )


def _coefficient_table(
    out: _TableWriter,
    cb: Codebook,
    name: str,
    coefficients: pd.DataFrame,
    *,
    ci: tuple[str, str],
    effect: Column,
    effect_from: str,
    effect_before_ci: bool,
    caption: str,
    label: str,
) -> None:
    """A regression's terms: b, SE, a 95% CI, one effect column (β or odds ratio) and p.

    The effect column is read from ``coefficients[effect_from]``; the OLS table shows it after
    the CI, the ordinal table before it.
    """
    shown = coefficients.assign(
        label=[
            _term_label(cb, str(t), str(c))
            for t, c in zip(coefficients["term"], coefficients["column"], strict=True)
        ],
        b_=[_cell(v) for v in coefficients["b"]],
        se_=[_cell(v) for v in coefficients["se"]],
        ci=[fmt_ci(a, b) for a, b in zip(coefficients[ci[0]], coefficients[ci[1]], strict=True)],
        p_=[fmt_p(v) for v in coefficients["p"]],
        **{effect.source: [_cell(v) for v in coefficients[effect_from]]},
    )
    middle = (
        [effect, Column("ci", "95% CI")] if effect_before_ci else [Column("ci", "95% CI"), effect]
    )
    columns = [
        Column("label", "Term", align="left"),
        Column("b_", "b"),
        Column("se_", "SE"),
        *middle,
        Column("p_", "p"),
    ]
    out.add(name, shown, columns, caption, label=label)


def _regression_tables(out: _TableWriter, inputs: ReportInputs, cb: Codebook) -> None:
    """The OLS coefficients, and the ordinal model's when it was fitted."""
    _coefficient_table(
        out,
        cb,
        "ols",
        _read(inputs.ols_coefficients),  # type: ignore[arg-type]
        ci=("ci_low", "ci_high"),
        effect=Column("beta_", "β"),
        effect_from="beta",
        effect_before_ci=False,
        caption="Ordinary least-squares regression",
        label="tbl-ols",
    )
    if inputs.has("ordinal_coefficients", "ordinal_fit"):
        _coefficient_table(
            out,
            cb,
            "ordinal",
            _read(inputs.ordinal_coefficients),  # type: ignore[arg-type]
            ci=("or_ci_low", "or_ci_high"),
            effect=Column("or_", "Odds ratio"),
            effect_from="odds_ratio",
            effect_before_ci=True,
            caption="Ordinal logistic regression",
            label="tbl-ordinal",
        )


def _tables(
    inputs: ReportInputs, cb: Codebook, sections: Sequence[str], synthetic: bool, min_count: int
) -> dict[str, str]:
    """Relative path -> pipe table (with caption and label) of every section written."""
    out = _TableWriter(synthetic, {})
    _flow_table(out, inputs, min_count)
    if "items" in sections:
        _item_tables(out, inputs, cb, min_count)
    if "reliability" in sections:
        _reliability_table(out, inputs, cb, min_count)
    if "efa" in sections:
        _efa_table(out, inputs)
    if "cfa" in sections:
        _cfa_tables(out, inputs, cb, min_count)
    if "invariance" in sections:
        _invariance_table(out, inputs)
    if "groups" in sections:
        _groups_table(out, inputs, cb)
    if "regression" in sections:
        _regression_tables(out, inputs, cb)
    return out.tables


# --------------------------------------------------------------------------- sources


def _section_text(name: str, variables: Mapping[str, Any]) -> str:
    """One family's text from its templates (per-scale and per-step blocks repeated)."""
    if name == "sample":
        steps = "".join(
            template("sample-step").substitute(step=step) for step in variables["sample"]["steps"]
        )
        missing = "\n" + template("missing").template if "missing" in variables else ""
        return template("sample").substitute(steps=steps.rstrip("\n"), missing=missing.rstrip("\n"))
    if name == "items":
        blocks = "".join(
            template("items-scale").substitute(scale=key, anchor=_anchor(key))
            for key in variables["scales"]
            if key in variables["items"]
        )
        return template("items").substitute(scales=blocks.rstrip("\n") + "\n")
    if name in ("reliability", "groups"):
        blocks = "".join(
            template(f"{name}-scale").substitute(scale=key)
            for key in variables["scales"]
            if key in variables[name]
        )
        return template(name).substitute(scales=blocks.rstrip("\n"))
    if name == "regression":
        ordinal = template("ordinal").template if "ordinal" in variables["regression"] else ""
        return template("regression").substitute(ordinal=ordinal)
    return template(name).template


def report_sources(variables: Mapping[str, Any], tables: Mapping[str, str]) -> dict[str, str]:
    """The report's source files (relative path -> text) from its variables and tables.

    Parameters
    ----------
    variables : Mapping
        As :func:`report_variables` returns them.
    tables : Mapping
        Relative path -> pipe table, as the sections include them.

    Returns
    -------
    dict
        ``index.qmd``, ``_quarto.yml`` and the tables.
    """
    sections = "".join(_section_text(s, variables) for s in variables["sections"])
    index = template("index").substitute(sections=sections.rstrip("\n") + "\n")
    project = resources.files(__package__).joinpath("templates", QUARTO_PROJECT)
    return {"index.qmd": index, "_quarto.yml": project.read_text("utf-8"), **tables}


def write_report(
    inputs: ReportInputs,
    codebook: Path | str,
    settings: Mapping[str, Any],
    out_dir: Path | str,
    *,
    min_cell_count: int,
) -> dict[str, Any]:
    """Write the report's sources, tables and ``_variables.yml`` into ``out_dir``.

    Parameters
    ----------
    inputs : ReportInputs
        The pipeline outputs to read.
    codebook : path
        The questionnaire's codebook.
    settings : Mapping
        As :func:`report_variables` takes them.
    out_dir : path
        The report's build directory; its ``tables/`` is written anew.
    min_cell_count : int
        The privacy threshold the tables with counts state in their notes.

    Returns
    -------
    dict
        The variables written.
    """
    cb = load_codebook(codebook)
    out = Path(out_dir)
    variables = report_variables(inputs, cb, settings)
    tables = _tables(
        inputs, cb, variables["sections"], bool(variables["data"]["synthetic"]), min_cell_count
    )
    shutil.rmtree(out / "tables", ignore_errors=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    for relative, text in report_sources(variables, tables).items():
        write_text(out / relative, text)
    write_variables(variables, out / "_variables.yml", rule="results_report")
    return variables


def render_report(
    out_dir: Path | str, outputs: Mapping[str, Path | str], renderer: str = "auto"
) -> str:
    """Render the report as the paper is rendered (Quarto when on PATH, else the preview).

    Parameters
    ----------
    out_dir : path
        The build directory :func:`write_report` wrote.
    outputs : Mapping
        Format (``html``, ``pdf``, ``docx``) -> file to write.
    renderer : str
        ``auto``, ``quarto`` or ``preview``, as config ``paper.renderer``.

    Returns
    -------
    str
        The renderer used.
    """
    from hazegov.paper.stages import run_render

    return run_render(out_dir, dict(outputs), renderer)
