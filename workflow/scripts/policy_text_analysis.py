from hazegov.logs import rule_log
from hazegov.policy.stages import ANALYSIS_TABLES, run_policy_text_analysis

with rule_log(snakemake.log[0]):  # noqa: F821
    out = snakemake.output  # noqa: F821
    run_policy_text_analysis(
        corpus=snakemake.input.corpus,  # noqa: F821
        departments=snakemake.input.departments,  # noqa: F821
        instruments=snakemake.input.instruments,  # noqa: F821
        language=dict(snakemake.params.language),  # noqa: F821
        analysis=dict(snakemake.params.analysis),  # noqa: F821
        tables={t: out[t] for t in ANALYSIS_TABLES},
        summary_out=out.summary,
        variables_out=out.variables,
        instruments_table_out=out.instruments_table,
        register_table_out=out.register_table,
        timeline_out=out.timeline,
        network_out=out.network,
        jieba_cache_dir=snakemake.params.jieba_cache_dir,  # noqa: F821
    )
