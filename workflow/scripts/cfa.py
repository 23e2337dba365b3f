from hazegov.analysis.stages import run_cfa
from hazegov.logs import rule_log

TABLES = (
    "fit",
    "loadings",
    "factor_variances",
    "factor_covariances",
    "residual_variances",
    "validity",
    "validity_pairs",
)

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_cfa(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        tables={t: out[t] for t in TABLES},
        variables_out=out.variables,
        table_out=out.table,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
