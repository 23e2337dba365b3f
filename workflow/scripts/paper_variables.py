from hazegov.logs import rule_log
from hazegov.paper.stages import run_paper_variables

with rule_log(snakemake.log[0]):  # noqa: F821
    run_paper_variables(
        flow=snakemake.input.flow,  # noqa: F821
        sample=snakemake.input.sample,  # noqa: F821
        ingest_report=snakemake.input.ingest_report,  # noqa: F821
        analysis=snakemake.input.analysis,  # noqa: F821
        codebook=snakemake.input.codebook,  # noqa: F821
        exclusions=dict(snakemake.params.exclusions),  # noqa: F821
        missing_data=snakemake.input.missing_data,  # noqa: F821
        fragments=list(snakemake.input.fragments),  # noqa: F821
        made_by=dict(snakemake.params.made_by),  # noqa: F821
        repository_url=snakemake.params.repository_url,  # noqa: F821
        variables_out=snakemake.output.variables,  # noqa: F821
        provenance_out=snakemake.output.provenance,  # noqa: F821
        provenance_table_out=snakemake.output.provenance_table,  # noqa: F821
    )
