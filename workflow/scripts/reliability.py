from hazegov.analysis.stages import run_reliability
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_reliability(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        tables={t: out[t] for t in ("item_statistics", "scale_reliability", "item_reliability")},
        variables_out=out.variables,
        table_out=out.table,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
