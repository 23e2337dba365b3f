"""One function per workflow rule: file paths in, files out. Snakemake scripts only call these."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hazegov.cleaning import apply_exclusions, read_provenance, source_label, write_parquet
from hazegov.codebook import load_codebook
from hazegov.describe import (
    plot_participant_flow,
    published_flow,
    published_sample_by_group,
    sample_by_group,
    sample_table_markdown,
)
from hazegov.ingest import data_source, ingest_export, missing_cell_lines
from hazegov.outputs import atomic_path, write_text
from hazegov.paper_inputs import paper_variables, questionnaire_markdown, write_variables
from hazegov.privacy import DEFAULT_LOCALES
from hazegov.release import (
    ReleaseSpec,
    check_k_anonymity,
    data_dictionary,
    privacy_variables,
    release_frame,
    write_sav,
)
from hazegov.tables import markdown_table

log = logging.getLogger("hazegov")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6g")


def write_json(record: dict[str, Any], path: str | Path) -> None:
    write_text(
        path, json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    )


def run_ingest(
    export: str | Path,
    codebook: str | Path,
    encoding: str,
    out_of_range: str,
    responses_out: str | Path,
    quality_out: str | Path,
    report_out: str | Path,
    free_text_out: str | Path,
    sheet: str | None = None,
    locales: Sequence[str] = DEFAULT_LOCALES,
) -> dict[str, Any]:
    """Raw export -> de-identified, codebook-mapped responses (no exclusions yet), and the
    redacted free text in its restricted file (`free_text_out`), which only the free-text
    aggregate rule reads; `sheet` is the sheet of an XLSX export (`survey.sheet`), `locales`
    the identifier pattern sets free text is redacted with (`privacy.identifier_locales`).

    Returns the ingest report as written, so that `hazegov check` can say what was set to
    missing."""
    export = Path(export)
    cb = load_codebook(codebook)
    provenance = data_source(export)
    log.info("free text redacted with the identifier patterns of: %s", ", ".join(locales))
    result = ingest_export(
        export, cb, encoding=encoding, out_of_range=out_of_range, sheet_name=sheet, locales=locales
    )
    label = result.report["export_file"]
    log.info("read %s rows from %s (%s)", result.report["rows"], label, result.report["encoding"])
    report = result.report | {
        "export_sha256": provenance["export_sha256"],
        "data_source": source_label(provenance),
    }
    quality = result.quality_log.assign(data_source=source_label(provenance))
    write_parquet(result.responses, responses_out, provenance)
    write_parquet(result.free_text, free_text_out, provenance)
    Path(free_text_out).chmod(0o600)  # readable by the analyst's account only
    write_csv(quality, quality_out)
    write_json(report, report_out)
    log.info("%s", missing_cell_lines(report)[0])
    return report


def run_free_text_counts(
    quarantine: str | Path, codebook: str | Path, min_count: int, table_out: str | Path
) -> None:
    """The restricted free-text file -> the published counts of answered free-text questions
    (the only rule that reads the quarantine)."""
    from hazegov.free_text import answered_counts

    frame = pd.read_parquet(quarantine)
    write_csv(answered_counts(frame, load_codebook(codebook), min_count), table_out)


def run_clean(
    responses: str | Path,
    codebook: str | Path,
    exclusions: dict[str, Any],
    analysis_out: str | Path,
    flow_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """Apply the exclusion rules and reverse-code: the internal analysis data set (not released)
    and the participant flow (published, small counts suppressed)."""
    cb = load_codebook(codebook)
    provenance = read_provenance(responses)
    cleaned = apply_exclusions(pd.read_parquet(responses), cb, exclusions)
    for step in cleaned.flow.itertuples(index=False):
        log.info("%-16s excluded %3d, remaining %3d", step.step, step.excluded, step.remaining)
    label = source_label(provenance)
    write_parquet(cleaned.analysis, analysis_out, provenance)
    write_csv(published_flow(cleaned.flow, min_cell_count).assign(data_source=label), flow_out)


def run_release(
    analysis: str | Path,
    codebook: str | Path,
    release: dict[str, Any],
    min_cell_count: int,
    sav_out: str | Path,
    csv_out: str | Path,
    dictionary_out: str | Path,
    report_out: str | Path,
    variables_out: str | Path,
    file_label: str = "Beijing haze governance survey",
) -> None:
    """The data set released with the paper: withheld columns dropped, generalised, checked for
    k-anonymity on the quasi-identifiers before anything is written, then written as SPSS and
    UTF-8 CSV with its data dictionary, the k-anonymity report and the paper's variables.

    ``file_label`` is the SPSS file label (config ``release.label``: another questionnaire's
    data set should not call itself the haze survey); synthetic data say so before it."""
    cb = load_codebook(codebook)
    provenance = read_provenance(analysis)
    spec = ReleaseSpec.from_config(release)
    frame = release_frame(pd.read_parquet(analysis), cb, spec)
    result = check_k_anonymity(frame, cb, spec, analysis)
    log.info(
        "released %d records, %d columns; %d-anonymous on %s: %d classes, the smallest of %d",
        len(frame),
        frame.shape[1],
        spec.k,
        ", ".join(spec.quasi_identifiers),
        result.n_classes,
        result.smallest_class,
    )
    label = source_label(provenance)
    sav_label = ("SYNTHETIC DATA - " if label == "synthetic" else "") + file_label
    write_sav(frame, cb, sav_out, sav_label, spec)
    write_csv(frame, csv_out)
    write_csv(data_dictionary(cb, frame, spec), dictionary_out)
    write_json(result.to_dict(spec) | {"data_source": label}, report_out)
    write_variables(
        {"privacy": privacy_variables(spec, result, min_cell_count)},
        variables_out,
        rule="release_data_set",
    )


def run_analysis_sample(
    analysis: str | Path,
    codebook: str | Path,
    missing_data: dict[str, Any],
    sample_out: str | Path,
    report_out: str | Path,
    controls: list[str],
) -> None:
    """Apply the configured missing-data rule once; every analysis reads this sample.

    `controls` are the answers every analysed respondent must have besides the scale items and
    the rating (config ``analysis.missing_data.required``, by default the regression's
    controls), so that every analysis is of the same respondents.
    """
    from hazegov.analysis.sample import build_analysis_sample

    provenance = read_provenance(analysis)
    sample = build_analysis_sample(
        pd.read_parquet(analysis),
        load_codebook(codebook),
        missing_data["rule"],
        controls=controls,
        min_items_answered=int(missing_data["min_items_answered"]),
    )
    log.info(
        "missing-data rule %s: %d of %d respondents kept, %d cells imputed",
        sample.report["rule"],
        sample.report["n_after"],
        sample.report["n_before"],
        sample.report["cells_imputed"],
    )
    write_parquet(sample.frame, sample_out, provenance)
    write_json(sample.report | {"data_source": source_label(provenance)}, report_out)


def run_sample_by_group(
    analysis: str | Path,
    codebook: str | Path,
    table_out: str | Path,
    markdown_out: str | Path,
    *,
    min_cell_count: int,
) -> None:
    """Analysed respondents per respondent group, small counts suppressed."""
    cb = load_codebook(codebook)
    provenance = read_provenance(analysis)
    table = sample_by_group(pd.read_parquet(analysis), cb)
    shown = published_sample_by_group(table, min_cell_count)
    write_csv(shown.assign(data_source=source_label(provenance)), table_out)
    write_text(
        markdown_out,
        sample_table_markdown(table, bool(provenance.get("synthetic")), min_cell_count),
    )


def run_participant_flow_figure(
    flow: str | Path, figure_out: str | Path, *, min_cell_count: int
) -> None:
    frame = pd.read_csv(flow)
    plot_participant_flow(
        frame,
        figure_out,
        synthetic=bool((frame["data_source"] == "synthetic").all()),
        min_count=min_cell_count,
    )


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
        ingest_report=json.loads(Path(ingest_report).read_text(encoding="utf-8")),
        provenance=read_provenance(analysis),
        cb=load_codebook(codebook),
        exclusion_rules=exclusions,
    )
    report = json.loads(Path(missing_data).read_text(encoding="utf-8"))
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
    variables["missing"] = {
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
    variables["made_by"] = made_by_captions(made_by or {}, repository_url)
    sources = {
        "data": (str(ingest_report), "ingest_export"),
        "levels": ("src/hazegov/paper_inputs.py (analysis conventions)", "paper_variables"),
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


def run_render(build_dir: str | Path, outputs: dict[str, str | Path], renderer: str) -> str:
    from hazegov.paper_render import render_paper, render_preview

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
