from hazegov.logs import rule_log
from hazegov.survey.stages import run_free_text_counts

with rule_log(snakemake.log[0]):  # noqa: F821
    run_free_text_counts(
        quarantine=snakemake.input.quarantine,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        min_count=snakemake.params.min_cell_count,  # noqa: F821
        table_out=snakemake.output.table,  # noqa: F821
    )
