"""The paper's own workflow stages: its variables, the questionnaire appendix, the render.

One function per rule, file paths in, files out; Snakemake scripts only call these.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hazegov.io import read_json, read_provenance, write_csv, write_text
from hazegov.paper.tables import markdown_table
from hazegov.paper.variables import paper_variables, questionnaire_markdown, write_variables
from hazegov.survey.codebook import load_codebook

log = logging.getLogger("hazegov")


def run_questionnaire_appendix(codebook: str | Path, markdown_out: str | Path) -> None:
    write_text(markdown_out, questionnaire_markdown(load_codebook(codebook)))


def run_paper_variables(
    flow: str | Path,
    sample: str | Path,
    ingest_report: str | Path,
    analysis: str | Path,
    codebook: str | Path,
    exclusions: dict[str, Any],
    missing_data: str | Path,
    fragments: list[str | Path],
    variables_out: str | Path,
    made_by: dict[str, dict[str, str]] | None = None,
    repository_url: str = "",
    provenance_out: str | Path | None = None,
    provenance_table_out: str | Path | None = None,
    fragment_rules: dict[str, str] | None = None,
) -> None:
    """Merge the numbers of every stage into the one `_variables.yml` the paper reads.

    ``fragment_rules`` names the rule that wrote each fragment (path -> rule), for the
    provenance table.
    """
    import yaml

    variables = paper_variables(
        flow=pd.read_csv(flow),
        sample=pd.read_csv(sample),
        ingest_report=read_json(ingest_report),
        provenance=read_provenance(analysis),
        cb=load_codebook(codebook),
        exclusion_rules=exclusions,
    )
    variables["missing"] = _missing_variables(read_json(missing_data))
    variables["made_by"] = made_by_captions(made_by or {}, repository_url)
    sources = {
        "data": (str(ingest_report), "ingest_export"),
        "levels": ("src/hazegov/paper/variables.py (analysis conventions)", "paper_variables"),
        "sample": (f"{flow}; {sample}", "clean_responses; sample_by_group"),
        "quality": (str(ingest_report), "ingest_export"),
        "instrument": (str(codebook), "the codebook"),
        "missing": (str(missing_data), "analysis_sample"),
        "made_by": ("workflow/rules/common.smk (made_by)", "paper_variables"),
    }
    for fragment in fragments:
        text = Path(fragment).read_text(encoding="utf-8")
        part = yaml.safe_load(text)
        clash = set(part) & set(variables)
        if clash:
            raise ValueError(f"{fragment}: variables {sorted(clash)} are already defined")
        variables.update(part)
        sources |= dict.fromkeys(
            part, (str(fragment), (fragment_rules or {}).get(str(fragment), ""))
        )
    write_variables(variables, variables_out)
    if provenance_out:
        _write_provenance(variables, sources, provenance_out, provenance_table_out)


def _missing_variables(report: dict[str, Any]) -> dict[str, Any]:
    """How missing answers were handled, in words and counts, from the sample step's report."""
    keep = (
        "respondents who still miss a scale item, the satisfaction rating or a control "
        "variable are left out"
    )
    description = {
        "listwise": "respondents missing any scale item, the satisfaction rating or a control "
        "variable are left out",
        "person_mean": "a missing scale item takes the mean of the respondent's other items of "
        f"the same scale when at least {report['min_items_answered']} of them were answered; "
        + keep,
    }[report["rule"]]
    return {
        "rule_description": description,
        "rule": report["rule"],
        "rule_label": {
            "listwise": "listwise deletion",
            "person_mean": "person-mean imputation within scales",
        }[report["rule"]],
        "min_items_answered": report["min_items_answered"] or "not applicable",
        "n_before": report["n_before"],
        "n_after": report["n_after"],
        "n_dropped": report["n_dropped"],
        "cells_imputed": report["cells_imputed"],
    }


