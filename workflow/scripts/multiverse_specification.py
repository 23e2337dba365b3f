from hazegov.logs import rule_log
from hazegov.multiverse import run_multiverse_specification

with rule_log(snakemake.log[0]):  # noqa: F821
    run_multiverse_specification(
        sample=snakemake.input.sample,  # noqa: F821
        report=snakemake.input.report,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        settings=dict(snakemake.params.settings),  # noqa: F821
        record_out=snakemake.output.record,  # noqa: F821
    )
