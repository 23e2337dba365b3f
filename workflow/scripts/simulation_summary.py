from hazegov.logs import rule_log
from hazegov.robustness.simulation import run_simulation_summary

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_simulation_summary(
        truth=snakemake.input.truth,  # noqa: F821
        check=snakemake.input.check,  # noqa: F821
        batches=list(snakemake.input.batches),  # noqa: F821
        population_model=snakemake.input.population_model,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        config=dict(snakemake.params.simulation),  # noqa: F821
        summary_out=out.summary,
        variables_out=out.variables,
        table_out=out.table,
        figure_out=out.figure,
    )
