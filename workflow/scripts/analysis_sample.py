from hazegov.analysis.stages import run_analysis_sample
from hazegov.logs import rule_log

with rule_log(snakemake.log[0]):  # noqa: F821
    run_analysis_sample(
        analysis=snakemake.input.analysis,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        missing_data=dict(snakemake.params.missing_data),  # noqa: F821
        sample_out=snakemake.output.sample,  # noqa: F821
        report_out=snakemake.output.report,  # noqa: F821
        controls=list(snakemake.params.controls),  # noqa: F821
    )
