from hazegov.analysis.stages import run_regressions
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_regressions(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        ols_tables={t: out[f"ols_{t}"] for t in ("coefficients", "vif", "terms", "fit")},
        ordinal_tables={
            t: out[f"ordinal_{t}"] for t in ("coefficients", "thresholds", "brant", "fit")
        },
        summary_out=out.summary,
        figure_out=out.figure,
        variables_out=out.variables,
        ols_table_out=out.ols_table,
        ordinal_table_out=out.ordinal_table,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
