"""What the paper reads: `_variables.yml` from pipeline outputs, and the questionnaire appendix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hazegov.io import data_label, write_text
from hazegov.paper.tables import markdown_table
from hazegov.privacy.disclosure import as_count, numeric_counts
from hazegov.survey.codebook import Codebook, both
from hazegov.survey.display import describe

SYNTHETIC_NOTICE = (
    "Synthetic data. Every number, table and figure in this build comes from a synthetic "
    "questionnaire export drawn by the project's seeded generator from its stated population "
    "model. They are not responses of real people and support no substantive conclusion."
)
REAL_NOTICE = "Data: the questionnaire export of the study (confidential; not distributed)."
SYNTHETIC_HEDGE = (
    "Because this build reads synthetic data, the estimates below describe the population model "
    "the generator was given, not Beijing's officials, medical staff and residents: they show "
    "what each analysis does and how it is reported, and none of them is evidence for or "
    "against the grid governance model."
)
REAL_HEDGE = (
    "The estimates below come from a cross-sectional, self-reported questionnaire of a "
    "purposive sample: they describe associations in that sample, not causal effects."
)


def paper_variables(
    flow: pd.DataFrame,
    sample: pd.DataFrame,
    ingest_report: dict[str, Any],
    provenance: dict[str, Any],
    cb: Codebook,
    exclusion_rules: dict[str, Any],
) -> dict[str, Any]:
    """Every number the prose uses, each taken from a pipeline output."""
    by_step = flow.set_index("step")
    received = int(by_step.loc["received", "remaining"])
    analysed = int(by_step.loc["analysed", "remaining"])
    # Published counts may be suppressed ("<5") or withheld ("x"; never a zero).
    groups = sample[sample["resp_group"] != "total"]
    groups = groups.assign(n_shown=numeric_counts(groups["n"]))
    largest = groups.sort_values(["n_shown", "resp_group"], ascending=[False, True]).iloc[0]
    synthetic = bool(provenance.get("synthetic"))
    modal_share = exclusion_rules["straight_lining"]["min_modal_share"]
    excluded = {
        step: as_count(by_step.loc[step, "excluded"])
        for step in by_step.index
        if step not in ("received", "analysed")
    }
    return {
        # Conventions of the analyses (the library's defaults), named once for the prose.
        "levels": {"ci": "95%", "rmsea_ci": "90%", "robust_se": "HC3"},
        "data": {
            "synthetic": synthetic,
            "source": data_label(synthetic),
            "notice": SYNTHETIC_NOTICE if synthetic else REAL_NOTICE,
            "hedge": SYNTHETIC_HEDGE if synthetic else REAL_HEDGE,
            "abstract_caveat": (
                "This build reads synthetic questionnaire data drawn from the project's stated "
                "population model, so its survey results demonstrate the analyses and are not "
                "findings about Beijing."
                if synthetic
                else "The survey results are associations in a purposive, cross-sectional sample."
            ),
            "export_file": ingest_report["export_file"],
            "export_sha256": provenance["export_sha256"][:12],
            "encoding": ingest_report["encoding"],
            "seed": provenance.get("seed", "not applicable"),
        },
        "sample": {
            "received": received,
            "analysed": analysed,
            "excluded_total": received - analysed,
            "analysed_percent": f"{100 * analysed / received:.1f}",
            "excluded": excluded,
            "min_duration_seconds": exclusion_rules["min_duration"]["seconds"],
            "straight_lining_share": f"{100 * modal_share:.0f}",
            "n_groups": len(groups),
            "n_groups_nonempty": int((groups["n"].astype(str) != "0").sum()),
            "largest_group": str(largest["group_en"]),
            "largest_group_n": as_count(largest["n"]),
            "largest_group_percent": f"{float(largest['percent']):.1f}",
        },
        "quality": {
            "out_of_range_cells": ingest_report["out_of_range_cells"],
            "out_of_range_policy": ingest_report["out_of_range_policy"],
            "identifiers_redacted": sum(
                ingest_report["identifiers_redacted_in_free_text"].values()
            ),
            "identifier_columns_dropped": len(ingest_report["direct_identifier_columns_dropped"]),
        },
        "instrument": {
            "n_questions": len(cb.questions),
            "n_constructs": len(cb.constructs),
            "n_scale_items": len(cb.likert_items),
            "n_reverse_items": sum(v.reverse for v in cb.likert_items),
            "n_sectors": len(cb.sectors),
        },
    }


def write_variables(
    variables: dict[str, Any], path: str | Path, rule: str = "paper_variables"
) -> None:
    text = yaml.safe_dump(variables, allow_unicode=True, sort_keys=True, width=1000)
    write_text(path, f"# Generated by the pipeline (rule {rule}); do not edit.\n" + text)


def _declared_missing_lines(cb: Codebook, variables: list[Any]) -> list[str]:
    """The missing codes a question's scale, question or items declare beyond the instrument's
    markers (such as -99 on a -3..+3 scale): a reader of the appendix must not take them for
    answers. Nothing for a question that declares none."""
    general = set(cb.missing_markers)
    own = []
    for var in variables:
        for m in var.missing:
            if m not in general and m not in own:
                own.append(m)
    if not own:
        return []
    if cb.bilingual:
        shown = "; ".join(f"{m.cell or '(blank)'} {m.zh} ({m.en})" for m in own)
        return [f"Missing / 缺失: {shown}", ""]
    shown = "; ".join(f"{m.cell or '(blank)'} ({m.en})" for m in own)
    return [f"Missing: {shown}", ""]


def _shown_if_lines(cb: Codebook, variables: list[Any]) -> list[str]:
    """Who was shown a question (display logic): one line when all its items share the
    condition, else one per item that has one. Nothing for a question shown to everyone."""
    conditions = [v.shown_if for v in variables]
    if not any(conditions):
        return []
    label = "Shown if / 显示条件" if cb.bilingual else "Shown if"
    if all(c == conditions[0] for c in conditions):
        return [f"{label}: {describe(conditions[0], cb)}", ""]
    lines = [
        f"{v.name} {label[0].lower()}{label[1:]}: {describe(c, cb)}  "
        for v, c in zip(variables, conditions, strict=True)
        if c is not None
    ]
    return [*lines, ""]


def _options_line(options: Any) -> str:
    """ "1 非常同意 (Strongly agree); ..." or, without Chinese labels, "1 Strongly agree; ..."."""
    return "; ".join(f"{o.code} {o.zh} ({o.en})" if o.zh else f"{o.code} {o.en}" for o in options)


def questionnaire_markdown(cb: Codebook) -> str:
    """The questionnaire in both languages (English only for an English-only codebook),
    printed from the codebook for the appendix."""
    zh = cb.bilingual
    if zh:
        out = [f"**{cb.title_zh}**  ", f"*{cb.title_en}*", "", cb.intro_zh, "", cb.intro_en, ""]
    else:
        out = [f"**{cb.title_en}**", "", cb.intro_en, ""]
    scales_printed: set[str] = set()
    for q in cb.questions:
        number = q["number"]
        if q["type"] == "likert_matrix":
            construct = cb.construct(q["construct"])
            if zh:
                out += [f"**Q{number}.** {q['text']['zh']}  ", f"*{q['text']['en']}*  "]
            else:
                out += [f"**Q{number}.** {q['text']['en']}  "]
            out += [f"Scale: {both(construct.en, construct.zh)}", ""]
            items = []
            for item in (v for v in cb.variables if v.question == number):
                flag = "yes" if item.reverse else ""
                if item.role == "attention_check":
                    flag = "attention check"
                texts = [item.text_zh, item.text_en] if zh else [item.text_en]
                items.append([item.name, *texts, flag])
            headers = ["Item", *(["题项"] if zh else []), "Statement", "Reverse-worded"]
            out += markdown_table(headers, items, ["left"] * len(headers))
            out.append("")
            out += _shown_if_lines(cb, [v for v in cb.variables if v.question == number])
            out += _declared_missing_lines(cb, [v for v in cb.variables if v.question == number])
            if q["scale"] not in scales_printed:
                scales_printed.add(q["scale"])
                options = cb.variable(
                    next(v.name for v in cb.variables if v.question == number)
                ).options
                out.append("Answers: " + _options_line(options))
                out.append("")
            continue
        var = cb.variable(q["name"])
        if zh:
            out += [f"**Q{number}.** {var.text_zh}  ", f"*{var.text_en}*", ""]
        else:
            out += [f"**Q{number}.** {var.text_en}", ""]
        out += _shown_if_lines(cb, [var])
        if var.options:
            out.append(_options_line(var.options))
            out.append("")
            out += _declared_missing_lines(cb, [var])
        elif var.kind == "free_text":
            out += ["(open answer / 开放式回答)" if zh else "(open answer)", ""]
    return "\n".join(out)
