"""The survey strand's workflow stages: one function per rule, file paths in, files out.

Snakemake scripts only call these."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hazegov.io import (
    read_provenance,
    source_label,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from hazegov.privacy.identifiers import DEFAULT_LOCALES
from hazegov.survey.cleaning import apply_exclusions
from hazegov.survey.codebook import load_codebook
from hazegov.survey.describe import (
    plot_participant_flow,
    published_flow,
    published_sample_by_group,
    sample_by_group,
    sample_table_markdown,
)
from hazegov.survey.ingest import data_source, ingest_export, missing_cell_lines

log = logging.getLogger("hazegov")


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
    from hazegov.survey.free_text import answered_counts

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
