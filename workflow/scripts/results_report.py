from pathlib import Path

from hazegov.logs import rule_log
from hazegov.paper.results_report import ReportInputs, render_report, write_report

with rule_log(snakemake.log[0]):  # noqa: F821
    given = dict(snakemake.input.items())  # noqa: F821
    codebook = given.pop("codebook")
    build_dir = Path(snakemake.output.index).parent  # noqa: F821
    write_report(
        ReportInputs(**given),
        codebook,
        snakemake.params.settings,  # noqa: F821
        build_dir,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
    formats = snakemake.params.formats  # noqa: F821
    render_report(
        build_dir,
        dict(zip(formats, snakemake.output.rendered, strict=True)),  # noqa: F821
        snakemake.params.renderer,  # noqa: F821
    )