def _write_provenance(
    variables: dict[str, Any],
    sources: dict[str, tuple[str, str]],
    provenance_out: str | Path,
    provenance_table_out: str | Path | None,
) -> None:
    """Every variable with the file and rule it came from, and the table counting them."""
    rows = [
        {
            "variable": key,
            "value": value,
            "source": sources[key.split(".")[0]][0],
            "rule": sources[key.split(".")[0]][1],
        }
        for key, value in _leaves(variables)
    ]
    write_csv(pd.DataFrame(rows), provenance_out)
    summary = (
        pd.DataFrame(rows)
        .groupby(["source", "rule"], sort=True)["variable"]
        .agg(n="count", example="first")
        .reset_index()
    )
    write_text(provenance_table_out, _provenance_markdown(summary))


def _leaves(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k], f"{prefix}{k}.")]
    if isinstance(tree, list):
        return [leaf for i, v in enumerate(tree) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), tree)]


def _provenance_markdown(summary: pd.DataFrame) -> str:
    lines = markdown_table(
        ["Source file", "Rule", "Variables", "Example"],
        [
            [f"`{row.source}`", f"`{row.rule}`", str(row.n), f"`{row.example}`"]
            for row in summary.itertuples(index=False)
        ],
        ["left", "left", "right", "left"],
    )
    lines += [
        "",
        ": Where the numbers in the text come from: the file and rule behind each "
        "group of variables. The full list, one row per number with its value, is "
        "`results/paper/variables_provenance.csv`. {#tbl-variable-sources}",
        "",
    ]
    return "\n".join(lines)


def made_by_captions(made_by: dict[str, dict[str, str]], repository_url: str) -> dict[str, str]:
    """Caption text naming the rule and the package function behind each labelled table and
    figure (``made_by``: label -> ``{"rule": ..., "function": "module.function"}``; a rule
    that runs no package function has the function None, and its caption names the rule only).

    The link opens the function's source file; without a repository address it is relative to
    the rendered paper in results/paper/_output/, so it opens the file in the checkout the
    paper was built in.
    """
    base = repository_url.rstrip("/") if repository_url else "../../.."
    captions = {}
    for label, made in sorted(made_by.items()):
        if not made.get("function"):
            captions[label.replace("-", "_")] = f"Made by rule `{made['rule']}`."
            continue
        module, _, function = made["function"].rpartition(".")
        source = _module_source(module)
        captions[label.replace("-", "_")] = (
            f"Made by rule `{made['rule']}` ([`{module}.{function}`]({base}/{source}))."
        )
    return captions


def _module_source(module: str) -> str:
    """The source file of a package module, relative to the repository (src/ layout)."""
    from importlib.util import find_spec

    spec = find_spec(module)
    stem = "src/" + module.replace(".", "/")
    if spec is not None and spec.submodule_search_locations is not None:
        return f"{stem}/__init__.py"
    return f"{stem}.py"


def run_render(
    build_dir: str | Path,
    outputs: dict[str, str | Path],
    renderer: str,
    formats: Sequence[str] = (),
) -> str:
    """Render the staged paper into each format's output with the configured renderer.

    ``formats`` is `paper.formats` as the rule's param: a changed list renders the paper
    again (as a whole, in the formats now asked for); each must have its output.
    """
    from hazegov.paper.render import render_paper, render_preview

    if formats and sorted(formats) != sorted(outputs):
        raise ValueError(f"paper.formats {list(formats)} but outputs for {sorted(outputs)}")
    targets = {fmt: Path(p) for fmt, p in outputs.items()}
    if renderer == "preview":
        render_preview(Path(build_dir), targets)
        used = "preview"
    else:
        used = render_paper(Path(build_dir), targets)
        if renderer == "quarto" and used != "quarto":
            raise RuntimeError("config paper.renderer is 'quarto' but quarto >= 1.5 is not on PATH")
    log.info("rendered %s with %s", ", ".join(sorted(targets)), used)
    return used
