from hazegov.logs import rule_log
from hazegov.strands import stage_paper

with rule_log(snakemake.log[0]):  # noqa: F821
    stage_paper(
        list(snakemake.input),  # noqa: F821
        list(snakemake.output),  # noqa: F821
        enabled=dict(snakemake.params.strands),  # noqa: F821
    )
