from hazegov.analysis.stages import run_measurement_invariance
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_measurement_invariance(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        group=snakemake.params.group,  # noqa: F821
        table_csv=out.table_csv,
        summary_out=out.summary,
        variables_out=out.variables,
        table_out=out.table,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
