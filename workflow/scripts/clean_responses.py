from hazegov.logs import rule_log
from hazegov.survey.stages import run_clean

with rule_log(snakemake.log[0]):  # noqa: F821
    run_clean(
        responses=snakemake.input.responses,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        exclusions=dict(snakemake.params.exclusions),  # noqa: F821
        analysis_out=snakemake.output.analysis,  # noqa: F821
        flow_out=snakemake.output.flow,  # noqa: F821
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
