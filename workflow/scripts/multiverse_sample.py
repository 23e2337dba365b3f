from hazegov.logs import rule_log
from hazegov.multiverse import run_multiverse_sample

with rule_log(snakemake.log[0]):  # noqa: F821
    run_multiverse_sample(
        responses=snakemake.input.responses,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        sample_out=snakemake.output.sample,  # noqa: F821
        report_out=snakemake.output.report,  # noqa: F821
    )
