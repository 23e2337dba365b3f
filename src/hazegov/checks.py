"""Check one raw input the way its pipeline stage reads it, writing that stage's outputs.

`hazegov check SOURCE FILE --out DIR` runs the same package call as the Snakemake rule that
first reads the input, so a file that passes here passes in the workflow, and a file that fails
here fails there with the same message. The bad-input corpus under tests/bad_inputs/ goes
through this entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hazegov.air.reader import sha256_of

ROOT_CONFIG = (
    "config/config.yaml",
    "config/air_quality.yaml",
    "config/policies.yaml",
    "config/multiverse.yaml",
    "config/simulation.yaml",
)
SCHEMA = "workflow/schemas/config.schema.yaml"
DEFAULT_CODEBOOK = "config/codebook.yaml"
DEFAULT_EXPORT = "data/raw/haze_governance_survey.csv"


def _export(file: Path, out: Path, options: Mapping[str, Any]) -> list[str]:
    from hazegov.survey.ingest import missing_cell_lines
    from hazegov.survey.stages import run_ingest

    report = run_ingest(
        export=file,
        codebook=options.get("codebook", DEFAULT_CODEBOOK),
        encoding=options.get("encoding", "auto"),
        out_of_range=options.get("out_of_range", "missing"),
        responses_out=out / "responses.parquet",
        quality_out=out / "data_quality.csv",
        report_out=out / "ingest_report.json",
        sheet=options.get("sheet"),
        free_text_out=out / "restricted" / "free_text.parquet",
    )
    return missing_cell_lines(report)


def _codebook(file: Path, out: Path, options: Mapping[str, Any]) -> list[str]:
    from hazegov.paper.stages import run_questionnaire_appendix
    from hazegov.survey.ingest import missing_cell_lines
    from hazegov.survey.stages import run_ingest

    report = run_ingest(
        export=options.get("export", DEFAULT_EXPORT),
        codebook=file,
        encoding=options.get("encoding", "auto"),
        out_of_range=options.get("out_of_range", "missing"),
        responses_out=out / "responses.parquet",
        quality_out=out / "data_quality.csv",
        report_out=out / "ingest_report.json",
        free_text_out=out / "restricted" / "free_text.parquet",
    )
    run_questionnaire_appendix(file, out / "questionnaire.md")
    return missing_cell_lines(report)


def _config(file: Path, out: Path, options: Mapping[str, Any]) -> None:
    from hazegov.config_check import check_config_files, station_list_notes

    base = [f for f in options.get("base", ROOT_CONFIG) if Path(f).exists()]
    check_config_files([*base, file], options.get("schema", SCHEMA))
    for note in station_list_notes([*base, file]):
        print(f"note: {note}")


def _register(file: Path, out: Path, options: Mapping[str, Any]) -> None:
    from hazegov.policy.stages import run_policy_corpus

    run_policy_corpus(
        file, options.get("ingest"), out / "corpus.parquet", out / "corpus_report.json"
    )


def _air(file: Path, out: Path, options: Mapping[str, Any]) -> None:
    from hazegov.air.stages import run_air_quality_data

    station = {
        "file": str(file),
        # The corpus checks the reader, not the hash gate: unless a case pins a digest,
        # the file's own digest is expected.
        "sha256": options.get("sha256") or (sha256_of(file) if file.is_file() else "0" * 64),
    }
    if "station" in options:
        station["station"] = options["station"]
    run_air_quality_data([station], out / "hourly.parquet", out / "hourly_report.json")


SOURCES: dict[str, Callable[[Path, Path, Mapping[str, Any]], list[str] | None]] = {
    "export": _export,
    "codebook": _codebook,
    "config": _config,
    "register": _register,
    "air": _air,
}


def check_input(source: str, file: str | Path, out: str | Path, **options: Any) -> list[str]:
    """Read `file` as the raw input `source` and write the stage's outputs into `out`.

    Returns what the stage has to say of an input it accepted (for a survey export or a
    codebook: the cells set to missing, by reason and item), as lines to print.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return SOURCES[source](Path(file), out, options) or []
