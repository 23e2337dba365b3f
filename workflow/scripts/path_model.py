from hazegov.analysis.stages import run_path_model
from hazegov.logs import rule_log

TABLES = ("path_coefficients", "r_squared", "loadings", "indirect_effects", "fit")

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_path_model(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
        tables={t: out[t] for t in TABLES},
        summary_out=out.summary,
        variables_out=out.variables,
        figure_out=out.figure,
        min_cell_count=int(snakemake.params.min_cell_count),  # noqa: F821
    )
