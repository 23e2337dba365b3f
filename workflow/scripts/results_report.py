"""Rule results_report: write the generic results report from the analyses' outputs, then render
it (two package calls, so not through run_stage.py)."""

from pathlib import Path

from hazegov.logs import rule_log
from hazegov.paper.results_report import ReportInputs, render_report, write_report

smk = globals()["snakemake"]  # the job, set by Snakemake's script directive

with rule_log(smk.log[0]):
    given = dict(smk.input.items())
    codebook = given.pop("codebook")
    build_dir = Path(smk.output.index).parent
    write_report(
        ReportInputs(**given),
        codebook,
        smk.params.settings,
        build_dir,
        min_cell_count=int(smk.params.min_cell_count),
    )
    render_report(
        build_dir,
        dict(zip(smk.params.formats, smk.output.rendered, strict=True)),
        smk.params.renderer,
    )
