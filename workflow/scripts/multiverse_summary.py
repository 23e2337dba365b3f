from hazegov.logs import rule_log
from hazegov.robustness.multiverse import run_multiverse_summary

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_multiverse_summary(
        records=list(snakemake.input.groups),  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        config={
            "multiverse": dict(snakemake.params.multiverse),  # noqa: F821
            "analysis": {"regression": dict(snakemake.params.regression)},  # noqa: F821
        },
        estimates_out=out.estimates,
        specifications_out=out.specifications,
        summary_out=out.summary,
        by_dimension_out=out.by_dimension,
        variables_out=out.variables,
        table_out=out.table,
        options_table_out=out.options_table,
        figure_out=out.figure,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
