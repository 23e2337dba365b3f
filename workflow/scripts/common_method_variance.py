from hazegov.analysis.stages import run_common_method_variance
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_common_method_variance(
        sample=snakemake.input.sample,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        comparison_out=out.comparison,
        summary_out=out.summary,
        variables_out=out.variables,
    )
