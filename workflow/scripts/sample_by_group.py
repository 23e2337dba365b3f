from hazegov.logs import rule_log
from hazegov.survey.stages import run_sample_by_group

with rule_log(snakemake.log[0]):  # noqa: F821
    run_sample_by_group(
        analysis=snakemake.input.analysis,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        table_out=snakemake.output.table,  # noqa: F821
        markdown_out=snakemake.output.markdown,  # noqa: F821
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
