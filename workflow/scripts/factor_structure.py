from hazegov.analysis.stages import run_factor_structure
from hazegov.logs import rule_log

TABLES = (
    "kmo",
    "parallel_analysis",
    "efa_loadings",
    "efa_factor_correlations",
    "efa_variance",
    "efa_communalities",
)

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_factor_structure(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
        tables={t: out[t] for t in TABLES},
        summary_out=out.summary,
        variables_out=out.variables,
        scree_out=out.scree,
        heatmap_out=out.heatmap,
    )
