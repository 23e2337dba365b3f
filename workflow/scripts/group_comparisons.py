from hazegov.analysis.stages import run_group_comparisons
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_group_comparisons(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
        tables={t: out[t] for t in ("descriptives", "omnibus", "pairwise")},
        summary_out=out.summary,
        figure_out=out.figure,
        variables_out=out.variables,
        table_out=out.table,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
