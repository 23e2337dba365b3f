from hazegov.logs import rule_log
from hazegov.policy.stages import run_policy_corpus

with rule_log(snakemake.log[0]):  # noqa: F821
    run_policy_corpus(
        register=snakemake.input.register,  # noqa: F821
        ingest=dict(snakemake.params.ingest),  # noqa: F821
        corpus_out=snakemake.output.corpus,  # noqa: F821
        report_out=snakemake.output.report,  # noqa: F821
    )
